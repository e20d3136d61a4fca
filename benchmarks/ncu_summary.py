"""Where a run's GPU time goes, from Nsight Compute's CSV of kernel durations.

    ncu --csv --cache-control none --clock-control none --metrics gpu__time_duration.sum \
        dynrt bench ENGINE --shapes ... --io device --iterations R --warmup 0 > ncu.csv
    python3 benchmarks/ncu_summary.py ncu.csv --runs R

Kernels are grouped by kind (GEMM, attention, LayerNorm, ...) and summed per run.
With --cache-control none the L2 cache keeps what the previous kernel wrote, as
in a replayed CUDA graph; kernels still run one at a time, so launch gaps are
not counted.
"""
from __future__ import annotations

import argparse
import collections
import csv
import io
import re
import sys

KINDS = [("gemm", re.compile(r"gemm|sm90_xmma|cutlass|cublas|nvjet", re.I)),  # nvjet: cuBLASLt's Hopper kernels
         ("attention", re.compile(r"flash_attention|attention", re.I)),
         ("layernorm", re.compile(r"layer_norm|layernorm|row_norm", re.I)),
         ("conv", re.compile(r"conv|implicit", re.I)),
         ("softmax", re.compile(r"softmax", re.I))]


# Nsight Compute spells units either way, depending on its version and --print-units.
US_PER_UNIT = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3,
               "second": 1e6, "s": 1e6}


def kind_of(name: str) -> str:
    for kind, rx in KINDS:
        if rx.search(name):
            return kind
    return "other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--runs", type=int, default=1, help="runs profiled (times are divided by it)")
    a = ap.parse_args()
    text = open(a.csv, encoding="utf-8", errors="replace").read()
    start = text.find('"ID"')
    if start < 0:
        sys.exit("no Nsight Compute CSV in " + a.csv)
    by_kind, by_name, count = collections.Counter(), collections.Counter(), collections.Counter()
    for row in csv.DictReader(io.StringIO(text[start:])):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        us = float(row["Metric Value"].replace(",", ""))
        unit = row.get("Metric Unit", "").strip()
        if unit not in US_PER_UNIT:
            sys.exit(f"unknown time unit {unit!r} in {a.csv}")
        us *= US_PER_UNIT[unit]
        name = row["Kernel Name"]
        by_kind[kind_of(name)] += us
        by_name[name[:90]] += us
        count[name[:90]] += 1
    total = sum(by_kind.values()) / a.runs
    print(f"kernel time per run: {total:.1f} us")
    for kind, us in by_kind.most_common():
        print(f"  {kind:10s} {us / a.runs:8.1f} us  {100 * us / a.runs / total:5.1f}%")
    print("top kernels (per run: total us, launches):")
    for name, us in by_name.most_common(15):
        print(f"  {us / a.runs:8.1f} us  x{count[name] / a.runs:5.1f}  {name}")


if __name__ == "__main__":
    main()
