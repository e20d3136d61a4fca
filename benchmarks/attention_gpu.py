"""dynrt's fused attention against PyTorch's scaled_dot_product_attention on
the GPU, in one run: the ONNX Attention op (opset 23, float16) with BERT-base heads
(12 x 64) and one of four masks: none; bool [B, 1, S, S] as the dynamo exporter
builds it; bool [B, 1, 1, S] and additive float16 [B, 1, 1, S] (key padding, as
BERT's mask reaches the fused node).

    python3 benchmarks/attention_gpu.py --dynrt .cache/devbin/dynrt [--iterations 50] [--ab-env VAR=VALUE]

--ab-env times every dynrt case again with that environment variable set (for
example DYNRT_CUDA_FLASH_ROWS=64) in an extra column.

One engine per mask kind is built over batch 1..32 and sequence 16..512 and
timed at each shape with device inputs (`dynrt bench --io device`); PyTorch
runs F.scaled_dot_product_attention on the same shapes and dtype (its own
choice of backend). Both figures are medians of launch + GPU work +
synchronize; TFLOP/s counts 4 * B * H * S^2 * D.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile

import onnx
import torch
from onnx import TensorProto as T
from onnx import helper as h

from bench_gpu import bench_engine, dynrt, median_ms

SHAPES = [(1, 128), (8, 128), (32, 128), (8, 384), (32, 384), (8, 512)]
HEADS, DIM = 12, 64


# mask kind -> (ONNX type, dims after B; "S" is the sequence)
MASKS = {"none": None, "bool": (T.BOOL, [1, "S", "S"]), "key-bool": (T.BOOL, [1, 1, "S"]),
         "key-add": (T.FLOAT16, [1, 1, "S"])}


def attention_model(kind: str) -> onnx.ModelProto:
    def vi(n, shape, t=T.FLOAT16):  # float16 in and out: no casts around the node
        return h.make_tensor_value_info(n, t, shape)
    inputs = [vi(n, ["B", HEADS, "S", DIM]) for n in "qkv"]
    if MASKS[kind]:
        t, dims = MASKS[kind]
        inputs.append(vi("m", ["B"] + dims, t))
    g = h.make_graph([h.make_node("Attention", [i.name for i in inputs], ["y"])], "attention", inputs, [vi("y", None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 23)])
    m.ir_version = 10
    return m


def torch_mask(kind: str, b: int, s: int):
    if kind == "none":
        return None
    shape = (b, 1, s, s) if kind == "bool" else (b, 1, 1, s)
    if kind == "key-add":
        return torch.zeros(shape, device="cuda", dtype=torch.float16)
    return torch.ones(shape, device="cuda", dtype=torch.bool)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dynrt", required=True)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--ab-env", default=None, metavar="VAR=VALUE")
    a = ap.parse_args()
    env = {**os.environ, **dict([a.ab_env.split("=", 1)])} if a.ab_env else None
    dtype = torch.float16
    work = pathlib.Path(tempfile.mkdtemp())
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, float16")
    ab = f" {a.ab_env} ms |" if env else ""
    print(f"| mask | B x S | dynrt ms |{ab} torch SDPA ms | dynrt TFLOP/s | torch/dynrt |")
    print("|---|---|---|" + ("---|" if env else "") + "---|---|---|")
    for kind in MASKS:
        path, engine = work / f"attn_{kind}.onnx", work / f"attn_{kind}.engine"
        onnx.save(attention_model(kind), str(path))
        dynrt(a.dynrt, "build", path, "-o", engine, "--dim", "B=1:8:32", "--dim", "S=16:128:512", "--device", "cuda",
              "--precision", "fp16")
        for b, s in SHAPES:
            shapes = ",".join(f"{n}:{b}x{HEADS}x{s}x{DIM}" for n in "qkv")
            if MASKS[kind]:
                shapes += f",m:{b}x" + "x".join(str(s if d == "S" else d) for d in MASKS[kind][1])
            ms = bench_engine(a.dynrt, engine, shapes, a.iterations)["median_ms"]
            ms_ab = bench_engine(a.dynrt, engine, shapes, a.iterations, env=env)["median_ms"] if env else None
            q, k, v = (torch.randn(b, HEADS, s, DIM, device="cuda", dtype=dtype) for _ in range(3))
            mask = torch_mask(kind, b, s)
            with torch.no_grad():
                ref = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                                a.iterations)
            tflops = 4 * b * HEADS * s * s * DIM / (ms * 1e-3) / 1e12
            abcol = f" {ms_ab:.3f} |" if env else ""
            print(f"| {kind} | {b}x{s} | {ms:.3f} |{abcol} {ref:.3f} | {tflops:.0f} | {ref / ms:.2f} |", flush=True)
            print(json.dumps({"mask": kind, "b": b, "s": s, "dynrt_ms": ms, "ab_ms": ms_ab, "torch_ms": ref}),
                  flush=True)


if __name__ == "__main__":
    main()
