"""JIT mode: build on the first call with a range around the observed shapes, never rebuild
inside the range, widen it (to the next power of two, at least doubling) and rebuild once when a
call falls outside. A torch.nn.Module is exported once per set of dynamic dims, with a wide range
(max_dim), so widening only rebuilds the engine from the same ONNX. builds, exports and
compile_seconds count the work."""
from __future__ import annotations

import time
from typing import Sequence

from . import _C
from ._api import CompiledModule, Engine, Input, _is_torch_module, _model_bytes, _profile_for_onnx, _providers, \
    _tune_mode, dtype_name


def _pow2(v: int) -> int:
    p = 1
    while p < v:
        p *= 2
    return p


class JitModule:
    """dynrt.compile(model, ir="jit"): a module that builds on its first call.

    Without Inputs, dim 0 of every input is dynamic from the start (dynamic_dims={input: [dims]}
    adds more), the other dims are fixed at the first call's sizes until a call changes them.
    dim_names=[[name or None per dim] per input] fixes which dims are dynamic (a name) and which
    never change (None); dims with one name are one dimension (the torch.compile backend passes
    dynamo's symbols this way). Dims of one size at the same position in several inputs share a
    name until a call gives them different sizes."""

    def __init__(self, model, inputs: Sequence[Input] | None = None, *, device="cpu", precision="fp32",
                 threads: int = 0, max_dim: int = 1 << 16, dynamic_dims: dict | None = None,
                 dim_names: Sequence[Sequence[str | None]] | None = None, dim_limits: dict | None = None,
                 tune: bool | str = True, timing_cache_path: str | None = None):
        self.model = model
        self.tune = tune
        self.timing_cache_path = str(timing_cache_path or "")
        self.device = device
        self.precision = precision
        self.threads = threads
        self.max_dim = max_dim
        self.dynamic_dims = {int(k): set(v) for k, v in (dynamic_dims or {}).items()}
        self.builds = 0
        self.exports = 0
        self.compile_seconds = 0.0
        self._module: CompiledModule | None = None
        self._spec = [list(n) for n in dim_names] if dim_names is not None else None
        # {name: (lo, hi or None)}: the sizes a named dim can take (dynamo's range for its symbol).
        # With a bound, the first build covers all of it; without, ranges grow by powers of two.
        self._limits = {k: (int(lo), None if hi is None else int(hi)) for k, (lo, hi) in (dim_limits or {}).items()}
        # Per input, per dim: a dimension name (dynamic) or None (static, at _static's size).
        self._names: list[list[str | None]] | None = None
        self._ranges: dict[str, tuple[int, int]] = {}
        self._static: list[list[int]] | None = None
        self._dtypes: list[str] | None = None
        self._dtype_key = None
        self._exported: dict = {}  # dynamic-dim pattern -> (onnx bytes, graph input names)
        self._torch = _is_torch_module(model)
        self._onnx = None if self._torch else _model_bytes(model)
        self._fixed = None  # ONNX dims that are numbers in the model (cannot vary)
        if self._torch:
            from ._torch import forward_names
            self._input_names = forward_names(model)
        else:
            infos = _C.model_inputs(self._onnx)
            self._input_names = [n for n, _, _ in infos]
            self._fixed = [[d.isdigit() for d in dims] for _, _, dims in infos]
        if inputs:  # ranges given up front: start from them
            self._names, self._static, self._dtypes = [], [], []
            for i, inp in enumerate(inputs):
                names = []
                for d in range(len(inp.min_shape)):
                    if not inp.is_dynamic(d):
                        names.append(None)
                        continue
                    n = inp.dim_names[d] or f"i{i}_d{d}"
                    names.append(n)
                    lo, hi = self._ranges.get(n, (inp.min_shape[d], inp.max_shape[d]))
                    self._ranges[n] = (min(lo, inp.min_shape[d]), max(hi, inp.max_shape[d]))
                self._names.append(names)
                self._static.append(list(inp.opt_shape))
                self._dtypes.append(inp.dtype)
                self._dtypes.append(inp.dtype)

    @property
    def engine(self) -> Engine | None:
        return self._module.engine if self._module else None

    @property
    def module(self) -> CompiledModule | None:
        """The CompiledModule built last (None before the first call)."""
        return self._module

    def ranges(self) -> list[list[tuple[int, int]]]:
        """Per input, per dim: the (min, max) the current engine takes."""
        if self._names is None:
            return []
        return [[self._ranges[n] if n else (v, v) for n, v in zip(names, st)]
                for names, st in zip(self._names, self._static)]

    def _covers(self, shapes) -> bool:
        if self._names is None or len(shapes) != len(self._names):
            return False
        seen = {}
        for s, names, st in zip(shapes, self._names, self._static):
            if len(s) != len(names):
                return False
            for v, n, fixed in zip(s, names, st):
                if n is None:
                    if v != fixed:
                        return False
                else:
                    lo, hi = self._ranges[n]
                    if not lo <= v <= hi or seen.setdefault(n, v) != v:
                        return False
        return True

    def _can_vary(self, i: int, d: int) -> bool:
        return self._fixed is None or i >= len(self._fixed) or d >= len(self._fixed[i]) or not self._fixed[i][d]

    def _range(self, v: int, old: tuple[int, int] | None = None, name: str | None = None) -> tuple[int, int]:
        lim_lo, lim_hi = self._limits.get(name, (1, None))
        if lim_hi is not None:
            if not min(lim_lo, 1) <= v <= lim_hi:
                raise _C.ShapeOutOfRange(f"dimension '{name}' is {v}, outside the range [{lim_lo}, {lim_hi}] this "
                                         "module was made for")
            return min(lim_lo, v), lim_hi
        if v > self.max_dim:
            raise _C.ShapeOutOfRange(f"a dimension is {v}, over the JIT limit max_dim={self.max_dim}")
        lo = min(lim_lo, v)
        if old is None:
            return lo, min(self.max_dim, max(_pow2(v), 2))
        lo = min(lo, old[0])
        if v <= old[1]:
            return lo, old[1]
        return lo, min(self.max_dim, max(_pow2(v), 2 * old[1]))

    def _fresh(self, base: str) -> str:
        n, k = base, 1
        while n in self._ranges:
            n, k = f"{base}_{k}", k + 1
        return n

    def _first(self, shapes, dtypes) -> None:
        self._names, self._static, self._dtypes, self._ranges = [], [], list(dtypes), {}
        if self._spec is not None and len(self._spec) != len(shapes):
            raise _C.InvalidConfig(f"dim_names has {len(self._spec)} entries for {len(shapes)} inputs")
        for i, s in enumerate(shapes):
            names = []
            for d, v in enumerate(s):
                if self._spec is not None:
                    n = self._spec[i][d] if d < len(self._spec[i]) else None
                elif (d == 0 or d in self.dynamic_dims.get(i, ())) and self._can_vary(i, d):
                    # Dims of equal size at the same position share a name (the model may need it).
                    n = f"d{d}_{v}"
                else:
                    n = None
                if n is not None:
                    self._ranges[n] = self._range(v, self._ranges.get(n), n)
                names.append(n)
            self._names.append(names)
            self._static.append(list(s))

    def _widen(self, shapes, dtypes) -> None:
        if self._names is None:
            self._first(shapes, dtypes)
            return
        if len(shapes) != len(self._names) or any(len(s) != len(n) for s, n in zip(shapes, self._names)):
            raise _C.InvalidInput(f"inputs of shapes {[tuple(s) for s in shapes]} do not match the ranks this module "
                                  f"was built for ({[len(n) for n in self._names]})")
        self._dtypes = list(dtypes)
        seen = {}
        grown = {}  # (dim, old size, new size) -> name: static dims that start to vary together stay one dim
        for i, s in enumerate(shapes):
            for d, v in enumerate(s):
                n = self._names[i][d]
                if n is None:
                    if v == self._static[i][d]:
                        continue
                    if not self._can_vary(i, d):
                        raise _C.ShapeOutOfRange(f"input {i} dim {d} is {v}; the model fixes it at "
                                                 f"{self._static[i][d]}")
                    key = (d, self._static[i][d], v)
                    n = grown.get(key)
                    if n is None:
                        n = grown[key] = self._fresh(f"d{d}_{self._static[i][d]}_{v}")
                        self._ranges[n] = self._range(max(v, self._static[i][d]))
                    self._names[i][d] = n
                elif n in seen and seen[n] != v:  # sizes that were equal no longer are: a dim of its own
                    old = self._ranges[n]
                    n = self._fresh(f"i{i}_d{d}")
                    self._ranges[n] = self._range(v, old)
                    self._names[i][d] = n
                else:
                    self._ranges[n] = self._range(v, self._ranges[n], n)
                seen[n] = v
                self._static[i][d] = v

    def _inputs(self) -> list[Input]:
        out = []
        for i, (names, st) in enumerate(zip(self._names, self._static)):
            lo = [self._ranges[n][0] if n else v for n, v in zip(names, st)]
            hi = [self._ranges[n][1] if n else v for n, v in zip(names, st)]
            out.append(Input(lo, st, hi, dtype=self._dtypes[i], dim_names=names))
        return out

    def _export(self, inputs: list[Input]) -> tuple[bytes, list[Input]]:
        from ._torch import export_module
        key = (tuple(tuple(i.dim_names) for i in inputs), tuple(self._dtypes))
        hit = self._exported.get(key)
        if hit is not None:
            data, names = hit
            return data, [Input(i.min_shape, i.opt_shape, i.max_shape, dtype=i.dtype, name=n, dim_names=i.dim_names)
                          for i, n in zip(inputs, names)]
        self.exports += 1
        wide = {}
        for n in {n for i in inputs for n in i.dim_names if n}:
            lo, hi = self._limits.get(n, (1, None))
            wide[n] = (min(lo, self._ranges[n][0]), self.max_dim if hi is None else hi)
        try:  # once for every range this set of dims may grow to
            data, named = export_module(self.model, inputs, export_ranges=wide)
            self._exported[key] = (data, [i.name for i in named])
        except _C.Unsupported:  # the model only exports for a narrower range: this one
            data, named = export_module(self.model, inputs)
        return data, named

    def _build(self) -> None:
        t0 = time.perf_counter()
        inputs = self._inputs()
        if self._torch:
            data, inputs = self._export(inputs)
        else:
            data = self._onnx
        profiles, rels = _profile_for_onnx(data, inputs, None)
        engine = Engine(_C.build(data, profiles, rels, _providers(self.device), self.precision, tune=_tune_mode(self.tune),
                                 timing_cache=self.timing_cache_path))
        self._module = CompiledModule(engine, threads=self.threads)
        self.builds += 1
        self.compile_seconds += time.perf_counter() - t0

    def _values(self, args, kwargs) -> list:
        if not kwargs:
            return list(args)
        names = self._input_names
        values = list(args) + [None] * max(0, len(names) - len(args))
        for k, v in kwargs.items():
            if k not in names:
                raise _C.InvalidInput(f"'{k}' is not an input of this model; its inputs are {names}")
            i = names.index(k)
            if i < len(args):
                raise _C.InvalidInput(f"input '{k}' given twice (by position and by name)")
            values[i] = v
        if any(v is None for v in values):
            raise _C.InvalidInput(f"missing inputs {[n for n, v in zip(names, values) if v is None]}")
        return values

    def __call__(self, *args, **kwargs):
        out = kwargs.pop("out", None) if "out" not in self._input_names else None
        values = self._values(args, kwargs)
        shapes = [tuple(v.shape) for v in values]
        dkey = tuple(v.dtype for v in values)
        if dkey != self._dtype_key:
            dtypes = [dtype_name(v.dtype) for v in values]
            if self._dtypes is not None and dtypes != self._dtypes:
                self._module = None  # another element type: another export and engine
                if self._names is not None:
                    self._dtypes = dtypes
            self._dtype_key = dkey
        else:
            dtypes = self._dtypes
        if self._module is None or not self._covers(shapes):
            self._widen(shapes, dtypes)
            self._build()
        if out is not None:
            return self._module(*values, out=out)
        return self._module(*values)
