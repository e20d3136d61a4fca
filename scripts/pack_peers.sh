#!/usr/bin/env bash
# The CPU sweep's peers for the GPU machine, which has no network: OpenVINO
# (re-packed as .tar.xz to fit the device tool's 64 MiB carry beside the build)
# and tract, from PyPI for that machine's Python 3.12, into .cache/peers.
#   bash scripts/pack_peers.sh && (device) bash scripts/gpu_tests.sh cpusweep OUT
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q openvino tract openvino-telemetry --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$tmp/wheels"
rm -rf .cache/peers && mkdir -p .cache/peers "$tmp/ov"
python3 -m zipfile -e "$tmp"/wheels/openvino-20*.whl "$tmp/ov"
# Only the CPU plugin is used: the GPU and NPU plugins and the headers would
# push the carry past its limit.
rm -rf "$tmp"/ov/openvino/libs/libopenvino_intel_{gpu,npu}_plugin.so "$tmp"/ov/openvino/include
tar -C "$tmp/ov" -cJf .cache/peers/openvino.tar.xz .
cp "$tmp"/wheels/tract-*.whl "$tmp"/wheels/openvino_telemetry-*.whl .cache/peers/
du -sh .cache/peers/*
