// Inference for the attention variants of recent opsets: LinearAttention
// (opset 27, recurrent state), CausalConvWithState (opset 27, depthwise
// causal conv with a carried state) and FlexAttention (ai.onnx.preview,
// without score_mod/prob_mod subgraphs).
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

bool is_real(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}

void require_real(InferContext& c, size_t i, const char* what) {
  if (!is_real(c.dtype(i)))
    c.unsupported(std::string(what) + " of type " + dtype_name(c.dtype(i)) + " (floating types are supported)");
}

Expr K(int64_t v) { return Expr::constant(v); }

// query [B, T, Hq*dk], key [B, T, Hkv*dk], value [B, T, Hkv*dv];
// past_state [B, Hkv, dk, dv]; decay [B, T, Hkv or Hkv*dk]; beta [B, T, Hkv or 1].
void infer_linear_attention(InferContext& c) {
  require_real(c, 0, "query");
  DType t = c.dtype(0);
  for (size_t i : {1, 2})
    if (c.dtype(i) != t) c.fail("key and value must have query's type");
  const std::vector<Expr>&q = c.shape(0), &k = c.shape(1), &v = c.shape(2);
  if (q.size() != 3 || k.size() != 3 || v.size() != 3) c.fail("query, key and value must be 3-D");
  LinearAttentionAttrs attrs = LinearAttentionAttrs::parse(c);
  int64_t hq = attrs.q_num_heads, hkv = attrs.kv_num_heads;
  if (hq <= 0 || hkv <= 0 || hq % hkv != 0) c.fail("q_num_heads must be a positive multiple of kv_num_heads");
  const std::string& rule = attrs.update_rule;
  if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
    c.fail("unknown update_rule '" + rule + "'");
  bool gating = rule == "gated" || rule == "gated_delta", delta = rule == "delta" || rule == "gated_delta";
  if (gating != c.has_input(4)) c.fail("update_rule '" + rule + (gating ? "' requires" : "' forbids") + " decay");
  if (delta != c.has_input(5)) c.fail("update_rule '" + rule + (delta ? "' requires" : "' forbids") + " beta");
  c.require_divisible(q[2], K(hq), "query hidden size by q_num_heads");
  c.require_divisible(k[2], K(hkv), "key hidden size by kv_num_heads");
  c.require_divisible(v[2], K(hkv), "value hidden size by kv_num_heads");
  Expr dk = floordiv(q[2], K(hq)), dv = floordiv(v[2], K(hkv));
  c.require_equal(floordiv(k[2], K(hkv)), dk, "key head size vs query head size");
  for (const auto* s : {&k, &v}) {
    c.require_equal((*s)[0], q[0], "batch");
    c.require_equal((*s)[1], q[1], "sequence length");
  }
  if (c.has_input(3)) {
    const std::vector<Expr>& p = c.shape(3);
    if (p.size() != 4) c.fail("past_state must be 4-D");
    std::vector<Expr> want = {q[0], K(hkv), dk, dv};
    for (size_t i = 0; i < 4; ++i) c.require_equal(p[i], want[i], "past_state dim " + std::to_string(i));
  }
  for (size_t i : {4, 5}) {
    if (!c.has_input(i)) continue;
    const std::vector<Expr>& s = c.shape(i);
    if (s.size() != 3) c.fail(i == 4 ? "decay must be 3-D" : "beta must be 3-D");
    c.require_equal(s[0], q[0], "batch");
    c.require_equal(s[1], q[1], "sequence length");
    // The last dim selects the layout (per head, per key dim, shared): the
    // kernel checks it against the alternatives.
  }
  c.set_output(0, t, {q[0], q[1], K(hq) * dv});
  if (c.has_output(1)) c.set_output(1, c.has_input(3) ? c.dtype(3) : t, {q[0], K(hkv), dk, dv});
}

// input [B, C, L], weight [C, 1, k], bias [C], past_state [B, C, k-1].
void infer_causal_conv(InferContext& c) {
  require_real(c, 0, "input");
  const std::vector<Expr>&x = c.shape(0), &w = c.shape(1);
  if (x.size() != 3 || w.size() != 3) c.fail("input and weight must be 3-D");
  CausalConvAttrs attrs = CausalConvAttrs::parse(c);
  const std::string& act = attrs.activation;
  if (act != "none" && act != "silu" && act != "swish") c.fail("unknown activation '" + act + "'");
  c.require_equal(w[0], x[1], "weight channels");
  c.require_equal(w[1], K(1), "weight dim 1 (depthwise)");
  Expr state = w[2] - K(1);
  if (c.has_input(2)) {
    if (c.rank(2) != 1) c.fail("bias must be 1-D");
    c.require_equal(c.shape(2)[0], x[1], "bias length");
  }
  if (c.has_input(3)) {
    const std::vector<Expr>& p = c.shape(3);
    if (p.size() != 3) c.fail("past_state must be 3-D");
    c.require_equal(p[0], x[0], "past_state batch");
    c.require_equal(p[1], x[1], "past_state channels");
    c.require_equal(p[2], state, "past_state length vs kernel size - 1");
  }
  c.set_output(0, c.dtype(0), x);
  if (c.has_output(1)) c.set_output(1, c.dtype(0), {x[0], x[1], state});
}

void infer_flex_attention(InferContext& c) {
  if (c.has_attr("score_mod") || c.has_attr("prob_mod"))
    c.unsupported("score_mod / prob_mod subgraphs are not supported");
  require_real(c, 0, "Q");
  for (size_t i : {1, 2})
    if (c.dtype(i) != c.dtype(0)) c.fail("K and V must have Q's type");
  if (c.has_attr("softmax_precision")) {
    int64_t sp = c.attr_int("softmax_precision");
    if (sp != 1 && sp != 11) c.unsupported("softmax_precision " + std::to_string(sp));
  }
  const std::vector<Expr>&q = c.shape(0), &k = c.shape(1), &v = c.shape(2);
  if (q.size() != 4 || k.size() != 4 || v.size() != 4) c.fail("Q, K and V must be 4-D");
  c.require_equal(k[0], q[0], "K batch");
  c.require_equal(v[0], q[0], "V batch");
  c.require_equal(v[1], k[1], "V heads vs K heads");
  c.require_equal(v[2], k[2], "V sequence length vs K");
  c.require_equal(k[3], q[3], "K head size vs Q");
  c.require_divisible(q[1], k[1], "Q heads by KV heads");
  c.set_output(0, c.dtype(0), {q[0], q[1], q[2], v[3]});
}

}  // namespace

void register_attention_variant_ops(OpRegistry& r) {
  r.add("LinearAttention", infer_linear_attention);
  r.add("CausalConvWithState", infer_causal_conv);
  r.add("FlexAttention", infer_flex_attention, "ai.onnx.preview");
}

}  // namespace dynrt
