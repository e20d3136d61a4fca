// ExecutionContext: bind the caller's tensors, find or make the plan for
// their shapes, and execute the nodes (kernels on their providers, copies at
// provider boundaries).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>
#include <ctime>

#include "ops/control_flow.h"
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

// DYNRT_ADAPT_THREADS=0 turns the governor off (for A/B measurements).
bool adapt_threads_env() {
  const char* v = std::getenv("DYNRT_ADAPT_THREADS");
  return !(v && std::strcmp(v, "0") == 0);
}

// Engines with a GPU part wait for the device on the calling thread: the
// governor's signal (the caller's CPU time) would read that as contention.
bool engine_on_cpu_only(const EngineImpl& e) { return e.graph.providers.size() == 1; }

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

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

OpProfile::OpProfile()
    : enabled(std::getenv("DYNRT_PROFILE") != nullptr),
      per_node(enabled && std::string(std::getenv("DYNRT_PROFILE")) == "nodes") {}

void OpProfile::add(const std::string& key, std::chrono::steady_clock::time_point t0) {
  auto& [ms, calls] = ms_calls[key];
  ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ++calls;
}

OpProfile::~OpProfile() {
  if (!enabled || ms_calls.empty()) return;
  double total = 0;
  for (const auto& [op, v] : ms_calls) total += v.first;
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [op, v] : ms_calls) rows.emplace_back(v.first, op);
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(stderr, "dynrt profile: %.1f ms in kernels\n", total);
  for (const auto& [ms, op] : rows)
    std::fprintf(stderr, "  %-40s %10.2f ms %5.1f%% %8lld calls\n", op.c_str(), ms, 100 * ms / total,
                 static_cast<long long>(ms_calls[op].second));
}

ContextImpl::ContextImpl(std::shared_ptr<const EngineImpl> engine, const ContextOptions& options)
    : e(std::move(engine)),
      threads(options.threads > 0 ? options.threads : default_threads()),
      governor(threads, options.adapt_threads && adapt_threads_env() && engine_on_cpu_only(*e)),
      cache(static_cast<size_t>(std::max<int64_t>(options.max_cached_plans, 1))),
      max_arena_bytes(options.max_arena_bytes),
      max_tensor_bytes(options.max_tensor_bytes) {
  if (options.threads < 0)
    throw Error(ErrorCode::kInvalidConfig, "ContextOptions::threads is " + std::to_string(options.threads) +
                                               "; use 0 for the default or a positive count");
  if (options.max_arena_bytes < 0)
    throw Error(ErrorCode::kInvalidConfig, "ContextOptions::max_arena_bytes is " + std::to_string(options.max_arena_bytes) +
                                               "; use 0 for no limit or a positive byte count");
  if (options.max_tensor_bytes < 0)
    throw Error(ErrorCode::kInvalidConfig, "ContextOptions::max_tensor_bytes is " +
                                               std::to_string(options.max_tensor_bytes) +
                                               "; use 0 for the built-in bound or a positive byte count");
  if (options.max_loop_iterations < 1 || options.max_loop_iterations > kMaxLoopIterations)
    throw Error(ErrorCode::kInvalidConfig, "ContextOptions::max_loop_iterations is " +
                                               std::to_string(options.max_loop_iterations) + "; it must be between 1 and " +
                                               std::to_string(kMaxLoopIterations));
  if (options.max_cached_plans < 1)
    throw Error(ErrorCode::kInvalidConfig, "ContextOptions::max_cached_plans is " +
                                               std::to_string(options.max_cached_plans) + "; it must be at least 1");
  this->options = options;
  if (!e->variants.empty()) {  // runs go to the variants' own contexts
    variant_contexts.resize(e->variants.size());
    return;
  }
  arenas.resize(e->graph.providers.size());
  sub_contexts.resize(e->graph.nodes.size());
  for (const ir::Value& v : e->graph.values) has_boxed = has_boxed || v.boxed();
  for (const ExecutionProvider* p : e->providers) streams.push_back(p->create_stream(options.stream));
  capture_graphs = options.capture_graphs;
  user_stream = options.stream != nullptr;
  find_segments();
  find_device_io();
}

// Which copies a caller's device tensor can replace: the upload of a graph
// input to its memory, the download of a graph output from it.
void ContextImpl::find_device_io() {
  const ir::Graph& g = e->graph;
  size_t nv = g.values.size();
  input_copies.assign(nv, {});
  read_on_host.assign(nv, false);
  output_copy.assign(nv, -1);
  copy_source.assign(g.nodes.size(), nullptr);
  copy_target.assign(g.nodes.size(), nullptr);
  auto root = [&](int v) { return e->homes[static_cast<size_t>(v)] == ValueHome::kAlias ? e->alias_root[static_cast<size_t>(v)] : v; };
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    for (int v : n.inputs) {
      if (v < 0) continue;
      if (e->kinds[k] == NodeKind::kCopy) input_copies[static_cast<size_t>(v)].push_back(k);
      else if (e->node_memory(k) == 0) read_on_host[static_cast<size_t>(root(v))] = true;
    }
    if (e->kinds[k] == NodeKind::kCopy) output_copy[static_cast<size_t>(n.outputs[0])] = static_cast<int>(k);
  }
  for (int o : g.outputs) read_on_host[static_cast<size_t>(root(o))] = true;
  // A graph output's download can become a copy into the caller's device
  // buffer only when nothing else reads the host value (a CPU node, a view of
  // it, the same value listed twice among the outputs).
  std::vector<int> uses(nv, 0);
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (int v : g.nodes[k].inputs)
      if (v >= 0) ++uses[static_cast<size_t>(root(v))];
  for (int o : g.outputs) ++uses[static_cast<size_t>(root(o))];
  for (int o : g.outputs)
    if (uses[static_cast<size_t>(o)] > 1) output_copy[static_cast<size_t>(o)] = -1;
}

int ContextImpl::memory_of(const std::string& device, const std::string& what) const {
  const ir::Graph& g = e->graph;
  for (size_t m = 1; m < g.providers.size(); ++m)
    if (g.providers[m] == device && !e->providers[m]->host_memory()) return static_cast<int>(m);
  std::string list;
  for (const std::string& p : g.providers) list += (list.empty() ? "" : ", ") + p;
  throw Error(ErrorCode::kInvalidInput, what + " is in " + device + " memory, but this engine runs on [" + list + "]");
}

// A graph input in device memory: the copies that would upload it read the
// caller's bytes in place; host readers get a staged copy.
void ContextImpl::bind_device_input(size_t v, const Tensor& t, std::vector<TensorView>& views) {
  const ir::Graph& g = e->graph;
  int m = memory_of(t.device(), "input '" + g.values[v].name + "'");
  bool staged = read_on_host[v];
  for (size_t k : input_copies[v]) {
    int to = g.values[static_cast<size_t>(g.nodes[k].outputs[0])].provider;
    if (to == m) {
      copy_source[k] = t.data();
      views[static_cast<size_t>(g.nodes[k].outputs[0])].data = const_cast<void*>(t.data());
    } else {
      staged = true;  // to another device: through the host
    }
  }
  if (!staged) {
    views[v].data = nullptr;
    return;
  }
  host_staging.emplace_back(t.nbytes());
  views[v].data = host_staging.back().data();
  if (ProviderStream* s = streams[static_cast<size_t>(m)].get()) {
    s->copy_to_host(views[v].data, t.data(), t.nbytes());
    s->synchronize();
  } else {
    e->providers[static_cast<size_t>(m)]->copy_to_host(views[v].data, t.data(), t.nbytes());
  }
}

Plan& ContextImpl::plan_for(const std::vector<std::vector<int64_t>>& shapes) {
  PlanCache::Key key;
  for (const auto& s : shapes) {
    key.insert(key.end(), s.begin(), s.end());
    key.push_back(-1);
  }
  key.push_back(governor.threads());  // oneDNN primitives are made for a thread count
  if (Plan* p = cache.find(key)) return *p;
  Plan* p = cache.insert(key, make_plan(*e, shapes, max_tensor_bytes, streams, tuning));
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
  const Plan& plan = *in_arena([&] { return &plan_for(shapes); });
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
  // 1. bind: the caller's tensors by name.
  std::vector<const Tensor*> ins;
  if (has_boxed) {
    auto refuse = [&](int id, const char* what) {
      const ir::Value& v = g.values[static_cast<size_t>(id)];
      if (v.boxed())
        throw Error(ErrorCode::kInvalidInput, std::string(what) + " '" + v.name + "' is a " + v.kind_name() +
                                                  "; run this engine with ExecutionContext::run_values");
    };
    for (int id : g.inputs) refuse(id, "input");
    for (int id : g.outputs) refuse(id, "output");
  }
  ins = inputs_by_position(g, inputs);
  for (const auto& [name, t] : outputs) {
    bool known = false;
    for (int id : g.outputs) known |= g.values[static_cast<size_t>(id)].name == name;
    if (!known) throw Error(ErrorCode::kInvalidInput, "'" + name + "' is not an output of this engine");
  }
  run_bound(ins, outputs);
}

void ContextImpl::run_bound(const std::vector<const Tensor*>& ins, std::map<std::string, Tensor>& outputs) {
  const ir::Graph& g = e->graph;
  std::vector<std::vector<int64_t>> shapes;
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    const Tensor& t = *ins[k];
    if (v.boxed()) {  // a sequence or optional has no dims; strings have a tensor's (bind_boxed_inputs checks the rest)
      const bool given = k < boxed_inputs.size() && boxed_inputs[k] && boxed_inputs[k]->holds() == Value::Holds::kStrings;
      if (v.kind == ValueKind::kTensor && (!given || boxed_inputs[k]->shape().size() != v.shape.size()))
        throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' is a tensor of strings of rank " +
                                                  std::to_string(v.shape.size()) + " " + shape_str(v.shape, &g.symbols) +
                                                  (given ? ", given rank " + std::to_string(boxed_inputs[k]->shape().size())
                                                         : "; pass it with ExecutionContext::run_values"));
      shapes.emplace_back(v.kind == ValueKind::kTensor ? boxed_inputs[k]->shape() : std::vector<int64_t>{});
      continue;
    }
    if (t.dtype() != v.dtype)
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' has element type " + dtype_name(t.dtype()) +
                                                ", expected " + dtype_name(v.dtype));
    if (t.shape().size() != v.shape.size())
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' has rank " + std::to_string(t.shape().size()) +
                                                " (shape " + dims_str(t.shape()) + "), expected rank " +
                                                std::to_string(v.shape.size()) + " " + shape_str(v.shape, &g.symbols));
    shapes.push_back(t.shape());
  }
  // 2. plan: cached per distinct input shape.
  Plan& plan = *in_arena([&] { return &plan_for(shapes); });
  stats = RunStats{};
  for (size_t m = 0; m < arenas.size(); ++m) {
    stats.arena_bytes += plan.arena_bytes[m];
    if (max_arena_bytes > 0 && plan.arena_bytes[m] > max_arena_bytes)
      throw Error(ErrorCode::kOutOfMemory, "these input shapes need " + std::to_string(plan.arena_bytes[m]) +
                                               " bytes of " + e->graph.providers[m] +
                                               " memory for intermediate tensors, over ContextOptions::max_arena_bytes = " +
                                               std::to_string(max_arena_bytes));
    if (plan.arena_bytes[m] > static_cast<int64_t>(arenas[m].size())) {
      if (streams[m]) streams[m]->synchronize();  // the old arena may still be read
      arenas[m].grow(e->providers[m], static_cast<size_t>(plan.arena_bytes[m]));
      ++arena_generation;
    }
  }

  // 3. execute: arenas, inputs and the caller's output buffers into the views.
  std::vector<TensorView> views = plan.views;
  for (size_t v = 0; v < views.size(); ++v)
    if (plan.offsets[v] >= 0)
      views[v].data = static_cast<std::byte*>(arenas[static_cast<size_t>(g.values[v].provider)].data()) + plan.offsets[v];
  std::fill(copy_source.begin(), copy_source.end(), nullptr);
  std::fill(copy_target.begin(), copy_target.end(), nullptr);
  host_staging.clear();
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    auto v = static_cast<size_t>(g.inputs[k]);
    if (g.values[v].boxed()) continue;
    if (ins[k]->on_host()) views[v].data = const_cast<void*>(ins[k]->data());
    else bind_device_input(v, *ins[k], views);
  }
  if (has_boxed) bind_boxed_inputs();
  bool host_outputs = false;
  for (int o : g.outputs) {
    auto v = static_cast<size_t>(o);
    if (e->homes[v] != ValueHome::kOutput) continue;
    auto it = outputs.find(g.values[v].name);
    if (it == outputs.end() || it->second.on_host()) {
      views[v].data = output_tensor(outputs, g.values[v].name, views[v], "these inputs give").data();
      host_outputs = true;
      continue;
    }
    Tensor& t = output_tensor(outputs, g.values[v].name, views[v], "these inputs give");
    int m = memory_of(t.device(), "output '" + g.values[v].name + "'");
    int k = output_copy[v];
    if (k >= 0 && streams[static_cast<size_t>(m)] &&
        g.values[static_cast<size_t>(g.nodes[static_cast<size_t>(k)].inputs[0])].provider == m) {
      copy_target[static_cast<size_t>(k)] = t.data();  // the download becomes a copy on the device
    } else {  // computed on the host: uploaded after the run
      host_staging.emplace_back(t.nbytes());
      views[v].data = host_staging.back().data();
    }
  }
  for (size_t v = 0; v < views.size(); ++v)
    if (e->homes[v] == ValueHome::kAlias) views[v].data = views[static_cast<size_t>(e->alias_root[v])].data;
  dynamic_buffers.clear();
  stats.threads = governor.threads();
  if (governor.enabled()) {  // reading the thread's CPU time is a system call: only when it is used
    const auto wall0 = ThreadGovernor::Clock::now();
    const double cpu0 = thread_cpu_seconds();
    in_arena([&] { execute(plan, views); });
    const auto wall1 = ThreadGovernor::Clock::now();
    governor.observe(std::chrono::duration<double>(wall1 - wall0).count(), thread_cpu_seconds() - cpu0, wall1);
  } else {
    in_arena([&] { execute(plan, views); });
  }

  // Outputs not written in place (inputs passed through, constants, sizes
  // known only from data, host results for device buffers) are copied into
  // the caller's or fresh tensors.
  for (int o : g.outputs) {
    auto v = static_cast<size_t>(o);
    if (e->homes[v] == ValueHome::kBoxed) continue;  // run_positional hands it over
    auto it = outputs.find(g.values[v].name);
    bool device = it != outputs.end() && !it->second.on_host();
    bool in_place = output_copy[v] >= 0 && copy_target[static_cast<size_t>(output_copy[v])];
    if (e->homes[v] == ValueHome::kOutput && (!device || in_place)) continue;
    Tensor& t = output_tensor(outputs, g.values[v].name, views[v], "this run gives");
    if (!views[v].nbytes()) continue;
    if (!device) {
      std::memcpy(t.data(), views[v].data, views[v].nbytes());
      host_outputs = true;
      continue;
    }
    int m = memory_of(t.device(), "output '" + g.values[v].name + "'");
    if (ProviderStream* s = streams[static_cast<size_t>(m)].get()) s->copy_from_host(t.data(), views[v].data, views[v].nbytes());
    else e->providers[static_cast<size_t>(m)]->copy_from_host(t.data(), views[v].data, views[v].nbytes());
  }
  for (const auto& [key, buf] : e->device_constants) stats.device_bytes += static_cast<int64_t>(buf.size());
  for (size_t m = 1; m < arenas.size(); ++m)
    if (!e->providers[m]->host_memory()) stats.device_bytes += static_cast<int64_t>(arenas[m].size());
  for (const auto& s : streams)
    if (s) stats.device_bytes += s->scratch_bytes();
  // With the caller's stream and every output in device memory, the work is
  // left queued on that stream; otherwise the run ends when it is done.
  if (host_outputs || !user_stream)
    for (auto& s : streams)
      if (s) s->synchronize();
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
  if (copy_source[k]) return;  // the caller's input, already in this memory (bound in run)
  if (void* target = copy_target[k]) {  // into the caller's device buffer
    streams[static_cast<size_t>(from)]->copy_within(target, views[src].data, bytes);
    return;
  }
  // A copy to the host completes before the host's next kernel reads it; a
  // copy to a device is queued on that device's stream.
  if (to == 0) {
    if (ProviderStream* s = streams[static_cast<size_t>(from)].get()) {
      s->copy_to_host(out.data, views[src].data, bytes);
      s->synchronize();
    } else {
      e->providers[static_cast<size_t>(from)]->copy_to_host(out.data, views[src].data, bytes);
    }
  } else if (ProviderStream* s = streams[static_cast<size_t>(to)].get()) {
    s->copy_from_host(out.data, views[src].data, bytes);
  } else {
    e->providers[static_cast<size_t>(to)]->copy_from_host(out.data, views[src].data, bytes);
  }
  ++stats.copies;
  stats.copy_bytes += static_cast<int64_t>(bytes);
}

}  // namespace dynrt
