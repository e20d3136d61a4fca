"""Memory and new-shape cost of a BERT-style model, dynrt against ONNX Runtime
in one run (issue 8: peak resident memory of one run, resident memory after
many distinct shapes, new-shape planning time).

    cmake -S . -B build -DDYNRT_BUILD_BENCHMARKS=ON && cmake --build build
    python3 benchmarks/memory_vs_ort.py --model .cache/models/bert_base.onnx [--threads 2]

Every figure comes from a fresh process:
- dynrt, one run: `dynrt run ENGINE --inputs X.npz` (C++), its peak RSS from wait4();
- dynrt, many shapes: build/plan_cache_memory on the engine file (C++);
- ONNX Runtime (Python, all optimizations, same threads): a process that imports numpy and
  onnxruntime, notes its peak RSS (the baseline: interpreter and libraries), creates the
  session and runs; reported as the peak minus that baseline, and in full.
The engine is built once, as a user would, over batch 1:4:64 and sequence 2:128:512.
The many-shapes grid is batch 1..B x sequence STEP..S in steps of STEP, each shape run
twice; the new-shape cost is the first run's time minus the second's (for dynrt, whose
helper plans each shape before running it, the planning time plus that difference).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("DYNRT_BUILD_DIR", str(ROOT / "build")))

ORT_SCRIPT = r"""
import json, resource, statistics, sys, time
import numpy as np, onnxruntime as ort
model, threads, mode, b, s, step = sys.argv[1], int(sys.argv[2]), sys.argv[3], *map(int, sys.argv[4:7])
def kib(field):
    for line in open('/proc/self/status'):
        if line.startswith(field):
            return int(line.split()[1])
base = kib('VmHWM:')
o = ort.SessionOptions()
o.intra_op_num_threads = threads
o.inter_op_num_threads = 1
o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
sess = ort.InferenceSession(model, o, providers=['CPUExecutionProvider'])
rng = np.random.default_rng(0)
def feeds(bb, ss):
    return {'input_ids': rng.integers(0, 30000, (bb, ss), dtype=np.int64), 'attention_mask': np.ones((bb, ss), np.int64)}
if mode == 'one':
    sess.run(None, feeds(b, s))
    print(json.dumps({'base_kib': base, 'peak_kib': kib('VmHWM:')}))
else:
    before, costs, n = kib('VmRSS:'), [], 0
    for bb in range(1, b + 1):
        for ss in range(step, s + 1, step):
            t = []
            for _ in range(2):
                t0 = time.perf_counter(); sess.run(None, feeds(bb, ss)); t.append((time.perf_counter() - t0) * 1e3)
            costs.append(max(0.0, t[0] - t[1])); n += 1
    costs.sort()
    print(json.dumps({'shapes': n, 'rss_before_kib': before, 'rss_after_kib': kib('VmRSS:'),
                      'cost_median_ms': statistics.median(costs), 'cost_p90_ms': costs[int(0.9 * (len(costs) - 1))]}))
"""


def peak_of(cmd, env=None):
    """Peak RSS (MiB) of a child process, from wait4()."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: wait4() must not wait on a full pipe
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err.read().decode()}")
    return usage.ru_maxrss / 1024


def ort(model, threads, mode, b, s, step=1):
    out = subprocess.run([sys.executable, "-c", ORT_SCRIPT, str(model), str(threads), mode, str(b), str(s), str(step)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / ".cache/models/bert_base.onnx"))
    ap.add_argument("--engine", help="the engine (built here if absent)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shape", default="1x128", help="the one-run shape, BxS")
    ap.add_argument("--grid", default="4x128x16", help="many shapes: B x S x STEP (4x128x16: 32 shapes)")
    args = ap.parse_args()
    b, s = map(int, args.shape.split("x"))
    gb, gs, gstep = map(int, args.grid.split("x"))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    with tempfile.TemporaryDirectory() as tmp:
        engine = args.engine or f"{tmp}/model.engine"
        if not os.path.exists(engine):
            subprocess.run([BUILD / "dynrt", "build", args.model, "-o", engine, "--dim", "batch=1:4:64",
                            "--dim", "seq=2:128:512", "-q"], check=True)
        x = f"{tmp}/x.npz"
        ids = np.random.default_rng(0).integers(0, 30000, (b, s), dtype=np.int64)  # token ids as a real input has them
        np.savez(x, input_ids=ids, attention_mask=np.ones((b, s), np.int64))
        dyn_peak = peak_of([BUILD / "dynrt", "run", engine, "--inputs", x, "--threads", str(args.threads)], env)
        o1 = ort(args.model, args.threads, "one", b, s)
        # The helper finds dynrt's libraries beside it (a build packed for another machine has them there).
        helper_env = {**env, "LD_LIBRARY_PATH": ":".join(filter(None, [str(BUILD), env.get("LD_LIBRARY_PATH")]))}
        line = subprocess.run([BUILD / "plan_cache_memory", engine, "64", str(args.threads), str(gb), str(gs), str(gstep), "30000"],
                              capture_output=True, text=True, check=True, env=helper_env).stdout
        og = ort(args.model, args.threads, "grid", gb, gs, gstep)
    m = re.search(r"RSS ([\d.]+) MiB -> ([\d.]+) MiB.*median ([\d.]+) ms, p90 ([\d.]+) ms, of which.*"
                  r"median ([\d.]+) ms; planning alone.*"
                  r"median ([\d.]+) ms, p90 ([\d.]+) ms; peak RSS ([\d.]+) MiB", line)
    if not m:
        raise SystemExit("unexpected plan_cache_memory output: " + line)
    rb, ra, cm, c90, pr, pm, p90, _ = map(float, m.groups())
    ort_peak, ort_base = o1["peak_kib"] / 1024, o1["base_kib"] / 1024
    print(f"model {pathlib.Path(args.model).name}, {args.threads} threads")
    print("| figure | dynrt | ONNX Runtime | dynrt / ORT |\n|---|---|---|---|")
    print(f"| peak RSS, one run at {args.shape} (MiB) | {dyn_peak:.0f} | {ort_peak - ort_base:.0f} "
          f"({ort_peak:.0f} with the interpreter's {ort_base:.0f}) | {dyn_peak / (ort_peak - ort_base):.2f} |")
    n = og["shapes"]
    print(f"| RSS after {n} distinct shapes (MiB) | {ra:.0f} (from {rb:.0f}) | {og['rss_after_kib'] / 1024:.0f} "
          f"(from {og['rss_before_kib'] / 1024:.0f}) | {ra / (og['rss_after_kib'] / 1024):.2f} |")
    print(f"| new-shape cost, planning + first run - second (ms, median / p90) | {cm:.2f} / {c90:.2f} | "
          f"{og['cost_median_ms']:.2f} / {og['cost_p90_ms']:.2f} | |")
    print(f"| of which dynrt's planning (ms, median) | {pr:.2f} | | |")
    print(f"| dynrt planning alone (ms, median / p90) | {pm:.2f} / {p90:.2f} | | |")


if __name__ == "__main__":
    main()
