"""Resize / Upsample / GridSample / AffineGrid against ONNX Runtime: every
interpolation mode and coordinate transformation, scales and sizes given as
constants (symbolic output dims) or as run-time inputs, static and dynamic
batch / spatial dims.

Where ONNX Runtime departs from the ONNX reference implementation (which
generated the backend node tests' data), dynrt follows the reference and the
test compares with it: align_corners when dim * scale is not an integer (the
reference uses the unrounded output length), integer outputs of linear
Resize (the reference rounds, ONNX Runtime truncates) and cubic GridSample
with border padding."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness
import node_suite

RNG = np.random.default_rng(11)


def model(nodes, inputs, outputs, inits=(), opset=19):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 9
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def f32(*shape):
    return RNG.uniform(-2, 2, shape).astype(np.float32)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


CT = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"]


@pytest.mark.parametrize("ct", CT)
@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("scales", [(1, 1, 2, 2), (1, 1, 0.5, 0.75), (1, 1, 1.5, 3)])
def test_resize_constant_scales_dynamic_dims(tmp_path, mode, ct, scales):
    m = model([h.make_node("Resize", ["x", "", "scales"], ["y"], mode=mode, coordinate_transformation_mode=ct)],
              [vi("x", T.FLOAT, ["N", 2, "H", "W"])], [vi("y", T.FLOAT, None)],
              [const("scales", np.array(scales, np.float32))])
    feeds = [{"x": f32(n, 2, hh, ww)} for n, hh, ww in ((1, 4, 4), (2, 6, 5), (1, 8, 12))]
    ort_agrees = ct != "align_corners" or scales != (1, 1, 0.5, 0.75)
    node_suite.check(m, feeds, tmp_path, use_ort=ort_agrees, dims={"N": "1:1:2", "H": "4:6:8", "W": "4:5:12"})


@pytest.mark.parametrize("nearest_mode", ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
def test_resize_nearest_modes_sizes_input(tmp_path, nearest_mode):
    m = model([h.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest", nearest_mode=nearest_mode)],
              [vi("x", T.FLOAT, [1, 1, 4, 4]), vi("sizes", T.INT64, [4])], [vi("y", T.FLOAT, None)])
    feeds = [{"x": f32(1, 1, 4, 4), "sizes": np.array(s, np.int64)} for s in ((1, 1, 7, 9), (1, 1, 3, 2), (1, 1, 8, 8))]
    harness.check_model(m, feeds, tmp_path)


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_resize_antialias_and_exclude_outside(tmp_path, mode):
    m = model([h.make_node("Resize", ["x", "", "scales"], ["y"], mode=mode, antialias=1, exclude_outside=1,
                           cubic_coeff_a=-0.5)],
              [vi("x", T.FLOAT, [1, 2, 8, 8])], [vi("y", T.FLOAT, None)],
              [const("scales", np.array([1, 1, 0.5, 0.6], np.float32))])
    harness.check_model(m, [{"x": f32(1, 2, 8, 8)}], tmp_path)


def test_resize_axes_and_keep_aspect_ratio(tmp_path):
    m = model([h.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear", axes=[3, 2],
                           keep_aspect_ratio_policy="not_larger")],
              [vi("x", T.FLOAT, [1, 1, 4, 6])], [vi("y", T.FLOAT, None)], [const("sizes", np.array([5, 7], np.int64))])
    harness.check_model(m, [{"x": f32(1, 1, 4, 6)}], tmp_path)


def test_resize_tf_crop_and_resize(tmp_path):
    m = model([h.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], mode="linear",
                           coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=7.0)],
              [vi("x", T.FLOAT, [1, 1, 5, 5]), vi("roi", T.FLOAT, [8])], [vi("y", T.FLOAT, None)],
              [const("sizes", np.array([1, 1, 4, 6], np.int64))])
    roi = np.array([0, 0, -0.2, 0.3, 1, 1, 0.9, 1.4], np.float32)
    harness.check_model(m, [{"x": f32(1, 1, 5, 5), "roi": roi}], tmp_path)


@pytest.mark.parametrize("dtype", [T.UINT8, T.INT32])
def test_resize_integer_types(tmp_path, dtype):
    np_t = np.uint8 if dtype == T.UINT8 else np.int32
    m = model([h.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")],
              [vi("x", dtype, [1, 1, 3, 3])], [vi("y", dtype, None)], [const("scales", np.array([1, 1, 2, 1.5], np.float32))])
    # Interpolated values are rounded to integers: a value within float rounding of .5 may land on
    # either side (dynrt interpolates in double, the reference in float32), so allow 1 either way.
    engine = harness.build_engine(m, tmp_path)
    for seed in range(4):
        feeds = {"x": np.random.default_rng(seed).integers(0, 200, (1, 1, 3, 3)).astype(np_t)}
        got, want = harness.run_engine(engine, feeds, tmp_path)["y"], node_suite.reference(m, feeds, use_ort=False)["y"]
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got.astype(np.int64), want.astype(np.int64), rtol=0, atol=1)


def test_resize_opset11_and_13_scales(tmp_path):
    for opset in (11, 13):
        m = model([h.make_node("Resize", ["x", "roi", "scales"], ["y"], mode="nearest")],
                  [vi("x", T.FLOAT, ["N", 3, 4, 4])], [vi("y", T.FLOAT, None)],
                  [const("roi", np.array([], np.float32)), const("scales", np.array([1, 1, 2, 2], np.float32))], opset=opset)
        harness.check_model(m, [{"x": f32(n, 3, 4, 4)} for n in (1, 3)], tmp_path, dims={"N": "1:1:4"})


def test_upsample_opset9(tmp_path):
    m = model([h.make_node("Upsample", ["x", "scales"], ["y"], mode="nearest")], [vi("x", T.FLOAT, ["N", 2, 3, 3])],
              [vi("y", T.FLOAT, None)], [const("scales", np.array([1, 1, 2, 3], np.float32))], opset=9)
    m.ir_version = 8
    harness.check_model(m, [{"x": f32(n, 2, 3, 3)} for n in (1, 2)], tmp_path, dims={"N": "1:1:2"})


@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample_2d(tmp_path, mode, padding, align):
    m = model([h.make_node("GridSample", ["x", "g"], ["y"], mode=mode, padding_mode=padding, align_corners=align)],
              [vi("x", T.FLOAT, ["N", 2, 5, 6]), vi("g", T.FLOAT, ["N", 4, 3, 2])], [vi("y", T.FLOAT, None)], opset=20)
    feeds = [{"x": f32(n, 2, 5, 6), "g": RNG.uniform(-1.3, 1.3, (n, 4, 3, 2)).astype(np.float32)} for n in (1, 2)]
    ort_agrees = not (mode == "cubic" and padding == "border")
    node_suite.check(m, feeds, tmp_path, use_ort=ort_agrees, dims={"N": "1:1:2"})


def test_grid_sample_opset16_bilinear_3d(tmp_path):
    m = model([h.make_node("GridSample", ["x", "g"], ["y"], mode="bilinear")],
              [vi("x", T.FLOAT, [1, 1, 4, 4]), vi("g", T.FLOAT, [1, 3, 3, 2])], [vi("y", T.FLOAT, None)], opset=16)
    harness.check_model(m, [{"x": f32(1, 1, 4, 4), "g": RNG.uniform(-1, 1, (1, 3, 3, 2)).astype(np.float32)}], tmp_path)
    m = model([h.make_node("GridSample", ["x", "g"], ["y"], mode="linear")],
              [vi("x", T.FLOAT, [1, 2, 3, 4, 4]), vi("g", T.FLOAT, [1, 2, 3, 2, 3])], [vi("y", T.FLOAT, None)], opset=20)
    harness.check_model(m, [{"x": f32(1, 2, 3, 4, 4), "g": RNG.uniform(-1, 1, (1, 2, 3, 2, 3)).astype(np.float32)}],
                        tmp_path)


@pytest.mark.parametrize("align", [0, 1])
def test_affine_grid(tmp_path, align):
    m = model([h.make_node("AffineGrid", ["theta", "size"], ["g"], align_corners=align)],
              [vi("theta", T.FLOAT, ["N", 2, 3]), vi("size", T.INT64, [4])], [vi("g", T.FLOAT, None)], opset=20)
    feeds = [{"theta": f32(n, 2, 3), "size": np.array([n, 3, hh, ww], np.int64)} for n, hh, ww in ((1, 4, 5), (2, 3, 3))]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:1:2"})
    m = model([h.make_node("AffineGrid", ["theta", "size"], ["g"], align_corners=align)],
              [vi("theta", T.FLOAT, [1, 3, 4]), vi("size", T.INT64, [5])], [vi("g", T.FLOAT, None)], opset=20)
    harness.check_model(m, [{"theta": f32(1, 3, 4), "size": np.array([1, 1, 2, 3, 4], np.int64)}], tmp_path)
