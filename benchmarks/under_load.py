"""Latency under load: dynrt and ONNX Runtime on a small encoder while
compiler processes keep the cores busy (issue 8's "tails under load").

    python3 benchmarks/under_load.py [--rounds 4] [--threads 2] [--load N]
        [--model zoo/bert_base.torchscript.onnx --shape 1x128 --iterations 100]

Builds tests/models/bert_tiny.torchscript.onnx once (batch 1:4:8, seq
1:64:128), then alternates, --rounds times: dynrt as the CLI runs it (a TBB
arena per context; threads adapted to contention, runtime/thread_governor.h),
the same with the thread count fixed (DYNRT_ADAPT_THREADS=0), and ONNX Runtime
(same thread count);
300 runs each at 4x64. dynrt's rows also give the threads its last run used.
--model takes another encoder of tests/models with inputs [batch, seq] (its
stripped weights regenerated, tests/python/model_zoo.py). Prints the median and p99 of each round, idle first, then
under the load. The load is `g++ -O2` of one of our sources, --load at a time
(default: one a core), over and over.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime as ort

from timing import times_ms

ROOT = pathlib.Path(__file__).resolve().parents[1]
DYNRT = os.environ.get("DYNRT_BUILD_DIR", str(ROOT / "build")) + "/dynrt"
MODEL = ROOT / "tests/models/bert_tiny.torchscript.onnx"
B, S = 4, 64
INPUTS = ["input_ids", "attention_mask"]


# dynrt as the CLI runs it, then with the governor off.
VARIANTS = {
    "dynrt (CLI default)": {},
    "dynrt (threads fixed)": {"DYNRT_ADAPT_THREADS": "0"},
}


def dynrt_run(engine, threads, env, n=300):
    shapes = ",".join(f"{name}:{B}x{S}" for name in INPUTS)
    out = subprocess.run([DYNRT, "bench", engine, "--shapes", shapes,
                          "--iterations", str(n), "--warmup", "10", "--json", "--threads", str(threads)],
                         capture_output=True, text=True, env={**os.environ, **env}, check=True)
    j = json.loads(out.stdout.strip().splitlines()[-1])
    return j["median_ms"], j["p99_ms"], j.get("threads", threads)


def ort_run(sess, feeds, n=300):
    ts = times_ms(lambda: sess.run(None, feeds), n, warmup=10)
    return statistics.median(ts), ts[int(0.99 * (n - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--load", type=int, default=os.cpu_count(), help="compiler processes at once (default: one a core)")
    ap.add_argument("--model", default=None, help="an encoder under tests/models (default: bert_tiny)")
    ap.add_argument("--shape", default="4x64", help="BATCHxSEQ")
    ap.add_argument("--iterations", type=int, default=300)
    a = ap.parse_args()
    global B, S, MODEL, INPUTS
    B, S = (int(v) for v in a.shape.split("x"))
    work = pathlib.Path(tempfile.mkdtemp())
    if a.model:
        import sys
        sys.path.insert(0, str(ROOT / "tests/python"))
        import model_zoo
        MODEL = model_zoo.save_filled(a.model, work)
    engine = work / "model.engine"
    subprocess.run([DYNRT, "build", MODEL, "-o", engine, "--dim", f"batch=1:{B}:{max(B, 8)}",
                    "--dim", f"seq=1:{S}:{max(S, 128)}"], check=True, capture_output=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(MODEL), so, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.ones((B, S), np.int64) for i in sess.get_inputs()}
    INPUTS = [i.name for i in sess.get_inputs()]
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    os.environ.clear()
    os.environ.update(env)
    src = ROOT / "src/core/expr.cpp"  # the standard library and our headers only: compiles on any machine
    compile_cmd = (f"while true; do g++ -std=c++20 -O2 -I{ROOT}/src -I{ROOT}/include -c {src} -o /dev/null "
                   "2>/dev/null; done")
    for phase in ("idle", "under load"):
        load = [subprocess.Popen(["bash", "-c", compile_cmd]) for _ in range(a.load)] if phase != "idle" else []
        time.sleep(3 if load else 0)
        rows = {name: [] for name in VARIANTS}
        rows["ONNX Runtime"] = []
        try:
            for _ in range(a.rounds):
                n = a.iterations
                for name, var_env in VARIANTS.items():
                    rows[name].append(dynrt_run(engine, a.threads, var_env, n))
                rows["ONNX Runtime"].append(ort_run(sess, feeds, n))
        finally:
            for p in load:
                p.kill()
            subprocess.run(["pkill", "-f", f"{src} -o /dev/null"])
        print(f"{phase}, {pathlib.Path(MODEL).stem} {B}x{S}, {a.threads} threads (ms per round)")
        for k, v in rows.items():
            threads = f"  threads {[x[2] for x in v]}" if len(v[0]) > 2 else ""
            print(f"  {k:28s} median {[round(x[0], 2) for x in v]}  p99 {[round(x[1], 1) for x in v]}{threads}",
                  flush=True)


if __name__ == "__main__":
    main()
