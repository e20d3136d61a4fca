"""RoiAlign, NonMaxSuppression, Col2Im, CenterCropPad, MaxUnpool and DeformConv
against ONNX Runtime, plus their ONNX backend node tests in static and
dynamic mode. Sizes fed as tensors are tested both as constants (sizes known
at build time) and as graph inputs (sizes known only at run time)."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness
import node_suite

RNG = np.random.default_rng(11)


def model(nodes, inputs, outputs, inits=(), opset=18, ir=8):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def f32(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


def rois(n, size):
    xy = RNG.uniform(0, size - 2, (n, 2))
    wh = RNG.uniform(0.5, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


@pytest.mark.parametrize("opset,attrs", [
    (10, {}),
    (10, {"output_height": 3, "output_width": 4, "sampling_ratio": 2, "spatial_scale": 0.5}),
    (16, {"coordinate_transformation_mode": "half_pixel", "output_height": 5, "output_width": 5}),
    (16, {"coordinate_transformation_mode": "output_half_pixel", "mode": "max", "output_height": 2,
          "output_width": 3, "sampling_ratio": 3}),
])
def test_roi_align(tmp_path, opset, attrs):
    m = model([h.make_node("RoiAlign", ["x", "rois", "bi"], ["y"], **attrs)],
              [vi("x", T.FLOAT, ["N", 3, 10, 12]), vi("rois", T.FLOAT, ["R", 4]), vi("bi", T.INT64, ["R"])],
              [vi("y", T.FLOAT, None)], opset=opset)

    def feeds(n, r):
        return {"x": f32(n, 3, 10, 12), "rois": rois(r, 10), "bi": RNG.integers(0, n, (r,)).astype(np.int64)}

    harness.check_model(m, [feeds(1, 1), feeds(2, 5), feeds(3, 2)], tmp_path, dims={"N": "1:2:3", "R": "1:3:5"})


@pytest.mark.parametrize("center", [0, 1])
@pytest.mark.parametrize("score_threshold", [None, 0.3])
def test_nms(tmp_path, center, score_threshold):
    ins = ["boxes", "scores", "max_out", "iou"] + (["st"] if score_threshold is not None else [])
    inits = [numpy_helper.from_array(np.array([3], np.int64), "max_out"),
             numpy_helper.from_array(np.array([0.4], np.float32), "iou")]
    if score_threshold is not None:
        inits.append(numpy_helper.from_array(np.array([score_threshold], np.float32), "st"))
    m = model([h.make_node("NonMaxSuppression", ins, ["sel"], center_point_box=center)],
              [vi("boxes", T.FLOAT, ["B", "N", 4]), vi("scores", T.FLOAT, ["B", "C", "N"])],
              [vi("sel", T.INT64, None)], inits, opset=11)

    def feeds(b, c, n):
        xy = RNG.uniform(0, 4, (b, n, 2))
        wh = RNG.uniform(0.5, 3, (b, n, 2))
        boxes = np.concatenate([xy, wh], 2) if center else np.concatenate([xy, xy + wh], 2)
        return {"boxes": boxes.astype(np.float32), "scores": RNG.uniform(0, 1, (b, c, n)).astype(np.float32)}

    feeds_list = [feeds(1, 1, 6), feeds(2, 3, 10), feeds(1, 2, 1)]
    harness.check_model(m, feeds_list, tmp_path, dims={"B": "1:2:2", "C": "1:2:3", "N": "1:6:10"})


@pytest.mark.parametrize("const_shapes", [True, False])
@pytest.mark.parametrize("attrs,image,block", [
    ({}, [5, 5], [1, 5]),
    ({"strides": [2, 2]}, [5, 5], [3, 3]),
    ({"pads": [0, 1, 0, 1], "dilations": [1, 2]}, [4, 6], [2, 2]),
])
def test_col2im(tmp_path, const_shapes, attrs, image, block):
    k = len(image)
    dil, st = attrs.get("dilations", [1] * k), attrs.get("strides", [1] * k)
    pads = attrs.get("pads", [0] * 2 * k)
    blocks = int(np.prod([(image[i] + pads[i] + pads[k + i] - dil[i] * (block[i] - 1) - 1) // st[i] + 1
                          for i in range(k)]))
    cin = 2 * int(np.prod(block))
    shape_inits = [numpy_helper.from_array(np.array(image, np.int64), "image"),
                   numpy_helper.from_array(np.array(block, np.int64), "block")]
    inputs = [vi("x", T.FLOAT, ["N", cin, blocks])]
    if not const_shapes:
        inputs += [vi("image", T.INT64, [k]), vi("block", T.INT64, [k])]
    m = model([h.make_node("Col2Im", ["x", "image", "block"], ["y"], **attrs)], inputs, [vi("y", T.FLOAT, None)],
              shape_inits if const_shapes else [])
    extra = {} if const_shapes else {"image": np.array(image, np.int64), "block": np.array(block, np.int64)}
    harness.check_model(m, [{"x": f32(n, cin, blocks), **extra} for n in (1, 3)], tmp_path, dims={"N": "1:2:3"})


@pytest.mark.parametrize("const_shape", [True, False])
@pytest.mark.parametrize("axes,target", [(None, [6, 3, 5]), ([1, 2], [2, 9]), ([-3, -1], [11, 1])])
def test_center_crop_pad(tmp_path, const_shape, axes, target):
    attrs = {} if axes is None else {"axes": axes}
    inits = [numpy_helper.from_array(np.array(target, np.int64), "shape")] if const_shape else []
    inputs = [vi("x", T.FLOAT, ["A", 4, 6])] + ([] if const_shape else [vi("shape", T.INT64, [len(target)])])
    m = model([h.make_node("CenterCropPad", ["x", "shape"], ["y"], **attrs)], inputs, [vi("y", T.FLOAT, None)], inits)
    extra = {} if const_shape else {"shape": np.array(target, np.int64)}
    harness.check_model(m, [{"x": f32(a, 4, 6), **extra} for a in (1, 7, 9)], tmp_path, dims={"A": "1:7:9"})


@pytest.mark.parametrize("output_shape", [None, [1, 2, 6, 7]])
def test_max_unpool(tmp_path, output_shape):
    # Indices from a real MaxPool (flat over the whole tensor).
    pool = model([h.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2])],
                 [vi("x", T.FLOAT, [1, 2, 6, 6])], [vi("p", T.FLOAT, None), vi("i", T.INT64, None)], opset=12)
    ref = harness.reference(pool, {"x": f32(1, 2, 6, 6)})
    ins = ["p", "i"] + (["os"] if output_shape else [])
    inits = [numpy_helper.from_array(np.array(output_shape, np.int64), "os")] if output_shape else []
    m = model([h.make_node("MaxUnpool", ins, ["y"], kernel_shape=[2, 2], strides=[2, 2])],
              [vi("p", T.FLOAT, [1, 2, 3, 3]), vi("i", T.INT64, [1, 2, 3, 3])], [vi("y", T.FLOAT, None)], inits,
              opset=11)
    # With an output_shape larger than the unpooled one, ONNX Runtime indexes
    # the larger tensor; the ONNX reference (and its node test, and dynrt)
    # places the unpooled tensor at the origin of the padded output.
    node_suite.check(m, [{"p": ref["p"], "i": ref["i"]}], tmp_path, use_ort=output_shape is None)


@pytest.mark.parametrize("attrs,with_mask,with_bias", [
    ({"kernel_shape": [2, 2]}, False, False),
    ({"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "group": 2, "offset_group": 2}, True, True),
    ({"kernel_shape": [2, 3], "strides": [2, 1], "dilations": [1, 2]}, True, False),
])
def test_deform_conv(tmp_path, attrs, with_mask, with_bias):
    g, og = attrs.get("group", 1), attrs.get("offset_group", 1)
    kh, kw = attrs["kernel_shape"]
    s, d = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1])
    p = attrs.get("pads", [0, 0, 0, 0])
    hh, ww = 7, 8
    oh = (hh + p[0] + p[2] - ((kh - 1) * d[0] + 1)) // s[0] + 1
    ow = (ww + p[1] + p[3] - ((kw - 1) * d[1] + 1)) // s[1] + 1
    ins = ["x", "w", "off", "b" if with_bias else "", "mask" if with_mask else ""]
    while ins[-1] == "":
        ins.pop()
    inputs = [vi("x", T.FLOAT, ["N", 4, hh, ww]), vi("off", T.FLOAT, ["N", og * kh * kw * 2, oh, ow])]
    if with_mask:
        inputs.append(vi("mask", T.FLOAT, ["N", og * kh * kw, oh, ow]))
    inits = [numpy_helper.from_array(f32(6, 4 // g, kh, kw), "w")]
    if with_bias:
        inits.append(numpy_helper.from_array(f32(6), "b"))
    m = model([h.make_node("DeformConv", ins, ["y"], **attrs)], inputs, [vi("y", T.FLOAT, None)], inits, opset=19)

    def feeds(n):
        f = {"x": f32(n, 4, hh, ww), "off": f32(n, og * kh * kw * 2, oh, ow, low=-1.5, high=1.5)}
        if with_mask:
            f["mask"] = f32(n, og * kh * kw, oh, ow, low=0, high=1)
        return f

    harness.check_model(m, [feeds(1), feeds(2)], tmp_path, dims={"N": "1:1:2"})


CASES = node_suite.case_names({"RoiAlign", "NonMaxSuppression", "Col2Im", "CenterCropPad", "MaxUnpool", "DeformConv"})


@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("name", CASES)
def test_node_cases(tmp_path, name, mode):
    r = node_suite.run_case(name, mode, tmp_path)
    # Dynamic mode makes image_shape's length symbolic, which fixes Col2Im's output rank: the
    # engine has one variant per length (builder/variants.cpp).
    assert r["status"] == "pass", r
