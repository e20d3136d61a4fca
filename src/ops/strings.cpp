// Tensors of strings (element type string): StringConcat, StringNormalizer,
// StringSplit, RegexFullMatch, Equal on strings, and LabelEncoder
// (ai.onnx.ml, between strings and numbers). String tensors are boxed values
// (ir::Value::boxed) with shapes like any tensor's; these ops run in the
// runtime on the host (runtime/string_ops.cpp). LabelEncoder runs there for
// numbers too.
#include <re2/re2.h>

#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

void require_strings(InferContext& c, size_t i) {
  if (c.dtype(i) != DType::kString || c.kind(i) != ValueKind::kTensor)
    c.fail("input '" + c.input(i).name + "' must be a tensor of strings, got " + c.input(i).kind_name() + " of " +
           dtype_name(c.dtype(i)));
}

void infer_string_concat(InferContext& c) {
  require_strings(c, 0);
  require_strings(c, 1);
  c.set_output(0, DType::kString, c.broadcast_shapes(c.shape(0), c.shape(1)));
}

// [C] or [1, C]: stopwords removed (C' of them left, at least one: an empty string when none).
void infer_string_normalizer(InferContext& c) {
  require_strings(c, 0);
  const std::vector<Expr>& s = c.shape(0);
  const std::string action = c.attr_string("case_change_action", "NONE");
  if (action != "NONE" && action != "LOWER" && action != "UPPER")
    c.fail("case_change_action '" + action + "' is not NONE, LOWER or UPPER");
  if (s.size() == 2) c.require_equal(s[0], Expr::constant(1), "StringNormalizer's first dim of a 2-D input");
  else if (s.size() != 1) c.fail("takes a 1-D or [1, C] input");
  Expr kept = c.new_data_dependent_symbol("kept", s.back());
  c.set_output(0, DType::kString, s.size() == 2 ? std::vector<Expr>{Expr::constant(1), kept} : std::vector<Expr>{kept});
}

// Y: the substrings, padded with empty strings to the most any element gave; Z: how many each gave.
void infer_string_split(InferContext& c) {
  require_strings(c, 0);
  std::vector<Expr> s = c.shape(0);
  if (s.size() >= static_cast<size_t>(kMaxRank)) c.unsupported("StringSplit of a rank-8 tensor (its output has rank 9)");
  c.set_output(1, DType::kInt64, s);
  s.push_back(c.new_data_dependent_symbol("substrings", Expr::constant(int64_t{1} << 40)));
  c.set_output(0, DType::kString, s);
}

void infer_regex_full_match(InferContext& c) {
  require_strings(c, 0);
  const std::string pattern = c.attr_string("pattern", "");
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) c.fail("pattern '" + pattern + "' is not a valid RE2 regular expression: " + re.error());
  c.set_output(0, DType::kBool, c.shape(0));
}

// The type a LabelEncoder attribute set names (keys_* or values_*), from whichever is present.
DType encoder_type(InferContext& c, const std::string& what) {
  if (c.has_attr(what + "_strings")) return DType::kString;
  if (c.has_attr(what + "_int64s")) return DType::kInt64;
  if (c.has_attr(what + "_floats")) return DType::kFloat32;
  if (const Tensor* t = c.attr_tensor(what + "_tensor")) return t->dtype();
  if (c.has_attr(what + "_tensor")) return DType::kString;  // a string tensor (the importer keeps it as a list)
  c.fail("has no " + what + " (" + what + "_strings, " + what + "_int64s, " + what + "_floats or " + what + "_tensor)");
}

void infer_label_encoder(InferContext& c) {
  const DType keys = encoder_type(c, "keys"), values = encoder_type(c, "values");
  for (DType t : {keys, values})
    if (t != DType::kString && t != DType::kInt64 && t != DType::kInt32 && t != DType::kInt16 &&
        t != DType::kFloat32 && t != DType::kFloat64)
      c.unsupported(std::string("LabelEncoder over ") + dtype_name(t));
  if (c.dtype(0) != keys)
    c.fail(std::string("its input is ") + dtype_name(c.dtype(0)) + " and its keys " + dtype_name(keys));
  c.set_output(0, values, c.shape(0));
}

}  // namespace

void register_string_ops(OpRegistry& r) {
  r.add("StringConcat", infer_string_concat).boxed();
  r.add("StringNormalizer", infer_string_normalizer).boxed().data_dependent();
  r.add("StringSplit", infer_string_split).boxed().data_dependent();
  r.add("RegexFullMatch", infer_regex_full_match).boxed();
  r.add("LabelEncoder", infer_label_encoder, "ai.onnx.ml").boxed().in_runtime();
}

}  // namespace dynrt
