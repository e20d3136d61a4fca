"""Engine files are untrusted (issue 10): a corrupted engine whose checksum was
recomputed (anyone can do that) must give a clean `invalid engine` error, or
load and run; never a crash. The loader validates the plan (value ids, order,
symbols, guards) and checks every node in its ONNX form against its op's
inference, so a tampered shape is caught before a kernel trusts it."""
import pathlib
import random
import struct
import sys
import zlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fuzz"))
import make_corpus  # noqa: E402

HEADER = 28  # magic, version, reserved, payload bytes, crc32


def with_crc(data: bytearray) -> bytes:
    struct.pack_into("<I", data, 24, zlib.crc32(bytes(data[HEADER:])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile_engine")
    w = onnx.numpy_helper.from_array(np.random.default_rng(0).random((8, 4)).astype(np.float32), "W")
    shape = onnx.numpy_helper.from_array(np.array([-1], np.int64), "s")
    nodes = [h.make_node("MatMul", ["x", "W"], ["m"]), h.make_node("Relu", ["m"], ["r"]),
             h.make_node("Transpose", ["r"], ["t"], perm=[1, 0]), h.make_node("Reshape", ["t", "s"], ["f"]),
             h.make_node("Softmax", ["f"], ["y"], axis=-1)]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [w, shape])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    path = harness.build_engine(m, tmp, dims={"N": "1:2:4"})
    np.savez(tmp / "in.npz", x=np.random.default_rng(1).random((3, 8)).astype(np.float32))
    return path, tmp / "in.npz"


def run_mutants(data: bytes, inputs, tmp_path, seed: int, count: int, end=lambda i, n: n) -> int:
    """Runs `count` mutants of an engine file (1 to 4 bytes changed below end(i, len), checksum
    recomputed) through inspect and run: each exits 0 or with a `dynrt: error` line, never a
    crash. Returns how many were refused."""
    rng = random.Random(seed)
    refused = 0
    for i in range(count):
        b = bytearray(data)
        for _ in range(rng.choice([1, 1, 2, 4])):
            b[rng.randrange(HEADER, min(end(i, len(b)), len(b)))] = rng.choice([rng.randrange(256), 0, 0xFF, 0x7F, 0x80])
        mutant = tmp_path / "mutant.engine"
        mutant.write_bytes(with_crc(b))
        for cmd in (["inspect", mutant], ["run", mutant, "--inputs", inputs]):
            p = harness.run_cli(*cmd, check=False)
            assert p.returncode in (0, 1), f"mutant {i}: dynrt {cmd[0]} died with {p.returncode}: {p.stderr[-300:]}"
            if p.returncode == 1:
                assert p.stderr.startswith("dynrt: error ("), f"mutant {i}: {p.stderr[-300:]}"
        refused += p.returncode == 1
    return refused


def test_mutated_engines_never_crash(engine, tmp_path):
    path, inputs = engine
    refused = run_mutants(path.read_bytes(), inputs, tmp_path, 20261130, 150)
    assert refused > 50, refused  # most structural damage is caught


@pytest.fixture(scope="module")
def variants_engine(tmp_path_factory):
    """An engine with variants (Unsqueeze by an axes input of length 1..3): a DYNRTVAR file."""
    tmp = tmp_path_factory.mktemp("hostile_variants")
    nodes = [h.make_node("Unsqueeze", ["x", "axes"], ["u"]), h.make_node("Relu", ["u"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 8]),
                                  h.make_tensor_value_info("axes", T.INT64, ["A"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    path = harness.build_engine(m, tmp, dims={"N": "1:2:4", "A": "1:2:3"})
    np.savez(tmp / "in.npz", x=np.random.default_rng(1).random((3, 8)).astype(np.float32),
             axes=np.array([0, 3], np.int64))
    return path, tmp / "in.npz"


def test_mutated_engines_with_variants_never_crash(variants_engine, tmp_path):
    path, inputs = variants_engine
    data = path.read_bytes()
    assert data[:8] == b"DYNRTVAR"
    # Mostly the outer table (inputs, outputs, pins, sizes), sometimes a variant's bytes.
    refused = run_mutants(data, inputs, tmp_path, 20261202, 120, end=lambda i, n: 600 if i % 3 else n)
    assert refused > 30, refused
    # Truncated anywhere: refused, never read past the end.
    for cut in (HEADER + 10, len(data) // 2, len(data) - 1):
        b = bytearray(data[:cut])
        struct.pack_into("<Q", b, 16, len(b) - HEADER)
        mutant = tmp_path / "cut.engine"
        mutant.write_bytes(with_crc(b))
        p = harness.run_cli("inspect", mutant, check=False)
        assert p.returncode == 1 and "invalid engine file" in p.stderr, p.stderr


def test_a_tampered_shape_is_caught_at_load(engine, tmp_path):
    path, inputs = engine
    data = bytearray(path.read_bytes())
    # The value 't' is [4, N]: its name in the file is followed by its dtype, rank flag and shape
    # expression; replace the constant 4 there (an int64) with 127.
    at = data.index(b"\x01\x00\x00\x00t")  # the u32 length 1, then the name
    four = struct.pack("<q", 4)
    k = data.index(four, at)
    data[k:k + 8] = struct.pack("<q", 127)
    bad = tmp_path / "tampered.engine"
    bad.write_bytes(with_crc(data))
    p = harness.run_cli("run", bad, "--inputs", inputs, check=False)
    assert p.returncode == 1
    assert "Transpose node producing 't'" in p.stderr and "is not what the op gives" in p.stderr, p.stderr


@pytest.mark.parametrize("perm,why", [
    ((0, 2, 2), "is not a permutation of the operands' 3 dims"),  # reads past the operand's dims
    ((0, 1, 2), "the folded transposes do not fit the shapes"),  # a permutation, but K no longer matches
])
def test_tampered_folded_transposes_are_caught(tmp_path, perm, why):
    """The CPU MatMul reads Transposes folded into it (dynrt.perm_*) through strides; engine
    validation cannot check those against the MatMul schema, so the kernel does, before oneDNN
    reads a byte."""
    nodes = [h.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]), h.make_node("MatMul", ["xt", "b"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4, 8]),
                                  h.make_tensor_value_info("b", T.FLOAT, ["N", 4, 5])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    path = harness.build_engine(m, tmp_path, dims={"N": "1:2:4"})
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "in.npz", x=rng.random((2, 4, 8), np.float32), b=rng.random((2, 4, 5), np.float32))
    assert "Transpose" not in harness.run_cli("inspect", path).stdout.split("partition")[1]  # folded
    data = bytearray(path.read_bytes())
    at = data.index(b"dynrt.perm_a")
    k = data.index(struct.pack("<3q", 0, 2, 1), at)
    data[k:k + 24] = struct.pack("<3q", *perm)
    bad = tmp_path / "tampered.engine"
    bad.write_bytes(with_crc(data))
    p = harness.run_cli("run", bad, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1 and p.stderr.startswith("dynrt: error (invalid engine file)") and why in p.stderr, p.stderr


def test_mutated_engines_with_subgraph_engines_never_crash(tmp_path):
    """A Loop whose body holds an If: engine files inside node attributes, loaded and checked
    against their nodes."""
    path = harness.build_engine(make_corpus.if_loop_model(), tmp_path, dims={"N": "1:2:4"})
    np.savez(tmp_path / "in.npz", x=np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32),
             n=np.array(3, np.int64))
    refused = run_mutants(path.read_bytes(), tmp_path / "in.npz", tmp_path, 20261203, 100)
    assert refused > 30, refused
