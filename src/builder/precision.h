// Reduced precision (BuildConfig::precision fp16 / bf16): float32 math of the
// nodes assigned to device providers runs in 16-bit floats where their
// kernels take them; engine inputs and outputs stay float32. On the CPU
// provider, bf16 means bf16 products in MatMul, Gemm and Conv (weights
// stored bf16, accumulation in float32), and bf16 activations between them;
// every other op computes in float32.
#pragma once

#include <vector>

#include "backends/provider.h"
#include "ir/graph.h"

namespace dynrt {

// After providers are assigned, before boundary copies: converts each device
// node whose provider supports its 16-bit form (`half`: kFloat16 or
// kBFloat16), converts the float32 constants those nodes read, and inserts
// Cast nodes where a 16-bit value meets a float32 reader (a CPU node, a
// graph output, a node kept in float32) or the reverse. Returns the number
// of nodes converted.
int lower_precision(ir::Graph& g, const std::vector<const ExecutionProvider*>& providers, DType half);

// Marks the float32 MatMul, Gemm, Conv and Attention nodes of the CPU provider to
// compute in bf16 ("dynrt.compute" = "bf16"; backends/cpu/onednn_util.h).
// Then stores in bf16 the activations such Convs and MatMuls produce and only
// they read (a Conv as input or residual, a MatMul with constant weights as
// its activation; store_cpu_bf16_activations): they are produced and consumed
// in bf16, which halves their memory traffic and drops the conversions in and
// out of each product (a transformer's FFN: the wide activation between its
// two MatMuls). Returns the number marked.
int mark_cpu_bf16(ir::Graph& g);
// The second step of mark_cpu_bf16; returns the number of values stored in bf16.
int store_cpu_bf16_activations(ir::Graph& g);

}  // namespace dynrt
