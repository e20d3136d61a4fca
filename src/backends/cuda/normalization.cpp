// CUDA kernels for Softmax/LogSoftmax/Hardmax, LayerNormalization,
// RMSNormalization, InstanceNormalization and GroupNormalization (device
// code in normalization.cu), with the CPU kernels' semantics.
#include <string>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/normalization_launch.h"
#include "ops/attrs.h"

namespace dynrt::cuda {
namespace {

ElemType elem(DType t) { return static_cast<ElemType>(static_cast<int32_t>(t)); }

// float32 data in row-major layout of a rank the device structs hold, and
// not host-side shape arithmetic; `min_rank` and the output's type too.
bool float_node(const KernelInit& init, size_t min_rank) {
  if (shape_math(init) || !init.has_input(0) || !is_float(init.input_dtype(0))) return false;
  size_t rank = init.input_rank(0);
  if (rank < min_rank || rank > static_cast<size_t>(kMaxDims)) return false;
  if (init.output_dtype(0) != init.input_dtype(0)) return false;
  return init.input_layout(0) == ir::Layout::kRowMajor && init.output_layout(0) == ir::Layout::kRowMajor;
}

// Input i, if present, has X's type.
bool same_type(const KernelInit& init, size_t i) { return !init.has_input(i) || init.input_dtype(i) == init.input_dtype(0); }

bool present(const KernelContext& c, size_t i) {
  return i < c.outputs.size() && c.outputs[i].dtype != DType::kUndefined && c.outputs[i].data != nullptr;
}

// ---- Softmax / LogSoftmax / Hardmax -------------------------------------------

KernelFactory softmax_factory(SoftmaxMode mode) {
  return [mode](const KernelInit& init) -> std::unique_ptr<Kernel> {
    SoftmaxAttrs a = SoftmaxAttrs::parse(init);
    std::string what = init.op() + " kernel";
    return make_kernel([=](KernelContext& c) {
      const TensorView &x = c.in(0), &y = c.out(0);
      int64_t axis = a.axis < 0 ? a.axis + x.rank : a.axis;
      if (axis < 0 || axis >= x.rank) throw Error(ErrorCode::kInvalidInput, what + ": axis out of range");
      // [prod(dims[:axis]), dims[axis], prod(dims[axis+1:])]; before opset
      // 13 the whole of dims[axis:] is the row.
      int64_t outer = 1, n = 1, inner = 1;
      for (int i = 0; i < x.rank; ++i) {
        if (i < axis) outer *= x.dim(i);
        else if (i == axis || a.coerce_2d) n *= x.dim(i);
        else inner *= x.dim(i);
      }
      if (outer * n * inner == 0) return;
      launch_softmax(mode, elem(x.dtype), x.data, y.data, outer, n, inner, stream_of(c).get());
      check(cudaGetLastError(), what.c_str());
    });
  };
}

bool softmax_supports(const KernelInit& init) { return float_node(init, 1); }

// ---- LayerNormalization / RMSNormalization ----------------------------------------

// Mean and InvStdDev are computed too when their type is float32 (stash_type 1).
bool layer_norm_supports(const KernelInit& init) {
  if (!float_node(init, 1) || !init.has_input(1) || !same_type(init, 1) || !same_type(init, 2)) return false;
  if (!LayerNormAttrs::parse(init).stash_valid) return false;
  for (size_t i = 1; i <= 2; ++i)
    if (init.has_output(i) && init.output_dtype(i) != DType::kFloat32) return false;
  for (size_t i = 3; i < init.num_outputs(); ++i)
    if (init.has_output(i)) return false;
  return true;
}

bool rms_norm_supports(const KernelInit& init) {
  if (!float_node(init, 1) || !init.has_input(1) || !same_type(init, 1) || init.has_input(2)) return false;
  if (!LayerNormAttrs::parse(init).stash_valid) return false;
  for (size_t i = 1; i < init.num_outputs(); ++i)
    if (init.has_output(i)) return false;
  return true;
}

// Rows of dims[axis:]; scale and bias broadcast as suffixes of the row.
KernelFactory row_norm_factory(bool rms) {
  return [rms](const KernelInit& init) -> std::unique_ptr<Kernel> {
    LayerNormAttrs a = LayerNormAttrs::parse(init);
    std::string what = init.op() + " kernel";
    return make_kernel([=](KernelContext& c) {
      const TensorView& x = c.in(0);
      int64_t axis = a.axis < 0 ? a.axis + x.rank : a.axis;
      if (axis < 0 || axis >= x.rank) throw Error(ErrorCode::kInvalidInput, what + ": axis out of range");
      RowNorm p;
      p.rows = 1;
      p.n = 1;
      for (int i = 0; i < x.rank; ++i) (i < axis ? p.rows : p.n) *= x.dim(i);
      if (p.rows * p.n == 0) return;
      p.epsilon = a.epsilon;
      p.rms = rms;
      p.period = c.in(1).numel();
      bool bias = !rms && c.has_in(2);
      p.bias_period = bias ? c.in(2).numel() : 1;
      if (p.period == 0 || p.n % p.period != 0 || p.bias_period == 0 || p.n % p.bias_period != 0)
        throw Error(ErrorCode::kInvalidInput, what + ": scale/bias does not broadcast");
      float* mean = !rms && present(c, 1) ? c.out(1).as<float>() : nullptr;
      float* inv = !rms && present(c, 2) ? c.out(2).as<float>() : nullptr;
      launch_row_norm(elem(x.dtype), x.data, c.in(1).data, bias ? c.in(2).data : nullptr, c.out(0).data, mean, inv, p,
                      stream_of(c).get());
      check(cudaGetLastError(), what.c_str());
    });
  };
}

// ---- InstanceNormalization / GroupNormalization -------------------------------------

bool instance_norm_supports(const KernelInit& init) {
  return float_node(init, 2) && init.has_input(1) && init.has_input(2) && same_type(init, 1) && same_type(init, 2);
}

bool group_norm_supports(const KernelInit& init) {
  return instance_norm_supports(init) && GroupNormAttrs::parse(init).num_groups > 0 &&
         LayerNormAttrs::parse(init).stash_valid;
}

// Each (n, group) is one contiguous row of (C / groups) * spatial elements;
// scale/bias are per channel (InstanceNorm, GroupNorm from opset 21) or per
// group (GroupNorm 18).
KernelFactory group_norm_factory(bool instance) {
  return [instance](const KernelInit& init) -> std::unique_ptr<Kernel> {
    GroupNormAttrs a = GroupNormAttrs::parse(init);
    bool per_channel = instance || init.opset() >= 21;
    std::string what = init.op() + " kernel";
    return make_kernel([=](KernelContext& c) {
      const TensorView& x = c.in(0);
      int64_t N = x.dim(0), C = x.dim(1), S = 1;
      for (int i = 2; i < x.rank; ++i) S *= x.dim(i);
      if (N * C * S == 0) return;
      int64_t groups = instance ? C : a.num_groups;
      if (groups <= 0 || C % groups != 0)
        throw Error(ErrorCode::kInvalidInput, what + ": channels not divisible by num_groups");
      int64_t cpg = C / groups;
      int64_t params = per_channel ? C : groups;
      if (c.in(1).numel() != params || c.in(2).numel() != params)
        throw Error(ErrorCode::kInvalidInput, what + ": scale/bias length does not match");
      RowNorm p;
      p.rows = N * groups;
      p.n = cpg * S;
      p.epsilon = a.epsilon;
      p.groups = groups;
      if (per_channel) {
        p.group_mul = cpg;
        p.span = S;
        p.period = p.bias_period = cpg;
      } else {
        p.group_mul = 1;
      }
      launch_row_norm(elem(x.dtype), x.data, c.in(1).data, c.in(2).data, c.out(0).data, nullptr, nullptr, p,
                      stream_of(c).get());
      check(cudaGetLastError(), what.c_str());
    });
  };
}

}  // namespace

void register_normalization_kernels(KernelRegistry& r) {
  r.add_kernel("Softmax", softmax_factory(SoftmaxMode::kSoftmax), softmax_supports, "");
  r.add_kernel("LogSoftmax", softmax_factory(SoftmaxMode::kLogSoftmax), softmax_supports, "");
  r.add_kernel("Hardmax", softmax_factory(SoftmaxMode::kHardmax), softmax_supports, "");
  r.add_kernel("LayerNormalization", row_norm_factory(false), layer_norm_supports, "");
  r.add_kernel("RMSNormalization", row_norm_factory(true), rms_norm_supports, "");
  r.add_kernel("InstanceNormalization", group_norm_factory(true), instance_norm_supports, "");
  r.add_kernel("GroupNormalization", group_norm_factory(false), group_norm_supports, "");
}

}  // namespace dynrt::cuda
