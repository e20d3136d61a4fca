"""LSTM and GRU on the CPU: dynrt vs ONNX Runtime, same run, same thread count
(issue 8: a 2-layer bidirectional LSTM, input 16, hidden 32, and the same with
GRU, at batch 4 x 77 steps and 8 x 200).

    python3 benchmarks/rnn_vs_ort.py [--threads 2] [--iterations 20]

Each model is exported from PyTorch (TorchScript exporter) with dynamic batch
and sequence, built once by dynrt over batch 1:4:16, seq 1:77:256; outputs are
checked against ONNX Runtime before timing. Medians in ms.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import tempfile

import numpy as np
import onnxruntime as ort
import torch

from timing import median_ms

ROOT = pathlib.Path(__file__).resolve().parents[1]
DYNRT = os.environ.get("DYNRT_BUILD_DIR", str(ROOT / "build")) + "/dynrt"


class Net(torch.nn.Module):
    def __init__(self, kind):
        super().__init__()
        cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
        self.rnn = cls(16, 32, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=20)
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    for kind in ("lstm", "gru"):
        path, engine = tmp / f"{kind}.onnx", tmp / f"{kind}.engine"
        with torch.no_grad():
            torch.onnx.export(Net(kind).eval(), (torch.randn(2, 10, 16),), str(path), input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}},
                              opset_version=17, dynamo=False)
        subprocess.run([DYNRT, "build", path, "-o", engine, "--dim", "batch=1:4:16", "--dim", "seq=1:77:256"],
                       check=True, capture_output=True)
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        for b, s in ((4, 77), (8, 200)):
            x = np.random.default_rng(b).standard_normal((b, s, 16)).astype(np.float32)
            ref = sess.run(None, {"x": x})[0]
            np.savez(tmp / "in.npz", x=x)
            subprocess.run([DYNRT, "run", engine, "--inputs", tmp / "in.npz", "--outputs", tmp / "out.npz"], check=True,
                           capture_output=True)
            err = float(np.abs(np.load(tmp / "out.npz")["y"] - ref).max())
            out = subprocess.run([DYNRT, "bench", engine, "--shapes", f"x:{b}x{s}x16", "--iterations", str(a.iterations),
                                  "--threads", str(a.threads), "--json"], check=True, capture_output=True, text=True)
            ours = json.loads(out.stdout.strip().splitlines()[-1])["median_ms"]
            theirs = median_ms(lambda: sess.run(None, {"x": x}), a.iterations, warmup=3)
            print(f"{kind} {b}x{s}: dynrt {ours:.3f} ms, ORT {theirs:.3f} ms, dynrt/ORT {ours / theirs:.2f}, "
                  f"max|diff| {err:.1e}", flush=True)


if __name__ == "__main__":
    main()
