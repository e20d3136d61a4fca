"""Ops whose output shape depends on the *values* of an input that is only
known at run time (a graph input, not a constant): Reshape, Expand,
ConstantOfShape, Range, Tile, Slice, Split, Squeeze, Unsqueeze, Pad, TopK,
OneHot, Reduce* with an axes input. The engine is built once and must give
the right shapes for different values, against ONNX Runtime."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness

RNG = np.random.default_rng(5)


def model(nodes, inputs, outputs, opset=18):
    g = h.make_graph(nodes, "g", inputs, outputs)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def i64(*vals):
    return np.array(vals, dtype=np.int64)


def test_reshape_target_at_run_time(tmp_path):
    # Reshape, then ops after it whose shapes follow the run-time dims.
    m = model([h.make_node("Reshape", ["x", "s"], ["r"]), h.make_node("Relu", ["r"], ["y"])],
              [vi("x", T.FLOAT, [2, 3, 4]), vi("s", T.INT64, [3])], [vi("y", T.FLOAT, None)])
    feeds = [{"x": f32(2, 3, 4), "s": i64(4, 3, 2)}, {"x": f32(2, 3, 4), "s": i64(0, -1, 2)},
             {"x": f32(2, 3, 4), "s": i64(24, 1, 1)}]
    harness.check_model(m, feeds, tmp_path)


def test_reshape_run_time_target_with_dynamic_batch(tmp_path):
    m = model([h.make_node("Reshape", ["x", "s"], ["r"]), h.make_node("Add", ["r", "b"], ["y"])],
              [vi("x", T.FLOAT, ["N", 6]), vi("s", T.INT64, [2]), vi("b", T.FLOAT, [1])], [vi("y", T.FLOAT, None)])
    feeds = [{"x": f32(n, 6), "s": i64(-1, k), "b": f32(1)} for n, k in ((1, 3), (4, 2), (3, 6))]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


def test_reshape_allowzero(tmp_path):
    m = model([h.make_node("Reshape", ["x", "s"], ["y"], allowzero=1)], [vi("x", T.FLOAT, [0, 3]), vi("s", T.INT64, [2])],
              [vi("y", T.FLOAT, None)], opset=14)
    harness.check_model(m, [{"x": f32(0, 3), "s": i64(3, 0)}], tmp_path)


def test_reshape_bad_target_is_an_error(tmp_path):
    m = model([h.make_node("Reshape", ["x", "s"], ["y"])], [vi("x", T.FLOAT, [2, 3]), vi("s", T.INT64, [2])],
              [vi("y", T.FLOAT, None)])
    engine = harness.build_engine(m, tmp_path)
    np.savez(tmp_path / "in.npz", x=f32(2, 3), s=i64(4, 4))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz", check=False)
    assert p.returncode != 0 and "error (invalid input)" in p.stderr, p.stderr


@pytest.mark.parametrize("shape", [(3, 4), (2, 1, 4), (1, 4), (4,)])
def test_expand_and_constant_of_shape(tmp_path, shape):
    m = model([h.make_node("Expand", ["x", "s"], ["e"]), h.make_node("ConstantOfShape", ["s"], ["c"],
                                                                       value=h.make_tensor("v", T.FLOAT, [1], [2.5]))],
              [vi("x", T.FLOAT, [1, 4]), vi("s", T.INT64, [len(shape)])], [vi("e", T.FLOAT, None), vi("c", T.FLOAT, None)])
    harness.check_model(m, [{"x": f32(1, 4), "s": i64(*shape)}], tmp_path)


@pytest.mark.parametrize("dtype", [T.INT64, T.INT32, T.FLOAT])
def test_range_at_run_time(tmp_path, dtype):
    np_t = {T.INT64: np.int64, T.INT32: np.int32, T.FLOAT: np.float32}[dtype]
    m = model([h.make_node("Range", ["a", "b", "d"], ["y"])], [vi("a", dtype, []), vi("b", dtype, []), vi("d", dtype, [])],
              [vi("y", dtype, None)])
    feeds = [{"a": np.array(a, np_t), "b": np.array(b, np_t), "d": np.array(d, np_t)} for a, b, d in
             ((0, 10, 3), (5, 1, -2), (2, 2, 1))]
    harness.check_model(m, feeds, tmp_path)


def test_tile_slice_split_at_run_time(tmp_path):
    nodes = [h.make_node("Tile", ["x", "reps"], ["t"]),
             h.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"]),
             h.make_node("Split", ["x", "parts"], ["p0", "p1"], axis=1)]
    m = model(nodes, [vi("x", T.FLOAT, [3, 5]), vi("reps", T.INT64, [2]), vi("starts", T.INT64, [1]),
                      vi("ends", T.INT64, [1]), vi("axes", T.INT64, [1]), vi("steps", T.INT64, [1]),
                      vi("parts", T.INT64, [2])],
              [vi("t", T.FLOAT, None), vi("s", T.FLOAT, None), vi("p0", T.FLOAT, None), vi("p1", T.FLOAT, None)])
    feeds = [{"x": f32(3, 5), "reps": i64(2, 1), "starts": i64(1), "ends": i64(100), "axes": i64(1), "steps": i64(2),
              "parts": i64(2, 3)},
             {"x": f32(3, 5), "reps": i64(1, 3), "starts": i64(-1), "ends": i64(-100), "axes": i64(0), "steps": i64(-1),
              "parts": i64(5, 0)}]
    harness.check_model(m, feeds, tmp_path)


def test_squeeze_unsqueeze_pad_at_run_time(tmp_path):
    nodes = [h.make_node("Unsqueeze", ["x", "ua"], ["u"]), h.make_node("Squeeze", ["x", "sa"], ["q"]),
             h.make_node("Pad", ["x", "pads"], ["p"], mode="reflect")]
    m = model(nodes, [vi("x", T.FLOAT, [1, 4, 1, 3]), vi("ua", T.INT64, [2]), vi("sa", T.INT64, [1]),
                      vi("pads", T.INT64, [8])], [vi("u", T.FLOAT, None), vi("q", T.FLOAT, None), vi("p", T.FLOAT, None)])
    feeds = [{"x": f32(1, 4, 1, 3), "ua": i64(0, -1), "sa": i64(0), "pads": i64(0, 1, 0, 2, 0, 2, 0, 1)},
             {"x": f32(1, 4, 1, 3), "ua": i64(2, 3), "sa": i64(-2), "pads": i64(0, 0, 0, 0, 0, 0, 0, 0)}]
    harness.check_model(m, feeds, tmp_path)


def test_topk_and_onehot_at_run_time(tmp_path):
    nodes = [h.make_node("TopK", ["x", "k"], ["v", "i"], axis=1), h.make_node("OneHot", ["ind", "depth", "vals"], ["o"])]
    m = model(nodes, [vi("x", T.FLOAT, [2, 6]), vi("k", T.INT64, [1]), vi("ind", T.INT64, [3]), vi("depth", T.INT64, [1]),
                      vi("vals", T.FLOAT, [2])], [vi("v", T.FLOAT, None), vi("i", T.INT64, None), vi("o", T.FLOAT, None)])
    feeds = [{"x": f32(2, 6), "k": i64(k), "ind": i64(0, 2, -1), "depth": i64(d), "vals": np.array([0, 1], np.float32)}
             for k, d in ((1, 3), (4, 5), (6, 4))]
    harness.check_model(m, feeds, tmp_path)


@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2", "ReduceLogSumExp"])
def test_reduce_axes_at_run_time(tmp_path, op, keepdims):
    m = model([h.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)],
              [vi("x", T.FLOAT, ["N", 3, 4]), vi("axes", T.INT64, [2])], [vi("y", T.FLOAT, None)])
    feeds = [{"x": f32(n, 3, 4), "axes": i64(*a)} for n, a in ((2, (0, 2)), (3, (1, -1)), (1, (0, 1)))]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


def test_reduce_noop_with_empty_axes(tmp_path):
    m = model([h.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1, noop_with_empty_axes=1)],
              [vi("x", T.FLOAT, [2, 3]), vi("axes", T.INT64, [0])], [vi("y", T.FLOAT, None)])
    harness.check_model(m, [{"x": f32(2, 3), "axes": np.zeros((0,), np.int64)}], tmp_path)


def test_reduce_min_max_bool(tmp_path):
    axes = h.make_node("Constant", [], ["axes"], value=h.make_tensor("v", T.INT64, [1], [1]))
    m = model([axes, h.make_node("ReduceMax", ["x", "axes"], ["a"], keepdims=0),
               h.make_node("ReduceMin", ["x", "axes"], ["b"], keepdims=0)],
              [vi("x", T.BOOL, [3, 4])], [vi("a", T.BOOL, None), vi("b", T.BOOL, None)], opset=20)
    m.ir_version = 9
    harness.check_model(m, [{"x": RNG.integers(0, 2, (3, 4)).astype(np.bool_)}], tmp_path)
