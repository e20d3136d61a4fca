"""The AOT API: Input, compile, save, load, Engine and CompiledModule."""
from __future__ import annotations

import os
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from . import _C

_NUMPY = {"float32": np.float32, "float16": np.float16, "float64": np.float64, "int8": np.int8, "int16": np.int16,
          "int32": np.int32, "int64": np.int64, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32,
          "uint64": np.uint64, "bool": np.bool_}

# The narrow types as ml_dtypes arrays (numpy has none of its own). Their bytes cross to the engine
# as uint8 (uint16 for bfloat16) with the type named beside them: DLPack cannot describe them.
try:
    import ml_dtypes as _mld

    _ML_TO_DYNRT = {"bfloat16": "bfloat16", "float8_e4m3fn": "float8e4m3fn", "float8_e4m3fnuz": "float8e4m3fnuz",
                    "float8_e5m2": "float8e5m2", "float8_e5m2fnuz": "float8e5m2fnuz", "float8_e8m0fnu": "float8e8m0",
                    "float4_e2m1fn": "float4e2m1", "int4": "int4", "uint4": "uint4", "int2": "int2", "uint2": "uint2"}
    _NARROW = {d: np.dtype(getattr(_mld, m)) for m, d in _ML_TO_DYNRT.items() if d != "bfloat16"}
    _NUMPY.update(_NARROW)
except ImportError:  # without ml_dtypes, numpy arrays of these types cannot exist
    _ML_TO_DYNRT, _NARROW = {}, {}


def dtype_name(dtype: Any) -> str:
    """numpy, torch or string dtype -> dynrt's name ("float32", ...)."""
    if dtype is None:
        return "float32"
    if isinstance(dtype, str):
        return {"float": "float32", "half": "float16", "bfloat16": "bfloat16", "long": "int64", "int": "int32"}.get(
            dtype, dtype)
    text = str(dtype)
    if text.startswith("torch."):
        text = text[len("torch."):]
        return {"float": "float32", "half": "float16", "long": "int64", "int": "int32", "double": "float64"}.get(text, text)
    name = np.dtype(dtype).name
    return _ML_TO_DYNRT.get(name, name)


class Input:
    """The shapes one model input may take: Input(min_shape=, opt_shape=, max_shape=) for a range,
    Input(shape=) for one shape. dim_names=("batch", "seq") names the dims; a name used by two
    inputs is one dimension (their sizes are always equal)."""

    def __init__(self, min_shape: Sequence[int] | None = None, opt_shape: Sequence[int] | None = None,
                 max_shape: Sequence[int] | None = None, *, shape: Sequence[int] | None = None, dtype: Any = None,
                 name: str | None = None, dim_names: Sequence[str | None] | None = None):
        if shape is not None:
            if min_shape is not None or opt_shape is not None or max_shape is not None:
                raise _C.InvalidConfig("give Input either shape= or min_shape/opt_shape/max_shape, not both")
            min_shape = opt_shape = max_shape = shape
        if min_shape is None or max_shape is None:
            raise _C.InvalidConfig("Input needs shape= or min_shape= and max_shape= (opt_shape= defaults to max)")
        opt_shape = max_shape if opt_shape is None else opt_shape
        self.min_shape, self.opt_shape, self.max_shape = (tuple(int(d) for d in s) for s in (min_shape, opt_shape,
                                                                                            max_shape))
        if not len(self.min_shape) == len(self.opt_shape) == len(self.max_shape):
            raise _C.InvalidConfig(f"Input {name or ''}: min, opt and max shapes have different ranks")
        for lo, op, hi in zip(self.min_shape, self.opt_shape, self.max_shape):
            if not 0 <= lo <= op <= hi:
                raise _C.InvalidConfig(f"Input {name or ''}: need 0 <= min <= opt <= max in every dim, got "
                                       f"{self.min_shape} / {self.opt_shape} / {self.max_shape}")
        self.dtype = dtype_name(dtype)
        self.name = name
        self.dim_names = tuple(dim_names) if dim_names is not None else (None,) * len(self.min_shape)
        if len(self.dim_names) != len(self.min_shape):
            raise _C.InvalidConfig(f"Input {name or ''}: dim_names has {len(self.dim_names)} names for "
                                   f"{len(self.min_shape)} dims")

    def is_dynamic(self, d: int) -> bool:
        return self.min_shape[d] != self.max_shape[d]

    def __repr__(self):
        if self.min_shape == self.max_shape:
            return f"Input(shape={self.min_shape}, dtype={self.dtype})"
        return f"Input(min_shape={self.min_shape}, opt_shape={self.opt_shape}, max_shape={self.max_shape}, " \
               f"dtype={self.dtype})"


def _precision(precision, enabled_precisions, device="cpu") -> str:
    """precision= (a name or dtype) is what the engine computes in; enabled_precisions (the
    Torch-TensorRT spelling) is a set of precisions the engine may use: fp32 is always allowed, the
    lowest precision in the set that the device has is picked (on CPU that is fp32)."""
    if precision is None and enabled_precisions:
        names = {dtype_name(p) for p in enabled_precisions}
        names = {{"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}.get(n, n) for n in names}
        unknown = names - {"float32", "float16", "bfloat16"}
        if unknown:
            raise _C.InvalidConfig(f"enabled_precisions {sorted(unknown)}: dynrt computes in float32, float16 or "
                                   "bfloat16")
        on_gpu = str(device or "cpu").split(":")[0] == "cuda"
        precision = "fp16" if on_gpu and "float16" in names else "bf16" if "bfloat16" in names else "fp32"
        if "float32" not in names and precision == "fp32":
            warnings.warn(f"enabled_precisions {sorted(names)}: the {device} device computes in fp32 or bf16 "
                          "(float16 runs on the cuda provider)", UserWarning, stacklevel=3)
    if precision is None:
        return "fp32"
    p = dtype_name(precision)
    return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(p, p)


def _providers(device) -> list[str]:
    d = str(device or "cpu").split(":")[0]
    if d == "cpu":
        return ["cpu"]
    if d == "cuda":
        return ["cuda", "cpu"]
    raise _C.InvalidConfig(f"device '{device}': expected 'cpu' or 'cuda'")


def _model_bytes(model) -> bytes:
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        try:
            with open(model, "rb") as f:
                return f.read()
        except OSError as e:
            raise _C.IoError(f"cannot read '{model}': {e.strerror}") from None
    if hasattr(model, "SerializeToString"):  # onnx.ModelProto
        return model.SerializeToString()
    raise _C.InvalidConfig(f"cannot compile a {type(model).__name__}: give an ONNX path, bytes, ModelProto or "
                           "torch.nn.Module")


def _profile_for_onnx(model: bytes, inputs: Sequence[Input], dims: dict | None):
    """Per-input shapes plus relations for dims that share a name."""
    graph_inputs = _C.model_inputs(model)
    names = [g[0] for g in graph_inputs]
    shapes, relations, seen = {}, [], {}
    for i, inp in enumerate(inputs or []):
        name = inp.name or (names[i] if i < len(names) else None)
        if name not in names:
            raise _C.InvalidConfig(f"Input {i} ({inp.name or 'unnamed'}) matches no model input; the model's "
                                   f"inputs are {names}")
        shapes[name] = (list(inp.min_shape), list(inp.opt_shape), list(inp.max_shape))
        onnx_dims = graph_inputs[names.index(name)][2]
        for d, dn in enumerate(inp.dim_names):
            if dn is None or d >= len(onnx_dims):
                continue
            sym = onnx_dims[d]
            if dn in seen and not sym.isdigit() and seen[dn] != sym:
                relations.append(f"{sym} == {seen[dn]}")
            seen.setdefault(dn, sym)
    ranges = {k: tuple(int(x) for x in v) for k, v in (dims or {}).items()}
    return [(shapes, ranges)] if shapes or ranges else [], relations


class Engine:
    """A built engine: save it, inspect it, run it through contexts."""

    def __init__(self, impl):
        self._impl = impl

    def save(self, path) -> None:
        self._impl.save(os.fspath(path))

    def inspect(self) -> dict:
        """Inputs, outputs (dims as expressions), providers, and the full description."""
        return {"inputs": [{"name": n, "dtype": t, "dims": d, "kind": k}
                           for (n, t, d), k in zip(self._impl.inputs(), self._impl.input_kinds())],
                "outputs": [{"name": n, "dtype": t, "dims": d, "kind": k}
                            for (n, t, d), k in zip(self._impl.outputs(), self._impl.output_kinds())],
                "providers": self._impl.providers(), "text": self._impl.describe()}

    @property
    def input_names(self) -> list[str]:
        return [n for n, _, _ in self._impl.inputs()]

    @property
    def output_names(self) -> list[str]:
        return [n for n, _, _ in self._impl.outputs()]

    def create_context(self, threads: int = 0, max_cached_plans: int = 64, capture_graphs: bool = True, stream=0,
                       max_arena_bytes: int = 0, max_tensor_bytes: int = 0, adapt_threads: bool = True,
                       max_loop_iterations: int = 1 << 20):
        """A context for runs from one thread: context.run({name: array}, [outputs]) -> {name: array}.
        max_arena_bytes / max_tensor_bytes (0: no limit of its own): shapes that need more memory for
        intermediates, or a larger single tensor, raise an out-of-memory error naming the size.
        adapt_threads: a CPU-only engine drops to one thread while other processes keep the cores
        busy, and tries more again later (last_run_stats()["threads"]).
        max_loop_iterations (1 to 2**20): a Loop that runs longer raises an invalid-input error."""
        return Context(self, self._impl.create_context(threads, max_cached_plans, capture_graphs, int(stream or 0),
                                                       max_arena_bytes, max_tensor_bytes, adapt_threads,
                                                       max_loop_iterations))


class Context:
    """One execution context (its own plans and memory); use it from one thread at a time."""

    def __init__(self, engine: Engine, impl):
        self.engine = engine
        self._impl = impl
        kinds = engine._impl.input_kinds() + engine._impl.output_kinds()
        types = [t for _, t, _ in engine._impl.inputs() + engine._impl.outputs()]
        self._boxed = any(k != "tensor" for k in kinds) or "string" in types
        self._element_types = {n: t for (n, t, _), k in zip(engine._impl.inputs(), engine._impl.input_kinds())
                               if "sequence" in k}

    def _run_values(self, inputs: dict) -> dict:
        """Sequences and optionals: lists of host arrays and None, copied out on return."""
        def host(x):
            if _is_torch(x):
                x = x.detach().cpu().numpy()
            x = np.asarray(x, order="C")  # (ascontiguousarray would make a scalar 1-D)
            if x.dtype.kind in "OUS":  # strings: (shape, [str]) for the C++ side
                return (list(x.shape), [s.decode() if isinstance(s, bytes) else str(s) for s in x.ravel()])
            return x
        held = {k: None if v is None else [host(x) for x in v] if isinstance(v, (list, tuple)) else host(v)
                for k, v in inputs.items()}
        out = self._impl.run_values(held, self._element_types)
        for k, v in out.items():  # strings come back as numpy object arrays of str
            if isinstance(v, tuple):
                shape, items = v
                arr = np.empty(len(items), dtype=object)
                arr[:] = [s.decode("utf-8", "surrogateescape") for s in items]
                out[k] = arr.reshape(shape)
        return out

    def run(self, inputs: dict, outputs: dict | None = None) -> dict:
        """Runs on the given arrays (numpy or torch, on a device the engine uses) without copying
        them. Outputs given are written in place and come back as the same objects; the others are
        made by the run (numpy arrays, or torch tensors when an input is a torch tensor).
        Sequence inputs and outputs (ONNX seq(tensor)) are lists of numpy arrays; an optional
        without a value is None."""
        if self._boxed or any(v is None or isinstance(v, (list, tuple)) for v in inputs.values()):
            if outputs:
                raise _C.InvalidInput("an engine with sequence or optional values writes its outputs itself; "
                                      "outputs= is for tensor-only engines")
            return self._run_values(inputs)
        outputs = {} if outputs is None else outputs
        made = self._impl.run(inputs, outputs)
        if made and any(_is_torch(v) for v in inputs.values()):
            torch = _torch()
            device = next(v.device for v in inputs.values() if _is_torch(v))
            made = {k: torch.from_numpy(v).to(device) for k, v in made.items()}
        return {**outputs, **made}

    def output_shapes(self, input_shapes: dict) -> dict:
        """Output shapes for these input shapes, without running (-1: known only from the data)."""
        return self._impl.output_shapes({k: list(v) for k, v in input_shapes.items()})

    @property
    def plans_created(self) -> int:
        return self._impl.plans_created

    def last_run_stats(self) -> dict:
        """copies (between provider memories), copy_bytes, arena_bytes, graph_replays, device_bytes,
        threads (CPU threads the run used)."""
        return self._impl.last_run_stats()


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


class CompiledModule:
    """A callable engine: positional inputs in the model's input order, or by name. numpy in gives
    numpy out, torch in gives torch out (on the inputs' device); no copies on the way. out= (an
    array, or a sequence / dict of them for several outputs) gives the buffers to write into; they
    are what the call returns."""

    def __init__(self, engine: Engine, threads: int = 0):
        self.engine = engine
        self.context = engine.create_context(threads=threads)
        self._run = self.context._impl.run
        self._inputs = engine.input_names
        self._input_set = frozenset(self._inputs)
        self._outputs = [(n, t) for n, t, _ in engine._impl.outputs()]
        self._shapes: dict = {}  # input shapes -> [(output name, shape or None, dtype name)]
        self._threads = threads
        self._stream_contexts: dict = {}  # CUDA stream -> Context
        self.builds = 1

    @property
    def input_names(self) -> list[str]:
        return list(self._inputs)

    @property
    def output_names(self) -> list[str]:
        return [n for n, _ in self._outputs]

    def _feeds(self, args, kwargs) -> list:
        if len(args) > len(self._inputs):
            raise _C.InvalidInput(f"{len(args)} inputs given; the model takes {len(self._inputs)}: {self._inputs}")
        values = list(args) + [None] * (len(self._inputs) - len(args))
        for k, v in kwargs.items():
            if k not in self._input_set:
                raise _C.InvalidInput(f"'{k}' is not an input of this model; its inputs are {self._inputs}")
            i = self._inputs.index(k)
            if i < len(args):
                raise _C.InvalidInput(f"input '{k}' given twice (by position and by name)")
            values[i] = v
        missing = [n for n, v in zip(self._inputs, values) if v is None]
        if missing:
            raise _C.InvalidInput(f"missing input{'s' if len(missing) > 1 else ''} {missing}; the model takes "
                                  f"{self._inputs}")
        return values

    def _plan(self, key, names, values) -> list:
        shapes = self.context.output_shapes(dict(zip(names, key)))
        plan = [(name, None if any(d < 0 for d in shapes[name]) else tuple(shapes[name]), dt)
                for name, dt in self._outputs]
        if len(self._shapes) >= 1024:
            self._shapes.clear()
        self._shapes[key] = plan
        return plan

    def _call_values(self, args, kwargs):
        """An engine with sequences or optionals: lists and None in, lists and None out."""
        if len(args) > len(self._inputs):
            raise _C.InvalidInput(f"{len(args)} inputs given; the model takes {len(self._inputs)}: {self._inputs}")
        feeds = dict(zip(self._inputs, args))
        for k, v in kwargs.items():
            if k not in self._input_set:
                raise _C.InvalidInput(f"'{k}' is not an input of this model; its inputs are {self._inputs}")
            if k in feeds:
                raise _C.InvalidInput(f"input '{k}' given twice (by position and by name)")
            feeds[k] = v
        missing = [n for n in self._inputs if n not in feeds]
        if missing:
            raise _C.InvalidInput(f"missing input{'s' if len(missing) > 1 else ''} {missing}; the model takes "
                                  f"{self._inputs}")
        res = self.context.run(feeds)
        outs = [res[n] for n in self.output_names]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def __call__(self, *args, **kwargs):
        if self.context._boxed:
            if "out" in kwargs and "out" not in self._input_set:
                raise _C.InvalidInput("out= is for models with tensor outputs only; this one has sequences or optionals")
            return self._call_values(args, kwargs)
        out = kwargs.pop("out", None) if "out" not in self._input_set else None
        names = self._inputs
        values = args if not kwargs and len(args) == len(names) else self._feeds(args, kwargs)
        # What reaches the engine: numpy arrays as they are, CPU torch tensors as numpy views of the
        # same memory (cheaper to hand over than DLPack), other tensors (CUDA, bfloat16) as they are.
        arrays = []
        raw = {}
        device = None
        on_cpu = True
        for i, v in enumerate(values):
            if type(v) is np.ndarray:
                kind = v.dtype.kind
                if kind == "V" or (kind == "f" and v.dtype.itemsize == 1):  # ml_dtypes: bfloat16, float8, ...
                    t = _ML_TO_DYNRT.get(v.dtype.name)
                    if t is None:
                        raise _C.InvalidInput(f"input '{names[i]}' has element type {v.dtype}, which dynrt does not take")
                    raw[names[i]] = t
                    v = np.ascontiguousarray(v).view(np.uint8 if v.dtype.itemsize == 1 else np.uint16)
                arrays.append(v if v.flags.c_contiguous else np.ascontiguousarray(v))
            elif _is_torch(v):
                if device is None:
                    device, on_cpu = v.device, v.is_cpu
                arrays.append(_host_view(v if v.is_contiguous() else v.contiguous()))
            else:
                arrays.append(np.ascontiguousarray(v))
        key = tuple(a.shape for a in arrays)
        plan = self._shapes.get(key)
        if plan is None:
            plan = self._plan(key, names, arrays)
        given = self._given_outputs(out) if out is not None else None
        outs, results = {}, {}
        for name, shape, dt in plan:
            if given and name in given:
                o = given[name]
                results[name] = o
                outs[name] = _host_view(o) if _is_torch(o) else o
            elif shape is None:
                continue  # sized by data: the engine allocates it
            elif device is None:
                if dt in _NARROW:
                    results[name] = np.empty(shape, dtype=_NARROW[dt])
                    outs[name] = results[name].view(np.uint8)
                    raw[name] = dt
                elif dt in _NUMPY:
                    outs[name] = results[name] = np.empty(shape, dtype=_NUMPY[dt])
            elif on_cpu and dt in _NUMPY:
                a = outs[name] = np.empty(shape, dtype=_NUMPY[dt])
                results[name] = _torch().from_numpy(a)
            else:
                torch = _torch()
                outs[name] = results[name] = torch.empty(shape, dtype=getattr(torch, dt), device=device)
        run = self._run if on_cpu else self._device_run(device)
        made = run(dict(zip(names, arrays)), outs, raw) if raw else run(dict(zip(names, arrays)), outs)
        if made and _NARROW:
            for name, shape, dt in plan:
                if dt in _NARROW and name in made:  # sized by data: the engine's uint8 bytes, viewed
                    made[name] = made[name].view(_NARROW[dt])
        if len(plan) == 1:
            name = plan[0][0]
            return results[name] if name in results else self._made(made[name], device)
        return tuple(results[name] if name in results else self._made(made[name], device) for name, _, _ in plan)

    def _device_run(self, device):
        """CUDA tensors: run on PyTorch's current stream (a context per stream), so the engine is
        ordered after the kernels that made the inputs and before those that read the outputs. On
        the legacy default stream (which CUDA graphs cannot record) PyTorch's queued work is waited
        for, and the engine's own stream is synchronized at the end of the run."""
        if device.type != "cuda":
            return self._run
        current = _torch().cuda.current_stream(device)
        stream = current.cuda_stream
        if not stream:
            current.synchronize()
            return self._run
        ctx = self._stream_contexts.get(stream)
        if ctx is None:
            ctx = self._stream_contexts[stream] = self.engine.create_context(threads=self._threads, stream=stream)
        return ctx._impl.run

    def _given_outputs(self, out) -> dict:
        if isinstance(out, dict):
            return out
        if isinstance(out, (list, tuple)):
            if len(out) != len(self._outputs):
                raise _C.InvalidInput(f"out= has {len(out)} buffers; the model has {len(self._outputs)} outputs")
            return {name: o for (name, _), o in zip(self._outputs, out) if o is not None}
        if len(self._outputs) != 1:
            raise _C.InvalidInput(f"the model has {len(self._outputs)} outputs: give out= as a tuple or dict")
        return {self._outputs[0][0]: out}

    @staticmethod
    def _made(arr, device):
        if device is None:
            return arr
        t = _torch().from_numpy(arr)
        return t if device.type == "cpu" else t.to(device)


def _host_view(t):
    """A CPU torch tensor as a numpy array over the same memory; anything else unchanged."""
    if t.is_cpu:
        try:
            return (t.detach() if t.requires_grad else t).numpy()
        except (TypeError, RuntimeError):  # bfloat16 and other types numpy lacks: DLPack takes them
            return t
    return t


def _torch():
    import torch
    return torch


# Torch-TensorRT options with no dynrt meaning: accepted (so a torch_tensorrt.compile call can be
# renamed), ignored with a warning.
_TRT_ONLY = {"workspace_size", "min_block_size", "torch_executed_ops", "torch_executed_modules", "truncate_double",
             "truncate_long", "use_python_runtime", "optimization_level", "debug", "require_full_compilation",
             "make_refittable", "immutable_weights", "cache_built_engines", "reuse_cached_engines", "use_fast_partitioner",
             "enable_experimental_decompositions", "dla_sram_size", "dla_local_dram_size", "dla_global_dram_size",
             "hardware_compatible", "engine_capability", "num_avg_timing_iters", "sparse_weights",
             "assume_dynamic_shape_support", "use_explicit_typing", "strip_engine_weights", "tiling_optimization_level",
             "l2_limit_for_tiling", "offload_module_to_cpu", "pass_through_build_failures", "allow_shape_tensors",
             "refit_identical_engine_weights", "lazy_engine_init", "enable_weight_streaming", "arg_inputs",
             "kwarg_inputs"}


def _as_input(x) -> Input:
    """An Input, or an example tensor / array (Torch-TensorRT accepts those): its exact shape."""
    if isinstance(x, Input):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return Input(shape=tuple(x.shape), dtype=x.dtype)
    raise _C.InvalidConfig(f"inputs: expected dynrt.Input or an example tensor, got {type(x).__name__}")


def compile(model, inputs: Sequence[Input] | None = None, *, device="cpu", precision=None, ir: str = "aot",
            enabled_precisions: Iterable | None = None, dims: dict | None = None, relations: Sequence[str] = (),
            threads: int = 0, tune: bool | str = True, timing_cache_path: str | None = None, **options):
    """Builds an engine for `model` (an ONNX path, bytes or ModelProto, a torch.nn.Module, or a
    torch.export.ExportedProgram) valid for every shape the Inputs allow, and returns it as a
    callable module.

    inputs: dynrt.Input per model input (or example tensors: their exact shapes). device: "cpu" or
    "cuda". precision: "fp32" (default), "fp16", "bf16" (or torch dtypes); enabled_precisions=
    {torch.float16} is accepted as Torch-TensorRT spells it. ir: "aot" (also "dynamo", "default")
    builds now; "jit" (also "torch_compile") builds on the first call and widens its range when a
    call falls outside it (dynrt.JitModule; options max_dim, dynamic_dims). dims: ranges of named
    dimensions of an ONNX model, {"batch": (1, 8, 32)}. relations: extra constraints between
    dimensions ("seq == 2*half"). tune: on a GPU, time the GEMMs' candidate algorithms at the opt shape
    and keep the fastest there (True or "opt", the default), also at min, max and the powers of two between ("range"), or
    not (False or "off"); timing_cache_path: a file keeping those timings between builds, as in
    Torch-TensorRT."""
    mode = {"aot": "aot", "dynamo": "aot", "default": "aot", "jit": "jit", "torch_compile": "jit"}.get(ir)
    if mode is None:
        raise _C.InvalidConfig(f"ir '{ir}': expected 'aot' or 'jit' (or Torch-TensorRT's 'dynamo', 'torch_compile')")
    ignored = sorted(k for k in options if k in _TRT_ONLY)
    if ignored:
        warnings.warn(f"dynrt.compile ignores the TensorRT options {ignored}", UserWarning, stacklevel=2)
    options = {k: v for k, v in options.items() if k not in _TRT_ONLY}
    prec = _precision(precision, enabled_precisions, device)
    providers = _providers(device)
    inputs = None if inputs is None else [_as_input(x) for x in inputs]
    if mode == "jit":
        from ._jit import JitModule
        unknown = sorted(set(options) - {"max_dim", "dynamic_dims", "dim_names", "dim_limits"})
        if unknown:
            raise _C.InvalidConfig(f"unknown options for ir='jit': {unknown}")
        return JitModule(model, inputs=inputs, device=device, precision=prec, threads=threads, tune=tune,
                         timing_cache_path=timing_cache_path, **options)
    if options:
        raise _C.InvalidConfig(f"unknown options for ir='aot': {sorted(options)}")
    if _is_torch_module(model):
        from ._torch import export_module
        data, inputs = export_module(model, inputs)
    elif type(model).__name__ == "ExportedProgram":
        from ._torch import export_program
        data = export_program(model)
    else:
        data = _model_bytes(model)
    profiles, rels = _profile_for_onnx(data, inputs, dims)
    engine = Engine(_C.build(data, profiles, list(rels) + list(relations), providers, prec, tune=_tune_mode(tune),
                             timing_cache=str(timing_cache_path or "")))
    return CompiledModule(engine, threads=threads)


def _tune_mode(tune) -> str:
    if tune is True or tune is False:
        return "opt" if tune else "off"
    return str(tune)


def _is_torch_module(model) -> bool:
    return any(c.__module__.startswith("torch") and c.__name__ == "Module" for c in type(model).__mro__)


def save(module, path) -> None:
    """Writes a compiled module's engine (dynrt.load reads it back)."""
    engine = module.engine if isinstance(module, (CompiledModule,)) or hasattr(module, "engine") else module
    if engine is None:
        raise _C.InvalidConfig("this JIT module has not built an engine yet: call it first")
    engine.save(path)


def load(path, threads: int = 0) -> CompiledModule:
    """A module from an engine file written by dynrt.save or `dynrt build`."""
    return CompiledModule(Engine(_C.load(os.fspath(path))), threads=threads)
