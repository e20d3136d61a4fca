#!/usr/bin/env bash
# The checking builds (docs/security.md): build-fuzz is dynrt compiled with
# clang under AddressSanitizer + UndefinedBehaviorSanitizer, with the libFuzzer
# targets of tests/fuzz (engine files, ONNX models, npz files, images). Runs the C++ unit tests and each fuzzer for SECONDS
# (default 60) from seeds made out of the test models; the corpus grows in
# build-fuzz/corpus/<target>.run (keep it between runs to fuzz for hours).
#   bash scripts/fuzz.sh [SECONDS]
#   FUZZ_SEED=1 FUZZ_RUNS=60000 bash scripts/fuzz.sh   # what CI runs: a fixed seed and count, reproducible
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across clones in other folders (debug info then names the first clone's paths)
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
secs=${1:-60}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDYNRT_SANITIZE=address,undefined -DDYNRT_FUZZ=ON -DDYNRT_CUDA=OFF -DDYNRT_HWCAPS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)"
# Leak checking stays off: the runtime keeps process-lifetime tables (interned shape expressions).
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=1
ctest --test-dir build-fuzz --output-on-failure -j"$(nproc)"
python3 tests/fuzz/make_corpus.py build-fuzz/corpus build-fuzz/dynrt
status=0
for t in engine model npz image; do
  mkdir -p "build-fuzz/corpus/$t.run"
  # The committed corpus (tests/fuzz/corpus/<target>: what long runs found, merged) seeds every run.
  seeds=""
  [ -d "tests/fuzz/corpus/$t" ] && seeds="tests/fuzz/corpus/$t"
  echo "fuzz_$t: ${FUZZ_RUNS:-${secs} s of} runs"
  # libFuzzer exits non-zero on a finding and writes the input to build-fuzz/crash-*
  limit=(-max_total_time="$secs")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  "build-fuzz/fuzz_$t" "${limit[@]}" -seed="${FUZZ_SEED:-0}" -timeout=20 -rss_limit_mb=3072 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/ "build-fuzz/corpus/$t.run" "build-fuzz/corpus/$t" $seeds > "build-fuzz/fuzz_$t.log" 2>&1 || status=1
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY|deadly signal|Test unit written" \
    "build-fuzz/fuzz_$t.log" || true
done
exit $status
