#!/usr/bin/env bash
# The main job: install, build, compile bundled models with dynamic profiles,
# run them at several shapes on CPU, print output summaries and latencies.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
out=.cache/demo
mkdir -p "$out"
dynrt=./build/dynrt

echo "== BERT-style encoder (exported from PyTorch), batch and sequence length dynamic, shared by both inputs"
$dynrt inspect tests/models/bert_tiny.torchscript.onnx
$dynrt build tests/models/bert_tiny.torchscript.onnx -o "$out/bert_tiny.engine" --dim batch=1:4:8 --dim seq=8:64:128
$dynrt inspect "$out/bert_tiny.engine"
for s in 1x8 4x64 8x128 3x17 5x100; do
  echo "-- input shape $s"
  $dynrt run "$out/bert_tiny.engine" --shapes "input_ids:$s,attention_mask:$s"
done

echo "== AdaptiveAvgPool2d -> flatten CNN (the Torch-TensorRT sym_size case), batch 1:4:8"
$dynrt build tests/models/pool_flatten.torchscript.onnx -o "$out/pool_flatten.engine" --dim batch=1:4:8
for b in 1 2 3 5 8; do
  echo "-- batch $b"
  $dynrt run "$out/pool_flatten.engine" --shapes "x:${b}x3x16x16"
done
echo "-- batch 9 is outside the profile:"
$dynrt run "$out/pool_flatten.engine" --shapes "x:9x3x16x16" || true

echo "== The same from Python (pip install . builds the dynrt package)"
python3 -m pip install -q --disable-pip-version-check --no-build-isolation .
python3 - <<'PY'
import numpy as np
import dynrt
m = dynrt.compile("tests/models/pool_flatten.torchscript.onnx",
                  [dynrt.Input(min_shape=(1, 3, 16, 16), opt_shape=(4, 3, 16, 16), max_shape=(8, 3, 16, 16))])
for b in (1, 3, 8):
    y = m(np.random.rand(b, 3, 16, 16).astype(np.float32))
    print(f"-- batch {b}: output {y.shape} {y.dtype}, mean {float(y.mean()):.4f}")
try:
    m(np.zeros((9, 3, 16, 16), np.float32))
except dynrt.ShapeOutOfRange as e:
    print("-- batch 9:", type(e).__name__ + ":", e)
PY
