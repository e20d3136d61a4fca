"""dynrt's fused attention against PyTorch's scaled_dot_product_attention on
the GPU, in one run: the ONNX Attention op (opset 23, float16) with BERT-base heads
(12 x 64), a bool mask [B, 1, S, S] as the dynamo exporter builds it, or none.

    python3 benchmarks/attention_gpu.py --dynrt .cache/devbin/dynrt [--iterations 50]

One engine per mask kind is built over batch 1..32 and sequence 16..512 and
timed at each shape with device inputs (`dynrt bench --io device`); PyTorch
runs F.scaled_dot_product_attention on the same shapes and dtype (its own
choice of backend). Both figures are medians of launch + GPU work +
synchronize; TFLOP/s counts 4 * B * H * S^2 * D.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import tempfile

import onnx
import torch
from onnx import TensorProto as T
from onnx import helper as h

from bench_gpu import bench_engine, dynrt, median_ms

SHAPES = [(1, 128), (8, 128), (32, 128), (8, 384), (32, 384), (8, 512)]
HEADS, DIM = 12, 64


def attention_model(masked: bool) -> onnx.ModelProto:
    def vi(n, shape, t=T.FLOAT16):  # float16 in and out: no casts around the node
        return h.make_tensor_value_info(n, t, shape)
    inputs = [vi(n, ["B", HEADS, "S", DIM]) for n in "qkv"]
    if masked:
        inputs.append(vi("m", ["B", 1, "S", "S"], T.BOOL))
    g = h.make_graph([h.make_node("Attention", [i.name for i in inputs], ["y"])], "attention", inputs, [vi("y", None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 23)])
    m.ir_version = 10
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dynrt", required=True)
    ap.add_argument("--iterations", type=int, default=50)
    a = ap.parse_args()
    dtype = torch.float16
    work = pathlib.Path(tempfile.mkdtemp())
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, float16")
    print("| mask | B x S | dynrt ms | torch SDPA ms | dynrt TFLOP/s | torch/dynrt |")
    print("|---|---|---|---|---|---|")
    for masked in (False, True):
        path, engine = work / f"attn{int(masked)}.onnx", work / f"attn{int(masked)}.engine"
        onnx.save(attention_model(masked), str(path))
        dynrt(a.dynrt, "build", path, "-o", engine, "--dim", "B=1:8:32", "--dim", "S=16:128:512", "--device", "cuda",
              "--precision", "fp16")
        for b, s in SHAPES:
            shapes = ",".join(f"{n}:{b}x{HEADS}x{s}x{DIM}" for n in "qkv") + (f",m:{b}x1x{s}x{s}" if masked else "")
            ms = bench_engine(a.dynrt, engine, shapes, a.iterations)["median_ms"]
            q, k, v = (torch.randn(b, HEADS, s, DIM, device="cuda", dtype=dtype) for _ in range(3))
            mask = torch.ones(b, 1, s, s, device="cuda", dtype=torch.bool) if masked else None
            with torch.no_grad():
                ref = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                                a.iterations)
            tflops = 4 * b * HEADS * s * s * DIM / (ms * 1e-3) / 1e12
            print(f"| {'bool' if masked else 'none'} | {b}x{s} | {ms:.3f} | {ref:.3f} | {tflops:.0f} | {ref / ms:.2f} |",
                  flush=True)
            print(json.dumps({"mask": masked, "b": b, "s": s, "dynrt_ms": ms, "torch_ms": ref}), flush=True)


if __name__ == "__main__":
    main()
