"""JIT mode: build on the first call with a range around the observed shapes, never rebuild
inside the range, widen it (to the next power of two, at least doubling) and rebuild once when a
call falls outside. builds and compile_seconds count the work."""
from __future__ import annotations

import time
from typing import Sequence

from . import _C
from ._api import CompiledModule, Engine, Input, _is_torch_module, _model_bytes, _profile_for_onnx, _providers, \
    dtype_name


def _pow2(v: int) -> int:
    p = 1
    while p < v:
        p *= 2
    return p


class JitModule:
    def __init__(self, model, inputs: Sequence[Input] | None = None, *, device="cpu", precision="fp32",
                 threads: int = 0, max_dim: int = 1 << 16, dynamic_dims: dict | None = None):
        self.model = model
        self.device = device
        self.precision = precision
        self.threads = threads
        self.max_dim = max_dim
        self.dynamic_dims = {int(k): set(v) for k, v in (dynamic_dims or {}).items()}
        self.builds = 0
        self.compile_seconds = 0.0
        self._module: CompiledModule | None = None
        self._ranges: list[list[tuple[int, int] | None]] | None = None  # per input, per dim: (lo, hi) or None=static
        self._static: list[list[int]] | None = None
        self._dtypes: list[str] | None = None
        self._names: list[list[str | None]] | None = None
        self._torch = _is_torch_module(model)
        self._onnx = None if self._torch else _model_bytes(model)
        self._fixed = None  # ONNX dims that are numbers in the model (cannot vary)
        if self._onnx is not None:
            self._fixed = [[d.isdigit() for d in dims] for _, _, dims in _C.model_inputs(self._onnx)]
        if inputs:  # ranges given up front: start from them
            self._ranges = [[(i.min_shape[d], i.max_shape[d]) if i.is_dynamic(d) else None
                             for d in range(len(i.min_shape))] for i in inputs]
            self._static = [list(i.opt_shape) for i in inputs]
            self._dtypes = [i.dtype for i in inputs]
            self._names = [list(i.dim_names) for i in inputs]

    @property
    def engine(self) -> Engine | None:
        return self._module.engine if self._module else None

    def _covers(self, shapes) -> bool:
        if self._ranges is None or len(shapes) != len(self._ranges):
            return False
        for s, rs, st in zip(shapes, self._ranges, self._static):
            if len(s) != len(rs):
                return False
            for d, v in enumerate(s):
                r = rs[d]
                if (r is None and v != st[d]) or (r is not None and not r[0] <= v <= r[1]):
                    return False
        return True

    def _can_vary(self, i: int, d: int) -> bool:
        return self._fixed is None or i >= len(self._fixed) or d >= len(self._fixed[i]) or not self._fixed[i][d]

    def _widen(self, shapes, dtypes) -> None:
        if self._ranges is None:  # first call: batch dims (dim 0) dynamic, the rest as seen
            self._ranges, self._static, self._names = [], [], []
            self._dtypes = list(dtypes)
            for i, s in enumerate(shapes):
                dyn = {0} | self.dynamic_dims.get(i, set())
                self._ranges.append([(1, min(self.max_dim, max(_pow2(v), 2))) if d in dyn and self._can_vary(i, d)
                                     else None for d, v in enumerate(s)])
                self._static.append(list(s))
                # Dims of equal size at the same position share a name (the model may require it).
                self._names.append([f"d{d}_{v}" for d, v in enumerate(s)])
            return
        for i, s in enumerate(shapes):
            for d, v in enumerate(s):
                r = self._ranges[i][d]
                if r is None and v != self._static[i][d]:
                    if not self._can_vary(i, d):
                        raise _C.ShapeOutOfRange(f"input {i} dim {d} is {v}; the model fixes it at "
                                                 f"{self._static[i][d]}")
                    self._ranges[i][d] = (1, min(self.max_dim, max(_pow2(max(v, self._static[i][d])), 2)))
                elif r is not None and not r[0] <= v <= r[1]:
                    hi = min(self.max_dim, max(_pow2(v), 2 * r[1]))
                    if v > hi:
                        raise _C.ShapeOutOfRange(f"input {i} dim {d} is {v}, over the JIT limit max_dim={self.max_dim}")
                    self._ranges[i][d] = (1, hi)
                self._static[i][d] = v

    def _inputs(self) -> list[Input]:
        out = []
        for i, (rs, st) in enumerate(zip(self._ranges, self._static)):
            lo = [r[0] if r else v for r, v in zip(rs, st)]
            hi = [r[1] if r else v for r, v in zip(rs, st)]
            opt = [min(max(v, a), b) for v, a, b in zip(st, lo, hi)]
            out.append(Input(lo, opt, hi, dtype=self._dtypes[i], dim_names=self._names[i]))
        return out

    def _build(self) -> None:
        t0 = time.perf_counter()
        inputs = self._inputs()
        if self._torch:
            from ._torch import export_module
            data, inputs = export_module(self.model, inputs)
        else:
            data = self._onnx
        profiles, rels = _profile_for_onnx(data, inputs, None)
        engine = Engine(_C.build(data, profiles, rels, _providers(self.device), self.precision))
        self._module = CompiledModule(engine, threads=self.threads)
        self.builds += 1
        self.compile_seconds += time.perf_counter() - t0

    def __call__(self, *args, **kwargs):
        values = list(args) + list(kwargs.values())
        shapes = [tuple(v.shape) for v in values]
        if self._module is None or not self._covers(shapes):
            self._widen(shapes, [dtype_name(v.dtype) for v in values])
            self._build()
        return self._module(*args, **kwargs)
