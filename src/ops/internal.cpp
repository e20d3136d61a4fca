// Internal ops (domain "dynrt") that passes introduce.
//
// ExprTensor: a small int64 tensor whose elements are dimension expressions,
// evaluated from the bound symbols at run time. Shape->Gather->Concat chains
// whose values are known symbolically collapse into one of these.
//
// MemCopy: see below.
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

void infer_expr_tensor(InferContext& c) {
  ExprTensorAttrs a = ExprTensorAttrs::parse(c);
  std::vector<Expr> shape;
  if (!a.scalar) shape.push_back(Expr::constant(static_cast<int64_t>(a.values.size())));
  c.set_output(0, DType::kInt64, shape);
  c.set_output_values(0, a.values);
}

// MemCopy: the same tensor in another provider's memory. The partitioner
// inserts these at provider boundaries; the runtime runs them with the
// providers' copy functions.
void infer_mem_copy(InferContext& c) {
  if (c.rank_known(0)) c.set_output(0, c.dtype(0), c.shape(0));
  else c.set_output_unknown_rank(0, c.dtype(0));
}

}  // namespace

void register_internal_ops(OpRegistry& r) {
  r.add("ExprTensor", infer_expr_tensor, "dynrt");
  r.add("MemCopy", infer_mem_copy, "dynrt");
}

}  // namespace dynrt
