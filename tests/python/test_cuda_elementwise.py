"""Elementwise CUDA kernels vs ONNX Runtime, checking the op ran on cuda. GPU
machine only (scripts/gpu_tests.sh sets DYNRT_EXPECT_GPU=1); test_cuda.py
holds what CI checks without a GPU."""
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness

pytestmark = pytest.mark.skipif(os.environ.get("DYNRT_EXPECT_GPU") != "1",
                                reason="needs the GPU machine (scripts/gpu_tests.sh)")

RNG = np.random.default_rng(5)
NP = {T.FLOAT: np.float32, T.INT64: np.int64, T.INT32: np.int32, T.BOOL: np.bool_, T.UINT8: np.uint8,
      T.INT8: np.int8, T.FLOAT16: np.float16}


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 17 else 10
    return m


def vi(name, shape, t=T.FLOAT):
    return h.make_tensor_value_info(name, t, shape)


def data(shape, dtype=T.FLOAT, low=-3, high=3):
    if dtype == T.BOOL:
        return RNG.integers(0, 2, shape).astype(np.bool_)
    if dtype in (T.FLOAT, T.FLOAT16):
        return RNG.uniform(low, high, shape).astype(NP[dtype])
    return RNG.integers(low, high, shape).astype(NP[dtype])


def on_gpu(m, feeds_list, tmp_path, ops, dims=None, rtol=1e-4, atol=1e-4):
    engine = harness.check_model(m, feeds_list, tmp_path, rtol=rtol, atol=atol, dims=dims, extra=["--device", "cuda"])
    info = harness.run_cli("inspect", engine).stdout
    part = info[info.index("partition"):info.index("guards")]
    cuda_line = next((ln for ln in part.splitlines() if ln.strip().startswith("cuda:")), "")
    for op in ops:
        assert f" {op} x" in cuda_line, f"{op} did not run on cuda:\n{part}"


UNARY = {"Relu": (-3, 3), "Sigmoid": (-10, 10), "Tanh": (-3, 3), "Erf": (-3, 3), "Exp": (-5, 5), "Abs": (-3, 3),
         "Neg": (-3, 3), "Floor": (-3, 3), "Ceil": (-3, 3), "Round": (-4, 4), "Sin": (-6, 6), "Cos": (-6, 6),
         "Tan": (-1.4, 1.4), "Asin": (-0.99, 0.99), "Acos": (-0.99, 0.99), "Atan": (-5, 5), "Sinh": (-3, 3),
         "Cosh": (-3, 3), "Asinh": (-5, 5), "Acosh": (1.01, 6), "Atanh": (-0.99, 0.99), "Softsign": (-5, 5),
         "Softplus": (-30, 30), "HardSwish": (-5, 5), "Sign": (-3, 3), "Mish": (-30, 30), "Log": (0.01, 9),
         "Sqrt": (0, 9), "Reciprocal": (0.5, 3)}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(tmp_path, op):
    lo, hi = UNARY[op]
    m = model([h.make_node(op, ["x"], ["y"])], [vi("x", ["N", 5])], [vi("y", None)], opset=18)
    feeds = []
    for n in (1, 3, 7):
        x = data((n, 5), T.FLOAT, lo, hi)
        if op == "Round":
            x[0, :4] = [0.5, 1.5, 2.5, -0.5]
        feeds.append({"x": x})
    on_gpu(m, feeds, tmp_path, [op], dims={"N": "1:3:8"})


@pytest.mark.parametrize("op", ["Abs", "Neg", "Sign"])
@pytest.mark.parametrize("t", [T.INT32, T.INT64])
def test_unary_int(tmp_path, op, t):
    m = model([h.make_node(op, ["x"], ["y"])], [vi("x", ["N", 5], t)], [vi("y", None, t)], opset=18)
    on_gpu(m, [{"x": data((n, 5), t, -9, 9)} for n in (1, 3)], tmp_path, [op], dims={"N": "1:3:8"})


@pytest.mark.parametrize("op,attrs,opset", [
    ("LeakyRelu", {"alpha": 0.2}, 17), ("LeakyRelu", {}, 17), ("Elu", {"alpha": 0.7}, 17), ("Selu", {}, 17),
    ("Selu", {"alpha": 1.5, "gamma": 2.0}, 17), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, 17),
    ("HardSigmoid", {}, 17), ("Celu", {"alpha": 2.0}, 17), ("ThresholdedRelu", {"alpha": 0.5}, 17),
    ("Gelu", {}, 20), ("Gelu", {"approximate": "tanh"}, 20), ("Shrink", {"lambd": 1.5, "bias": 0.5}, 9),
    ("Swish", {"alpha": 0.7}, 24)])
def test_activation(tmp_path, op, attrs, opset):
    m = model([h.make_node(op, ["x"], ["y"], **attrs)], [vi("x", [4, 6])], [vi("y", None)], opset=opset)
    on_gpu(m, [{"x": data((4, 6), T.FLOAT, -4, 4)}], tmp_path, [op])


SHAPES = [([2, 3, 4, 5], [3, 1, 5]), ([1], [2, 3]), ([], [4, 5]), ([4, 5], []), ([4, 1, 6], [1, 5, 1]),
          ([2, 3], [2, 3]), ([2, 1, 3, 1, 2, 1], [1, 4, 1, 5, 1, 3]), ([3, 64, 33, 17], [64, 1, 1]),
          # the vector path (innermost dim a multiple of 4): broadcast along it, a bias, a mask
          ([2, 3, 8], [3, 1]), ([5, 12], [12]), ([2, 4, 8, 8], [2, 1, 1, 8]), ([16], [16])]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_binary_float(tmp_path, op, sa, sb):
    if op == "PRelu" and len(np.broadcast_shapes(tuple(sa), tuple(sb))) != len(sa):
        pytest.skip("PRelu broadcasts the slope to X")
    if op == "PRelu" and np.broadcast_shapes(tuple(sa), tuple(sb)) != tuple(sa):
        pytest.skip("PRelu broadcasts the slope to X")
    m = model([h.make_node(op, ["a", "b"], ["y"])], [vi("a", sa), vi("b", sb)], [vi("y", None)])
    lo = 0.5 if op == "Pow" else -3
    a, b = data(tuple(sa), T.FLOAT, lo, 3), data(tuple(sb), T.FLOAT, -3, 3)
    if op == "Div":
        b = np.where(np.abs(b) < 0.1, 1.0, b).astype(np.float32)
    on_gpu(m, [{"a": a, "b": b}], tmp_path, [op])


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min"])
@pytest.mark.parametrize("t", [T.INT32, T.INT64])
def test_binary_int(tmp_path, op, t):
    m = model([h.make_node(op, ["a", "b"], ["y"])], [vi("a", ["N", 3, 4], t), vi("b", [3, 1], t)],
              [vi("y", None, t)])
    def feeds(n):
        b = data((3, 1), t, -5, 5)
        b[b == 0] = 3
        return {"a": data((n, 3, 4), t, -20, 20), "b": b}
    on_gpu(m, [feeds(n) for n in (1, 4)], tmp_path, [op], dims={"N": "1:2:4"})


@pytest.mark.parametrize("fmod", [0, 1])
@pytest.mark.parametrize("t", [T.INT32, T.INT64, T.FLOAT])
def test_mod(tmp_path, fmod, t):
    if t == T.FLOAT and fmod == 0:
        pytest.skip("ONNX requires fmod=1 for floats")
    m = model([h.make_node("Mod", ["a", "b"], ["y"], fmod=fmod)], [vi("a", [2, 8], t), vi("b", [8], t)],
              [vi("y", None, t)])
    a = np.array([[7, -7, 7, -7, 3, -3, 10, 0], [1, 2, -9, 9, 5, -5, 11, -11]]).astype(NP[t])
    b = np.array([3, 3, -3, -3, 5, 5, -4, 2]).astype(NP[t])
    if t == T.FLOAT:
        a = a * 1.3
    on_gpu(m, [{"a": a.astype(NP[t]), "b": b}], tmp_path, ["Mod"])


@pytest.mark.parametrize("op", ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
@pytest.mark.parametrize("t", [T.FLOAT, T.INT32, T.INT64])
def test_compare(tmp_path, op, t):
    m = model([h.make_node(op, ["a", "b"], ["y"])], [vi("a", ["N", 4], t), vi("b", [4], t)], [vi("y", None, T.BOOL)])
    def feeds(n):
        a, b = data((n, 4), t, -2, 2), data((4,), t, -2, 2)
        if t == T.FLOAT:
            a, b = np.round(a), np.round(b)
        return {"a": a, "b": b}
    on_gpu(m, [feeds(n) for n in (1, 3)], tmp_path, [op], dims={"N": "1:2:4"})


def test_pow_int_exponent(tmp_path):
    m = model([h.make_node("Pow", ["a", "b"], ["y"])], [vi("a", [3, 4]), vi("b", [3, 4], T.INT64)], [vi("y", None)],
              opset=15)
    on_gpu(m, [{"a": data((3, 4), T.FLOAT, -2, 2), "b": data((3, 4), T.INT64, 0, 4)}], tmp_path, ["Pow"])


@pytest.mark.parametrize("op", ["And", "Or", "Xor"])
def test_logic(tmp_path, op):
    m = model([h.make_node(op, ["a", "b"], ["y"]), h.make_node("Not", ["y"], ["z"])],
              [vi("a", ["N", 3], T.BOOL), vi("b", [1, 3], T.BOOL)], [vi("z", None, T.BOOL)])
    on_gpu(m, [{"a": data((n, 3), T.BOOL), "b": data((1, 3), T.BOOL)} for n in (1, 4)], tmp_path, [op, "Not"],
           dims={"N": "1:2:4"})


@pytest.mark.parametrize("op", ["Sum", "Mean", "Max", "Min"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_variadic(tmp_path, op, k):
    shapes = [["N", 3], [1, 3], [3], ["N", 1]][:k]
    names = [f"x{i}" for i in range(k)]
    m = model([h.make_node(op, names, ["y"])], [vi(nm, s) for nm, s in zip(names, shapes)], [vi("y", None)])
    def feeds(n):
        return {nm: data(tuple(n if d == "N" else d for d in s)) for nm, s in zip(names, shapes)}
    on_gpu(m, [feeds(n) for n in (1, 4)], tmp_path, [op], dims={"N": "1:2:4"})


@pytest.mark.parametrize("t", [T.FLOAT, T.INT64, T.INT32])
def test_where(tmp_path, t):
    m = model([h.make_node("Where", ["c", "x", "y"], ["z"])],
              [vi("c", ["N", 1, 4], T.BOOL), vi("x", [3, 1], t), vi("y", [], t)], [vi("z", None, t)])
    on_gpu(m, [{"c": data((n, 1, 4), T.BOOL), "x": data((3, 1), t), "y": data((), t)} for n in (1, 5)], tmp_path,
           ["Where"], dims={"N": "1:2:8"})


CASTS = [T.FLOAT, T.FLOAT16, T.INT8, T.UINT8, T.INT32, T.INT64, T.BOOL]


@pytest.mark.parametrize("src", CASTS)
@pytest.mark.parametrize("dst", CASTS)
def test_cast(tmp_path, src, dst):
    m = model([h.make_node("Cast", ["x"], ["y"], to=dst)], [vi("x", ["N", 5], src)], [vi("y", None, dst)])
    lo = 0 if src in (T.UINT8, T.BOOL) or dst == T.UINT8 else -100
    def feeds(n):
        x = data((n, 5), src, lo, 100)
        if src in (T.FLOAT, T.FLOAT16) and dst not in (T.INT8, T.UINT8):
            x = (x * 1.37).astype(NP[src])
        return {"x": x}
    on_gpu(m, [feeds(n) for n in (1, 3)], tmp_path, ["Cast"] if src != dst else [], dims={"N": "1:2:4"})


def test_cast_bf16_roundtrip(tmp_path):
    m = model([h.make_node("Cast", ["x"], ["b"], to=T.BFLOAT16), h.make_node("Cast", ["b"], ["y"], to=T.FLOAT)],
              [vi("x", ["N", 5])], [vi("y", None)])
    on_gpu(m, [{"x": data((n, 5), T.FLOAT, -100, 100)} for n in (1, 3)], tmp_path, ["Cast"], dims={"N": "1:2:4"})
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 8  # the vector path
    on_gpu(m, [{"x": data((n, 8), T.FLOAT, -100, 100)} for n in (1, 3)], tmp_path, ["Cast"], dims={"N": "1:2:4"})


@pytest.mark.parametrize("t", [T.FLOAT, T.INT64, T.BOOL, T.FLOAT16])
@pytest.mark.parametrize("src,shape", [([3, 1], [2, 3, 4]), ([1, 4], [5, 1]), ([2, 1, 3], [2, 4, 3]), ([], [3, 2]),
                                       ([2, 3], [2, 3])])
def test_expand(tmp_path, t, src, shape):
    m = model([h.make_node("Expand", ["x", "s"], ["y"])], [vi("x", src, t)], [vi("y", None, t)],
              [onnx.numpy_helper.from_array(np.array(shape, np.int64), "s")])
    small_int = t == T.INT64 and len(src) <= 1  # shape arithmetic: stays on the CPU
    # To its own shape an Expand is a view (passes/drop_identity_ops.cpp): an Identity on the GPU.
    on_gpu(m, [{"x": data(tuple(src), t)}], tmp_path, [] if small_int else ["Identity" if src == shape else "Expand"])


def test_clip_variants(tmp_path):
    m = model([h.make_node("Clip", ["x", "lo", "hi"], ["y"])], [vi("x", ["N", 5])], [vi("y", None)],
              [h.make_tensor("lo", T.FLOAT, [], [-0.5]), h.make_tensor("hi", T.FLOAT, [], [1.0])])
    on_gpu(m, [{"x": data((n, 5))} for n in (1, 3)], tmp_path, ["Clip"], dims={"N": "1:2:4"})
    m = model([h.make_node("Clip", ["x", "", "hi"], ["y"])], [vi("x", [3, 5])], [vi("y", None)],
              [h.make_tensor("hi", T.FLOAT, [], [1.0])])
    on_gpu(m, [{"x": data((3, 5))}], tmp_path, ["Clip"])
    m = model([h.make_node("Clip", ["x", "lo"], ["y"])], [vi("x", [3, 5], T.INT32)], [vi("y", None, T.INT32)],
              [h.make_tensor("lo", T.INT32, [], [-1])])
    on_gpu(m, [{"x": data((3, 5), T.INT32)}], tmp_path, ["Clip"])
    m6 = model([h.make_node("Clip", ["x"], ["y"], min=-1.0, max=0.5)], [vi("x", [2, 5])], [vi("y", None)], opset=6)
    m6.ir_version = 7
    on_gpu(m6, [{"x": data((2, 5))}], tmp_path, ["Clip"])


def test_isinf_isnan(tmp_path):
    m = model([h.make_node("IsInf", ["x"], ["a"], detect_negative=0), h.make_node("IsInf", ["x"], ["b"]),
               h.make_node("IsNaN", ["x"], ["c"])], [vi("x", [3, 4])],
              [vi("a", None, T.BOOL), vi("b", None, T.BOOL), vi("c", None, T.BOOL)])
    x = data((3, 4))
    x[0, 0], x[1, 1], x[2, 2] = np.inf, -np.inf, np.nan
    on_gpu(m, [{"x": x}], tmp_path, ["IsInf", "IsNaN"])


def test_large_grid_stride(tmp_path):
    n = 70_000_000
    m = model([h.make_node("Add", ["a", "b"], ["y"])], [vi("a", [n]), vi("b", [])], [vi("y", None)])
    a = np.arange(n, dtype=np.float32) * np.float32(1e-6)
    on_gpu(m, [{"a": a, "b": np.array(2.0, np.float32)}], tmp_path, ["Add"])


def test_chain_inplace(tmp_path):
    # Several elementwise ops in a row (buffers may be reused between them).
    m = model([h.make_node("Mul", ["x", "x"], ["a"]), h.make_node("Add", ["a", "x"], ["b"]),
               h.make_node("Sigmoid", ["b"], ["c"]), h.make_node("Sub", ["c", "x"], ["d"]),
               h.make_node("Sum", ["d", "x", "a"], ["y"])], [vi("x", ["N", 7])], [vi("y", None)])
    on_gpu(m, [{"x": data((n, 7))} for n in (1, 5)], tmp_path, ["Mul", "Add", "Sigmoid", "Sub", "Sum"],
           dims={"N": "1:2:8"})


def test_empty(tmp_path):
    m = model([h.make_node("Add", ["a", "b"], ["y"]), h.make_node("Relu", ["y"], ["z"])],
              [vi("a", ["N", 4]), vi("b", [4])], [vi("z", None)])
    on_gpu(m, [{"a": data((n, 4)), "b": data((4,))} for n in (0, 2)], tmp_path, ["Add", "Relu"], dims={"N": "0:2:4"})
