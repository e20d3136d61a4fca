"""dynrt vs ONNX Runtime on CPU, same machine, same run.

    python3 benchmarks/bench_vs_ort.py [--model resnet50] [--shapes 8] [--iterations 10] [--repeats 3]

For each model and shape: `dynrt bench` (median of N iterations) and ONNX
Runtime's InferenceSession (all graph optimizations on, same thread count),
alternated `--repeats` times; prints medians and the ratio. CPU numbers on a
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
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "python"))
import harness  # noqa: E402
import model_zoo  # noqa: E402

MODELS = {
    "resnet50": ("resnet50.torchscript.onnx", {"batch": "1:8:8"}, lambda n: {"x": (n, 3, 224, 224)}),
    "bert_base": ("bert_base.torchscript.onnx", {"batch": "1:8:8", "seq": "8:128:128"},
                  lambda n: {"input_ids": (n, 128), "attention_mask": (n, 128)}),
}


def ort_median(sess, feeds, iterations):
    for _ in range(2):
        sess.run(None, feeds)
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet50", choices=sorted(MODELS))
    ap.add_argument("--shapes", default="8", help="comma-separated batch sizes")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    name, dims, shape_of = MODELS[args.model]
    tmp = pathlib.Path(tempfile.mkdtemp())
    path = model_zoo.save_filled(name, tmp)
    engine = harness.build_engine(path, tmp, dims=dims)
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count()
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
        ours, theirs = [], []
        for _ in range(args.repeats):
            out = harness.run_cli("bench", engine, "--shapes", spec, "--iterations", args.iterations, "--json").stdout
            ours.append(json.loads(out)["median_ms"])
            theirs.append(ort_median(sess, feeds, args.iterations))
        d, o = statistics.median(ours), statistics.median(theirs)
        rows.append((args.model, spec, d, o, o / d))
        print(f"{args.model} {spec}: dynrt {d:.1f} ms (runs {', '.join(f'{x:.1f}' for x in ours)}), "
              f"onnxruntime {o:.1f} ms (runs {', '.join(f'{x:.1f}' for x in theirs)}), speedup x{o / d:.2f}", flush=True)
    print("\n| model | shapes | dynrt median ms | onnxruntime median ms | ORT/dynrt |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.2f} |")


if __name__ == "__main__":
    main()
