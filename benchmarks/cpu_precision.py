"""dynrt fp32 and bf16 on the CPU against ONNX Runtime (fp32) and, when it is
installed (pip install openvino), OpenVINO (f32 and its default precision,
bf16 on CPUs that have it), one run, same machine, same thread count.

    python3 benchmarks/cpu_precision.py [--model bert_base] [--shapes 1x16,1x128,8x128] [--threads 2]

dynrt builds one dynamic engine per precision over issue 8's range (ResNet-50
batch 1:8:64; BERT-base batch 1:4:64, sequence 2:128:512). Every figure is the
median of --iterations timed runs after 2 warm-up runs; "err" is
max|out - ORT| / max|ORT| on the first output. CPU numbers on a shared 2-core
machine are noisy: repeat and read the spread.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "python"))
import harness  # noqa: E402
from timing import median_ms  # noqa: E402
import model_zoo  # noqa: E402

MODELS = {
    "resnet50": ("zoo/resnet50.torchscript.onnx", {"batch": "1:8:64", "height": "224:224:224", "width": "224:224:224"}),
    "bert_base": ("zoo/bert_base.torchscript.onnx", {"batch": "1:4:64", "seq": "2:128:512"}),
}


def feeds_for(sess, model, shape, rng):
    feeds = {}
    for i in sess.get_inputs():
        if model == "resnet50":
            feeds[i.name] = rng.standard_normal((shape[0], 3, 224, 224)).astype(np.float32)
        else:
            feeds[i.name] = (rng.integers(0, 30522, shape) if "ids" in i.name else np.ones(shape)).astype(np.int64)
    return feeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="bert_base", choices=sorted(MODELS))
    ap.add_argument("--shapes", default="1x16,1x128,8x128", help="batch (resnet50) or batchxseq (bert_base), comma-separated")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=5)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    zoo_name, dims = MODELS[args.model]
    tmp = pathlib.Path(tempfile.mkdtemp())
    path = model_zoo.save_filled(zoo_name, tmp)
    engines = {}
    for p in ("fp32", "bf16"):
        (tmp / p).mkdir()
        engines[p] = harness.build_engine(path, tmp / p, dims=dims, extra=["--precision", p])
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    ov_models = {}
    try:
        import openvino as ov
        core = ov.Core()
        m = core.read_model(str(path))
        ov_models["OpenVINO f32"] = core.compile_model(m, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                                   "INFERENCE_NUM_THREADS": args.threads})
        c = core.compile_model(m, "CPU", {"INFERENCE_NUM_THREADS": args.threads})
        ov_models[f"OpenVINO default ({c.get_property('INFERENCE_PRECISION_HINT')})"] = c
    except ImportError:
        print("openvino is not installed: OpenVINO columns left out", flush=True)
    rng = np.random.default_rng(0)
    print(f"{args.model}, {args.threads} threads; ms (err vs ONNX Runtime fp32)")
    for spec in args.shapes.split(","):
        shape = tuple(int(v) for v in spec.split("x"))
        feeds = feeds_for(sess, args.model, shape, rng)
        ref = sess.run(None, feeds)[0]
        row = {"shape": spec, "ORT fp32": f"{median_ms(lambda: sess.run(None, feeds), args.iterations):.1f}"}
        inp, out = tmp / "in.npz", tmp / "out.npz"
        np.savez(inp, **feeds)
        shapes_arg = ",".join(f"{k}:{'x'.join(map(str, v.shape))}" for k, v in feeds.items())
        for p, e in engines.items():
            st = json.loads(harness.run_cli("bench", e, "--shapes", shapes_arg, "--iterations", args.iterations,
                                            "--warmup", 2, "--threads", args.threads, "--json").stdout.strip().splitlines()[-1])
            harness.run_cli("run", e, "--inputs", inp, "--outputs", out)
            with np.load(out) as z:
                y = next(z[k] for k in z.files if z[k].shape == ref.shape)
            row[f"dynrt {p}"] = f"{st['median_ms']:.1f} ({np.abs(y - ref).max() / np.abs(ref).max():.1e})"
        for name, c in ov_models.items():
            req = c.create_infer_request()
            ms = median_ms(lambda: req.infer(feeds), args.iterations)
            y = next(v for v in req.infer(feeds).values() if v.shape == ref.shape)
            row[name] = f"{ms:.1f} ({np.abs(y - ref).max() / np.abs(ref).max():.1e})"
        print(" | ".join(f"{k} {v}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
