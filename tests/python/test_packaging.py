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
