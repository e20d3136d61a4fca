"""Run-time control flow: the zoo's rnn_loop (a recurrence over the sequence, an ONNX Loop from
both exporters) and cond_gate (an If on data), one dynamic engine each, against ONNX Runtime
(CPU) and PyTorch eager in the same run. Medians of --iterations runs.

    python3 benchmarks/control_flow.py [--devices cpu,cuda] [--threads N] [--iterations 100]

DYNRT_BUILD_DIR names the folder holding the dynrt CLI (default build/).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "zoo"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import zoo_lib  # noqa: E402
from timing import median_ms  # noqa: E402

CASES = {  # model: (dims for the engine, shapes to time)
    "rnn_loop": ({"batch": "1:4:16", "seq": "1:16:128"}, [(1, 16, 16), (4, 128, 16), (16, 128, 16)]),
    "cond_gate": ({"batch": "1:8:64"}, [(1, 16), (8, 16), (64, 16)]),
}


def dynrt_median(binary, engine, shape, iterations, threads):
    out = subprocess.run([binary, "bench", engine, "--shapes", "x:" + "x".join(map(str, shape)), "--iterations",
                          str(iterations)] + (["--threads", str(threads)] if threads else []),
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def torch_eager(name):
    """The model as PyTorch eager code would write it (a Python loop, a Python if), or None."""
    try:
        import torch
        import export_zoo
    except ImportError:
        return None
    torch.manual_seed(0)
    if name == "rnn_loop":
        m = export_zoo.RnnLoop().eval()

        def rnn(x):
            h = x.new_zeros(x.size(0), 32)
            for t in range(x.size(1)):
                h = torch.tanh(m.inp(x[:, t]) + m.rec(h))
            return h
        return m, rnn
    m = export_zoo.CondGate().eval()
    return m, lambda x: m.pos(x) if bool(x.mean() > 0) else m.neg(x) * 2.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--iterations", type=int, default=100)
    a = ap.parse_args()
    binary = str(pathlib.Path(os.environ.get("DYNRT_BUILD_DIR", ROOT / "build")) / "dynrt")
    tmp = pathlib.Path(tempfile.mkdtemp())
    print("| model | exporter | device | shape | dynrt ms | ORT cpu ms | torch eager ms |")
    print("|---|---|---|---|---|---|---|")
    for name, (dims, shapes) in CASES.items():
        eager = torch_eager(name)
        for exporter in ("torchscript", "dynamo"):
            path = tmp / f"{name}.{exporter}.onnx"
            onnx.save(zoo_lib.load(name, exporter), str(path))
            so = ort.SessionOptions()
            if a.threads:
                so.intra_op_num_threads = a.threads
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            for device in a.devices.split(","):
                engine = tmp / f"{name}.{exporter}.{device}.engine"
                args = [binary, "build", path, "-o", engine, "--device", device, "--quiet"]
                for d, r in dims.items():
                    args += ["--dim", f"{d}={r}"]
                subprocess.run(args, check=True)
                for shape in shapes:
                    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
                    d_ms = dynrt_median(binary, engine, shape, a.iterations, a.threads)
                    o_ms = median_ms(lambda: sess.run(None, {"x": x}), a.iterations)
                    t_ms = float("nan")
                    if eager is not None:
                        import torch
                        module, fn = eager
                        module.to(device)
                        xt = torch.from_numpy(x).to(device)

                        def call():
                            with torch.no_grad():
                                fn(xt)
                            if device == "cuda":
                                torch.cuda.synchronize()
                        t_ms = median_ms(call, a.iterations)
                    print(f"| {name} | {exporter} | {device} | {'x'.join(map(str, shape))} | {d_ms:.3f} | {o_ms:.3f} | "
                          f"{t_ms:.3f} |", flush=True)


if __name__ == "__main__":
    main()
