"""Movement ops (Transpose, Concat, Split, Slice, Squeeze, Unsqueeze, Tile, Pad,
Trilu, DepthToSpace, SpaceToDepth) against ONNX Runtime, static and dynamic."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from harness import assert_close, build_engine, check_model, run_cli, run_engine

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min
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


def ints(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def randf(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- Transpose ---------------------------------------------------------------

@pytest.mark.parametrize("perm", [None, [1, 0, 2], [0, 2, 1], [2, 0, 1]])
def test_transpose_static(tmp_path, perm):
    kw = {} if perm is None else {"perm": perm}
    m = model([h.make_node("Transpose", ["x"], ["y"], **kw)], [vi("x", TP.FLOAT, [2, 3, 4])], [out()])
    check_model(m, [{"x": randf(2, 3, 4)}], tmp_path)


def test_transpose_dynamic_tiled(tmp_path):
    # Innermost output dim strided in the source: exercises the tiled path.
    m = model([h.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1])], [vi("x", TP.FLOAT, ["N", 67, 45])], [out()])
    check_model(m, [{"x": randf(n, 67, 45)} for n in (1, 3, 5)], tmp_path, dims={"N": "1:3:6"})


def test_transpose_4d_attention(tmp_path):
    m = model([h.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])], [vi("x", TP.FLOAT, ["B", "S", 4, 16])],
              [out()])
    check_model(m, [{"x": randf(b, s, 4, 16)} for b, s in ((1, 7), (2, 33))], tmp_path,
                dims={"B": "1:2:2", "S": "1:16:40"})


@pytest.mark.parametrize("dt,np_dt", [(TP.INT64, np.int64), (TP.INT32, np.int32), (TP.BOOL, np.bool_),
                                      (TP.UINT8, np.uint8), (TP.FLOAT16, np.float16), (TP.DOUBLE, np.float64)])
def test_transpose_dtypes(tmp_path, dt, np_dt):
    m = model([h.make_node("Transpose", ["x"], ["y"])], [vi("x", dt, [3, 5])], [out("y", dt)])
    x = (rng.standard_normal((3, 5)) * 10).astype(np_dt)
    check_model(m, [{"x": x}], tmp_path)


# ---- Concat ------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_static(tmp_path, axis):
    shapes = {0: [(2, 3), (4, 3), (1, 3)], 1: [(2, 3), (2, 1), (2, 5)], -1: [(2, 3), (2, 1), (2, 5)]}[axis]
    ins = [vi(f"x{i}", TP.FLOAT, list(s)) for i, s in enumerate(shapes)]
    m = model([h.make_node("Concat", [f"x{i}" for i in range(3)], ["y"], axis=axis)], ins, [out()])
    check_model(m, [{f"x{i}": randf(*s) for i, s in enumerate(shapes)}], tmp_path)


def test_concat_dynamic(tmp_path):
    m = model([h.make_node("Concat", ["a", "b"], ["y"], axis=1)],
              [vi("a", TP.FLOAT, ["N", "S", 4]), vi("b", TP.FLOAT, ["N", 3, 4])], [out()])
    feeds = [{"a": randf(n, s, 4), "b": randf(n, 3, 4)} for n, s in ((1, 1), (3, 5), (2, 0))]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "S": "0:4:8"})


def test_concat_dynamic_axis(tmp_path):
    m = model([h.make_node("Concat", ["a", "b"], ["y"], axis=0)],
              [vi("a", TP.INT64, ["N", 2]), vi("b", TP.INT64, ["M", 2])], [out("y", TP.INT64)])
    feeds = [{"a": np.arange(2 * n).reshape(n, 2), "b": np.arange(2 * k).reshape(k, 2) + 100} for n, k in ((1, 2), (4, 1))]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "M": "1:2:4"})


# ---- Split -------------------------------------------------------------------

def test_split_input_opset13(tmp_path):
    m = model([h.make_node("Split", ["x", "s"], ["a", "b", "c"], axis=1)], [vi("x", TP.FLOAT, [2, 10])],
              [out("a"), out("b"), out("c")], opset=13, inits=[ints("s", [2, 3, 5])])
    check_model(m, [{"x": randf(2, 10)}], tmp_path)


def test_split_attr_opset11(tmp_path):
    m = model([h.make_node("Split", ["x"], ["a", "b"], axis=-1, split=[4, 2])], [vi("x", TP.FLOAT, [3, 6])],
              [out("a"), out("b")], opset=11)
    check_model(m, [{"x": randf(3, 6)}], tmp_path)


def test_split_equal_dynamic(tmp_path):
    m = model([h.make_node("Split", ["x"], ["a", "b", "c"], axis=1)], [vi("x", TP.FLOAT, ["N", "C"])],
              [out("a"), out("b"), out("c")], opset=13)
    check_model(m, [{"x": randf(n, c)} for n, c in ((1, 3), (2, 12), (3, 6))], tmp_path,
                dims={"N": "1:2:4", "C": "3:6:12"})


@pytest.mark.parametrize("d,n", [(7, 3), (9, 3), (4, 3), (10, 4)])
def test_split_num_outputs_opset18(tmp_path, d, n):
    names = [f"y{i}" for i in range(n)]
    m = model([h.make_node("Split", ["x"], names, axis=0, num_outputs=n)], [vi("x", TP.FLOAT, [d, 2])],
              [out(k) for k in names], opset=18)
    # Pieces of ceil(d / n) rows, the last one smaller, possibly empty (4 into 3: 2, 2, 0). The
    # reference is numpy: ONNX Runtime 1.2x rejects the empty piece.
    x = randf(d, 2)
    size = -(-d // n)
    want = dict(zip(names, np.split(x, [min(size * i, d) for i in range(1, n)])))
    assert_close(run_engine(build_engine(m, tmp_path), {"x": x}, tmp_path), want, 0, 0)


def test_split_num_outputs_dynamic(tmp_path):
    names = ["a", "b", "c"]
    m = model([h.make_node("Split", ["x"], names, axis=1, num_outputs=3)], [vi("x", TP.FLOAT, [2, "S"])],
              [out(k) for k in names], opset=18)
    check_model(m, [{"x": randf(2, s)} for s in (7, 9, 11, 12)], tmp_path, dims={"S": "7:9:12"})


def test_split_int64_values(tmp_path):
    m = model([h.make_node("Split", ["x"], ["a", "b"], axis=0)], [vi("x", TP.INT64, [4])],
              [out("a", TP.INT64), out("b", TP.INT64)], opset=13)
    check_model(m, [{"x": np.array([5, 6, 7, 8], np.int64)}], tmp_path)


# ---- Slice -------------------------------------------------------------------

SLICE_CASES = [
    # starts, ends, axes, steps
    ([1], [3], [0], None),
    ([0, 1], [2, -1], [0, 1], None),
    ([-3], [I64_MAX], [1], None),
    ([1], [I64_MAX], [-1], [2]),
    ([-1], [I64_MIN], [1], [-1]),
    ([4], [0], [1], [-2]),
    ([3], [3], [1], None),  # empty
    ([10], [20], [0], None),  # clamped to empty
    ([-100], [100], [0], None),
    ([5], [-100], [1], [-1]),
]


@pytest.mark.parametrize("case", range(len(SLICE_CASES)))
def test_slice_static(tmp_path, case):
    starts, ends, axes, steps = SLICE_CASES[case]
    inits = [ints("s", starts), ints("e", ends), ints("a", axes)]
    names = ["x", "s", "e", "a"]
    if steps:
        inits.append(ints("k", steps))
        names.append("k")
    m = model([h.make_node("Slice", names, ["y"])], [vi("x", TP.FLOAT, [4, 6])], [out()], inits=inits)
    check_model(m, [{"x": randf(4, 6)}], tmp_path)


def test_slice_no_axes(tmp_path):
    m = model([h.make_node("Slice", ["x", "s", "e"], ["y"])], [vi("x", TP.FLOAT, [4, 6, 2])], [out()],
              inits=[ints("s", [1, -4]), ints("e", [3, 5])])
    check_model(m, [{"x": randf(4, 6, 2)}], tmp_path)


def test_slice_opset9_attrs(tmp_path):
    m = model([h.make_node("Slice", ["x"], ["y"], starts=[1, -3], ends=[I64_MAX, -1], axes=[0, 2])],
              [vi("x", TP.FLOAT, [3, 4, 5])], [out()], opset=9)
    check_model(m, [{"x": randf(3, 4, 5)}], tmp_path)


@pytest.mark.parametrize("starts,ends,steps", [([1], [I64_MAX], [1]), ([-2], [I64_MAX], [1]), ([0], [-1], [1]),
                                              ([-1], [I64_MIN], [-1]), ([0], [I64_MAX], [2]), ([2], [5], [1]),
                                              ([-1], [-3], [-1])])
def test_slice_dynamic(tmp_path, starts, ends, steps):
    m = model([h.make_node("Slice", ["x", "s", "e", "a", "k"], ["y"])], [vi("x", TP.FLOAT, ["N", 3])], [out()],
              inits=[ints("s", starts), ints("e", ends), ints("a", [0]), ints("k", steps)])
    check_model(m, [{"x": randf(n, 3)} for n in (1, 2, 4, 7)], tmp_path, dims={"N": "1:4:8"})


def test_slice_symbolic_end(tmp_path):
    # x[:, :M] where M comes from another input's shape.
    nodes = [h.make_node("Shape", ["z"], ["zs"]),
             h.make_node("Slice", ["zs", "one", "two"], ["m"]),
             h.make_node("Slice", ["x", "zero", "m", "one"], ["y"])]
    m = model(nodes, [vi("x", TP.FLOAT, ["N", 16]), vi("z", TP.FLOAT, ["N", "M"])], [out()],
              inits=[ints("zero", [0]), ints("one", [1]), ints("two", [2])])
    feeds = [{"x": randf(n, 16), "z": randf(n, k)} for n, k in ((1, 3), (2, 16), (3, 8))]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "M": "1:8:16"})


def test_slice_negative_symbolic_start(tmp_path):
    # x[:, -M:] with M from another input's shape.
    nodes = [h.make_node("Shape", ["z"], ["zs"]),
             h.make_node("Gather", ["zs", "one_s"], ["m0"], axis=0),
             h.make_node("Mul", ["m0", "minus1_s"], ["nm0"]),
             h.make_node("Unsqueeze", ["nm0", "zero"], ["nm"]),
             h.make_node("Slice", ["x", "nm", "big", "one"], ["y"])]
    m = model(nodes, [vi("x", TP.FLOAT, [2, 16]), vi("z", TP.FLOAT, [2, "M"])], [out()],
              inits=[ints("zero", [0]), ints("one", [1]), ints("big", [I64_MAX]),
                     numpy_helper.from_array(np.array(1, np.int64), "one_s"),
                     numpy_helper.from_array(np.array(-1, np.int64), "minus1_s")])
    check_model(m, [{"x": randf(2, 16), "z": randf(2, k)} for k in (1, 5, 16)], tmp_path, dims={"M": "1:8:16"})


# ---- Squeeze / Unsqueeze -----------------------------------------------------

def test_squeeze_opset11_attr(tmp_path):
    m = model([h.make_node("Squeeze", ["x"], ["y"], axes=[1, -1])], [vi("x", TP.FLOAT, [3, 1, 4, 1])], [out()],
              opset=11)
    check_model(m, [{"x": randf(3, 1, 4, 1)}], tmp_path)


def test_squeeze_opset13_input_dynamic(tmp_path):
    m = model([h.make_node("Squeeze", ["x", "a"], ["y"])], [vi("x", TP.FLOAT, ["N", 1, 4])], [out()], opset=13,
              inits=[ints("a", [-2])])
    check_model(m, [{"x": randf(n, 1, 4)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


def test_squeeze_no_axes(tmp_path):
    m = model([h.make_node("Squeeze", ["x"], ["y"])], [vi("x", TP.FLOAT, [1, 3, 1, 2])], [out()], opset=13)
    check_model(m, [{"x": randf(1, 3, 1, 2)}], tmp_path)


def test_unsqueeze_opset11_attr(tmp_path):
    m = model([h.make_node("Unsqueeze", ["x"], ["y"], axes=[0, -1])], [vi("x", TP.FLOAT, [3, 4])], [out()], opset=11)
    check_model(m, [{"x": randf(3, 4)}], tmp_path)


def test_unsqueeze_opset13_input_dynamic(tmp_path):
    m = model([h.make_node("Unsqueeze", ["x", "a"], ["y"])], [vi("x", TP.FLOAT, ["N", 4])], [out()], opset=13,
              inits=[ints("a", [1, 3])])
    check_model(m, [{"x": randf(n, 4)} for n in (1, 5)], tmp_path, dims={"N": "1:2:6"})


# ---- Tile --------------------------------------------------------------------

def test_tile_static(tmp_path):
    m = model([h.make_node("Tile", ["x", "r"], ["y"])], [vi("x", TP.FLOAT, [2, 3])], [out()],
              inits=[ints("r", [3, 2])])
    check_model(m, [{"x": randf(2, 3)}], tmp_path)


def test_tile_dynamic(tmp_path):
    m = model([h.make_node("Tile", ["x", "r"], ["y"])], [vi("x", TP.INT64, ["N", 1, 3])], [out("y", TP.INT64)],
              inits=[ints("r", [2, 4, 1])])
    check_model(m, [{"x": np.arange(3 * n).reshape(n, 1, 3)} for n in (1, 3)], tmp_path, dims={"N": "1:2:4"})


# ---- Pad ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_modes(tmp_path, mode):
    m = model([h.make_node("Pad", ["x", "p"], ["y"], mode=mode)], [vi("x", TP.FLOAT, [1, 3, 4, 5])], [out()],
              inits=[ints("p", [0, 0, 1, 2, 0, 1, 2, 3])])
    check_model(m, [{"x": randf(1, 3, 4, 5)}], tmp_path)


def test_pad_wrap_opset19(tmp_path):
    m = model([h.make_node("Pad", ["x", "p"], ["y"], mode="wrap")], [vi("x", TP.FLOAT, [3, 4])], [out()], opset=19,
              inits=[ints("p", [1, 2, 2, 3])])
    check_model(m, [{"x": randf(3, 4)}], tmp_path)


def test_pad_constant_value_and_negative(tmp_path):
    inits = [ints("p", [1, -1, -2, 2]), numpy_helper.from_array(np.array(2.5, np.float32), "v")]
    m = model([h.make_node("Pad", ["x", "p", "v"], ["y"])], [vi("x", TP.FLOAT, [3, 5])], [out()], inits=inits)
    check_model(m, [{"x": randf(3, 5)}], tmp_path)


def test_pad_opset18_axes(tmp_path):
    m = model([h.make_node("Pad", ["x", "p", "", "a"], ["y"])], [vi("x", TP.FLOAT, [2, 3, 4])], [out()], opset=18,
              inits=[ints("p", [1, 0, 2, 3]), ints("a", [-1, 0])])
    check_model(m, [{"x": randf(2, 3, 4)}], tmp_path)


def test_pad_opset10_attrs(tmp_path):
    m = model([h.make_node("Pad", ["x"], ["y"], pads=[0, 1, 2, 1], value=-1.0)], [vi("x", TP.FLOAT, [2, 3])],
              [out()], opset=10)
    check_model(m, [{"x": randf(2, 3)}], tmp_path)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_dynamic(tmp_path, mode):
    m = model([h.make_node("Pad", ["x", "p"], ["y"], mode=mode)], [vi("x", TP.FLOAT, ["N", "L"])], [out()],
              inits=[ints("p", [0, 2, 0, 1])])
    check_model(m, [{"x": randf(n, l)} for n, l in ((1, 3), (2, 8), (3, 5))], tmp_path,
                dims={"N": "1:2:4", "L": "3:5:8"})


def test_pad_int64(tmp_path):
    inits = [ints("p", [1, 1]), numpy_helper.from_array(np.array(7, np.int64), "v")]
    m = model([h.make_node("Pad", ["x", "p", "v"], ["y"])], [vi("x", TP.INT64, [3])], [out("y", TP.INT64)],
              inits=inits)
    check_model(m, [{"x": np.array([1, 2, 3], np.int64)}], tmp_path)


# ---- Trilu, DepthToSpace, SpaceToDepth ---------------------------------------

@pytest.mark.parametrize("upper,k", [(1, 0), (0, 0), (1, 2), (0, -1), (1, -2), (0, 5)])
def test_trilu(tmp_path, upper, k):
    m = model([h.make_node("Trilu", ["x", "k"], ["y"], upper=upper)], [vi("x", TP.FLOAT, ["B", 4, 5])], [out()],
              opset=14, inits=[ints("k", k)])
    check_model(m, [{"x": randf(b, 4, 5)} for b in (1, 3)], tmp_path, dims={"B": "1:2:4"})


def test_trilu_no_k(tmp_path):
    m = model([h.make_node("Trilu", ["x"], ["y"], upper=0)], [vi("x", TP.INT64, [5, 3])], [out("y", TP.INT64)],
              opset=14)
    check_model(m, [{"x": np.arange(15).reshape(5, 3)}], tmp_path)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space(tmp_path, mode):
    m = model([h.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode=mode)],
              [vi("x", TP.FLOAT, ["N", 8, "H", 3])], [out()], opset=13)
    check_model(m, [{"x": randf(n, 8, hh, 3)} for n, hh in ((1, 2), (2, 5))], tmp_path,
                dims={"N": "1:2:2", "H": "1:3:5"})


def test_space_to_depth(tmp_path):
    m = model([h.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2)], [vi("x", TP.FLOAT, ["N", 3, 4, 6])], [out()],
              opset=13)
    check_model(m, [{"x": randf(n, 3, 4, 6)} for n in (1, 2)], tmp_path, dims={"N": "1:2:2"})


# ---- Shape-value propagation ---------------------------------------------------

def test_shape_gather_unsqueeze_concat_reshape(tmp_path):
    # x.view(x.size(0), -1) as exporters emit it, with a dynamic batch.
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("Gather", ["s", "zero_s"], ["b"], axis=0),
             h.make_node("Unsqueeze", ["b", "zero"], ["b1"]),
             h.make_node("Concat", ["b1", "minus1"], ["shape"], axis=0),
             h.make_node("Reshape", ["x", "shape"], ["y"])]
    m = model(nodes, [vi("x", TP.FLOAT, ["N", 4, 6])], [out()], opset=13,
              inits=[numpy_helper.from_array(np.array(0, np.int64), "zero_s"), ints("zero", [0]),
                     ints("minus1", [-1])])
    check_model(m, [{"x": randf(n, 4, 6)} for n in (1, 3, 5)], tmp_path, dims={"N": "1:3:6"})


def test_shape_slice_concat_reshape(tmp_path):
    # Reshape [B, S, 768] -> [B, S, 12, 64] via Shape -> Slice -> Concat.
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("Slice", ["s", "zero", "two"], ["bs"]),
             h.make_node("Concat", ["bs", "heads"], ["shape"], axis=0),
             h.make_node("Reshape", ["x", "shape"], ["r"]),
             h.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 1, 3])]
    m = model(nodes, [vi("x", TP.FLOAT, ["B", "S", 48])], [out()], opset=13,
              inits=[ints("zero", [0]), ints("two", [2]), ints("heads", [4, 12])])
    check_model(m, [{"x": randf(b, s, 48)} for b, s in ((1, 1), (2, 7))], tmp_path,
                dims={"B": "1:2:2", "S": "1:4:8"})


def test_shape_values_split_squeeze(tmp_path):
    # Split a shape vector into scalars, multiply, rebuild a shape.
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("Split", ["s"], ["a", "b", "c"], axis=0),
             h.make_node("Mul", ["b", "c"], ["bc"]),
             h.make_node("Concat", ["a", "bc"], ["shape"], axis=0),
             h.make_node("Reshape", ["x", "shape"], ["y"])]
    m = model(nodes, [vi("x", TP.FLOAT, ["N", "M", 3])], [out()], opset=13)
    check_model(m, [{"x": randf(n, k, 3)} for n, k in ((1, 2), (3, 4))], tmp_path, dims={"N": "1:2:4", "M": "1:2:4"})


def test_unsupported_squeeze_symbolic(tmp_path):
    # Squeeze without axes on a dim that may be 1: must be refused, not guessed.
    m = model([h.make_node("Squeeze", ["x"], ["y"])], [vi("x", TP.FLOAT, ["N", 3])], [out()], opset=13)
    import onnx
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    p = run_cli("build", path, "-o", tmp_path / "m.engine", "--dim", "N=1:2:4", check=False)
    assert p.returncode != 0
    assert "Squeeze" in (p.stdout + p.stderr)


def test_slice_int32_params_dynamic_empty(tmp_path):
    inits = [numpy_helper.from_array(np.array([v], np.int32), n) for n, v in (("s", 3), ("e", 2 ** 31 - 1), ("a", 0))]
    m = model([h.make_node("Slice", ["x", "s", "e", "a"], ["y"])], [vi("x", TP.FLOAT, ["N", 2])], [out()],
              inits=inits)
    check_model(m, [{"x": randf(n, 2)} for n in (1, 3, 4, 6)], tmp_path, dims={"N": "1:4:6"})


def test_slice_runtime_starts(tmp_path):
    # starts/ends are graph inputs: the kernel sizes the output at run time.
    m = model([h.make_node("Slice", ["x", "s", "e"], ["y"])],
              [vi("x", TP.FLOAT, [4]), vi("s", TP.INT64, [1]), vi("e", TP.INT64, [1])], [out()])
    check_model(m, [{"x": randf(4), "s": np.array([s], np.int64), "e": np.array([e], np.int64)}
                    for s, e in ((1, 3), (0, 100), (-1, -5))], tmp_path)
