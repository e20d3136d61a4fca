"""Issue 8's CPU sweep: dynrt against ONNX Runtime, OpenVINO and tract in one run.

    pip install openvino tract        # optional peers; missing ones are reported and left out
    python3 benchmarks/cpu_sweep.py [--threads 2,0] [--models resnet50,bert_base] [--iterations 5]

`--threads 0` means every core (os.cpu_count()). dynrt builds, as a user would, one dynamic
engine per model over issue 8's range (ResNet-50 batch 1:8:64; BERT-base batch 1:4:64 and
sequence 2:128:512) and, for the dynamic/static column, one static engine per shape. The
peers load the same ONNX file once: ONNX Runtime (all graph optimizations, intra-op threads
= the thread count), OpenVINO (f32, and its default precision: bf16 on CPUs that have it;
INFERENCE_NUM_THREADS), tract (one model per shape: its shape analysis rejects this BERT
export with symbolic dims; tract runs single-threaded, so only shapes up to --tract-max-gflop). Per shape,
every runtime is timed once a round for --rounds rounds, in an order rotated each round; a timing is the
median of --iterations timed runs after 2 warm-up runs, after a --settle pause (a runtime's threads
spin for a while after its runs, and slowed the next one timed: dynrt at BERT-base 1x16 on 16
cores went from 7.7 ms alone to 17.5 ms right after ONNX Runtime), and each figure is the median of
its rounds (every round's figure is in the --json file). Timing starts once the 1-minute load
average is below 1 (--quiet-timeout).
On CPUs with avx512_bf16 or AMX, "dynrt bf16" is a third engine built with --precision bf16,
to set beside OpenVINO's default. "best fp32 / dynrt" divides the fastest fp32 peer by dynrt's dynamic engine (above 1: dynrt
is faster). GFLOP/s is dynrt's dynamic engine's, from the models' multiply-adds x 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "python"))
import harness  # noqa: E402
from timing import median_ms  # noqa: E402
import model_zoo  # noqa: E402

MODELS = {
    "resnet50": ("zoo/resnet50.torchscript.onnx", {"batch": "1:8:64", "height": "224:224:224", "width": "224:224:224"},
                 "1,8,32"),
    "bert_base": ("zoo/bert_base.torchscript.onnx", {"batch": "1:4:64", "seq": "2:128:512"},
                  "1x16,1x128,8x128,8x384,32x128"),
}


def gflop(model, shape):
    if model == "resnet50":
        return 2 * 4.09 * shape[0]  # 4.09 GMAC an image at 224x224
    b, s = shape  # 12 layers: Q, K, V, output (4 x 768^2), FFN (2 x 768 x 3072), scores and P V (2 x s x 768)
    return 2 * b * s * 12 * (4 * 768 * 768 + 2 * 768 * 3072 + 2 * s * 768) / 1e9


def cpu_description():
    model, flags = platform.processor(), set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model in ("", platform.processor()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"]
    return model, [f for f in wanted if f in flags]


def feeds_for(model, shape, rng):
    if model == "resnet50":
        return {"x": rng.standard_normal((shape[0], 3, 224, 224)).astype(np.float32)}
    return {"input_ids": rng.integers(0, 30522, shape).astype(np.int64), "attention_mask": np.ones(shape, np.int64)}


class Peers:
    def __init__(self, path, threads):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path, self.ort = path, ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.ov, self.missing = {}, []
        try:
            import openvino as ov
            core = ov.Core()
            m = core.read_model(str(path))
            self.ov["OpenVINO f32"] = core.compile_model(m, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                                    "INFERENCE_NUM_THREADS": threads})
            c = core.compile_model(m, "CPU", {"INFERENCE_NUM_THREADS": threads})
            self.ov_default = f"OpenVINO {c.get_property('INFERENCE_PRECISION_HINT')}".replace("<Type: '", "").replace("'>", "")
            self.ov[self.ov_default] = c
        except ImportError:
            self.missing.append("openvino")
        try:
            import tract
            self.tract = tract
        except ImportError:
            self.tract = None
            self.missing.append("tract")

    def tract_ms(self, feeds, iterations):
        if not self.tract:
            return None
        m = self.tract.onnx().load(str(self.path))
        for i, v in enumerate(feeds.values()):
            m.set_input_fact(i, ",".join(map(str, v.shape)) + ("," + ("f32" if v.dtype == np.float32 else "i64")))
        r = m.into_model().into_runnable()
        args = list(feeds.values())
        return median_ms(lambda: r.run(args), iterations)


def wait_until_quiet(timeout_s: float):
    """A machine just started is busy for a minute or two (a first sweep on a fresh GPU machine had
    one static engine 7x slower than the rest): wait for the load average to fall below 1."""
    t0 = time.time()
    while os.getloadavg()[0] >= 1.0 and time.time() - t0 < timeout_s:
        time.sleep(5)
    print(f"load average {os.getloadavg()[0]:.2f} after waiting {time.time() - t0:.0f} s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet50,bert_base")
    ap.add_argument("--threads", default="2,0", help="thread counts, comma-separated; 0: every core")
    ap.add_argument("--shapes", help="override the shapes of a single model (1,8 or 1x16,8x128)")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="rounds over every runtime per shape (median taken)")
    ap.add_argument("--no-static", action="store_true", help="skip the static engines")
    ap.add_argument("--no-tract", action="store_true")
    ap.add_argument("--tract-max-gflop", type=float, default=100,
                    help="time tract only on shapes up to this many GFLOP (it runs on one thread)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--quiet-timeout", type=float, default=180,
                    help="seconds to wait at most for the 1-minute load average to fall below 1 before timing")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds of pause before each timing: ORT's and OpenVINO's idle threads spin for a while "
                         "after a run, and slowed whatever ran next on the same cores")
    args = ap.parse_args()
    wait_until_quiet(args.quiet_timeout)
    cpu, flags = cpu_description()
    print(f"CPU: {cpu}; {os.cpu_count()} logical CPUs; flags: {' '.join(flags)}; ORT {ort.__version__}", flush=True)
    tmp = pathlib.Path(tempfile.mkdtemp())
    results = []
    for model in args.models.split(","):
        zoo_name, dims, default_shapes = MODELS[model]
        path = model_zoo.save_filled(zoo_name, tmp)
        (tmp / model).mkdir()
        engine = harness.build_engine(path, tmp / model, dims=dims)
        bf16 = None  # dynrt's bf16 engine where the CPU computes bf16 (as OpenVINO's default does there)
        if {"avx512_bf16", "amx_bf16"} & set(flags):
            (tmp / f"{model}_bf16").mkdir()
            bf16 = harness.build_engine(path, tmp / f"{model}_bf16", dims=dims, extra=["--precision", "bf16"])
        shapes = [tuple(int(v) for v in s.split("x")) for s in (args.shapes or default_shapes).split(",")]
        statics = {}
        if not args.no_static:
            for shape in shapes:
                d = tmp / f"{model}_{'x'.join(map(str, shape))}"
                d.mkdir()
                fixed = {k: v.shape for k, v in feeds_for(model, shape, np.random.default_rng(0)).items()}
                statics[shape] = harness.build_engine(path, d, min_shapes=fixed, opt_shapes=fixed, max_shapes=fixed)
        for threads in (int(t) or os.cpu_count() for t in args.threads.split(",")):
            os.environ["OMP_NUM_THREADS"] = str(threads)
            peers = Peers(path, threads)
            if args.no_tract:
                peers.tract = None
            if peers.missing:
                print(f"not installed, left out: {', '.join(peers.missing)}", flush=True)
            for shape in shapes:
                rng = np.random.default_rng(0)
                feeds = feeds_for(model, shape, rng)
                spec = harness.shapes_arg({k: v.shape for k, v in feeds.items()})

                def settle():  # the previous runtime's threads stop spinning before the next one is timed
                    time.sleep(args.settle)

                def dynrt_ms(e):
                    settle()
                    out = harness.run_cli("bench", e, "--shapes", spec, "--iterations", args.iterations, "--warmup", 2,
                                          "--threads", threads, "--json").stdout
                    return json.loads(out.strip().splitlines()[-1])["median_ms"]

                # Every runtime once per round, the order rotated each round; a cell is the median of its
                # rounds' medians (a neighbour's burst on a shared host then moves one round, not the cell).
                timers = {"dynrt": lambda: dynrt_ms(engine)}
                if shape in statics:
                    timers["dynrt static"] = lambda: dynrt_ms(statics[shape])
                if bf16:
                    timers["dynrt bf16"] = lambda: dynrt_ms(bf16)
                timers["ORT"] = lambda: settle() or median_ms(lambda: peers.ort.run(None, feeds), args.iterations)
                for name, c in peers.ov.items():
                    def ov_ms(c=c):
                        req = c.create_infer_request()
                        settle()
                        return median_ms(lambda: req.infer(feeds), args.iterations)
                    timers[name] = ov_ms
                rounds = {k: [] for k in timers}
                names = list(timers)
                for r in range(args.rounds):
                    for k in names[r % len(names):] + names[:r % len(names)]:
                        rounds[k].append(timers[k]())
                row = {"model": model, "shape": "x".join(map(str, shape)), "threads": threads,
                       "dynrt static": None, "dynrt bf16": None}
                row.update({k: statistics.median(v) for k, v in rounds.items()})
                row["rounds"] = rounds
                if peers.tract and gflop(model, shape) <= args.tract_max_gflop:
                    try:
                        row["tract"] = peers.tract_ms(feeds, max(2, args.iterations // 2))
                    except Exception as e:  # noqa: BLE001 - report the peer's failure and go on
                        print(f"tract failed on {model} {row['shape']}: {str(e).splitlines()[0]}", flush=True)
                fp32 = {k: v for k, v in row.items() if k in ("ORT", "OpenVINO f32", "tract") and v}
                best = min(fp32, key=fp32.get)
                row["best fp32 peer"], row["best fp32 / dynrt"] = best, fp32[best] / row["dynrt"]
                row["GFLOP/s"] = gflop(model, shape) / (row["dynrt"] / 1e3)
                results.append(row)
                print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()
                                  if k != "rounds"}), flush=True)
    peers_cols = sorted({k for r in results for k in r} - {"model", "shape", "threads", "dynrt", "dynrt static",
                                                           "best fp32 peer", "best fp32 / dynrt", "GFLOP/s",
                                                           "rounds"})
    for threads in sorted({r["threads"] for r in results}):
        rows = [r for r in results if r["threads"] == threads]
        print(f"\n{threads} threads, {cpu} (ms: medians of {args.rounds} rounds' medians of {args.iterations})\n")
        print("| model | shape | dynrt | dynrt static | dynamic / static | " + " | ".join(peers_cols) +
              " | best fp32 / dynrt | dynrt GFLOP/s |")
        print("|---" * (7 + len(peers_cols)) + "|")
        for r in rows:
            st = r["dynrt static"]
            cells = [f"{r[c]:.1f}" if r.get(c) else "-" for c in peers_cols]
            print(f"| {r['model']} | {r['shape']} | {r['dynrt']:.1f} | {st:.1f} | {r['dynrt'] / st:.2f} | " if st else
                  f"| {r['model']} | {r['shape']} | {r['dynrt']:.1f} | - | - | ", end="")
            print(" | ".join(cells) + f" | {r['best fp32 / dynrt']:.2f} ({r['best fp32 peer']}) | {r['GFLOP/s']:.0f} |")
        g = math.exp(statistics.fmean(math.log(r["best fp32 / dynrt"]) for r in rows))
        print(f"\ngeometric mean of best fp32 peer / dynrt: {g:.2f}; lowest {min(r['best fp32 / dynrt'] for r in rows):.2f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"cpu": cpu, "flags": flags, "rows": results}, indent=1))


if __name__ == "__main__":
    main()
