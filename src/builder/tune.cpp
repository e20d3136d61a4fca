#include "builder/tune.h"

#include <chrono>
#include <cmath>
#include <set>

#include "runtime/tuning.h"

namespace dynrt {
namespace {

// A symbol's value a fraction t of the way from a to b, geometrically (the
// costs of a range scale with its sizes), linearly from 0.
int64_t between(int64_t a, int64_t b, double t) {
  if (a <= 0 || b <= 0) return a + static_cast<int64_t>(std::llround(t * static_cast<double>(b - a)));
  return static_cast<int64_t>(std::llround(std::exp((1 - t) * std::log(static_cast<double>(a)) +
                                                    t * std::log(static_cast<double>(b)))));
}

// kRange's grid: per dynamic symbol its min, opt, max and every power of two
// between (the batch sizes and sequence lengths users run, so an engine
// tuned over a range has each GEMM tuned at exactly those sizes), all
// combinations; opt first. Past kMaxGrid combinations, min, max and two
// shapes between each and opt instead.
constexpr size_t kMaxGrid = 64;

std::vector<std::vector<int64_t>> grid_bindings(const ProfileBox& box) {
  std::vector<std::vector<int64_t>> per_symbol(box.opt.size());
  size_t combos = 1;
  for (size_t s = 0; s < box.opt.size(); ++s) {
    std::set<int64_t> v = {box.min[s], box.opt[s], box.max[s]};
    for (int64_t p = 1; p < box.max[s] && p <= (int64_t{1} << 40); p *= 2)
      if (p > box.min[s]) v.insert(p);
    per_symbol[s].assign(v.begin(), v.end());
    combos *= per_symbol[s].size();
    if (combos > kMaxGrid) return {};
  }
  std::vector<std::vector<int64_t>> out = {box.opt};
  std::vector<size_t> at(per_symbol.size(), 0);  // an odometer over the symbols' values
  for (size_t n = 0; n < combos; ++n) {
    std::vector<int64_t> b(per_symbol.size());
    for (size_t s = 0; s < b.size(); ++s) b[s] = per_symbol[s][at[s]];
    out.push_back(std::move(b));
    for (size_t s = 0; s < at.size() && ++at[s] == per_symbol[s].size(); ++s) at[s] = 0;
  }
  return out;
}

// The tuning shapes, as input shapes (one per graph input) without repeats:
// per profile its opt, and for kRange the grid above.
std::vector<std::vector<std::vector<int64_t>>> tuning_shapes(const EngineImpl& e, Tuning mode) {
  const ir::Graph& g = e.graph;
  std::set<std::vector<std::vector<int64_t>>> seen;
  std::vector<std::vector<std::vector<int64_t>>> out;
  for (const ProfileBox& box : e.profiles) {
    auto at = [](const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, double t) {
      std::vector<int64_t> b(lo.size());
      for (size_t s = 0; s < lo.size(); ++s) b[s] = between(lo[s], hi[s], t);
      return b;
    };
    // opt first (the shape the engine is built for is tuned even if a later run fails).
    std::vector<std::vector<int64_t>> bindings = {box.opt};
    if (mode == Tuning::kRange) {
      bindings = grid_bindings(box);
      if (bindings.empty())
        bindings = {box.opt, box.min, at(box.min, box.opt, 1.0 / 3), at(box.min, box.opt, 2.0 / 3),
                    at(box.opt, box.max, 1.0 / 3), at(box.opt, box.max, 2.0 / 3), box.max};
    }
    for (const auto& b : bindings) {
      std::vector<std::vector<int64_t>> shapes;
      for (int v : g.inputs) {
        std::vector<int64_t> dims;
        for (const Expr& d : g.values[static_cast<size_t>(v)].shape) dims.push_back(d.eval(b));
        shapes.push_back(std::move(dims));
      }
      if (seen.insert(shapes).second) out.push_back(std::move(shapes));
    }
  }
  if (e.profiles.empty()) {  // a static model: its one shape
    std::vector<std::vector<int64_t>> shapes;
    for (int v : g.inputs) {
      std::vector<int64_t> dims;
      for (const Expr& d : g.values[static_cast<size_t>(v)].shape) dims.push_back(d.is_const() ? d.const_value() : 1);
      shapes.push_back(std::move(dims));
    }
    out.push_back(std::move(shapes));
  }
  return out;
}

std::string shape_text(const std::vector<std::vector<int64_t>>& shapes) {
  std::string s;
  for (const auto& dims : shapes) {
    if (!s.empty()) s += ",";
    for (size_t j = 0; j < dims.size(); ++j) {
      if (j) s += 'x';
      s += std::to_string(dims[j]);
    }
  }
  return s;
}

}  // namespace

void tune_engine(EngineImpl& impl, const std::shared_ptr<const EngineImpl>& self, const BuildConfig& cfg) {
  bool any = false;
  for (const ExecutionProvider* p : impl.providers) any |= p->tunes();
  if (cfg.tune == Tuning::kOff || !any) return;
  auto progress = [&](const std::string& msg) {
    if (cfg.progress) cfg.progress(msg);
  };
  TimingCache cache;
  if (!cfg.timing_cache.empty()) cache.load(cfg.timing_cache);
  const auto shapes = tuning_shapes(impl, cfg.tune);
  progress("tuning at " + std::to_string(shapes.size()) + " shapes");
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> errors = run_for_tuning(self, shapes, cache);
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty()) progress("tuning at " + shape_text(shapes[i]) + " stopped: " + errors[i]);
  int tuned = 0;
  for (size_t k = 0; k < impl.graph.nodes.size(); ++k) {
    if (!impl.kernels[k]) continue;
    std::vector<int64_t> choices = impl.kernels[k]->tuning();
    if (choices.empty()) continue;
    ir::Attribute a;
    a.type = ir::Attribute::Type::kInts;
    a.ints = std::move(choices);
    impl.graph.nodes[k].attrs["dynrt.tuned"] = std::move(a);
    ++tuned;
  }
  if (!cfg.timing_cache.empty()) cache.save(cfg.timing_cache);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress("tuned " + std::to_string(tuned) + " nodes at " + std::to_string(shapes.size()) + " shapes in " +
           std::to_string(s) + " s: " + std::to_string(cache.measured()) + " problems timed, " +
           std::to_string(cache.hits()) + " from the timing cache");
}

}  // namespace dynrt
