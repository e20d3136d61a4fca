"""Engines with variants (builder/variants.cpp): where an input dim fixes an output rank (Unsqueeze
axes, a Reshape target, Reduce axes given as inputs), a Scan's length or an If's branch, the build
makes one engine per value of that dim over its range and the run picks the one for the caller's
dims. Outputs are compared with ONNX Runtime at every value; a value outside the range, a value at
which the model is invalid, and a range too wide to specialize give errors that name the dim."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness

RNG = np.random.default_rng(5)
vi = h.make_tensor_value_info


def model(nodes, inputs, outputs=("y",), inits=(), opset=18):
    g = h.make_graph(nodes, "g", inputs, [vi(o, T.FLOAT, None) for o in outputs], list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def unsqueeze_model():
    # y = Unsqueeze(x, axes) * 2: the output rank is rank(x) + len(axes).
    return model([h.make_node("Unsqueeze", ["x", "axes"], ["u"]), h.make_node("Add", ["u", "u"], ["y"])],
                 [vi("x", T.FLOAT, ["N", 3]), vi("axes", T.INT64, ["A"])])


def test_unsqueeze_with_axes_as_an_input_matches_onnxruntime_at_every_length(tmp_path):
    m = unsqueeze_model()
    feeds = [{"x": RNG.standard_normal((n, 3)).astype(np.float32), "axes": np.array(axes, np.int64)}
             for n, axes in [(1, [0]), (4, [1]), (2, [0, 3]), (3, [-1, 0]), (4, [0, 2, 4])]]
    engine = harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "A": "1:2:3"})
    report = harness.run_cli("inspect", engine).stdout
    assert "variants (one engine per value" in report, report
    for a in (1, 2, 3):
        assert f"axes[0]={a}: " in report, report
    assert "y: float32 [rank depends on the variant]" in report, report


def test_a_length_outside_the_range_names_the_dim_and_the_values_built(tmp_path):
    engine = harness.build_engine(unsqueeze_model(), tmp_path, dims={"N": "1:2:4", "A": "1:2:3"})
    np.savez(tmp_path / "in.npz", x=np.ones((2, 3), np.float32), axes=np.array([0, 1, 2, 3], np.int64))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1 and "dynrt: error (shape out of range)" in p.stderr, p.stderr
    assert "input 'axes' dimension 0 ('A') is 4, built for 1 to 3" in p.stderr, p.stderr


def test_other_dims_are_still_checked_by_the_variant(tmp_path):
    engine = harness.build_engine(unsqueeze_model(), tmp_path, dims={"N": "1:2:4", "A": "1:2:3"})
    np.savez(tmp_path / "in.npz", x=np.ones((9, 3), np.float32), axes=np.array([0], np.int64))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1 and "input 'x' dimension 0 ('N') is 9, outside the range [1, 4]" in p.stderr, p.stderr


def test_reshape_to_a_target_of_run_time_length(tmp_path):
    m = model([h.make_node("Reshape", ["x", "shape"], ["y"])], [vi("x", T.FLOAT, [2, 3, 4]), vi("shape", T.INT64, ["L"])])
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    feeds = [{"x": x, "shape": np.array(s, np.int64)} for s in ([24], [6, -1], [2, 0, 4], [1, 2, 3, 4])]
    harness.check_model(m, feeds, tmp_path, dims={"L": "1:2:4"})


def test_a_value_at_which_the_model_is_invalid_keeps_its_error_for_the_run(tmp_path):
    # ReduceSum over len(axes) axes without keepdims: 4 axes of a rank-3 input cannot be.
    m = model([h.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
              [vi("x", T.FLOAT, [2, 3, 4]), vi("axes", T.INT64, ["A"])])
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    feeds = [{"x": x, "axes": np.array(a, np.int64)} for a in ([1], [0, 2], [2, 0, 1])]
    engine = harness.check_model(m, feeds, tmp_path, dims={"A": "1:2:4"})
    np.savez(tmp_path / "bad.npz", x=x, axes=np.array([0, 1, 2, 2], np.int64))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "bad.npz", check=False)
    assert p.returncode == 1 and "dynrt: error (invalid input)" in p.stderr, p.stderr
    assert "the model cannot run with input 'axes' dimension 0 = 4: ReduceSum node producing 'y'" in p.stderr, p.stderr


def scan_model():
    """state' = state + x_t * W over x: [T, 3]; y stacks the states."""
    body = h.make_graph([h.make_node("Mul", ["x_t", "W"], ["xw"]), h.make_node("Add", ["s_in", "xw"], ["s_out"]),
                         h.make_node("Identity", ["s_out"], ["y_t"])], "body",
                        [vi("s_in", T.FLOAT, [3]), vi("x_t", T.FLOAT, [3])],
                        [vi("s_out", T.FLOAT, [3]), vi("y_t", T.FLOAT, [3])])
    node = h.make_node("Scan", ["s0", "x"], ["s_final", "y"], body=body, num_scan_inputs=1)
    w = numpy_helper.from_array(RNG.standard_normal(3).astype(np.float32), "W")
    return model([node], [vi("s0", T.FLOAT, [3]), vi("x", T.FLOAT, ["T", 3])], ("s_final", "y"), [w], opset=17)


def test_scan_over_a_dynamic_length(tmp_path):
    feeds = [{"s0": RNG.standard_normal(3).astype(np.float32), "x": RNG.standard_normal((t, 3)).astype(np.float32)}
             for t in (1, 5, 2, 9)]
    harness.check_model(scan_model(), feeds, tmp_path, dims={"T": "1:5:9"})


def test_a_range_too_wide_to_specialize_is_refused_with_the_reason(tmp_path):
    # (a Scan over a length of more values runs as a Loop instead: test_control_flow.py)
    path = tmp_path / "m.onnx"
    onnx.save(unsqueeze_model(), str(path))
    p = harness.run_cli("build", path, "-o", tmp_path / "e", "--dim", "N=1:2:4", "--dim", "A=1:2:40", check=False)
    assert p.returncode == 1 and "dynrt: error (unsupported)" in p.stderr, p.stderr
    assert "A takes 40 values; dynrt builds one engine per value for at most 16" in p.stderr, p.stderr


def test_two_dims_each_fixing_a_rank(tmp_path):
    # Unsqueeze by axes (length A) and Reshape to a target (length L): A x L variants.
    m = model([h.make_node("Unsqueeze", ["x", "axes"], ["u"]), h.make_node("Reshape", ["z", "shape"], ["r"]),
               h.make_node("Identity", ["u"], ["y"])],
              [vi("x", T.FLOAT, [2, 3]), vi("axes", T.INT64, ["A"]), vi("z", T.FLOAT, [6]), vi("shape", T.INT64, ["L"])],
              ("y", "r"))
    feeds = [{"x": RNG.standard_normal((2, 3)).astype(np.float32), "axes": np.array(a, np.int64),
              "z": RNG.standard_normal(6).astype(np.float32), "shape": np.array(s, np.int64)}
             for a, s in [([0], [6]), ([0, 1], [2, 3]), ([1], [3, -1]), ([3, 0], [6])]]
    engine = harness.check_model(m, feeds, tmp_path, dims={"A": "1:1:2", "L": "1:1:2"})
    report = harness.run_cli("inspect", engine).stdout
    assert report.count("nodes\n") >= 4, report


def test_the_python_api_runs_and_saves_an_engine_with_variants(tmp_path):
    import dynrt
    m = unsqueeze_model()
    cm = dynrt.compile(m, dims={"N": (1, 2, 4), "A": (1, 2, 3)})
    x = RNG.standard_normal((3, 3)).astype(np.float32)
    for axes in ([1], [0, 3], [0, 1, 2]):
        feeds = {"x": x, "axes": np.array(axes, np.int64)}
        want = harness.reference(m, feeds)["y"]
        np.testing.assert_allclose(cm(**feeds), want, rtol=1e-6)
    dynrt.save(cm, str(tmp_path / "v.engine"))
    again = dynrt.load(str(tmp_path / "v.engine"))
    feeds = {"x": x, "axes": np.array([2, 0], np.int64)}
    np.testing.assert_allclose(again(**feeds), harness.reference(m, feeds)["y"], rtol=1e-6)
