"""The command line's own behaviour: help, version, usage errors that name the
flag at fault (never a silent no-op or a crash), trtexec's spellings, and what
bench reports (statistics, per-iteration times, sweeps)."""
import json
import xml.etree.ElementTree as ET

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    g = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["N", 4])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(tmp / "m.onnx"))
    return tmp / "m.onnx"


@pytest.fixture(scope="module")
def engine(model_path):
    return harness.build_engine(model_path, model_path.parent, dims={"N": "1:2:4"})


@pytest.mark.parametrize("cmd", ["build", "run", "bench", "inspect"])
def test_every_subcommand_has_help(cmd):
    p = harness.run_cli(cmd, "--help")
    assert p.returncode == 0 and "usage:" in p.stdout.lower() and f"dynrt {cmd}" in p.stdout


def test_version():
    p = harness.run_cli("--version")
    assert p.returncode == 0 and p.stdout.startswith("dynrt ")


@pytest.mark.parametrize("args,flag", [
    (["build", "m.onnx", "--fp17", "-o", "e"], "--fp17"),
    (["build", "m.onnx", "--dims=N=1:2:3", "-o", "e"], "--dims"),
    (["run", "E", "--duration", "5"], "--duration"),
    (["run", "E", "--threads"], "--threads"),
    (["bench", "E", "--shapes", "--json"], "--shapes"),
    (["bench", "E", "--iterations", "many", "--shapes", "x:1x4"], "--iterations"),
])
def test_usage_errors_name_the_flag(engine, args, flag):
    args = [str(engine) if a == "E" else a for a in args]
    p = harness.run_cli(*args, check=False)
    assert p.returncode == 2, p
    first = p.stderr.splitlines()[0]
    assert first.startswith("dynrt: ") and flag in first, p.stderr


@pytest.mark.parametrize("n", ["0", "-5"])
def test_bench_needs_at_least_one_iteration(engine, n):
    p = harness.run_cli("bench", engine, "--shapes", "x:2x4", "--iterations", n, check=False)
    assert p.returncode == 2 and p.stderr.splitlines()[0] == f"dynrt: --iterations must be at least 1, got {n}"


@pytest.mark.parametrize("cmd", ["run", "bench"])
def test_memory_limits_from_the_command_line(engine, cmd):
    # x and y at N=4 are 64 bytes each; at N=2, 32.
    ok = harness.run_cli(cmd, engine, "--shapes", "x:2x4", "--max-tensor", "32", "--max-arena", "1K")
    assert ok.returncode == 0
    p = harness.run_cli(cmd, engine, "--shapes", "x:4x4", "--max-tensor", "32", check=False)
    assert p.returncode == 1, p
    assert p.stderr.strip().splitlines()[-1] == (
        "dynrt: error (out of memory): tensor 'x' would be 4x4 (64 bytes), over ContextOptions::max_tensor_bytes = 32")
    for bad in ("0", "-1", "12Q", "9999999T"):
        p = harness.run_cli(cmd, engine, "--shapes", "x:2x4", "--max-arena", bad, check=False)
        assert p.returncode == 2 and f"bad --max-arena '{bad}'" in p.stderr, p.stderr


def test_shapes_naming_a_missing_input_lists_the_inputs(engine):
    p = harness.run_cli("run", engine, "--shapes", "y:1x4", check=False)
    assert p.returncode == 1 and "'y', which is not an engine input (inputs: x)" in p.stderr


def test_bench_json_keys_only_grow(engine):
    p = harness.run_cli("bench", engine, "--shapes", "x:2x4", "--iterations", "3", "--warmup", "0", "--json")
    j = json.loads(p.stdout.strip().splitlines()[-1])
    old = {"shapes", "iterations", "min_ms", "median_ms", "p90_ms", "max_ms", "throughput_per_s", "plans",
           "graph_replays", "copies", "arena_bytes", "device_bytes"}
    assert old | {"mean_ms", "p95_ms", "p99_ms"} <= set(j)
    assert j["iterations"] == 3 and j["min_ms"] <= j["median_ms"] <= j["p99_ms"] <= j["max_ms"]


def test_trtexec_spellings_build_the_same_engine(model_path, tmp_path):
    a, b = tmp_path / "native.engine", tmp_path / "trtexec.engine"
    harness.run_cli("build", model_path, "-o", a, "--min-shapes", "x:1x4", "--opt-shapes", "x:2x4", "--max-shapes", "x:8x4")
    harness.run_cli("build", f"--onnx={model_path}", f"--saveEngine={b}", "--minShapes=x:1x4", "--optShapes=x:2x4",
                    "--maxShapes=x:8x4")
    assert a.read_bytes() == b.read_bytes()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    harness.run_cli("run", f"--loadEngine={b}", "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "out.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npz")["y"], np.maximum(x, 0))


def test_build_verbosity(model_path, tmp_path):
    loud = harness.run_cli("build", model_path, "-o", tmp_path / "e1", "--dim", "N=1:2:4", "--verbose")
    assert "[dynrt] inferring shapes" in loud.stderr
    quiet = harness.run_cli("build", model_path, "-o", tmp_path / "e2", "--dim", "N=1:2:4", "--quiet")
    assert quiet.stdout == "" and quiet.stderr == ""


def test_bench_export_times_has_every_iteration(engine, tmp_path):
    out = tmp_path / "times.json"
    harness.run_cli("bench", engine, "--shapes", "x:3x4", "--iterations", "7", "--export-times", out)
    j = json.loads(out.read_text())
    assert len(j["times_ms"]) == j["iterations"] == 7 and all(t > 0 for t in j["times_ms"])
    assert j["min_ms"] == min(j["times_ms"]) and j["max_ms"] == max(j["times_ms"])


def test_bench_duration_keeps_timing(engine):
    p = harness.run_cli("bench", engine, "--shapes", "x:1x4", "--iterations", "1", "--duration", "0.2", "--json")
    assert json.loads(p.stdout)["iterations"] > 1


def test_bench_inputs_from_npz(engine, tmp_path):
    np.savez(tmp_path / "in.npz", x=np.ones((4, 4), np.float32))
    p = harness.run_cli("bench", engine, "--inputs", tmp_path / "in.npz", "--iterations", "2", "--json")
    assert json.loads(p.stdout)["shapes"] == "x:4x4"


def test_bench_sweep_writes_csv_and_plot(engine, tmp_path):
    prefix = tmp_path / "sweep"
    p = harness.run_cli("bench", engine, "--sweep", "N=1:4", "--iterations", "2", "--sweep-out", prefix)
    rows = (tmp_path / "sweep.csv").read_text().splitlines()
    assert rows[0].startswith("N,shapes,median_ms") and [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert '"x:3x4"' in rows[3]
    svg = ET.parse(tmp_path / "sweep.svg").getroot()
    assert svg.tag.endswith("svg") and len([e for e in svg.iter() if e.tag.endswith("circle")]) == 4
    assert "wrote" in p.stdout
    bad = harness.run_cli("bench", engine, "--sweep", "M=1:4", check=False)
    assert bad.returncode == 2 and "no input of this engine has a dimension named 'M'" in bad.stderr


def test_inspect_check_lists_every_unsupported_construct(tmp_path):
    nodes = [h.make_node("Relu", ["x"], ["a"], name="relu"), h.make_node("FooBar", ["a"], ["b"], name="foo"),
             # a Loop whose body holds an unsupported op: bodies are checked like the graph
             h.make_node("Loop", ["", "c"], ["d"], name="branch",
                         body=h.make_graph([h.make_node("Identity", ["ci"], ["co"]), h.make_node("Quux", ["a"], ["ao"])],
                                           "body", [h.make_tensor_value_info("i", T.INT64, []),
                                                    h.make_tensor_value_info("ci", T.BOOL, [])],
                                           [h.make_tensor_value_info("co", T.BOOL, []),
                                            h.make_tensor_value_info("ao", T.FLOAT, None)])),
             h.make_node("BarBaz", ["b"], ["y"], domain="com.acme")]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4]),
                                  h.make_tensor_value_info("c", T.BOOL, []),
                                  h.make_tensor_value_info("s", T.COMPLEX64, [2])],
                     [h.make_tensor_value_info("y", T.FLOAT, None), h.make_tensor_value_info("d", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.acme", 1)])
    onnx.save(m, str(tmp_path / "m.onnx"))
    p = harness.run_cli("inspect", "--check", tmp_path / "m.onnx", check=False)
    assert p.returncode == 1
    lines = [ln.strip() for ln in p.stdout.splitlines()]
    assert "node 'foo' (FooBar): unsupported op 'FooBar' (domain ai.onnx)" in lines
    assert "node #3 (BarBaz): unsupported op 'BarBaz' (domain com.acme)" in lines
    assert "node 'branch' (Loop) body: node #1 (Quux): unsupported op 'Quux' (domain ai.onnx)" in lines, lines
    assert any(ln.startswith("input 's' has element type complex64") for ln in lines), lines
    listed = [ln for ln in lines if ln]
    assert len(listed) >= 4 and f"{len(listed)} unsupported construct(s)" in p.stderr


def test_inspect_check_passes_a_supported_model(model_path):
    p = harness.run_cli("inspect", "--check", model_path)
    assert "no unsupported ops" in p.stdout


def test_bfloat16_through_npz(tmp_path):
    """numpy saves an ml_dtypes.bfloat16 array as 2-byte void ('<V2'): dynrt reads it as bfloat16
    and writes bfloat16 outputs the same way (np.load gives '|V2'; view it as bfloat16)."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    nodes = [h.make_node("Cast", ["x"], ["xf"], to=T.FLOAT), h.make_node("Relu", ["xf"], ["r"]),
             h.make_node("Cast", ["r"], ["y"], to=T.BFLOAT16)]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.BFLOAT16, ["N", 3])],
                     [h.make_tensor_value_info("y", T.BFLOAT16, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    engine = harness.build_engine(m, tmp_path, dims={"N": "1:2:4"})
    x = np.array([[1.5, -2, 3.25], [0.5, -0.125, 7]], dtype=ml_dtypes.bfloat16)
    np.savez(tmp_path / "in.npz", x=x)
    harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "out.npz")
    y = np.load(tmp_path / "out.npz")["y"]
    assert y.dtype == np.dtype("V2")
    np.testing.assert_array_equal(y.view(ml_dtypes.bfloat16).astype(np.float32), np.maximum(x.astype(np.float32), 0))


def test_run_writes_sequence_outputs_and_names_sequence_inputs(tmp_path):
    """A sequence output goes to the npz as NAME/0, NAME/1, ...; a sequence input cannot come from
    an npz file, and the error says where to run such an engine from."""
    nodes = [h.make_node("SplitToSequence", ["x"], ["s"], axis=0, keepdims=0), h.make_node("SequenceLength", ["s"], ["n"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 2])],
                     [h.make_tensor_sequence_value_info("s", T.FLOAT, None), h.make_tensor_value_info("n", T.INT64, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    engine = harness.build_engine(m, tmp_path, dims={"N": "1:2:4"})
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.savez(tmp_path / "in.npz", x=x)
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "out.npz")
    assert "output s: sequence of 3 tensors" in p.stdout
    with np.load(tmp_path / "out.npz") as z:
        assert sorted(z.files) == ["n", "s/0", "s/1", "s/2"]
        for i in range(3):
            np.testing.assert_array_equal(z[f"s/{i}"], x[i])
        assert int(z["n"]) == 3
    g = h.make_graph([h.make_node("SequenceLength", ["s"], ["n"])], "g", [h.make_tensor_sequence_value_info("s", T.FLOAT, None)],
                     [h.make_tensor_value_info("n", T.INT64, None)])
    (tmp_path / "in_seq").mkdir()
    engine = harness.build_engine(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), tmp_path / "in_seq")
    p = harness.run_cli("run", engine, check=False)
    assert p.returncode == 1
    assert p.stderr.startswith("dynrt: error (unsupported): input 's' is a sequence; dynrt run reads tensors of numbers from .npz files")
