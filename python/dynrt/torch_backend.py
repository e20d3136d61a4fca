"""torch.compile(model, backend="dynrt"): each graph dynamo hands over runs as a dynrt JIT module
(built on its first call, rebuilt only when a shape leaves its range). Registered through the
torch_dynamo_backends entry point, or explicitly with dynrt.torch_backend.register()."""
from __future__ import annotations

from ._jit import JitModule

builds = []  # every JitModule made by the backend, for counting builds


def dynrt_backend(gm, example_inputs, **options):
    device = "cpu"
    for x in example_inputs:
        if hasattr(x, "device") and x.device.type == "cuda":
            device = "cuda"
    jit = JitModule(gm, device=device, precision=options.get("precision", "fp32"))
    builds.append(jit)

    def run(*args):
        out = jit(*args)
        return out if isinstance(out, tuple) else (out,)
    return run


def register() -> None:
    from torch._dynamo import register_backend
    register_backend(name="dynrt")(dynrt_backend)
