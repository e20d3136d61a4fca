"""The random ops (RandomUniform, RandomNormal and their *Like forms, Bernoulli,
Multinomial) and training-mode Dropout. Their values cannot match another
implementation's generator, so the reference here is the distribution: sample
means, spreads and frequencies over many draws within about five standard
errors of what the parameters give, ranges respected, seeds reproducible from
one process to the next, and no value frozen into the engine at build time."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness

N = 20000


def model(nodes, inputs, outputs, inits=(), opset=22):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def run(m, feeds, tmp_path, dims=None):
    engine = harness.build_engine(m, tmp_path, dims=dims)
    return harness.run_engine(engine, feeds, tmp_path), engine


@pytest.mark.parametrize("dtype", [T.FLOAT, T.DOUBLE, T.FLOAT16])
def test_random_uniform_range_and_mean(tmp_path, dtype):
    m = model([h.make_node("RandomUniform", [], ["y"], shape=[N], low=-2.0, high=6.0, dtype=dtype)], [],
              [vi("y", dtype, [N])])
    y = run(m, {}, tmp_path)[0]["y"].astype(np.float64)
    assert y.min() >= -2.0 and y.max() <= 6.0
    assert abs(y.mean() - 2.0) < 5 * 8 / np.sqrt(12 * N)
    assert abs(y.std() - 8 / np.sqrt(12)) < 0.05


def test_random_normal_like_moments(tmp_path):
    m = model([h.make_node("RandomNormalLike", ["x"], ["y"], mean=1.5, scale=0.5)], [vi("x", T.FLOAT, ["N"])],
              [vi("y", T.FLOAT, ["N"])])
    y = run(m, {"x": np.zeros(N, np.float32)}, tmp_path, dims={"N": f"1:{N}:{N}"})[0]["y"].astype(np.float64)
    assert y.shape == (N,)
    assert abs(y.mean() - 1.5) < 5 * 0.5 / np.sqrt(N)
    assert abs(y.std() - 0.5) < 0.02


def test_seed_reproduces_and_no_seed_differs(tmp_path):
    seeded = model([h.make_node("RandomUniformLike", ["x"], ["y"], seed=7.0)], [vi("x", T.FLOAT, [64])],
                   [vi("y", T.FLOAT, [64])])
    feeds = {"x": np.zeros(64, np.float32)}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = run(seeded, feeds, tmp_path / "a")[0]["y"]
    b = run(seeded, feeds, tmp_path / "b")[0]["y"]
    np.testing.assert_array_equal(a, b)
    unseeded = model([h.make_node("RandomUniformLike", ["x"], ["y"])], [vi("x", T.FLOAT, [64])], [vi("y", T.FLOAT, [64])])
    (tmp_path / "c").mkdir()
    c, engine = run(unseeded, feeds, tmp_path / "c")
    d = harness.run_engine(engine, feeds, tmp_path / "c")["y"]
    assert not np.array_equal(c, d), "two runs of an unseeded engine gave the same values"


def test_random_values_are_not_folded_into_the_engine(tmp_path):
    """RandomUniform has no inputs: constant folding must leave it to run time."""
    m = model([h.make_node("RandomUniform", [], ["r"], shape=[256]), h.make_node("Add", ["r", "x"], ["y"])],
              [vi("x", T.FLOAT, [256])], [vi("y", T.FLOAT, [256])])
    feeds = {"x": np.zeros(256, np.float32)}
    y1, engine = run(m, feeds, tmp_path)
    y2 = harness.run_engine(engine, feeds, tmp_path)
    assert not np.array_equal(y1["y"], y2["y"])


@pytest.mark.parametrize("out", [T.FLOAT, T.INT32, T.BOOL])
def test_bernoulli_frequencies(tmp_path, out):
    p = np.concatenate([np.full(N, 0.3), np.zeros(100), np.ones(100)]).astype(np.float32)
    m = model([h.make_node("Bernoulli", ["p"], ["y"], dtype=out)], [vi("p", T.FLOAT, [p.size])], [vi("y", out, [p.size])])
    y = run(m, {"p": p}, tmp_path)[0]["y"].astype(np.float64)
    assert np.isin(y, (0, 1)).all()
    assert abs(y[:N].mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / N)
    assert (y[N:N + 100] == 0).all() and (y[N + 100:] == 1).all()


def test_multinomial_frequencies(tmp_path):
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    logits = np.log(np.maximum(probs, 1e-30)).astype(np.float32)
    m = model([h.make_node("Multinomial", ["x"], ["y"], sample_size=N, dtype=T.INT64, seed=3.0)],
              [vi("x", T.FLOAT, [2, 3])], [vi("y", T.INT64, [2, N])])
    y = run(m, {"x": logits}, tmp_path)[0]["y"]
    assert y.shape == (2, N) and y.min() >= 0 and y.max() <= 2
    for r in range(2):
        freq = np.bincount(y[r], minlength=3) / N
        np.testing.assert_allclose(freq, probs[r], atol=5 * np.sqrt(0.25 / N))


@pytest.mark.parametrize("ratio", [0.25, 0.75])
def test_training_dropout(tmp_path, ratio):
    x = np.random.default_rng(0).uniform(1, 2, N).astype(np.float32)
    inits = [numpy_helper.from_array(np.float32(ratio), "r"), numpy_helper.from_array(np.bool_(True), "t")]
    m = model([h.make_node("Dropout", ["x", "r", "t"], ["y", "mask"], seed=1.0)], [vi("x", T.FLOAT, ["N"])],
              [vi("y", T.FLOAT, ["N"]), vi("mask", T.BOOL, ["N"])], inits)
    got = run(m, {"x": x}, tmp_path, dims={"N": f"1:{N}:{N}"})[0]
    y, mask = got["y"], got["mask"]
    np.testing.assert_allclose(y[mask], x[mask] / (1 - ratio), rtol=1e-6)
    assert (y[~mask] == 0).all()
    assert abs(mask.mean() - (1 - ratio)) < 5 * np.sqrt(ratio * (1 - ratio) / N)


def test_dropout_not_training_is_the_identity(tmp_path):
    x = np.arange(10, dtype=np.float32)
    inits = [numpy_helper.from_array(np.float32(0.5), "r"), numpy_helper.from_array(np.bool_(False), "t")]
    m = model([h.make_node("Dropout", ["x", "r", "t"], ["y", "mask"])], [vi("x", T.FLOAT, [10])],
              [vi("y", T.FLOAT, [10]), vi("mask", T.BOOL, [10])], inits)
    got = run(m, {"x": x}, tmp_path)[0]
    np.testing.assert_array_equal(got["y"], x)
    assert got["mask"].all()


def test_dropout_ratio_of_one_is_an_input_error(tmp_path):
    m = model([h.make_node("Dropout", ["x", "r", "t"], ["y"])],
              [vi("x", T.FLOAT, [4]), vi("r", T.FLOAT, []), vi("t", T.BOOL, [])], [vi("y", T.FLOAT, [4])])
    engine = harness.build_engine(m, tmp_path)
    np.savez(tmp_path / "in.npz", x=np.ones(4, np.float32), r=np.float32(1.0), t=np.bool_(True))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1 and "error (invalid input)" in p.stderr and "outside [0, 1)" in p.stderr
