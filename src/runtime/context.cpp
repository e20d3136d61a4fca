// ExecutionContext: bind the caller's tensors, find or make the plan for
// their shapes, and execute the nodes (kernels on their providers, copies at
// provider boundaries).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "runtime/context_impl.h"

namespace dynrt {

namespace {

// Physical cores this process may use (hyper-threads of one core count once).
int physical_cores() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return std::max(1u, std::thread::hardware_concurrency());
  std::set<std::pair<int, int>> cores;
  int cpus = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &allowed)) continue;
    ++cpus;
    std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/";
    std::ifstream pkg(base + "physical_package_id"), core(base + "core_id");
    int p = -1, k = -1;
    if (!(pkg >> p) || !(core >> k)) return cpus > 0 ? CPU_COUNT(&allowed) : 1;  // no topology: count CPUs
    cores.emplace(p, k);
  }
  return std::max<int>(1, static_cast<int>(cores.size()));
}

int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  static const int cores = physical_cores();
  return cores;
}

// The context's thread count for the OpenMP regions of this thread (oneDNN
// and our kernels), restored afterwards.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : previous_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ScopedThreads() { omp_set_num_threads(previous_); }

 private:
  int previous_;
};

std::vector<int64_t> dims_of(const TensorView& v) { return {v.dims.begin(), v.dims.begin() + v.rank}; }

// The caller's tensor for an output (checked against what the run makes), or
// a fresh one added to `outputs`.
Tensor& output_tensor(std::map<std::string, Tensor>& outputs, const std::string& name, const TensorView& view,
                      const char* gives) {
  std::vector<int64_t> dims = dims_of(view);
  auto it = outputs.find(name);
  if (it == outputs.end()) return outputs.emplace(name, Tensor(view.dtype, dims)).first->second;
  if (it->second.dtype() != view.dtype || it->second.shape() != dims)
    throw Error(ErrorCode::kInvalidInput, "output '" + name + "' buffer is " + dtype_name(it->second.dtype()) + " " +
                                              dims_str(it->second.shape()) + ", but " + gives + " " +
                                              dtype_name(view.dtype) + " " + dims_str(dims));
  return it->second;
}

}  // namespace

OpProfile::OpProfile() : enabled(std::getenv("DYNRT_PROFILE") != nullptr) {}

OpProfile::~OpProfile() {
  if (!enabled || ms_calls.empty()) return;
  double total = 0;
  for (const auto& [op, v] : ms_calls) total += v.first;
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [op, v] : ms_calls) rows.emplace_back(v.first, op);
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(stderr, "dynrt profile: %.1f ms in kernels\n", total);
  for (const auto& [ms, op] : rows)
    std::fprintf(stderr, "  %-32s %10.2f ms %5.1f%% %8lld calls\n", op.c_str(), ms, 100 * ms / total,
                 static_cast<long long>(ms_calls[op].second));
}

ContextImpl::ContextImpl(std::shared_ptr<const EngineImpl> engine, const ContextOptions& options)
    : e(std::move(engine)),
      threads(options.threads > 0 ? options.threads : default_threads()),
      cache(static_cast<size_t>(std::max<int64_t>(options.max_cached_plans, 1))) {
  if (options.threads < 0)
    throw Error(ErrorCode::kInvalidConfig, "ContextOptions::threads is " + std::to_string(options.threads) +
                                               "; use 0 for the default or a positive count");
  if (options.max_cached_plans < 1)
    throw Error(ErrorCode::kInvalidConfig, "ContextOptions::max_cached_plans is " +
                                               std::to_string(options.max_cached_plans) + "; it must be at least 1");
  arenas.resize(e->graph.providers.size());
}

Plan& ContextImpl::plan_for(const std::vector<std::vector<int64_t>>& shapes) {
  PlanCache::Key key;
  for (const auto& s : shapes) {
    key.insert(key.end(), s.begin(), s.end());
    key.push_back(-1);
  }
  if (Plan* p = cache.find(key)) return *p;
  Plan* p = cache.insert(key, make_plan(*e, shapes));
  ++plans_created;
  return *p;
}

std::map<std::string, std::vector<int64_t>> ContextImpl::output_shapes(
    const std::map<std::string, std::vector<int64_t>>& input_shapes) {
  const ir::Graph& g = e->graph;
  std::vector<std::vector<int64_t>> shapes;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    auto it = input_shapes.find(v.name);
    if (it == input_shapes.end()) throw Error(ErrorCode::kInvalidInput, "missing input '" + v.name + "'");
    if (it->second.size() != v.shape.size())
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' has rank " + std::to_string(it->second.size()) +
                                                ", expected rank " + std::to_string(v.shape.size()) + " " +
                                                shape_str(v.shape, &g.symbols));
    shapes.push_back(it->second);
  }
  for (const auto& [name, s] : input_shapes)
    if (g.find_value(name) < 0 || e->homes[static_cast<size_t>(g.find_value(name))] != ValueHome::kInput)
      throw Error(ErrorCode::kInvalidInput, "'" + name + "' is not an input of this engine");
  ScopedThreads scoped(threads);
  const Plan& plan = plan_for(shapes);
  std::map<std::string, std::vector<int64_t>> out;
  for (int o : g.outputs) {
    const ir::Value& v = g.values[static_cast<size_t>(o)];
    std::vector<int64_t> dims;
    for (const Expr& d : v.shape) {
      bool known = true;
      for (int s : d.symbols()) known = known && plan.binding[static_cast<size_t>(s)] >= 0;
      dims.push_back(known ? d.eval(plan.binding) : -1);
    }
    if (e->homes[static_cast<size_t>(o)] == ValueHome::kInput) dims = dims_of(plan.views[static_cast<size_t>(o)]);
    out[v.name] = dims;
  }
  return out;
}

void ContextImpl::run(const std::map<std::string, Tensor>& inputs, std::map<std::string, Tensor>& outputs) {
  const ir::Graph& g = e->graph;
  // 1. bind: the caller's tensors, checked.
  std::vector<const Tensor*> ins;
  std::vector<std::vector<int64_t>> shapes;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    auto it = inputs.find(v.name);
    if (it == inputs.end()) throw Error(ErrorCode::kInvalidInput, "missing input '" + v.name + "'");
    const Tensor& t = it->second;
    if (t.dtype() != v.dtype)
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' has element type " + dtype_name(t.dtype()) +
                                                ", expected " + dtype_name(v.dtype));
    if (t.shape().size() != v.shape.size())
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' has rank " + std::to_string(t.shape().size()) +
                                                " (shape " + dims_str(t.shape()) + "), expected rank " +
                                                std::to_string(v.shape.size()) + " " + shape_str(v.shape, &g.symbols));
    ins.push_back(&t);
    shapes.push_back(t.shape());
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (int id : g.inputs) known |= g.values[static_cast<size_t>(id)].name == name;
    if (!known) throw Error(ErrorCode::kInvalidInput, "'" + name + "' is not an input of this engine");
  }
  for (const auto& [name, t] : outputs) {
    bool known = false;
    for (int id : g.outputs) known |= g.values[static_cast<size_t>(id)].name == name;
    if (!known) throw Error(ErrorCode::kInvalidInput, "'" + name + "' is not an output of this engine");
  }
  ScopedThreads scoped(threads);

  // 2. plan: cached per distinct input shape.
  Plan& plan = plan_for(shapes);
  stats = RunStats{};
  for (size_t m = 0; m < arenas.size(); ++m) {
    stats.arena_bytes += plan.arena_bytes[m];
    if (plan.arena_bytes[m] > static_cast<int64_t>(arenas[m].size()))
      arenas[m] = DeviceBuffer(e->providers[m], static_cast<size_t>(plan.arena_bytes[m]));
  }

  // 3. execute: arenas, inputs and the caller's output buffers into the views.
  std::vector<TensorView> views = plan.views;
  for (size_t v = 0; v < views.size(); ++v)
    if (plan.offsets[v] >= 0)
      views[v].data = static_cast<std::byte*>(arenas[static_cast<size_t>(g.values[v].provider)].data()) + plan.offsets[v];
  for (size_t k = 0; k < g.inputs.size(); ++k) views[static_cast<size_t>(g.inputs[k])].data = const_cast<void*>(ins[k]->data());
  for (int o : g.outputs) {
    auto v = static_cast<size_t>(o);
    if (e->homes[v] == ValueHome::kOutput)
      views[v].data = output_tensor(outputs, g.values[v].name, views[v], "these inputs give").data();
  }
  for (size_t v = 0; v < views.size(); ++v)
    if (e->homes[v] == ValueHome::kAlias) views[v].data = views[static_cast<size_t>(e->alias_root[v])].data;
  dynamic_buffers.clear();
  execute(plan, views);

  // Outputs not written in place (inputs passed through, constants, sizes
  // known only from data) are copied into the caller's or fresh tensors.
  for (int o : g.outputs) {
    auto v = static_cast<size_t>(o);
    if (e->homes[v] == ValueHome::kOutput) continue;
    Tensor& t = output_tensor(outputs, g.values[v].name, views[v], "this run gives");
    if (views[v].nbytes()) std::memcpy(t.data(), views[v].data, views[v].nbytes());
  }
}

void ContextImpl::run_copy(size_t k, std::vector<TensorView>& views, std::vector<int64_t>& binding) {
  const ir::Node& n = e->graph.nodes[k];
  auto src = static_cast<size_t>(n.inputs[0]), dst = static_cast<size_t>(n.outputs[0]);
  int from = e->graph.values[src].provider, to = e->graph.values[dst].provider;
  TensorView& out = views[dst];
  if (e->homes[dst] == ValueHome::kDynamic) {  // sized by data: known now
    out = views[src];
    const ir::Value& val = e->graph.values[dst];
    for (size_t j = 0; j < val.shape.size(); ++j)
      if (val.shape[j].is_symbol() && binding[static_cast<size_t>(val.shape[j].symbol_id())] < 0)
        binding[static_cast<size_t>(val.shape[j].symbol_id())] = out.dims[j];
    dynamic_buffers.emplace_back(e->providers[static_cast<size_t>(to)], out.nbytes());
    out.data = dynamic_buffers.back().data();
  }
  size_t bytes = views[src].nbytes();
  if (bytes == 0) return;
  if (to == 0) e->providers[static_cast<size_t>(from)]->copy_to_host(out.data, views[src].data, bytes);
  else e->providers[static_cast<size_t>(to)]->copy_from_host(out.data, views[src].data, bytes);
  ++stats.copies;
  stats.copy_bytes += static_cast<int64_t>(bytes);
}

}  // namespace dynrt
