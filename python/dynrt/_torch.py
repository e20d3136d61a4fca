"""torch.nn.Module -> ONNX, through torch.export (torch.onnx.export(dynamo=True)) with dynamic
shapes derived from dynrt Inputs: a dim whose min and max differ becomes a torch.export.Dim with
that range, and dims that share a name share one Dim."""
from __future__ import annotations

from typing import Sequence

from . import _C
from ._api import Input


def _example_size(lo: int, opt: int, hi: int) -> int:
    # torch.export specialises sizes 0 and 1: trace a dynamic dim at 2 or more.
    return opt if opt >= 2 or hi < 2 else max(2, lo)


def _example(torch, inp: Input):
    shape = [(_example_size(lo, op, hi) if lo != hi else lo)
             for lo, op, hi in zip(inp.min_shape, inp.opt_shape, inp.max_shape)]
    dt = getattr(torch, inp.dtype)
    if dt.is_floating_point:
        return torch.randn(shape, dtype=dt)
    if dt == torch.bool:
        return torch.zeros(shape, dtype=dt)
    return torch.randint(0, 2, shape, dtype=dt)


def export_module(model, inputs: Sequence[Input] | None) -> tuple[bytes, list[Input]]:
    import torch
    if not inputs:
        raise _C.InvalidConfig("compiling a torch.nn.Module needs inputs=[dynrt.Input(...), ...], one per "
                               "forward() argument")
    dims: dict = {}
    dynamic_shapes, examples, named = [], [], []
    for i, inp in enumerate(inputs):
        spec = {}
        for d in range(len(inp.min_shape)):
            if not inp.is_dynamic(d):
                continue
            name = inp.dim_names[d] or f"input{i}_dim{d}"
            if name not in dims:
                dims[name] = torch.export.Dim(name, min=inp.min_shape[d], max=inp.max_shape[d])
            spec[d] = dims[name]
        dynamic_shapes.append(spec or None)
        examples.append(_example(torch, inp))
        renamed = Input(inp.min_shape, inp.opt_shape, inp.max_shape, dtype=inp.dtype,
                        name=inp.name or f"input_{i}", dim_names=inp.dim_names)
        named.append(renamed)
    model = model.eval()
    try:
        with torch.no_grad():
            program = torch.onnx.export(model, tuple(examples), dynamo=True, dynamic_shapes=tuple(dynamic_shapes),
                                        input_names=[inp.name for inp in named], verbose=False)
    except Exception as e:  # noqa: BLE001 - the exporter's own message says what to change
        raise _C.Unsupported(f"torch.export could not export {type(model).__name__} with these Inputs: "
                             f"{type(e).__name__}: {e}") from e
    return program.model_proto.SerializeToString(), named
