"""TfIdfVectorizer and the ai.onnx.ml Binarizer / ArrayFeatureExtractor
against ONNX Runtime (TreeEnsemble: the ONNX reference evaluator), plus their ONNX backend node tests in static and
dynamic mode."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness
import node_suite

RNG = np.random.default_rng(13)


def model(nodes, inputs, outputs, opsets=(("", 9),), ir=8):
    g = h.make_graph(nodes, "g", inputs, outputs)
    m = h.make_model(g, opset_imports=[h.make_opsetid(d, v) for d, v in opsets])
    m.ir_version = ir
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


POOL = dict(ngram_counts=[0, 4], ngram_indexes=[0, 1, 2, 3, 4, 5, 6], pool_int64s=[2, 3, 5, 4, 5, 6, 7, 8, 6, 7])


@pytest.mark.parametrize("mode,weights", [("TF", None), ("IDF", None), ("IDF", [1, 2, 3, 4, 5, 6, 7]),
                                          ("TFIDF", [0.5, 1, 1.5, 2, 2.5, 3, 3.5])])
@pytest.mark.parametrize("min_len,max_len,skip", [(1, 1, 0), (2, 2, 0), (1, 2, 3), (2, 2, 5)])
@pytest.mark.parametrize("dtype", [T.INT32, T.INT64])
def test_tfidf(tmp_path, mode, weights, min_len, max_len, skip, dtype):
    attrs = dict(POOL, mode=mode, min_gram_length=min_len, max_gram_length=max_len, max_skip_count=skip)
    if weights:
        attrs["weights"] = [float(w) for w in weights]
    m = model([h.make_node("TfIdfVectorizer", ["x"], ["y"], **attrs)], [vi("x", dtype, ["N", "C"])],
              [vi("y", T.FLOAT, None)])
    np_t = np.int32 if dtype == T.INT32 else np.int64
    feeds = [{"x": RNG.integers(2, 9, (n, c)).astype(np_t)} for n, c in ((1, 1), (2, 6), (3, 12))]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:3", "C": "1:6:12"})


def test_tfidf_1d(tmp_path):
    m = model([h.make_node("TfIdfVectorizer", ["x"], ["y"], mode="TF", min_gram_length=1, max_gram_length=2,
                           max_skip_count=2, **POOL)], [vi("x", T.INT64, ["C"])], [vi("y", T.FLOAT, None)])
    harness.check_model(m, [{"x": RNG.integers(2, 9, (c,)).astype(np.int64)} for c in (3, 12)], tmp_path,
                        dims={"C": "1:6:12"})


@pytest.mark.parametrize("dtype", [T.FLOAT, T.DOUBLE])
def test_binarizer(tmp_path, dtype):
    np_t = np.float32 if dtype == T.FLOAT else np.float64
    m = model([h.make_node("Binarizer", ["x"], ["y"], domain="ai.onnx.ml", threshold=0.25)], [vi("x", dtype, ["N", 3])],
              [vi("y", dtype, None)], opsets=(("", 17), ("ai.onnx.ml", 1)))
    # ONNX Runtime implements Binarizer for float32 only.
    node_suite.check(m, [{"x": RNG.uniform(-1, 1, (n, 3)).astype(np_t)} for n in (1, 4)], tmp_path,
                     use_ort=dtype == T.FLOAT, dims={"N": "1:2:4"})


@pytest.mark.parametrize("x_shape,y_shape", [(["N", 5], [3]), ([2, "N", 5], [1, 2]), (["N"], [2])])
def test_array_feature_extractor(tmp_path, x_shape, y_shape):
    m = model([h.make_node("ArrayFeatureExtractor", ["x", "idx"], ["y"], domain="ai.onnx.ml")],
              [vi("x", T.FLOAT, x_shape), vi("idx", T.INT64, y_shape)], [vi("y", T.FLOAT, None)],
              opsets=(("", 17), ("ai.onnx.ml", 1)))

    def feeds(n):
        shape = tuple(n if d == "N" else d for d in x_shape)
        last = shape[-1]
        return {"x": RNG.standard_normal(shape).astype(np.float32),
                "idx": RNG.integers(0, last, tuple(y_shape)).astype(np.int64)}

    harness.check_model(m, [feeds(5), feeds(6)], tmp_path, dims={"N": "1:5:6"})


@pytest.mark.parametrize("aggregate", [0, 1, 2, 3])
@pytest.mark.parametrize("dtype", [T.FLOAT, T.DOUBLE])
def test_tree_ensemble(tmp_path, aggregate, dtype):
    from onnx import numpy_helper

    np_t = np.float32 if dtype == T.FLOAT else np.float64
    # Two trees over 3 features: tree 0 = nodes 0-1, tree 1 = node 2 (a MEMBER split).
    attrs = dict(
        aggregate_function=aggregate, n_targets=2, post_transform=0, tree_roots=[0, 2],
        nodes_featureids=[0, 1, 2], nodes_truenodeids=[1, 0, 2], nodes_falsenodeids=[1, 1, 3],
        nodes_trueleafs=[0, 1, 1], nodes_falseleafs=[1, 1, 1],
        nodes_modes=numpy_helper.from_array(np.array([0, 3, 6], np.uint8), "nodes_modes"),
        nodes_splits=numpy_helper.from_array(np.array([0.0, 0.5, np.nan], np_t), "nodes_splits"),
        membership_values=numpy_helper.from_array(np.array([1.0, 3.0, np.nan], np_t), "membership_values"),
        leaf_targetids=[0, 1, 1, 0], leaf_weights=numpy_helper.from_array(np.array([1.5, -2, 4, 0.25], np_t), "lw"))
    m = model([h.make_node("TreeEnsemble", ["x"], ["y"], domain="ai.onnx.ml", **attrs)], [vi("x", dtype, ["N", 3])],
              [vi("y", dtype, None)], opsets=(("", 21), ("ai.onnx.ml", 5)), ir=10)

    def feeds(n):
        x = RNG.uniform(-1, 1, (n, 3))
        x[:, 2] = RNG.integers(0, 4, n)
        return {"x": x.astype(np_t)}

    node_suite.check(m, [feeds(1), feeds(7)], tmp_path, use_ort=False, dims={"N": "1:4:8"})


CASES = node_suite.case_names({"TfIdfVectorizer", "Binarizer", "ArrayFeatureExtractor", "TreeEnsemble"})


@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("name", CASES)
def test_node_cases(tmp_path, name, mode):
    assert node_suite.run_case(name, mode, tmp_path)["status"] == "pass"
