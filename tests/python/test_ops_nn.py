"""nn ops (Conv, ConvTranspose, pools, BatchNormalization) against ONNX Runtime,
static and dynamic shapes, plus the dynrt fusion hooks on Conv."""
import re
import harness
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from harness import assert_close, build_engine, check_model, reference, run_cli, run_engine

rng = np.random.default_rng(0)


def model(nodes, inputs, outputs, opset=17, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8 if opset < 19 else 9
    return m


def vi(name, shape, dt=TP.FLOAT):
    return h.make_tensor_value_info(name, dt, shape)


def out(name="y"):
    return h.make_tensor_value_info(name, TP.FLOAT, None)


def randf(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def conv_model(op, x_shape, w, b=None, w_const=True, **attrs):
    inputs = [vi("x", x_shape)]
    inits = []
    names = ["x", "w"]
    if w_const:
        inits.append(const("w", w))
    else:
        inputs.append(vi("w", list(w.shape)))
    if b is not None:
        inits.append(const("b", b))
        names.append("b")
    return model([h.make_node(op, names, ["y"], **attrs)], inputs, [out()], inits=inits)


# ---- Conv --------------------------------------------------------------------

CONV_CASES = [
    # (x C, spatial, w shape, attrs)
    (3, (9, 11), (8, 3, 3, 3), dict(pads=[1, 1, 1, 1])),
    (4, (10, 10), (6, 4, 3, 3), dict(strides=[2, 2])),
    (4, (10, 12), (6, 4, 3, 2), dict(strides=[2, 1], pads=[1, 0, 2, 1])),
    (4, (11, 11), (4, 4, 3, 3), dict(dilations=[2, 2], pads=[2, 2, 2, 2])),
    (6, (8, 8), (6, 2, 3, 3), dict(group=3, pads=[1, 1, 1, 1])),
    (16, (9, 9), (16, 1, 3, 3), dict(group=16, pads=[1, 1, 1, 1], strides=[2, 2])),  # depthwise
    (16, (9, 9), (32, 1, 5, 5), dict(group=16, pads=[2, 2, 2, 2])),  # depthwise multiplier 2
    (5, (10, 7), (7, 5, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    (5, (10, 7), (7, 5, 4, 4), dict(auto_pad="SAME_LOWER", strides=[2, 3])),
    (5, (10, 7), (7, 5, 3, 3), dict(auto_pad="VALID", strides=[2, 2])),
    (32, (14, 14), (64, 32, 1, 1), dict()),
    (64, (7, 7), (128, 64, 3, 3), dict(pads=[1, 1, 1, 1], strides=[2, 2])),
]


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
@pytest.mark.parametrize("bias", [False, True])
def test_conv2d_static(tmp_path, case, bias):
    c, sp, ws, attrs = CONV_CASES[case]
    w = randf(*ws)
    b = randf(ws[0]) if bias else None
    m = conv_model("Conv", [2, c, *sp], w, b, **attrs)
    check_model(m, [{"x": randf(2, c, *sp)}], tmp_path, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("case", [0, 1, 3, 4, 5, 7, 8])
def test_conv2d_dynamic(tmp_path, case):
    c, sp, ws, attrs = CONV_CASES[case]
    w = randf(*ws)
    m = conv_model("Conv", ["N", c, "H", "W"], w, randf(ws[0]), **attrs)
    feeds = [{"x": randf(n, c, hh, ww)} for n, hh, ww in ((1, sp[0], sp[1]), (3, 13, 8), (2, 7, 16))]
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:4", "H": "5:10:20", "W": "5:10:20"})


def test_conv_weight_not_constant(tmp_path):
    w = randf(6, 2, 3, 3)
    m = conv_model("Conv", ["N", 4, 8, 8], w, w_const=False, group=2, pads=[1, 1, 1, 1])
    feeds = [{"x": randf(n, 4, 8, 8), "w": randf(6, 2, 3, 3)} for n in (1, 3)]
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:4"})


@pytest.mark.parametrize("op,attrs", [
    ("Conv", dict()), ("Conv", dict(strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2])),
    ("Conv", dict(auto_pad="SAME_LOWER", strides=[2, 2])),
    ("ConvTranspose", dict()), ("ConvTranspose", dict(strides=[2, 3], pads=[1, 0, 0, 1], output_padding=[1, 0])),
    ("ConvTranspose", dict(auto_pad="SAME_UPPER", strides=[2, 2]))])
def test_conv_symbolic_kernel_dims(tmp_path, op, attrs):
    # The weight is a graph input with symbolic kernel dims: the output size
    # is symbolic in them, and each run may use a different kernel size.
    w_shape = [4, 3, "KH", "KW"] if op == "Conv" else [3, 4, "KH", "KW"]
    m = model([h.make_node(op, ["x", "w"], ["y"], **attrs)], [vi("x", ["N", 3, "H", "W"]), vi("w", w_shape)], [out()])
    feeds = []
    for n, hh, ww, kh, kw in ((1, 8, 9, 3, 3), (2, 10, 7, 2, 4), (1, 6, 6, 1, 1)):
        ws = (4, 3, kh, kw) if op == "Conv" else (3, 4, kh, kw)
        feeds.append({"x": randf(n, 3, hh, ww), "w": randf(*ws)})
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3,
                dims={"N": "1:2:4", "H": "6:8:12", "W": "6:8:12", "KH": "1:3:4", "KW": "1:3:4"})


@pytest.mark.parametrize("op", ["Conv", "ConvTranspose"])
def test_conv_float16(tmp_path, op):
    # Computed in float32 on widened copies, rounded once on output.
    w = randf(4, 2, 3, 3).astype(np.float16)
    m = model([h.make_node(op, ["x", "w", "b"], ["y"], group=2, pads=[1, 0, 1, 1], strides=[2, 1])],
              [vi("x", ["N", 4, "H", "W"], TP.FLOAT16)], [h.make_tensor_value_info("y", TP.FLOAT16, None)],
              inits=[const("w", w), const("b", randf(4).astype(np.float16))])
    feeds = [{"x": randf(n, 4, hh, ww).astype(np.float16)} for n, hh, ww in ((1, 6, 7), (2, 9, 5))]
    check_model(m, feeds, tmp_path, rtol=1e-2, atol=1e-2, dims={"N": "1:2:3", "H": "5:8:10", "W": "5:8:10"})


def test_conv_bfloat16(tmp_path):
    # ONNX Runtime has no CPU bfloat16 Conv: the reference is the float32
    # model on bfloat16-rounded inputs, its output rounded to bfloat16.
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf = ml_dtypes.bfloat16
    nodes = [h.make_node("Cast", ["x"], ["x16"], to=TP.BFLOAT16), h.make_node("Cast", ["w"], ["w16"], to=TP.BFLOAT16),
             h.make_node("Conv", ["x16", "w16"], ["y16"], pads=[1, 1, 1, 1]), h.make_node("Cast", ["y16"], ["y"], to=TP.FLOAT)]
    m = model(nodes, [vi("x", ["N", 3, 6, 6]), vi("w", [5, 3, 3, 3])], [out()])
    ref = model([h.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], [vi("x", ["N", 3, 6, 6]), vi("w", [5, 3, 3, 3])],
                [out()])
    engine = build_engine(m, tmp_path, dims={"N": "1:2:3"})
    for n in (1, 3):
        x, w = randf(n, 3, 6, 6), randf(5, 3, 3, 3)
        rx, rw = x.astype(bf).astype(np.float32), w.astype(bf).astype(np.float32)
        want = reference(ref, {"x": rx, "w": rw})["y"].astype(bf).astype(np.float32)
        got = run_engine(engine, {"x": x, "w": w}, tmp_path)["y"]
        np.testing.assert_allclose(got, want, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("attrs", [dict(), dict(strides=[2], pads=[1, 2]), dict(dilations=[3], group=2),
                                   dict(auto_pad="SAME_UPPER", strides=[3])])
def test_conv1d(tmp_path, attrs):
    w = randf(6, 4 // attrs.get("group", 1), 3)
    m = conv_model("Conv", ["N", 4, "L"], w, randf(6), **attrs)
    feeds = [{"x": randf(n, 4, l)} for n, l in ((1, 20), (2, 9))]
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:4", "L": "8:16:32"})


@pytest.mark.parametrize("attrs", [dict(pads=[1, 1, 1, 1, 1, 1]), dict(strides=[1, 2, 2], group=2)])
def test_conv3d(tmp_path, attrs):
    w = randf(4, 4 // attrs.get("group", 1), 3, 3, 3)
    m = conv_model("Conv", ["N", 4, 6, 7, 8], w, randf(4), **attrs)
    check_model(m, [{"x": randf(n, 4, 6, 7, 8)} for n in (1, 2)], tmp_path, rtol=1e-3, atol=1e-3,
                dims={"N": "1:2:3"})


def test_conv_followed_by_relu_and_add(tmp_path):
    # Exercises the fusion pass end to end (conv + residual add + relu).
    w1, w2 = randf(8, 8, 3, 3), randf(8, 8, 1, 1)
    nodes = [h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             h.make_node("Relu", ["c1"], ["r1"]),
             h.make_node("Conv", ["r1", "w2"], ["c2"]),
             h.make_node("Add", ["c2", "x"], ["s"]),
             h.make_node("Relu", ["s"], ["y"])]
    m = model(nodes, [vi("x", ["N", 8, "H", "H"])], [out()],
              inits=[const("w1", w1), const("b1", randf(8)), const("w2", w2)])
    feeds = [{"x": randf(n, 8, s, s)} for n, s in ((1, 6), (3, 9))]
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:4", "H": "4:8:12"})


ACTS = {
    "Relu": lambda y: [h.make_node("Relu", [y], ["y"])],
    "Sigmoid": lambda y: [h.make_node("Sigmoid", [y], ["y"])],
    "Tanh": lambda y: [h.make_node("Tanh", [y], ["y"])],
    "HardSwish": lambda y: [h.make_node("HardSwish", [y], ["y"])],
    "Gelu": lambda y: [h.make_node("Gelu", [y], ["y"])],
    "Clip": lambda y: [h.make_node("Clip", [y, "lo", "hi"], ["y"])],
}
CLIP_INITS = [const("lo", np.float32(-0.5)), const("hi", np.float32(0.7))]


def check_fused(tmp_path, m, feeds, fused_name, rtol=1e-3, atol=1e-3, **kw):
    """The CPU provider's passes must fuse the model into one node named
    `fused_name` (what inspect prints), and the result must match ONNX Runtime."""
    engine = build_engine(m, tmp_path, **kw)
    if not harness.test_providers():  # the fusion is the CPU provider's (GPU runs check the numbers only)
        assert f"ops (1 nodes): {fused_name} x1" in run_cli("inspect", engine).stdout
    for f in feeds:
        assert_close(run_engine(engine, f, tmp_path), reference(m, f), rtol, atol)


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("residual", [False, True])
def test_conv_fusion(tmp_path, act, residual):
    w, b = randf(8, 4, 3, 3), randf(8)
    inits = [const("w", w), const("b", b)] + (CLIP_INITS if act == "Clip" else [])
    ins = [vi("x", ["N", 4, 8, 8])] + ([vi("r", ["N", 8, 8, 8])] if residual else [])
    nodes = [h.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1])]
    if residual:
        nodes.append(h.make_node("Add", ["c", "r"], ["s"]))
    nodes += ACTS[act]("s" if residual else "c")
    m = model(nodes, ins, [out()], opset=20, inits=inits)
    feeds = [{"x": randf(n, 4, 8, 8), **({"r": randf(n, 8, 8, 8)} if residual else {})} for n in (1, 3)]
    check_fused(tmp_path, m, feeds, "Conv+Add+" + act if residual else "Conv+" + act, dims={"N": "1:2:4"})


def test_conv_residual_without_bias(tmp_path):
    w = randf(8, 8, 1, 1)
    m = model([h.make_node("Conv", ["x", "w"], ["c"]), h.make_node("Add", ["c", "r"], ["s"]),
               h.make_node("Relu", ["s"], ["y"])],
              [vi("x", ["N", 8, 5, 5]), vi("r", ["N", 8, 5, 5])], [out()], inits=[const("w", w)])
    feeds = [{"x": randf(n, 8, 5, 5), "r": randf(n, 8, 5, 5)} for n in (1, 2)]
    check_fused(tmp_path, m, feeds, "Conv+Add+Relu", dims={"N": "1:2:4"})


def test_conv_channel_mismatch_fails(tmp_path):
    m = conv_model("Conv", [1, 5, 8, 8], randf(4, 3, 3, 3))
    p = run_cli("build", *_save(m, tmp_path), check=False)
    assert p.returncode != 0 and "channels" in (p.stdout + p.stderr)


def _save(m, tmp_path):
    import onnx
    path = tmp_path / "bad.onnx"
    onnx.save(m, str(path))
    return [path, "-o", tmp_path / "bad.engine"]


def test_conv_double_unsupported(tmp_path):
    w = rng.standard_normal((4, 3, 3, 3))
    m = model([h.make_node("Conv", ["x", "w"], ["y"])], [vi("x", [1, 3, 8, 8], TP.DOUBLE)],
              [h.make_tensor_value_info("y", TP.DOUBLE, None)], inits=[const("w", w)])
    p = run_cli("build", *_save(m, tmp_path), check=False)
    assert p.returncode != 0 and "float32" in (p.stdout + p.stderr)


# ---- ConvTranspose -----------------------------------------------------------

CT_CASES = [
    (4, (5, 6), (4, 3, 3, 3), dict()),
    (4, (5, 6), (4, 3, 3, 3), dict(strides=[2, 2])),
    (4, (5, 6), (4, 3, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])),
    (4, (5, 6), (4, 2, 4, 4), dict(strides=[2, 2], pads=[1, 1, 1, 1], group=2)),
    (4, (5, 6), (4, 3, 3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER")),
    (4, (5, 6), (4, 3, 3, 3), dict(strides=[2, 2], auto_pad="SAME_LOWER")),
    (4, (5, 6), (4, 3, 3, 3), dict(strides=[2, 2], output_shape=[10, 12])),
    (4, (5, 6), (4, 3, 3, 3), dict(strides=[2, 2], output_shape=[10, 12], auto_pad="SAME_UPPER")),
    (4, (5, 6), (4, 3, 3, 3), dict(dilations=[2, 2], strides=[2, 1])),
    (8, (5, 6), (8, 1, 3, 3), dict(group=8, strides=[2, 2], pads=[1, 1, 1, 1])),
]


@pytest.mark.parametrize("case", range(len(CT_CASES)))
def test_conv_transpose_static(tmp_path, case):
    c, sp, ws, attrs = CT_CASES[case]
    m = conv_model("ConvTranspose", [2, c, *sp], randf(*ws), randf(ws[1] * attrs.get("group", 1)), **attrs)
    check_model(m, [{"x": randf(2, c, *sp)}], tmp_path, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("case", [1, 2, 3, 4, 5])
def test_conv_transpose_dynamic(tmp_path, case):
    c, sp, ws, attrs = CT_CASES[case]
    m = conv_model("ConvTranspose", ["N", c, "H", "W"], randf(*ws), None, **attrs)
    feeds = [{"x": randf(n, c, hh, ww)} for n, hh, ww in ((1, 5, 6), (3, 8, 3))]
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:4", "H": "2:6:10", "W": "2:6:10"})


def test_conv_transpose_1d_3d(tmp_path):
    m = conv_model("ConvTranspose", ["N", 3, "L"], randf(3, 2, 4), randf(2), strides=[3], pads=[1, 0])
    check_model(m, [{"x": randf(n, 3, l)} for n, l in ((1, 5), (2, 9))], tmp_path, rtol=1e-3, atol=1e-3,
                dims={"N": "1:2:3", "L": "3:6:12"})
    m = conv_model("ConvTranspose", [1, 2, 3, 4, 5], randf(2, 3, 2, 2, 2), None, strides=[2, 2, 2])
    check_model(m, [{"x": randf(1, 2, 3, 4, 5)}], tmp_path, rtol=1e-3, atol=1e-3)


# ---- pools -------------------------------------------------------------------

POOL_CASES = [
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("MaxPool", dict(kernel_shape=[2, 2])),
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    ("MaxPool", dict(kernel_shape=[2, 3], strides=[2, 2], pads=[1, 0, 1, 1], ceil_mode=1)),
    ("MaxPool", dict(kernel_shape=[3, 3], dilations=[2, 2], strides=[1, 2])),
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    ("MaxPool", dict(kernel_shape=[4, 4], strides=[3, 3], auto_pad="SAME_LOWER")),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)),
    ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER", count_include_pad=1)),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
    ("LpPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("LpPool", dict(kernel_shape=[2, 2], p=1)),
    ("LpPool", dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, p=3)),
    ("LpPool", dict(kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 0, 1, 1])),
]


@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pool2d(tmp_path, case):
    op, attrs = POOL_CASES[case]
    m = model([h.make_node(op, ["x"], ["y"], **attrs)], [vi("x", ["N", 3, "H", "W"])], [out()], opset=18)
    feeds = [{"x": randf(n, 3, hh, ww)} for n, hh, ww in ((2, 9, 9), (1, 10, 7), (3, 12, 13))]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "H": "6:9:16", "W": "6:9:16"})


@pytest.mark.parametrize("op,attrs", [
    ("MaxPool", dict(kernel_shape=[3], strides=[2], ceil_mode=1)),
    ("AveragePool", dict(kernel_shape=[3], strides=[2], pads=[1, 1], count_include_pad=1)),
    ("MaxPool", dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2])),
    ("AveragePool", dict(kernel_shape=[2, 3, 2], strides=[1, 2, 2], pads=[0, 1, 0, 1, 1, 0])),
])
def test_pool_1d_3d(tmp_path, op, attrs):
    sp = [11] if len(attrs["kernel_shape"]) == 1 else [5, 6, 7]
    m = model([h.make_node(op, ["x"], ["y"], **attrs)], [vi("x", ["N", 2, *sp])], [out()])
    check_model(m, [{"x": randf(n, 2, *sp)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("dt,np_dt", [(TP.INT8, np.int8), (TP.UINT8, np.uint8), (TP.FLOAT16, np.float16)])
def test_maxpool_small_types(tmp_path, dt, np_dt):
    # MaxPool picks an input value: int8/uint8/float16 run on widened copies and narrow back exactly.
    node = h.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    m = model([node], [vi("x", ["N", 3, "H", "H"], dt)], [h.make_tensor_value_info("y", dt, None)], opset=12)
    rng = np.random.default_rng(5)
    info = np.iinfo(np_dt) if np.issubdtype(np_dt, np.integer) else None
    feeds = [{"x": (rng.integers(info.min, info.max + 1, (n, 3, s, s)) if info else rng.standard_normal((n, 3, s, s)))
              .astype(np_dt)} for n, s in ((1, 5), (2, 8))]
    check_model(m, feeds, tmp_path, rtol=0, atol=0, dims={"N": "1:2:2", "H": "5:8:8"})


def test_avgpool_dilations_opset19(tmp_path):
    for attrs in (dict(kernel_shape=[3, 3], dilations=[2, 2], strides=[2, 2], ceil_mode=1),
                  dict(kernel_shape=[3, 3], dilations=[2, 1], pads=[1, 1, 1, 1], count_include_pad=1)):
        m = model([h.make_node("AveragePool", ["x"], ["y"], **attrs)], [vi("x", [2, 3, 10, 9])], [out()], opset=19)
        check_model(m, [{"x": randf(2, 3, 10, 9)}], tmp_path)


def test_pool_same_with_dilation_unsupported(tmp_path):
    m = model([h.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2], auto_pad="SAME_UPPER")],
              [vi("x", [1, 3, 9, 9])], [out()])
    p = run_cli("build", *_save(m, tmp_path), check=False)
    assert p.returncode != 0 and "dilations" in (p.stdout + p.stderr)


@pytest.mark.parametrize("spatial,attrs", [
    (["H", "W"], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    (["H", "W"], dict(kernel_shape=[2, 3], strides=[1, 2], dilations=[2, 1], ceil_mode=1, storage_order=1)),
    (["H", "W"], dict(kernel_shape=[3, 3], strides=[2, 2], storage_order=1, pads=[0, 1, 1, 0])),
    (["W"], dict(kernel_shape=[3], strides=[2], pads=[1, 1])),
    (["D", "H", "W"], dict(kernel_shape=[2, 2, 2], strides=[2, 1, 2])),
])
def test_maxpool_indices(tmp_path, spatial, attrs):
    """MaxPool's Indices output (flat indices into X, row- or column-major within a plane) against
    ONNX Runtime; integer-valued inputs, so windows hold ties and the first maximum must win."""
    m = model([h.make_node("MaxPool", ["x"], ["y", "i"], **attrs)], [vi("x", ["N", 3, *spatial])],
              [out(), h.make_tensor_value_info("i", TP.INT64, None)], opset=12)
    rng = np.random.default_rng(len(spatial) + len(attrs))
    sizes = {"D": (4, 5), "H": (6, 9), "W": (7, 8)}
    feeds = [{"x": rng.integers(-4, 5, (n, 3, *[sizes[d][j] for d in spatial])).astype(np.float32)}
             for j, n in enumerate((1, 2))]
    ranges = {"N": "1:2:2", "D": "4:4:5", "H": "6:6:9", "W": "7:7:8"}
    check_model(m, feeds, tmp_path, rtol=0, atol=0, dims={d: ranges[d] for d in ["N", *spatial]})


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"])
def test_global_pools(tmp_path, op):
    m = model([h.make_node(op, ["x"], ["y"])], [vi("x", ["N", 5, "H", "W"])], [out()])
    feeds = [{"x": randf(n, 5, hh, ww)} for n, hh, ww in ((1, 7, 7), (3, 4, 9))]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "H": "1:7:9", "W": "1:7:9"})
    m = model([h.make_node(op, ["x"], ["y"])], [vi("x", [2, 4, 6])], [out()])
    check_model(m, [{"x": randf(2, 4, 6)}], tmp_path)


# ---- BatchNormalization ------------------------------------------------------

@pytest.mark.parametrize("shape", [["N", 4, "H", "W"], ["N", 4], ["N", 4, 7]])
def test_batchnorm(tmp_path, shape):
    c = 4
    inits = [const("s", randf(c)), const("b", randf(c)), const("m", randf(c)),
             const("v", (np.abs(randf(c)) + 0.1).astype(np.float32))]
    m = model([h.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
              [vi("x", shape)], [out()], inits=inits)
    concrete = {"N": [1, 3], "H": [5, 2], "W": [6, 3]}
    feeds = [{"x": randf(*[d if isinstance(d, int) else concrete[d][i] for d in shape])} for i in range(2)]
    check_model(m, feeds, tmp_path, dims={k: "1:3:8" for k in ("N", "H", "W") if k in shape})


def test_batchnorm_runtime_params(tmp_path):
    ins = [vi("x", ["N", 3, 4]), vi("s", [3]), vi("b", [3]), vi("m", [3]), vi("v", [3])]
    m = model([h.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])], ins, [out()])
    feeds = [{"x": randf(n, 3, 4), "s": randf(3), "b": randf(3), "m": randf(3),
              "v": (np.abs(randf(3)) + 0.1).astype(np.float32)} for n in (1, 2)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


def test_batchnorm_after_conv(tmp_path):
    # Usually folded into the conv by a pass; the result must not change.
    c = 6
    inits = [const("w", randf(c, 3, 3, 3)), const("s", randf(c)), const("b", randf(c)), const("m", randf(c)),
             const("v", (np.abs(randf(c)) + 0.1).astype(np.float32))]
    m = model([h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
               h.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])],
              [vi("x", ["N", 3, 8, 8])], [out()], inits=inits)
    check_model(m, [{"x": randf(n, 3, 8, 8)} for n in (1, 2)], tmp_path, rtol=1e-3, atol=1e-3,
                dims={"N": "1:2:4"})


# ---- channels-last chains (the layout pass keeps NHWC between these nodes) ---

def _cnn(spatial_dims, pool_op="MaxPool", pool_attrs=None):
    nd = len(spatial_dims)
    k = [3] * nd
    pads = [1] * (2 * nd)
    pool_attrs = pool_attrs or dict(kernel_shape=[2] * nd, strides=[2] * nd, ceil_mode=1)
    inits = [const("w1", randf(8, 3, *k)), const("b1", randf(8)), const("w2", randf(8, 8, *k)),
             const("w3", randf(8, 2, *([1] * nd))), const("w4", randf(16, 8, *k)), const("fc", randf(16, 5))]
    nodes = [h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=pads),
             h.make_node("Relu", ["c1"], ["r1"]),
             h.make_node(pool_op, ["r1"], ["p1"], **pool_attrs),
             h.make_node("Conv", ["p1", "w2"], ["c2"], pads=pads),
             h.make_node("Add", ["c2", "p1"], ["a2"]),
             h.make_node("Relu", ["a2"], ["r2"]),
             h.make_node("Conv", ["r2", "w3"], ["c3"], group=4),
             h.make_node("Clip", ["c3", "lo", "hi"], ["r3"]),
             h.make_node("Conv", ["r3", "w4"], ["c4"], pads=pads, strides=[2] * nd),
             h.make_node("GlobalAveragePool", ["c4"], ["g"]),
             h.make_node("Flatten", ["g"], ["f"]),
             h.make_node("MatMul", ["f", "fc"], ["y"])]
    inits += [const("lo", np.float32(0)), const("hi", np.float32(6))]
    return model(nodes, [vi("x", ["N", 3, *spatial_dims])], [out()], inits=inits)


@pytest.mark.parametrize("pool_op,pool_attrs", [
    ("MaxPool", None),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
])
def test_cnn_chain_dynamic(tmp_path, pool_op, pool_attrs):
    m = _cnn(["H", "W"], pool_op, pool_attrs)
    feeds = [{"x": randf(n, 3, hh, ww)} for n, hh, ww in ((1, 16, 16), (3, 11, 20), (2, 9, 9))]
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:4", "H": "8:16:24", "W": "8:16:24"})


def test_cnn_chain_1d_3d(tmp_path):
    m = _cnn([12])
    check_model(m, [{"x": randf(n, 3, 12)} for n in (1, 2)], tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:3"})
    m = _cnn([6, 7, 8], pool_attrs=dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2]))
    check_model(m, [{"x": randf(2, 3, 6, 7, 8)}], tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:3"})


def test_conv_output_also_graph_output(tmp_path):
    # A conv result that is both a graph output and consumed by another conv stays NCHW.
    nodes = [h.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             h.make_node("Conv", ["c1", "w2"], ["y"], pads=[1, 1, 1, 1])]
    m = model(nodes, [vi("x", ["N", 4, 6, 6])], [out("c1"), out()],
              inits=[const("w1", randf(8, 4, 3, 3)), const("w2", randf(8, 8, 3, 3))])
    check_model(m, [{"x": randf(n, 4, 6, 6)} for n in (1, 2)], tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:3"})


def test_mobilenet_block_dynamic(tmp_path):
    # Stem conv, then an inverted residual block: expand 1x1 + ReLU6,
    # depthwise 3x3 + ReLU6, project 1x1, residual add; then a strided depthwise.
    c, e = 8, 24
    inits = [const("w0", randf(c, 3, 3, 3)), const("we", randf(e, c, 1, 1)), const("wd", randf(e, 1, 3, 3)),
             const("bd", randf(e)), const("wp", randf(c, e, 1, 1)), const("ws", randf(c, 1, 3, 3)),
             const("lo", np.float32(0)), const("hi", np.float32(6))]
    nodes = [h.make_node("Conv", ["x", "w0"], ["s0"], pads=[1, 1, 1, 1], strides=[2, 2]),
             h.make_node("Conv", ["s0", "we"], ["e1"]),
             h.make_node("Clip", ["e1", "lo", "hi"], ["e2"]),
             h.make_node("Conv", ["e2", "wd", "bd"], ["d1"], group=e, pads=[1, 1, 1, 1]),
             h.make_node("Clip", ["d1", "lo", "hi"], ["d2"]),
             h.make_node("Conv", ["d2", "wp"], ["p1"]),
             h.make_node("Add", ["s0", "p1"], ["r"]),
             h.make_node("Conv", ["r", "ws"], ["y"], group=c, pads=[1, 1, 1, 1], strides=[2, 2])]
    m = model(nodes, [vi("x", ["N", 3, "H", "W"])], [out()], inits=inits)
    feeds = [{"x": randf(n, 3, hh, ww)} for n, hh, ww in ((1, 16, 16), (3, 19, 12))]
    check_model(m, feeds, tmp_path, rtol=1e-3, atol=1e-3, dims={"N": "1:2:4", "H": "8:16:32", "W": "8:16:32"})


@pytest.mark.parametrize("opset", [7, 11, 13])
def test_older_opsets(tmp_path, opset):
    inits = [const("w", randf(4, 3, 3, 3)), const("s", randf(4)), const("b", randf(4)), const("m", randf(4)),
             const("v", (np.abs(randf(4)) + 0.1).astype(np.float32)), const("g", randf(6, 16)), const("gc", randf(6))]
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    nodes = [h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             h.make_node("MaxPool", ["c"], ["p"], **pool),
             h.make_node("BatchNormalization", ["p", "s", "b", "m", "v"], ["bn"]),
             h.make_node("AveragePool", ["bn"], ["a"], **pool),
             h.make_node("Flatten", ["a"], ["f"]),
             h.make_node("Gemm", ["f", "g", "gc"], ["y"], transB=1)]
    m = model(nodes, [vi("x", [2, 3, 8, 8])], [out()], opset=opset, inits=inits)
    m.ir_version = 3 if opset < 8 else 8
    check_model(m, [{"x": randf(2, 3, 8, 8)}], tmp_path, rtol=1e-3, atol=1e-3)


def test_batchnorm_training_mode_matches_onnx_runtime(tmp_path):
    # Batch statistics normalize x; outputs 1-2 are the updated running mean/var.
    m = model([h.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"], training_mode=1,
                           momentum=0.8, epsilon=1e-3)],
              [vi("x", ["N", 3, 4, 5])], [out("y"), out("rm"), out("rv")], opset=15,
              inits=[numpy_helper.from_array(np.array(a, np.float32), n) for n, a in
                     (("s", [1.0, 0.5, 2.0]), ("b", [0.1, -0.2, 0.0]), ("m", [0.0, 1.0, -1.0]), ("v", [1.0, 2.0, 0.5]))])
    check_model(m, [{"x": randf(n, 3, 4, 5)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("variant", ["last_use", "view_of_output", "read_later", "also_conv_input"])
def test_conv_residual_in_place(tmp_path, variant):
    """Conv + residual Add + Relu with a residual r computed in the graph: the fused output takes
    r's buffer when nothing reads r afterwards, and keeps its own when something does or when
    the conv itself reads r. Three float32 tensors of one size are alive at the fused conv
    (its input q, r, its output t): the arena holds two of them with the buffer shared, three
    without. view_of_output reads the fused output through a view (Reshape), which must follow it
    into the residual's buffer."""
    w1, w2 = randf(8, 8, 3, 3), randf(8, 8, 3, 3)
    conv_in = "r" if variant == "also_conv_input" else "q"
    nodes = [h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             h.make_node("Relu", ["c1"], ["r"]),
             h.make_node("Sigmoid", ["x"], ["q"]),
             h.make_node("Conv", [conv_in, "w2"], ["c2"], pads=[1, 1, 1, 1]),
             h.make_node("Add", ["c2", "r"], ["s"]),
             h.make_node("Relu", ["s"], ["t"])]
    if variant == "view_of_output":
        nodes += [h.make_node("Shape", ["t"], ["shape"]), h.make_node("Reshape", ["t", "shape"], ["tv"])]
    nodes.append(h.make_node("Neg", ["tv" if variant == "view_of_output" else "t"], ["n"]))
    later = {"last_use": "n", "view_of_output": "n", "read_later": "r", "also_conv_input": "q"}[variant]
    nodes.append(h.make_node("Mul", ["n", later], ["y"]))
    m = model(nodes, [vi("x", ["N", 8, "H", "H"])], [out()],
              inits=[const("w1", w1), const("b1", randf(8)), const("w2", w2)])
    engine = build_engine(m, tmp_path, dims={"N": "1:2:4", "H": "6:8:12"})
    for f in [{"x": randf(n, 8, s, s)} for n, s in ((1, 6), (3, 11), (4, 12))]:
        assert_close(run_engine(engine, f, tmp_path), reference(m, f), 1e-3, 1e-3)
    if harness.test_providers():
        return  # the arena below is the CPU provider's
    info = run_cli("inspect", engine).stdout
    assert "Conv+Add+Relu x1" in info, info
    one = 1 * 8 * 6 * 6 * 4  # bytes of one [1, 8, 6, 6] float32 tensor (the smallest shape)
    tensors = 2 if variant in ("last_use", "view_of_output") else 3
    assert re.search(r"profile 0: min ([\d.]+ KiB)", info).group(1) == f"{tensors * one / 1024:.2f} KiB", info
