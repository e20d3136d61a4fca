// Inference for Attention (opset 23+) and RotaryEmbedding (opset 23).
// Attention: scaled dot-product attention with
// optional mask, causal/sliding-window masking, GQA, KV cache and the
// optional qk_matmul_output.
//
// Inputs: Q, K, V, attn_mask, past_key, past_value, nonpad_kv_seqlen (24+).
// 4-D layout: Q [B, Hq, S, D], K [B, Hkv, L, D], V [B, Hkv, L, Dv].
// 3-D layout: Q [B, S, Hq*D], K [B, L, Hkv*D], V [B, L, Hkv*Dv] with the
// head counts in q_num_heads / kv_num_heads.
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

bool is_attn_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}

void infer_attention(InferContext& c) {
  DType t = c.dtype(0);
  if (!is_attn_float(t)) c.unsupported(std::string("Q of type ") + dtype_name(t) + " (floating types are supported)");
  for (size_t i : {1, 2})
    if (c.dtype(i) != t) c.fail("K and V must have Q's type");
  size_t rank = c.rank(0);
  if (rank != 3 && rank != 4) c.fail("Q must be 3-D or 4-D");
  if (c.rank(1) != rank || c.rank(2) != rank) c.fail("Q, K and V must have the same rank");
  const std::vector<Expr>&q = c.shape(0), &k = c.shape(1), &v = c.shape(2);
  Expr batch = q[0], hq, hkv, seq, kv_len = k[rank == 4 ? 2 : 1], d, dv;
  if (rank == 4) {
    hq = q[1], seq = q[2], d = q[3], hkv = k[1], dv = v[3];
    c.require_equal(k[3], d, "K head size vs Q head size");
    c.require_equal(v[1], hkv, "V heads vs K heads");
    c.require_equal(v[2], kv_len, "V sequence length vs K");
  } else {
    AttentionAttrs attrs = AttentionAttrs::parse(c);
    int64_t nq = attrs.q_heads, nkv = attrs.kv_heads;
    if (nq <= 0 || nkv <= 0) c.fail("3-D inputs need positive q_num_heads and kv_num_heads");
    hq = Expr::constant(nq), hkv = Expr::constant(nkv), seq = q[1];
    c.require_divisible(q[2], hq, "Q hidden size by q_num_heads");
    c.require_divisible(k[2], hkv, "K hidden size by kv_num_heads");
    c.require_divisible(v[2], hkv, "V hidden size by kv_num_heads");
    d = floordiv(q[2], hq), dv = floordiv(v[2], hkv);
    c.require_equal(floordiv(k[2], hkv), d, "K head size vs Q head size");
    c.require_equal(v[1], kv_len, "V sequence length vs K");
  }
  c.require_equal(k[0], batch, "K batch vs Q batch");
  c.require_equal(v[0], batch, "V batch vs Q batch");
  c.require_divisible(hq, hkv, "Q heads by KV heads");

  Expr total = kv_len;
  bool past = c.has_input(4) || c.has_input(5);
  if (past) {
    if (!c.has_input(4) || !c.has_input(5)) c.fail("past_key and past_value must be given together");
    if (c.rank(4) != 4 || c.rank(5) != 4) c.fail("past_key and past_value must be 4-D");
    const std::vector<Expr>&pk = c.shape(4), &pv = c.shape(5);
    if (c.dtype(4) != t || c.dtype(5) != t) c.fail("past_key/past_value must have Q's type");
    for (const auto* p : {&pk, &pv}) {
      c.require_equal((*p)[0], batch, "past batch");
      c.require_equal((*p)[1], hkv, "past heads");
    }
    c.require_equal(pv[2], pk[2], "past_value length vs past_key");
    c.require_equal(pk[3], d, "past_key head size");
    c.require_equal(pv[3], dv, "past_value head size");
    total = pk[2] + kv_len;
  }
  if (c.has_input(3)) {
    DType mt = c.dtype(3);
    if (mt != DType::kBool && mt != t) c.fail("attn_mask must be bool or Q's type");
    const std::vector<Expr>& m = c.shape(3);
    if (m.empty() || m.size() > 4) c.fail("attn_mask must have rank 1 to 4");
    // The last dim may be shorter than the total KV length (padded with
    // masked positions); the kernel checks it is not longer.
    const Expr& last = m.back();
    if (last.is_const() && total.is_const() && last.const_value() > total.const_value())
      c.fail("attn_mask is longer than the total KV sequence");
    std::vector<Expr> target = {batch, hq, seq};
    for (size_t i = 0; i + 1 < m.size(); ++i) c.broadcast_dim(m[i], target[4 - m.size() + i]);
  }
  if (c.has_input(6)) {
    if (past) c.fail("nonpad_kv_seqlen cannot be combined with past_key/past_value");
    if (c.dtype(6) != DType::kInt64 || c.rank(6) != 1) c.fail("nonpad_kv_seqlen must be a 1-D int64 tensor");
    c.require_equal(c.shape(6)[0], batch, "nonpad_kv_seqlen length vs batch");
  }
  int64_t mode = AttentionAttrs::parse(c).mode;
  if (mode < 0 || mode > 3) c.fail("qk_matmul_output_mode must be 0..3");
  int64_t sp = AttentionAttrs::parse(c).softmax_precision;
  if (sp != 0 && sp != 1 && sp != 10 && sp != 11 && sp != 16)
    c.unsupported("softmax_precision " + std::to_string(sp));

  if (rank == 4) c.set_output(0, t, {batch, hq, seq, dv});
  else c.set_output(0, t, {batch, seq, hq * dv});
  if (c.has_output(1)) c.set_output(1, t, {batch, hkv, total, d});
  if (c.has_output(2)) c.set_output(2, t, {batch, hkv, total, dv});
  if (c.has_output(3)) c.set_output(3, t, {batch, hq, seq, total});
}

// X is [B, S, H*D] (num_heads attribute) or [B, H, S, D]; the caches are
// [B, S, R/2] without position_ids and [max_pos, R/2] with them.
void infer_rotary(InferContext& c) {
  DType t = c.dtype(0);
  if (!is_attn_float(t)) c.unsupported(std::string("X of type ") + dtype_name(t) + " (floating types are supported)");
  size_t rank = c.rank(0);
  if (rank != 3 && rank != 4) c.fail("X must be 3-D or 4-D");
  if (c.dtype(1) != t || c.dtype(2) != t) c.fail("cos_cache and sin_cache must have X's type");
  const std::vector<Expr>& x = c.shape(0);
  Expr head = x[3 % rank];
  if (rank == 3) {
    int64_t heads = RotaryAttrs::parse(c).num_heads;
    if (heads <= 0) c.fail("3-D input needs a positive num_heads");
    c.require_divisible(x[2], Expr::constant(heads), "hidden size by num_heads");
    head = floordiv(x[2], Expr::constant(heads));
  }
  int64_t rot = RotaryAttrs::parse(c).rotary_embedding_dim;
  Expr r = rot > 0 ? Expr::constant(rot) : head;
  c.require_divisible(r, Expr::constant(2), "rotary dim by 2");
  const std::vector<Expr>&cs = c.shape(1), &sn = c.shape(2);
  if (cs.size() != sn.size()) c.fail("cos_cache and sin_cache ranks differ");
  for (size_t i = 0; i < cs.size(); ++i) c.require_equal(cs[i], sn[i], "sin_cache vs cos_cache");
  Expr seq = rank == 3 ? x[1] : x[2];
  if (c.has_input(3)) {
    if (cs.size() != 2) c.fail("with position_ids the caches must be 2-D");
    if (c.rank(3) != 2) c.fail("position_ids must be 2-D");
    c.require_equal(c.shape(3)[0], x[0], "position_ids batch");
    c.require_equal(c.shape(3)[1], seq, "position_ids sequence length");
  } else {
    if (cs.size() != 3) c.fail("without position_ids the caches must be 3-D");
    c.require_equal(cs[0], x[0], "cache batch");
    c.require_equal(cs[1], seq, "cache sequence length");
  }
  c.require_equal(cs.back() * Expr::constant(2), r, "cache width vs rotary dim");
  c.set_output(0, t, x);
}

}  // namespace

void register_attention_ops(OpRegistry& r) {
  r.add("Attention", infer_attention);
  r.add("RotaryEmbedding", infer_rotary);
}

}  // namespace dynrt
