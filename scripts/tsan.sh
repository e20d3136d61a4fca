#!/usr/bin/env bash
# ThreadSanitizer over the multi-threaded tests (docs/security.md): contexts of
# one engine on eight threads at random shapes, and one context shared by two
# threads (refused, never corrupted). OpenMP runs one thread: TSan cannot see
# into libgomp's synchronisation, and dynrt's own threads are what is checked
# (scripts/tsan.supp: what libomp itself does is left out).
#   bash scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across clones in other folders (debug info then names the first clone's paths)
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build-tsan -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDYNRT_SANITIZE=thread -DDYNRT_CUDA=OFF -DDYNRT_BUILD_CLI=OFF -DDYNRT_HWCAPS=OFF >/dev/null
cmake --build build-tsan -j"$(nproc)" --target dynrt_unit_tests
OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=scripts/tsan.supp \
  build-tsan/dynrt_unit_tests --gtest_filter='Engine.ContextsOfOneEngineRunConcurrently:Engine.OneContextFromTwoThreads*'
