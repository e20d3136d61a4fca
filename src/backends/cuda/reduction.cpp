// CUDA kernels for Reduce* and ArgMax/ArgMin (device code in reduction.cu),
// with the CPU kernels' semantics: axes from the attribute or the host-side
// axes input, empty axes reduce everything unless noop_with_empty_axes,
// reductions of empty sets give the op's identity.
#include <string>
#include <vector>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "backends/reduce_dims.h"
#include "backends/cuda/reduction_launch.h"
#include "ops/attrs.h"

namespace dynrt::cuda {
namespace {

ElemType elem(DType t) { return static_cast<ElemType>(static_cast<int32_t>(t)); }

// float32 data in row-major layout of a rank the device structs hold, and
// not host-side shape arithmetic.
bool float_node(const KernelInit& init) {
  if (shape_math(init) || !init.has_input(0) || !is_float(init.input_dtype(0))) return false;
  if (init.input_rank(0) > static_cast<size_t>(kMaxDims)) return false;
  return init.input_layout(0) == ir::Layout::kRowMajor && init.output_layout(0) == ir::Layout::kRowMajor;
}

// Canonical form: size-1 dims dropped, adjacent dims that are both kept or
// both reduced merged (so the innermost merged dim decides the kernel).
ReducePlan make_plan(const TensorView& x, const std::vector<bool>& red, int64_t out_count, const std::string& op) {
  ReducePlan p;
  p.out_count = out_count;
  if (x.numel() == 0) return p;  // red_count 0: every output is the identity
  std::vector<MergedDim> m = merge_reduce_dims(x, red);
  int64_t kept = 1;
  p.red_count = 1;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i].reduced) {
      p.rdims[p.nr] = m[i].size;
      p.rstrides[p.nr++] = m[i].stride;
      p.red_count *= m[i].size;
    } else {
      p.kdims[p.nk] = m[i].size;
      p.kstrides[p.nk++] = m[i].stride;
      kept *= m[i].size;
    }
  }
  p.inner_red = m.back().reduced;
  if (kept != out_count) throw Error(ErrorCode::kInternal, op + ": output size does not match the reduced shape");
  return p;
}

bool reduce_supports(const KernelInit& init) {
  if (!float_node(init) || init.output_dtype(0) != init.input_dtype(0)) return false;
  return !init.has_input(1) || init.input_dtype(1) == DType::kInt64;
}

KernelFactory reduce_factory(ReduceOp op) {
  return [op](const KernelInit& init) -> std::unique_ptr<Kernel> {
    ReduceAttrs attrs = ReduceAttrs::parse(init);
    std::vector<int64_t> attr_axes = attrs.axes;
    bool noop = attrs.noop_with_empty_axes;
    std::string name = init.op(), what = init.op() + " kernel";
    return make_kernel([=](KernelContext& c) {
      const TensorView &x = c.in(0), &y = c.out(0);
      std::vector<int64_t> axes = attr_axes;
      if (c.has_in(1)) {  // host memory (the schema's host input)
        const TensorView& a = c.in(1);
        axes.assign(a.as<const int64_t>(), a.as<const int64_t>() + a.numel());
      }
      std::vector<bool> red(static_cast<size_t>(x.rank), axes.empty() && !noop);
      for (int64_t ax : axes) {
        if (ax < 0) ax += x.rank;
        if (ax < 0 || ax >= x.rank) throw Error(ErrorCode::kInvalidInput, name + ": axis out of range");
        red[static_cast<size_t>(ax)] = true;
      }
      if (y.numel() == 0) return;
      ReducePlan p = make_plan(x, red, y.numel(), name);
      launch_reduce(op, elem(x.dtype), x.data, y.data, p, stream_of(c).get());
      check(cudaGetLastError(), what.c_str());
    });
  };
}

// ---- ArgMax / ArgMin --------------------------------------------------------

bool arg_supports(const KernelInit& init) {
  return float_node(init) && init.input_rank(0) >= 1 && init.output_dtype(0) == DType::kInt64;
}

std::unique_ptr<Kernel> make_arg(const KernelInit& init) {
  bool is_max = init.op() == "ArgMax";
  ArgReduceAttrs attrs = ArgReduceAttrs::parse(init);
  bool last = attrs.select_last_index;
  int64_t axis_attr = attrs.axis;
  std::string name = init.op(), what = init.op() + " kernel";
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
    if (axis < 0 || axis >= x.rank) throw Error(ErrorCode::kInvalidInput, name + ": axis out of range");
    int64_t outer = 1, inner = 1, n = x.dim(static_cast<int>(axis));
    for (int i = 0; i < axis; ++i) outer *= x.dim(i);
    for (int i = static_cast<int>(axis) + 1; i < x.rank; ++i) inner *= x.dim(i);
    if (y.numel() == 0) return;
    if (n == 0) throw Error(ErrorCode::kInvalidInput, name + " over an empty axis");
    launch_arg_reduce(is_max, last, elem(x.dtype), x.data, y.as<int64_t>(), outer, n, inner, stream_of(c).get());
    check(cudaGetLastError(), what.c_str());
  });
}

}  // namespace

void register_reduction_kernels(KernelRegistry& r) {
  const std::pair<const char*, ReduceOp> ops[] = {
      {"ReduceSum", ReduceOp::kSum},       {"ReduceMean", ReduceOp::kMean},
      {"ReduceMax", ReduceOp::kMax},       {"ReduceMin", ReduceOp::kMin},
      {"ReduceProd", ReduceOp::kProd},     {"ReduceL1", ReduceOp::kL1},
      {"ReduceL2", ReduceOp::kL2},         {"ReduceSumSquare", ReduceOp::kSumSquare},
      {"ReduceLogSum", ReduceOp::kLogSum}, {"ReduceLogSumExp", ReduceOp::kLogSumExp},
  };
  for (const auto& [name, op] : ops) r.add_kernel(name, reduce_factory(op), reduce_supports, "");
  r.add_kernel("ArgMax", make_arg, arg_supports, "");
  r.add_kernel("ArgMin", make_arg, arg_supports, "");
}

}  // namespace dynrt::cuda
