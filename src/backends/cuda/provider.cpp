// The CUDA execution provider: device memory through cudaMalloc, one stream
// per execution context (the caller's or its own) with cuBLASLt and cuDNN
// handles, and the kernels of kernels.h. Nodes it does not take run on the
// CPU, with copies at the boundaries (the partitioner).
#include <algorithm>
#include <memory>
#include <string>

#include "backends/cuda/passes/passes.h"
#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"

namespace dynrt::cuda {

cudaError_t probe_kernel_image();  // probe.cu

Stream::Stream(cudaStream_t user) {
  if (user) {
    stream_ = user;
  } else {
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream");
    owned_ = true;
  }
  check(cublasLtCreate(&blas_), "creating a cuBLASLt handle");
  check(cudaHostAlloc(reinterpret_cast<void**>(&flags_host_), kFlags * sizeof(int), cudaHostAllocMapped),
        "allocating error flags");
  std::fill(flags_host_, flags_host_ + kFlags, 0);
  check(cudaHostGetDevicePointer(reinterpret_cast<void**>(&flags_device_), flags_host_, 0), "mapping error flags");
}

int* Stream::error_flag(const std::string& message) {
  for (size_t i = 0; i < flag_messages_.size(); ++i)
    if (flag_messages_[i] == message) return flags_device_ + i;
  if (flag_messages_.size() == kFlags) return flags_device_ + kFlags - 1;  // shared: the last message wins
  flag_messages_.push_back(message);
  return flags_device_ + flag_messages_.size() - 1;
}

cudnnHandle_t Stream::dnn() {
  if (!dnn_) {
    check(cudnnCreate(&dnn_), "creating a cuDNN handle");
    check(cudnnSetStream(dnn_, stream_), "binding cuDNN to the stream");
  }
  return dnn_;
}

Stream::~Stream() {
  cudaStreamSynchronize(stream_);
  if (flags_host_) cudaFreeHost(flags_host_);
  if (workspace_.data) cudaFree(workspace_.data);
  if (temporaries_.data) cudaFree(temporaries_.data);
  if (dnn_) cudnnDestroy(dnn_);
  if (blas_) cublasLtDestroy(blas_);
  if (owned_) cudaStreamDestroy(stream_);
}

void* Stream::grow(Scratch& block, size_t bytes) {
  if (bytes <= block.bytes) return block.data;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  check(cudaStreamIsCapturing(stream_, &capturing), "querying the stream");
  if (capturing != cudaStreamCaptureStatusNone)  // the runtime then runs this work without a graph
    throw Error(ErrorCode::kInternal, "CUDA: scratch memory must grow while recording a graph");
  ++generation_;
  if (block.data) check(cudaFreeAsync(block.data, stream_), "freeing scratch memory");
  block = {};
  size_t grown = (bytes + (1 << 20) - 1) & ~size_t{(1 << 20) - 1};
  check(cudaMallocAsync(&block.data, grown, stream_), "allocating scratch memory");
  block.bytes = grown;
  return block.data;
}

void Stream::copy_to_host(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "a copy to the host");
}

void Stream::copy_from_host(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "a copy to the GPU");
}

void Stream::copy_within(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "a copy on the GPU");
}

void Stream::synchronize() {
  check(cudaStreamSynchronize(stream_), "running the GPU work");
  for (size_t i = 0; i < flag_messages_.size(); ++i) {
    if (reinterpret_cast<volatile int*>(flags_host_)[i] == 0) continue;
    std::fill(flags_host_, flags_host_ + kFlags, 0);
    throw Error(ErrorCode::kInvalidInput, flag_messages_[i]);
  }
}

namespace {

class CudaGraph final : public CapturedWork {
 public:
  CudaGraph(cudaGraph_t graph, cudaGraphExec_t exec, cudaStream_t stream) : graph_(graph), exec_(exec), stream_(stream) {}
  ~CudaGraph() override {
    cudaGraphExecDestroy(exec_);
    cudaGraphDestroy(graph_);
  }
  void replay() override { check(cudaGraphLaunch(exec_, stream_), "launching a CUDA graph"); }

 private:
  cudaGraph_t graph_;
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
};

}  // namespace

bool Stream::begin_capture() {
  return cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
}

std::unique_ptr<CapturedWork> Stream::end_capture() {
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(stream_, &graph) != cudaSuccess || !graph) {
    cudaGetLastError();  // a failed recording leaves nothing behind: the work runs plainly
    if (graph) cudaGraphDestroy(graph);
    return nullptr;
  }
  cudaGraphExec_t exec = nullptr;
  if (cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) {
    cudaGetLastError();
    cudaGraphDestroy(graph);
    return nullptr;
  }
  return std::make_unique<CudaGraph>(graph, exec, stream_);
}

namespace {

class CudaProvider final : public ExecutionProvider {
 public:
  explicit CudaProvider(int device) : device_(device) {
    register_elementwise_kernels(kernels_);
    register_movement_kernels(kernels_);
    register_reduction_kernels(kernels_);
    register_normalization_kernels(kernels_);
    register_pooling_kernels(kernels_);
    register_linalg_kernels(kernels_);
    register_conv_kernels(kernels_);
    register_attention_kernels(kernels_);
  }
  std::string name() const override { return "cuda"; }
  bool host_memory() const override { return false; }
  bool tunes() const override { return true; }
  std::vector<ProviderPass> passes() const override {
    return {{"cuda.fuse_attention", fuse_attention},
            {"cuda.attention_layout", attention_layout},
            {"cuda.fuse_epilogues", fuse_epilogues},
            {"cuda.fuse_qkv", fuse_qkv},
            {"cuda.channels_last", channels_last}};
  }

  void* allocate(size_t bytes) const override {
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error so later calls work
      return nullptr;
    }
    return p;
  }
  void deallocate(void* p) const override { cudaFree(p); }
  void copy_to_host(void* dst, const void* src, size_t bytes) const override {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "a copy to the host");
  }
  void copy_from_host(void* dst, const void* src, size_t bytes) const override {
    check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "a copy to the GPU");
  }
  std::unique_ptr<ProviderStream> create_stream(void* user_stream) const override {
    check(cudaSetDevice(device_), "selecting the GPU");
    return std::make_unique<Stream>(static_cast<cudaStream_t>(user_stream));
  }

 private:
  int device_;
};

// The provider if this machine can run it, else an error that says why.
std::unique_ptr<ExecutionProvider> make_cuda_provider() {
  auto unavailable = [](const std::string& why) {
    return Error(ErrorCode::kUnsupported, "CUDA: " + why);
  };
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    std::string why = std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
    if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice)
      why = "no NVIDIA driver or GPU found: " + why;
    throw unavailable(why);
  }
  if (count == 0) throw unavailable("no GPU found");
  check(cudaSetDevice(0), "selecting GPU 0");
  if (cudaError_t img = probe_kernel_image(); img != cudaSuccess) {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    throw unavailable(std::string("GPU 0 (") + prop.name + ", compute capability " + std::to_string(prop.major) + "." +
                      std::to_string(prop.minor) + ") cannot run this build's kernels (built for " +
                      DYNRT_CUDA_ARCHITECTURES + "; set DYNRT_CUDA_ARCHITECTURES): " + cudaGetErrorString(img));
  }
  return std::make_unique<CudaProvider>(0);
}

}  // namespace
}  // namespace dynrt::cuda

extern "C" __attribute__((visibility("default"))) void dynrt_register_provider(dynrt::ProviderRegistry& r) {
  r.add("cuda", dynrt::cuda::make_cuda_provider);
}
