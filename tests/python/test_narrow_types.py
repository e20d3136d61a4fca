"""The narrow element types (float8 E4M3FN/E4M3FNUZ/E5M2/E5M2FNUZ/E8M0, float4
E2M1, int4/uint4, int2/uint2) against ONNX's reference implementation
(onnx.reference, whose conversions are ml_dtypes'): Cast both ways over every
code and the rounding boundaries between codes, with and without saturation;
E8M0's round modes; QuantizeLinear / DequantizeLinear; packed initializers
(raw and int32_data); the npz convention ('|V1'); and the errors for ops that
do not take these types."""
import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

import harness

FLOAT8 = {T.FLOAT8E4M3FN: ml_dtypes.float8_e4m3fn, T.FLOAT8E4M3FNUZ: ml_dtypes.float8_e4m3fnuz,
          T.FLOAT8E5M2: ml_dtypes.float8_e5m2, T.FLOAT8E5M2FNUZ: ml_dtypes.float8_e5m2fnuz}
FLOAT4 = {T.FLOAT4E2M1: ml_dtypes.float4_e2m1fn}
INTS = {T.INT4: ml_dtypes.int4, T.UINT4: ml_dtypes.uint4, T.INT2: ml_dtypes.int2, T.UINT2: ml_dtypes.uint2}
E8M0 = {T.FLOAT8E8M0: ml_dtypes.float8_e8m0fnu}
ALL = {**FLOAT8, **FLOAT4, **INTS, **E8M0}
BITS = {T.FLOAT4E2M1: 4, T.INT4: 4, T.UINT4: 4, T.INT2: 2, T.UINT2: 2}


def model(nodes, inputs, outputs, inits=(), opset=25):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 11
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def codes(t):
    """Every value of the type, as an array of it."""
    n = 1 << BITS.get(t, 8)
    return np.arange(n, dtype=np.uint8).view(ALL[t])


def boundaries(t):
    """Every finite value of the type, the midpoints between neighbours (the ties), points just
    either side of them, values past the largest, both zeros, infinities and NaN: as float32."""
    v = codes(t).astype(np.float32)
    v = np.unique(v[np.isfinite(v)])
    mid = (v[:-1] + v[1:]) / 2
    pts = np.concatenate([v, mid, np.nextafter(mid, np.float32(np.inf)), np.nextafter(mid, np.float32(-np.inf)),
                          v * 1.5, v * 1.0001, v * 0.9999, [v.max() * 2, v.min() * 2, 1e30, -1e30, 0.0, -0.0, np.inf,
                                                            -np.inf, np.nan, 1e-30, -1e-30]])
    return pts.astype(np.float32)


def run_both(m, feeds, tmp_path, dims=None):
    engine = harness.build_engine(m, tmp_path, dims=dims)
    got = harness.run_engine(engine, feeds, tmp_path)
    want = dict(zip([o.name for o in m.graph.output], ReferenceEvaluator(m).run(None, feeds)))
    return got, want


def same(got, want):
    """dynrt's raw '|V1' output is the reference's type; equal values, equal zero signs, NaN where it is."""
    if got.dtype.kind == "V":
        got = got.view(want.dtype)
    assert got.dtype == want.dtype and got.shape == want.shape
    g, w = got.astype(np.float32), want.astype(np.float32)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
    ok = ~np.isnan(w)
    np.testing.assert_array_equal(g[ok], w[ok])
    np.testing.assert_array_equal(np.signbit(g[ok]), np.signbit(w[ok]))


# saturate concerns float8 only
@pytest.mark.parametrize("to,saturate", [(t, 1) for t in list(FLOAT8) + list(FLOAT4) + list(INTS)] +
                         [(t, 0) for t in FLOAT8])
def test_cast_float_to_narrow(tmp_path, to, saturate):
    x = boundaries(to) if to not in INTS else np.concatenate([boundaries(to), np.arange(-20, 20, 0.25)]).astype(np.float32)
    m = model([h.make_node("Cast", ["x"], ["y"], to=to, saturate=saturate)], [vi("x", T.FLOAT, ["N"])], [vi("y", to, ["N"])])
    got, want = run_both(m, {"x": x}, tmp_path, dims={"N": f"1:{x.size}:{x.size}"})
    same(got["y"], want["y"])


@pytest.mark.parametrize("src", [T.FLOAT16, T.DOUBLE])
@pytest.mark.parametrize("to", [T.FLOAT8E4M3FN, T.FLOAT8E5M2, T.FLOAT4E2M1])
def test_cast_half_and_double_to_narrow(tmp_path, src, to):
    np_src = {T.FLOAT16: np.float16, T.DOUBLE: np.float64}[src]
    with np.errstate(over="ignore"):
        x = boundaries(to).astype(np_src)
    m = model([h.make_node("Cast", ["x"], ["y"], to=to)], [vi("x", src, [x.size])], [vi("y", to, [x.size])])
    got, want = run_both(m, {"x": x}, tmp_path)
    same(got["y"], want["y"])


# float to int8 is undefined out of range: only the narrow ints go to int8
@pytest.mark.parametrize("src,to", [(s, t) for s in ALL for t in (T.FLOAT, T.FLOAT16, T.BOOL)] +
                         [(s, T.INT8) for s in INTS])
def test_cast_every_code_from_narrow(tmp_path, src, to):
    x = codes(src)
    m = model([h.make_node("Cast", ["x"], ["y"], to=to)], [vi("x", src, [x.size])], [vi("y", to, [x.size])])
    got, want = run_both(m, {"x": x}, tmp_path)
    np.testing.assert_array_equal(got["y"], want["y"])  # NaN equals NaN here


@pytest.mark.parametrize("to", list(INTS))
def test_cast_int32_wraps_to_narrow_ints(tmp_path, to):
    x = np.arange(-40, 40, dtype=np.int32)
    m = model([h.make_node("Cast", ["x"], ["y"], to=to)], [vi("x", T.INT32, [x.size])], [vi("y", to, [x.size])])
    got, want = run_both(m, {"x": x}, tmp_path)
    same(got["y"], want["y"])


@pytest.mark.parametrize("mode", ["up", "down", "nearest"])
@pytest.mark.parametrize("saturate", [1, 0])
def test_cast_to_e8m0_round_modes(tmp_path, mode, saturate):
    p = np.ldexp(np.float32(1), np.arange(-126, 128)).astype(np.float32)
    x = np.concatenate([p, p * 1.25, p * 1.5, p * 1.75, p * np.float32(1.5000001), [0, 1e-40, 3e38, np.inf, np.nan]])
    x = x[np.isfinite(x) | np.isnan(x) | np.isinf(x)].astype(np.float32)
    m = model([h.make_node("Cast", ["x"], ["y"], to=T.FLOAT8E8M0, saturate=saturate, round_mode=mode)],
              [vi("x", T.FLOAT, [x.size])], [vi("y", T.FLOAT8E8M0, [x.size])])
    got, want = run_both(m, {"x": x}, tmp_path)
    np.testing.assert_array_equal(got["y"].view(np.uint8), want["y"].view(np.uint8))


@pytest.mark.parametrize("qt", [T.FLOAT8E4M3FN, T.FLOAT8E5M2, T.FLOAT4E2M1, T.INT4, T.UINT4, T.INT2, T.UINT2])
def test_quantize_dequantize_per_axis(tmp_path, qt):
    rng = np.random.default_rng(3)
    scale = np.array([0.5, 2.0, 0.125], np.float32)
    zero = np.zeros(3, np.float32).astype(ALL[qt])
    inits = [numpy_helper.from_array(scale, "s"), numpy_helper.from_array(zero, "z")]
    m = model([h.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1),
               h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1)],
              [vi("x", T.FLOAT, ["N", 3])], [vi("q", qt, ["N", 3]), vi("y", T.FLOAT, ["N", 3])], inits)
    x = (rng.standard_normal((7, 3)) * 4).astype(np.float32)
    got, want = run_both(m, {"x": x}, tmp_path, dims={"N": "1:4:16"})
    same(got["q"], want["q"])
    np.testing.assert_array_equal(got["y"], want["y"])


@pytest.mark.parametrize("qt", [T.INT4, T.UINT2, T.FLOAT4E2M1, T.FLOAT8E4M3FNUZ])
@pytest.mark.parametrize("raw", [True, False])
def test_packed_initializers(tmp_path, qt, raw):
    """An odd number of elements, packed in raw_data or in int32_data, read back element by element."""
    w = codes(qt)[[1, 2, 3, 0, 1, 2, 3]][: 7]
    if qt == T.FLOAT8E4M3FNUZ:
        w = np.arange(7, dtype=np.uint8).view(ALL[qt])
    t = numpy_helper.from_array(w, "w")
    if not raw:
        v = np.frombuffer(t.raw_data, dtype=np.uint8).astype(np.int32)
        t = onnx.TensorProto(name="w", data_type=qt, dims=[7])
        t.int32_data.extend(v.tolist())
    assert numpy_helper.to_array(t).view(np.uint8).tolist() == w.view(np.uint8).tolist()
    m = model([h.make_node("DequantizeLinear", ["w", "s"], ["y"]), h.make_node("Add", ["y", "x"], ["z"])],
              [vi("x", T.FLOAT, [7])], [vi("z", T.FLOAT, [7])], [t, numpy_helper.from_array(np.float32(2), "s")])
    got, want = run_both(m, {"x": np.zeros(7, np.float32)}, tmp_path)
    np.testing.assert_array_equal(got["z"], want["z"])


def test_narrow_values_move_through_data_ops(tmp_path):
    x = np.arange(24, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).reshape(2, 3, 4)
    m = model([h.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]), h.make_node("Reshape", ["t", "shape"], ["r"]),
               h.make_node("Concat", ["r", "r"], ["y"], axis=0)],
              [vi("x", T.FLOAT8E4M3FN, ["B", 3, 4])], [vi("y", T.FLOAT8E4M3FN, None)],
              [numpy_helper.from_array(np.array([-1, 6], np.int64), "shape")])
    got, want = run_both(m, {"x": x}, tmp_path, dims={"B": "1:2:4"})
    assert got["y"].view(np.uint8).tolist() == want["y"].view(np.uint8).tolist()


def test_arithmetic_on_narrow_types_is_unsupported(tmp_path):
    m = model([h.make_node("Add", ["a", "b"], ["y"])], [vi("a", T.FLOAT8E4M3FN, [4]), vi("b", T.FLOAT8E4M3FN, [4])],
              [vi("y", T.FLOAT8E4M3FN, [4])])
    onnx.save(m, str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "m.engine", check=False)
    assert p.returncode == 1
    assert "error (unsupported)" in p.stderr and "op 'Add' does not take element type float8e4m3fn" in p.stderr


def test_raw_bytes_for_an_ordinary_input_are_refused(tmp_path):
    m = model([h.make_node("Identity", ["x"], ["y"])], [vi("x", T.FLOAT, [4])], [vi("y", T.FLOAT, [4])])
    engine = harness.build_engine(m, tmp_path)
    np.savez(tmp_path / "in.npz", x=np.zeros(4, ml_dtypes.float8_e4m3fn))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1
    assert "error (invalid input)" in p.stderr and "raw 1-byte elements" in p.stderr


def test_python_api_takes_and_returns_ml_dtypes_arrays():
    """dynrt.compile on an ONNX model with float8 and int4 at the graph boundary: ml_dtypes arrays
    in, ml_dtypes arrays out (allocated by the module, and sized by data through NonZero)."""
    import dynrt

    m = model([h.make_node("Cast", ["x"], ["f8"], to=T.FLOAT8E4M3FN),
               h.make_node("DequantizeLinear", ["q", "s"], ["dq"]),
               h.make_node("NonZero", ["dq"], ["nz"]),
               h.make_node("Cast", ["nz"], ["nz8"], to=T.INT4)],
              [vi("x", T.FLOAT, ["N"]), vi("q", T.INT4, ["M"])],
              [vi("f8", T.FLOAT8E4M3FN, ["N"]), vi("dq", T.FLOAT, ["M"]), vi("nz8", T.INT4, None)],
              [numpy_helper.from_array(np.float32(0.5), "s")])
    mod = dynrt.compile(m, dims={"N": (1, 8, 64), "M": (1, 4, 16)})
    x = np.array([0.3, -1000.0, 17.0, np.nan], np.float32)
    q = np.array([-8, 0, 7, 3, 0], np.int8).astype(ml_dtypes.int4)
    f8, dq, nz8 = mod(x, q)
    want = ReferenceEvaluator(m).run(None, {"x": x, "q": q})
    assert f8.dtype == ml_dtypes.float8_e4m3fn and nz8.dtype == ml_dtypes.int4
    same(f8, want[0])
    np.testing.assert_array_equal(dq, want[1])
    same(nz8, want[2])
