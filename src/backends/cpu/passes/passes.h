// The CPU provider's lowering passes: they rewrite CPU nodes (provider index
// `self`) into the forms the oneDNN-backed kernels take. One pass per file.
#pragma once

#include "ir/graph.h"

namespace dynrt::cpu {

bool fuse_attention(ir::Graph& g, int self);         // fuse_attention.cpp
bool attention_layout(ir::Graph& g, int self);       // attention_layout.cpp
bool fuse_activation(ir::Graph& g, int self);        // fuse_activation.cpp
bool fuse_qkv(ir::Graph& g, int self);               // fuse_qkv.cpp
bool fuse_transpose_matmul(ir::Graph& g, int self);  // fuse_transpose_matmul.cpp
bool assign_channels_last(ir::Graph& g, int self);   // channels_last.cpp
bool fuse_softmax_nan_guard(ir::Graph& g, int self); // fuse_softmax_nan_guard.cpp

}  // namespace dynrt::cpu
