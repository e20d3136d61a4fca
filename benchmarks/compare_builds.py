"""Two dynrt builds on the same CPU, same run: did a change make it slower?

    python3 benchmarks/compare_builds.py --a OLD_DIR --b NEW_DIR [--model resnet50,bert_base] \
        [--shapes 1,8] [--threads 16] [--iterations 20] [--repeats 5]

Each DIR holds a `dynrt` CLI and the shared libraries it needs (what
scripts/pack_for_device.sh makes; a build folder works too). For every model
and batch both builds compile the same dynamic engine (the range of
bench_vs_ort.py) with their own CLI, then `dynrt bench` alternates between
them `--repeats` times; the table gives the medians and B/A (below 1: B is
faster), and B/A of the fastest repeats (less sensitive to other load on a
shared machine).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "python"))
import model_zoo  # noqa: E402

MODELS = {
    "resnet50": ("zoo/resnet50.torchscript.onnx", {"batch": "1:8:8", "height": "224:224:224", "width": "224:224:224"},
                 lambda n: f"x:{n}x3x224x224"),
    "bert_base": ("zoo/bert_base.torchscript.onnx", {"batch": "1:8:8", "seq": "8:128:128"},
                  lambda n: f"input_ids:{n}x128,attention_mask:{n}x128"),
}


def cli(build: pathlib.Path, *args) -> str:
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = f"{build}:{env.get('LD_LIBRARY_PATH', '')}"
    p = subprocess.run([str(build / "dynrt"), *map(str, args)], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{build}/dynrt {' '.join(map(str, args))} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, type=pathlib.Path, help="baseline build folder")
    ap.add_argument("--b", required=True, type=pathlib.Path, help="changed build folder")
    ap.add_argument("--model", default="resnet50,bert_base")
    ap.add_argument("--shapes", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    tmp = pathlib.Path(tempfile.mkdtemp())
    rows = []
    for model in args.model.split(","):
        name, dims, spec_of = MODELS[model]
        path = model_zoo.save_filled(name, tmp)
        engines = {}
        for label, build in (("a", args.a.resolve()), ("b", args.b.resolve())):
            engines[label] = tmp / f"{model}_{label}.engine"
            dim_args = [x for d, r in dims.items() for x in ("--dim", f"{d}={r}")]
            cli(build, "build", path, "-o", engines[label], *dim_args)
        for n in (int(s) for s in args.shapes.split(",")):
            spec = spec_of(n)
            ms = {"a": [], "b": []}
            for _ in range(args.repeats):
                for label, build in (("a", args.a.resolve()), ("b", args.b.resolve())):
                    out = cli(build, "bench", engines[label], "--shapes", spec, "--iterations", args.iterations, "--json")
                    ms[label].append(json.loads(out)["median_ms"])
            a, b = statistics.median(ms["a"]), statistics.median(ms["b"])
            rows.append((model, spec, a, b, min(ms["a"]), min(ms["b"])))
            print(f"{model} {spec}: A {a:.2f} ms {ms['a']}, B {b:.2f} ms {ms['b']}", flush=True)
    print(f"\n{args.threads} threads, {os.cpu_count()} CPUs, {args.repeats} alternating repeats of "
          f"{args.iterations} iterations (medians)")
    print("\n| model | input | A ms | B ms | B/A (medians) | B/A (fastest repeat) |")
    print("|---|---|---|---|---|---|")
    for model, spec, a, b, amin, bmin in rows:
        print(f"| {model} | {spec} | {a:.2f} | {b:.2f} | {b / a:.3f} | {bmin / amin:.3f} |")


if __name__ == "__main__":
    main()
