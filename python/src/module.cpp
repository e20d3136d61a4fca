// dynrt._C: the C++ library, in process. Arrays cross as DLPack-capable
// buffers (numpy, torch, anything nanobind's ndarray takes) without copies;
// Python (python/dynrt) keeps the user-facing API thin on top of this.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <cstring>

#include "dynrt/dynrt.h"

namespace nb = nanobind;
using namespace dynrt;

namespace {

// ---- element types --------------------------------------------------------------

DType dtype_of(const nb::dlpack::dtype& t) {
  using C = nb::dlpack::dtype_code;
  auto code = static_cast<C>(t.code);
  if (t.lanes != 1) return DType::kUndefined;
  switch (code) {
    case C::Float:
      return t.bits == 32 ? DType::kFloat32 : t.bits == 16 ? DType::kFloat16 : t.bits == 64 ? DType::kFloat64 : DType::kUndefined;
    case C::Bfloat: return t.bits == 16 ? DType::kBFloat16 : DType::kUndefined;
    case C::Int:
      return t.bits == 8 ? DType::kInt8 : t.bits == 16 ? DType::kInt16 : t.bits == 32 ? DType::kInt32 : t.bits == 64 ? DType::kInt64 : DType::kUndefined;
    case C::UInt:
      return t.bits == 8 ? DType::kUInt8 : t.bits == 16 ? DType::kUInt16 : t.bits == 32 ? DType::kUInt32 : t.bits == 64 ? DType::kUInt64 : DType::kUndefined;
    case C::Bool: return t.bits == 8 ? DType::kBool : DType::kUndefined;
    default: return DType::kUndefined;
  }
}

nb::dlpack::dtype dlpack_of(DType t) {
  using C = nb::dlpack::dtype_code;
  auto make = [](C c, int bits) { return nb::dlpack::dtype{static_cast<uint8_t>(c), static_cast<uint8_t>(bits), 1}; };
  switch (t) {
    case DType::kFloat32: return make(C::Float, 32);
    case DType::kFloat16: return make(C::Float, 16);
    case DType::kFloat64: return make(C::Float, 64);
    case DType::kBFloat16: return make(C::Bfloat, 16);
    case DType::kInt8: return make(C::Int, 8);
    case DType::kInt16: return make(C::Int, 16);
    case DType::kInt32: return make(C::Int, 32);
    case DType::kInt64: return make(C::Int, 64);
    case DType::kUInt8: return make(C::UInt, 8);
    case DType::kUInt16: return make(C::UInt, 16);
    case DType::kUInt32: return make(C::UInt, 32);
    case DType::kUInt64: return make(C::UInt, 64);
    case DType::kBool: return make(C::Bool, 8);
    default:
      // The narrow types (float8, float4, int4, int2) have no DLPack code: their bytes cross as
      // uint8 and dynrt/_api.py views them as the ml_dtypes type.
      if (dtype_is_supported(t) && dtype_size(t) == 1) return make(C::UInt, 8);
      throw Error(ErrorCode::kUnsupported, std::string("no array type for ") + dtype_name(t));
  }
}

using Array = nb::ndarray<>;

DType dtype_named(const std::string& name) {
  for (int i = 1; i < 64; ++i) {
    auto t = static_cast<DType>(i);
    if (dtype_is_supported(t) && name == dtype_name(t)) return t;
  }
  throw Error(ErrorCode::kInvalidInput, "no element type named '" + name + "'");
}

// The caller's array as a Tensor over the same memory (no copy). raw: the
// element type of an array handed over as plain bytes (ml_dtypes' bfloat16,
// float8, float4, int4, int2: numpy arrays DLPack cannot describe).
Tensor wrap(const std::string& name, const Array& a, const std::string& raw = {}) {
  DType t = dtype_of(a.dtype());
  if (!raw.empty()) {
    DType r = dtype_named(raw);
    if (t == DType::kUndefined || dtype_size(t) != dtype_size(r))
      throw Error(ErrorCode::kInvalidInput, name + " given as raw " + raw + " bytes must be an array of " +
                                                std::to_string(dtype_size(r)) + "-byte elements");
    t = r;
  }
  if (t == DType::kUndefined) throw Error(ErrorCode::kInvalidInput, "'" + name + "' has an element type dynrt does not take");
  std::vector<int64_t> shape(a.ndim());
  int64_t expect = 1;
  bool contiguous = true;
  for (size_t i = a.ndim(); i-- > 0;) {
    shape[i] = static_cast<int64_t>(a.shape(i));
    if (shape[i] != 1 && a.stride(i) != expect) contiguous = false;
    expect *= shape[i];
  }
  if (!contiguous && expect != 0)  // (an empty array's strides say nothing)
    throw Error(ErrorCode::kInvalidInput, "'" + name + "' is not contiguous (row-major): make a contiguous copy");
  void* data = const_cast<void*>(a.data());
  if (a.device_type() == nb::device::cpu::value) return Tensor::wrap(t, std::move(shape), data);
  if (a.device_type() == nb::device::cuda::value) {
    if (a.device_id() != 0) throw Error(ErrorCode::kInvalidInput, "'" + name + "' is on cuda:" + std::to_string(a.device_id()) + "; dynrt runs on cuda:0");
    return Tensor::wrap_device("cuda", t, std::move(shape), data);
  }
  throw Error(ErrorCode::kInvalidInput, "'" + name + "' is on a device dynrt does not know");
}

// A host Tensor made by the runtime, as an array that keeps it alive.
nb::object to_numpy(const Tensor& t) {
  auto* keep = new Tensor(t);
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<size_t> shape(t.shape().begin(), t.shape().end());
  nb::ndarray<nb::numpy> arr(keep->data(), shape.size(), shape.data(), owner, nullptr, dlpack_of(t.dtype()));
  return nb::cast(arr);
}

// ---- build ------------------------------------------------------------------------

DimRange dim_range(const std::tuple<int64_t, int64_t, int64_t>& r) {
  return DimRange{std::get<0>(r), std::get<1>(r), std::get<2>(r)};
}

using ShapeTriple = std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>>;
using DimTriple = std::tuple<int64_t, int64_t, int64_t>;

std::shared_ptr<Engine> build_py(nb::bytes model, const std::vector<std::pair<std::map<std::string, ShapeTriple>, std::map<std::string, DimTriple>>>& profiles,
                              const std::vector<std::string>& relations, const std::vector<std::string>& providers,
                              const std::string& precision, const std::string& tune, const std::string& timing_cache) {
  BuildConfig cfg;
  if (tune == "off") cfg.tune = Tuning::kOff;
  else if (tune == "opt") cfg.tune = Tuning::kOpt;
  else if (tune == "range") cfg.tune = Tuning::kRange;
  else throw Error(ErrorCode::kInvalidConfig, "tune '" + tune + "': expected 'off', 'opt' or 'range' (or True/False)");
  cfg.timing_cache = timing_cache;
  for (const auto& [inputs, dims] : profiles) {
    Profile p;
    for (const auto& [name, s] : inputs) p.inputs[name] = InputShapes{std::get<0>(s), std::get<1>(s), std::get<2>(s)};
    for (const auto& [name, r] : dims) p.dims[name] = dim_range(r);
    cfg.profiles.push_back(std::move(p));
  }
  cfg.relations = relations;
  cfg.providers = providers;
  if (precision == "fp32") cfg.precision = Precision::kFp32;
  else if (precision == "fp16") cfg.precision = Precision::kFp16;
  else if (precision == "bf16") cfg.precision = Precision::kBf16;
  else throw Error(ErrorCode::kInvalidConfig, "precision '" + precision + "': expected fp32, fp16 or bf16");
  std::string bytes(model.c_str(), model.size());
  nb::gil_scoped_release release;
  return build_from_bytes(bytes, cfg);
}

std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> infos(const std::vector<TensorInfo>& v) {
  std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> out;
  for (const TensorInfo& t : v) out.emplace_back(t.name, dtype_name(t.dtype), t.dims);
  return out;
}

// ---- run --------------------------------------------------------------------------

// Runs with the caller's arrays; outputs not given come back as new numpy arrays.
// raw_types: the element type of arrays given as bytes (see wrap), by name.
std::map<std::string, nb::object> run(ExecutionContext& ctx, const std::map<std::string, Array>& inputs,
                                      const std::map<std::string, Array>& outputs,
                                      const std::map<std::string, std::string>& raw_types) {
  auto raw = [&](const std::string& name) {
    auto it = raw_types.find(name);
    return it == raw_types.end() ? std::string() : it->second;
  };
  std::map<std::string, Tensor> in, out;
  for (const auto& [name, a] : inputs) in.emplace(name, wrap("input '" + name + "'", a, raw(name)));
  for (const auto& [name, a] : outputs) out.emplace(name, wrap("output '" + name + "'", a, raw(name)));
  {
    nb::gil_scoped_release release;
    ctx.run(in, out);
  }
  std::map<std::string, nb::object> made;
  for (const auto& [name, t] : out)
    if (!outputs.count(name)) made[name] = to_numpy(t);
  return made;
}

// Runs an engine whose inputs or outputs may be sequences (a list of arrays)
// or optionals (None for an absent one). The caller keeps the arrays alive
// and contiguous (dynrt/_api.py). element_types: a sequence input's element
// type by name, for empty lists.
std::map<std::string, nb::object> run_values(ExecutionContext& ctx, const nb::dict& inputs,
                                             const std::map<std::string, std::string>& element_types) {
  std::map<std::string, Value> in;
  for (auto [key, item] : inputs) {
    const auto name = nb::cast<std::string>(key);
    if (item.is_none()) {
      in.emplace(name, Value::nothing());
    } else if (nb::isinstance<nb::tuple>(item)) {  // a tensor of strings: (shape, [str, ...]) (dynrt/_api.py)
      auto t = nb::cast<nb::tuple>(item);
      if (t.size() != 2) throw Error(ErrorCode::kInvalidInput, "input '" + name + "': a string tensor is (shape, strings)");
      in.emplace(name, Value::strings(nb::cast<std::vector<int64_t>>(t[0]), nb::cast<std::vector<std::string>>(t[1])));
    } else if (nb::isinstance<nb::list>(item)) {
      std::vector<Tensor> tensors;
      for (nb::handle x : nb::cast<nb::list>(item))
        tensors.push_back(wrap("input '" + name + "' element " + std::to_string(tensors.size()), nb::cast<Array>(x)));
      auto t = element_types.find(name);
      DType dtype = t != element_types.end() ? dtype_named(t->second) : tensors.empty() ? DType::kFloat32 : tensors[0].dtype();
      in.emplace(name, Value::sequence(dtype, std::move(tensors)));
    } else {
      in.emplace(name, Value(wrap("input '" + name + "'", nb::cast<Array>(item))));
    }
  }
  std::map<std::string, Value> out;
  {
    nb::gil_scoped_release release;
    out = ctx.run_values(in);
  }
  std::map<std::string, nb::object> made;
  for (const auto& [name, v] : out) {
    if (v.holds() == Value::Holds::kNothing) {
      made[name] = nb::none();
    } else if (v.holds() == Value::Holds::kTensor) {
      made[name] = to_numpy(v.tensor().clone());
    } else if (v.holds() == Value::Holds::kStrings) {
      nb::list items;
      for (const std::string& s : v.strings()) items.append(nb::bytes(s.data(), s.size()));
      made[name] = nb::make_tuple(v.shape(), items);
    } else {
      nb::list items;
      for (const Tensor& t : v.sequence()) items.append(to_numpy(t.clone()));
      made[name] = items;
    }
  }
  return made;
}

std::vector<std::string> kinds(const std::vector<TensorInfo>& v) {
  std::vector<std::string> out;
  for (const TensorInfo& t : v) out.emplace_back(value_kind_name(t.kind));
  return out;
}

}  // namespace

NB_MODULE(_C, m) {
  m.doc() = "dynrt's C++ library (use the dynrt package)";
  // Engines and contexts held by objects that live until interpreter exit
  // (torch.compile's caches, module globals) are not freed in a set order at
  // shutdown; nanobind would report each as a leak.
  nb::set_leak_warnings(false);

  // One Python exception class per error code, all under dynrt.Error. The
  // class objects live as long as the process (no destructors after Python
  // has shut down).
  PyObject* base = PyErr_NewException("dynrt._C.Error", PyExc_RuntimeError, nullptr);
  m.attr("Error") = nb::borrow(base);
  static auto* classes = new std::map<ErrorCode, PyObject*>();
  static PyObject* base_class = base;
  const std::pair<ErrorCode, const char*> codes[] = {
      {ErrorCode::kInvalidModel, "InvalidModel"},     {ErrorCode::kUnsupported, "Unsupported"},
      {ErrorCode::kInvalidConfig, "InvalidConfig"},   {ErrorCode::kInvalidInput, "InvalidInput"},
      {ErrorCode::kShapeOutOfRange, "ShapeOutOfRange"}, {ErrorCode::kInvalidEngine, "InvalidEngine"},
      {ErrorCode::kIo, "IoError"},                    {ErrorCode::kInternal, "InternalError"},
      {ErrorCode::kOutOfMemory, "OutOfMemory"}};
  nb::handle(base).attr("code") = "error";
  for (const auto& [code, name] : codes) {
    PyObject* cls = PyErr_NewException((std::string("dynrt._C.") + name).c_str(), base, nullptr);
    (*classes)[code] = cls;
    // The code on the class too: errors raised by the Python layer carry it as well.
    nb::handle(cls).attr("code") = error_code_name(code);
    m.attr(name) = nb::borrow(cls);
  }
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const Error& e) {
      auto it = classes->find(e.code());
      nb::handle cls = it != classes->end() ? it->second : base_class;
      nb::object exc = cls(nb::str(e.what()));
      exc.attr("code") = error_code_name(e.code());
      PyErr_SetObject(cls.ptr(), exc.ptr());
    }
  });

  nb::class_<Engine>(m, "Engine")
      .def("save", &Engine::save, nb::arg("path"))
      .def("describe", &Engine::describe)
      .def("inputs", [](const Engine& e) { return infos(e.inputs()); })
      .def("outputs", [](const Engine& e) { return infos(e.outputs()); })
      .def("providers", &Engine::providers)
      .def("input_kinds", [](const Engine& e) { return kinds(e.inputs()); })
      .def("output_kinds", [](const Engine& e) { return kinds(e.outputs()); })
      .def(
          "create_context",
          [](const Engine& e, int threads, int64_t max_cached_plans, bool capture_graphs, uintptr_t stream,
             int64_t max_arena_bytes, int64_t max_tensor_bytes, bool adapt_threads, int64_t max_loop_iterations) {
            ContextOptions o;
            o.threads = threads;
            o.max_cached_plans = max_cached_plans;
            o.capture_graphs = capture_graphs;
            o.stream = reinterpret_cast<void*>(stream);
            o.max_arena_bytes = max_arena_bytes;
            o.max_tensor_bytes = max_tensor_bytes;
            o.adapt_threads = adapt_threads;
            o.max_loop_iterations = max_loop_iterations;
            return e.create_context(o);
          },
          nb::arg("threads") = 0, nb::arg("max_cached_plans") = 64, nb::arg("capture_graphs") = true,
          nb::arg("stream") = 0, nb::arg("max_arena_bytes") = 0, nb::arg("max_tensor_bytes") = 0,
          nb::arg("adapt_threads") = true, nb::arg("max_loop_iterations") = int64_t{1} << 20);

  nb::class_<ExecutionContext>(m, "Context")
      .def("run", &run, nb::arg("inputs"), nb::arg("outputs"),
           nb::arg("raw_types") = std::map<std::string, std::string>{})
      .def("run_values", &run_values, nb::arg("inputs"), nb::arg("element_types"))
      .def("output_shapes", &ExecutionContext::output_shapes, nb::arg("input_shapes"))
      .def_prop_ro("plans_created", &ExecutionContext::plans_created)
      .def_prop_ro("threads", &ExecutionContext::threads)
      .def("last_run_stats", [](const ExecutionContext& c) {
        RunStats s = c.last_run_stats();
        return std::map<std::string, int64_t>{{"copies", s.copies},
                                              {"copy_bytes", s.copy_bytes},
                                              {"arena_bytes", s.arena_bytes},
                                              {"graph_replays", s.graph_replays},
                                              {"device_bytes", s.device_bytes},
                                              {"threads", s.threads}};
      });

  m.def("build", &build_py, nb::arg("model"), nb::arg("profiles"), nb::arg("relations"), nb::arg("providers"),
        nb::arg("precision"), nb::arg("tune") = "opt", nb::arg("timing_cache") = "");
  m.def("load", &Engine::load, nb::arg("path"));
  m.def("model_inputs", [](nb::bytes model) { return infos(model_inputs_from_bytes(std::string(model.c_str(), model.size()))); });
}
