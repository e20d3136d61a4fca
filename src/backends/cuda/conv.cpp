// Conv on cuDNN: descriptors and the algorithm chosen once per input shape
// (cuDNN's heuristics, or the algorithm the builder timed fastest at exactly
// that shape: conv_tuning.h); float32 with FMA math only (no TF32), float16 and
// bfloat16 on tensor cores with float32 accumulation. Fused epilogues
// (passes/fuse_epilogues.cpp): a residual (input 3) and ReLU go through
// cudnnConvolutionBiasActivationForward, act(conv(x) + z + bias). Weights
// marked channels-last (passes/channels_last.cpp) are stored KRSC and the
// convolution runs NHWC; an operand not marked channels-last is transposed
// into scratch memory first (x, z) or after (y). cuDNN pads symmetrically:
// nodes whose padding may differ between the two sides stay on the CPU.
#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "backends/cuda/conv_tuning.h"
#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/movement_launch.h"
#include "backends/timing_cache.h"
#include "ops/attrs.h"
#include "ops/nn_shape.h"

namespace dynrt::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t{256} << 20;

struct ConvState : KernelState {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnActivationDescriptor_t act = nullptr;
  cudnnConvolutionFwdAlgo_t algo{};
  size_t workspace = 0;
  // Channels-last: scratch offsets (bytes) of the transposed x, z and y
  // after cuDNN's workspace; 0 when that operand is already NHWC.
  size_t x_at = 0, z_at = 0, y_at = 0, scratch = 0;
  Strided x_to_nhwc, z_to_nhwc, y_to_nchw;
  ~ConvState() override {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (act) cudnnDestroyActivationDescriptor(act);
  }
};

// Reading NCHW dims d as NHWC (dims N, H, W, C) and the reverse.
Strided nchw_to_nhwc(const std::vector<int>& d) {
  Strided s;
  s.rank = 4;
  const int64_t c = d[1], h = d[2], w = d[3];
  const int64_t dims[4] = {d[0], h, w, c}, strides[4] = {c * h * w, w, 1, h * w};
  for (int i = 0; i < 4; ++i) s.dims[i] = dims[i], s.strides[i] = strides[i];
  return s;
}
Strided nhwc_to_nchw(const std::vector<int>& d) {
  Strided s;
  s.rank = 4;
  const int64_t c = d[1], h = d[2], w = d[3];
  const int64_t dims[4] = {d[0], c, h, w}, strides[4] = {h * w * c, 1, w * c, c};
  for (int i = 0; i < 4; ++i) s.dims[i] = dims[i], s.strides[i] = strides[i];
  return s;
}

size_t round_up(size_t v) { return (v + 255) / 256 * 256; }

// Dims for cuDNN (at least 4: a 1-D convolution is a 2-D one of height 1).
std::vector<int> cudnn_dims(const TensorView& v) {
  std::vector<int> d;
  for (int i = 0; i < v.rank; ++i) d.push_back(static_cast<int>(v.dim(i)));
  if (v.rank == 3) d.insert(d.begin() + 2, 1);
  return d;
}

std::vector<int> packed_strides(const std::vector<int>& d) {
  std::vector<int> s(d.size());
  int64_t acc = 1;
  for (size_t i = d.size(); i-- > 0;) {
    s[i] = static_cast<int>(acc);
    acc *= d[i];
  }
  return s;
}

cudnnDataType_t cudnn_type(DType t) {
  return t == DType::kFloat16 ? CUDNN_DATA_HALF : t == DType::kBFloat16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

void tensor_desc(cudnnTensorDescriptor_t& t, const std::vector<int>& d, DType type, bool nhwc = false) {
  check(cudnnCreateTensorDescriptor(&t), "creating a cuDNN tensor descriptor");
  if (nhwc) {
    check(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NHWC, cudnn_type(type), d[0], d[1], d[2], d[3]),
          "describing an NHWC tensor to cuDNN");
    return;
  }
  std::vector<int> s = packed_strides(d);
  check(cudnnSetTensorNdDescriptor(t, cudnn_type(type), static_cast<int>(d.size()), d.data(), s.data()),
        "describing a tensor to cuDNN");
}

class ConvKernel : public Kernel {
 public:
  ConvKernel(const KernelInit& init, const nnshape::Spatial& sp)
      : label_(init.label()),
        sp_(sp),
        group_(ConvAttrs::parse(init, sp.n).group),
        nhwc_(init.input_layout(1) == ir::Layout::kChannelsLast),
        x_nhwc_(init.input_layout(0) == ir::Layout::kChannelsLast),
        y_nhwc_(init.output_layout(0) == ir::Layout::kChannelsLast),
        z_nhwc_(init.has_input(3) && init.input_layout(3) == ir::Layout::kChannelsLast),
        relu_(init.attr_string("dynrt.activation", "") == "Relu"),
        tuning_(init.attr_ints("dynrt.tuned")) {}

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    const TensorView &X = c.in(0), &W = c.in(1), &Y = c.out(0);
    if (Y.numel() == 0) return nullptr;  // nothing to compute: the runtime skips the node
    if (X.numel() == 0 || W.numel() == 0)
      throw Error(ErrorCode::kUnsupported, label_ + ": a convolution over an empty input on CUDA");
    auto st = std::make_unique<ConvState>();
    std::vector<int> xd = cudnn_dims(X), wd = cudnn_dims(W), yd = cudnn_dims(Y);
    bool fp32 = X.dtype == DType::kFloat32;
    tensor_desc(st->x, xd, X.dtype, nhwc_);
    tensor_desc(st->y, yd, X.dtype, nhwc_);
    check(cudnnCreateFilterDescriptor(&st->w), "creating a cuDNN filter descriptor");
    check(cudnnSetFilterNdDescriptor(st->w, cudnn_type(X.dtype), nhwc_ ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                     static_cast<int>(wd.size()), wd.data()),
          "describing the weights to cuDNN");
    std::vector<int> pads, strides, dilations;
    if (sp_.n == 1) {
      pads = {0};
      strides = {1};
      dilations = {1};
    }
    for (size_t i = 0; i < sp_.n; ++i) {
      int64_t begin = 0, end = 0;
      nnshape::forward_pads(sp_, i, X.dim(static_cast<int>(i) + 2), Y.dim(static_cast<int>(i) + 2), begin, end);
      if (begin != end) fail(label_, "asymmetric padding at this shape");  // supports() rules this out
      pads.push_back(static_cast<int>(begin));
      strides.push_back(static_cast<int>(sp_.strides[i]));
      dilations.push_back(static_cast<int>(sp_.dilations[i]));
    }
    check(cudnnCreateConvolutionDescriptor(&st->conv), "creating a cuDNN convolution");
    check(cudnnSetConvolutionNdDescriptor(st->conv, static_cast<int>(pads.size()), pads.data(), strides.data(),
                                          dilations.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
          "describing the convolution to cuDNN");
    check(cudnnSetConvolutionGroupCount(st->conv, static_cast<int>(group_)), "setting the group count");
    check(cudnnSetConvolutionMathType(st->conv, fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH), "setting the math type");
    if (c.has_in(2)) {
      std::vector<int> bd(yd.size(), 1);
      bd[1] = yd[1];
      tensor_desc(st->bias, bd, X.dtype);
    }
    if (relu_) {
      check(cudnnCreateActivationDescriptor(&st->act), "creating a cuDNN activation");
      check(cudnnSetActivationDescriptor(st->act, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0),
            "describing ReLU to cuDNN");
    }
    Stream& s = stream_of(c);
    // cuDNN's heuristics, best first: those within the workspace limit that,
    // for float32, run in plain FMA math (results that match the reference).
    std::vector<Candidate> cands = candidates(s, *st, fp32);
    if (cands.empty()) fail(label_, "cuDNN has no algorithm for this convolution");
    size_t pick = 0;
    std::optional<ConvChoice> choice;
    if (c.tuning) {
      const std::string key = cache_key(X, xd, wd, yd, pads, strides, dilations, c.has_in(2), c.has_in(3));
      std::vector<int64_t> cached;
      if (c.tuning->find(key, &cached) && cached.size() == 3 && (cached[0] == 0 || cached[0] == 1) &&
          cached[1] >= 0 && cached[1] < CUDNN_CONVOLUTION_FWD_ALGO_COUNT && cached[2] >= 0 && cached[2] <= CUDNN_FMA_MATH) {
        choice = ConvChoice{cached[0] == 1, cached[1], cached[2]};
      } else {
        choice = measure(s, *st, X, W, Y, cands, c.has_in(2), c.has_in(3));
        c.tuning->put(key, {choice->heuristic ? 1 : 0, choice->algo, choice->math});
      }
      tuning_.add(xd, *choice);
    } else {
      choice = tuning_.find(xd);
    }
    if (choice && !choice->heuristic)  // only an algorithm cuDNN lists for this problem
      for (size_t i = 0; i < cands.size(); ++i)
        if (cands[i].algo == choice->algo && cands[i].math == choice->math) pick = i;
    st->algo = cands[pick].algo;
    st->workspace = cands[pick].workspace;
    check(cudnnSetConvolutionMathType(st->conv, cands[pick].math), "setting the math type");
    if (nhwc_) {  // scratch for the operands cuDNN must see NHWC
      size_t bytes = static_cast<size_t>(Y.numel()) * dtype_size(Y.dtype);
      size_t at = round_up(std::max<size_t>(st->workspace, 1));  // offset 0 means "not transposed"
      if (!x_nhwc_) {
        st->x_at = at;
        st->x_to_nhwc = nchw_to_nhwc(xd);
        at += round_up(static_cast<size_t>(X.numel()) * dtype_size(X.dtype));
      }
      if (c.has_in(3) && !z_nhwc_) {
        st->z_at = at;
        st->z_to_nhwc = nchw_to_nhwc(yd);
        at += round_up(bytes);
      }
      if (!y_nhwc_) {
        st->y_at = at;
        st->y_to_nchw = nhwc_to_nchw(yd);
        at += round_up(bytes);
      }
      st->scratch = at;
    } else {
      st->scratch = st->workspace;
    }
    return st;
  }

  void run(KernelContext& c) const override {
    const auto* st = static_cast<const ConvState*>(c.state);
    Stream& s = stream_of(c);
    const float one = 1.f, zero = 0.f;
    auto* scratch = static_cast<char*>(st->scratch ? s.workspace(st->scratch) : nullptr);
    void* ws = st->workspace ? scratch : nullptr;
    const int e = static_cast<int>(dtype_size(c.in(0).dtype));
    const void* x = c.in(0).data;
    const void* z = c.has_in(3) ? c.in(3).data : nullptr;
    void* y = c.out(0).data;
    if (st->x_at) {
      launch_strided_copy(scratch + st->x_at, x, e, st->x_to_nhwc, s.get());
      x = scratch + st->x_at;
    }
    if (st->z_at) {
      launch_strided_copy(scratch + st->z_at, z, e, st->z_to_nhwc, s.get());
      z = scratch + st->z_at;
    }
    if (st->y_at) y = scratch + st->y_at;
    if (st->act) {  // act(conv(x) + z + bias); without a residual, z is y with weight 0
      const float z_weight = z ? 1.f : 0.f;
      check(cudnnConvolutionBiasActivationForward(s.dnn(), &one, st->x, x, st->w, c.in(1).data, st->conv, st->algo,
                                                  ws, st->workspace, &z_weight, st->y, z ? z : y, st->bias,
                                                  c.in(2).data, st->act, st->y, y),
            label_.c_str());
    } else {
      check(cudnnConvolutionForward(s.dnn(), &one, st->x, x, st->w, c.in(1).data, st->conv, st->algo, ws,
                                    st->workspace, &zero, st->y, y),
            label_.c_str());
      if (c.has_in(2)) check(cudnnAddTensor(s.dnn(), &one, st->bias, c.in(2).data, &one, st->y, y), label_.c_str());
      if (z) check(cudnnAddTensor(s.dnn(), &one, st->y, z, &one, st->y, y), label_.c_str());
    }
    if (st->y_at) launch_strided_copy(c.out(0).data, y, e, st->y_to_nchw, s.get());
    check(cudaGetLastError(), label_.c_str());
  }

  std::vector<int64_t> tuning() const override { return tuning_.serialize(); }

 private:
  struct Candidate {
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t workspace;
  };

  std::vector<Candidate> candidates(Stream& s, ConvState& st, bool fp32) const {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    check(cudnnGetConvolutionForwardAlgorithm_v7(s.dnn(), st.x, st.w, st.conv, st.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                 &found, perf),
          "choosing a cuDNN algorithm");
    std::vector<Candidate> out;
    for (int i = 0; i < found; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
      if (fp32 && (perf[i].mathType == CUDNN_TENSOR_OP_MATH || perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
        continue;
      size_t ws = 0;
      if (cudnnSetConvolutionMathType(st.conv, perf[i].mathType) != CUDNN_STATUS_SUCCESS ||
          cudnnGetConvolutionForwardWorkspaceSize(s.dnn(), st.x, st.w, st.conv, st.y, perf[i].algo, &ws) !=
              CUDNN_STATUS_SUCCESS ||
          ws > kMaxWorkspace)
        continue;
      bool seen = false;
      for (const Candidate& c : out) seen |= c.algo == perf[i].algo && c.math == perf[i].mathType;
      if (!seen) out.push_back({perf[i].algo, perf[i].mathType, ws});
    }
    // float32: default math may use TF32 on Ampere and later; keep to FMA math
    // where cuDNN lists any (tuning picks the fastest, which TF32 would be).
    if (fp32 && std::any_of(out.begin(), out.end(), [](const Candidate& c) { return c.math == CUDNN_FMA_MATH; }))
      std::erase_if(out, [](const Candidate& c) { return c.math != CUDNN_FMA_MATH; });
    return out;
  }

  std::string cache_key(const TensorView& X, const std::vector<int>& xd,
                        const std::vector<int>& wd, const std::vector<int>& yd, const std::vector<int>& pads,
                        const std::vector<int>& strides, const std::vector<int>& dil, bool bias, bool z) const {
    auto list = [](const std::vector<int>& v) {
      std::string r;
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) r += 'x';
        r += std::to_string(v[i]);
      }
      return r;
    };
    auto b = [](bool v) { return v ? '1' : '0'; };
    return "conv cudnn" + std::to_string(cudnnGetVersion()) + " " + device_label() + " " + dtype_name(X.dtype) + " x" +
           list(xd) + " w" + list(wd) + " y" + list(yd) + " p" + list(pads) + " s" + list(strides) + " d" +
           list(dil) + " g" + std::to_string(group_) + " l" + b(nhwc_) + " e" + b(bias) + b(relu_) + b(z);
  }

  // Times each candidate as run() launches it, on scratch operands of small
  // non-zero values; the best of 3 batches of graph replays. The heuristic's
  // pick is kept unless another candidate is 5% faster.
  ConvChoice measure(Stream& s, ConvState& st, const TensorView& X, const TensorView& W, const TensorView& Y,
                     const std::vector<Candidate>& cands, bool bias, bool z) const {
    const size_t e = dtype_size(X.dtype);
    const size_t xb = round_up(static_cast<size_t>(X.numel()) * e), wb = round_up(static_cast<size_t>(W.numel()) * e),
                 yb = round_up(static_cast<size_t>(Y.numel()) * e), bb = round_up(static_cast<size_t>(Y.dim(1)) * e);
    size_t ws = 0;
    for (const Candidate& c : cands) ws = std::max(ws, c.workspace);
    const size_t data = xb + wb + 2 * yb + bb, total = data + ws;
    const ConvChoice first{true, static_cast<int64_t>(cands[0].algo), static_cast<int64_t>(cands[0].math)};
    char* mem = nullptr;
    if (cudaMalloc(&mem, total) != cudaSuccess) {  // no memory to time in: the heuristic's pick
      cudaGetLastError();
      return first;
    }
    struct Owned {  // freed on every way out, errors included
      char* mem = nullptr;
      cudaEvent_t e0 = nullptr, e1 = nullptr;
      cudaGraphExec_t exec = nullptr;
      ~Owned() {
        if (exec) cudaGraphExecDestroy(exec);
        if (e1) cudaEventDestroy(e1);
        if (e0) cudaEventDestroy(e0);
        cudaFree(mem);
      }
    } owned{mem};
    check(cudaMemsetAsync(mem, 0x3C, data, s.get()), label_.c_str());
    char *px = mem, *pw = px + xb, *py = pw + wb, *pz = py + yb, *pb = pz + yb, *pws = mem + data;
    const float one = 1.f, zero = 0.f, z_weight = z ? 1.f : 0.f;
    auto launch = [&](const Candidate& c) {
      if (cudnnSetConvolutionMathType(st.conv, c.math) != CUDNN_STATUS_SUCCESS) return false;
      cudnnStatus_t r = st.act ? cudnnConvolutionBiasActivationForward(
                                     s.dnn(), &one, st.x, px, st.w, pw, st.conv, c.algo, ws ? pws : nullptr,
                                     c.workspace, &z_weight, st.y, z ? pz : py, st.bias, bias ? pb : nullptr, st.act,
                                     st.y, py)
                               : cudnnConvolutionForward(s.dnn(), &one, st.x, px, st.w, pw, st.conv, c.algo,
                                                         ws ? pws : nullptr, c.workspace, &zero, st.y, py);
      return r == CUDNN_STATUS_SUCCESS;
    };
    // Timed as the network runs them, replayed from a CUDA graph: cuDNN's
    // host work per call (up to tens of microseconds for some algorithms)
    // would otherwise decide the timing of small convolutions, and the
    // algorithm with the least host work is not the fastest on the GPU.
    constexpr int kPerGraph = 10;
    auto capture = [&](const Candidate& c) -> cudaGraphExec_t {
      if (cudaStreamBeginCapture(s.get(), cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
        cudaGetLastError();
        return nullptr;
      }
      bool ok = true;
      for (int i = 0; i < kPerGraph; ++i) ok = launch(c) && ok;
      cudaGraph_t graph = nullptr;
      ok = cudaStreamEndCapture(s.get(), &graph) == cudaSuccess && ok && graph;
      cudaGraphExec_t exec = nullptr;
      if (ok && cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) exec = nullptr;
      if (graph) cudaGraphDestroy(graph);
      cudaGetLastError();  // a candidate that cannot be captured is not timed
      return exec;
    };
    check(cudaEventCreate(&owned.e0), "creating an event");
    check(cudaEventCreate(&owned.e1), "creating an event");
    auto time = [&](cudaGraphExec_t g, int reps) {
      check(cudaEventRecord(owned.e0, s.get()), "recording an event");
      for (int i = 0; i < reps; ++i) check(cudaGraphLaunch(g, s.get()), "timing a convolution");
      check(cudaEventRecord(owned.e1, s.get()), "recording an event");
      check(cudaEventSynchronize(owned.e1), "timing a convolution");
      float ms = 0;
      check(cudaEventElapsedTime(&ms, owned.e0, owned.e1), "timing a convolution");
      return static_cast<double>(ms) / (reps * kPerGraph);
    };
    std::vector<double> ms(cands.size(), INFINITY);
    for (size_t i = 0; i < cands.size(); ++i) {
      if (!launch(cands[i])) continue;  // cuDNN refuses this algorithm with the fused epilogue
      owned.exec = capture(cands[i]);
      if (!owned.exec) continue;
      const double once = time(owned.exec, 1);
      // Enough replays for ~0.3 ms per measurement; the best of 3.
      const int reps = static_cast<int>(std::clamp(0.3 / std::max(once * kPerGraph, 1e-4), 1.0, 50.0));
      for (int r = 0; r < 3; ++r) ms[i] = std::min(ms[i], time(owned.exec, reps));
      cudaGraphExecDestroy(owned.exec);
      owned.exec = nullptr;
    }
    check(cudaStreamSynchronize(s.get()), label_.c_str());
    const size_t best = static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
    const bool heuristic = best == 0 || !(ms[best] < 0.95 * ms[0]);
    const Candidate& c = cands[heuristic ? 0 : best];
    return {heuristic, static_cast<int64_t>(c.algo), static_cast<int64_t>(c.math)};
  }

  std::string label_;
  nnshape::Spatial sp_;
  int64_t group_;
  bool nhwc_, x_nhwc_, y_nhwc_, z_nhwc_, relu_;
  mutable ConvTuning tuning_;  // grows while the builder tunes
};

// The spatial attributes if cuDNN can run this node at every shape.
bool conv_spatial(const KernelInit& n, nnshape::Spatial& sp) {
  DType t = n.input_dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16) return false;
  if (n.input_dtype(1) != t || (n.has_input(2) && n.input_dtype(2) != t)) return false;
  size_t rank = n.input_rank(1);
  if (rank < 3 || rank > 5 || n.input_rank(0) != rank) return false;
  // Channels-last operands only around channels-last weights (2-D, 16-bit).
  bool nhwc = n.input_layout(1) == ir::Layout::kChannelsLast;
  if (!nhwc && (n.input_layout(0) != ir::Layout::kRowMajor || n.output_layout(0) != ir::Layout::kRowMajor ||
                n.input_layout(3) != ir::Layout::kRowMajor))
    return false;
  if (nhwc && (t == DType::kFloat32 || n.input_rank(1) != 4)) return false;
  // Fused epilogues: a residual of the output's type; ReLU (with a bias: cuDNN's fused call needs one).
  if (n.num_inputs() > 4 || (n.has_input(3) && n.input_dtype(3) != t)) return false;
  std::string act = n.attr_string("dynrt.activation", "");
  if (!act.empty() && (act != "Relu" || !n.has_input(2))) return false;
  const std::vector<Expr>& ws = n.input_shape(1);
  std::vector<int64_t> k;
  for (size_t i = 2; i < rank; ++i) {
    if (!ws[i].is_const()) return false;
    k.push_back(ws[i].const_value());
  }
  sp = nnshape::read_spatial(n, rank - 2, k);
  if (!sp.error.empty()) return false;
  for (size_t i = 0; i < sp.n; ++i) {
    if (sp.auto_pad == nnshape::AutoPad::kNotSet && sp.pads[i] != sp.pads[i + sp.n]) return false;
    // SAME padding is symmetric at every size only for stride 1 and an odd window.
    if (sp.same() && (sp.strides[i] != 1 || sp.eff_kernel(i) % 2 == 0)) return false;
  }
  return true;
}

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  r.add_kernel(
      "Conv",
      [](const KernelInit& n) -> std::unique_ptr<Kernel> {
        nnshape::Spatial sp;
        if (!conv_spatial(n, sp)) n.unsupported("this Conv on CUDA");
        return std::make_unique<ConvKernel>(n, sp);
      },
      [](const KernelInit& n) {
        nnshape::Spatial sp;
        return conv_spatial(n, sp);
      },
      "");
}

}  // namespace dynrt::cuda
