"""BERT-base engines from bench_gpu.py against ONNX Runtime (CPU, fp32) on the same
ONNX file, with padding in the first sequence: max|diff| <= 1e-2 * max|ref| (fp16).

    python3 benchmarks/check_bert_gpu.py --dynrt .cache/devbin/dynrt --work /tmp/bench_models \
        [--engines bert_base.engine,bert_base.ab.engine]

Run after `bench_gpu.py --models bert_base --work DIR` (it leaves the ONNX file and engines there).
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

ap = argparse.ArgumentParser()
ap.add_argument("--dynrt", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--engines", default="bert_base.engine")
a = ap.parse_args()
work = pathlib.Path(a.work)
sess = ort.InferenceSession(str(work / "bert_base.onnx"), providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
failed = False
with tempfile.TemporaryDirectory() as tmp:
    inp, out = pathlib.Path(tmp) / "in.npz", pathlib.Path(tmp) / "out.npz"
    for b, s in ((1, 16), (3, 77), (8, 128), (2, 512)):
        ids = rng.integers(0, 30522, (b, s)).astype(np.int64)
        mask = np.ones((b, s), np.int64)
        mask[0, s // 2:] = 0
        np.savez(inp, input_ids=ids, attention_mask=mask)
        ref = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        for eng in a.engines.split(","):
            subprocess.run([a.dynrt, "run", str(work / eng), "--inputs", str(inp), "--outputs", str(out)], check=True,
                           capture_output=True)
            got = np.load(out)
            got = got[got.files[0]].astype(np.float32)
            err, top = float(np.abs(got - ref).max()), float(np.abs(ref).max())
            ok = err <= 1e-2 * top
            failed |= not ok
            print(f"{eng:22s} {b}x{s}: max|diff| {err:.4f}, max|ref| {top:.2f}, ratio {err / top:.5f} "
                  f"{'ok' if ok else 'FAIL'}")
sys.exit(1 if failed else 0)
