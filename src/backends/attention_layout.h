// Attention nodes whose kernel reads strided operands take Q, K, V and write
// their output in the storage the model already has. Exported transformers
// project to [B, S, H*D], reshape to [B, S, H, D] and Transpose(0, 2, 1, 3)
// to [B, H, S, D] for attention, then transpose the result back: four full
// passes over the activations per layer that only reorder bytes. Here a
// Transpose(0, 2, 1, 3) read only by the Attention is dropped from its input,
// and one that is the output's only reader (directly, or after a Reshape that
// keeps the shape) takes the Attention's place as writer; "dynrt.layout"
// records, per Q, K, V and output, 's' ([B, S, H, D]) or 'h' ([B, H, S, D]).
// Only Attention nodes of provider `self` that `takes` accepts are changed;
// their kernels must read the attribute and check the shapes they get.
#pragma once

#include <functional>

#include "dynrt/export.h"
#include "ir/graph.h"

namespace dynrt {

DYNRT_INTERNAL bool attention_layout(ir::Graph& g, int self,
                                     const std::function<bool(const ir::Graph&, const ir::Node&)>& takes);

}  // namespace dynrt
