"""torch.nn.Module -> ONNX, through torch.export (torch.onnx.export(dynamo=True)) with dynamic
shapes derived from dynrt Inputs: a dim whose min and max differ becomes a torch.export.Dim with
that range, and dims that share a name share one Dim. Graph inputs are named after forward()'s
parameters (or Input.name), so a compiled module can be called by keyword."""
from __future__ import annotations

import inspect
import re
import warnings
from typing import Sequence

from . import _C
from ._api import Input


def _example_size(lo: int, opt: int, hi: int) -> int:
    # torch.export specialises sizes 0 and 1: trace a dynamic dim at 2 or more.
    return opt if opt >= 2 or hi < 2 else max(2, lo)


def _example(torch, inp: Input, device):
    shape = [(_example_size(lo, op, hi) if lo != hi else lo)
             for lo, op, hi in zip(inp.min_shape, inp.opt_shape, inp.max_shape)]
    dt = getattr(torch, inp.dtype)
    if dt.is_floating_point:
        return torch.randn(shape, dtype=dt, device=device)
    if dt == torch.bool:
        return torch.ones(shape, dtype=dt, device=device)
    return torch.randint(0, 2, shape, dtype=dt, device=device)


def _module_device(torch, model):
    """Where the module's weights live: the example inputs must be there too (a CUDA module
    traced with CPU examples fails in torch.export's device propagation)."""
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")


def forward_names(model) -> list[str]:
    """forward()'s positional parameter names (no *args/**kwargs)."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    return name if name and not name[0].isdigit() else f"d_{name}"


def export_module(model, inputs: Sequence[Input] | None,
                  export_ranges: dict | None = None) -> tuple[bytes, list[Input]]:
    """The model as ONNX bytes plus the Inputs named after the graph inputs. export_ranges:
    {dim name: (lo, hi)}, trace those dynamic dims with that range instead of the Input's own (the
    JIT exports once with a wide range and only rebuilds the engine when its profile widens)."""
    import torch
    if not inputs:
        raise _C.InvalidConfig("compiling a torch.nn.Module needs inputs=[dynrt.Input(...), ...], one per "
                               "forward() argument")
    params = forward_names(model)
    device = _module_device(torch, model)
    dims: dict = {}
    ranges: dict = {}
    dynamic_shapes, examples, named = [], [], []
    for i, inp in enumerate(inputs):
        spec = {}
        for d in range(len(inp.min_shape)):
            if not inp.is_dynamic(d):
                continue
            raw = inp.dim_names[d] or f"input{i}_dim{d}"
            name = _identifier(raw)
            lo, hi = inp.min_shape[d], inp.max_shape[d]
            if export_ranges and raw in export_ranges:
                lo, hi = min(lo, export_ranges[raw][0]), max(hi, export_ranges[raw][1])
            if name not in dims:
                dims[name] = torch.export.Dim(name, min=lo, max=hi)
                ranges[name] = (lo, hi)
            elif ranges[name] != (lo, hi):
                raise _C.InvalidConfig(f"dimension '{inp.dim_names[d]}' has range {list(ranges[name])} in one input "
                                       f"and {[lo, hi]} in another; a shared dim_name needs one range")
            spec[d] = dims[name]
        dynamic_shapes.append(spec or None)
        examples.append(_example(torch, inp, device))
        name = inp.name or (params[i] if i < len(params) else f"input_{i}")
        named.append(Input(inp.min_shape, inp.opt_shape, inp.max_shape, dtype=inp.dtype, name=name,
                           dim_names=inp.dim_names))
    if len(set(i.name for i in named)) != len(named):
        raise _C.InvalidConfig(f"two Inputs have the same name: {[i.name for i in named]}")
    model = model.eval()
    # torch.export first, on its own: torch.onnx.export would fall back to strategies (draft
    # export, tracing) that silently specialise a dim the Inputs make dynamic.
    try:
        with torch.no_grad():
            exported = torch.export.export(model, tuple(examples), dynamic_shapes=tuple(dynamic_shapes), strict=False)
    except Exception as e:  # noqa: BLE001 - the exporter's own message says what to change
        raise _C.Unsupported(f"torch.export could not export {type(model).__name__} with these Inputs: "
                             f"{type(e).__name__}: {e}") from e
    data = _to_onnx(exported, type(model).__name__, dynamic_shapes=tuple(dynamic_shapes),  # names the dims
                    input_names=[inp.name for inp in named])
    return data, named


def _to_onnx(exported, what: str, **kwargs) -> bytes:
    import torch
    try:
        with warnings.catch_warnings():
            # dims that share a Dim: "The axis name: batch will not be used, since it shares ..."
            warnings.filterwarnings("ignore", message=".*will not be used, since it shares the same shape")
            program = torch.onnx.export(exported, dynamo=True, verbose=False, **kwargs)
    except Exception as e:  # noqa: BLE001
        raise _C.Unsupported(f"torch.onnx.export could not convert {what} to ONNX: {type(e).__name__}: {e}") from e
    return program.model_proto.SerializeToString()


def export_program(exported) -> bytes:
    """A torch.export.ExportedProgram (its dynamic dims as it was exported with) as ONNX bytes."""
    names = [s.arg.name for s in exported.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    return _to_onnx(exported, "the ExportedProgram", input_names=names)
