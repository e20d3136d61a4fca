"""Softmax/LogSoftmax/Hardmax (opset 13 and pre-13 semantics), LayerNormalization,
InstanceNormalization, GroupNormalization (18 and 21), LpNormalization,
MeanVarianceNormalization, LRN and Einsum against ONNX Runtime."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from harness import build_engine, check_model

rng = np.random.default_rng(0)


def model(nodes, inputs, outputs, opset=17, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, dt, shape):
    return h.make_tensor_value_info(name, dt, shape)


def out(name="y", dt=TP.FLOAT):
    return h.make_tensor_value_info(name, dt, None)


def randf(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


SOFT_OPS = ["Softmax", "LogSoftmax", "Hardmax"]


def soft_model(shape, opset, axis=None, dt=TP.FLOAT, ops=SOFT_OPS):
    kw = {} if axis is None else {"axis": axis}
    nodes = [h.make_node(op, ["x"], [op], **kw) for op in ops]
    return model(nodes, [vi("x", dt, shape)], [out(op, dt) for op in ops], opset)


# ---- Softmax family -------------------------------------------------------------

@pytest.mark.parametrize("axis", [None, -1, 2, 1, 0, -2])
def test_softmax_opset13_dynamic(tmp_path, axis):
    m = soft_model(["N", 5, 7], 13, axis)
    check_model(m, [{"x": randf(n, 5, 7) * 3} for n in (1, 3, 5)], tmp_path, dims={"N": "1:2:5"})


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -3])
def test_softmax_opset11_coerced(tmp_path, axis):
    # Before 13 the input is flattened to 2-D at axis (default 1).
    m = soft_model(["N", 4, 6], 11, axis)
    check_model(m, [{"x": randf(n, 4, 6) * 3} for n in (1, 2, 4)], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("last", [1, 7, 1000, 1531])
def test_softmax_last_dim_sizes(tmp_path, last):
    m = soft_model([3, last], 13)
    check_model(m, [{"x": randf(3, last) * 5}], tmp_path)


def test_softmax_attention_masked(tmp_path):
    # [B, H, S, S] scores with a large negative mask and a -inf mask, S dynamic.
    nodes = [h.make_node("Add", ["x", "mask"], ["s"]), h.make_node("Softmax", ["s"], ["y"], axis=-1)]
    m = model(nodes, [vi("x", TP.FLOAT, [2, 3, "S", "S"]), vi("mask", TP.FLOAT, [1, 1, "S", "S"])], [out()], 13)
    feeds = []
    for s in (1, 9, 40):
        mask = np.triu(np.full((s, s), -np.inf, np.float32), 1)
        if s > 2:
            mask[:, 0] = -1e9
        feeds.append({"x": randf(2, 3, s, s) * 10, "mask": mask[None, None]})
    check_model(m, feeds, tmp_path, dims={"S": "1:16:40"})


@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax_nan_guard_is_fused(tmp_path, axis):
    """Where(IsNaN(Softmax(x)), 0, Softmax(x)), the exporters' guard for fully masked rows: the CPU
    provider fuses it into the Softmax (passes/fuse_softmax_nan_guard.cpp), same answers,
    NaN inputs included."""
    import harness
    nodes = [h.make_node("Add", ["x", "mask"], ["s"]), h.make_node("Softmax", ["s"], ["p"], axis=axis),
             h.make_node("IsNaN", ["p"], ["n"]), h.make_node("Where", ["n", "zero", "p"], ["y"])]
    zero = numpy_helper.from_array(np.array(0, np.float32), "zero")
    m = model(nodes, [vi("x", TP.FLOAT, [2, 3, "S", "S"]), vi("mask", TP.FLOAT, [2, 1, 1, "S"])], [out()], 13, [zero])
    feeds = []
    for s in (1, 6, 33):
        mask = np.zeros((2, 1, 1, s), np.float32)
        mask[1] = -np.inf  # every key of the second sequence masked: NaN rows, zeros after the guard
        x = randf(2, 3, s, s) * 5
        if s > 1:
            x[0, 1, 0, 0] = np.nan  # a NaN score: a NaN row in the softmax, zeros after the guard
        feeds.append({"x": x, "mask": mask})
    engine = check_model(m, feeds, tmp_path, dims={"S": "1:8:33"})
    if not harness.test_providers():  # the CPU provider's pass (a GPU run fuses attention instead)
        ops = harness.run_cli("inspect", engine).stdout
        assert "IsNaN" not in ops and "Where" not in ops, ops


def test_softmax_extreme_values(tmp_path):
    m = soft_model([4, 9], 13)
    x = randf(4, 9) * 50
    x[1] = 1e4
    x[2, 3] = 88.5
    x[3] = -1e4
    x[3, 2] = 0
    check_model(m, [{"x": x}], tmp_path)


def test_softmax_inner_axis_wide(tmp_path):
    # Non-last axis with more lanes than one task handles.
    m = soft_model([2, 5, 1100], 13, 1)
    check_model(m, [{"x": randf(2, 5, 1100)}], tmp_path)


def test_softmax_float64(tmp_path):
    # (ONNX Runtime has no float64 Hardmax.)
    m = soft_model(["N", 6], 13, -1, TP.DOUBLE, ["Softmax", "LogSoftmax"])
    check_model(m, [{"x": randf(n, 6, dtype=np.float64)} for n in (1, 3)], tmp_path, dims={"N": "1:2:3"})


# ---- LayerNormalization --------------------------------------------------------

@pytest.mark.parametrize("axis", [-1, -2, 1])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_dynamic(tmp_path, axis, bias):
    D = 48
    if axis == -1:  # [B, S, D], both B and S dynamic
        x_shape, norm, dims = ["B", "S", D], [D], {"B": "1:2:3", "S": "1:8:10"}
        sizes = ((1, 1), (2, 7), (3, 10))
    else:  # normalize over [10, D]
        x_shape, norm, dims = ["B", 10, D], [10, D], {"B": "1:2:3"}
        sizes = ((1, 10), (2, 10), (3, 10))
    ins = ["x", "scale"] + (["bias"] if bias else [])
    inits = [const("scale", randf(*norm))] + ([const("bias", randf(*norm))] if bias else [])
    node = h.make_node("LayerNormalization", ins, ["y", "mean", "inv"], axis=axis, epsilon=1e-3)
    m = model([node], [vi("x", TP.FLOAT, x_shape)], [out("y"), out("mean"), out("inv")], 17, inits)
    check_model(m, [{"x": randf(b, s, D) * 2 + 1} for b, s in sizes], tmp_path, dims=dims)


def test_layer_norm_y_only_and_odd_sizes(tmp_path):
    nodes = [h.make_node("LayerNormalization", ["x", "s1", "b1"], ["y1"]),
             h.make_node("LayerNormalization", ["z", "s2"], ["y2"], epsilon=1e-6)]
    m = model(nodes, [vi("x", TP.FLOAT, ["N", 1]), vi("z", TP.FLOAT, ["N", 1000])], [out("y1"), out("y2")], 17,
              [const("s1", randf(1)), const("b1", randf(1)), const("s2", randf(1000))])
    check_model(m, [{"x": randf(n, 1), "z": randf(n, 1000) * 3 + 2} for n in (1, 5)], tmp_path, dims={"N": "1:2:5"})


def test_layer_norm_float64(tmp_path):
    node = h.make_node("LayerNormalization", ["x", "s", "b"], ["y", "m", "i"], axis=-1, stash_type=1)
    m = model([node], [vi("x", TP.DOUBLE, ["N", 12])], [out("y", TP.DOUBLE), out("m"), out("i")], 17,
              [const("s", randf(12, dtype=np.float64)), const("b", randf(12, dtype=np.float64))])
    check_model(m, [{"x": randf(n, 12, dtype=np.float64)} for n in (1, 3)], tmp_path, dims={"N": "1:2:3"})


def test_layer_norm_scale_suffix(tmp_path):
    # Scale covers only the last normalized dim (broadcast over the first).
    node = h.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=1)
    m = model([node], [vi("x", TP.FLOAT, ["N", 3, 8])], [out()], 17, [const("s", randf(8)), const("b", randf(1, 8))])
    check_model(m, [{"x": randf(n, 3, 8)} for n in (1, 2)], tmp_path, dims={"N": "1:2:2"})


# ---- Instance / Group normalization ------------------------------------------------

@pytest.mark.parametrize("shape", [["N", 4, "H", 5], ["N", 3, "H"], ["N", 6, 2, "H", 3]])
def test_instance_norm(tmp_path, shape):
    C = shape[1]
    node = h.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=1e-4)
    m = model([node], [vi("x", TP.FLOAT, shape)], [out()], 17, [const("s", randf(C)), const("b", randf(C))])
    feeds = []
    for n, hh in ((1, 1), (2, 7), (3, 16)):
        concrete = [n if d == "N" else hh if d == "H" else d for d in shape]
        feeds.append({"x": randf(*concrete) * 2 + 0.5})
    check_model(m, feeds, tmp_path, dims={"N": "1:2:3", "H": "1:7:16"})


@pytest.mark.parametrize("opset,groups", [(18, 2), (18, 6), (21, 3), (21, 1), (21, 6)])
def test_group_norm(tmp_path, opset, groups):
    C = 6
    n_par = C if opset >= 21 else groups
    node = h.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=groups, epsilon=1e-5)
    m = model([node], [vi("x", TP.FLOAT, ["N", C, "H", 4])], [out()], opset,
              [const("s", randf(n_par)), const("b", randf(n_par))])
    check_model(m, [{"x": randf(n, C, hh, 4)} for n, hh in ((1, 1), (2, 5))], tmp_path, dims={"N": "1:2:2", "H": "1:4:5"})


# ---- LpNormalization / MVN / LRN ------------------------------------------------------

@pytest.mark.parametrize("axis,p", [(-1, 2), (-1, 1), (1, 2), (0, 1)])
def test_lp_norm(tmp_path, axis, p):
    m = model([h.make_node("LpNormalization", ["x"], ["y"], axis=axis, p=p)], [vi("x", TP.FLOAT, ["N", 5, 7])], [out()])
    feeds = []
    for n in (1, 3):
        x = randf(n, 5, 7)
        x[0, 0] = 0  # a zero row
        feeds.append({"x": x})
    check_model(m, feeds, tmp_path, dims={"N": "1:2:3"})


@pytest.mark.parametrize("axes", [None, [2, 3], [1], [0, 1, 2, 3]])
def test_mvn(tmp_path, axes):
    kw = {} if axes is None else {"axes": axes}
    m = model([h.make_node("MeanVarianceNormalization", ["x"], ["y"], **kw)], [vi("x", TP.FLOAT, ["N", 3, 4, 5])], [out()])
    check_model(m, [{"x": randf(n, 3, 4, 5) * 2 + 1} for n in (1, 2)], tmp_path, dims={"N": "1:2:2"})


@pytest.mark.parametrize("size", [1, 3, 5, 9])  # ONNX Runtime rejects even sizes
def test_lrn(tmp_path, size):
    node = h.make_node("LRN", ["x"], ["y"], size=size, alpha=1e-2, beta=0.75, bias=2.0)
    m = model([node], [vi("x", TP.FLOAT, ["N", 7, "H", 3])], [out()], 13)
    check_model(m, [{"x": randf(n, 7, hh, 3) * 3} for n, hh in ((1, 2), (2, 5))], tmp_path,
                dims={"N": "1:2:2", "H": "1:3:5"})


# ---- Einsum --------------------------------------------------------------------------

EINSUM_CASES = [
    ("bhqd,bhkd->bhqk", [["B", 2, "S", 8], ["B", 2, "S", 8]]),
    ("bhqk,bhkd->bhqd", [["B", 2, "S", "S"], ["B", 2, "S", 8]]),
    ("bij,bjk->bik", [["B", 3, 4], ["B", 4, 5]]),
    ("bik,bjk->bij", [["B", 3, 4], ["B", 5, 4]]),
    ("ij,jk", [[3, "S"], ["S", 5]]),
    ("ij->ji", [["B", 5]]),
    ("ijk->kji", [["B", 3, 4]]),
    ("ii->i", [[4, 4]]),
    ("ii", [[5, 5]]),
    ("bii->bi", [["B", 3, 3]]),
    ("ij->", [["B", 6]]),
    ("bij->b", [["B", 3, 4]]),
    ("i,j->ij", [["B"], [4]]),
    ("ij,ij->i", [["B", 6], ["B", 6]]),
    ("ij,ij->", [["B", 6], ["B", 6]]),
    ("abc,cd->abd", [["B", "S", 6], [6, 3]]),
    ("...ij,...jk->...ik", [["B", 2, 3, 4], [1, 2, 4, 5]]),
    ("...ij,jk", [["B", 3, 4], [4, 2]]),
    ("bn,anm,bm->ba", [["B", 3], [2, 3, 4], ["B", 4]]),
    ("i,i,i->", [["B"], ["B"], ["B"]]),
    ("bhqd, bhkd -> bhkq", [["B", 2, 3, 4], ["B", 2, 5, 4]]),
    ("ijj,jk->ik", [[2, 3, 3], [3, 4]]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
def test_einsum(tmp_path, eq, shapes):
    names = [f"x{i}" for i in range(len(shapes))]
    m = model([h.make_node("Einsum", names, ["y"], equation=eq)],
              [vi(nm, TP.FLOAT, s) for nm, s in zip(names, shapes)], [out()], 13)
    syms = {d for s in shapes for d in s if isinstance(d, str)}
    feeds = []
    for val in (1, 3, 6):
        feeds.append({nm: randf(*[val if isinstance(d, str) else d for d in s]) for nm, s in zip(names, shapes)})
    dims = {k: "1:3:6" for k in syms}
    check_model(m, feeds, tmp_path, dims=dims or None)


def test_einsum_int64(tmp_path):
    m = model([h.make_node("Einsum", ["a", "b"], ["y"], equation="ij,jk->ik")],
              [vi("a", TP.INT64, [3, 4]), vi("b", TP.INT64, [4, 2])], [out("y", TP.INT64)], 13)
    check_model(m, [{"a": rng.integers(-5, 5, (3, 4)), "b": rng.integers(-5, 5, (4, 2))}], tmp_path)


def test_einsum_bad_equation(tmp_path):
    m = model([h.make_node("Einsum", ["a", "b"], ["y"], equation="ij->ij")],
              [vi("a", TP.FLOAT, [3, 4]), vi("b", TP.FLOAT, [4, 2])], [out()], 13)
    with pytest.raises(AssertionError, match="operands"):
        build_engine(m, tmp_path)


def test_einsum_attention_tiles(tmp_path):
    # Sizes around the 4x16 register tile: full tiles plus row/column edges.
    nodes = [h.make_node("Einsum", ["q", "k"], ["s"], equation="bhqd,bhkd->bhqk"),
             h.make_node("Einsum", ["s", "v"], ["y"], equation="bhqk,bhkd->bhqd")]
    m = model(nodes, [vi("q", TP.FLOAT, ["B", 2, "S", 64]), vi("k", TP.FLOAT, ["B", 2, "S", 64]),
                      vi("v", TP.FLOAT, ["B", 2, "S", 20])], [out("s"), out()], 13)
    feeds = [{"q": randf(b, 2, s, 64), "k": randf(b, 2, s, 64), "v": randf(b, 2, s, 20)}
             for b, s in ((1, 5), (2, 37), (1, 48))]
    check_model(m, feeds, tmp_path, dims={"B": "1:2:2", "S": "1:32:48"}, rtol=1e-3, atol=1e-3)


# ---- RMSNormalization (opset 23) ----

@pytest.mark.parametrize("axis", [-1, -2, 1])
@pytest.mark.parametrize("dt", [TP.FLOAT, TP.DOUBLE])
def test_rms_normalization_dynamic(tmp_path, axis, dt):
    np_t = np.float32 if dt == TP.FLOAT else np.float64
    scale_shape = [3, 8][axis:] if axis < 0 else [3, 8]
    m = model([h.make_node("RMSNormalization", ["x", "s"], ["y"], axis=axis, epsilon=1e-3)],
              [vi("x", dt, ["N", 3, 8])], [out(dt=dt)], opset=23, inits=[const("s", randf(*scale_shape, dtype=np_t))])
    m.ir_version = 10
    check_model(m, [{"x": randf(n, 3, 8, dtype=np_t)} for n in (1, 2, 5)], tmp_path, dims={"N": "1:2:6"})


def test_rms_normalization_broadcast_scale(tmp_path):
    m = model([h.make_node("RMSNormalization", ["x", "s"], ["y"])], [vi("x", TP.FLOAT, [2, 4, 6])], [out()], opset=23,
              inits=[const("s", randf(1, 6))])
    m.ir_version = 10
    check_model(m, [{"x": randf(2, 4, 6)}], tmp_path)
