"""A/B one environment switch on one engine, interleaved on one machine: for each shape, rounds of
`dynrt bench` alternate between the plain run (A) and the run with VAR=VALUE (B), which goes first
in every other round; prints each
round's medians and the median of the B/A ratios. For switches that only measure (such as
DYNRT_CPU_CONV_RESIDUAL=binary); the engine is built once, outside (--engine). With --engine-b, B
runs that engine instead (two builds of one model, e.g. with a build-time switch).

    python3 benchmarks/ab_env.py --dynrt build/dynrt --engine m.engine --env DYNRT_CPU_CONV_RESIDUAL=binary \\
        --shapes input:8x3x224x224 --shapes input:32x3x224x224 --threads 16 --rounds 3 --iterations 10
"""
import argparse
import json
import os
import statistics
import subprocess


def median_ms(args, engine, shapes, env):
    cmd = [args.dynrt, "bench", engine, "--shapes", shapes, "--iterations", str(args.iterations), "--json"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.io:
        cmd += ["--io", args.io]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)["median_ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dynrt", required=True)
    ap.add_argument("--engine", required=True)
    ap.add_argument("--env", default=None, metavar="VAR=VALUE")
    ap.add_argument("--engine-b", default=None,
                    help="B runs this engine (built another way) instead of setting --env")
    ap.add_argument("--shapes", action="append", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--io", default=None, help="dynrt bench --io (device: GPU engines with inputs in GPU memory)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=10)
    args = ap.parse_args()
    if not args.env and not args.engine_b:
        ap.error("give --env, --engine-b or both")
    var, value = args.env.split("=", 1) if args.env else ("", "")
    plain = {k: v for k, v in os.environ.items() if k != var}
    switched = dict(plain, **{var: value}) if var else plain
    engine_b = args.engine_b or args.engine
    what = " ".join(x for x in (args.env, args.engine_b) if x)
    for shapes in args.shapes:
        ratios = []
        for r in range(args.rounds):
            if r % 2 == 0:  # A first in even rounds, B first in odd ones
                a = median_ms(args, args.engine, shapes, plain)
                b = median_ms(args, engine_b, shapes, switched)
            else:
                b = median_ms(args, engine_b, shapes, switched)
                a = median_ms(args, args.engine, shapes, plain)
            ratios.append(b / a)
            print(f"{shapes} round {r}: A {a:.3f} ms, B ({what}) {b:.3f} ms, B/A {b / a:.3f}", flush=True)
        print(f"{shapes}: median B/A {statistics.median(ratios):.3f}", flush=True)


if __name__ == "__main__":
    main()
