"""Dropout, CumProd, EyeLike, Det, ReverseSequence, TensorScatter
and SwiGLU against ONNX Runtime (SwiGLU: the ONNX reference evaluator), plus
their ONNX backend node tests in static and dynamic mode."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness
import node_suite

RNG = np.random.default_rng(7)


def model(nodes, inputs, outputs, inits=(), opset=17, ir=8):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def f32(*shape):
    return RNG.uniform(-2, 2, shape).astype(np.float32)


# ONNX Runtime fills the opset 10-11 mask with false where the ONNX reference
# (and dynrt) keep every element: compare that mask with the reference.
@pytest.mark.parametrize("opset", [7, 11, 13, 22])
def test_dropout_inference_with_mask(tmp_path, opset):
    outs = ["y", "mask"] if opset >= 13 else ["y"]
    outputs = [vi("y", T.FLOAT, None), vi("mask", T.BOOL, None)][: len(outs)]
    m = model([h.make_node("Dropout", ["x"], outs)], [vi("x", T.FLOAT, ["N", 4])], outputs, opset=opset)
    harness.check_model(m, [{"x": f32(n, 4)} for n in (1, 3, 6)], tmp_path, dims={"N": "1:3:6"})


def test_dropout_training_zero_ratio(tmp_path):
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "r")]
    m = model([h.make_node("Dropout", ["x", "r", "t"], ["y", "mask"])],
              [vi("x", T.FLOAT, ["N", 3]), vi("t", T.BOOL, [])],
              [vi("y", T.FLOAT, None), vi("mask", T.BOOL, None)], inits, opset=13)
    harness.check_model(m, [{"x": f32(n, 3), "t": np.array(t)} for n, t in ((2, True), (5, False))], tmp_path,
                        dims={"N": "1:3:6"})


@pytest.mark.parametrize("dtype", [T.FLOAT, T.DOUBLE, T.INT32, T.INT64])
@pytest.mark.parametrize("axis,exclusive,reverse", [(0, 0, 0), (1, 1, 0), (-1, 0, 1), (1, 1, 1)])
def test_cumprod(tmp_path, dtype, axis, exclusive, reverse):
    np_t = {T.FLOAT: np.float32, T.DOUBLE: np.float64, T.INT32: np.int32, T.INT64: np.int64}[dtype]
    inits = [numpy_helper.from_array(np.array(axis, np.int64), "axis")]
    m = model([h.make_node("CumProd", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)],
              [vi("x", dtype, ["N", 4])], [vi("y", dtype, None)], inits, opset=26, ir=10)
    feeds = [{"x": RNG.integers(-3, 4, (n, 4)).astype(np_t)} for n in (1, 3, 5)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:3:5"})


@pytest.mark.parametrize("k,dtype", [(0, None), (1, T.FLOAT), (-2, T.INT64), (3, T.BOOL)])
def test_eyelike(tmp_path, k, dtype):
    attrs = {"k": k} if dtype is None else {"k": k, "dtype": dtype}
    m = model([h.make_node("EyeLike", ["x"], ["y"], **attrs)], [vi("x", T.INT32, ["R", "C"])],
              [vi("y", dtype or T.INT32, None)])
    feeds = [{"x": np.zeros(s, np.int32)} for s in ((3, 3), (2, 5), (6, 4))]
    # ONNX Runtime has no bool EyeLike: compare that one with the reference evaluator.
    node_suite.check(m, feeds, tmp_path, use_ort=dtype != T.BOOL, dims={"R": "1:3:6", "C": "1:3:6"})


@pytest.mark.parametrize("dtype", [T.FLOAT, T.DOUBLE])
def test_det(tmp_path, dtype):
    np_t = np.float32 if dtype == T.FLOAT else np.float64
    m = model([h.make_node("Det", ["x"], ["y"])], [vi("x", dtype, ["B", 2, 3, 3])], [vi("y", dtype, None)])
    feeds = [{"x": RNG.uniform(-2, 2, (b, 2, 3, 3)).astype(np_t)} for b in (1, 4)]
    feeds.append({"x": np.zeros((2, 2, 3, 3), np_t)})  # singular
    # ONNX Runtime implements Det for float32 only.
    node_suite.check(m, feeds, tmp_path, use_ort=dtype == T.FLOAT, dims={"B": "1:2:4"})


def test_det_2d(tmp_path):
    m = model([h.make_node("Det", ["x"], ["y"])], [vi("x", T.FLOAT, ["M", "M"])], [vi("y", T.FLOAT, None)])
    harness.check_model(m, [{"x": f32(n, n)} for n in (1, 2, 5)], tmp_path, dims={"M": "1:3:5"})


@pytest.mark.parametrize("batch_axis,time_axis", [(0, 1), (1, 0)])
@pytest.mark.parametrize("dtype", [T.FLOAT, T.INT64])
def test_reverse_sequence(tmp_path, batch_axis, time_axis, dtype):
    np_t = np.float32 if dtype == T.FLOAT else np.int64
    dims = ["B", "S", 3] if batch_axis == 0 else ["S", "B", 3]
    m = model([h.make_node("ReverseSequence", ["x", "lens"], ["y"], batch_axis=batch_axis, time_axis=time_axis)],
              [vi("x", dtype, dims), vi("lens", T.INT64, ["B"])], [vi("y", dtype, None)])

    def feeds(b, s):
        shape = (b, s, 3) if batch_axis == 0 else (s, b, 3)
        return {"x": RNG.integers(-9, 9, shape).astype(np_t), "lens": RNG.integers(1, s + 1, (b,)).astype(np.int64)}

    harness.check_model(m, [feeds(2, 4), feeds(3, 1), feeds(1, 6)], tmp_path, dims={"B": "1:2:3", "S": "1:4:6"})


@pytest.mark.parametrize("mode", ["linear", "circular"])
def test_tensor_scatter(tmp_path, mode):
    m = model([h.make_node("TensorScatter", ["cache", "upd", "idx"], ["y"], mode=mode)],
              [vi("cache", T.FLOAT, ["B", 2, 8, 4]), vi("upd", T.FLOAT, ["B", 2, "S", 4]), vi("idx", T.INT64, ["B"])],
              [vi("y", T.FLOAT, None)], opset=24, ir=10)

    def feeds(b, s):
        hi = 8 if mode == "circular" else 8 - s + 1
        return {"cache": f32(b, 2, 8, 4), "upd": f32(b, 2, s, 4), "idx": RNG.integers(0, hi, (b,)).astype(np.int64)}

    harness.check_model(m, [feeds(1, 1), feeds(3, 3), feeds(2, 2)], tmp_path, dims={"B": "1:2:3", "S": "1:2:3"})


def test_tensor_scatter_3d_default_axis_no_indices(tmp_path):
    m = model([h.make_node("TensorScatter", ["cache", "upd"], ["y"])],
              [vi("cache", T.FLOAT, [3, 5, 4]), vi("upd", T.FLOAT, [3, 2, 4])], [vi("y", T.FLOAT, None)],
              opset=24, ir=10)
    harness.check_model(m, [{"cache": f32(3, 5, 4), "upd": f32(3, 2, 4)}], tmp_path)


@pytest.mark.parametrize("alpha", [None, 0.5])
def test_swiglu(tmp_path, alpha):
    attrs = {} if alpha is None else {"alpha": alpha}
    m = model([h.make_node("SwiGLU", ["a", "b"], ["y"], **attrs)], [vi("a", T.FLOAT, ["N", 6]), vi("b", T.FLOAT, ["N", 6])],
              [vi("y", T.FLOAT, None)], opset=28, ir=10)
    node_suite.check(m, [{"a": f32(n, 6), "b": f32(n, 6)} for n in (1, 4)], tmp_path, use_ort=False,
                     dims={"N": "1:2:4"})


CASES = node_suite.case_names({"Dropout", "CumProd", "EyeLike", "Det", "ReverseSequence", "TensorScatter", "SwiGLU"})
# Training-mode Dropout's random output is checked by range (run_onnx_node_tests.random_check);
# tests/python/test_random_ops.py checks its statistics.


@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("name", CASES)
def test_node_cases(tmp_path, name, mode):
    r = node_suite.run_case(name, mode, tmp_path)
    assert r["status"] == "pass", r
