// dynrt.If and dynrt.Loop (ops/control_flow.cpp): each subgraph is an engine
// of its own, loaded with the engine (load_subgraph_engines) and run here
// through a context of its own, made on first use. The node's outputs are
// sized as the subgraph engines return them.
#include <array>
#include <cstring>

#include "backends/provider.h"
#include "ops/control_flow.h"
#include "runtime/context_impl.h"
#include "runtime/engine_file.h"

namespace dynrt {
namespace {

// Subgraph engines hold subgraph engines: the nesting an untrusted file may ask for.
constexpr int kMaxNesting = 16;
thread_local int loading_depth = 0;

struct Io {
  DType dtype;
  size_t rank;
  std::string name;
  ValueKind kind = ValueKind::kTensor;
  int elem_rank = -1;
};

Io io_of(const ir::Value& v) { return {v.dtype, v.shape.size(), v.name, v.kind, v.elem_rank}; }

std::vector<Io> engine_inputs(const EngineImpl& e) {
  std::vector<Io> out;
  for (int id : e.graph.inputs) {
    out.push_back(io_of(e.graph.values[static_cast<size_t>(id)]));
  }
  return out;
}

std::vector<Io> engine_outputs(const EngineImpl& e) {
  std::vector<Io> out;
  if (!e.variants.empty()) {
    for (const TensorInfo& t : e.variant_outputs)
      out.push_back({t.dtype, t.rank_known ? t.dims.size() : SIZE_MAX, t.name, t.kind, -1});
    return out;
  }
  for (int id : e.graph.outputs) out.push_back(io_of(e.graph.values[static_cast<size_t>(id)]));
  return out;
}

int64_t int_attr(const ir::Node& n, const char* name) {
  auto it = n.attrs.find(name);
  return it == n.attrs.end() || it->second.type != ir::Attribute::Type::kInt ? -1 : it->second.i;
}

Tensor wrap(const TensorView& v) {
  return Tensor::wrap(v.dtype, {v.dims.begin(), v.dims.begin() + v.rank}, v.data);
}

bool one_bool(const TensorView& v, const std::string& what) {
  if (v.dtype != DType::kBool || v.numel() != 1)
    throw Error(ErrorCode::kInvalidInput, what + " must hold one bool, got " + dtype_name(v.dtype) + " " +
                                              dims_str({v.dims.begin(), v.dims.begin() + v.rank}));
  return *static_cast<const uint8_t*>(v.data) != 0;
}

}  // namespace

std::vector<std::shared_ptr<const EngineImpl>> load_subgraph_engines(const ir::Graph& g, const ir::Node& n) {
  const std::string label = g.node_label(n);
  auto bad = [&](const std::string& why) { throw Error(ErrorCode::kInvalidEngine, label + ": " + why); };
  if (loading_depth >= kMaxNesting) bad("subgraph engines nest deeper than " + std::to_string(kMaxNesting));
  auto load = [&](const char* attr) -> std::shared_ptr<const EngineImpl> {
    auto it = n.attrs.find(attr);
    if (it == n.attrs.end() || it->second.type != ir::Attribute::Type::kString) bad(std::string("no '") + attr + "'");
    ++loading_depth;
    try {
      auto e = load_engine_bytes(it->second.s, label + " " + attr);
      --loading_depth;
      return e;
    } catch (...) {
      --loading_depth;
      throw;
    }
  };
  auto value = [&](int id) -> const ir::Value& { return g.values[static_cast<size_t>(id)]; };
  // An engine's inputs against the node's values from `first`; its outputs against `outs`.
  auto check_inputs = [&](const EngineImpl& e, size_t first, size_t count, size_t own) {
    std::vector<Io> in = engine_inputs(e);
    if (in.size() != own + count) bad("a subgraph engine's inputs do not match the node's");
    for (size_t i = 0; i < count; ++i) {
      const int id = n.inputs[first + i];
      if (id < 0 || value(id).dtype != in[own + i].dtype || value(id).shape.size() != in[own + i].rank ||
          value(id).kind != in[own + i].kind)
        bad("a subgraph engine's input '" + in[own + i].name + "' does not match the node's");
    }
  };
  std::vector<std::shared_ptr<const EngineImpl>> out;
  if (n.op == "If") {
    const int64_t then_inputs = int_attr(n, "then_inputs");
    if (n.inputs.empty() || then_inputs < 0 || static_cast<size_t>(then_inputs) > n.inputs.size() - 1)
      bad("its inputs do not match 'then_inputs'");
    // A branch whose build failed holds its error instead: null here.
    auto branch = [&](const char* engine, const char* error) -> std::shared_ptr<const EngineImpl> {
      auto it = n.attrs.find(error);
      if (it != n.attrs.end() && it->second.type == ir::Attribute::Type::kString && !n.attrs.count(engine)) return nullptr;
      return load(engine);
    };
    out = {branch("then_engine", "then_error"), branch("else_engine", "else_error")};
    if (!out[0] && !out[1]) bad("neither branch has an engine");
    if (out[0]) check_inputs(*out[0], 1, static_cast<size_t>(then_inputs), 0);
    if (out[1])
      check_inputs(*out[1], 1 + static_cast<size_t>(then_inputs), n.inputs.size() - 1 - static_cast<size_t>(then_inputs), 0);
    for (const auto& e : out) {
      if (!e) continue;
      std::vector<Io> o = engine_outputs(*e);
      if (o.size() != n.outputs.size()) bad("a branch engine's outputs do not match the node's");
      for (size_t i = 0; i < o.size(); ++i)
        if (n.outputs[i] >= 0 && (o[i].dtype != value(n.outputs[i]).dtype || o[i].rank != value(n.outputs[i]).shape.size() ||
                                  o[i].kind != value(n.outputs[i]).kind))
          bad("a branch engine's output '" + o[i].name + "' does not match the node's");
    }
    return out;
  }
  if (n.op == "SequenceMap") {
    const int64_t mapped = int_attr(n, "mapped");
    if (n.inputs.empty() || mapped < 1 || static_cast<size_t>(mapped) > n.inputs.size())
      bad("its inputs do not match 'mapped'");
    out = {load("body_engine")};
    std::vector<Io> in = engine_inputs(*out[0]), o = engine_outputs(*out[0]);
    if (in.size() != n.inputs.size() || o.size() != n.outputs.size())
      bad("its body engine does not take and give what the node does");
    for (size_t i = 0; i < in.size(); ++i) {
      const int id = n.inputs[i];
      const bool mapped_seq = i < static_cast<size_t>(mapped) && id >= 0 && value(id).kind == ValueKind::kSequence;
      if (id < 0 || value(id).dtype != in[i].dtype ||
          (mapped_seq ? in[i].kind != ValueKind::kTensor || static_cast<int>(in[i].rank) != value(id).elem_rank
                      : in[i].kind != value(id).kind || in[i].rank != value(id).shape.size()))
        bad("its body engine's input '" + in[i].name + "' does not match the node's");
    }
    for (size_t i = 0; i < o.size(); ++i)
      if (n.outputs[i] >= 0 && (o[i].kind != ValueKind::kTensor || o[i].dtype != value(n.outputs[i]).dtype ||
                                value(n.outputs[i]).kind != ValueKind::kSequence ||
                                static_cast<int>(o[i].rank) != value(n.outputs[i]).elem_rank))
        bad("its body engine's output '" + o[i].name + "' does not match the node's");
    return out;
  }
  const int64_t carried = int_attr(n, "carried");
  if (n.inputs.size() < 2 || carried < 0 || static_cast<size_t>(carried) > n.inputs.size() - 2 ||
      static_cast<size_t>(carried) > n.outputs.size())
    bad("its inputs and outputs do not match 'carried'");
  const auto c = static_cast<size_t>(carried);
  out = {load("body_engine")};
  const EngineImpl& body = *out[0];
  std::vector<Io> in = engine_inputs(body), o = engine_outputs(body);
  if (in.size() != n.inputs.size() || o.size() != n.outputs.size() + 1 || in[0].dtype != DType::kInt64 ||
      in[0].rank != 0 || in[1].dtype != DType::kBool || in[1].rank != 0 || o[0].dtype != DType::kBool || o[0].rank > 1 ||
      in[0].kind != ValueKind::kTensor || in[1].kind != ValueKind::kTensor || o[0].kind != ValueKind::kTensor)
    bad("its body engine does not take and give what a Loop body does");
  if ((n.inputs[0] >= 0 && value(n.inputs[0]).dtype != DType::kInt64) ||
      (n.inputs[1] >= 0 && value(n.inputs[1]).dtype != DType::kBool))
    bad("its trip count or condition has the wrong type");
  check_inputs(body, 2, n.inputs.size() - 2, 2);
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] < 0) continue;
    const ir::Value& v = value(n.outputs[i]);
    const size_t rank = i < c ? o[1 + i].rank : o[1 + i].rank + 1;  // scan outputs gain the iterations' axis
    if (o[1 + i].dtype != v.dtype || o[1 + i].rank == SIZE_MAX || rank != v.shape.size() || o[1 + i].kind != v.kind ||
        (i >= c && v.kind != ValueKind::kTensor) ||
        (i < c && (in[2 + i].dtype != v.dtype || in[2 + i].rank != v.shape.size() ||
                   (in[2 + i].kind != v.kind &&  // an optional sequence carried may come back present
                    !(in[2 + i].kind == ValueKind::kOptionalSequence && v.kind == ValueKind::kSequence)))))
      bad("its body engine's output '" + o[1 + i].name + "' does not match the node's");
  }
  return out;
}

std::vector<Value> ContextImpl::run_subgraph_engine(size_t k, size_t which, const std::vector<Value>& inputs,
                                                    std::map<std::string, Tensor>* into) {
  std::vector<std::unique_ptr<ContextImpl>>& slots = sub_contexts[k];
  if (slots.empty()) slots.resize(e->subgraphs[k].size());
  const EngineImpl& se = *e->subgraphs[k][which];
  if (!slots[which]) {
    ContextOptions o = options;
    o.stream = nullptr;  // its device work, if any, is its own: the node's inputs and outputs are on the host
    o.adapt_threads = false;  // the node's context decides the threads
    slots[which] = std::make_unique<ContextImpl>(e->subgraphs[k][which], o);
    slots[which]->nested = true;
    for (auto& v : slots[which]->variant_contexts)
      if (v) v->nested = true;
  }
  ContextImpl* c = slots[which].get();
  std::vector<Value> result;
  if (!se.variants.empty()) {  // the variant's context, by name (made on first use: nested too)
    std::vector<Io> in = engine_inputs(se);
    std::map<std::string, Value> ins;
    std::map<std::string, Tensor> dims;
    for (size_t i = 0; i < in.size(); ++i) {
      ins.emplace(in[i].name, inputs[i]);
      if (inputs[i].holds() == Value::Holds::kTensor) dims.emplace(in[i].name, inputs[i].tensor());
    }
    c = &c->serving(dims);
    c->nested = true;
    std::map<std::string, Value> outs = c->run_values(ins);
    for (int id : c->e->graph.outputs) result.push_back(std::move(outs.at(c->e->graph.values[static_cast<size_t>(id)].name)));
  } else if (c->has_boxed) {
    std::vector<const Value*> ins;
    for (const Value& v : inputs) ins.push_back(&v);
    result = c->run_positional(ins);
  } else {
    std::vector<const Tensor*> ins;
    for (const Value& v : inputs) ins.push_back(&v.tensor());
    std::map<std::string, Tensor> outs;
    if (into) outs.swap(*into);
    c->run_bound(ins, outs);
    for (int id : c->e->graph.outputs) result.emplace_back(std::move(outs.at(c->e->graph.values[static_cast<size_t>(id)].name)));
  }
  return result;
}

void ContextImpl::run_subgraph(size_t k, std::vector<TensorView>& views, std::vector<int64_t>& binding) {
  const ir::Graph& g = e->graph;
  const ir::Node& n = g.nodes[k];
  const std::string label = g.node_label(n);
  auto in_view = [&](size_t i) -> const TensorView& { return views[static_cast<size_t>(n.inputs[i])]; };
  // Input i as a subgraph engine takes it: a sequence or optional as it is, a tensor in place.
  auto in_value = [&](size_t i) -> Value {
    const auto id = static_cast<size_t>(n.inputs[i]);
    return g.values[id].boxed() ? boxed[id] : Value(wrap(views[id]));
  };

  // Output i of the node takes these bytes (host memory, like every value here).
  auto set_output = [&](size_t i, const std::vector<int64_t>& dims, const std::vector<const Tensor*>& parts) {
    if (n.outputs[i] < 0) return;
    TensorView& out = allocate_at_run_time(k, i, dims, views, binding);
    auto* dst = static_cast<std::byte*>(out.data);
    for (const Tensor* t : parts) {
      if (t->nbytes() == 0) continue;  // an empty tensor's data may be null, which memcpy may not take
      std::memcpy(dst, t->data(), t->nbytes());
      dst += t->nbytes();
    }
  };
  // Output i takes a subgraph engine's value: a sequence or optional as it is, a tensor's bytes.
  auto set_result = [&](size_t i, const Value& v) {
    if (n.outputs[i] < 0) return;
    if (g.values[static_cast<size_t>(n.outputs[i])].boxed()) boxed[static_cast<size_t>(n.outputs[i])] = v;
    else set_output(i, v.tensor().shape(), {&v.tensor()});
  };
  try {
    if (n.op == "If") {
      const bool taken = one_bool(in_view(0), "the condition '" + g.values[static_cast<size_t>(n.inputs[0])].name + "'");
      const auto then_inputs = static_cast<size_t>(n.attrs.at("then_inputs").i);
      const size_t first = taken ? 1 : 1 + then_inputs, count = taken ? then_inputs : n.inputs.size() - 1 - then_inputs;
      if (!e->subgraphs[k][taken ? 0 : 1])
        throw Error(ErrorCode::kInvalidInput, std::string("these inputs take its ") + (taken ? "then" : "else") +
                                                  "_branch, which is invalid here: " +
                                                  n.attrs.at(taken ? "then_error" : "else_error").s);
      std::vector<Value> inputs;
      for (size_t i = 0; i < count; ++i) inputs.push_back(in_value(first + i));
      std::vector<Value> result = run_subgraph_engine(k, taken ? 0 : 1, inputs);
      for (size_t i = 0; i < n.outputs.size(); ++i) set_result(i, result[i]);
      return;
    }
    if (n.op == "SequenceMap") {  // the body once per position of the mapped sequences
      const auto mapped = static_cast<size_t>(n.attrs.at("mapped").i);
      const size_t len = boxed[static_cast<size_t>(n.inputs[0])].sequence().size();
      std::vector<Value> inputs;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const bool seq = i < mapped && g.values[static_cast<size_t>(n.inputs[i])].kind == ValueKind::kSequence;
        if (seq && boxed[static_cast<size_t>(n.inputs[i])].sequence().size() != len)
          throw Error(ErrorCode::kInvalidInput, "its sequences have different lengths (" + std::to_string(len) + " and " +
                                                    std::to_string(boxed[static_cast<size_t>(n.inputs[i])].sequence().size()) + ")");
        inputs.push_back(seq ? Value() : in_value(i));
      }
      std::vector<std::vector<Tensor>> items(n.outputs.size());
      for (size_t p = 0; p < len; ++p) {
        for (size_t i = 0; i < mapped; ++i)
          if (g.values[static_cast<size_t>(n.inputs[i])].kind == ValueKind::kSequence)
            inputs[i] = Value(boxed[static_cast<size_t>(n.inputs[i])].sequence()[p]);
        std::vector<Value> result = run_subgraph_engine(k, 0, inputs);
        for (size_t o = 0; o < result.size(); ++o) items[o].push_back(result[o].tensor());
      }
      for (size_t o = 0; o < n.outputs.size(); ++o)
        if (n.outputs[o] >= 0)
          boxed[static_cast<size_t>(n.outputs[o])] =
              Value::sequence(g.values[static_cast<size_t>(n.outputs[o])].dtype, std::move(items[o]));
      return;
    }
    // Loop: M and cond as ONNX gives them; carried values flow from one
    // iteration's outputs to the next one's inputs; scan outputs are stacked.
    const auto carried = static_cast<size_t>(n.attrs.at("carried").i);
    int64_t trips = INT64_MAX;
    if (n.inputs[0] >= 0) {
      const TensorView& m = in_view(0);
      if (m.numel() != 1) throw Error(ErrorCode::kInvalidInput, "its trip count must hold one int64");
      trips = *static_cast<const int64_t*>(m.data);
    }
    bool cond = n.inputs[1] < 0 || one_bool(in_view(1), "its condition");
    std::vector<Value> state;
    for (size_t j = 0; j < carried; ++j) state.push_back(in_value(2 + j));
    // The outer values the body reads are the same in every iteration: where
    // the body runs on a device, they go there once, not once per iteration.
    std::string device;
    for (size_t p = 0; p < e->subgraphs[k][0]->graph.providers.size() && device.empty(); ++p)
      if (!ProviderRegistry::instance().get(e->subgraphs[k][0]->graph.providers[p]).host_memory())
        device = e->subgraphs[k][0]->graph.providers[p];
    std::vector<Value> captured;
    for (size_t i = 2 + carried; i < n.inputs.size(); ++i) {
      captured.push_back(in_value(i));
      if (device.empty() || captured.back().holds() != Value::Holds::kTensor || captured.back().tensor().nbytes() == 0)
        continue;
      const Tensor& host = captured.back().tensor();
      Tensor d = Tensor::on_device(device, host.dtype(), host.shape());
      Tensor::copy(host, d);
      captured.back() = Value(std::move(d));
    }
    const size_t scans = n.outputs.size() - carried;
    std::vector<std::vector<Tensor>> parts(scans);
    // Carried tensors of one shape throughout (the builder's "fixed_carried"):
    // each iteration writes them into one of two buffers, the other holding
    // what it reads, so the body allocates nothing for them after the second.
    const EngineImpl& body = *e->subgraphs[k][0];
    std::vector<int64_t> fixed;
    bool body_boxed = false;
    for (const ir::Value& v : body.graph.values) body_boxed = body_boxed || v.boxed();
    if (auto f = n.attrs.find("fixed_carried"); f != n.attrs.end() && body.variants.empty() && !body_boxed)
      fixed = f->second.ints;
    fixed.resize(carried, 0);
    std::vector<std::array<Tensor, 2>> buffers(carried);
    int64_t it = 0;
    Tensor iter(DType::kInt64, {}), c(DType::kBool, {});  // the body reads them; each run sees this iteration's
    *c.data_as<uint8_t>() = 1;
    for (; it < trips && cond; ++it) {
      if (it == options.max_loop_iterations)
        throw Error(ErrorCode::kInvalidInput, "it ran " + std::to_string(it) +
                                                  " iterations without its condition turning false; the context stops a "
                                                  "Loop there (ContextOptions::max_loop_iterations)");
      *iter.data_as<int64_t>() = it;
      std::vector<Value> inputs = {Value(iter), Value(c)};
      inputs.insert(inputs.end(), state.begin(), state.end());
      inputs.insert(inputs.end(), captured.begin(), captured.end());
      std::map<std::string, Tensor> into;
      for (size_t j = 0; j < carried; ++j) {
        if (!fixed[j] || state[j].holds() != Value::Holds::kTensor) continue;
        Tensor& buf = buffers[j][static_cast<size_t>(it % 2)];
        const Tensor& now = state[j].tensor();
        if (buf.empty_tensor() || buf.shape() != now.shape() || buf.dtype() != now.dtype()) buf = Tensor(now.dtype(), now.shape());
        into.emplace(body.graph.values[static_cast<size_t>(body.graph.outputs[1 + j])].name, buf);
      }
      std::vector<Value> result = run_subgraph_engine(k, 0, inputs, into.empty() ? nullptr : &into);
      const Tensor& done = result[0].tensor();
      TensorView cv{DType::kBool, static_cast<int>(done.shape().size()), {}, const_cast<void*>(done.data())};
      for (size_t d = 0; d < done.shape().size(); ++d) cv.dims[d] = done.shape()[d];
      cond = one_bool(cv, "its body's condition");
      for (size_t j = 0; j < carried; ++j) state[j] = std::move(result[1 + j]);
      for (size_t s = 0; s < scans; ++s) {
        Tensor t = result[1 + carried + s].tensor();
        if (!parts[s].empty() && t.shape() != parts[s][0].shape())
          throw Error(ErrorCode::kInvalidInput, "its scan output " + std::to_string(s) + " is " + dims_str(parts[s][0].shape()) +
                                                    " at iteration 0 and " + dims_str(t.shape()) + " at iteration " +
                                                    std::to_string(it) + "; a Loop stacks outputs of one shape");
        parts[s].push_back(std::move(t));
      }
    }
    for (size_t j = 0; j < carried; ++j) set_result(j, state[j]);
    for (size_t s = 0; s < scans; ++s) {
      const size_t o = carried + s;
      if (n.outputs[o] < 0) continue;
      std::vector<int64_t> dims = {it};
      if (!parts[s].empty()) {
        for (int64_t d : parts[s][0].shape()) dims.push_back(d);
      } else {  // no iteration: the per-iteration dims where the build knows them, else 0
        const ir::Value& v = g.values[static_cast<size_t>(n.outputs[o])];
        for (size_t d = 1; d < v.shape.size(); ++d) {
          bool bound = true;
          for (int sym : v.shape[d].symbols()) bound = bound && binding[static_cast<size_t>(sym)] >= 0;
          dims.push_back(bound ? v.shape[d].eval(binding) : 0);
        }
      }
      std::vector<const Tensor*> ptrs;
      for (const Tensor& t : parts[s]) ptrs.push_back(&t);
      set_output(o, dims, ptrs);
    }
  } catch (const Error& err) {
    throw Error(err.code(), label + ": " + err.what());
  }
}

}  // namespace dynrt
