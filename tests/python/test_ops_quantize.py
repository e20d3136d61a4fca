"""Quantization ops against ONNX Runtime: QuantizeLinear / DequantizeLinear
(per tensor, per axis, blocked; uint8, int8, 16-bit), DynamicQuantizeLinear,
MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv; static and dynamic
dims."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness

RNG = np.random.default_rng(21)
NP = {T.UINT8: np.uint8, T.INT8: np.int8, T.UINT16: np.uint16, T.INT16: np.int16}


def model(nodes, inputs, outputs, inits=(), opset=21):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 10 if opset >= 21 else 8
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def ints(dtype, shape, lo=None, hi=None):
    info = np.iinfo(NP[dtype])
    return RNG.integers(info.min if lo is None else lo, (info.max if hi is None else hi) + 1, shape).astype(NP[dtype])


@pytest.mark.parametrize("qt", [T.UINT8, T.INT8, T.UINT16, T.INT16])
def test_quantize_dequantize_per_tensor(tmp_path, qt):
    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(ints(qt, ()), "z")]
    m = model([h.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]), h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])],
              [vi("x", T.FLOAT, ["N", 6])], [vi("q", qt, None), vi("y", T.FLOAT, None)], inits)
    feeds = [{"x": RNG.uniform(-20, 20, (n, 6)).astype(np.float32)} for n in (1, 5)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:8"})


def test_quantize_rounds_half_to_even(tmp_path):
    m = model([h.make_node("QuantizeLinear", ["x", "s"], ["q"])], [vi("x", T.FLOAT, [6]), vi("s", T.FLOAT, [])],
              [vi("q", T.UINT8, None)], opset=13)
    x = np.array([0.5, 1.5, 2.5, -0.5, 254.5, 300], np.float32)
    harness.check_model(m, [{"x": x, "s": np.array(1, np.float32)}], tmp_path)


@pytest.mark.parametrize("axis", [1, -1])
def test_per_axis(tmp_path, axis):
    c = 3 if axis == 1 else 4
    inits = [numpy_helper.from_array(RNG.uniform(0.01, 0.1, c).astype(np.float32), "s"),
             numpy_helper.from_array(ints(T.INT8, (c,), -10, 10), "z")]
    m = model([h.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=axis),
               h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=axis)],
              [vi("x", T.FLOAT, ["N", 3, 4])], [vi("q", T.INT8, None), vi("y", T.FLOAT, None)], inits, opset=13)
    harness.check_model(m, [{"x": RNG.uniform(-5, 5, (n, 3, 4)).astype(np.float32)} for n in (1, 2)], tmp_path,
                        dims={"N": "1:1:2"})


def test_blocked_dequantize(tmp_path):
    # Blocked quantization (opset 21): one scale per 2 elements along axis 1.
    m = model([h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1, block_size=2)],
              [vi("q", T.UINT8, [3, 4]), vi("s", T.FLOAT, [3, 2]), vi("z", T.UINT8, [3, 2])], [vi("y", T.FLOAT, None)])
    feeds = {"q": ints(T.UINT8, (3, 4)), "s": RNG.uniform(0.1, 1, (3, 2)).astype(np.float32), "z": ints(T.UINT8, (3, 2))}
    harness.check_model(m, [feeds], tmp_path)


def test_dynamic_quantize_linear(tmp_path):
    m = model([h.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])], [vi("x", T.FLOAT, ["N", 4])],
              [vi("y", T.UINT8, None), vi("s", T.FLOAT, None), vi("z", T.UINT8, None)], opset=11)
    feeds = [{"x": RNG.uniform(lo, hi, (n, 4)).astype(np.float32)} for n, lo, hi in ((1, -3, 5), (3, 1, 4), (2, -6, -1))]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("at,bt", [(T.UINT8, T.UINT8), (T.UINT8, T.INT8), (T.INT8, T.INT8)])
def test_matmul_integer(tmp_path, at, bt):
    m = model([h.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])],
              [vi("a", at, ["B", "M", 5]), vi("b", bt, [5, 3]), vi("az", at, []), vi("bz", bt, [3])],
              [vi("y", T.INT32, None)], opset=10)
    feeds = [{"a": ints(at, (bb, mm, 5)), "b": ints(bt, (5, 3)), "az": ints(at, ()), "bz": ints(bt, (3,))}
             for bb, mm in ((1, 2), (2, 4))]
    harness.check_model(m, feeds, tmp_path, dims={"B": "1:1:2", "M": "1:2:4"})


@pytest.mark.parametrize("qt", [T.UINT8, T.INT8])
def test_qlinear_matmul(tmp_path, qt):
    names = ["a", "as", "az", "b", "bs", "bz", "ys", "yz"]
    inputs = [vi("a", qt, ["N", 4]), vi("as", T.FLOAT, []), vi("az", qt, []), vi("b", qt, [4, 3]), vi("bs", T.FLOAT, []),
              vi("bz", qt, []), vi("ys", T.FLOAT, []), vi("yz", qt, [])]
    m = model([h.make_node("QLinearMatMul", names, ["y"])], inputs, [vi("y", qt, None)], opset=10)
    lo, hi = (0, 40) if qt == T.UINT8 else (-20, 20)
    def feeds(n):
        f32 = lambda v: np.array(v, np.float32)  # noqa: E731
        return {"a": ints(qt, (n, 4), lo, hi), "as": f32(0.05), "az": ints(qt, (), lo, hi), "b": ints(qt, (4, 3), lo, hi),
                "bs": f32(0.02), "bz": ints(qt, (), lo, hi), "ys": f32(0.03), "yz": ints(qt, (), lo, hi)}
    harness.check_model(m, [feeds(n) for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("attrs", [{}, {"pads": [1, 1, 1, 1], "strides": [2, 2]}, {"auto_pad": "SAME_UPPER"},
                                   {"group": 2, "dilations": [2, 1]}])
def test_conv_integer(tmp_path, attrs):
    g = attrs.get("group", 1)
    m = model([h.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], **attrs)],
              [vi("x", T.UINT8, ["N", 4, 6, 5]), vi("w", T.UINT8, [6, 4 // g, 3, 3]), vi("xz", T.UINT8, []),
               vi("wz", T.UINT8, [])], [vi("y", T.INT32, None)], opset=10)
    feeds = [{"x": ints(T.UINT8, (n, 4, 6, 5)), "w": ints(T.UINT8, (6, 4 // g, 3, 3)), "xz": ints(T.UINT8, ()),
              "wz": ints(T.UINT8, ())} for n in (1, 2)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:1:2"})


def test_qlinear_conv_per_channel(tmp_path):
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"]
    inputs = [vi("x", T.UINT8, ["N", 2, 5, 5]), vi("xs", T.FLOAT, []), vi("xz", T.UINT8, []), vi("w", T.INT8, [3, 2, 3, 3]),
              vi("ws", T.FLOAT, [3]), vi("wz", T.INT8, [3]), vi("ys", T.FLOAT, []), vi("yz", T.UINT8, []),
              vi("b", T.INT32, [3])]
    m = model([h.make_node("QLinearConv", names, ["y"], pads=[1, 1, 1, 1])], inputs, [vi("y", T.UINT8, None)], opset=10)
    def feeds(n):
        return {"x": ints(T.UINT8, (n, 2, 5, 5), 0, 60), "xs": np.array(0.02, np.float32), "xz": np.array(10, np.uint8),
                "w": ints(T.INT8, (3, 2, 3, 3), -20, 20), "ws": np.array([0.01, 0.02, 0.015], np.float32),
                "wz": np.zeros(3, np.int8), "ys": np.array(0.05, np.float32), "yz": np.array(100, np.uint8),
                "b": RNG.integers(-500, 500, 3).astype(np.int32)}
    harness.check_model(m, [feeds(n) for n in (1, 2)], tmp_path, dims={"N": "1:1:2"})
