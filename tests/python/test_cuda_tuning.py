"""Build-time tuning of the CUDA provider's GEMMs (builder/tune.cpp,
backends/cuda/gemm_tuning.cpp): the builder runs the engine at the opt shape
(--tune range: also a grid of min, max and the powers of two between), each GEMM times cuBLASLt's
candidate algorithms there, and the engine keeps the winners for those exact
shapes. Tuned engines must give ONNX Runtime's answers at tuned shapes and
between them; a timing cache file must spare a rebuild every measurement. On
a machine without a GPU the flags are accepted and the CPU build has nothing
to tune."""
import re

import numpy as np
import pytest
from onnx import helper as h

import harness
from test_cuda import GPU, const, gpu, model, rand, vi


def ffn_model(hidden=256, inner=1024):
    # A transformer's feed-forward block: MatMul + bias + ReLU, MatMul + bias.
    nodes = [h.make_node("MatMul", ["x", "W1"], ["a"]), h.make_node("Add", ["a", "B1"], ["b"]),
             h.make_node("Relu", ["b"], ["c"]), h.make_node("MatMul", ["c", "W2"], ["d"]),
             h.make_node("Add", ["d", "B2"], ["y"])]
    return model(nodes, [vi("x", ["N", hidden])], [vi("y", None)],
                 [const("W1", rand(hidden, inner) * 0.06), const("B1", rand(inner)),
                  const("W2", rand(inner, hidden) * 0.03), const("B2", rand(hidden))])


def build(tmp_path, m, *extra):
    path = tmp_path / "m.onnx"
    import onnx
    onnx.save(m, str(path))
    engine = tmp_path / "m.engine"
    p = harness.run_cli("build", path, "-o", engine, "--dim", "N=1:64:4096", "--verbose", *extra)
    return engine, p.stderr


def assert_matches_ort(engine, m, feeds_list, precision, tmp_path):
    tol = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 3e-2}[precision]
    for feeds in feeds_list:
        got = harness.run_engine(engine, feeds, tmp_path)
        harness.assert_close(got, harness.reference(m, feeds), tol if precision == "fp32" else 0, tol)


def tuning_summary(stderr: str) -> tuple[int, int, int]:
    """(nodes tuned, problems timed, problems from the cache) from the build's last tuning line."""
    m = re.findall(r"tuned (\d+) nodes at \d+ shapes in [\d.]+ s: (\d+) problems timed, (\d+) from the timing cache",
                   stderr)
    assert m, f"no tuning summary in:\n{stderr}"
    return tuple(int(v) for v in m[-1])


def test_tuning_flags_on_a_cpu_build_have_nothing_to_tune(tmp_path):
    cache = tmp_path / "cache.txt"
    engine, err = build(tmp_path, ffn_model(32, 64), "--device", "cpu", "--timing-cache", cache)
    assert "tuned" not in err and not cache.exists()
    _, err = build(tmp_path, ffn_model(32, 64), "--device", "cpu", "--no-tune")
    assert "tuned" not in err
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:64:4096", "--tune", "fast",
                        check=False)
    assert p.returncode == 2 and "bad --tune 'fast': expected off, opt or range" in p.stderr, p.stderr


@gpu
@pytest.mark.parametrize("precision,tune", [("fp32", "opt"), ("fp16", "range"), ("bf16", "range")])
def test_tuned_engine_matches_onnxruntime_across_the_range(tmp_path, precision, tune):
    m = ffn_model()
    engine, err = build(tmp_path, m, "--device", "cuda", "--precision", precision, "--tune", tune)
    nodes, timed, cached = tuning_summary(err)
    # range over N=1:64:4096: 1, 2, 4, ..., 4096 (13 shapes), each GEMM timed at each
    shapes = 1 if tune == "opt" else 13
    assert f"tuning at {shapes} shapes" in err and nodes == 2 and timed == 2 * shapes, err
    # tuned shapes (1, 64, 4096) and shapes between them
    assert_matches_ort(engine, m, [{"x": rand(n, 256)} for n in (1, 37, 64, 700, 1500, 4096)], precision, tmp_path)


@gpu
def test_the_timing_cache_spares_a_rebuild_its_measurements(tmp_path):
    m = ffn_model()
    cache = tmp_path / "timing.cache"
    _, err = build(tmp_path, m, "--device", "cuda", "--precision", "fp16", "--timingCacheFile", cache)
    nodes, timed, _ = tuning_summary(err)
    assert nodes == 2 and timed >= 2
    lines = cache.read_text().splitlines()
    assert lines[0] == "dynrt timing cache 1" and len(lines) - 1 == timed
    assert all(ln.startswith("gemm cublasLt") for ln in lines[1:]), lines[:3]
    engine, err = build(tmp_path, m, "--device", "cuda", "--precision", "fp16", "--timing-cache", cache)
    nodes2, timed2, cached2 = tuning_summary(err)
    assert (nodes2, timed2) == (2, 0) and cached2 >= timed, err
    feeds = {"x": rand(300, 256)}
    harness.assert_close(harness.run_engine(engine, feeds, tmp_path), harness.reference(m, feeds), 0, 1e-2)


@gpu
def test_no_tune_builds_without_tuning(tmp_path):
    _, err = build(tmp_path, ffn_model(), "--device", "cuda", "--no-tune")
    assert "tuned" not in err, err




def cnn_model(c=32):
    # Conv + bias + ReLU, Conv + bias + residual + ReLU (one fused node each on cuda), and a Conv
    # without bias or activation.
    nodes = [h.make_node("Conv", ["x", "W1", "B1"], ["a"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["a"], ["b"]),
             h.make_node("Conv", ["b", "W2", "B2"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Add", ["c", "x"], ["d"]),
             h.make_node("Relu", ["d"], ["e"]), h.make_node("Conv", ["e", "W3"], ["y"], strides=[2, 2])]
    return model(nodes, [vi("x", ["N", c, "H", "H"])], [vi("y", None)],
                 [const("W1", rand(c, c, 3, 3) * 0.06), const("B1", rand(c)), const("W2", rand(c, c, 3, 3) * 0.06),
                  const("B2", rand(c)), const("W3", rand(2 * c, c, 1, 1) * 0.2)])


def build_cnn(tmp_path, m, *extra):
    import onnx
    path = tmp_path / "cnn.onnx"
    onnx.save(m, str(path))
    engine = tmp_path / "cnn.engine"
    p = harness.run_cli("build", path, "-o", engine, "--dim", "N=1:4:8", "--dim", "H=8:24:40", "--verbose", *extra)
    return engine, p.stderr


@gpu
@pytest.mark.parametrize("precision,tune", [("fp32", "opt"), ("fp16", "range"), ("bf16", "opt")])
def test_tuned_convolutions_match_onnxruntime_across_the_range(tmp_path, precision, tune):
    m = cnn_model()
    engine, err = build_cnn(tmp_path, m, "--device", "cuda", "--precision", precision, "--tune", tune)
    nodes, timed, cached = tuning_summary(err)
    assert nodes == 3 and timed >= 3, err  # the three convolutions, each timed at least at opt
    # range: N in 1, 2, 4, 8 by H in 8, 16, 24 (opt), 32, 40
    assert f"tuning at {1 if tune == 'opt' else 20} shapes" in err, err
    # opt, min, max and shapes between
    assert_matches_ort(engine, m, [{"x": rand(n, 32, hw, hw)} for n, hw in ((4, 24), (1, 8), (8, 40), (3, 17), (4, 23))],
                       precision, tmp_path)


@gpu
def test_the_timing_cache_keeps_convolution_timings(tmp_path):
    m = cnn_model()
    cache = tmp_path / "timing.cache"
    _, err = build_cnn(tmp_path, m, "--device", "cuda", "--precision", "fp16", "--timing-cache", cache)
    nodes, timed, _ = tuning_summary(err)
    assert nodes == 3 and timed == 3, err
    lines = cache.read_text().splitlines()
    assert sum(ln.startswith("conv cudnn") for ln in lines) == 3, lines
    engine, err = build_cnn(tmp_path, m, "--device", "cuda", "--precision", "fp16", "--timing-cache", cache)
    assert tuning_summary(err)[:2] == (3, 0), err
    feeds = {"x": rand(2, 32, 30, 30)}
    harness.assert_close(harness.run_engine(engine, feeds, tmp_path), harness.reference(m, feeds), 0, 1e-2)
