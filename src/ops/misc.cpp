// Inference for assorted ops: CumProd, EyeLike,
// Det, ReverseSequence, TensorScatter, SwiGLU.
#include <cmath>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

bool is_real(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}

bool is_int_index(DType t) { return t == DType::kInt64 || t == DType::kInt32; }

void infer_cumprod(InferContext& c) {
  if (!c.rank_known(1) || c.rank(1) > 1) c.fail("axis must be a scalar");
  if (!is_int_index(c.dtype(1))) c.fail("axis must be int32 or int64");
  if (auto a = c.values(1)) {
    if (a->size() != 1) c.fail("axis must have one element");
    if ((*a)[0].is_const()) c.axis((*a)[0].const_value(), c.rank(0));
  }
  DType t = c.dtype(0);
  if (t == DType::kBool || t == DType::kString) c.fail("input must be numeric");
  c.set_output(0, t, c.shape(0));
}

void infer_eyelike(InferContext& c) {
  const std::vector<Expr>& s = c.shape(0);
  if (s.size() != 2) c.fail("input must be 2-D");
  DType t = c.has_attr("dtype") ? static_cast<DType>(c.attr_int("dtype")) : c.dtype(0);
  if (!dtype_is_supported(t) || t == DType::kString)
    c.unsupported(std::string("output type ") + dtype_name(t));
  c.set_output(0, t, s);
}

void infer_det(InferContext& c) {
  DType t = c.dtype(0);
  if (!is_real(t)) c.fail("input must be a floating type");
  const std::vector<Expr>& s = c.shape(0);
  if (s.size() < 2) c.fail("input must have rank >= 2");
  c.require_equal(s[s.size() - 2], s.back(), "square matrices");
  c.set_output(0, t, std::vector<Expr>(s.begin(), s.end() - 2));
}

void infer_reverse_sequence(InferContext& c) {
  const std::vector<Expr>& s = c.shape(0);
  if (s.size() < 2) c.fail("input must have rank >= 2");
  ReverseSequenceAttrs attrs = ReverseSequenceAttrs::parse(c);
  int64_t b = attrs.batch_axis, t = attrs.time_axis;
  if ((b != 0 && b != 1) || (t != 0 && t != 1) || b == t) c.fail("batch_axis and time_axis must be 0 and 1");
  if (!is_int_index(c.dtype(1)) || c.rank(1) != 1) c.fail("sequence_lens must be a 1-D int tensor");
  c.require_equal(c.shape(1)[0], s[static_cast<size_t>(b)], "sequence_lens length vs batch");
  c.set_output(0, c.dtype(0), s);
}

void infer_tensor_scatter(InferContext& c) {
  const std::vector<Expr>&cache = c.shape(0), &upd = c.shape(1);
  if (cache.size() < 2) c.fail("past_cache must have rank >= 2");
  if (upd.size() != cache.size()) c.fail("update must have past_cache's rank");
  if (c.dtype(1) != c.dtype(0)) c.fail("update must have past_cache's type");
  TensorScatterAttrs attrs = TensorScatterAttrs::parse(c);
  auto axis = static_cast<size_t>(c.axis(attrs.axis, cache.size()));
  if (axis == 0) c.fail("axis cannot be the batch axis");
  const std::string& mode = attrs.mode;
  if (mode != "linear" && mode != "circular") c.fail("unknown mode '" + mode + "'");
  for (size_t i = 0; i < cache.size(); ++i)
    if (i != axis) c.require_equal(upd[i], cache[i], "update dim " + std::to_string(i));
  if (c.has_input(2)) {
    if (c.dtype(2) != DType::kInt64 || c.rank(2) != 1) c.fail("write_indices must be a 1-D int64 tensor");
    c.require_equal(c.shape(2)[0], cache[0], "write_indices length vs batch");
  }
  c.set_output(0, c.dtype(0), cache);
}

void infer_swiglu(InferContext& c) {
  DType t = c.dtype(0);
  if (!is_real(t)) c.unsupported(std::string("input type ") + dtype_name(t));
  if (c.dtype(1) != t) c.fail("A and B types differ");
  const std::vector<Expr>&a = c.shape(0), &b = c.shape(1);
  if (a.size() != b.size()) c.fail("A and B ranks differ");
  for (size_t i = 0; i < a.size(); ++i) c.require_equal(b[i], a[i], "B dim " + std::to_string(i));
  c.set_output(0, t, a);
}

}  // namespace

void register_misc_ops(OpRegistry& r) {
  r.add("CumProd", infer_cumprod);
  r.add("EyeLike", infer_eyelike);
  r.add("Det", infer_det);
  r.add("ReverseSequence", infer_reverse_sequence);
  r.add("TensorScatter", infer_tensor_scatter);
  r.add("SwiGLU", infer_swiglu);
}

}  // namespace dynrt
