// Validation of a loaded engine's plan before anything uses it (engine files
// are untrusted): symbol and profile ranges, value types and shapes, the
// plan's order (every input produced earlier, or a graph input or constant;
// every value produced once), guards, and each node in its ONNX form against
// its op schema, through the same inference the build runs (ranks, dtypes,
// attributes).
#include "runtime/engine_validate.h"

#include <optional>

#include "core/checked.h"
#include "core/tensor_view.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

// Dimensions beyond this are not real shapes (and keep products of a few
// of them inside int64).
constexpr int64_t kMaxDim = int64_t{1} << 40;

// Attributes that change how a node computes, not what its ONNX form gives.
bool form_preserving(const std::string& attr) {
  return attr == "dynrt.fused" || attr == "dynrt.activation" || attr == "dynrt.clip_min" ||
         attr == "dynrt.clip_max" || attr == "dynrt.compute" || attr == "dynrt.nan_to_zero";
}

// Rewrites a lowered node back to its ONNX form for checking, after checking
// the fused inputs it sets aside. False: the node cannot be checked by its
// schema (folded transposes, storage layouts).
bool as_onnx_form(const ir::Graph& g, ir::Node& n, const std::string& label,
                  const std::function<void(const std::string&)>& corrupt) {
  bool lowered = false, kernel_checked = false;
  for (const auto& [name, a] : n.attrs) {
    if (name.rfind("dynrt.", 0) != 0) continue;
    lowered = true;
    // The kernel's tuned choices: hints it checks before use (a GEMM's
    // algorithm goes through cublasLtMatmulAlgoCheck), bounded here.
    if (name == "dynrt.tuned") {
      if (a.type != ir::Attribute::Type::kInts || a.ints.size() > 4096)
        corrupt(label + ": 'dynrt.tuned' is not a list of at most 4096 integers");
      continue;
    }
    if (form_preserving(name)) continue;
    // Only these change the shapes a node reads, and only on the nodes whose
    // kernels check them; any other dynrt.* attribute is not one dynrt writes.
    const bool perm = n.op == "MatMul" && (name == "dynrt.perm_a" || name == "dynrt.perm_b" || name == "dynrt.perm_y");
    const bool layout = n.op == "Attention" && name == "dynrt.layout";
    if (!n.domain.empty() || !(perm || layout)) corrupt(label + ": unknown lowering attribute '" + name + "'");
    kernel_checked = true;
  }
  if (kernel_checked) return false;
  if (!lowered) return true;
  for (auto it = n.attrs.begin(); it != n.attrs.end();)
    it = it->first.rfind("dynrt.", 0) == 0 ? n.attrs.erase(it) : std::next(it);
  if (n.domain.empty() && (n.op == "MatMul" || n.op == "Conv") && !n.outputs.empty() && n.outputs[0] >= 0) {
    const size_t arity = n.op == "MatMul" ? 2 : 3;
    const ir::Value& out = g.values[static_cast<size_t>(n.outputs[0])];
    auto numel_of = [](const ir::Value& v) -> std::optional<int64_t> {
      int64_t e = 1;
      for (const Expr& d : v.shape) {
        if (!d.is_const()) return std::nullopt;
        e *= d.const_value();
      }
      return e;
    };
    // A MatMul's bias (input 2): a constant as long as the output's last dim.
    if (n.op == "MatMul" && n.inputs.size() > 2 && n.inputs[2] >= 0) {
      const ir::Value& b = g.values[static_cast<size_t>(n.inputs[2])];
      const auto len = numel_of(b);
      if (!b.rank_known || !len || !out.rank_known || out.shape.empty() || out.shape.back() != Expr::constant(*len) ||
          b.dtype != out.dtype)
        corrupt(label + ": its fused bias does not match its output");
    }
    // The residual (input 3): the output's type and shape.
    if (n.inputs.size() > 3 && n.inputs[3] >= 0) {
      const ir::Value& r = g.values[static_cast<size_t>(n.inputs[3])];
      if (!r.rank_known || !out.rank_known || r.shape != out.shape || r.dtype != out.dtype)
        corrupt(label + ": its fused residual does not match its output");
    }
    if (n.inputs.size() > 4) corrupt(label + ": too many inputs");
    if (n.inputs.size() > arity) n.inputs.resize(arity);
  }
  return true;
}

bool bf16_activation_node(const ir::Graph& g, const ir::Node& n) {
  if ((n.op != "Conv" && n.op != "MatMul") || !n.domain.empty() || n.provider < 0 ||
      static_cast<size_t>(n.provider) >= g.providers.size() || g.providers[static_cast<size_t>(n.provider)] != "cpu")
    return false;
  auto c = n.attrs.find("dynrt.compute");
  return c != n.attrs.end() && c->second.s == "bf16";
}

}  // namespace

void validate_engine_graph(const ir::Graph& g, const std::vector<ProfileBox>& profiles,
                           const std::function<void(const std::string&)>& corrupt) {
  const int nsym = g.symbols.size();
  for (int s = 0; s < nsym; ++s) {
    const ir::Symbol& sym = g.symbols[s];
    if (sym.kind != ir::SymbolKind::kInput && sym.kind != ir::SymbolKind::kDataDependent)
      corrupt("symbol '" + sym.name + "' has a bad kind");
    if (sym.min < 0 || sym.min > sym.opt || sym.opt > sym.max || sym.max > kMaxDim)
      corrupt("symbol '" + sym.name + "' has a bad range");
  }
  for (const ProfileBox& p : profiles)
    for (size_t s = 0; s < p.min.size(); ++s)
      if (p.min[s] < 0 || p.min[s] > p.opt[s] || p.opt[s] > p.max[s] || p.max[s] > kMaxDim)
        corrupt("a profile has a bad range for symbol #" + std::to_string(s));
  auto symbols_known = [&](const Expr& e, const std::string& what) {
    for (int s : e.symbols())
      if (s < 0 || s >= nsym) corrupt(what + " uses an unknown symbol");
  };
  std::vector<char> available(g.values.size(), 0);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const ir::Value& val = g.values[v];
    const std::string what = "value '" + val.name + "'";
    if (val.dtype != DType::kUndefined && !dtype_is_supported(val.dtype) && val.dtype != DType::kString)
      corrupt(what + " has a bad type");
    // Views hold at most kMaxRank dims (inference refuses more).
    if (val.shape.size() > static_cast<size_t>(kMaxRank)) corrupt(what + " has too many dims");
    for (const Expr& d : val.shape) symbols_known(d, what + "'s shape");
    if (val.sym_value)
      for (const Expr& d : *val.sym_value) symbols_known(d, what + "'s value");
    // Sequences and optionals: held outside the arenas, never constants, on the host.
    if (val.kind != ValueKind::kTensor && (val.rank_known || !val.shape.empty()))
      corrupt(what + " is a " + value_kind_name(val.kind) + " with a tensor's shape");
    if (val.boxed() && (val.constant || val.sym_value || val.provider != 0 || val.layout != ir::Layout::kRowMajor))
      corrupt(what + " is a " + val.kind_name() + " with constant data or a device placement");
    if (val.constant) {
      if (val.constant->dtype() != val.dtype) corrupt(what + ": its constant has another type");
      if (val.rank_known && val.constant->shape().size() != val.shape.size()) corrupt(what + ": its constant has another rank");
      available[v] = 1;
    }
  }
  for (int in : g.inputs) {
    if (available[static_cast<size_t>(in)]) corrupt("graph input '" + g.values[static_cast<size_t>(in)].name + "' is listed twice or is a constant");
    available[static_cast<size_t>(in)] = 1;
  }
  const OpRegistry& reg = OpRegistry::instance();
  for (const ir::Node& n : g.nodes) {
    if (!reg.find(n.op, n.domain)) continue;  // finalize() reports an op this build does not have
    for (int in : n.inputs)
      if (in >= 0 && !available[static_cast<size_t>(in)])
        corrupt(g.node_label(n) + " reads '" + g.values[static_cast<size_t>(in)].name + "' before anything writes it");
    for (int out : n.outputs) {
      if (out < 0) continue;
      if (available[static_cast<size_t>(out)])
        corrupt(g.node_label(n) + " writes '" + g.values[static_cast<size_t>(out)].name + "', which is already written");
      available[static_cast<size_t>(out)] = 1;
    }
  }
  for (int out : g.outputs)
    if (!available[static_cast<size_t>(out)]) corrupt("graph output '" + g.values[static_cast<size_t>(out)].name + "' is never written");
  for (const ir::Guard& guard : g.guards) {
    if (guard.kind != ir::GuardKind::kEqual && guard.kind != ir::GuardKind::kBroadcast &&
        guard.kind != ir::GuardKind::kDivisible && guard.kind != ir::GuardKind::kAtLeast)
      corrupt("a guard has a bad kind");
    symbols_known(guard.a, "a guard");
    symbols_known(guard.b, "a guard");
  }
  // Each node against its schema, on a scratch copy (inference writes the
  // outputs' types and shapes). A node a provider's lowering rewrote carries
  // dynrt.* attributes. Epilogues and precision marks leave its ONNX form
  // intact once the fused inputs are set aside (fuse_epilogue.h: a MatMul's
  // bias and residual, a Conv's residual, none of which change the output's
  // shape): those nodes are checked like any other, and the fused inputs
  // against the output. Folded transposes and storage layouts change the
  // shapes a node reads; their kernels check them.
  ir::Graph scratch = g;
  for (size_t k = 0; k < scratch.nodes.size(); ++k) {
    const OpSchema* def = reg.find(scratch.nodes[k].op, scratch.nodes[k].domain);
    if (!def || !def->infer) continue;
    // A CPU Conv or MatMul computing in bf16 may read and write bf16 activations
    // (builder/precision.cpp: store_cpu_bf16_activations): checked in its
    // float32 form, then its output may be stored as bf16. The kernels check
    // which inputs they take in bf16.
    std::vector<int> widened;
    const bool bf16_io = bf16_activation_node(g, g.nodes[k]);
    if (bf16_io)
      for (size_t i : {size_t{0}, size_t{3}})
        if (i < scratch.nodes[k].inputs.size() && scratch.nodes[k].inputs[i] >= 0 &&
            scratch.values[static_cast<size_t>(scratch.nodes[k].inputs[i])].dtype == DType::kBFloat16) {
          widened.push_back(scratch.nodes[k].inputs[i]);
          scratch.values[static_cast<size_t>(widened.back())].dtype = DType::kFloat32;
        }
    if (bf16_io && !scratch.nodes[k].outputs.empty() && scratch.nodes[k].outputs[0] >= 0 &&
        scratch.values[static_cast<size_t>(scratch.nodes[k].outputs[0])].dtype == DType::kBFloat16)
      scratch.values[static_cast<size_t>(scratch.nodes[k].outputs[0])].dtype = DType::kFloat32;  // inference rewrites it
    if (!as_onnx_form(scratch, scratch.nodes[k], g.node_label(g.nodes[k]), corrupt)) continue;
    try {  // on every provider: no kernel computes on the narrow types outside these ops
      check_narrow_types(scratch, k, *def);
      check_value_kinds(scratch, k, *def);
    } catch (const Error& e) {
      corrupt(e.what());
    }
    try {
      InferContext ctx(scratch, k);
      def->infer(ctx);
    } catch (const Error& e) {
      // A schema's "unsupported" (a float16 LayerNormalization, say) speaks
      // for the CPU kernels; a device provider's kernel checks what it takes
      // when the engine loads. The CPU provider's nodes stay strict.
      const bool device_node = scratch.nodes[k].provider != 0;
      if (!(device_node && e.code() == ErrorCode::kUnsupported))
        corrupt(g.node_label(g.nodes[k]) + " does not pass its op's checks: " + e.what());
      for (int o : scratch.nodes[k].outputs)
        if (o >= 0) scratch.values[static_cast<size_t>(o)] = g.values[static_cast<size_t>(o)];
      continue;
    }
    // What inference derives must be what the file says (kernels and the
    // memory plan trust the stored shapes). A shape with a symbol inference
    // just made (a data-dependent size) cannot be compared by id.
    for (int o : scratch.nodes[k].outputs) {
      if (o < 0) continue;
      ir::Value &derived = scratch.values[static_cast<size_t>(o)];
      const ir::Value& stored = g.values[static_cast<size_t>(o)];
      bool fresh = false;
      for (const Expr& d : derived.shape)
        for (int sym : d.symbols()) fresh = fresh || sym >= nsym;
      const bool bf16_out = bf16_io && o == scratch.nodes[k].outputs[0] && derived.dtype == DType::kFloat32 &&
                            stored.dtype == DType::kBFloat16;
      if ((derived.dtype != stored.dtype && !bf16_out) || derived.kind != stored.kind ||
          derived.elem_rank != stored.elem_rank ||
          (!fresh && derived.rank_known && stored.rank_known && derived.shape != stored.shape))
        corrupt(g.node_label(g.nodes[k]) + ": the stored type or shape of '" + stored.name + "' is not what the op gives");
      derived = stored;  // later nodes see the file's values, as the runtime will
    }
    for (int v : widened) scratch.values[static_cast<size_t>(v)].dtype = DType::kBFloat16;
  }
}

}  // namespace dynrt
