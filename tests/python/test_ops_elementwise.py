"""Elementwise ops (unary, binary with broadcasting, comparison, logic, Where,
Cast, Clip) and the GELU pattern fusion, against ONNX Runtime."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness

RNG = np.random.default_rng(2)
NP = {T.FLOAT: np.float32, T.DOUBLE: np.float64, T.INT64: np.int64, T.INT32: np.int32, T.BOOL: np.bool_,
      T.UINT8: np.uint8, T.INT8: np.int8}


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def data(shape, dtype, low=-3, high=3):
    if dtype == T.BOOL:
        return RNG.integers(0, 2, shape).astype(np.bool_)
    if dtype in (T.FLOAT, T.DOUBLE):
        return RNG.uniform(low, high, shape).astype(NP[dtype])
    return RNG.integers(low, high, shape).astype(NP[dtype])


UNARY = ["Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Abs", "Neg", "Floor", "Ceil", "Round", "Sin", "Cos", "Atan",
         "Softsign", "Softplus", "HardSwish", "Sign", "Mish"]


@pytest.mark.parametrize("op", UNARY)
def test_unary_dynamic(tmp_path, op):
    m = model([h.make_node(op, ["x"], ["y"])], [h.make_tensor_value_info("x", T.FLOAT, ["N", 5])],
              [h.make_tensor_value_info("y", T.FLOAT, None)], opset=18)
    harness.check_model(m, [{"x": data((n, 5), T.FLOAT)} for n in (1, 3, 7)], tmp_path, dims={"N": "1:3:8"})


@pytest.mark.parametrize("op,attrs", [("LeakyRelu", {"alpha": 0.2}), ("Elu", {"alpha": 0.7}), ("Selu", {}),
                                      ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}), ("Celu", {"alpha": 2.0}),
                                      ("ThresholdedRelu", {"alpha": 0.5}), ("Gelu", {}), ("Gelu", {"approximate": "tanh"})])
def test_activation_attributes(tmp_path, op, attrs):
    opset = 20 if op == "Gelu" else 17
    m = model([h.make_node(op, ["x"], ["y"], **attrs)], [h.make_tensor_value_info("x", T.FLOAT, [4, 6])],
              [h.make_tensor_value_info("y", T.FLOAT, None)], opset=opset)
    m.ir_version = 9
    harness.check_model(m, [{"x": data((4, 6), T.FLOAT)}], tmp_path)


@pytest.mark.parametrize("op,dtype", [(op, t) for op in ["Add", "Sub", "Mul", "Div", "Max", "Min"]
                                      for t in (T.FLOAT, T.INT64, T.INT32)] + [("Pow", T.FLOAT)])
def test_binary_broadcast_dynamic(tmp_path, op, dtype):
    m = model([h.make_node(op, ["a", "b"], ["y"])],
              [h.make_tensor_value_info("a", dtype, ["N", 1, 4]), h.make_tensor_value_info("b", dtype, [3, 1])],
              [h.make_tensor_value_info("y", dtype, None)])
    def feeds(n):
        a, b = data((n, 1, 4), dtype, 1, 5), data((3, 1), dtype, 1, 5)
        return {"a": a, "b": b}
    harness.check_model(m, [feeds(n) for n in (1, 2, 5)], tmp_path, dims={"N": "1:2:6"})


def test_pow_int(tmp_path):
    m = model([h.make_node("Pow", ["a", "b"], ["y"])],
              [h.make_tensor_value_info("a", T.INT64, [6]), h.make_tensor_value_info("b", T.INT64, [6])],
              [h.make_tensor_value_info("y", T.INT64, None)])
    harness.check_model(m, [{"a": np.array([2, 3, -2, 5, 0, 1], np.int64), "b": np.array([3, 2, 3, 0, 2, 9], np.int64)}], tmp_path)


@pytest.mark.parametrize("fmod", [0, 1])
def test_mod_signs(tmp_path, fmod):
    m = model([h.make_node("Mod", ["a", "b"], ["y"], fmod=fmod)],
              [h.make_tensor_value_info("a", T.INT64, [8]), h.make_tensor_value_info("b", T.INT64, [8])],
              [h.make_tensor_value_info("y", T.INT64, None)])
    a = np.array([7, -7, 7, -7, 3, -3, 10, 0], np.int64)
    b = np.array([3, 3, -3, -3, 5, 5, -4, 2], np.int64)
    harness.check_model(m, [{"a": a, "b": b}], tmp_path)


@pytest.mark.parametrize("op", ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
def test_comparisons(tmp_path, op):
    m = model([h.make_node(op, ["a", "b"], ["y"])],
              [h.make_tensor_value_info("a", T.INT64, ["N", 4]), h.make_tensor_value_info("b", T.INT64, [4])],
              [h.make_tensor_value_info("y", T.BOOL, None)])
    harness.check_model(m, [{"a": data((n, 4), T.INT64), "b": data((4,), T.INT64)} for n in (1, 3)], tmp_path,
                        dims={"N": "1:2:4"})


@pytest.mark.parametrize("op", ["And", "Or", "Xor"])
def test_logic(tmp_path, op):
    m = model([h.make_node(op, ["a", "b"], ["y"]), h.make_node("Not", ["y"], ["z"])],
              [h.make_tensor_value_info("a", T.BOOL, ["N", 3]), h.make_tensor_value_info("b", T.BOOL, [1, 3])],
              [h.make_tensor_value_info("z", T.BOOL, None)])
    harness.check_model(m, [{"a": data((n, 3), T.BOOL), "b": data((1, 3), T.BOOL)} for n in (1, 4)], tmp_path,
                        dims={"N": "1:2:4"})


def test_where_and_isnan(tmp_path):
    m = model([h.make_node("IsNaN", ["x"], ["nan"]), h.make_node("Where", ["nan", "zero", "x"], ["y"])],
              [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])], [h.make_tensor_value_info("y", T.FLOAT, None)],
              [h.make_tensor("zero", T.FLOAT, [], [0.0])])
    x = data((3, 4), T.FLOAT)
    x[0, 1] = x[2, 3] = np.nan
    harness.check_model(m, [{"x": x}], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("src,dst", [(T.FLOAT, T.INT64), (T.INT64, T.FLOAT), (T.FLOAT, T.BOOL), (T.BOOL, T.FLOAT),
                                     (T.INT32, T.INT64), (T.DOUBLE, T.FLOAT), (T.UINT8, T.INT32)])
def test_cast(tmp_path, src, dst):
    m = model([h.make_node("Cast", ["x"], ["y"], to=dst)], [h.make_tensor_value_info("x", src, ["N", 5])],
              [h.make_tensor_value_info("y", dst, None)])
    harness.check_model(m, [{"x": data((n, 5), src, 0, 9)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


def test_clip_inputs_and_attrs(tmp_path):
    m = model([h.make_node("Clip", ["x", "lo", "hi"], ["y"])], [h.make_tensor_value_info("x", T.FLOAT, ["N", 5])],
              [h.make_tensor_value_info("y", T.FLOAT, None)],
              [h.make_tensor("lo", T.FLOAT, [], [-0.5]), h.make_tensor("hi", T.FLOAT, [], [1.0])])
    harness.check_model(m, [{"x": data((n, 5), T.FLOAT)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})
    m6 = model([h.make_node("Clip", ["x"], ["y"], min=-1.0, max=0.5)], [h.make_tensor_value_info("x", T.FLOAT, [2, 5])],
               [h.make_tensor_value_info("y", T.FLOAT, None)], opset=6)
    m6.ir_version = 7
    harness.check_model(m6, [{"x": data((2, 5), T.FLOAT)}], tmp_path)


def test_variadic_sum_mean(tmp_path):
    m = model([h.make_node("Sum", ["a", "b", "c"], ["s"]), h.make_node("Mean", ["a", "b", "c"], ["m"])],
              [h.make_tensor_value_info("a", T.FLOAT, ["N", 3]), h.make_tensor_value_info("b", T.FLOAT, [1, 3]),
               h.make_tensor_value_info("c", T.FLOAT, [3])],
              [h.make_tensor_value_info("s", T.FLOAT, None), h.make_tensor_value_info("m", T.FLOAT, None)])
    harness.check_model(m, [{"a": data((n, 3), T.FLOAT), "b": data((1, 3), T.FLOAT), "c": data((3,), T.FLOAT)}
                            for n in (1, 4)], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("form", ["div_then_x_half", "mul_half_last", "half_x_first"])
def test_gelu_pattern_is_fused(tmp_path, form):
    c = [h.make_tensor("sqrt2", T.FLOAT, [], [1.4142135381698608]), h.make_tensor("one", T.FLOAT, [], [1.0]),
         h.make_tensor("half", T.FLOAT, [], [0.5]), h.make_tensor("inv_sqrt2", T.FLOAT, [], [0.7071067690849304])]
    if form == "div_then_x_half":  # TorchScript exporter
        nodes = [h.make_node("Div", ["x", "sqrt2"], ["d"]), h.make_node("Erf", ["d"], ["e"]),
                 h.make_node("Add", ["e", "one"], ["a"]), h.make_node("Mul", ["x", "a"], ["m"]),
                 h.make_node("Mul", ["m", "half"], ["y"])]
    elif form == "mul_half_last":
        nodes = [h.make_node("Mul", ["x", "inv_sqrt2"], ["d"]), h.make_node("Erf", ["d"], ["e"]),
                 h.make_node("Add", ["one", "e"], ["a"]), h.make_node("Mul", ["a", "half"], ["m"]),
                 h.make_node("Mul", ["x", "m"], ["y"])]
    else:  # dynamo: (x * 0.5) * (1 + erf(x * 0.7071))
        nodes = [h.make_node("Mul", ["x", "half"], ["hx"]), h.make_node("Mul", ["x", "inv_sqrt2"], ["d"]),
                 h.make_node("Erf", ["d"], ["e"]), h.make_node("Add", ["e", "one"], ["a"]),
                 h.make_node("Mul", ["hx", "a"], ["y"])]
    m = model(nodes, [h.make_tensor_value_info("x", T.FLOAT, ["N", 16])], [h.make_tensor_value_info("y", T.FLOAT, None)], c)
    engine = harness.check_model(m, [{"x": data((n, 16), T.FLOAT)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})
    assert "ops (1 nodes): Gelu x1" in harness.run_cli("inspect", engine).stdout


# ---- integer bit ops, Shrink, Swish, BitCast, float16 and mixed-type Pow ----

INT_TYPES = [T.UINT8, T.INT32, T.INT64]


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", [T.UINT8, T.UINT32, T.UINT64])
def test_bitshift(tmp_path, direction, dtype):
    np_t = {T.UINT8: np.uint8, T.UINT32: np.uint32, T.UINT64: np.uint64}[dtype]
    m = model([h.make_node("BitShift", ["a", "b"], ["y"], direction=direction)],
              [h.make_tensor_value_info("a", dtype, ["N", 4]), h.make_tensor_value_info("b", dtype, [4])],
              [h.make_tensor_value_info("y", dtype, None)], opset=11)
    feeds = [{"a": RNG.integers(0, 200, (n, 4)).astype(np_t), "b": np.array([0, 1, 3, 7], np_t)} for n in (1, 3)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
@pytest.mark.parametrize("dtype", INT_TYPES)
def test_bitwise_binary(tmp_path, op, dtype):
    m = model([h.make_node(op, ["a", "b"], ["y"])],
              [h.make_tensor_value_info("a", dtype, ["N", 3]), h.make_tensor_value_info("b", dtype, [1, 3])],
              [h.make_tensor_value_info("y", dtype, None)], opset=18)
    feeds = [{"a": data((n, 3), dtype, 0, 100), "b": data((1, 3), dtype, 0, 100)} for n in (1, 4)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("dtype", INT_TYPES)
def test_bitwise_not(tmp_path, dtype):
    m = model([h.make_node("BitwiseNot", ["a"], ["y"])], [h.make_tensor_value_info("a", dtype, [2, 5])],
              [h.make_tensor_value_info("y", dtype, None)], opset=18)
    harness.check_model(m, [{"a": data((2, 5), dtype, 0, 100)}], tmp_path)


@pytest.mark.parametrize("attrs", [{}, {"lambd": 1.5, "bias": 0.5}])
def test_shrink(tmp_path, attrs):
    m = model([h.make_node("Shrink", ["x"], ["y"], **attrs)], [h.make_tensor_value_info("x", T.FLOAT, ["N", 6])],
              [h.make_tensor_value_info("y", T.FLOAT, None)], opset=9)
    harness.check_model(m, [{"x": data((n, 6), T.FLOAT)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


def test_swish(tmp_path):
    m = model([h.make_node("Swish", ["x"], ["y"], alpha=0.7)], [h.make_tensor_value_info("x", T.FLOAT, [3, 4])],
              [h.make_tensor_value_info("y", T.FLOAT, None)], opset=24)
    m.ir_version = 10
    harness.check_model(m, [{"x": data((3, 4), T.FLOAT)}], tmp_path)


@pytest.mark.parametrize("src,dst", [(T.FLOAT, T.INT32), (T.INT64, T.DOUBLE), (T.INT8, T.UINT8)])
def test_bitcast(tmp_path, src, dst):
    m = model([h.make_node("BitCast", ["x"], ["y"], to=dst)], [h.make_tensor_value_info("x", src, [2, 3])],
              [h.make_tensor_value_info("y", dst, None)], opset=26)
    m.ir_version = 10
    harness.check_model(m, [{"x": data((2, 3), src)}], tmp_path)


def test_float16_elementwise_chain(tmp_path):
    # float16 tensors are computed in float32 and rounded once per op.
    m = model([h.make_node("Cast", ["x"], ["xh"], to=T.FLOAT16), h.make_node("Sigmoid", ["xh"], ["s"]),
               h.make_node("Mul", ["s", "xh"], ["m"]), h.make_node("Max", ["m", "xh"], ["mx"]),
               h.make_node("Cast", ["mx"], ["y"], to=T.FLOAT), h.make_node("IsNaN", ["xh"], ["n"])],
              [h.make_tensor_value_info("x", T.FLOAT, ["N", 5])],
              [h.make_tensor_value_info("y", T.FLOAT, None), h.make_tensor_value_info("n", T.BOOL, None)])
    harness.check_model(m, [{"x": data((n, 5), T.FLOAT)} for n in (1, 3)], tmp_path, rtol=2e-3, atol=2e-3,
                        dims={"N": "1:2:4"})


def test_float16_inputs_and_outputs(tmp_path):
    m = model([h.make_node("Add", ["a", "b"], ["y"]), h.make_node("Cast", ["y"], ["d"], to=T.DOUBLE)],
              [h.make_tensor_value_info("a", T.FLOAT16, [4]), h.make_tensor_value_info("b", T.FLOAT16, [4])],
              [h.make_tensor_value_info("y", T.FLOAT16, None), h.make_tensor_value_info("d", T.DOUBLE, None)])
    a = np.array([1e-3, 65000, -2.5, 6e-8], np.float16)
    b = np.array([2e-3, 1000, 0.25, 6e-8], np.float16)
    harness.check_model(m, [{"a": a, "b": b}], tmp_path)


def test_pow_integer_base_float_exponent(tmp_path):
    m = model([h.make_node("Pow", ["a", "b"], ["y"])],
              [h.make_tensor_value_info("a", T.INT32, [4]), h.make_tensor_value_info("b", T.FLOAT, [4])],
              [h.make_tensor_value_info("y", T.INT32, None)], opset=15)
    harness.check_model(m, [{"a": np.array([1, 2, 3, 4], np.int32), "b": np.array([0.5, 2, 3, 1.5], np.float32)}],
                        tmp_path)


def test_clip_min_above_max(tmp_path):
    m = model([h.make_node("Clip", ["x", "lo", "hi"], ["y"])],
              [h.make_tensor_value_info("x", T.FLOAT, [5]), h.make_tensor_value_info("lo", T.FLOAT, []),
               h.make_tensor_value_info("hi", T.FLOAT, [])], [h.make_tensor_value_info("y", T.FLOAT, None)], opset=13)
    feeds = {"x": np.array([-2, -1, 0, 1, 2], np.float32), "lo": np.array(1, np.float32), "hi": np.array(-1, np.float32)}
    harness.check_model(m, [feeds], tmp_path)
