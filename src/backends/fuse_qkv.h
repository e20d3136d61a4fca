// Q, K and V projections of an attention as one MatMul (fuse_qkv.cpp).
#pragma once

#include "dynrt/export.h"
#include "ir/graph.h"

namespace dynrt {

// Nodes of provider `self`: an Attention whose Q, K, V are Reshapes of three
// MatMuls (constant weights of one shape, optional bias) of the same input
// reads them packed ('p' in "dynrt.layout") from one MatMul. True if changed.
DYNRT_INTERNAL bool fuse_qkv(ir::Graph& g, int self);

}  // namespace dynrt
