// Conv on cuDNN: descriptors and the algorithm chosen once per input shape
// (cuDNN's heuristics); float32 with FMA math only (no TF32), float16 and
// bfloat16 on tensor cores with float32 accumulation; bias added by
// cudnnAddTensor. cuDNN pads symmetrically: nodes whose padding may differ
// between the two sides stay on the CPU.
#include <vector>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "ops/attrs.h"
#include "ops/nn_shape.h"

namespace dynrt::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t{256} << 20;

struct ConvState : KernelState {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t algo{};
  size_t workspace = 0;
  ~ConvState() override {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

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

void tensor_desc(cudnnTensorDescriptor_t& t, const std::vector<int>& d, DType type) {
  check(cudnnCreateTensorDescriptor(&t), "creating a cuDNN tensor descriptor");
  std::vector<int> s = packed_strides(d);
  check(cudnnSetTensorNdDescriptor(t, cudnn_type(type), static_cast<int>(d.size()), d.data(), s.data()),
        "describing a tensor to cuDNN");
}

class ConvKernel : public Kernel {
 public:
  ConvKernel(const KernelInit& init, const nnshape::Spatial& sp)
      : label_(init.label()), sp_(sp), group_(ConvAttrs::parse(init, sp.n).group) {}

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    const TensorView &X = c.in(0), &W = c.in(1), &Y = c.out(0);
    if (Y.numel() == 0) return nullptr;  // nothing to compute: the runtime skips the node
    if (X.numel() == 0 || W.numel() == 0)
      throw Error(ErrorCode::kUnsupported, label_ + ": a convolution over an empty input on CUDA");
    auto st = std::make_unique<ConvState>();
    std::vector<int> xd = cudnn_dims(X), wd = cudnn_dims(W), yd = cudnn_dims(Y);
    bool fp32 = X.dtype == DType::kFloat32;
    tensor_desc(st->x, xd, X.dtype);
    tensor_desc(st->y, yd, X.dtype);
    check(cudnnCreateFilterDescriptor(&st->w), "creating a cuDNN filter descriptor");
    check(cudnnSetFilterNdDescriptor(st->w, cudnn_type(X.dtype), CUDNN_TENSOR_NCHW, static_cast<int>(wd.size()), wd.data()),
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
    Stream& s = stream_of(c);
    // cuDNN's heuristics, best first: the first within the workspace limit
    // that, for float32, runs in plain FMA math (results that match the reference).
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    check(cudnnGetConvolutionForwardAlgorithm_v7(s.dnn(), st->x, st->w, st->conv, st->y,
                                                 CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf),
          "choosing a cuDNN algorithm");
    bool chosen = false;
    for (int i = 0; i < found && !chosen; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
      if (fp32 && (perf[i].mathType == CUDNN_TENSOR_OP_MATH ||
                   perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
        continue;
      size_t ws = 0;
      if (cudnnGetConvolutionForwardWorkspaceSize(s.dnn(), st->x, st->w, st->conv, st->y, perf[i].algo, &ws) !=
          CUDNN_STATUS_SUCCESS)
        continue;
      st->algo = perf[i].algo;
      st->workspace = ws;
      check(cudnnSetConvolutionMathType(st->conv, perf[i].mathType), "setting the math type");
      chosen = true;
    }
    if (!chosen) fail(label_, "cuDNN has no algorithm for this convolution");
    return st;
  }

  void run(KernelContext& c) const override {
    const auto* st = static_cast<const ConvState*>(c.state);
    Stream& s = stream_of(c);
    const float one = 1.f, zero = 0.f;
    void* ws = st->workspace ? s.workspace(st->workspace) : nullptr;
    check(cudnnConvolutionForward(s.dnn(), &one, st->x, c.in(0).data, st->w, c.in(1).data, st->conv, st->algo, ws,
                                  st->workspace, &zero, st->y, c.out(0).data),
          label_.c_str());
    if (c.has_in(2))
      check(cudnnAddTensor(s.dnn(), &one, st->bias, c.in(2).data, &one, st->y, c.out(0).data), label_.c_str());
  }

 private:
  std::string label_;
  nnshape::Spatial sp_;
  int64_t group_;
};

// The spatial attributes if cuDNN can run this node at every shape.
bool conv_spatial(const KernelInit& n, nnshape::Spatial& sp) {
  DType t = n.input_dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16) return false;
  if (n.input_dtype(1) != t || (n.has_input(2) && n.input_dtype(2) != t)) return false;
  size_t rank = n.input_rank(1);
  if (rank < 3 || rank > 5 || n.input_rank(0) != rank) return false;
  if (n.input_layout(0) != ir::Layout::kRowMajor || n.output_layout(0) != ir::Layout::kRowMajor) return false;
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
