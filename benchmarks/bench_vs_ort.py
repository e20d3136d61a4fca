"""dynrt vs ONNX Runtime on CPU, same machine, same run.

    python3 benchmarks/bench_vs_ort.py [--model resnet50] [--shapes 8] [--iterations 10] [--repeats 3]

For each model and shape: `dynrt bench` on the dynamic engine, `dynrt bench`
on a static engine built for exactly that shape (the dynamic-vs-static gap),
and ONNX Runtime's InferenceSession (all graph optimizations on, same thread
count), alternated `--repeats` times; prints medians and ratios. CPU numbers on a
shared 2-core machine are noisy: read the spread, not one number.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "python"))
import harness  # noqa: E402
from timing import median_ms  # noqa: E402
import model_zoo  # noqa: E402

MODELS = {
    "resnet50": ("zoo/resnet50.torchscript.onnx", {"batch": "1:8:8", "height": "224:224:224", "width": "224:224:224"},
                 lambda n: {"x": (n, 3, 224, 224)}),
    "bert_base": ("zoo/bert_base.torchscript.onnx", {"batch": "1:8:8", "seq": "8:128:128"},
                  lambda n: {"input_ids": (n, 128), "attention_mask": (n, 128)}),
}


def ort_median(sess, feeds, iterations):
    return median_ms(lambda: sess.run(None, feeds), iterations)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet50", choices=sorted(MODELS))
    ap.add_argument("--shapes", default="8", help="comma-separated batch sizes")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both dynrt and ONNX Runtime")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # dynrt's kernels and oneDNN use OpenMP
    name, dims, shape_of = MODELS[args.model]
    tmp = pathlib.Path(tempfile.mkdtemp())
    path = model_zoo.save_filled(name, tmp)
    engine = harness.build_engine(path, tmp, dims=dims)
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    rows = []
    for n in (int(s) for s in args.shapes.split(",")):
        shapes = shape_of(n)
        rng = np.random.default_rng(0)
        feeds = {}
        for i in sess.get_inputs():
            s = shapes[i.name]
            feeds[i.name] = (rng.standard_normal(s).astype(np.float32) if i.type == "tensor(float)"
                             else np.ones(s, np.int64))
        spec = ",".join(f"{k}:{'x'.join(map(str, v))}" for k, v in shapes.items())
        static_dir = tmp / f"static_{n}"
        static_dir.mkdir()
        static = harness.build_engine(path, static_dir, min_shapes=shapes, opt_shapes=shapes, max_shapes=shapes)
        ours, fixed, theirs = [], [], []

        def bench(e):
            out = harness.run_cli("bench", e, "--shapes", spec, "--iterations", args.iterations, "--json").stdout
            return json.loads(out)["median_ms"]

        for _ in range(args.repeats):
            ours.append(bench(engine))
            fixed.append(bench(static))
            theirs.append(ort_median(sess, feeds, args.iterations))
        d, st, o = statistics.median(ours), statistics.median(fixed), statistics.median(theirs)
        rows.append((args.model, spec, d, st, o))
        runs = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
        print(f"{args.model} {spec}: dynrt dynamic {d:.1f} ms ({runs(ours)}), static {st:.1f} ms ({runs(fixed)}), "
              f"onnxruntime {o:.1f} ms ({runs(theirs)})", flush=True)
    print(f"\n{args.threads} threads, {os.cpu_count()} CPUs; ORT {ort.__version__}")
    print("\n| model | shapes | dynrt dynamic ms | dynrt static ms | onnxruntime ms | dynamic/static | ORT/dynrt |")
    print("|---|---|---|---|---|---|---|")
    for m, sp, d, st, o in rows:
        print(f"| {m} | {sp} | {d:.1f} | {st:.1f} | {o:.1f} | {d / st:.2f} | {o / d:.2f} |")


if __name__ == "__main__":
    main()
