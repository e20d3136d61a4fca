#!/usr/bin/env bash
# The GPU tests, on the GPU machine (it has the CUDA libraries and Python with
# onnx/onnxruntime/pytest, not our Debian packages): runs a build packed by
# scripts/pack_for_device.sh from .cache/devbin.
#   tests/python/test_cuda.py                 single ops on the GPU vs ONNX Runtime
#   tests/python/test_ops_*.py, test_zoo.py   every op test and the zoo, engines built --providers cuda,cpu
#   tools/zoo/run_zoo.py [--full]             the zoo report on cuda (docs/zoo_cuda.md, docs/zoo_full_cuda.md)
# Usage: bash scripts/gpu_tests.sh [quick|ops|zoo|full] [OUTDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-quick}
out=${2:-${OUT:-/tmp}}
bin=$PWD/.cache/devbin
# A warm machine keeps ignored files between calls: unpack the carried build afresh.
if [ -f .cache/devpack.tar.xz ]; then rm -rf "$bin" && tar -xJf .cache/devpack.tar.xz -C .cache; fi
# cuBLASLt and cuDNN: the system CUDA toolkit's, else the ones PyTorch ships.
libdirs=$(dirname $(find /usr /opt \( -name 'libcublasLt.so.13' -o -name 'libcudnn.so.9' \) 2>/dev/null) 2>/dev/null | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH=$bin:$libdirs${LD_LIBRARY_PATH:-}
export DYNRT_BUILD_DIR=$bin DYNRT_EXPECT_GPU=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
rc=0
python3 -m pytest -q -n 16 -p no:cacheprovider tests/python/test_cuda.py tests/python/test_cuda_elementwise.py 2>&1 | tee "$out/test_cuda.log" | tail -30 || rc=1
if [ "$what" = ops ] || [ "$what" = full ]; then
  DYNRT_TEST_PROVIDERS=cuda,cpu python3 -m pytest -q -n 16 -p no:cacheprovider tests/python/test_ops_*.py \
    tests/python/test_zoo.py 2>&1 | tee "$out/test_ops_cuda.log" | grep -E "FAILED|ERROR|passed|failed" | tail -60 || rc=1
fi
if [ "$what" = zoo ] || [ "$what" = full ]; then
  python3 tools/zoo/run_zoo.py --build-dir "$bin" --providers cuda,cpu --out "$out/zoo_cuda.md" 2>&1 | tail -3
  [ "$what" = full ] && python3 tools/zoo/run_zoo.py --full --build-dir "$bin" --providers cuda,cpu \
    --out "$out/zoo_full_cuda.md" 2>&1 | tail -3
fi
exit $rc
