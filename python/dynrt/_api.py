"""The AOT API: Input, compile, save, load, Engine and CompiledModule."""
from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np

from . import _C

_NUMPY = {"float32": np.float32, "float16": np.float16, "float64": np.float64, "int8": np.int8, "int16": np.int16,
          "int32": np.int32, "int64": np.int64, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32,
          "uint64": np.uint64, "bool": np.bool_}


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
    return np.dtype(dtype).name


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


def _precision(precision, enabled_precisions) -> str:
    if precision is None and enabled_precisions:
        names = {dtype_name(p) for p in enabled_precisions}
        precision = "fp16" if "float16" in names else "bf16" if "bfloat16" in names else "fp32"
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
        return {"inputs": [{"name": n, "dtype": t, "dims": d} for n, t, d in self._impl.inputs()],
                "outputs": [{"name": n, "dtype": t, "dims": d} for n, t, d in self._impl.outputs()],
                "providers": self._impl.providers(), "text": self._impl.describe()}

    @property
    def input_names(self) -> list[str]:
        return [n for n, _, _ in self._impl.inputs()]

    @property
    def output_names(self) -> list[str]:
        return [n for n, _, _ in self._impl.outputs()]

    def create_context(self, threads: int = 0, max_cached_plans: int = 64, capture_graphs: bool = True, stream=0):
        """A context for runs from one thread: context.run({name: array}, [outputs]) -> {name: array}."""
        return Context(self, self._impl.create_context(threads, max_cached_plans, capture_graphs, int(stream or 0)))


class Context:
    def __init__(self, engine: Engine, impl):
        self.engine = engine
        self._impl = impl

    def run(self, inputs: dict, outputs: dict | None = None) -> dict:
        """Runs on the given arrays (numpy or torch, any device the engine uses); outputs given
        are written in place, the others come back as numpy arrays."""
        outputs = {} if outputs is None else outputs
        made = self._impl.run(inputs, outputs)
        return {**outputs, **made}

    def output_shapes(self, input_shapes: dict) -> dict:
        return self._impl.output_shapes({k: list(v) for k, v in input_shapes.items()})

    @property
    def plans_created(self) -> int:
        return self._impl.plans_created

    def last_run_stats(self) -> dict:
        return self._impl.last_run_stats()


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


class CompiledModule:
    """A callable engine: positional inputs in the model's input order, or by name. numpy in gives
    numpy out, torch in gives torch out (on the inputs' device); no copies on the way."""

    def __init__(self, engine: Engine, threads: int = 0):
        self.engine = engine
        self.context = engine.create_context(threads=threads)
        self._inputs = engine.input_names
        self._outputs = [(n, t) for n, t, _ in engine._impl.outputs()]
        self._shapes: dict = {}  # input shapes -> output shapes (plans are cached the same way)
        self.builds = 1

    def __call__(self, *args, **kwargs):
        if len(args) > len(self._inputs):
            raise _C.InvalidInput(f"{len(args)} inputs given; the model takes {len(self._inputs)}: {self._inputs}")
        feeds = dict(zip(self._inputs, args))
        for k, v in kwargs.items():
            if k in feeds:
                raise _C.InvalidInput(f"input '{k}' given twice")
            feeds[k] = v
        torch_mode = any(_is_torch(v) for v in feeds.values())
        if torch_mode:
            feeds = {k: (v if _is_torch(v) else _torch().from_numpy(np.asarray(v))).contiguous() for k, v in feeds.items()}
            device = next(iter(feeds.values())).device
        else:
            feeds = {k: np.ascontiguousarray(v) for k, v in feeds.items()}
        key = tuple((k, tuple(v.shape)) for k, v in sorted(feeds.items()))
        shapes = self._shapes.get(key)
        if shapes is None:
            shapes = self.context.output_shapes({k: tuple(v.shape) for k, v in feeds.items()})
            if len(self._shapes) < 1024:
                self._shapes[key] = shapes
        outs = {}
        for name, dt in self._outputs:
            dims = shapes[name]
            if any(d < 0 for d in dims):
                continue  # sized by data: the engine allocates it
            if torch_mode:
                torch = _torch()
                outs[name] = torch.empty(dims, dtype=getattr(torch, dt), device=device)
            else:
                outs[name] = np.empty(dims, dtype=_NUMPY[dt])
        made = self.context._impl.run(feeds, outs)
        result = []
        for name, _ in self._outputs:
            if name in outs:
                result.append(outs[name])
            else:
                arr = made[name]
                result.append(_torch().from_numpy(arr).to(device) if torch_mode else arr)
        return result[0] if len(result) == 1 else tuple(result)


def _torch():
    import torch
    return torch


def compile(model, inputs: Sequence[Input] | None = None, *, device="cpu", precision=None, ir: str = "aot",
            enabled_precisions: Iterable | None = None, dims: dict | None = None, relations: Sequence[str] = (),
            threads: int = 0, **jit_options):
    """Builds an engine for `model` (an ONNX path, bytes or ModelProto, or a torch.nn.Module) valid
    for every shape the Inputs allow, and returns it as a callable module.

    device: "cpu" or "cuda". precision: "fp32" (default), "fp16", "bf16" (or torch dtypes;
    enabled_precisions={torch.float16} is accepted as Torch-TensorRT spells it). ir: "aot"
    (also "dynamo", "default") builds now; "jit" (also "torch_compile") builds on the first call
    and widens its range when a call falls outside it (dynrt.JitModule). dims: ranges of named
    dimensions of an ONNX model, {"batch": (1, 8, 32)}."""
    mode = {"aot": "aot", "dynamo": "aot", "default": "aot", "jit": "jit", "torch_compile": "jit"}.get(ir)
    if mode is None:
        raise _C.InvalidConfig(f"ir '{ir}': expected 'aot' or 'jit'")
    prec = _precision(precision, enabled_precisions)
    providers = _providers(device)
    if mode == "jit":
        from ._jit import JitModule
        return JitModule(model, inputs=inputs, device=device, precision=prec, threads=threads, **jit_options)
    if jit_options:
        raise _C.InvalidConfig(f"unknown options for ir='aot': {sorted(jit_options)}")
    if _is_torch_module(model):
        from ._torch import export_module
        data, inputs = export_module(model, inputs)
    else:
        data = _model_bytes(model)
    profiles, rels = _profile_for_onnx(data, inputs, dims)
    engine = Engine(_C.build(data, profiles, list(rels) + list(relations), providers, prec))
    return CompiledModule(engine, threads=threads)


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
