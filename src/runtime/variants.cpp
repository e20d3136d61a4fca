// Runs of an engine with variants (EngineVariant, builder/variants.cpp): each
// run goes to the context of the variant whose pinned dims equal the caller's.
#include <algorithm>
#include <optional>
#include <set>

#include "runtime/context_impl.h"

namespace dynrt {
namespace {

// "1 to 6", or "1, 3, 4" when the values have gaps.
std::string values_str(const std::set<int64_t>& values) {
  if (values.empty()) return "none";
  if (*values.rbegin() - *values.begin() + 1 == static_cast<int64_t>(values.size()) && values.size() > 2)
    return std::to_string(*values.begin()) + " to " + std::to_string(*values.rbegin());
  std::string s;
  for (int64_t v : values) s += (s.empty() ? "" : ", ") + std::to_string(v);
  return s;
}

}  // namespace

ContextImpl& ContextImpl::serving(const std::map<std::string, Tensor>& inputs) {
  if (e->variants.empty()) return *this;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, t] : inputs) shapes[name] = t.shape();
  return serving(shapes);
}

ContextImpl& ContextImpl::serving(const std::map<std::string, std::vector<int64_t>>& shapes) {
  if (e->variants.empty()) return *this;
  const ir::Graph& g = e->graph;
  const std::vector<EngineVariant>& vs = e->variants;
  auto context_for = [&](size_t i) -> ContextImpl& {
    if (!variant_contexts[i]) variant_contexts[i] = std::make_unique<ContextImpl>(vs[i].engine, options);
    last = variant_contexts[i].get();
    return *last;
  };
  auto input_name = [&](uint32_t k) -> const std::string& { return g.values[static_cast<size_t>(g.inputs[k])].name; };
  auto dim_at = [&](const EngineVariant::Pin& p) -> std::optional<int64_t> {
    auto it = shapes.find(input_name(p.input));
    if (it == shapes.end() || p.dim >= it->second.size()) return std::nullopt;
    return it->second[p.dim];
  };
  const auto first_ok = static_cast<size_t>(
      std::find_if(vs.begin(), vs.end(), [](const EngineVariant& v) { return v.engine != nullptr; }) - vs.begin());
  for (size_t i = 0; i < vs.size(); ++i) {
    bool match = true;
    for (const EngineVariant::Pin& p : vs[i].pins) {
      std::optional<int64_t> d = dim_at(p);
      // A missing input or a wrong rank: any variant's own checks name it.
      if (!d && first_ok < vs.size()) return context_for(first_ok);
      match = match && d == p.value;
    }
    if (!match) continue;
    if (!vs[i].engine) {
      std::string at;
      for (const EngineVariant::Pin& p : vs[i].pins)
        at += (at.empty() ? "" : ", ") + ("input '" + input_name(p.input) + "' dimension " + std::to_string(p.dim) +
                                          " = " + std::to_string(p.value));
      throw Error(ErrorCode::kInvalidInput, "the model cannot run with " + at + ": " + vs[i].error);
    }
    return context_for(i);
  }
  // No variant for these values: name each pinned dim and the values built.
  std::string why;
  for (size_t j = 0; j < vs.front().pins.size(); ++j) {
    const EngineVariant::Pin& p = vs.front().pins[j];
    std::set<int64_t> built;
    for (const EngineVariant& v : vs) built.insert(v.pins[j].value);
    const ir::Value& in = g.values[static_cast<size_t>(g.inputs[p.input])];
    std::string dim_name;
    if (p.dim < in.shape.size() && in.shape[p.dim].is_symbol()) dim_name = " ('" + in.shape[p.dim].str(&g.symbols) + "')";
    why += (why.empty() ? "" : "; ") + ("input '" + in.name + "' dimension " + std::to_string(p.dim) + dim_name +
                                        " is " + std::to_string(dim_at(p).value_or(-1)) + ", built for " +
                                        values_str(built));
  }
  throw Error(ErrorCode::kShapeOutOfRange,
              "input shapes are outside every variant of this engine (one per value of the dims below): " + why);
}

int64_t ContextImpl::total_plans_created() const {
  int64_t n = plans_created;
  for (const auto& c : variant_contexts)
    if (c) n += c->plans_created;
  return n;
}

int64_t ContextImpl::total_plans_cached() const {
  auto n = static_cast<int64_t>(cache.size());
  for (const auto& c : variant_contexts)
    if (c) n += static_cast<int64_t>(c->cache.size());
  return n;
}

}  // namespace dynrt
