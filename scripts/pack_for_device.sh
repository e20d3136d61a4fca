#!/usr/bin/env bash
# Pack the built CLI with its shared libraries into .cache/devbin so the GPU
# machine (which has no Debian packages of ours) can run it:
#   run(carry=[".cache/devpack.tar.xz"]): bash scripts/gpu_tests.sh (unpacks it, sets the library path)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/devbin
rm -rf "$out" && mkdir -p "$out"
cp build/dynrt build/libdynrt_runtime.so build/libdynrt_compiler.so "$out/"
cp build/libdynrt_provider_*.so "$out/" 2>/dev/null || true
for lib in libonnx_proto.so.1 libprotobuf.so.32 libdnnl.so.2 libOpenCL.so.1 libgomp.so.1 libstdc++.so.6; do
  cp -L "/lib/x86_64-linux-gnu/$lib" "$out/"
done
du -sh "$out"
# One compressed file to carry: run(carry=[".cache/devpack.tar.xz"]); scripts/gpu_tests.sh unpacks it.
tar -C .cache -cJf .cache/devpack.tar.xz devbin
du -sh .cache/devpack.tar.xz
