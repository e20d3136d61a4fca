#!/usr/bin/env bash
# The GPU tests, on the GPU machine (it has the CUDA libraries and Python with
# onnx/onnxruntime/pytest, not our Debian packages): runs a build packed by
# scripts/pack_for_device.sh from .cache/devbin.
#   tests/python/test_cuda.py                 single ops on the GPU vs ONNX Runtime
#   tests/python/test_ops_*.py, test_zoo.py   every op test and the zoo, engines built --providers cuda,cpu
#   tools/zoo/run_zoo.py [--full]             the zoo report on cuda (docs/zoo_cuda.md, docs/zoo_full_cuda.md)
#   benchmarks/bench_gpu.py                   dynrt vs PyTorch eager / torch.compile (bench)
#   tests/python/test_python_cuda.py          the Python API on CUDA tensors (python; copy .cache/wheels there too)
#   benchmarks/cpu_sweep.py                   the CPU sweep against ORT, OpenVINO, tract (cpusweep; SWEEP_ARGS;
#                                             the peers' wheels from .cache/peers, made by scripts/pack_peers.sh)
# Usage: bash scripts/gpu_tests.sh STEP[,STEP...] [OUTDIR]   steps: cuda ops (or ops1, ops2) zoo zoofull python bench profile cpusweep none
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-cuda}
out=${2:-${OUT:-/tmp}}
bin=$PWD/.cache/devbin
# A warm machine keeps ignored files between calls: unpack the carried build afresh.
sum=$( [ -f .cache/devpack.tar.xz ] && md5sum < .cache/devpack.tar.xz)
if [ -n "$sum" ] && [ "$sum" != "$(cat "$bin/.from_pack" 2>/dev/null)" ]; then
  rm -rf "$bin" && tar -xJf .cache/devpack.tar.xz -C .cache && echo "$sum" > "$bin/.from_pack"
fi
# cuBLASLt and cuDNN: the system CUDA toolkit's, else the ones PyTorch ships.
libdirs=$(dirname $(find /usr /opt \( -name 'libcublasLt.so.13' -o -name 'libcudnn.so.9' \) 2>/dev/null) 2>/dev/null | sort -u | tr '\n' ':')
# Our libraries (Debian's libstdc++, protobuf, oneDNN) for dynrt alone, not for
# Python: the CLI becomes a wrapper that sets the library path.
if [ ! -f "$bin/dynrt.bin" ]; then
  mv "$bin/dynrt" "$bin/dynrt.bin"
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s:%s exec %s/dynrt.bin "$@"\n' "$bin" "$libdirs" "$bin" > "$bin/dynrt"
  chmod +x "$bin/dynrt"
fi
export DYNRT_BUILD_DIR=$bin DYNRT_EXPECT_GPU=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
rc=0
for step in ${what//,/ }; do
  case $step in
    cuda)  # the GPU kernels op by op (each test checks the op ran on cuda)
      python3 -m pytest -q -n 16 -p no:cacheprovider tests/python/test_cuda.py tests/python/test_cuda_elementwise.py tests/python/test_cuda_fusion.py \
        tests/python/test_cuda_tuning.py \
        2>&1 | tee "$out/test_cuda.log" | grep -E "FAILED|passed|failed" || rc=1 ;;
    ops|ops1|ops2)  # every op test with the engines on cuda,cpu (failures stream to ops.log as they happen;
      # the whole output, tracebacks included, is ops_full.log). ops1 and ops2 are its two halves (about 8 minutes each).
      tests=$(ls tests/python/test_ops_*.py tests/python/test_zoo.py)
      [ "$step" = ops1 ] && tests=$(echo "$tests" | head -n 8)
      [ "$step" = ops2 ] && tests=$(echo "$tests" | tail -n +9)
      DYNRT_TEST_PROVIDERS=cuda,cpu python3 -m pytest -v -n 16 -p no:cacheprovider --tb=short ${OPS_ARGS:-} $tests 2>&1 \
        | tee "$out/${step}_full.log" | grep --line-buffered -E "FAILED|ERROR|passed|failed" | tee "$out/$step.log" \
        | tail -40 || rc=1 ;;
    zoo)  # the zoo report at CI sizes on cuda in fp32, fp16 and bf16 (in parallel)
      for p in fp32 fp16 bf16; do
        python3 tools/zoo/run_zoo.py --build-dir "$bin" --providers cuda,cpu --precision $p \
          --out "$out/zoo_cuda_$p.md" > "/tmp/zoo_$p.log" 2>&1 &
      done
      wait
      tail -n1 /tmp/zoo_*.log ;;
    zoofull)
      python3 tools/zoo/run_zoo.py --full --build-dir "$bin" --providers cuda,cpu --out "$out/zoo_full_cuda.md" \
        2>&1 | tail -1 ;;
    python)  # the Python API on CUDA tensors, from the carried cp312 wheel (.cache/wheels, scripts/pack_for_device.sh)
      python3 -m pip install -q --no-index --no-deps --target /tmp/site .cache/wheels/dynrt-*cp312*.whl || rc=1
      LD_LIBRARY_PATH=$libdirs PYTHONPATH=/tmp/site python3 -m pytest -q -p no:cacheprovider tests/python/test_python_cuda.py 2>&1 \
        | grep -E "^E |FAILED|passed|failed" | tail -20 || rc=1 ;;
    bench)  # dynrt vs PyTorch eager / torch.compile; add --static for dynamic-vs-static
      python3 benchmarks/bench_gpu.py --dynrt "$bin/dynrt" --out "$out" --work /tmp/bench_models ${BENCH_ARGS:-} \
        2>&1 | grep -v Warning | tail -25 || rc=1
      # The benchmarked BERT-base engine's outputs against ONNX Runtime (fp16: 1e-2 * max|ref|).
      if [ -f /tmp/bench_models/bert_base.engine ]; then
        python3 benchmarks/check_bert_gpu.py --dynrt "$bin/dynrt" --work /tmp/bench_models || rc=1
      fi ;;
    cpusweep)  # the GPU machine as a quiet 16-core CPU: dynrt vs ORT, OpenVINO, tract (no network there:
      # the peers come unpacked from .cache/peers)
      if [ -d .cache/peers ] && [ ! -d /tmp/peers/openvino ]; then
        mkdir -p /tmp/peers && tar -xJf .cache/peers/openvino.tar.xz -C /tmp/peers
        for w in .cache/peers/*.whl; do python3 -m zipfile -e "$w" /tmp/peers; done
      fi
      PYTHONPATH=/tmp/peers python3 benchmarks/cpu_sweep.py ${SWEEP_ARGS:-} --json "$out/cpu_sweep.json" 2>&1 \
        | tee "$out/cpu_sweep.log" | grep -v "^{" || rc=1 ;;
    profile)  # Nsight Compute on the BERT-base engine left by the bench step, at PROFILE_SHAPE (BxS, default
      # 32x128): every kernel's time with the L2 cache kept between kernels (as in a replayed graph), grouped
      # by kind; then the flash-attention kernel's sections and stall reasons.
      e=/tmp/bench_models/bert_base.engine; s=${PROFILE_SHAPE:-32x128}
      args=(bench "$e" --shapes "input_ids:$s,attention_mask:$s" --io device --iterations 3 --warmup 0)
      ncu --csv --cache-control none --clock-control none --metrics gpu__time_duration.sum "$bin/dynrt" "${args[@]}" \
        > "$out/ncu_times_$s.csv" 2>&1 || rc=1
      python3 benchmarks/ncu_summary.py "$out/ncu_times_$s.csv" --runs 3 | tee "$out/ncu_summary_$s.txt"
      ncu --set full --cache-control none -k regex:flash_attention -s 12 -c 1 --import-source yes -f -o "$out/flash_$s" \
        --metrics 'regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio' "$bin/dynrt" "${args[@]}" \
        > /dev/null 2>&1 || rc=1
      ncu -i "$out/flash_$s.ncu-rep" --page details > "$out/ncu_flash_$s.txt" 2>&1
      # Stall samples per SASS instruction (with CUDA lines: the provider is built with -lineinfo).
      ncu -i "$out/flash_$s.ncu-rep" --page source --csv --print-source sass,cuda > "$out/ncu_flash_source_$s.csv" 2>&1
      grep -E "Duration|Registers|Achieved Occupancy|Theoretical Occupancy|Waves|Block Limit|Throughput|stalled" \
        "$out/ncu_flash_$s.txt" | head -60 ;;
    none) ;;  # unpack only
    *) echo "unknown step $step"; rc=2 ;;
  esac
done
exit $rc
