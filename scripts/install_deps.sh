#!/usr/bin/env bash
# Installs everything dynrt needs on a fresh Debian 12 machine (idempotent).
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
pkgs=(cmake ninja-build g++ ccache pkg-config libprotobuf-dev protobuf-compiler libonnx-dev
      zlib1g-dev libgtest-dev python3-pip libcli11-dev nlohmann-json3-dev
      clang libclang-rt-14-dev libomp-dev)  # clang: the fuzzing and sanitizer build (scripts/fuzz.sh)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -r "$(dirname "$0")/../requirements.txt"
