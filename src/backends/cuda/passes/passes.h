// The CUDA provider's lowering passes: they rewrite CUDA nodes (provider
// index `self`) into the forms its kernels take. One pass per file.
#pragma once

#include "ir/graph.h"

namespace dynrt::cuda {

bool fuse_attention(ir::Graph& g, int self);    // fuse_attention.cpp
bool attention_layout(ir::Graph& g, int self);  // attention_layout.cpp
bool fuse_epilogues(ir::Graph& g, int self);  // fuse_epilogues.cpp
bool fuse_qkv(ir::Graph& g, int self);        // fuse_qkv.cpp
bool channels_last(ir::Graph& g, int self);   // channels_last.cpp

}  // namespace dynrt::cuda
