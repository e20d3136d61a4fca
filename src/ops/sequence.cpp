// Sequences and optionals (ONNX seq(tensor), optional(...)): the Sequence*
// ops, SplitToSequence, ConcatFromSequence and the Optional* ops. Their
// values are "boxed" (ir::Value::kind): held per run outside the arenas and
// run by the runtime on the host (runtime/boxed_ops.cpp). What inference
// knows of a sequence is its element type and, where every element has it,
// their rank (ir::Value::elem_rank); a tensor taken out of one gets sizes
// known only at run time. OptionalHasElement and OptionalGetElement on a
// plain tensor are tensor ops (the CPU provider's kernels).
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

constexpr int kUnknownRank = -1;
constexpr int kNoElements = -2;  // an empty sequence: any rank joins it

int join_rank(int a, int b) { return ir::join_elem_rank(a, b); }

bool is_index_type(DType t) { return t == DType::kInt32 || t == DType::kInt64; }

void require_sequence(InferContext& c, size_t i) {
  if (c.kind(i) != ValueKind::kSequence)
    c.fail("input '" + c.input(i).name + "' must be a sequence, got a " + value_kind_name(c.kind(i)));
}

void require_tensor(InferContext& c, size_t i) {
  if (c.kind(i) != ValueKind::kTensor)
    c.fail("input '" + c.input(i).name + "' must be a tensor, got a " + value_kind_name(c.kind(i)));
}

// A position input: one int32 or int64 (scalar or one element).
void require_position(InferContext& c, size_t i) {
  if (!c.has_input(i)) return;
  require_tensor(c, i);
  if (!is_index_type(c.dtype(i))) c.fail("position must be int32 or int64");
  if (c.rank_known(i) && c.rank(i) > 1) c.fail("position must hold one element");
}

// A tensor of the sequence's elements: their rank, sizes known when it is taken.
void set_element_output(InferContext& c, size_t o, DType dtype, int rank, const std::string& what) {
  if (rank < 0)
    c.unsupported("the rank of the tensors in sequence '" + what + "' is not known at build time (" +
                  (rank == kNoElements ? "it is always empty" : "its elements' ranks are not known or differ") + ")");
  std::vector<Expr> shape;
  for (int d = 0; d < rank; ++d) shape.push_back(c.new_data_dependent_symbol("seq_dim", Expr::constant(int64_t{1} << 40)));
  c.set_output(o, dtype, shape);
}

void infer_sequence_empty(InferContext& c) {
  auto dtype = static_cast<DType>(c.attr_int("dtype", static_cast<int64_t>(DType::kFloat32)));
  if (!dtype_is_supported(dtype)) c.unsupported(std::string("sequences of ") + dtype_name(dtype));
  c.set_output_boxed(0, ValueKind::kSequence, dtype, kNoElements);
}

void infer_sequence_construct(InferContext& c) {
  if (c.num_inputs() == 0) c.fail("takes at least one tensor");
  int rank = kNoElements;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    require_tensor(c, i);
    if (c.dtype(i) != c.dtype(0)) c.fail("its tensors have different element types");
    rank = join_rank(rank, c.rank_known(i) ? static_cast<int>(c.rank(i)) : kUnknownRank);
  }
  c.set_output_boxed(0, ValueKind::kSequence, c.dtype(0), rank);
}

void infer_sequence_insert(InferContext& c) {
  require_sequence(c, 0);
  require_tensor(c, 1);
  if (c.dtype(1) != c.dtype(0))
    c.fail(std::string("inserts a ") + dtype_name(c.dtype(1)) + " tensor into a sequence of " + dtype_name(c.dtype(0)));
  require_position(c, 2);
  c.set_output_boxed(0, ValueKind::kSequence, c.dtype(0),
                     join_rank(c.elem_rank(0), c.rank_known(1) ? static_cast<int>(c.rank(1)) : kUnknownRank));
}

void infer_sequence_erase(InferContext& c) {
  require_sequence(c, 0);
  require_position(c, 1);
  c.set_output_boxed(0, ValueKind::kSequence, c.dtype(0), c.elem_rank(0));
}

void infer_sequence_at(InferContext& c) {
  require_sequence(c, 0);
  if (!c.has_input(1)) c.fail("position is required");
  require_position(c, 1);
  set_element_output(c, 0, c.dtype(0), c.elem_rank(0), c.input(0).name);
}

void infer_sequence_length(InferContext& c) {
  require_sequence(c, 0);
  c.set_output(0, DType::kInt64, {});
}

void infer_split_to_sequence(InferContext& c) {
  require_tensor(c, 0);
  const size_t r = c.rank(0);
  if (r == 0) c.fail("cannot split a scalar");
  c.axis(c.attr_int("axis", 0), r);
  if (c.has_input(1)) {
    require_tensor(c, 1);
    if (!is_index_type(c.dtype(1))) c.fail("split must be int32 or int64");
    if (c.rank(1) > 1) c.fail("split must be a scalar or 1-D");
  }
  const bool keep = c.has_input(1) || c.attr_int("keepdims", 1) != 0;
  c.set_output_boxed(0, ValueKind::kSequence, c.dtype(0), static_cast<int>(keep ? r : r - 1));
}

void infer_concat_from_sequence(InferContext& c) {
  require_sequence(c, 0);
  const int rank = c.elem_rank(0);
  const bool new_axis = c.attr_int("new_axis", 0) != 0;
  if (rank >= 0) c.axis(c.attr_int("axis"), static_cast<size_t>(rank) + (new_axis ? 1 : 0));
  set_element_output(c, 0, c.dtype(0), rank < 0 ? rank : rank + (new_axis ? 1 : 0), c.input(0).name);
}

// Optional(x) wraps x; Optional() with its 'type' attribute is an empty
// optional of that type (the importer gives the type as [kind, dtype, rank]).
void infer_optional(InferContext& c) {
  if (c.has_input(0)) {
    const ValueKind k = c.kind(0);
    if (k != ValueKind::kTensor && k != ValueKind::kSequence) c.fail("takes a tensor or a sequence, not an optional");
    c.set_output_boxed(0, k == ValueKind::kTensor ? ValueKind::kOptionalTensor : ValueKind::kOptionalSequence,
                       c.dtype(0), k == ValueKind::kTensor ? (c.rank_known(0) ? static_cast<int>(c.rank(0)) : -1)
                                                           : c.elem_rank(0));
    return;
  }
  std::vector<int64_t> type = c.attr_ints("type", {});
  if (type.size() != 3) c.fail("without an input it needs its 'type' attribute (a tensor or sequence type)");
  const auto dtype = static_cast<DType>(type[1]);
  if (!dtype_is_supported(dtype)) c.unsupported(std::string("optionals of ") + dtype_name(dtype));
  c.set_output_boxed(0, type[0] == 1 ? ValueKind::kOptionalSequence : ValueKind::kOptionalTensor, dtype,
                     static_cast<int>(type[2]));
}

// On a plain tensor (opset 18): present. With no input: absent.
void infer_optional_has_element(InferContext& c) { c.set_output(0, DType::kBool, {}); }

void infer_optional_get_element(InferContext& c) {
  if (!c.has_input(0)) c.fail("input is required");
  switch (c.kind(0)) {
    case ValueKind::kTensor:  // a present optional: the tensor itself
      c.set_output(0, c.dtype(0), c.shape(0));
      if (auto v = c.values(0)) c.set_output_values(0, *v);
      return;
    case ValueKind::kSequence:
    case ValueKind::kOptionalSequence:
      c.set_output_boxed(0, ValueKind::kSequence, c.dtype(0), c.elem_rank(0));
      return;
    case ValueKind::kOptionalTensor:
      set_element_output(c, 0, c.dtype(0), c.elem_rank(0), c.input(0).name);
      return;
  }
}

}  // namespace

void register_sequence_ops(OpRegistry& r) {
  r.add("SequenceEmpty", infer_sequence_empty).boxed();
  r.add("SequenceConstruct", infer_sequence_construct).boxed();
  r.add("SequenceInsert", infer_sequence_insert).boxed();
  r.add("SequenceErase", infer_sequence_erase).boxed();
  r.add("SequenceAt", infer_sequence_at).boxed().data_dependent();
  r.add("SequenceLength", infer_sequence_length).boxed();
  r.add("SplitToSequence", infer_split_to_sequence).boxed();
  r.add("ConcatFromSequence", infer_concat_from_sequence).boxed().data_dependent();
  r.add("Optional", infer_optional).boxed();
  r.add("OptionalHasElement", infer_optional_has_element).boxed();
  r.add("OptionalGetElement", infer_optional_get_element).boxed().narrow_types();
}

}  // namespace dynrt
