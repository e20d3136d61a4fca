"""The command line's own behaviour: help, version, and usage errors that name
the flag at fault (never a silent no-op or a crash)."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    g = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["N", 4])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(tmp / "m.onnx"))
    return harness.build_engine(tmp / "m.onnx", tmp, dims={"N": "1:2:4"})


@pytest.mark.parametrize("cmd", ["build", "run", "bench", "inspect"])
def test_every_subcommand_has_help(cmd):
    p = harness.run_cli(cmd, "--help")
    assert p.returncode == 0 and "usage:" in p.stdout and f"dynrt {cmd}" in p.stdout


def test_version():
    p = harness.run_cli("--version")
    assert p.returncode == 0 and p.stdout.startswith("dynrt ")


@pytest.mark.parametrize("args,message", [
    (["build", "m.onnx", "--fp16", "-o", "e"], "unknown flag --fp16 for 'build'"),
    (["build", "m.onnx", "--minShapes=x:1x4", "-o", "e"], "unknown flag --minShapes for 'build'"),
    (["build", "m.onnx", "-v", "-o", "e"], "unknown flag -v for 'build'"),
    (["run", "E", "--duration", "5"], "unknown flag --duration for 'run'"),
    (["run", "E", "--threads"], "flag --threads needs a value"),
    (["bench", "E", "--shapes", "--json"], "flag --shapes needs a value"),
    (["bench", "E", "--json=1", "--shapes", "x:1x4"], "flag --json takes no value"),
])
def test_usage_errors_name_the_flag(engine, args, message):
    args = [str(engine) if a == "E" else a for a in args]
    p = harness.run_cli(*args, check=False)
    assert p.returncode == 2, p
    assert p.stderr.splitlines()[0] == f"dynrt: {message}"


@pytest.mark.parametrize("n", ["0", "-5"])
def test_bench_needs_at_least_one_iteration(engine, n):
    p = harness.run_cli("bench", engine, "--shapes", "x:2x4", "--iterations", n, check=False)
    assert p.returncode == 2 and p.stderr.splitlines()[0] == f"dynrt: --iterations must be at least 1, got {n}"


def test_bench_still_runs(engine):
    p = harness.run_cli("bench", engine, "--shapes", "x:2x4", "--iterations", "3", "--warmup", "0", "--json")
    assert '"iterations": 3' in p.stdout
    assert np.isfinite(float(p.stdout.split('"median_ms": ')[1].split(",")[0]))
