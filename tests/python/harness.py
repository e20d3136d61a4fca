"""Test harness: build a dynrt engine with the `dynrt` CLI, run it, and compare
with ONNX Runtime (the independent reference) on the same inputs."""
from __future__ import annotations

import os
import pathlib
import subprocess

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[2]


def dynrt_bin() -> str:
    build = os.environ.get("DYNRT_BUILD_DIR", str(ROOT / "build"))
    return str(pathlib.Path(build) / "dynrt")


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([dynrt_bin(), *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"dynrt {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def shapes_arg(shapes: dict[str, tuple]) -> str:
    return ",".join(f"{k}:{'x'.join(str(d) for d in v)}" for k, v in shapes.items())


def test_providers() -> list[str]:
    """DYNRT_TEST_PROVIDERS=cuda,cpu runs every engine the tests build on those
    providers (the GPU test run, scripts/gpu_tests.sh), DYNRT_TEST_PRECISION=fp16
    in that precision; unset: the defaults."""
    v = os.environ.get("DYNRT_TEST_PROVIDERS", "")
    p = os.environ.get("DYNRT_TEST_PRECISION", "")
    return (["--providers", v] if v else []) + (["--precision", p] if p else [])


def build_engine(model: onnx.ModelProto | str | pathlib.Path, tmp: pathlib.Path, dims: dict[str, str] | None = None,
                 min_shapes=None, opt_shapes=None, max_shapes=None, extra=()) -> pathlib.Path:
    """dims: {"batch": "1:4:8"}; *_shapes: {"input": (1, 3, 224, 224)}."""
    if isinstance(model, onnx.ModelProto):
        path = tmp / "model.onnx"
        onnx.save(model, str(path))
    else:
        path = pathlib.Path(model)
    engine = tmp / "model.engine"
    args = ["build", path, "-o", engine]
    for k, v in (dims or {}).items():
        args += ["--dim", f"{k}={v}"]
    if min_shapes:
        args += ["--min-shapes", shapes_arg(min_shapes), "--opt-shapes", shapes_arg(opt_shapes or min_shapes),
                 "--max-shapes", shapes_arg(max_shapes or min_shapes)]
    if "--providers" not in extra and "--device" not in extra:
        args += test_providers()
    run_cli(*args, *extra)
    return engine


def build_error(model: onnx.ModelProto, tmp: pathlib.Path, *args: str) -> str:
    """Builds a model that must be refused: returns the `dynrt: error (...)` message."""
    path = tmp / "refused.onnx"
    onnx.save(model, str(path))
    p = run_cli("build", path, "-o", tmp / "refused.engine", *args, check=False)
    assert p.returncode == 1 and p.stderr.startswith("dynrt: error ("), p.stderr
    return p.stderr


def run_engine(engine: pathlib.Path, feeds: dict[str, np.ndarray], tmp: pathlib.Path) -> dict[str, np.ndarray]:
    inp, out = tmp / "in.npz", tmp / "out.npz"
    np.savez(inp, **feeds)
    run_cli("run", engine, "--inputs", inp, "--outputs", out)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def reference(model: onnx.ModelProto | str | pathlib.Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def assert_close(got: dict, want: dict, rtol: float = 1e-4, atol: float = 1e-4) -> None:
    assert set(got) == set(want), f"outputs differ: {sorted(got)} vs {sorted(want)}"
    for k in want:
        g, w = got[k], want[k]
        assert g.shape == w.shape, f"{k}: shape {g.shape} != reference {w.shape}"
        assert g.dtype == w.dtype, f"{k}: dtype {g.dtype} != reference {w.dtype}"
        if w.dtype.kind in "fc":
            # Absolute error is measured against the output's scale: deep models
            # reach values in the thousands, where an element near zero cannot
            # be expected to match to 1e-4 in absolute terms.
            # Infinities in the reference (an overflowed float16) must match exactly and do
            # not set the scale (an infinite tolerance would accept anything).
            finite = np.abs(w[np.isfinite(w)]).astype(np.float64)
            scale = max(1.0, float(np.max(finite))) if finite.size else 1.0
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol * scale, err_msg=k)
        else:
            np.testing.assert_array_equal(g, w, err_msg=k)


def check_model(model, feeds_list: list[dict[str, np.ndarray]], tmp: pathlib.Path, rtol=1e-4, atol=1e-4,
                **build_kwargs) -> pathlib.Path:
    """Build once, then run every feed dict and compare each with ONNX Runtime."""
    engine = build_engine(model, tmp, **build_kwargs)
    for feeds in feeds_list:
        assert_close(run_engine(engine, feeds, tmp), reference(model, feeds), rtol, atol)
    return engine
