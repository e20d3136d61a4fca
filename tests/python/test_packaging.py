"""The installed package: `cmake --install` into a fresh prefix, then a
two-file project built against it with find_package(dynrt) and with
pkg-config, and one that builds dynrt with add_subdirectory, each running a
model with a dynamic batch."""
import os
import pathlib
import subprocess

import pytest

import harness

CONSUMER = harness.ROOT / "tests" / "packaging" / "consumer"
MODEL = harness.ROOT / "tests" / "models" / "pool_flatten.torchscript.onnx"


def sh(*args, env=None) -> str:
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env)
    assert p.returncode == 0, f"{' '.join(map(str, args))}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("prefix")
    sh("cmake", "--install", pathlib.Path(harness.dynrt_bin()).parent, "--prefix", prefix)
    return prefix


def test_install_layout(prefix):
    for f in ["bin/dynrt", "include/dynrt/dynrt.h", "lib/libdynrt_runtime.so", "lib/libdynrt_compiler.so",
              "lib/libdynrt_image_codecs.so",
              "lib/glibc-hwcaps/x86-64-v3/libdynrt_runtime.so",
              "lib/cmake/dynrt/dynrtConfig.cmake", "lib/cmake/dynrt/dynrtConfigVersion.cmake",
              "lib/pkgconfig/dynrt.pc"]:
        assert (prefix / f).exists(), f
    assert sh(prefix / "bin" / "dynrt", "--version").startswith("dynrt 0.1")


def test_find_package_consumer(prefix, tmp_path):
    sh("cmake", "-S", CONSUMER, "-B", tmp_path / "b", f"-DCMAKE_PREFIX_PATH={prefix}")
    sh("cmake", "--build", tmp_path / "b")
    assert sh(tmp_path / "b" / "consumer", MODEL) == "ok 3x4\n"


def test_pkg_config_consumer(prefix, tmp_path):
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    flags = sh("pkg-config", "--cflags", "--libs", "dynrt", env=env).split()
    sh("g++", "-std=c++20", CONSUMER / "main.cpp", "-o", tmp_path / "consumer", *flags)
    assert sh(tmp_path / "consumer", MODEL) == "ok 3x4\n"


def test_add_subdirectory_consumer(tmp_path):
    """dynrt built as part of another project (its paths are relative to its own folder)."""
    b = tmp_path / "b"
    sh("cmake", "-S", harness.ROOT / "tests" / "packaging" / "subdir", "-B", b, "-G", "Ninja",
       "-DCMAKE_BUILD_TYPE=Release", f"-DDYNRT_SOURCE={harness.ROOT}")
    sh("cmake", "--build", b, "--target", "consumer", "-j2")
    assert sh(b / "consumer", MODEL) == "ok 3x4\n"


LDSO = pathlib.Path("/lib64/ld-linux-x86-64.so.2")


def cpu_flags() -> str:
    return pathlib.Path("/proc/cpuinfo").read_text()


def test_one_build_runs_on_any_x86_64(tmp_path):
    """libdynrt_runtime is built for the x86-64 baseline, and for x86-64-v3 into
    glibc-hwcaps/x86-64-v3/: the loader takes that one on CPUs with AVX2 and FMA. The
    baseline holds no AVX instruction, and both give ONNX Runtime's answer."""
    build = pathlib.Path(harness.dynrt_bin()).parent
    base, v3 = build / "libdynrt_runtime.so", build / "glibc-hwcaps" / "x86-64-v3" / "libdynrt_runtime.so"
    assert v3.exists(), "the x86-64-v3 runtime was not built"
    # Functions compiled again for newer CPUs with target_clones (name.arch_...; the loader's ifunc
    # resolver calls them only where the CPU has the features) are the exception.
    avx, func = [], ""
    for ln in sh("objdump", "-d", "--no-show-raw-insn", base).splitlines():
        if ln.endswith(">:"):
            func = ln
        elif ("%ymm" in ln or "%zmm" in ln) and ".arch_" not in func:
            avx.append(f"{func} {ln}")
    assert not avx, f"the baseline runtime uses AVX registers: {avx[:3]}"
    assert ".arch_x86_64_v4" in sh("nm", base), "the AVX-512 clone of the CPU attention kernel is missing"
    # Which one the loader takes here.
    env = {**os.environ, "LD_DEBUG": "libs"}
    trace = subprocess.run([harness.dynrt_bin(), "--version"], capture_output=True, text=True, env=env).stderr
    wants_v3 = " avx2 " in cpu_flags() and " fma " in cpu_flags()
    assert (f"calling init: {v3}" in trace) == wants_v3, trace[-2000:]
    # The baseline, forced through the loader (as on a CPU without AVX2), on a model.
    if not LDSO.exists():
        pytest.fail(f"{LDSO} is missing: cannot force the baseline runtime")
    import numpy as np
    engine = harness.build_engine(MODEL, tmp_path, dims={"batch": "1:2:4"})
    x = np.random.default_rng(0).standard_normal((3, 3, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    env = {**os.environ, "LD_DEBUG": "libs"}
    p = subprocess.run([LDSO, "--glibc-hwcaps-mask", "none", harness.dynrt_bin(), "run", engine, "--inputs",
                        tmp_path / "in.npz", "--outputs", tmp_path / "out.npz"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"calling init: {base}" in p.stderr and f"calling init: {v3}" not in p.stderr
    got = dict(np.load(tmp_path / "out.npz"))
    harness.assert_close(got, harness.reference(MODEL, {"x": x}))
