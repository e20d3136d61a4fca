// Attention fusion shared by the providers: the scaled-dot-product pattern
// both PyTorch exporters emit,
//     MatMul(Q [* s1], K^T [* s2]) [* or / s] [+ mask] -> Softmax(last axis)
//         [-> Where(IsNaN(p), 0, p)] -> MatMul(., V)
// on 4-D [batch, heads, seq, head_dim] operands, becomes one ONNX Attention
// node (opset 23 semantics: Q, K, V, additive attn_mask, scale), so the
// provider runs it without the intermediate passes over the
// [batch, heads, seq_q, seq_kv] scores. K^T's producing Transpose is
// rewritten to produce K (one transpose, as before). Attention gives 0 for a
// fully masked row, which the IsNaN/Where form spells out and the bare
// softmax leaves NaN. Only nodes of provider `self` whose values pass
// `dtype_ok` are matched.
#pragma once

#include "dynrt/export.h"
#include "ir/graph.h"

namespace dynrt {

DYNRT_INTERNAL bool fuse_attention(ir::Graph& g, int self, bool (*dtype_ok)(DType));

}  // namespace dynrt
