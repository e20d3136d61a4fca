"""dynrt-compare (python -m dynrt.compare): one engine over a range against ONNX Runtime at min,
opt, max and shapes in between, worst error per output, exit status 1 on a mismatch."""
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

pytest.importorskip("dynrt")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "m.onnx"
    w = onnx.numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32), "w")
    g = h.make_graph([h.make_node("MatMul", ["x", "w"], ["m"]), h.make_node("Softmax", ["m"], ["y"], axis=-1)], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["batch", "seq", 5])], [w])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def compare(*args):
    return subprocess.run([sys.executable, "-m", "dynrt.compare", *map(str, args)], capture_output=True, text=True)


def test_matches_onnx_runtime_over_the_range(model):
    p = compare(model, "--dim", "batch=1:2:4", "--dim", "seq=1:8:33", "--between", "3")
    assert p.returncode == 0, p.stderr
    rows = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("  ")]
    assert [r[0] for r in rows] == ["min", "opt", "max", "between1", "between2", "between3"]
    assert rows[2][1:3] == ["batch=4", "seq=33"] and all(r[-1] == "ok" for r in rows)
    assert p.stdout.splitlines()[-1].startswith("passed: 0 output(s)")


def test_an_error_above_the_tolerance_fails(model):
    p = compare(model, "--dim", "batch=1:2:4", "--dim", "seq=1:8:33", "--tol", "0")
    assert p.returncode == 1 and "FAIL" in p.stdout  # float32 rounding differs by a few ulps somewhere


def test_a_dim_without_range_is_a_usage_error(model):
    p = compare(model, "--dim", "batch=1:2:4")
    assert p.returncode == 2 and "no range for dimension 'seq'" in p.stderr
