"""The execution-provider seam, end to end through the CLI: models partitioned
across the test-only "testdev" provider (src/backends/testdev: Add, Relu,
MatMul in memory it scrambles, so a missing or wrong copy gives wrong
numbers) and the CPU provider, compared with ONNX Runtime."""
import pathlib
import re
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools" / "zoo"))
import harness  # noqa: E402
import zoo_lib  # noqa: E402

RNG = np.random.default_rng(7)


def split_model() -> onnx.ModelProto:
    """MatMul -> Add(y) -> Sigmoid (cpu only) -> Relu -> Add(bias) and a Reshape of the Add."""
    w = RNG.standard_normal((8, 16)).astype(np.float32)
    b = RNG.standard_normal(16).astype(np.float32)
    nodes = [h.make_node("MatMul", ["x", "W"], ["hm"], name="mm"),
             h.make_node("Add", ["hm", "y"], ["h2"], name="add_y"),
             h.make_node("Sigmoid", ["h2"], ["s"], name="sig"),
             h.make_node("Relu", ["s"], ["r"], name="relu"),
             h.make_node("Add", ["r", "b"], ["out1"], name="add_b"),
             h.make_node("Reshape", ["h2", "shape"], ["out2"], name="flat")]
    g = h.make_graph(nodes, "split",
                     [h.make_tensor_value_info("x", T.FLOAT, ["N", 8]), h.make_tensor_value_info("y", T.FLOAT, ["N", 16])],
                     [h.make_tensor_value_info("out1", T.FLOAT, ["N", 16]), h.make_tensor_value_info("out2", T.FLOAT, None)],
                     [h.make_tensor("W", T.FLOAT, [8, 16], w.flatten()), h.make_tensor("b", T.FLOAT, [16], b),
                      h.make_tensor("shape", T.INT64, [1], [-1])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def feeds(n: int) -> dict:
    return {"x": RNG.standard_normal((n, 8)).astype(np.float32), "y": RNG.standard_normal((n, 16)).astype(np.float32)}


def partition_section(engine: pathlib.Path) -> str:
    info = harness.run_cli("inspect", engine).stdout
    return info[info.index("partition"):info.index("guards")]


def test_model_split_across_testdev_and_cpu_matches_onnxruntime(tmp_path):
    model = split_model()
    engine = harness.check_model(model, [feeds(n) for n in (1, 3, 8)], tmp_path, dims={"N": "1:4:8"},
                                 extra=["--providers", "testdev,cpu"])
    assert partition_section(engine) == (
        "partition (providers: cpu testdev):\n"
        "  cpu: 2 nodes Reshape x1 Sigmoid x1\n"
        "  testdev: 4 nodes Add x2 MatMul x1 Relu x1\n"
        "  copies between memories: 5\n"
        "  [0] copy 'x' cpu -> testdev\n"
        "  [1] copy 'y' cpu -> testdev\n"
        "  [2] MatMul 'mm': testdev\n"
        "  [3] Add 'add_y': testdev\n"
        "  [4] copy 'h2' testdev -> cpu\n"
        "  [5] Sigmoid 'sig': cpu\n"
        "  [6] copy 's' cpu -> testdev\n"
        "  [7] Reshape 'flat': cpu\n"
        "  [8] Relu 'relu': testdev\n"
        "  [9] Add 'add_b': testdev\n"
        "  [10] copy 'out1@testdev' testdev -> cpu\n")
    # Each run makes exactly those copies: 2 inputs up, h2 down, s up, out1 down.
    out = harness.run_cli("run", engine, "--shapes", "x:3x8,y:3x16").stdout
    n = 3
    assert f"copies between provider memories per run: 5 ({4 * n * (8 + 16 + 16 + 16 + 16)} bytes)" in out


def test_preference_order_decides_the_partition(tmp_path):
    engine = harness.check_model(split_model(), [feeds(2)], tmp_path, dims={"N": "1:4:8"},
                                 extra=["--providers", "cpu,testdev"])
    part = partition_section(engine)
    # Every node on the CPU, where the residual Add fuses into the MatMul (6 nodes become 5).
    assert "  cpu: 5 nodes Add x1 MatMul+Add x1 Relu x1 Reshape x1 Sigmoid x1" in part
    assert "  testdev: 0 nodes" in part and "copies between memories: 0" in part


def test_cpu_is_the_default_provider(tmp_path):
    engine = harness.build_engine(split_model(), tmp_path, dims={"N": "1:4:8"})
    part = partition_section(engine)
    assert part.startswith("partition (providers: cpu):\n  cpu: 5 nodes") and "copies between memories: 0" in part


def test_node_no_listed_provider_supports_is_a_build_error(tmp_path):
    onnx.save(split_model(), str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:4:8",
                        "--providers", "testdev", check=False)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == (
        "dynrt: error (unsupported): Sigmoid node 'sig' (opset 17): no execution provider in [testdev] supports it")


def test_unavailable_provider_is_a_build_error_naming_it(tmp_path):
    onnx.save(split_model(), str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:4:8",
                        "--providers", "nosuch,cpu", check=False)
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert re.match(r"dynrt: error \(invalid build config\): execution provider 'nosuch' is not available on this "
                    r"machine: libdynrt_provider_nosuch\.so: cannot open shared object file", last), last


def test_provider_listed_twice_is_rejected(tmp_path):
    onnx.save(split_model(), str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--providers", "cpu,cpu", check=False)
    assert p.returncode == 1 and "execution provider 'cpu' is listed twice" in p.stderr


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_bert_partitioned_across_testdev_and_cpu(tmp_path, exporter):
    """A real model: the MatMuls and Adds run on testdev, the rest on the CPU."""
    name = "bert_small"
    case = next(c for c in zoo_lib.cases(full=False) if c[0] == name and c[1] == exporter)
    _, _, dims, inputs = case[:4]
    path = tmp_path / f"{name}.onnx"
    onnx.save(zoo_lib.load(name, exporter), str(path))
    bindings = zoo_lib.test_bindings(dims)
    fl = [zoo_lib.feeds(inputs, b, seed=i) for i, (_, b) in enumerate(bindings[:3])]
    engine = harness.check_model(path, fl, tmp_path, dims=zoo_lib.dims_arg(dims), extra=["--providers", "testdev,cpu"])
    part = partition_section(engine)
    testdev = re.search(r"  testdev: (\d+) nodes", part)
    copies = re.search(r"copies between memories: (\d+)", part)
    assert testdev and int(testdev.group(1)) >= 10, part
    assert copies and int(copies.group(1)) > 0, part


def test_fp16_build_runs_device_nodes_in_float16(tmp_path):
    """--precision fp16: testdev's nodes (it takes float16) compute in float16
    behind Casts; the CPU's Sigmoid, the inputs and outputs stay float32."""
    model = split_model()
    fl = [feeds(n) for n in (1, 5)]
    engine = harness.build_engine(model, tmp_path, dims={"N": "1:4:8"},
                                  extra=["--providers", "testdev,cpu", "--precision", "fp16"])
    for f in fl:
        got, want = harness.run_engine(engine, f, tmp_path), harness.reference(model, f)
        for k in want:
            assert got[k].dtype == np.float32
            scale = float(np.max(np.abs(want[k])))
            assert np.max(np.abs(got[k] - want[k])) <= 1e-2 * scale, k
            # float16 really was used: not bit-identical to a float32 run.
            assert not np.array_equal(got[k], want[k]), k
    part = partition_section(engine)
    # Casts where float16 meets float32: both inputs, h2 for the CPU, s back, out1; the bias constant is converted.
    assert "  testdev: 9 nodes Add x2 Cast x5 MatMul x1 Relu x1" in part, part
    assert "  [2] Cast 'cast x to float16': testdev\n  [3] MatMul 'mm': testdev\n" in part, part
    assert "  [14] Cast 'cast out1@fp16 to float32': testdev\n  [15] copy 'out1@testdev' testdev -> cpu\n" in part, part


def test_fp16_without_a_gpu_provider_is_a_build_error(tmp_path):
    onnx.save(split_model(), str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:4:8", "--precision", "fp16",
                        check=False)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == (
        "dynrt: error (unsupported): precision fp16 needs a GPU provider (e.g. --device cuda); the cpu provider "
        "computes in fp32 or bf16")
