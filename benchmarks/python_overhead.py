"""What the Python layer costs, and what JIT compilation costs against torch.compile.

    python3 benchmarks/python_overhead.py [--iterations 20000] [--build-dir build] [--skip-jit] [--json]

1. Per-call overhead. A tiny model (x @ W + b, relu; x of shape 1x8) is built once and saved; the
   same engine is timed from the C++ CLI (`dynrt bench`, ExecutionContext::run in a loop) and from
   Python: CompiledModule called with a torch tensor, with a numpy array, with out= buffers, and
   Context.run with an output dict. Both sides use one thread. Medians of per-call times, in
   microseconds; "overhead" is Python's median minus the CLI's.

2. JIT over a stream of shapes. 100 calls of a small MLP, batch drawn at random from 1..64 (seeded),
   through dynrt.compile(ir="jit"), torch.compile(backend="dynrt") and torch.compile() with its
   defaults (inductor, dynamic=None). For each: wall seconds of the 100 calls, seconds spent
   compiling (dynrt: export + build; torch.compile: inside the backend, counted by a wrapper, plus
   the whole first pass minus a second pass over the same shapes; inductor starts from an empty
   cache folder unless --warm-inductor-cache), builds (dynrt engines) or
   graphs compiled (torch.compile: backend invocations = 1 + recompiles). How many builds dynrt's JIT
   needs depends on where the stream starts; the same model as ONNX goes through 20 seeded streams
   to show the spread (the bound is ceil(log2(64)) + 1 = 7).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def per_call_us(fn, iterations: int) -> float:
    for _ in range(min(1000, iterations // 10)):
        fn()
    times = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times) / 1e3


def overhead(build_dir: pathlib.Path, iterations: int) -> dict:
    import torch

    import dynrt

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(8, 4)

        def forward(self, x):
            return torch.relu(self.fc(x))

    model = Tiny().eval()
    m = dynrt.compile(model, inputs=[dynrt.Input(min_shape=(1, 8), opt_shape=(1, 8), max_shape=(64, 8))], threads=1)
    name_in, name_out = m.input_names[0], m.output_names[0]
    with tempfile.TemporaryDirectory() as tmp:
        engine = pathlib.Path(tmp) / "tiny.engine"
        dynrt.save(m, engine)
        p = subprocess.run([str(build_dir / "dynrt"), "bench", str(engine), "--shapes", f"{name_in}:1x8",
                            "--iterations", str(iterations), "--threads", "1", "--json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"dynrt bench failed: {p.stderr}")
        cli_us = json.loads(p.stdout.strip().splitlines()[-1])["median_ms"] * 1e3
        m = dynrt.load(engine, threads=1)  # the very engine the CLI ran

    xt = torch.randn(1, 8)
    xn = xt.numpy().copy()
    out_t = torch.empty(1, 4)
    out_n = np.empty((1, 4), np.float32)
    ctx = m.engine.create_context(threads=1)
    with torch.no_grad():
        want = model(xt)
    assert torch.allclose(m(xt), want, atol=1e-5) and np.allclose(m(xn), want.numpy(), atol=1e-5)
    rows = {
        "cli (C++ ExecutionContext::run)": cli_us,
        "module(torch)": per_call_us(lambda: m(xt), iterations),
        "module(numpy)": per_call_us(lambda: m(xn), iterations),
        "module(torch, out=)": per_call_us(lambda: m(xt, out=out_t), iterations),
        "module(numpy, out=)": per_call_us(lambda: m(xn, out=out_n), iterations),
        "context.run(dict, outputs)": per_call_us(lambda: ctx.run({name_in: xn}, {name_out: out_n}), iterations),
        "eager torch (reference)": per_call_us(lambda: model(xt), iterations // 4),
    }
    return rows


class MLP:
    @staticmethod
    def make():
        import torch

        class M(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.GELU(), torch.nn.Linear(256, 256),
                                               torch.nn.GELU(), torch.nn.Linear(256, 10))

            def forward(self, x):
                return self.net(x)
        torch.manual_seed(0)
        return M().eval()


def stream(seed=0, n=100, hi=64):
    rng = random.Random(seed)
    return [rng.randint(1, hi) for _ in range(n)]


def jit_compare(skip_inductor: bool) -> dict:
    import math

    import torch
    import torch._dynamo

    import dynrt
    from dynrt import torch_backend

    model = MLP.make()
    batches = stream()
    xs = {b: torch.randn(b, 64) for b in set(batches)}
    results = {"stream": f"100 calls, batch random in 1..64 (seed 0), {len(set(batches))} distinct sizes",
               "bound": math.ceil(math.log2(64)) + 1}

    def timed_pass(fn):
        t0 = time.perf_counter()
        with torch.no_grad():
            for b in batches:
                y = fn(xs[b])
        return time.perf_counter() - t0, y

    def check(fn):
        with torch.no_grad():
            for b in sorted(set(batches)):
                assert torch.allclose(fn(xs[b]), model(xs[b]), atol=1e-4, rtol=1e-4), b

    # dynrt JIT
    jit = dynrt.compile(model, ir="jit")
    first, _ = timed_pass(jit)
    second, _ = timed_pass(jit)
    check(jit)
    results["dynrt ir='jit'"] = {"wall_s": first, "compile_s": jit.compile_seconds, "builds": jit.builds,
                                 "exports": jit.exports, "steady_s": second, "first_minus_steady_s": first - second}

    # The build count depends on where the stream starts: over many seeds (the ONNX once, JIT over it)
    batch = torch.export.Dim("batch", min=1, max=1024)
    onnx_model = torch.onnx.export(model, (torch.randn(4, 64),), dynamo=True, dynamic_shapes=({0: batch},),
                                   verbose=False).model_proto.SerializeToString()
    counts = []
    for seed in range(20):
        m = dynrt.compile(onnx_model, ir="jit")
        for b in stream(seed):
            m(xs[b] if b in xs else torch.randn(b, 64))
        counts.append(m.builds)
    results["dynrt ir='jit', 20 seeds"] = {"builds_per_seed": counts, "max_builds": max(counts)}

    # torch.compile(backend="dynrt")
    torch._dynamo.reset()
    torch_backend.reset()
    compiled = torch.compile(model, backend="dynrt")
    first, _ = timed_pass(compiled)
    second, _ = timed_pass(compiled)
    check(compiled)
    st = torch_backend.stats()
    results["torch.compile(backend='dynrt')"] = {"wall_s": first, "compile_s": st["compile_seconds"],
                                                 "builds": st["builds"], "graphs": st["graphs"],
                                                 "exports": st["exports"], "steady_s": second,
                                                 "first_minus_steady_s": first - second}

    # torch.compile defaults (inductor), counting backend invocations
    if not skip_inductor:
        torch._dynamo.reset()
        from torch._dynamo.backends.registry import lookup_backend
        inductor = lookup_backend("inductor")
        calls = {"n": 0, "s": 0.0}

        def counting(gm, example_inputs):
            calls["n"] += 1
            t0 = time.perf_counter()
            try:
                return inductor(gm, example_inputs)
            finally:
                calls["s"] += time.perf_counter() - t0
        compiled = torch.compile(model, backend=counting)
        first, _ = timed_pass(compiled)
        second, _ = timed_pass(compiled)
        check(compiled)
        results["torch.compile() inductor"] = {"wall_s": first, "compile_s": calls["s"], "graphs": calls["n"],
                                               "recompiles": calls["n"] - 1, "steady_s": second,
                                               "first_minus_steady_s": first - second}
        torch._dynamo.reset()

    eager, _ = timed_pass(model)
    results["eager"] = {"wall_s": eager}
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=20000)
    ap.add_argument("--build-dir", default=os.environ.get("DYNRT_BUILD_DIR", str(ROOT / "build")))
    ap.add_argument("--skip-jit", action="store_true", help="only the per-call overhead")
    ap.add_argument("--skip-inductor", action="store_true", help="leave torch.compile's default backend out")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--warm-inductor-cache", action="store_true",
                    help="keep inductor's on-disk caches (default: a fresh cache folder, a cold compile)")
    args = ap.parse_args()
    if not args.warm_inductor_cache:  # before torch is imported: inductor reads it then
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor_cold_")
    import torch
    torch.set_num_threads(1)

    rows = overhead(pathlib.Path(args.build_dir), args.iterations)
    report = {"per_call_us": rows}
    if not args.json:
        cli = rows["cli (C++ ExecutionContext::run)"]
        print(f"Per-call time, tiny model (1x8 -> 1x4), one thread, median of {args.iterations} calls:")
        for k, v in rows.items():
            extra = "" if k.startswith(("cli", "eager")) else f"   (Python adds {v - cli:6.2f} us)"
            print(f"  {k:34s} {v:8.2f} us{extra}")
    if not args.skip_jit:
        jit = jit_compare(args.skip_inductor)
        report["jit"] = jit
        if not args.json:
            print(f"\nJIT: {jit['stream']} (dynrt's bound: {jit['bound']} builds)")
            for k, v in jit.items():
                if isinstance(v, dict):
                    print(f"  {k:32s} " + ", ".join(f"{kk}={vv:.3f}" if isinstance(vv, float) else
                                                    f"{kk}={','.join(map(str, vv))}" if isinstance(vv, list) else
                                                    f"{kk}={vv}" for kk, vv in v.items()))
    if args.json:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
