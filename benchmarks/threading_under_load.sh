#!/usr/bin/env bash
# oneDNN's OpenMP build against its TBB build under a full load (docs/benchmarks.md, "Latency
# under load"): `pack` (here, with PyPI) downloads both wheels, builds
# benchmarks/threading_under_load.cpp against each and packs the binaries and libraries into
# .cache/lbpack.tar.xz; `run` (on the machine to measure, e.g. the GPU machine through
# scripts' carry) times each idle, with a spin loop per core, and with a g++ -O2 loop per core.
#   bash benchmarks/threading_under_load.sh pack
#   IT=100 M=128 bash benchmarks/threading_under_load.sh run     # after tar -xJf .cache/lbpack.tar.xz -C /tmp/lbx
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
  pack)
    w=$(mktemp -d)
    python3 -m pip download -q --no-deps -d "$w" onednn-cpu-gomp==2023.2.0 onednn-devel-cpu-gomp==2023.2.0 \
      onednn-cpu-tbb==2023.2.0 onednn-devel-cpu-tbb==2023.2.0 tbb==2023.2.0 tbb-devel==2023.2.0 intel-cmplr-lib-rt
    for f in "$w"/*.whl; do (cd "$w" && python3 -m zipfile -e "$f" .); done
    d=$w/lbpack && mkdir -p "$d/lib_gomp" "$d/lib_tbb"
    g=$w/onednn_cpu_gomp-2023.2.0.data/data/lib; t=$w/onednn_cpu_tbb-2023.2.0.data/data/lib
    tb=$w/tbb-2023.2.0.data/data/lib; ic=$(ls -d "$w"/intel_cmplr_lib_rt-*.data/data/lib)
    g++ -O2 -std=c++17 -fopenmp "$here/threading_under_load.cpp" -I"$w/onednn_devel_cpu_gomp-2023.2.0.data/data/include" \
      "$g/libdnnl.so.3" -o "$d/load_gomp"
    g++ -O2 -std=c++17 -DUSE_TBB "$here/threading_under_load.cpp" -I"$w/onednn_devel_cpu_tbb-2023.2.0.data/data/include" \
      -I"$w/tbb_devel-2023.2.0.data/data/include" "$t/libdnnl.so.3" "$tb/libtbb.so.12" -Wl,-rpath-link,"$ic" -o "$d/load_tbb"
    cp "$g/libdnnl.so.3" "$d/lib_gomp/"
    cp "$t/libdnnl.so.3" "$tb/libtbb.so.12" "$ic/libimf.so" "$ic/libintlc.so.5" "$d/lib_tbb/"
    cp "$0" "$d/run.sh"
    mkdir -p "$here/../.cache" && tar -C "$w" -cJf "$here/../.cache/lbpack.tar.xz" lbpack && rm -rf "$w"
    ls -la "$here/../.cache/lbpack.tar.xz" ;;
  run)
    N=$(nproc); M=${M:-512}; IT=${IT:-100}
    cd "$here"
    runall() {
      echo "gomp                 $1: $(LD_LIBRARY_PATH=$PWD/lib_gomp OMP_NUM_THREADS=$N ./load_gomp "$IT" "$M")"
      echo "gomp spin 10000      $1: $(LD_LIBRARY_PATH=$PWD/lib_gomp GOMP_SPINCOUNT=10000 OMP_NUM_THREADS=$N ./load_gomp "$IT" "$M")"
      echo "gomp half, spin 10000 $1: $(LD_LIBRARY_PATH=$PWD/lib_gomp GOMP_SPINCOUNT=10000 OMP_NUM_THREADS=$((N / 2)) ./load_gomp "$IT" "$M")"
      echo "tbb                  $1: $(LD_LIBRARY_PATH=$PWD/lib_tbb ./load_tbb "$IT" "$M")"
    }
    runall idle
    for _ in $(seq "$N"); do (timeout 300 sh -c 'while :; do :; done' &); done; sleep 2
    runall "spin x$N"
    pkill -f 'while :; do :; done' || true; sleep 2
    printf '#include <map>\n#include <string>\n#include <vector>\nstd::map<std::string, std::vector<int>> m;\n' > /tmp/lb_c.cpp
    for _ in $(seq "$N"); do (timeout 300 sh -c 'while :; do g++ -O2 -c /tmp/lb_c.cpp -o /tmp/lb_c$$.o; done' &); done; sleep 3
    runall "g++ x$N"
    pkill -f 'while :; do g' || true ;;
  *) echo "usage: $0 pack|run" >&2; exit 2 ;;
esac
