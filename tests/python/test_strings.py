"""Tensors of strings through the Python API, against ONNX Runtime: StringConcat with
broadcasting, StringSplit, StringNormalizer, RegexFullMatch (RE2, as ONNX Runtime), Equal,
LabelEncoder between strings and numbers, string inputs with symbolic dims checked against the
profile, strings through an If, and an engine with strings saved and loaded."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h

dynrt = pytest.importorskip("dynrt")


def model(nodes, inputs, outputs, opset=20, ml=False):
    imports = [h.make_opsetid("", opset)] + ([h.make_opsetid("ai.onnx.ml", 4)] if ml else [])
    return h.make_model(h.make_graph(nodes, "g", inputs, outputs), opset_imports=imports)


def reference(m, feeds):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def strings(*items, shape=None):
    a = np.array(items, dtype=object)
    return a.reshape(shape) if shape else a


def check(ctx, m, feeds):
    got, want = ctx.run(feeds), reference(m, feeds)
    assert set(got) == set(want)
    for k, w in want.items():
        g = got[k]
        assert g.shape == w.shape, k
        if w.dtype == object:
            assert g.dtype == object
            assert g.tolist() == w.tolist(), k
        else:
            np.testing.assert_array_equal(g, w)


def test_concat_split_and_match_at_several_shapes():
    nodes = [h.make_node("StringConcat", ["a", "b"], ["ab"]),
             h.make_node("StringSplit", ["ab"], ["parts", "counts"], delimiter="-", maxsplit=2),
             h.make_node("RegexFullMatch", ["ab"], ["match"], pattern=r"[a-z]+-\d+(-.*)?"),
             h.make_node("Equal", ["a", "ab"], ["same"])]
    m = model(nodes, [h.make_tensor_value_info("a", T.STRING, ["n", "k"]), h.make_tensor_value_info("b", T.STRING, ["k"])],
              [h.make_tensor_value_info(n, t, None) for n, t in
               (("ab", T.STRING), ("parts", T.STRING), ("counts", T.INT64), ("match", T.BOOL), ("same", T.BOOL))])
    ctx = dynrt.compile(m, dims={"n": (1, 2, 8), "k": (1, 3, 4)}).engine.create_context()
    check(ctx, m, {"a": strings("abc", "de", "", "x-y", shape=(2, 2)), "b": strings("-1", "")})
    check(ctx, m, {"a": strings("héllo", "a", "b", shape=(1, 3)), "b": strings("-2-3-4", "--", "-9")})
    check(ctx, m, {"a": strings(*(f"w{i}" for i in range(32)), shape=(8, 4)), "b": strings("-1", "-x", "", "-")})
    with pytest.raises(dynrt.ShapeOutOfRange, match="input 'a' dimension 0 .* is 9, outside the range \\[1, 8\\]"):
        ctx.run({"a": strings(*(["s"] * 9), shape=(9, 1)), "b": strings("")})


def test_split_on_whitespace_and_normalize():
    nodes = [h.make_node("StringSplit", ["x"], ["parts", "counts"]),
             h.make_node("StringNormalizer", ["x"], ["norm"], case_change_action="UPPER", is_case_sensitive=0,
                         stopwords=["the", "A"], locale="C")]
    m = model(nodes, [h.make_tensor_value_info("x", T.STRING, ["n"])],
              [h.make_tensor_value_info("parts", T.STRING, None), h.make_tensor_value_info("counts", T.INT64, None),
               h.make_tensor_value_info("norm", T.STRING, None)])
    ctx = dynrt.compile(m, dims={"n": (1, 4, 16)}).engine.create_context()
    # Spaces only: on other whitespace (a tab) ONNX Runtime splits on ' ' alone, while the ONNX
    # reference (Python's str.split) and dynrt split on any ASCII whitespace.
    check(ctx, m, {"x": strings("  the quick  brown  ", "a", "", "Fox jumps")})
    check(ctx, m, {"x": strings("THE", "The")})  # every word a stopword: one empty string


def test_label_encoder_between_strings_and_numbers():
    enc = [h.make_node("LabelEncoder", ["s"], ["ids"], domain="ai.onnx.ml", keys_strings=["cat", "dog", "eel"],
                       values_int64s=[3, 5, 7], default_int64=-9),
           h.make_node("LabelEncoder", ["ids"], ["names"], domain="ai.onnx.ml", keys_int64s=[5, 7],
                       values_strings=["five", "seven"], default_string="?"),
           h.make_node("LabelEncoder", ["f"], ["g"], domain="ai.onnx.ml", keys_floats=[0.5, -1.0],
                       values_floats=[10.0, 20.0], default_float=-0.25)]
    m = model(enc, [h.make_tensor_value_info("s", T.STRING, ["n"]), h.make_tensor_value_info("f", T.FLOAT, ["n"])],
              [h.make_tensor_value_info("ids", T.INT64, None), h.make_tensor_value_info("names", T.STRING, None),
               h.make_tensor_value_info("g", T.FLOAT, None)], ml=True)
    ctx = dynrt.compile(m, dims={"n": (1, 4, 8)}).engine.create_context()
    check(ctx, m, {"s": strings("dog", "cow", "eel", "cat"), "f": np.array([0.5, 2, -1, 0.5], np.float32)})
    check(ctx, m, {"s": strings("x"), "f": np.array([3], np.float32)})


def test_strings_through_an_if_and_an_engine_file(tmp_path):
    branch = lambda name, op, out: h.make_graph(  # noqa: E731
        [h.make_node(op, ["x", "y"] if op == "StringConcat" else ["x"], [out])] if op else
        [h.make_node("Identity", ["x"], [out])], name, [], [h.make_tensor_value_info(out, T.STRING, None)])
    nodes = [h.make_node("If", ["c"], ["z"], then_branch=branch("t", "StringConcat", "tz"),
                         else_branch=branch("e", None, "ez"))]
    m = model(nodes, [h.make_tensor_value_info("c", T.BOOL, []), h.make_tensor_value_info("x", T.STRING, ["n"]),
                      h.make_tensor_value_info("y", T.STRING, ["n"])], [h.make_tensor_value_info("z", T.STRING, None)])
    engine = dynrt.compile(m, dims={"n": (1, 2, 4)}).engine
    engine.save(tmp_path / "s.engine")
    module = dynrt.load(tmp_path / "s.engine")
    for c in (True, False):
        feeds = {"c": np.array(c), "x": strings("a", "bc"), "y": strings("1", "2")}
        got, want = module.context.run(feeds)["z"], reference(m, feeds)["z"]
        assert got.tolist() == want.tolist()
    with pytest.raises(dynrt.InvalidInput, match="'x'.*tensor of strings"):
        module.context.run({"c": np.array(True), "x": [np.zeros(2, np.float32)], "y": strings("1", "2")})
    with pytest.raises(dynrt.InvalidModel, match=r"RegexFullMatch node producing 'm'.*pattern '\(unclosed' is not a valid RE2"):
        bad = model([h.make_node("RegexFullMatch", ["x"], ["m"], pattern="(unclosed")],
                    [h.make_tensor_value_info("x", T.STRING, [1])], [h.make_tensor_value_info("m", T.BOOL, None)])
        dynrt.compile(bad)


@pytest.mark.parametrize("src,values", [
    (T.FLOAT, np.array([0.1, 1.5, -2e-8, 1e20, np.inf, -np.inf, np.nan, 3.0], np.float32)),
    (T.DOUBLE, np.array([0.1, 1 / 3, -7.25e-300], np.float64)),
    (T.FLOAT16, np.array([0.1, 2, -65504], np.float16)),
    (T.INT64, np.array([-5, 7, 2**62], np.int64)),
    (T.UINT8, np.array([0, 255], np.uint8)),
    (T.BOOL, np.array([True, False])),
])
def test_cast_numbers_to_strings_and_back(src, values):
    """Numbers print as ONNX Runtime prints them ('%.8g', INF, NaN); strings parse back."""
    back = T.FLOAT if src in (T.FLOAT, T.FLOAT16) else src
    m = model([h.make_node("Cast", ["x"], ["s"], to=T.STRING), h.make_node("Cast", ["s"], ["y"], to=back)],
              [h.make_tensor_value_info("x", src, ["n"])],
              [h.make_tensor_value_info("s", T.STRING, None), h.make_tensor_value_info("y", back, None)], opset=21)
    ctx = dynrt.compile(m, dims={"n": (1, 4, 8)}).engine.create_context()
    got, want = ctx.run({"x": values}), reference(m, {"x": values})
    assert got["s"].tolist() == want["s"].tolist()
    np.testing.assert_array_equal(got["y"], want["y"])


def test_cast_from_text_that_is_no_number_is_an_error():
    m = model([h.make_node("Cast", ["s"], ["y"], to=T.INT32)], [h.make_tensor_value_info("s", T.STRING, [3])],
              [h.make_tensor_value_info("y", T.INT32, None)], opset=21)
    ctx = dynrt.compile(m).engine.create_context()
    np.testing.assert_array_equal(ctx.run({"s": strings("15", "-3", "100.5")})["y"], [15, -3, 100])  # as ONNX Runtime
    with pytest.raises(dynrt.InvalidInput, match="Cast node producing 'y'.*cannot cast 'twelve' to int32"):
        ctx.run({"s": strings("1", "twelve", "3")})
