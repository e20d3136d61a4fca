"""torch.compile(model, backend="dynrt"): each graph dynamo hands over runs as a dynrt JIT module
(built on its first call, rebuilt only when a shape leaves its range). Registered through the
torch_dynamo_backends entry point, or explicitly with dynrt.torch_backend.register().

What the backend does with dynamo's graph: parameters and buffers (graph inputs since dynamo
inlines nn.Modules) become constants of the engine; a later call that passes other tensors for them,
or the same ones changed in place, builds again. Size inputs (SymInts) are computed from the
tensor dims they stand for. Dims that are symbols in dynamo's graph are dynamic, dims that share a
symbol are one dimension, the others are fixed (dynamo's guards keep them so). A graph that cannot
be run this way (an int input that is no tensor size, a non-tensor output) runs in eager PyTorch,
with a warning. stats() counts graphs, builds and compile seconds."""
from __future__ import annotations

import re
import warnings

from . import _C
from ._api import _precision
from ._jit import JitModule

builds: list = []  # every JitModule made by the backend (one per graph, another when its weights change)
fallbacks: list = []  # why graphs ran eagerly
_graphs = [0]  # graphs handed to the backend and run by dynrt


def stats() -> dict:
    """graphs (dynamo graphs run by dynrt), builds (engines built), exports, compile_seconds,
    eager_graphs (graphs left to PyTorch)."""
    return {"graphs": _graphs[0], "builds": sum(j.builds for j in builds),
            "exports": sum(j.exports for j in builds),
            "compile_seconds": sum(j.compile_seconds for j in builds), "eager_graphs": len(fallbacks)}


def reset() -> None:
    """Forgets the counted modules (torch._dynamo.reset() drops the compiled graphs themselves)."""
    builds.clear()
    fallbacks.clear()
    _graphs[0] = 0


def _source_name(node) -> str:
    arg = node.meta.get("grapharg")
    src = getattr(arg, "source", None)
    if src is None:
        return ""
    name = getattr(src, "name", "")
    return name() if callable(name) else str(name)


def _is_symbol(expr: str) -> bool:
    return re.fullmatch(r"[A-Za-z_]\w*", expr) is not None


class _Unsupported(Exception):
    pass


def _plan(gm, example_inputs):
    """[(kind, a, b)] per graph input: ("input", k, None) the k-th tensor the engine takes,
    ("const", tensor, None), ("size", k, d) dim d of engine input k, ("int", value, None);
    plus per engine input the dim names (symbol or None) from dynamo's fake tensors."""
    import torch
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(example_inputs):
        raise _Unsupported(f"{len(placeholders)} placeholders for {len(example_inputs)} inputs")
    plan, dim_names, fakes, limits = [], [], [], {}
    for node, ex in zip(placeholders, example_inputs):
        ev = node.meta.get("example_value", ex)
        src = _source_name(node)
        if isinstance(ex, torch.Tensor):
            if isinstance(ex, torch.nn.Parameter) or "._parameters[" in src or "._buffers[" in src:
                plan.append(("const", ex, None))
                continue
            shape = getattr(ev, "shape", ex.shape)
            names = []
            for d, size in enumerate(shape):
                if isinstance(size, torch.SymInt):
                    text = str(size)
                    name = text if _is_symbol(text) else f"e{len(fakes)}_{d}"
                    names.append(name)
                    limits.setdefault(name, _bounds(size))
                else:
                    names.append(None)
            plan.append(("input", len(fakes), None))
            dim_names.append(names)
            fakes.append(shape)
        elif isinstance(ex, (int, torch.SymInt)) and not isinstance(ex, bool):
            plan.append(("sym", ev if isinstance(ev, torch.SymInt) else ex, None))
        else:
            raise _Unsupported(f"graph input '{node.name}' is a {type(ex).__name__}")
    for i, (kind, a, _) in enumerate(plan):
        if kind != "sym":
            continue
        if not isinstance(a, torch.SymInt):
            plan[i] = ("int", int(a), None)
            continue
        text = str(a)
        where = [(k, d) for k, shape in enumerate(fakes) for d, size in enumerate(shape) if str(size) == text]
        if not where:
            raise _Unsupported(f"size input {text} is no dim of a tensor input")
        plan[i] = ("size", where[0][0], where[0][1])
    for node in gm.graph.nodes:
        if node.op == "output":
            outs = node.args[0] if isinstance(node.args[0], (tuple, list)) else (node.args[0],)
            for o in outs:
                v = getattr(o, "meta", {}).get("example_value") if o is not None else None
                if not isinstance(v, torch.Tensor):
                    raise _Unsupported(f"graph output {o} is not a tensor")
    return plan, dim_names, limits


def _bounds(size) -> tuple[int, int | None]:
    """The sizes dynamo's guards let a symbolic dim take: (lo, hi or None when unbounded)."""
    try:
        node = size.node
        r = node.shape_env.bound_sympy(node.expr)
        lo = int(r.lower) if r.lower.is_finite else 1
        hi = int(r.upper) if r.upper.is_finite else None
        return max(lo, 0), hi
    except Exception:  # noqa: BLE001 - no range known: grow by powers of two
        return 1, None


def _wrap(gm, plan):
    """An nn.Module over dynamo's graph that takes only the tensor inputs: constants are its
    buffers, sizes come from the inputs."""
    import torch

    class DynamoGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gm = gm
            for i, (kind, a, _) in enumerate(plan):
                if kind == "const":
                    self.register_buffer(f"const{i}", a.detach())

        def call(self, *inputs):
            args = []
            for i, (kind, a, b) in enumerate(plan):
                if kind == "input":
                    args.append(inputs[a])
                elif kind == "const":
                    args.append(getattr(self, f"const{i}"))
                elif kind == "size":
                    args.append(inputs[a].size(b))
                else:
                    args.append(a)
            return tuple(self.gm(*args))

    # forward() names its parameters (torch.export maps dynamic shapes to them): input_0, input_1, ...
    n = sum(1 for kind, _, _ in plan if kind == "input")
    params = ", ".join(f"input_{k}" for k in range(n))
    scope: dict = {}
    exec(f"def forward(self, {params}):\n    return self.call({params})\n", scope)  # noqa: S102
    DynamoGraph.forward = scope["forward"]
    return DynamoGraph()


def dynrt_backend(gm, example_inputs, options: dict | None = None, **kwargs):
    """torch.compile backend. options (torch.compile(..., options={...})): precision ("fp32",
    "fp16", "bf16"), threads, max_dim."""
    options = {**(options or {}), **kwargs}
    unknown = sorted(set(options) - {"precision", "threads", "max_dim"})
    if unknown:
        raise _C.InvalidConfig(f"unknown options for the dynrt backend: {unknown} (precision, threads, max_dim)")
    device = "cpu"
    for x in example_inputs:
        if getattr(x, "device", None) is not None and x.device.type == "cuda":
            device = "cuda"
    precision = _precision(options.get("precision"), None, device)
    try:
        plan, dim_names, limits = _plan(gm, example_inputs)
    except _Unsupported as e:
        warnings.warn(f"dynrt backend: this graph runs in eager PyTorch ({e})", stacklevel=2)
        fallbacks.append(str(e))
        return gm.forward

    consts = [(i, a, a._version) for i, (kind, a, _) in enumerate(plan) if kind == "const"]
    inputs = [i for i, (kind, _, _) in enumerate(plan) if kind == "input"]
    ints = [(i, a) for i, (kind, a, _) in enumerate(plan) if kind == "int"]
    state = {}

    def make():
        jit = JitModule(_wrap(gm, plan), device=device, precision=precision,
                        threads=options.get("threads", 0), max_dim=options.get("max_dim", 1 << 16),
                        dim_names=dim_names, dim_limits=limits)
        builds.append(jit)
        state["jit"] = jit
        return jit

    make()
    _graphs[0] += 1

    def run(*args):
        for i, t, version in consts:
            if args[i] is not t or t._version != version:  # other or changed weights: build again
                for j, _, _ in consts:
                    plan[j] = ("const", args[j], None)
                consts[:] = [(j, args[j], args[j]._version) for j, _, _ in consts]
                make()
                break
        for i, v in ints:
            if args[i] != v:
                raise RuntimeError(f"dynrt backend: graph input {i} is {args[i]}, the graph was made for {v}")
        out = state["jit"](*[args[i] for i in inputs])
        return out if isinstance(out, tuple) else (out,)

    return run


def register() -> None:
    """Registers the backend by name (pip install registers it through an entry point already)."""
    from torch._dynamo.backends import registry
    try:
        registry.lookup_backend("dynrt")  # known already (the entry point, or an earlier register())
        return
    except Exception:  # noqa: BLE001 - torch raises its InvalidBackend
        pass
    registry.register_backend(name="dynrt")(dynrt_backend)
