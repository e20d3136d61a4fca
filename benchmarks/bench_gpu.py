"""dynrt on the GPU against PyTorch eager and torch.compile(dynamic=True), in
one run on the same machine (an NVIDIA H200 here).

    python3 benchmarks/bench_gpu.py --dynrt .cache/devbin/dynrt --out OUTDIR [--precision fp16]
        [--models resnet50,bert_base] [--iterations 50] [--tune opt] [--static] [--untuned] [--also-tune range]
        [--ab-env VAR=VALUE]

Models are built in PyTorch (torchvision ResNet-50, transformers BERT-base,
random weights) and exported once to ONNX (fp32); dynrt builds ONE engine per
model over the whole range (ResNet-50 batch 1..128; BERT-base batch 1..32,
sequence 16..512) with --device cuda --precision P --tune T (opt by default, as
the CLI), then times it at each
shape with inputs and outputs in GPU memory (`dynrt bench --io device`).
The peers run the same torch model in the same precision on the same shapes.
Every figure is the median wall time of one inference (launch + GPU work +
synchronize) over --iterations runs after warm-up. --static also builds an
engine for exactly each shape (dynamic-vs-static); --untuned also times the range
engine built without tuning (--no-tune), --also-tune MODE one built with --tune MODE
(range: tuned at min, max and the powers of two between); --ab-env VAR=VALUE also times a range
engine built and run with that environment variable (an A/B column). Writes OUTDIR/bench_gpu.json,
bench_gpu.md and bench_gpu.png.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import time

import torch

RESNET_SHAPES = [1, 8, 32, 128]
BERT_SHAPES = [(1, 128), (8, 128), (32, 128), (8, 384), (32, 384)]


def median_ms(fn, iterations: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def resnet():
    import torchvision
    m = torchvision.models.resnet50(weights=None).eval().cuda()
    return m, lambda b: (torch.randn(b, 3, 224, 224, device="cuda"),)


def bert():
    from transformers import BertConfig, BertModel
    m = BertModel(BertConfig()).eval().cuda()

    def inputs(shape):
        b, s = shape
        ids = torch.randint(0, 30522, (b, s), device="cuda")
        return ids, torch.ones(b, s, dtype=torch.int64, device="cuda")
    return m, inputs


def export(model, args, path: pathlib.Path, names, dynamic):
    outs = ["out"] if len(names) == 1 else None
    with torch.no_grad():
        try:  # the TorchScript exporter: quick, and what most deployed models went through
            torch.onnx.export(model, args, str(path), input_names=names, output_names=outs, dynamic_axes=dynamic,
                              opset_version=17, dynamo=False)
        except Exception as e:  # noqa: BLE001
            print("TorchScript export failed, using the dynamo exporter:", e, flush=True)
            torch.onnx.export(model, args, str(path), input_names=names, output_names=outs, dynamic_axes=dynamic,
                              opset_version=18, dynamo=True)


def dynrt(bin_: str, *args, env=None) -> str:
    p = subprocess.run([bin_, *map(str, args)], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"dynrt {' '.join(map(str, args))}: {p.stderr[-2000:]}")
    return p.stdout


def bench_engine(bin_, engine, shapes_arg, iterations, env=None) -> dict:
    out = dynrt(bin_, "bench", engine, "--shapes", shapes_arg, "--io", "device", "--iterations", iterations,
                "--warmup", 5, "--json", env=env)
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dynrt", required=True)
    ap.add_argument("--out", required=True, help="results: bench_gpu.json, .md, .png")
    ap.add_argument("--work", default=None, help="models and engines (default: OUT)")
    ap.add_argument("--precision", default="fp16", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--models", default="resnet50,bert_base")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--static", action="store_true")
    ap.add_argument("--untuned", action="store_true",
                    help="also build the range engine with --no-tune and time it (what tuning gains)")
    ap.add_argument("--tune", default="opt", choices=["off", "opt", "range"], help="the range engine's --tune")
    ap.add_argument("--also-tune", default=None, choices=["off", "opt", "range"],
                    help="also build the range engine with this --tune and time it (an A/B column)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--ab-env", default=None, metavar="VAR=VALUE",
                    help="also build and time a range engine with this environment variable set (an A/B column)")
    ap.add_argument("--profile", action="store_true", help="per-op time of dynrt at each shape; no peers")
    a = ap.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(a.work) if a.work else out
    work.mkdir(parents=True, exist_ok=True)
    tdtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[a.precision]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows, meta = [], {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "precision": a.precision}
    for name in a.models.split(","):
        if name == "resnet50":
            model, make = resnet()
            shapes = RESNET_SHAPES
            names, dynamic = ["x"], {"x": {0: "batch"}, "out": {0: "batch"}}
            dims = ["--dim", "batch=1:32:128"]
            shape_arg = lambda b: f"x:{b}x3x224x224"  # noqa: E731
            static_dims = lambda b: ["--dim", f"batch={b}:{b}:{b}"]  # noqa: E731
            label = lambda b: f"batch {b}"  # noqa: E731
        else:
            model, make = bert()
            shapes = BERT_SHAPES
            names = ["input_ids", "attention_mask"]
            dynamic = {n: {0: "batch", 1: "seq"} for n in names}
            dims = ["--dim", "batch=1:8:32", "--dim", "seq=16:128:512"]
            shape_arg = lambda s: f"input_ids:{s[0]}x{s[1]},attention_mask:{s[0]}x{s[1]}"  # noqa: E731
            static_dims = lambda s: ["--dim", f"batch={s[0]}:{s[0]}:{s[0]}", "--dim", f"seq={s[1]}:{s[1]}:{s[1]}"]  # noqa: E731
            label = lambda s: f"{s[0]}x{s[1]}"  # noqa: E731
        onnx_path = work / f"{name}.onnx"
        t0 = time.time()
        export(model, make(shapes[0]), onnx_path, names, dynamic)
        print(f"{name}: exported in {time.time() - t0:.1f} s", flush=True)
        engine = work / f"{name}.engine"
        t0 = time.time()
        dynrt(a.dynrt, "build", onnx_path, "-o", engine, *dims, "--device", "cuda", "--precision", a.precision,
              "--tune", a.tune)
        meta["tune"] = a.tune
        build_s = time.time() - t0
        print(f"{name}: dynrt engine built in {build_s:.1f} s", flush=True)
        meta[f"{name}_build_s"] = build_s
        meta[f"{name}_partition"] = dynrt(a.dynrt, "inspect", engine).split("partition")[1].split("\n  [")[0]

        if a.profile:
            with open(out / f"profile_{name}.txt", "w") as log:
                for s in shapes:
                    p = subprocess.run([a.dynrt, "bench", engine, "--shapes", shape_arg(s), "--io", "device",
                                        "--iterations", "10", "--warmup", "2"], capture_output=True, text=True,
                                       env={**os.environ, "DYNRT_PROFILE": os.environ.get("DYNRT_PROFILE", "1")})
                    log.write(f"## {label(s)}\n{p.stdout}{p.stderr}\n")
            continue
        tmodel = model.to(tdtype)
        compiled = None if a.no_compile else torch.compile(tmodel, dynamic=True)
        compile_first_s = None
        for s in shapes:
            args = make(s)
            args = tuple(x.to(tdtype) if x.is_floating_point() else x for x in args)
            row = {"model": name, "shape": label(s)}
            st = bench_engine(a.dynrt, engine, shape_arg(s), a.iterations)
            row["dynrt_ms"] = st["median_ms"]
            row["dynrt_device_mb"] = st["device_bytes"] / 2**20
            row["dynrt_graph_replays"] = st["graph_replays"]
            with torch.no_grad():
                row["eager_ms"] = median_ms(lambda: tmodel(*args), a.iterations)
                if compiled is not None:
                    t0 = time.time()
                    compiled(*args)
                    torch.cuda.synchronize()
                    if compile_first_s is None:
                        compile_first_s = time.time() - t0
                    row["compile_ms"] = median_ms(lambda: compiled(*args), a.iterations)
            if a.untuned:
                ue = work / f"{name}.untuned.engine"
                if not ue.exists():
                    dynrt(a.dynrt, "build", onnx_path, "-o", ue, *dims, "--device", "cuda", "--precision", a.precision,
                          "--no-tune")
                row["untuned_ms"] = bench_engine(a.dynrt, ue, shape_arg(s), a.iterations)["median_ms"]
            if a.also_tune:
                oe = work / f"{name}.tune_{a.also_tune}.engine"
                if not oe.exists():
                    t0 = time.time()
                    dynrt(a.dynrt, "build", onnx_path, "-o", oe, *dims, "--device", "cuda", "--precision", a.precision,
                          "--tune", a.also_tune)
                    meta[f"{name}_build_s_tune_{a.also_tune}"] = time.time() - t0
                row["also_tune_ms"] = bench_engine(a.dynrt, oe, shape_arg(s), a.iterations)["median_ms"]
                meta["also_tune"] = a.also_tune
            if a.ab_env:
                var, _, value = a.ab_env.partition("=")
                env = {**os.environ, var: value}
                ab = work / f"{name}.ab.engine"
                if not ab.exists():
                    dynrt(a.dynrt, "build", onnx_path, "-o", ab, *dims, "--device", "cuda", "--precision", a.precision,
                          env=env)
                row["ab_ms"] = bench_engine(a.dynrt, ab, shape_arg(s), a.iterations, env=env)["median_ms"]
                meta["ab_env"] = a.ab_env
            if a.static:
                se = work / f"{name}.static.engine"
                dynrt(a.dynrt, "build", onnx_path, "-o", se, *static_dims(s), "--device", "cuda", "--precision", a.precision)
                row["static_ms"] = bench_engine(a.dynrt, se, shape_arg(s), a.iterations)["median_ms"]
            rows.append(row)
            print(json.dumps(row), flush=True)
            (out / "bench_gpu.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))  # so far
        meta[f"{name}_compile_first_call_s"] = compile_first_s
        del model, tmodel, compiled
        torch.cuda.empty_cache()
    if a.profile:
        return

    (out / "bench_gpu.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    def f(v, fmt=".3f"):
        return format(v, fmt) if v is not None else "-"
    lines = ["| model | shape | dynrt ms | eager ms | torch.compile ms | eager/dynrt | compile/dynrt | static ms | "
             f"dynamic/static | untuned ms | --tune {a.also_tune} ms | A/B ms | dynrt device MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d, e, c, st = r["dynrt_ms"], r["eager_ms"], r.get("compile_ms"), r.get("static_ms")
        lines.append(f"| {r['model']} | {r['shape']} | {f(d)} | {f(e)} | {f(c)} | {f(e / d, '.2f')} | "
                     f"{f(c / d if c else None, '.2f')} | {f(st)} | {f(d / st if st else None)} | "
                     f"{f(r.get('untuned_ms'))} | {f(r.get('also_tune_ms'))} | {f(r.get('ab_ms'))} | {r['dynrt_device_mb']:.0f} |")
    (out / "bench_gpu.md").write_text("\n".join(lines) + "\n\n" + json.dumps(meta, indent=1) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        models = sorted({r["model"] for r in rows})
        fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4))
        for ax, m in zip(axes if len(models) > 1 else [axes], models):
            rs = [r for r in rows if r["model"] == m]
            x = [r["shape"] for r in rs]
            for key, lbl in (("dynrt_ms", "dynrt (one engine)"), ("eager_ms", "PyTorch eager"),
                             ("compile_ms", "torch.compile(dynamic=True)"), ("static_ms", "dynrt static engine")):
                if all(key in r for r in rs):
                    ax.plot(x, [r[key] for r in rs], marker="o", label=lbl)
            ax.set_title(f"{m} ({a.precision}, {meta['device']})")
            ax.set_ylabel("ms per inference (median)")
            ax.set_yscale("log")
            ax.legend()
        fig.tight_layout()
        fig.savefig(out / "bench_gpu.png", dpi=100)
    except Exception as e:  # the table is the result; the plot is a view of it
        print("plot failed:", e)


if __name__ == "__main__":
    main()
