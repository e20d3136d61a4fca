// Turn the user's optimization profiles (per input or per named dimension)
// and relations into symbol ranges, rejecting inconsistent ones with a
// message that names the input, dimension and profile at fault.
#include "builder/profiles.h"

#include <map>
#include <optional>

#include "dynrt/error.h"

namespace dynrt {
namespace {

[[noreturn]] void bad(const std::string& msg) { throw Error(ErrorCode::kInvalidConfig, msg); }

std::string range_str(const DimRange& r) {
  return std::to_string(r.min) + ":" + std::to_string(r.opt) + ":" + std::to_string(r.max);
}

std::string dynamic_dims_list(const ir::Graph& g) {
  std::string s;
  for (int id = 0; id < g.symbols.size(); ++id) s += (s.empty() ? "" : ", ") + g.symbols[id].name;
  return s.empty() ? "(none)" : s;
}

void check_range(const DimRange& r, const std::string& where) {
  if (r.min < 0) bad(where + ": min " + std::to_string(r.min) + " is negative");
  constexpr int64_t kMaxDim = int64_t{1} << 40;  // sizes stay far from int64 overflow
  if (r.max > kMaxDim)
    bad(where + ": max " + std::to_string(r.max) + " is beyond the largest dimension dynrt plans for (2^40 = " +
        std::to_string(kMaxDim) + ")");
  if (r.min > r.max) bad(where + ": min " + std::to_string(r.min) + " is greater than max " + std::to_string(r.max));
  if (r.opt < r.min || r.opt > r.max)
    bad(where + ": opt " + std::to_string(r.opt) + " is outside [" + std::to_string(r.min) + ", " + std::to_string(r.max) + "]");
}

// Symbols that appear as a whole dimension of some input: these get bound from input shapes.
std::vector<std::string> input_symbol_sources(const ir::Graph& g) {
  std::vector<std::string> src(static_cast<size_t>(g.symbols.size()));
  for (int in : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(in)];
    for (size_t j = 0; j < v.shape.size(); ++j)
      if (v.shape[j].is_symbol() && src[static_cast<size_t>(v.shape[j].symbol_id())].empty())
        src[static_cast<size_t>(v.shape[j].symbol_id())] = "input '" + v.name + "' dimension " + std::to_string(j);
  }
  return src;
}

// Substitutes each relation's left side in the inputs' shapes; returns the
// relation that now defines each such dimension.
std::map<int, std::string> apply_relations(ir::Graph& g, const std::vector<std::string>& relations) {
  std::map<int, std::string> defined_by;
  for (const std::string& rel : relations) {
    size_t eq = rel.find('=');
    if (eq == std::string::npos) bad("relation '" + rel + "' must look like 'a == b' or 'b = 2*a'");
    std::string lhs = rel.substr(0, eq), rhs = rel.substr(rel[eq + 1] == '=' ? eq + 2 : eq + 1);
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      return s;
    };
    lhs = trim(lhs);
    int target = g.symbols.find(lhs);
    if (target < 0) bad("relation '" + rel + "': the model has no dimension '" + lhs + "'; its dimensions are " + dynamic_dims_list(g));
    Expr value = parse_expr(rhs, [&](const std::string& name) {
      int id = g.symbols.find(name);
      if (id < 0) bad("relation '" + rel + "': the model has no dimension '" + name + "'; its dimensions are " + dynamic_dims_list(g));
      return id;
    });
    if (value.symbols().size() == 1 && value.symbols()[0] == target) bad("relation '" + rel + "' defines '" + lhs + "' by itself");
    if (defined_by.count(target)) bad("relations '" + defined_by[target] + "' and '" + rel + "' both define '" + lhs + "'");
    defined_by[target] = rel;
    for (int in : g.inputs)
      for (Expr& d : g.values[static_cast<size_t>(in)].shape)
        d = d.substitute([&](int id, Expr& out) {
          if (id != target) return false;
          out = value;
          return true;
        });
  }
  return defined_by;
}

}  // namespace

std::vector<ProfileBox> apply_profiles(ir::Graph& g, const BuildConfig& cfg) {
  std::map<int, std::string> defined_by = apply_relations(g, cfg.relations);
  std::vector<std::string> sources = input_symbol_sources(g);
  bool any_dynamic = false;
  for (const std::string& s : sources) any_dynamic |= !s.empty();

  std::vector<Profile> profiles = cfg.profiles;
  if (profiles.empty()) {
    if (any_dynamic) {
      std::string dims;
      for (size_t s = 0; s < sources.size(); ++s)
        if (!sources[s].empty()) dims += (dims.empty() ? "" : ", ") + g.symbols[static_cast<int>(s)].name + " (" + sources[s] + ")";
      bad("the model has dynamic dimensions " + dims +
          " but no optimization profile gives their ranges; pass --dim NAME=MIN:OPT:MAX or --min-shapes/--opt-shapes/--max-shapes");
    }
    profiles.emplace_back();
  }

  std::vector<ProfileBox> boxes;
  for (size_t p = 0; p < profiles.size(); ++p) {
    std::string pname = "profile " + std::to_string(p);
    std::vector<std::optional<DimRange>> ranges(static_cast<size_t>(g.symbols.size()));
    std::vector<std::string> given_by(static_cast<size_t>(g.symbols.size()));
    for (const auto& [name, r] : profiles[p].dims) {
      int id = g.symbols.find(name);
      if (id < 0) bad(pname + " names dimension '" + name + "', but the model's dynamic dimensions are " + dynamic_dims_list(g));
      if (defined_by.count(id))
        bad(pname + " gives a range for dimension '" + name + "', but the relation '" + defined_by[id] +
            "' defines it from the other dimensions, whose ranges decide its own: drop --dim " + name);
      check_range(r, pname + ": dimension '" + name + "'");
      ranges[static_cast<size_t>(id)] = r;
      given_by[static_cast<size_t>(id)] = "--dim " + name;
    }
    for (const auto& [name, shapes] : profiles[p].inputs) {
      int vid = g.find_value(name);
      bool is_input = false;
      for (int in : g.inputs) is_input |= in == vid;
      if (!is_input) {
        std::string names;
        for (int in : g.inputs) names += (names.empty() ? "'" : ", '") + g.values[static_cast<size_t>(in)].name + "'";
        bad(pname + " gives shapes for '" + name + "', which is not a model input; inputs are " + names);
      }
      const ir::Value& v = g.values[static_cast<size_t>(vid)];
      for (const auto* dims : {&shapes.min, &shapes.opt, &shapes.max})
        if (dims->size() != v.shape.size())
          bad(pname + ": input '" + name + "' has rank " + std::to_string(v.shape.size()) + " but a shape of rank " +
              std::to_string(dims->size()) + " (" + dims_str(*dims) + ") was given");
      for (size_t j = 0; j < v.shape.size(); ++j) {
        DimRange r{shapes.min[j], shapes.opt[j], shapes.max[j]};
        std::string where = pname + ": input '" + name + "' dimension " + std::to_string(j);
        const Expr& e = v.shape[j];
        if (e.is_const()) {
          if (r.min != e.const_value() || r.opt != e.const_value() || r.max != e.const_value())
            bad(where + " is fixed at " + std::to_string(e.const_value()) + " by the model, but " + range_str(r) + " was given");
          continue;
        }
        check_range(r, where + " ('" + e.str(&g.symbols) + "')");
        if (!e.is_symbol()) continue;  // a derived dimension: checked when running
        auto id = static_cast<size_t>(e.symbol_id());
        if (ranges[id] && (ranges[id]->min != r.min || ranges[id]->opt != r.opt || ranges[id]->max != r.max))
          bad(pname + ": " + given_by[id] + " and input '" + name + "' dimension " + std::to_string(j) +
              " share the dimension '" + g.symbols[e.symbol_id()].name + "' but give different ranges " +
              range_str(*ranges[id]) + " and " + range_str(r));
        ranges[id] = r;
        given_by[id] = "input '" + name + "' dimension " + std::to_string(j);
      }
    }
    ProfileBox box;
    box.min.assign(ranges.size(), 0);
    box.opt.assign(ranges.size(), 0);
    box.max.assign(ranges.size(), 0);
    for (size_t s = 0; s < ranges.size(); ++s) {
      if (sources[s].empty()) continue;
      if (!ranges[s])
        bad(pname + " gives no range for dimension '" + g.symbols[static_cast<int>(s)].name + "' (" + sources[s] +
            "); pass --dim " + g.symbols[static_cast<int>(s)].name + "=MIN:OPT:MAX or shapes for that input");
      box.min[s] = ranges[s]->min;
      box.opt[s] = ranges[s]->opt;
      box.max[s] = ranges[s]->max;
    }
    boxes.push_back(std::move(box));
  }

  // Symbol ranges for inference: the hull of all profiles; opt from the first.
  for (size_t s = 0; s < sources.size(); ++s) {
    ir::Symbol& sym = g.symbols[static_cast<int>(s)];
    if (sources[s].empty()) continue;
    sym.min = boxes[0].min[s];
    sym.max = boxes[0].max[s];
    sym.opt = boxes[0].opt[s];
    for (const ProfileBox& b : boxes) {
      sym.min = std::min(sym.min, b.min[s]);
      sym.max = std::max(sym.max, b.max[s]);
    }
  }
  return boxes;
}

}  // namespace dynrt
