// Sequences and optionals at run time (ops/sequence.cpp has their schemas).
// Their values live in ContextImpl::boxed for one run, as host tensors the
// runtime owns (a tensor put into a sequence is copied out of the arena,
// which the next node may reuse); the nodes that read or write them run
// here, on the host. Tensors taken out of a sequence are copied into the
// node's output, sized then (data-dependent symbols).
#include <cstring>

#include "core/checked.h"
#include "ir/attrs.h"
#include "runtime/boxed_node.h"

namespace dynrt {
namespace {

std::vector<int64_t> dims_of(const TensorView& v) { return {v.dims.begin(), v.dims.begin() + v.rank}; }

// The most tensors SplitToSequence makes in one go: its count comes from a
// dim, which an empty tensor may make as long as 2^40.
constexpr int64_t kMaxSequenceLength = int64_t{1} << 24;

// An owning host copy of a view's bytes.
Tensor copy_of(const TensorView& v) {
  Tensor t(v.dtype, dims_of(v));
  if (t.nbytes()) std::memcpy(t.data(), v.data, t.nbytes());
  return t;
}

// One int32 or int64 element (a position), checked against [lo, hi] after
// adding `n` to a negative one.
int64_t position(const TensorView& v, int64_t n, int64_t lo, int64_t hi, const std::string& what) {
  if (v.numel() != 1 || (v.dtype != DType::kInt64 && v.dtype != DType::kInt32))
    throw Error(ErrorCode::kInvalidInput, what + " must hold one int32 or int64");
  int64_t p = v.dtype == DType::kInt64 ? *static_cast<const int64_t*>(v.data) : *static_cast<const int32_t*>(v.data);
  const int64_t given = p;
  if (p < 0) p += n;
  if (p < lo || p > hi)
    throw Error(ErrorCode::kInvalidInput, what + " is " + std::to_string(given) + ", outside [" + std::to_string(lo - n) +
                                              ", " + std::to_string(hi) + "] for a sequence of " + std::to_string(n) +
                                              " tensors");
  return p;
}

std::vector<int64_t> int_values(const TensorView& v) {
  std::vector<int64_t> out(static_cast<size_t>(v.numel()));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = v.dtype == DType::kInt64 ? static_cast<const int64_t*>(v.data)[i] : static_cast<const int32_t*>(v.data)[i];
  return out;
}

// A caller's value (or a subgraph engine's) against what the graph says it is.
void check_value(const ir::Value& spec, const Value& in, const std::string& what) {
  if (spec.kind == ValueKind::kTensor) {  // strings (their shape was checked with the other inputs')
    if (in.holds() != Value::Holds::kStrings)
      throw Error(ErrorCode::kInvalidInput, what + " is a tensor of strings; it was given another kind of value");
    return;
  }
  const bool optional = spec.kind == ValueKind::kOptionalTensor || spec.kind == ValueKind::kOptionalSequence;
  const bool wants_sequence = spec.kind == ValueKind::kSequence || spec.kind == ValueKind::kOptionalSequence;
  if (!in.has_value()) {
    if (optional) return;
    throw Error(ErrorCode::kInvalidInput, what + " is a " + value_kind_name(spec.kind) + "; it was given nothing");
  }
  if ((in.holds() == Value::Holds::kSequence) != wants_sequence)
    throw Error(ErrorCode::kInvalidInput, what + " is a " + value_kind_name(spec.kind) + "; it was given a " +
                                              (wants_sequence ? "tensor" : "sequence"));
  auto check_tensor = [&](const Tensor& t, const std::string& which) {
    if (t.dtype() != spec.dtype)
      throw Error(ErrorCode::kInvalidInput, which + " has element type " + dtype_name(t.dtype()) + ", expected " +
                                                dtype_name(spec.dtype));
    if (!t.on_host()) throw Error(ErrorCode::kInvalidInput, which + " is in " + t.device() + " memory; sequences and optionals hold host tensors");
    if (spec.elem_rank >= 0 && t.shape().size() != static_cast<size_t>(spec.elem_rank))
      throw Error(ErrorCode::kInvalidInput, which + " has rank " + std::to_string(t.shape().size()) + " (shape " +
                                                dims_str(t.shape()) + "); the model's " + value_kind_name(spec.kind) +
                                                " holds rank-" + std::to_string(spec.elem_rank) + " tensors");
    if (t.shape().size() > static_cast<size_t>(kMaxRank))
      throw Error(ErrorCode::kInvalidInput, which + " has rank " + std::to_string(t.shape().size()) + ", over dynrt's " +
                                                std::to_string(kMaxRank));
    checked_bytes(t.dtype(), t.shape(), which, ErrorCode::kInvalidInput);
  };
  if (in.holds() == Value::Holds::kTensor) {
    check_tensor(in.tensor(), what);
    return;
  }
  if (in.element_type() != spec.dtype)
    throw Error(ErrorCode::kInvalidInput, what + " is a sequence of " + dtype_name(in.element_type()) + ", expected " +
                                              dtype_name(spec.dtype));
  for (size_t i = 0; i < in.sequence().size(); ++i) check_tensor(in.sequence()[i], what + " element " + std::to_string(i));
}

}  // namespace

void ContextImpl::bind_boxed_inputs() {
  const ir::Graph& g = e->graph;
  boxed.assign(g.values.size(), Value());
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    if (!v.boxed()) continue;
    if (boxed_inputs.size() != g.inputs.size() || !boxed_inputs[k])
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' is a " + v.kind_name() +
                                                "; run this engine with ExecutionContext::run_values");
    check_value(v, *boxed_inputs[k], "input '" + v.name + "'");
    boxed[static_cast<size_t>(g.inputs[k])] = *boxed_inputs[k];
  }
}

std::vector<Value> ContextImpl::run_positional(const std::vector<const Value*>& ins) {
  const ir::Graph& g = e->graph;
  static const Tensor kNoTensor;
  std::vector<const Tensor*> tensors(ins.size(), &kNoTensor);
  for (size_t k = 0; k < g.inputs.size() && k < ins.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    if (v.boxed()) continue;
    if (ins[k]->holds() != Value::Holds::kTensor)
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' is a tensor; it was given " +
                                                (ins[k]->has_value() ? "a sequence" : "nothing"));
    tensors[k] = &ins[k]->tensor();
  }
  boxed_inputs = ins;
  std::map<std::string, Tensor> outs;
  try {
    run_bound(tensors, outs);
  } catch (...) {
    boxed_inputs.clear();
    boxed.clear();
    throw;
  }
  boxed_inputs.clear();
  std::vector<Value> result;
  for (int o : g.outputs) {
    const ir::Value& v = g.values[static_cast<size_t>(o)];
    if (v.boxed()) result.push_back(boxed[static_cast<size_t>(o)]);
    else result.emplace_back(outs.at(v.name));
  }
  boxed.clear();  // the sequences' tensors are the caller's now, or freed
  return result;
}

std::map<std::string, Value> ContextImpl::run_values(const std::map<std::string, Value>& inputs) {
  const ir::Graph& g = e->graph;
  std::vector<Value> outs = run_positional(inputs_by_position(g, inputs));
  std::map<std::string, Value> result;
  for (size_t i = 0; i < g.outputs.size(); ++i)
    result.emplace(g.values[static_cast<size_t>(g.outputs[i])].name, std::move(outs[i]));
  return result;
}

TensorView* BoxedNode::out_tensor(size_t i, const std::vector<int64_t>& dims) const {
  if (!has_output(i)) return nullptr;
  const auto o = static_cast<size_t>(n.outputs[i]);
  if (dims.size() != g.values[o].shape.size())
    throw Error(ErrorCode::kInvalidInput, "it gives a rank-" + std::to_string(dims.size()) + " tensor (" + dims_str(dims) +
                                              "); the model's '" + g.values[o].name + "' has rank " +
                                              std::to_string(g.values[o].shape.size()));
  if (ctx.e->homes[o] == ValueHome::kDynamic) return &ctx.allocate_at_run_time(k, i, dims, views, binding);
  if (dims_of(views[o]) != dims)
    throw Error(ErrorCode::kInternal, "output '" + g.values[o].name + "' is " + dims_str(dims_of(views[o])) + ", not " +
                                          dims_str(dims));
  return &views[o];
}

void BoxedNode::write(size_t i, const Tensor& t) const {
  TensorView* out = out_tensor(i, t.shape());
  if (out && t.nbytes()) std::memcpy(out->data, t.data(), t.nbytes());
}

void ContextImpl::run_boxed(size_t k, std::vector<TensorView>& views, std::vector<int64_t>& binding) {
  const ir::Graph& g = e->graph;
  const ir::Node& n = g.nodes[k];
  const BoxedNode b{*this, k, views, binding, g, n};
  auto has = [&](size_t i) { return b.has(i); };
  auto spec = [&](size_t i) -> const ir::Value& { return b.spec(i); };
  auto in_view = [&](size_t i) -> const TensorView& { return b.view(i); };
  auto in_value = [&](size_t i) -> const Value& { return b.value(i); };
  auto sequence = [&](size_t i) -> const std::vector<Tensor>& { return in_value(i).sequence(); };
  auto set_boxed = [&](size_t i, Value v) { b.set(i, std::move(v)); };
  const DType out_type = n.outputs.empty() || n.outputs[0] < 0 ? DType::kUndefined
                                                                : g.values[static_cast<size_t>(n.outputs[0])].dtype;
  auto out_tensor = [&](size_t i, const std::vector<int64_t>& dims) { return b.out_tensor(i, dims); };
  auto write_tensor = [&](size_t i, const Tensor& t) { b.write(i, t); };
  const std::string& op = n.op;
  try {
    if (run_string_op(b)) return;
    if (op == "Identity") {
      set_boxed(0, in_value(0));
    } else if (op == "SequenceEmpty") {
      set_boxed(0, Value::sequence(out_type, {}));
    } else if (op == "SequenceConstruct") {
      std::vector<Tensor> items;
      for (size_t i = 0; i < n.inputs.size(); ++i) items.push_back(copy_of(in_view(i)));
      set_boxed(0, Value::sequence(out_type, std::move(items)));
    } else if (op == "SequenceInsert") {
      std::vector<Tensor> items = sequence(0);
      const auto len = static_cast<int64_t>(items.size());
      const int64_t at = has(2) ? position(in_view(2), len, 0, len, "its position") : len;
      items.insert(items.begin() + at, copy_of(in_view(1)));
      set_boxed(0, Value::sequence(out_type, std::move(items)));
    } else if (op == "SequenceErase") {
      std::vector<Tensor> items = sequence(0);
      const auto len = static_cast<int64_t>(items.size());
      if (len == 0) throw Error(ErrorCode::kInvalidInput, "cannot erase from an empty sequence");
      const int64_t at = has(1) ? position(in_view(1), len, 0, len - 1, "its position") : len - 1;
      items.erase(items.begin() + at);
      set_boxed(0, Value::sequence(out_type, std::move(items)));
    } else if (op == "SequenceAt") {
      const std::vector<Tensor>& items = sequence(0);
      const auto len = static_cast<int64_t>(items.size());
      write_tensor(0, items[static_cast<size_t>(position(in_view(1), len, 0, len - 1, "its position"))]);
    } else if (op == "SequenceLength") {
      TensorView* out = out_tensor(0, {});
      *static_cast<int64_t*>(out->data) = static_cast<int64_t>(sequence(0).size());
    } else if (op == "SplitToSequence") {
      const TensorView& x = in_view(0);
      const AttrReader attrs(n, g.opset);
      const int64_t axis = attrs.attr_int("axis", 0);
      const auto a = static_cast<size_t>(axis < 0 ? axis + x.rank : axis);
      const int64_t len = x.dims[a];
      std::vector<int64_t> sizes;
      bool keep = true;
      if (has(1)) {
        const TensorView& s = in_view(1);
        std::vector<int64_t> v = int_values(s);
        if (s.rank == 0) {
          if (v.at(0) <= 0) throw Error(ErrorCode::kInvalidInput, "its split " + std::to_string(v[0]) + " is not positive");
          for (int64_t off = 0; off < len; off += v[0]) sizes.push_back(std::min(v[0], len - off));
        } else {
          int64_t total = 0;
          for (int64_t d : v) {
            if (d < 0 || __builtin_add_overflow(total, d, &total))
              throw Error(ErrorCode::kInvalidInput, "its split sizes must be non-negative");
          }
          if (total != len)
            throw Error(ErrorCode::kInvalidInput, "its split sizes add up to " + std::to_string(total) + ", but axis " +
                                                      std::to_string(a) + " has " + std::to_string(len));
          sizes = std::move(v);
        }
      } else {
        if (len > kMaxSequenceLength)  // (a dim of an empty tensor may be that long)
          throw Error(ErrorCode::kInvalidInput, "it would make a sequence of " + std::to_string(len) +
                                                    " tensors, over dynrt's " + std::to_string(kMaxSequenceLength));
        sizes.assign(static_cast<size_t>(len), 1);
        keep = attrs.attr_int("keepdims", 1) != 0;
      }
      if (static_cast<int64_t>(sizes.size()) > kMaxSequenceLength)
        throw Error(ErrorCode::kInvalidInput, "it would make a sequence of " + std::to_string(sizes.size()) +
                                                  " tensors, over dynrt's " + std::to_string(kMaxSequenceLength));
      int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(x.dtype));
      for (size_t d = 0; d < a; ++d) outer *= x.dims[d];
      for (auto d = static_cast<int>(a) + 1; d < x.rank; ++d) inner *= x.dims[static_cast<size_t>(d)];
      std::vector<Tensor> items;
      int64_t off = 0;
      for (int64_t size : sizes) {
        std::vector<int64_t> dims = dims_of(x);
        dims[a] = size;
        if (!keep) dims.erase(dims.begin() + static_cast<std::ptrdiff_t>(a));  // a dim of 1: the same bytes
        Tensor t(x.dtype, dims);
        for (int64_t o = 0; o < outer && size > 0 && inner > 0; ++o)
          std::memcpy(static_cast<std::byte*>(t.data()) + o * size * inner,
                      static_cast<const std::byte*>(x.data) + (o * len + off) * inner, static_cast<size_t>(size * inner));
        items.push_back(std::move(t));
        off += size;
      }
      set_boxed(0, Value::sequence(out_type, std::move(items)));
    } else if (op == "ConcatFromSequence") {
      const std::vector<Tensor>& items = sequence(0);
      if (items.empty()) throw Error(ErrorCode::kInvalidInput, "cannot concatenate an empty sequence");
      const AttrReader attrs(n, g.opset);
      const bool new_axis = attrs.attr_int("new_axis", 0) != 0;
      const int64_t given = attrs.attr_int("axis", 0);
      const size_t rank = items[0].shape().size() + (new_axis ? 1 : 0);
      const int64_t axis = given < 0 ? given + static_cast<int64_t>(rank) : given;
      if (axis < 0 || axis >= static_cast<int64_t>(rank))
        throw Error(ErrorCode::kInvalidInput, "axis " + std::to_string(given) + " is outside rank " + std::to_string(rank));
      const auto a = static_cast<size_t>(axis);
      auto dims_in = [&](const Tensor& t) {  // with the new axis as a dim of 1
        std::vector<int64_t> d = t.shape();
        if (new_axis) d.insert(d.begin() + static_cast<std::ptrdiff_t>(a), 1);
        return d;
      };
      std::vector<int64_t> out_dims = dims_in(items[0]);
      out_dims[a] = 0;
      for (size_t i = 0; i < items.size(); ++i) {
        std::vector<int64_t> d = dims_in(items[i]);
        bool same = d.size() == out_dims.size();
        for (size_t j = 0; same && j < d.size(); ++j) same = j == a || d[j] == out_dims[j];
        if (!same)
          throw Error(ErrorCode::kInvalidInput, "element " + std::to_string(i) + " is " + dims_str(items[i].shape()) +
                                                    " and element 0 " + dims_str(items[0].shape()) +
                                                    "; they must match except along the axis");
        if (__builtin_add_overflow(out_dims[a], d[a], &out_dims[a]))
          throw Error(ErrorCode::kInvalidInput, "the concatenated axis is too long");
      }
      TensorView* out = out_tensor(0, out_dims);
      int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(out_type));
      for (size_t d = 0; d < a; ++d) outer *= out_dims[d];
      for (size_t d = a + 1; d < out_dims.size(); ++d) inner *= out_dims[d];
      auto* dst = static_cast<std::byte*>(out ? out->data : nullptr);
      for (int64_t o = 0; dst && o < outer; ++o)
        for (const Tensor& t : items) {
          const int64_t chunk = dims_in(t)[a] * inner;
          if (chunk == 0) continue;
          std::memcpy(dst, static_cast<const std::byte*>(t.data()) + o * chunk, static_cast<size_t>(chunk));
          dst += chunk;
        }
    } else if (op == "Optional") {
      if (!has(0)) set_boxed(0, Value::nothing());
      else if (spec(0).boxed()) set_boxed(0, in_value(0));
      else set_boxed(0, Value(copy_of(in_view(0))));
    } else if (op == "OptionalHasElement") {
      TensorView* out = out_tensor(0, {});
      *static_cast<uint8_t*>(out->data) = !has(0) ? 0 : !spec(0).boxed() ? 1 : in_value(0).has_value() ? 1 : 0;
    } else if (op == "OptionalGetElement") {
      const Value& v = in_value(0);
      if (!v.has_value()) throw Error(ErrorCode::kInvalidInput, "'" + spec(0).name + "' is empty (an optional without a value)");
      if (v.holds() == Value::Holds::kSequence) set_boxed(0, v);
      else write_tensor(0, v.tensor());
    } else {
      throw Error(ErrorCode::kInvalidEngine, "op '" + op + "' does not run on sequences or optionals");
    }
  } catch (const Error& err) {
    const std::string label = g.node_label(n);
    if (std::string_view(err.what()).find(label) != std::string_view::npos) throw;
    throw Error(err.code(), label + ": " + err.what());
  }
}

}  // namespace dynrt
