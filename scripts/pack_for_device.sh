#!/usr/bin/env bash
# Pack the built CLI with its shared libraries into .cache/devbin so the GPU
# machine (which has no Debian packages of ours) can run it: copy
# .cache/devpack.tar.xz into the same path of a checkout there and run
# `bash scripts/gpu_tests.sh STEP` there (it unpacks the build and sets LD_LIBRARY_PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/devbin
build=${BUILD_DIR:-build}  # the build to pack
rm -rf "$out" && mkdir -p "$out"
cp "$build"/dynrt "$build"/libdynrt_runtime.so "$build"/libdynrt_compiler.so "$out/"
cp "$build"/libdynrt_provider_*.so "$out/" 2>/dev/null || true
# benchmarks/memory_vs_ort.py's helper, when built (-DDYNRT_BUILD_BENCHMARKS=ON).
cp "$build"/plan_cache_memory "$out/" 2>/dev/null || true
# The x86-64-v3 runtime, which the loader takes from glibc-hwcaps/ on CPUs with AVX2.
[ -d "$build"/glibc-hwcaps ] && cp -r "$build"/glibc-hwcaps "$out/"
for lib in libonnx_proto.so.1 libprotobuf.so.32 libstdc++.so.6 libre2.so.9; do
  cp -L "/lib/x86_64-linux-gnu/$lib" "$out/"
done
# oneDNN, TBB and Intel's runtime from their pip wheels (cmake/onednn.cmake), wherever this build found them.
for lib in libdnnl libtbb libimf libintlc; do
  cp -L "$(ldd "$build"/libdynrt_runtime.so | awk -v l="$lib" 'index($1, l) == 1 {print $3}')" "$out/"
done
du -sh "$out"
# One compressed file to copy to the GPU machine; scripts/gpu_tests.sh unpacks it.
tar -C .cache -cJf .cache/devpack.tar.xz devbin
du -sh .cache/devpack.tar.xz
# The Python package for the GPU machine's Python 3.12 (scripts/gpu_tests.sh python), when
# a Python 3.12 with pip is here (PYTHON312=...).
py312=${PYTHON312:-python3.12}
if [ -z "${PYTHON312:-}" ] && command -v pyenv >/dev/null; then  # a pyenv-installed 3.12
  v=$(pyenv versions --bare | grep -m1 '^3\.12' || true)
  [ -n "$v" ] && py312="$(pyenv root)/versions/$v/bin/python3.12"
fi
if command -v "$py312" >/dev/null; then
  mkdir -p .cache/wheels && rm -f .cache/wheels/*.whl
  "$py312" -m pip wheel -q --no-deps . -w .cache/wheels --config-settings=build-dir=build/python312 && ls -la .cache/wheels
fi
