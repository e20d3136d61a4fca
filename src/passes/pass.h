// Target-independent graph passes: each takes the graph and says whether it
// changed it. One pass per file; the builder runs default_pipeline() before
// partitioning. Lowering for a particular provider lives with that provider
// (src/backends/<name>/passes/).
#pragma once

#include <vector>

#include "ir/graph.h"

namespace dynrt::passes {

struct Pass {
  const char* name;
  bool (*run)(ir::Graph&);
};

bool fold_node(ir::Graph& g, size_t node);    // constant-fold one node if its inputs are known
bool fold_constants(ir::Graph& g);             // fold_constants.cpp
bool fold_shape_values(ir::Graph& g);          // fold_shape_values.cpp
bool eliminate_dead_code(ir::Graph& g);        // dead_code.cpp
bool fuse_batchnorm(ir::Graph& g);             // fuse_batchnorm.cpp
bool fuse_gelu(ir::Graph& g);                  // fuse_gelu.cpp
bool fold_always_true(ir::Graph& g);           // fold_always_true.cpp
bool sink_expand(ir::Graph& g);                // sink_expand.cpp
bool drop_identity_ops(ir::Graph& g);          // drop_identity_ops.cpp
// A new node at the end of `list` (the rewrites below build node lists).
inline ir::Node& append_node(std::vector<ir::Node>& list, const char* op, std::vector<int> ins, std::vector<int> outs,
                             std::string name) {
  ir::Node c;
  c.op = op;
  c.name = std::move(name);
  c.inputs = std::move(ins);
  c.outputs = std::move(outs);
  list.push_back(std::move(c));
  return list.back();
}

// Subgraph b's nodes copied into g, appended to `out` (splice_subgraph.cpp).
// id: per value of b, its id in g where already bound (b's inputs), else -1.
// b's constants and node outputs become values of g named tag + "/" + their
// names (their own names when tag is empty), node names likewise; values it
// reads from enclosing graphs are found by name. Returns id, completed.
std::vector<int> splice_subgraph(ir::Graph& g, const ir::Graph& b, std::vector<int> id, const std::string& tag,
                                 const std::string& label, std::vector<ir::Node>& out);

// During inference, before node k: an If whose condition is known becomes the
// branch it takes (inline_if.cpp); true if node k was replaced.
bool inline_if(ir::Graph& g, size_t k);
// Scan with a sequence length known at build time: the body repeated per
// step (unroll_scan.cpp); true if node k was replaced.
bool unroll_scan(ir::Graph& g, size_t k);
// FlexAttention with score_mod / prob_mod subgraphs: MatMul, the modifier
// inlined, Softmax, the modifier inlined, MatMul (expand_flex_attention.cpp).
bool expand_flex_attention(ir::Graph& g, size_t k);
// The Scan unroll_scan does not take, as a Loop (scan_as_loop.cpp); attributes in full, one per input/output.
bool scan_as_loop(ir::Graph& g, size_t k, const std::vector<int64_t>& in_axes, const std::vector<int64_t>& in_dirs,
                  const std::vector<int64_t>& out_axes, const std::vector<int64_t>& out_dirs);

std::vector<Pass> default_pipeline();

}  // namespace dynrt::passes
