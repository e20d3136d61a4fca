#!/usr/bin/env bash
# Installs everything dynrt needs on a fresh Debian 12 machine (idempotent).
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
pkgs=(cmake ninja-build g++ ccache pkg-config libprotobuf-dev protobuf-compiler libonnx-dev
      zlib1g-dev libgtest-dev python3-pip libcli11-dev nlohmann-json3-dev
      clang libclang-rt-14-dev libomp-dev  # clang: the fuzzing and sanitizer build (scripts/fuzz.sh)
      libjpeg62-turbo-dev libpng-dev libtiff-dev libwebp-dev libopenjp2-7-dev libstb-dev  # ImageDecoder (src/codecs)
      libre2-dev)  # RegexFullMatch (runtime/string_ops.cpp)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# oneDNN's OpenMP wheels (what dynrt used before it moved to TBB) ship the same libdnnl.so.3 as the
# TBB ones that requirements.txt names: with both installed, whichever was unpacked last wins.
for w in onednn-cpu-gomp onednn-devel-cpu-gomp onednn-cpu-iomp onednn-devel-cpu-iomp; do
  if python3 -m pip show -q "$w" >/dev/null 2>&1; then
    python3 -m pip uninstall -q -y "$w"
    reinstall_onednn=1
  fi
done
python3 -m pip install -q --disable-pip-version-check -r "$(dirname "$0")/../requirements.txt"
if [ -n "${reinstall_onednn:-}" ]; then  # the uninstall removed files the TBB wheels share
  python3 -m pip install -q --disable-pip-version-check --force-reinstall --no-deps onednn-cpu-tbb==2023.2.0 \
    onednn-devel-cpu-tbb==2023.2.0
fi
