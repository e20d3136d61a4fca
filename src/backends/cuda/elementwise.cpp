// CUDA kernels of the elementwise family: unary math and activations, Clip,
// IsNaN/IsInf, Not, binary arithmetic/comparison/logic with numpy
// broadcasting, Max/Min/Sum/Mean over any number of inputs, Where, Cast and
// Expand. Device code is in elementwise.cu; the semantics (NaN handling,
// integer division and modulo, Clip with min > max) mirror the CPU kernels.
#include <array>
#include <cstring>
#include <limits>
#include <string>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/elementwise_launch.h"
#include "backends/cuda/kernels.h"
#include "core/half.h"
#include "ops/attrs.h"

namespace dynrt::cuda {
namespace {

ElemType elem(DType t) { return static_cast<ElemType>(t); }

bool is_int(DType t) { return t == DType::kInt32 || t == DType::kInt64; }

// Element types Cast converts between.
bool castable(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kFloat16: case DType::kBFloat16: case DType::kInt8:
    case DType::kUInt8: case DType::kInt32: case DType::kInt64: case DType::kBool:
      return true;
    default:
      return false;
  }
}

// Types Where and Expand move as raw words of 1, 2, 4 or 8 bytes.
bool movable(DType t) { return t != DType::kUndefined && t != DType::kString && dtype_is_supported(t); }

// Every present input has a rank the device shapes hold, and the node is not
// small integer shape arithmetic (that stays on the host).
bool base_ok(const KernelInit& n) {
  for (size_t i = 0; i < n.num_inputs(); ++i)
    if (n.has_input(i) && n.input_rank(i) > static_cast<size_t>(kMaxDims)) return false;
  return !shape_math(n);
}

bool all_inputs_are(const KernelInit& n, DType t) {
  for (size_t i = 0; i < n.num_inputs(); ++i)
    if (!n.has_input(i) || n.input_dtype(i) != t) return false;
  return n.num_inputs() > 0;
}

// Strides of each input broadcast to out's dims, with size-1 dims dropped and
// neighbouring dims merged where every input steps through them as one (a
// bias add [N, C, H, W] + [1, C, 1, 1] becomes [N, C, H*W]): less index math.
template <size_t K>
std::array<Strided, K> broadcast_collapsed(const TensorView& out, const std::array<const TensorView*, K>& ins) {
  std::array<Strided, K> full, r;
  for (size_t k = 0; k < K; ++k) full[k] = broadcast_strides(*ins[k], out.rank, out.dims.data());
  int rank = 0;
  for (int d = 0; d < out.rank; ++d) {
    int64_t dim = out.dim(d);
    if (dim == 1) continue;
    bool merge = rank > 0;
    for (size_t k = 0; k < K && merge; ++k) merge = r[k].strides[rank - 1] == full[k].strides[d] * dim;
    for (size_t k = 0; k < K; ++k) {
      if (merge) {
        r[k].dims[rank - 1] *= dim;
        r[k].strides[rank - 1] = full[k].strides[d];
      } else {
        r[k].dims[rank] = dim;
        r[k].strides[rank] = full[k].strides[d];
      }
    }
    if (!merge) ++rank;
  }
  for (size_t k = 0; k < K; ++k) r[k].rank = rank;
  return r;
}

// ---- unary

struct UnaryEntry {
  const char* name;
  UnaryOp op;
  bool ints;  // also takes int32 / int64
};

constexpr UnaryEntry kUnary[] = {
    {"Abs", UnaryOp::kAbs, true}, {"Neg", UnaryOp::kNeg, true}, {"Sign", UnaryOp::kSign, true},
    {"Relu", UnaryOp::kRelu, true}, {"Exp", UnaryOp::kExp, false}, {"Log", UnaryOp::kLog, false},
    {"Sqrt", UnaryOp::kSqrt, false}, {"Reciprocal", UnaryOp::kReciprocal, false}, {"Sin", UnaryOp::kSin, false},
    {"Cos", UnaryOp::kCos, false}, {"Tan", UnaryOp::kTan, false}, {"Asin", UnaryOp::kAsin, false},
    {"Acos", UnaryOp::kAcos, false}, {"Atan", UnaryOp::kAtan, false}, {"Sinh", UnaryOp::kSinh, false},
    {"Cosh", UnaryOp::kCosh, false}, {"Asinh", UnaryOp::kAsinh, false}, {"Acosh", UnaryOp::kAcosh, false},
    {"Atanh", UnaryOp::kAtanh, false}, {"Tanh", UnaryOp::kTanh, false}, {"Sigmoid", UnaryOp::kSigmoid, false},
    {"Erf", UnaryOp::kErf, false}, {"Floor", UnaryOp::kFloor, false}, {"Ceil", UnaryOp::kCeil, false},
    {"Round", UnaryOp::kRound, false}, {"Softplus", UnaryOp::kSoftplus, false},
    {"Softsign", UnaryOp::kSoftsign, false}, {"Mish", UnaryOp::kMish, false},
    {"HardSwish", UnaryOp::kHardSwish, false}, {"LeakyRelu", UnaryOp::kLeakyRelu, false},
    {"Elu", UnaryOp::kElu, false}, {"Selu", UnaryOp::kSelu, false}, {"Celu", UnaryOp::kCelu, false},
    {"HardSigmoid", UnaryOp::kHardSigmoid, false}, {"Gelu", UnaryOp::kGelu, false},
    {"ThresholdedRelu", UnaryOp::kThresholdedRelu, false}, {"Swish", UnaryOp::kSwish, false},
    {"Shrink", UnaryOp::kShrink, false},
};

const UnaryEntry& unary_entry(const std::string& op) {
  for (const UnaryEntry& e : kUnary)
    if (op == e.name) return e;
  throw Error(ErrorCode::kInternal, "CUDA: no unary kernel for " + op);
}

bool unary_supports(const KernelInit& n) {
  const UnaryEntry& e = unary_entry(n.op());
  DType t = n.input_dtype(0);
  if (!(is_float(t) || (e.ints && is_int(t))) || n.output_dtype(0) != t) return false;
  if (n.op() == "Gelu") {
    std::string approx = n.attr_string("approximate", "none");
    if (approx != "none" && approx != "tanh") return false;
  }
  return base_ok(n);
}

std::unique_ptr<Kernel> make_unary(const KernelInit& init) {
  const UnaryEntry& e = unary_entry(init.op());
  ActivationAttrs a = ActivationAttrs::parse(init, init.op());
  UnaryOp op = e.op == UnaryOp::kGelu && a.tanh_gelu ? UnaryOp::kGeluTanh : e.op;
  UnaryParams p{a.alpha, a.beta, a.gamma, a.lambd, a.bias};
  std::string what = std::string(e.name) + " kernel";
  return make_kernel([op, p, what](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    launch_unary(op, elem(x.dtype), x.data, y.data, y.numel(), p, stream_of(c).get());
    check(cudaGetLastError(), what.c_str());
  });
}

// ---- Clip: bounds from host inputs 1 and 2 (opset 11+) or attributes

float host_float(DType t, const void* p) {
  switch (t) {
    case DType::kFloat16: return half_to_float(*static_cast<const uint16_t*>(p));
    case DType::kBFloat16: return bf16_to_float(*static_cast<const uint16_t*>(p));
    default: return *static_cast<const float*>(p);
  }
}

int64_t host_int(DType t, const void* p) {
  return t == DType::kInt32 ? *static_cast<const int32_t*>(p) : *static_cast<const int64_t*>(p);
}

bool clip_supports(const KernelInit& n) {
  DType t = n.input_dtype(0);
  if (!(is_float(t) || is_int(t)) || n.output_dtype(0) != t) return false;
  for (size_t i = 1; i < n.num_inputs(); ++i)
    if (n.has_input(i) && n.input_dtype(i) != t) return false;
  return base_ok(n);
}

std::unique_ptr<Kernel> make_clip(const KernelInit& init) {
  ActivationAttrs a = ActivationAttrs::parse(init, init.op());
  float amin = a.min, amax = a.max;
  // Constant bounds are read here: the runtime may hand a device node its
  // constants as device copies, even for host inputs.
  std::array<Tensor, 3> fixed;
  for (size_t i = 1; i < 3; ++i)
    if (init.has_input(i))
      if (const Tensor* t = init.constant_input(i)) fixed[i] = *t;
  return make_kernel([amin, amax, fixed](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    // Bound i's host element, or null when absent (or empty).
    auto bound = [&](size_t i) -> const void* {
      if (!fixed[i].empty_tensor()) return fixed[i].numel() > 0 ? fixed[i].data() : nullptr;
      return c.has_in(i) && c.in(i).numel() > 0 ? c.in(i).data : nullptr;
    };
    const void* lo = bound(1);
    const void* hi = bound(2);
    ClipBounds b;
    if (is_int(x.dtype)) {
      bool i32 = x.dtype == DType::kInt32;
      b.ilo = lo ? host_int(x.dtype, lo) : i32 ? std::numeric_limits<int32_t>::lowest() : std::numeric_limits<int64_t>::lowest();
      b.ihi = hi ? host_int(x.dtype, hi) : i32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
    } else {
      b.flo = lo ? host_float(x.dtype, lo) : amin;
      b.fhi = hi ? host_float(x.dtype, hi) : amax;
    }
    launch_clip(elem(x.dtype), x.data, y.data, y.numel(), b, stream_of(c).get());
    check(cudaGetLastError(), "Clip kernel");
  });
}

// ---- IsNaN / IsInf, Not

bool is_supports(const KernelInit& n) { return is_float(n.input_dtype(0)) && base_ok(n); }

std::unique_ptr<Kernel> make_is(const KernelInit& init) {
  bool nan = init.op() == "IsNaN";
  ActivationAttrs a = ActivationAttrs::parse(init, init.op());
  bool pos = a.detect_positive, neg = a.detect_negative;
  return make_kernel([nan, pos, neg](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    launch_isnan_isinf(elem(x.dtype), x.data, y.as<bool>(), y.numel(), nan, pos, neg, stream_of(c).get());
    check(cudaGetLastError(), nan ? "IsNaN kernel" : "IsInf kernel");
  });
}

bool not_supports(const KernelInit& n) { return n.input_dtype(0) == DType::kBool && base_ok(n); }

std::unique_ptr<Kernel> make_not(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    launch_not(c.in(0).as<const bool>(), c.out(0).as<bool>(), c.out(0).numel(), stream_of(c).get());
    check(cudaGetLastError(), "Not kernel");
  });
}

// ---- binary ops

struct BinaryEntry {
  const char* name;
  BinaryOp op;
};

constexpr BinaryEntry kBinary[] = {
    {"Add", BinaryOp::kAdd}, {"Sub", BinaryOp::kSub}, {"Mul", BinaryOp::kMul}, {"Div", BinaryOp::kDiv},
    {"Mod", BinaryOp::kMod}, {"PRelu", BinaryOp::kPRelu}, {"Pow", BinaryOp::kPow},
    {"Equal", BinaryOp::kEqual}, {"Less", BinaryOp::kLess}, {"LessOrEqual", BinaryOp::kLessOrEqual},
    {"Greater", BinaryOp::kGreater}, {"GreaterOrEqual", BinaryOp::kGreaterOrEqual},
    {"And", BinaryOp::kAnd}, {"Or", BinaryOp::kOr}, {"Xor", BinaryOp::kXor},
};

const BinaryEntry& binary_entry(const std::string& op) {
  for (const BinaryEntry& e : kBinary)
    if (op == e.name) return e;
  throw Error(ErrorCode::kInternal, "CUDA: no binary kernel for " + op);
}

bool binary_supports(const KernelInit& n) {
  if (n.num_inputs() != 2 || !n.has_input(0) || !n.has_input(1) || !base_ok(n)) return false;
  BinaryOp op = binary_entry(n.op()).op;
  DType a = n.input_dtype(0), b = n.input_dtype(1);
  switch (op) {
    case BinaryOp::kPow:
      return is_float(a) && (b == a || b == DType::kFloat32 || is_int(b)) && n.output_dtype(0) == a;
    case BinaryOp::kEqual: case BinaryOp::kLess: case BinaryOp::kLessOrEqual: case BinaryOp::kGreater:
    case BinaryOp::kGreaterOrEqual:
      return a == b && (is_float(a) || is_int(a) || a == DType::kBool) && n.output_dtype(0) == DType::kBool;
    case BinaryOp::kAnd: case BinaryOp::kOr: case BinaryOp::kXor:
      return a == DType::kBool && b == DType::kBool;
    default:
      return a == b && (is_float(a) || is_int(a)) && n.output_dtype(0) == a;
  }
}

// out = op(a, b), both broadcast to out's dims.
void run_binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out, cudaStream_t s,
                const char* what) {
  std::array<Strided, 2> st = broadcast_collapsed<2>(out, {&a, &b});
  launch_binary(op, elem(a.dtype), elem(b.dtype), a.data, b.data, out.data, out.numel(), st[0], st[1], s);
  check(cudaGetLastError(), what);
}

std::unique_ptr<Kernel> make_binary(const KernelInit& init) {
  const BinaryEntry& e = binary_entry(init.op());
  BinaryOp op = e.op == BinaryOp::kMod && ModAttrs::parse(init).fmod ? BinaryOp::kFMod : e.op;
  std::string what = std::string(e.name) + " kernel";
  return make_kernel([op, what](KernelContext& c) {
    run_binary(op, c.in(0), c.in(1), c.out(0), stream_of(c).get(), what.c_str());
  });
}

// ---- Max / Min / Sum / Mean over 1..N inputs: out = in0 op in1, then out = out op in_i

bool variadic_supports(const KernelInit& n) {
  DType t = n.input_dtype(0);
  bool ok = n.op() == "Mean" ? is_float(t) : is_float(t) || is_int(t);
  return ok && all_inputs_are(n, t) && n.output_dtype(0) == t && base_ok(n);
}

std::unique_ptr<Kernel> make_variadic(const KernelInit& init) {
  const std::string& o = init.op();
  BinaryOp op = o == "Max" ? BinaryOp::kMax : o == "Min" ? BinaryOp::kMin : BinaryOp::kAdd;
  bool mean = o == "Mean";
  return make_kernel([op, mean](KernelContext& c) {
    cudaStream_t s = stream_of(c).get();
    const TensorView& out = c.out(0);
    size_t k = c.inputs.size();
    if (k == 1) {
      std::array<Strided, 1> st = broadcast_collapsed<1>(out, {&c.in(0)});
      launch_broadcast_copy(static_cast<int>(dtype_size(out.dtype)), c.in(0).data, out.data, out.numel(), st[0], s);
      check(cudaGetLastError(), "Max/Min/Sum/Mean copy kernel");
      return;
    }
    run_binary(op, c.in(0), c.in(1), out, s, "Max/Min/Sum/Mean kernel");
    for (size_t i = 2; i < k; ++i) run_binary(op, out, c.in(i), out, s, "Max/Min/Sum/Mean kernel");
    if (mean) {
      UnaryParams p;
      p.alpha = static_cast<float>(k);
      launch_unary(UnaryOp::kDivConst, elem(out.dtype), out.data, out.data, out.numel(), p, s);
      check(cudaGetLastError(), "Mean kernel");
    }
  });
}

// ---- Where

bool where_supports(const KernelInit& n) {
  if (n.num_inputs() != 3 || n.input_dtype(0) != DType::kBool) return false;
  DType t = n.input_dtype(1);
  return movable(t) && n.input_dtype(2) == t && base_ok(n);
}

std::unique_ptr<Kernel> make_where(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView& out = c.out(0);
    std::array<Strided, 3> st = broadcast_collapsed<3>(out, {&c.in(0), &c.in(1), &c.in(2)});
    launch_where(static_cast<int>(dtype_size(out.dtype)), c.in(0).as<const bool>(), c.in(1).data, c.in(2).data,
                 out.data, out.numel(), st[0], st[1], st[2], stream_of(c).get());
    check(cudaGetLastError(), "Where kernel");
  });
}

// ---- Cast, CastLike (the saturate attribute concerns float8 only)

bool cast_supports(const KernelInit& n) {
  return castable(n.input_dtype(0)) && castable(n.output_dtype(0)) && base_ok(n);
}

std::unique_ptr<Kernel> make_cast(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    cudaStream_t s = stream_of(c).get();
    if (x.dtype == y.dtype) {
      if (x.data != y.data && y.nbytes() > 0)
        check(cudaMemcpyAsync(y.data, x.data, y.nbytes(), cudaMemcpyDeviceToDevice, s), "Cast copy");
      return;
    }
    launch_cast(elem(x.dtype), elem(y.dtype), x.data, y.data, y.numel(), s);
    check(cudaGetLastError(), "Cast kernel");
  });
}

// ---- Expand: input 1 (the target shape) is on the host and already applied
// to the output's dims; the kernel only broadcasts input 0.

bool expand_supports(const KernelInit& n) {
  if (!movable(n.input_dtype(0)) || n.output_dtype(0) != n.input_dtype(0)) return false;
  const std::vector<Expr>& shape = n.input_shape(1);
  if (shape.size() != 1 || !shape[0].is_const() || shape[0].const_value() > kMaxDims) return false;
  return base_ok(n);
}

std::unique_ptr<Kernel> make_expand(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    cudaStream_t s = stream_of(c).get();
    if (x.numel() == y.numel()) {  // nothing to broadcast
      if (x.data != y.data && y.nbytes() > 0)
        check(cudaMemcpyAsync(y.data, x.data, y.nbytes(), cudaMemcpyDeviceToDevice, s), "Expand copy");
      return;
    }
    std::array<Strided, 1> st = broadcast_collapsed<1>(y, {&x});
    launch_broadcast_copy(static_cast<int>(dtype_size(y.dtype)), x.data, y.data, y.numel(), st[0], s);
    check(cudaGetLastError(), "Expand kernel");
  });
}

}  // namespace

void register_elementwise_kernels(KernelRegistry& r) {
  for (const UnaryEntry& e : kUnary) r.add_kernel(e.name, make_unary, unary_supports, "");
  r.add_kernel("Clip", make_clip, clip_supports, "");
  r.add_kernel("IsNaN", make_is, is_supports, "");
  r.add_kernel("IsInf", make_is, is_supports, "");
  r.add_kernel("Not", make_not, not_supports, "");
  for (const BinaryEntry& e : kBinary) r.add_kernel(e.name, make_binary, binary_supports, "");
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) r.add_kernel(op, make_variadic, variadic_supports, "");
  r.add_kernel("Where", make_where, where_supports, "");
  r.add_kernel("Cast", make_cast, cast_supports, "");
  r.add_kernel("CastLike", make_cast, cast_supports, "");
  r.add_kernel("Expand", make_expand, expand_supports, "");
}

}  // namespace dynrt::cuda
