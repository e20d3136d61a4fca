// Engines with variants. A model whose output rank, Scan length or If branch
// follows from an input dim (Unsqueeze with axes given as an input, a Scan
// over a dynamic sequence) cannot be one engine over a range of that dim:
// each value makes a different graph. When the dims involved take few values
// over the profiles, the builder pins them to each value in turn (the dims
// become constants, the profiles narrow to that value), builds an engine for
// each, and the runtime picks one per run by the caller's dims
// (runtime/variants.cpp). A value at which the model is invalid (more axes
// than the input has dims) keeps its error for the run that asks for it.
#include "builder/variants.h"

#include <algorithm>
#include <optional>
#include <string>

#include "ops/specialize.h"

namespace dynrt {
namespace {

// Where the caller gives a symbol's value: the first input dim that is exactly it.
struct PinSite {
  int symbol;
  uint32_t input, dim;
};

std::optional<PinSite> site_of(const ir::Graph& g, int s) {
  if (s < 0 || s >= g.symbols.size() || g.symbols[s].kind != ir::SymbolKind::kInput) return std::nullopt;
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    for (size_t j = 0; j < v.shape.size(); ++j)
      if (v.shape[j].is_symbol() && v.shape[j].symbol_id() == s)
        return PinSite{s, static_cast<uint32_t>(k), static_cast<uint32_t>(j)};
  }
  return std::nullopt;
}

// How many values a symbol takes, saturating at kSaturate (ranges come from the caller's profiles).
constexpr int64_t kSaturate = int64_t{1} << 40;
int64_t values_of(const ir::Graph& g, int s) {
  const int64_t lo = g.symbols[s].min, hi = g.symbols[s].max;
  int64_t n = 0;
  if (hi < lo) return 0;
  if (__builtin_sub_overflow(hi, lo, &n) || n >= kSaturate) return kSaturate;
  return n + 1;
}

// Adds the symbols `e` names to `sites`; false (sites unchanged) when one has
// no input dim of its own, or the variants would be more than kMaxVariants.
bool add_sites(const ir::Graph& g, const NeedsSpecialization& e, std::vector<PinSite>& sites) {
  std::vector<PinSite> more = sites;
  for (int s : e.symbols()) {
    if (std::any_of(more.begin(), more.end(), [&](const PinSite& p) { return p.symbol == s; })) continue;
    std::optional<PinSite> site = site_of(g, s);
    if (!site) return false;
    more.push_back(*site);
  }
  if (more.size() == sites.size()) return false;
  int64_t count = 1;
  for (const PinSite& p : more) {
    const int64_t n = values_of(g, p.symbol);
    if (n < 1 || n > kMaxVariants || count * n > kMaxVariants) return false;
    count *= n;
  }
  sites = std::move(more);
  return true;
}

// The graph and profiles with each pinned symbol replaced by its value;
// false when no profile contains the values.
bool pin(ir::Graph& g, std::vector<ProfileBox>& boxes, const std::vector<PinSite>& sites,
         const std::vector<int64_t>& values) {
  auto f = [&](int id, Expr& out) {
    for (size_t i = 0; i < sites.size(); ++i)
      if (sites[i].symbol == id) {
        out = Expr::constant(values[i]);
        return true;
      }
    return false;
  };
  for (ir::Value& v : g.values)
    for (Expr& e : v.shape) e = e.substitute(f);
  for (ir::Guard& guard : g.guards) {
    guard.a = guard.a.substitute(f);
    guard.b = guard.b.substitute(f);
  }
  std::vector<ProfileBox> kept;
  for (ProfileBox b : boxes) {
    bool inside = true;
    for (size_t i = 0; i < sites.size(); ++i) {
      auto s = static_cast<size_t>(sites[i].symbol);
      inside = inside && s < b.min.size() && values[i] >= b.min[s] && values[i] <= b.max[s];
    }
    if (!inside) continue;
    for (size_t i = 0; i < sites.size(); ++i) {
      auto s = static_cast<size_t>(sites[i].symbol);
      b.min[s] = b.opt[s] = b.max[s] = values[i];
    }
    kept.push_back(std::move(b));
  }
  for (size_t i = 0; i < sites.size(); ++i) {
    ir::Symbol& sym = g.symbols[sites[i].symbol];
    sym.min = sym.opt = sym.max = values[i];
  }
  boxes = std::move(kept);
  return !boxes.empty();
}

// The note an unspecializable error gets when the values are too many.
std::string too_many(const ir::Graph& g, const NeedsSpecialization& e) {
  std::string names;
  int64_t count = 1;
  for (int s : e.symbols()) {
    if (!site_of(g, s)) return "";
    names += (names.empty() ? "" : " x ") + g.symbols[s].name;
    const int64_t n = std::max<int64_t>(values_of(g, s), 1);
    count = n > kSaturate / count ? kSaturate : count * n;
  }
  if (count <= kMaxVariants) return "";
  return " (" + names + (e.symbols().size() > 1 ? " take " : " takes ") + std::to_string(count) +
         " values; dynrt builds one engine per value for at most " + std::to_string(kMaxVariants) +
         ": narrow the range)";
}

std::string pins_str(const ir::Graph& g, const std::vector<PinSite>& sites, const std::vector<int64_t>& values) {
  std::string s;
  for (size_t i = 0; i < sites.size(); ++i)
    s += (i ? ", " : "") + g.symbols[sites[i].symbol].name + "=" + std::to_string(values[i]);
  return s;
}

// Output descriptions over all variants: a dim that differs between them is
// "?", and an output whose rank differs has rank_known false.
std::vector<TensorInfo> merged_outputs(const std::vector<EngineVariant>& variants) {
  std::vector<TensorInfo> out;
  bool first = true;
  for (const EngineVariant& v : variants) {
    if (!v.engine) continue;
    const ir::Graph& g = v.engine->graph;
    for (size_t o = 0; o < g.outputs.size(); ++o) {
      const ir::Value& val = g.values[static_cast<size_t>(g.outputs[o])];
      if (val.boxed())  // the variants file stores tensor inputs and outputs
        throw Error(ErrorCode::kUnsupported, "output '" + val.name + "' is a " + value_kind_name(val.kind) +
                                                 ", and this model needs one engine per value of some input dims, "
                                                 "which give tensors only");
      TensorInfo t{val.name, val.dtype, {}};
      for (const Expr& e : val.shape) t.dims.push_back(e.str(&g.symbols));
      if (first) {
        out.push_back(std::move(t));
        continue;
      }
      if (o >= out.size()) continue;
      TensorInfo& m = out[o];
      if (!m.rank_known) continue;
      if (m.dims.size() != t.dims.size()) {
        m.rank_known = false;
        m.dims.clear();
        continue;
      }
      for (size_t j = 0; j < t.dims.size(); ++j)
        if (m.dims[j] != t.dims[j]) m.dims[j] = "?";
    }
    first = false;
  }
  return out;
}

// The outer engine: the graph's interface (inputs, symbols, opset), the
// profiles as the caller gave them, and the variants.
std::shared_ptr<EngineImpl> engine_of(const ir::Graph& g, std::vector<ProfileBox> boxes, std::vector<EngineVariant> vs) {
  auto e = std::make_shared<EngineImpl>();
  e->graph.opset = g.opset;
  e->graph.symbols = g.symbols;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    if (v.boxed())  // the variants file stores tensor inputs and outputs
      throw Error(ErrorCode::kUnsupported, "input '" + v.name + "' is a " + value_kind_name(v.kind) +
                                               ", and this model needs one engine per value of some input dims, "
                                               "which take tensors only");
    int nid = e->graph.add_value(v.name);
    ir::Value& nv = e->graph.values[static_cast<size_t>(nid)];
    nv.dtype = v.dtype;
    nv.shape = v.shape;
    e->graph.inputs.push_back(nid);
  }
  for (const EngineVariant& v : vs)
    if (v.engine) {
      e->graph.providers = v.engine->graph.providers;
      break;
    }
  e->profiles = std::move(boxes);
  e->variant_outputs = merged_outputs(vs);
  e->variants = std::move(vs);
  return e;
}

}  // namespace

std::shared_ptr<EngineImpl> build_with_variants(ir::Graph graph, std::vector<ProfileBox> boxes, const BuildConfig& cfg,
                                                const BuildOne& one) {
  std::vector<PinSite> sites;
  // Too many values for variants: an If or Scan runs at run time instead.
  auto at_run_time = [&](ir::Graph g, std::vector<ProfileBox> b) {
    g.run_time_control_flow = true;
    return one(std::move(g), std::move(b), cfg);
  };
  try {
    return one(graph, boxes, cfg);
  } catch (const NeedsSpecialization& e) {
    if (!add_sites(graph, e, sites)) {
      if (e.run_time_fallback()) return at_run_time(graph, boxes);
      throw Error(e.code(), e.what() + too_many(graph, e));
    }
  }
  for (;;) {
    // Every combination of the pinned symbols' values, the first varying slowest.
    std::vector<std::vector<int64_t>> combos{{}};
    for (const PinSite& p : sites) {
      std::vector<std::vector<int64_t>> next;
      for (const std::vector<int64_t>& c : combos)
        for (int64_t v = graph.symbols[p.symbol].min; v <= graph.symbols[p.symbol].max; ++v) {
          next.push_back(c);
          next.back().push_back(v);
        }
      combos = std::move(next);
    }
    if (cfg.progress)
      cfg.progress("building " + std::to_string(combos.size()) + " variants, " + pins_str(graph, sites, combos.front()) +
                   " to " + pins_str(graph, sites, combos.back()));
    std::vector<EngineVariant> variants;
    bool more_sites = false;
    for (const std::vector<int64_t>& c : combos) {
      ir::Graph g = graph;
      std::vector<ProfileBox> b = boxes;
      if (!pin(g, b, sites, c)) continue;
      EngineVariant v;
      for (size_t i = 0; i < sites.size(); ++i) v.pins.push_back({sites[i].input, sites[i].dim, c[i]});
      try {
        try {
          v.engine = one(g, b, cfg);
        } catch (const NeedsSpecialization& e) {
          if (add_sites(graph, e, sites)) {
            more_sites = true;
            break;
          }
          if (!e.run_time_fallback()) throw;
          v.engine = at_run_time(std::move(g), std::move(b));
        }
      } catch (const NeedsSpecialization& e) {
        v.error_code = e.code();
        v.error = e.what();
      } catch (const Error& e) {
        // A model that is invalid, or unsupported, at these values only. A guard that fails at the
        // profile's opt shape (other dims at their opt, these dims at this value) means these values
        // do not go with that opt; at the opt shape itself it is the caller's error, as in any build.
        bool at_opt = true;
        for (size_t i = 0; i < sites.size(); ++i) at_opt = at_opt && c[i] == graph.symbols[sites[i].symbol].opt;
        const bool config = e.code() == ErrorCode::kInvalidConfig && !at_opt;
        if (e.code() != ErrorCode::kInvalidModel && e.code() != ErrorCode::kUnsupported && !config) throw;
        v.error_code = e.code();
        v.error = e.what();
      }
      variants.push_back(std::move(v));
    }
    if (more_sites) continue;
    auto ok = std::find_if(variants.begin(), variants.end(), [](const EngineVariant& v) { return v.engine != nullptr; });
    if (ok == variants.end()) {
      if (variants.empty()) throw Error(ErrorCode::kInternal, "no profile holds any value of the pinned dims");
      std::vector<int64_t> first;
      for (const EngineVariant::Pin& p : variants.front().pins) first.push_back(p.value);
      throw Error(variants.front().error_code, variants.front().error + " (at " + pins_str(graph, sites, first) + ")");
    }
    return engine_of(graph, std::move(boxes), std::move(variants));
  }
}

}  // namespace dynrt
