"""Reduce* and ArgMax/ArgMin against ONNX Runtime: axes as attribute (ReduceSum
before 13, the others before 18) and as input, keepdims, noop_with_empty_axes,
negative axes, static and dynamic shapes, odd sizes, integer types."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from harness import check_model

rng = np.random.default_rng(0)

REDUCE_OPS = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def model(nodes, inputs, outputs, opset=17, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, dt, shape):
    return h.make_tensor_value_info(name, dt, shape)


def out(name="y", dt=TP.FLOAT):
    return h.make_tensor_value_info(name, dt, None)


def ints(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def pos(*shape, dtype=np.float32):
    # Positive and near 1 so that LogSum and Prod stay finite.
    return rng.uniform(0.5, 1.5, shape).astype(dtype)


def all_ops_model(shape, axes, keepdims, opset, noop=None, dt=TP.FLOAT, ops=REDUCE_OPS):
    """One node per op, all on input x; axes as attribute or input by opset."""
    nodes, inits = [], []
    for op in ops:
        attr_axes = opset < (13 if op == "ReduceSum" else 18)
        kw = {"keepdims": keepdims}
        if noop is not None:
            kw["noop_with_empty_axes"] = noop
        ins = ["x"]
        if axes is not None:
            if attr_axes:
                kw["axes"] = axes
            else:
                ins.append("axes")
        nodes.append(h.make_node(op, ins, [op], **kw))
    if axes is not None and opset >= 13:
        inits.append(ints("axes", axes))
    return model(nodes, [vi("x", dt, shape)], [out(op, dt) for op in ops], opset, inits)


@pytest.mark.parametrize("opset", [11, 13, 18])
@pytest.mark.parametrize("axes,keepdims", [([-1], 1), ([1], 0), ([0, 2], 1), ([-3, -1], 0), (None, 1), (None, 0)])
def test_reduce_all_ops_dynamic(tmp_path, opset, axes, keepdims):
    m = all_ops_model(["N", 5, 7], axes, keepdims, opset)
    check_model(m, [{"x": pos(n, 5, 7)} for n in (1, 3, 5)], tmp_path, dims={"N": "1:2:5"})


@pytest.mark.parametrize("opset", [13, 18])
def test_reduce_empty_axes_input(tmp_path, opset):
    # Empty axes input: reduce everything, or (noop_with_empty_axes) nothing.
    for noop in (0, 1):
        ops = REDUCE_OPS if opset == 18 else ["ReduceSum"]  # only ReduceSum takes axes as input at 13
        nodes = [h.make_node(op, ["x", "axes"], [op], keepdims=1, noop_with_empty_axes=noop) for op in ops]
        m = model(nodes, [vi("x", TP.FLOAT, ["N", 6])], [out(op) for op in ops], opset, [ints("axes", [])])
        d = tmp_path / f"noop{noop}"
        d.mkdir()
        check_model(m, [{"x": pos(n, 6)} for n in (1, 4)], d, dims={"N": "1:2:4"})


@pytest.mark.parametrize("shape,axes", [
    ((3, 1), [-1]), ((2, 1000), [-1]), ((1000, 3), [0]), ((37, 2000), [0]), ((3, 7), [0, 1]),
    ((2, 3, 9, 11), [2, 3]), ((2, 9, 11, 5), [1, 2]), ((3, 4, 5, 6), [0, 2]), ((3, 4, 5, 6), [1, 3]),
    ((2, 1, 4, 1, 3), [1, 2]), ((4, 3, 2, 5, 3), [0, 1, 3]), ((1, 1, 1), [1]),
])
def test_reduce_layouts_static(tmp_path, shape, axes):
    m = all_ops_model(list(shape), axes, 1, 18)
    check_model(m, [{"x": pos(*shape)}], tmp_path, rtol=2e-4)


def test_reduce_mean_nchw_dynamic(tmp_path):
    # Global average pooling as exported by CNNs.
    m = model([h.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=1)], [vi("x", TP.FLOAT, ["N", 8, "H", "H"])],
              [out()], 13)
    check_model(m, [{"x": pos(n, 8, s, s)} for n, s in ((1, 7), (2, 14), (3, 1))], tmp_path,
                dims={"N": "1:2:3", "H": "1:7:14"})


def test_reduce_transformer_rows(tmp_path):
    # [B, S, D] mean and sum of squares over the last axis, S dynamic.
    nodes = [h.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=1),
             h.make_node("ReduceSumSquare", ["x", "axes"], ["s"], keepdims=0)]
    m = model(nodes, [vi("x", TP.FLOAT, [2, "S", 96])], [out("m"), out("s")], 18, [ints("axes", [-1])])
    check_model(m, [{"x": pos(2, s, 96)} for s in (1, 17, 64)], tmp_path, dims={"S": "1:16:64"})


def test_reduce_logsumexp_stable(tmp_path):
    m = all_ops_model(["N", 9], [1], 0, 18, ops=["ReduceLogSumExp", "ReduceMax"])
    x = rng.uniform(-1, 1, (3, 9)).astype(np.float32) * 1000
    x[1] = -2000.0
    check_model(m, [{"x": x}], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("dt,npdt", [(TP.INT64, np.int64), (TP.INT32, np.int32)])
def test_reduce_int(tmp_path, dt, npdt):
    ops = ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean", "ReduceL1", "ReduceSumSquare"]
    m = all_ops_model(["N", 4, 3], [1], 0, 18, dt=dt, ops=ops)
    feeds = [{"x": rng.integers(-5, 6, (n, 4, 3)).astype(npdt)} for n in (1, 3)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:3"})


@pytest.mark.parametrize("dt,npdt", [(TP.INT8, np.int8), (TP.UINT8, np.uint8)])
def test_reduce_minmax_small_int(tmp_path, dt, npdt):
    m = all_ops_model([5, 6], [-1], 1, 18, dt=dt, ops=["ReduceMax", "ReduceMin"])
    check_model(m, [{"x": rng.integers(0, 100, (5, 6)).astype(npdt)}], tmp_path)


def test_reduce_float64(tmp_path):
    m = all_ops_model(["N", 3, 10], [0, -1], 1, 18, dt=TP.DOUBLE)
    check_model(m, [{"x": pos(n, 3, 10, dtype=np.float64)} for n in (1, 2)], tmp_path, dims={"N": "1:2:2"})


def test_reduce_prod_of_shape_propagates(tmp_path):
    # ReduceProd(Shape(x)) must be known at build time for Reshape to compile.
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("ReduceProd", ["s"], ["n"], keepdims=1),
             h.make_node("Reshape", ["x", "n"], ["y"]),
             h.make_node("ReduceMax", ["s"], ["mx"], keepdims=1),
             h.make_node("ConstantOfShape", ["mx"], ["z"], value=numpy_helper.from_array(np.array([1.0], np.float32))),
             h.make_node("ReduceSum", ["s", "ax"], ["sm"], keepdims=1),
             h.make_node("Reshape", ["x", "sm2"], ["w"]),
             h.make_node("Sub", ["sm", "c"], ["sm2a"]),
             h.make_node("Concat", ["sm2a", "m1"], ["sm2"], axis=0)]
    # sm = N + 3 + 4; w = x reshaped to [N + 7 - 7, -1].
    m = model(nodes, [vi("x", TP.FLOAT, ["N", 3, 4])], [out("y"), out("z"), out("w")], 18,
              [ints("ax", [0]), ints("c", [7]), ints("m1", [-1])])
    check_model(m, [{"x": pos(n, 3, 4)} for n in (1, 2, 6)], tmp_path, dims={"N": "1:2:6"})


# ---- ArgMax / ArgMin ----------------------------------------------------------

@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("axis,keepdims,last", [(-1, 1, 0), (1, 0, 0), (0, 1, 1), (-1, 0, 1), (2, 1, 0)])
def test_arg_dynamic(tmp_path, op, axis, keepdims, last):
    m = model([h.make_node(op, ["x"], ["y"], axis=axis, keepdims=keepdims, select_last_index=last)],
              [vi("x", TP.FLOAT, ["N", 6, 7])], [out("y", TP.INT64)], 13)
    # Few distinct values: plenty of ties for select_last_index.
    feeds = [{"x": rng.integers(0, 4, (n, 6, 7)).astype(np.float32)} for n in (1, 3, 4)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("shape,axis", [((4, 1000), -1), ((3, 1), 1), ((1500, 3), 0), ((2, 5, 1300), 1)])
def test_arg_sizes(tmp_path, shape, axis):
    nodes = [h.make_node("ArgMax", ["x"], ["a"], axis=axis), h.make_node("ArgMin", ["x"], ["b"], axis=axis, keepdims=0)]
    m = model(nodes, [vi("x", TP.FLOAT, list(shape))], [out("a", TP.INT64), out("b", TP.INT64)], 13)
    check_model(m, [{"x": rng.standard_normal(shape).astype(np.float32)}], tmp_path)


def test_arg_int64(tmp_path):
    nodes = [h.make_node("ArgMax", ["x"], ["a"], axis=1, select_last_index=1),
             h.make_node("ArgMin", ["x"], ["b"], axis=0)]
    m = model(nodes, [vi("x", TP.INT64, ["N", 5])], [out("a", TP.INT64), out("b", TP.INT64)], 13)
    check_model(m, [{"x": rng.integers(-3, 3, (n, 5))} for n in (1, 4)], tmp_path, dims={"N": "1:2:4"})


def test_reduce_runtime_axes(tmp_path):
    # Axes only known at run time: the kernel sizes the output (the rank is
    # fixed by keepdims and the length of the axes tensor).
    m = model([h.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)],
              [vi("x", TP.FLOAT, [2, 3]), vi("axes", TP.INT64, [1])], [out()], 18)
    check_model(m, [{"x": pos(2, 3), "axes": np.array([a])} for a in (1, 0, -1)], tmp_path)


def test_reduce_runtime_axes_of_unknown_length(tmp_path):
    # Without keepdims, an axes tensor of symbolic length fixes the output rank: one engine per
    # length (builder/variants.cpp); over more lengths than that, a clear build error.
    m = model([h.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)],
              [vi("x", TP.FLOAT, [2, 3]), vi("axes", TP.INT64, ["K"])], [out()], 18)
    check_model(m, [{"x": pos(2, 3), "axes": np.array(a)} for a in ([1], [0, 1], [-1])], tmp_path, dims={"K": "1:1:2"})
    with pytest.raises(AssertionError, match="output rank is unknown at build time"):
        check_model(m, [{"x": pos(2, 3), "axes": np.array([1])}], tmp_path, dims={"K": "1:1:20"})
