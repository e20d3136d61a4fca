// CUDA kernels for MaxPool, AveragePool, LpPool, the global pools and
// BatchNormalization (inference), on row-major NC(D)HW activations (device
// code in pooling.cu; the global pools are plane reductions of reduction.cu).
#include <string>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pooling_launch.h"
#include "backends/cuda/reduction_launch.h"
#include "ops/attrs.h"
#include "ops/nn_shape.h"

namespace dynrt::cuda {
namespace {

ElemType elem(DType t) { return static_cast<ElemType>(static_cast<int32_t>(t)); }

// float32 NC... activations in row-major layout (the CPU provider may make
// them channels-last, nodes here are not), ranks in [min_rank, max_rank].
bool float_node(const KernelInit& init, size_t min_rank, size_t max_rank) {
  if (shape_math(init) || !init.has_input(0) || !is_float(init.input_dtype(0))) return false;
  size_t rank = init.input_rank(0);
  if (rank < min_rank || rank > max_rank) return false;
  if (init.output_dtype(0) != init.input_dtype(0)) return false;
  return init.input_layout(0) == ir::Layout::kRowMajor && init.output_layout(0) == ir::Layout::kRowMajor;
}

// LpPool's p: an int since opset 11, a float before.
float lp_norm(const KernelInit& init) {
  const ir::Attribute* a = init.attr("p");
  if (!a) return 2.f;
  return a->type == ir::Attribute::Type::kFloat ? a->f : static_cast<float>(a->i);
}

// ---- MaxPool / AveragePool / LpPool ----------------------------------------------

bool pool_supports(const KernelInit& init) {
  if (!float_node(init, 3, 5) || !init.has_attr("kernel_shape")) return false;
  if (init.op() == "MaxPool" && init.has_output(1)) return false;  // Indices
  size_t n = init.input_rank(0) - 2;
  nnshape::Spatial sp = nnshape::read_spatial(init, n, PoolAttrs::parse(init).kernel_shape);
  if (!sp.error.empty()) return false;
  for (size_t i = 0; i < n; ++i)
    if (sp.same() && sp.dilations[i] > 1) return false;
  return init.op() != "LpPool" || lp_norm(init) > 0.f;
}

class PoolKernel : public Kernel {
 public:
  PoolKernel(const KernelInit& init, PoolKind kind)
      : kind_(kind), n_(init.input_rank(0) - 2), what_(init.op() + " kernel") {
    PoolAttrs attrs = PoolAttrs::parse(init);
    sp_ = nnshape::read_spatial(init, n_, attrs.kernel_shape);
    if (!sp_.error.empty()) init.unsupported(sp_.error);
    include_pad_ = attrs.count_include_pad;
    p_ = lp_norm(init);
  }

  void run(KernelContext& c) const override {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (y.numel() == 0) return;
    PoolGeom g;
    g.kind = kind_;
    g.count_include_pad = include_pad_;
    g.p = p_;
    g.planes = x.dim(0) * x.dim(1);
    nnshape::fill_window3(sp_, x.dims.data() + 2, y.dims.data() + 2, g);
    launch_pool(elem(x.dtype), x.data, y.data, g, stream_of(c).get());
    check(cudaGetLastError(), what_.c_str());
  }

 private:
  PoolKind kind_;
  size_t n_;
  std::string what_;
  nnshape::Spatial sp_;
  bool include_pad_ = false;
  float p_ = 2.f;
};

// ---- Global pools: one reduction per NC plane --------------------------------------

bool global_pool_supports(const KernelInit& init) {
  return float_node(init, 2, kMaxDims) && (init.op() != "GlobalLpPool" || lp_norm(init) > 0.f);
}

KernelFactory global_pool_factory(ReduceOp op) {
  return [op](const KernelInit& init) -> std::unique_ptr<Kernel> {
    float p = lp_norm(init);
    std::string what = init.op() + " kernel";
    return make_kernel([=](KernelContext& c) {
      const TensorView& x = c.in(0);
      int64_t planes = x.dim(0) * x.dim(1);
      if (planes == 0) return;
      ReducePlan plan;
      plan.out_count = planes;
      plan.red_count = x.numel() / planes;
      plan.inner_red = true;
      plan.nk = 1;
      plan.kdims[0] = planes;
      plan.kstrides[0] = plan.red_count;
      plan.nr = 1;
      plan.rdims[0] = plan.red_count;
      plan.rstrides[0] = 1;
      plan.p = p;
      launch_reduce(op, elem(x.dtype), x.data, c.out(0).data, plan, stream_of(c).get());
      check(cudaGetLastError(), what.c_str());
    });
  };
}

// ---- BatchNormalization (inference) --------------------------------------------------

bool batch_norm_supports(const KernelInit& init) {
  if (!float_node(init, 2, kMaxDims)) return false;
  BatchNormAttrs a = BatchNormAttrs::parse(init);
  if (a.training_mode || !a.spatial) return false;
  for (size_t i = 1; i <= 4; ++i)
    if (!init.has_input(i) || init.input_dtype(i) != init.input_dtype(0) || init.input_rank(i) != 1) return false;
  for (size_t i = 1; i < init.num_outputs(); ++i)
    if (init.has_output(i)) return false;
  return true;
}

std::unique_ptr<Kernel> make_batch_norm(const KernelInit& init) {
  float eps = BatchNormAttrs::parse(init).epsilon;
  std::string what = init.op() + " kernel";
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t ch = x.dim(1), planes = x.dim(0) * ch;
    if (planes == 0 || x.numel() == 0) return;
    for (size_t i = 1; i <= 4; ++i)
      if (c.in(i).numel() != ch) throw Error(ErrorCode::kInvalidInput, what + ": parameter length is not the channel count");
    launch_batch_norm(elem(x.dtype), x.data, c.in(1).data, c.in(2).data, c.in(3).data, c.in(4).data, y.data, x.numel(),
                      ch, x.numel() / planes, eps, stream_of(c).get());
    check(cudaGetLastError(), what.c_str());
  });
}

}  // namespace

void register_pooling_kernels(KernelRegistry& r) {
  auto pool = [](PoolKind kind) {
    return [kind](const KernelInit& init) -> std::unique_ptr<Kernel> { return std::make_unique<PoolKernel>(init, kind); };
  };
  r.add_kernel("MaxPool", pool(PoolKind::kMax), pool_supports, "");
  r.add_kernel("AveragePool", pool(PoolKind::kAvg), pool_supports, "");
  r.add_kernel("LpPool", pool(PoolKind::kLp), pool_supports, "");
  r.add_kernel("GlobalAveragePool", global_pool_factory(ReduceOp::kMean), global_pool_supports, "");
  r.add_kernel("GlobalMaxPool", global_pool_factory(ReduceOp::kMax), global_pool_supports, "");
  r.add_kernel("GlobalLpPool", global_pool_factory(ReduceOp::kLp), global_pool_supports, "");
  r.add_kernel("BatchNormalization", make_batch_norm, batch_norm_supports, "");
}

}  // namespace dynrt::cuda
