"""Indexing ops (Gather*, Scatter*, CumSum, NonZero, Compress, TopK, OneHot)
against ONNX Runtime, static and dynamic shapes."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from harness import assert_close, build_engine, check_model, run_engine

rng = np.random.default_rng(1)


def model(nodes, inputs, outputs, opset=17, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, dt, shape):
    return h.make_tensor_value_info(name, dt, shape)


def out(name="y", dt=TP.FLOAT):
    return h.make_tensor_value_info(name, dt, None)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def randf(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- Gather ------------------------------------------------------------------

@pytest.mark.parametrize("axis,idx", [(0, [[0, 2], [-1, 1]]), (1, [3, -4, 0]), (-1, 2), (2, [[1], [0]])])
def test_gather_static(tmp_path, axis, idx):
    m = model([h.make_node("Gather", ["x", "i"], ["y"], axis=axis)], [vi("x", TP.FLOAT, [3, 4, 5])], [out()],
              inits=[const("i", np.array(idx, np.int64))])
    check_model(m, [{"x": randf(3, 4, 5)}], tmp_path)


def test_gather_dynamic_indices_input(tmp_path):
    # Embedding lookup: table [V, D], ids [B, S] with dynamic B, S; int32 ids.
    m = model([h.make_node("Gather", ["w", "ids"], ["y"], axis=0)], [vi("ids", TP.INT32, ["B", "S"])], [out()],
              inits=[const("w", randf(50, 8))])
    feeds = [{"ids": rng.integers(-50, 50, (b, s)).astype(np.int32)} for b, s in ((1, 1), (2, 7), (3, 4))]
    check_model(m, feeds, tmp_path, dims={"B": "1:2:4", "S": "1:4:8"})


def test_gather_dynamic_data(tmp_path):
    m = model([h.make_node("Gather", ["x", "i"], ["y"], axis=1)], [vi("x", TP.INT64, ["N", 6])],
              [out("y", TP.INT64)], inits=[const("i", np.array([5, 0, -2], np.int64))])
    check_model(m, [{"x": np.arange(6 * n).reshape(n, 6)} for n in (1, 4)], tmp_path, dims={"N": "1:2:4"})


def test_gather_scalar_index_bool(tmp_path):
    m = model([h.make_node("Gather", ["x", "i"], ["y"], axis=0)], [vi("x", TP.BOOL, [4, 3])], [out("y", TP.BOOL)],
              inits=[const("i", np.array(-1, np.int64))])
    check_model(m, [{"x": rng.random((4, 3)) > 0.5}], tmp_path)


def test_gather_shape_values_1d_indices(tmp_path):
    # Gather(Shape(x), [0, 2]) -> Concat with [-1] -> Reshape.
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("Gather", ["s", "i"], ["g"], axis=0),
             h.make_node("Concat", ["g", "m1"], ["shape"], axis=0),
             h.make_node("Reshape", ["x", "shape"], ["y"])]
    m = model(nodes, [vi("x", TP.FLOAT, ["N", 4, "K"])], [out()], opset=13,
              inits=[const("i", np.array([0, 2], np.int64)), const("m1", np.array([-1], np.int64))])
    check_model(m, [{"x": randf(n, 4, k)} for n, k in ((1, 2), (3, 5))], tmp_path, dims={"N": "1:2:4", "K": "1:3:6"})


# ---- GatherElements / GatherND -----------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements(tmp_path, axis):
    idx = rng.integers(-3, 3, (3, 2)).astype(np.int64)
    m = model([h.make_node("GatherElements", ["x", "i"], ["y"], axis=axis)], [vi("x", TP.FLOAT, [3, 3])], [out()],
              inits=[const("i", idx)])
    check_model(m, [{"x": randf(3, 3)}], tmp_path)


def test_gather_elements_dynamic(tmp_path):
    m = model([h.make_node("GatherElements", ["x", "i"], ["y"], axis=1)],
              [vi("x", TP.FLOAT, ["N", 5]), vi("i", TP.INT64, ["N", 3])], [out()])
    feeds = [{"x": randf(n, 5), "i": rng.integers(0, 5, (n, 3)).astype(np.int64)} for n in (1, 3)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("batch_dims,dshape,ishape", [(0, (2, 3, 4), (5, 2)), (0, (2, 3), (4, 2)),
                                                      (1, (2, 3, 4), (2, 5, 1)), (0, (4, 3), (2, 2, 1))])
def test_gather_nd(tmp_path, batch_dims, dshape, ishape):
    last = ishape[-1]
    hi = np.array(dshape[batch_dims:batch_dims + last])
    idx = (rng.integers(0, 1 << 20, ishape) % hi).astype(np.int64)
    m = model([h.make_node("GatherND", ["x", "i"], ["y"], batch_dims=batch_dims)], [vi("x", TP.FLOAT, list(dshape))],
              [out()], inits=[const("i", idx)])
    check_model(m, [{"x": randf(*dshape)}], tmp_path)


def test_gather_nd_dynamic(tmp_path):
    m = model([h.make_node("GatherND", ["x", "i"], ["y"])], [vi("x", TP.FLOAT, [4, 5, 3]), vi("i", TP.INT64, ["K", 2])],
              [out()])
    feeds = [{"x": randf(4, 5, 3), "i": np.stack([rng.integers(-4, 4, k), rng.integers(0, 5, k)], 1)} for k in (1, 6)]
    check_model(m, feeds, tmp_path, dims={"K": "1:3:8"})


# ---- ScatterND / ScatterElements ---------------------------------------------

@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd(tmp_path, reduction):
    idx = np.array([[1], [3], [1]] if reduction != "none" else [[1], [3]], np.int64)
    upd = randf(len(idx), 4)
    kw = {} if reduction == "none" else {"reduction": reduction}
    m = model([h.make_node("ScatterND", ["x", "i", "u"], ["y"], **kw)], [vi("x", TP.FLOAT, [5, 4])], [out()],
              opset=18, inits=[const("i", idx), const("u", upd)])
    check_model(m, [{"x": randf(5, 4)}], tmp_path)


def test_scatter_nd_dynamic_kv_cache(tmp_path):
    # Write updates at positions given at run time, data with a dynamic dim.
    m = model([h.make_node("ScatterND", ["x", "i", "u"], ["y"])],
              [vi("x", TP.FLOAT, ["N", 3]), vi("i", TP.INT64, [2, 2]), vi("u", TP.FLOAT, [2])], [out()], opset=16)
    feeds = [{"x": randf(n, 3), "i": np.array([[n - 1, 2], [0, 0]], np.int64), "u": randf(2)} for n in (1, 4)]
    feeds[0]["i"] = np.array([[0, 2], [0, 1]], np.int64)
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


def test_scatter_nd_symbolic_index_depth(tmp_path):
    # Every indices dim symbolic: the index depth (last dim) follows from the ranks.
    m = model([h.make_node("ScatterND", ["x", "i", "u"], ["y"])],
              [vi("x", TP.FLOAT, ["A", "B", 4]), vi("i", TP.INT64, ["K", "D"]), vi("u", TP.FLOAT, ["K", 4])], [out()],
              opset=16)
    feeds = [{"x": randf(a, b, 4), "i": np.array([[a - 1, 0], [0, b - 1]], np.int64), "u": randf(2, 4)}
             for a, b in ((2, 3), (3, 1))]
    check_model(m, feeds, tmp_path, dims={"A": "1:2:4", "B": "1:3:4", "K": "1:2:3", "D": "1:2:3"})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("axis", [0, -1])
def test_scatter_elements(tmp_path, reduction, axis):
    idx = np.array([[1, 0, 2], [0, 2, 1]], np.int64) if reduction == "none" else np.array([[1, 0, 1], [-3, 1, 1]])
    kw = {} if reduction == "none" else {"reduction": reduction}
    m = model([h.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=axis, **kw)], [vi("x", TP.FLOAT, [3, 3])],
              [out()], opset=18, inits=[const("i", idx.astype(np.int64)), const("u", randf(2, 3))])
    check_model(m, [{"x": randf(3, 3)}], tmp_path)


def test_scatter_elements_int64_dynamic(tmp_path):
    m = model([h.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=1)],
              [vi("x", TP.INT64, ["N", 4]), vi("i", TP.INT64, ["N", 1]), vi("u", TP.INT64, ["N", 1])],
              [out("y", TP.INT64)], opset=13)
    feeds = [{"x": np.zeros((n, 4), np.int64), "i": rng.integers(0, 4, (n, 1)), "u": np.arange(n).reshape(n, 1) + 1}
             for n in (1, 3)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


# ---- CumSum ------------------------------------------------------------------

@pytest.mark.parametrize("exclusive,reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumsum(tmp_path, exclusive, reverse, axis):
    m = model([h.make_node("CumSum", ["x", "a"], ["y"], exclusive=exclusive, reverse=reverse)],
              [vi("x", TP.FLOAT, ["N", 4, 3])], [out()], opset=14, inits=[const("a", np.array(axis, np.int64))])
    check_model(m, [{"x": randf(n, 4, 3)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


def test_cumsum_int_axis_input(tmp_path):
    m = model([h.make_node("CumSum", ["x", "a"], ["y"])], [vi("x", TP.INT64, [5]), vi("a", TP.INT32, [])],
              [out("y", TP.INT64)], opset=14)
    check_model(m, [{"x": np.arange(5, dtype=np.int64), "a": np.array(0, np.int32)}], tmp_path)


# ---- NonZero / Compress ------------------------------------------------------

def test_nonzero_static(tmp_path):
    m = model([h.make_node("NonZero", ["x"], ["y"])], [vi("x", TP.FLOAT, [3, 4])], [out("y", TP.INT64)])
    x = randf(3, 4) * (rng.random((3, 4)) > 0.5)
    check_model(m, [{"x": x}, {"x": np.zeros((3, 4), np.float32)}], tmp_path)


def test_nonzero_dynamic_then_transpose(tmp_path):
    nodes = [h.make_node("NonZero", ["x"], ["nz"]), h.make_node("Transpose", ["nz"], ["y"], perm=[1, 0])]
    m = model(nodes, [vi("x", TP.BOOL, ["N", 5])], [out("y", TP.INT64)])
    check_model(m, [{"x": rng.random((n, 5)) > 0.6} for n in (1, 4, 2)], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_compress(tmp_path, axis):
    kw = {} if axis is None else {"axis": axis}
    m = model([h.make_node("Compress", ["x", "c"], ["y"], **kw)], [vi("x", TP.FLOAT, [3, 4]), vi("c", TP.BOOL, ["L"])],
              [out()])
    n = 12 if axis is None else (3 if axis == 0 else 4)
    feeds = [{"x": randf(3, 4), "c": rng.random(n) > 0.5}, {"x": randf(3, 4), "c": np.array([True, False])}]
    check_model(m, feeds, tmp_path, dims={"L": f"1:2:{n}"})


# ---- TopK --------------------------------------------------------------------

@pytest.mark.parametrize("largest", [1, 0])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_topk(tmp_path, largest, axis):
    m = model([h.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)], [vi("x", TP.FLOAT, [4, 6, 5])],
              [out("v"), out("i", TP.INT64)], opset=11, inits=[const("k", np.array([3], np.int64))])
    check_model(m, [{"x": randf(4, 6, 5)}], tmp_path)


def test_topk_ties_int(tmp_path):
    m = model([h.make_node("TopK", ["x", "k"], ["v", "i"])], [vi("x", TP.INT64, ["N", 8])],
              [out("v", TP.INT64), out("i", TP.INT64)], opset=11, inits=[const("k", np.array([5], np.int64))])
    feeds = [{"x": rng.integers(0, 3, (n, 8)).astype(np.int64)} for n in (1, 3)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


def test_topk_k_from_shape(tmp_path):
    # k = dim 1 of another input (symbolic): a full sort.
    nodes = [h.make_node("Shape", ["z"], ["zs"]),
             h.make_node("Slice", ["zs", "one", "two"], ["k"]),
             h.make_node("TopK", ["x", "k"], ["v", "i"], axis=1)]
    m = model(nodes, [vi("x", TP.FLOAT, [2, "K"]), vi("z", TP.FLOAT, [1, "K"])], [out("v"), out("i", TP.INT64)],
              opset=11, inits=[const("one", np.array([1], np.int64)), const("two", np.array([2], np.int64))])
    check_model(m, [{"x": randf(2, k), "z": randf(1, k)} for k in (1, 6)], tmp_path, dims={"K": "1:4:8"})


def test_topk_opset1_attr(tmp_path):
    m = model([h.make_node("TopK", ["x"], ["v", "i"], k=2)], [vi("x", TP.FLOAT, [3, 4])],
              [out("v"), out("i", TP.INT64)], opset=9)
    check_model(m, [{"x": randf(3, 4)}], tmp_path)


# ---- OneHot ------------------------------------------------------------------

@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_onehot(tmp_path, axis):
    m = model([h.make_node("OneHot", ["i", "d", "v"], ["y"], axis=axis)], [vi("i", TP.INT64, ["N", 3])], [out()],
              opset=11, inits=[const("d", np.array(5, np.int64)), const("v", np.array([-1.0, 2.0], np.float32))])
    feeds = [{"i": rng.integers(-6, 7, (n, 3)).astype(np.int64)} for n in (1, 4)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


def test_onehot_float_depth_int_values(tmp_path):
    m = model([h.make_node("OneHot", ["i", "d", "v"], ["y"])], [vi("i", TP.INT64, [4])], [out("y", TP.INT32)],
              opset=11, inits=[const("d", np.array([3.0], np.float32)), const("v", np.array([0, 1], np.int32))])
    check_model(m, [{"i": np.array([0, 2, -1, 1], np.int64)}], tmp_path)


def test_onehot_float_indices(tmp_path):
    m = model([h.make_node("OneHot", ["i", "d", "v"], ["y"], axis=0)], [vi("i", TP.FLOAT, [2, 3])],
              [out("y", TP.INT64)], opset=11,
              inits=[const("d", np.array(4, np.int64)), const("v", np.array([3, 9], np.int64))])
    i = np.array([[0, 1.7, -1], [3, 5, -4]], np.float32)
    # The spec casts indices to int64 (1.7 -> 1) and counts negatives from the end; older
    # ONNX Runtime releases (1.2x, as on the GPU machine) compare 1.7 unconverted, so the
    # reference here is the spec, in numpy.
    k = i.astype(np.int64)
    k = np.where(k < 0, k + 4, k)
    want = np.where(np.arange(4)[:, None, None] == k[None], 9, 3).astype(np.int64)
    engine = build_engine(m, tmp_path)
    assert_close(run_engine(engine, {"i": i}, tmp_path), {"y": want}, 0, 0)


# ---- Unique ------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"sorted": 0}, {"axis": 0}, {"axis": 1, "sorted": 0}, {"axis": -1}])
def test_unique(tmp_path, kw):
    outs = [out("u"), out("i", TP.INT64), out("inv", TP.INT64), out("c", TP.INT64)]
    m = model([h.make_node("Unique", ["x"], ["u", "i", "inv", "c"], **kw)], [vi("x", TP.FLOAT, ["N", 4])], outs)
    x1 = np.array([[2, 1, 1, 3], [2, 1, 1, 3], [0, 1, 1, 5]], np.float32)
    x2 = rng.integers(0, 3, (5, 4)).astype(np.float32)
    check_model(m, [{"x": x1}, {"x": x2}, {"x": x1[:1]}], tmp_path, dims={"N": "1:3:5"})


def test_unique_int64_only_values(tmp_path):
    m = model([h.make_node("Unique", ["x"], ["u"])], [vi("x", TP.INT64, [6])], [out("u", TP.INT64)])
    check_model(m, [{"x": np.array([5, -1, 5, 2, -1, 7], np.int64)}], tmp_path)


# ---- errors --------------------------------------------------------------------

def test_gather_index_out_of_range_is_an_error(tmp_path):
    import numpy as _np
    from harness import build_engine, run_cli
    m = model([h.make_node("Gather", ["x", "i"], ["y"], axis=0)], [vi("x", TP.FLOAT, [3, 2]), vi("i", TP.INT64, [2])],
              [out()])
    engine = build_engine(m, tmp_path)
    _np.savez(tmp_path / "in.npz", x=randf(3, 2), i=_np.array([0, 3], _np.int64))
    p = run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz", check=False)
    assert p.returncode != 0 and "out of range" in p.stderr


def test_topk_k_known_only_at_run_time(tmp_path):
    # k is a graph input: the output is sized when the kernel runs.
    m = model([h.make_node("TopK", ["x", "k"], ["v", "i"])], [vi("x", TP.FLOAT, [3, 4]), vi("k", TP.INT64, [1])],
              [out("v"), out("i", TP.INT64)], opset=11)
    check_model(m, [{"x": randf(3, 4), "k": np.array([k], np.int64)} for k in (1, 3, 4)], tmp_path)
