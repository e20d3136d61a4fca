"""Build a model with dynrt and compare it with ONNX Runtime at min, opt, max and shapes in
between (polygraphy run --onnxrt's job, for a whole range of shapes):

    dynrt-compare MODEL.onnx --dim batch=1:8:64 [--dim seq=16:128:512] [--device cuda]
                  [--precision fp16] [--between 2] [--seed 0] [--tol T]
    python -m dynrt.compare ...   (the same)

One engine is built for the ranges; each shape gets random inputs (floats from a standard normal,
integers in [0, --int-high), booleans), both runtimes run them, and every output's worst absolute
error is printed against its scale (max |ONNX Runtime|). An output fails when its worst error is
above tol * max(1, scale) (tol: 1e-4 for fp32, 1e-2 for fp16, 3e-2 for bf16 by default). Exit
status 1 when any fails, 2 for a usage error."""
from __future__ import annotations

import argparse
import sys

import numpy as np

TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 3e-2}


class UsageError(Exception):
    pass


def _parse_dims(items: list[str]) -> dict[str, tuple[int, int, int]]:
    dims = {}
    for item in items:
        name, _, rng = item.partition("=")
        parts = rng.split(":") if rng else []
        try:
            vals = [int(p) for p in parts]
        except ValueError:
            vals = []
        if not name or len(vals) not in (1, 2, 3):
            raise UsageError(f"--dim wants NAME=MIN:OPT:MAX, got '{item}'")
        if len(vals) == 1:
            vals = vals * 3
        elif len(vals) == 2:
            vals = [vals[0], vals[1], vals[1]]
        dims[name] = tuple(vals)
    return dims


def _shapes(dims: dict, between: int) -> list[tuple[str, dict[str, int]]]:
    """Named dim values at min, opt, max and `between` uneven points inside the range."""
    points = [("min", {k: v[0] for k, v in dims.items()}), ("opt", {k: v[1] for k, v in dims.items()}),
              ("max", {k: v[2] for k, v in dims.items()})]
    for i in range(between):
        f = (i + 1) / (between + 1) + 0.137  # off the round values
        pick = {k: min(v[2], max(v[0], int(round(v[0] + (v[2] - v[0]) * (f % 1.0))))) for k, v in dims.items()}
        points.append((f"between{i + 1}", pick))
    return points


def _inputs(model, values: dict[str, int], rng, int_high: int) -> dict[str, np.ndarray]:
    from onnx import helper
    feeds = {}
    init = {i.name for i in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in init:
            continue
        shape = []
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_value"):
                shape.append(d.dim_value)
            elif d.dim_param in values:
                shape.append(values[d.dim_param])
            else:
                raise UsageError(f"input '{vi.name}' has dimension '{d.dim_param or '?'}' with no range: give it "
                                 f"one with --dim NAME=MIN:OPT:MAX")
        dtype = helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        if dtype == np.bool_:
            feeds[vi.name] = rng.integers(0, 2, shape).astype(np.bool_)
        elif np.issubdtype(dtype, np.integer):
            feeds[vi.name] = rng.integers(0, int_high, shape).astype(dtype)
        else:
            feeds[vi.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="dynrt-compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--dim", action="append", default=[], help="NAME=MIN:OPT:MAX, once per dynamic dimension")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", default="fp32", choices=sorted(TOLERANCE))
    ap.add_argument("--between", type=int, default=2, help="shapes inside the range besides min, opt, max")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--int-high", type=int, default=2, help="integer inputs are drawn from [0, INT_HIGH)")
    ap.add_argument("--tol", type=float, default=None, help="relative to max(1, max|reference|)")
    a = ap.parse_args(argv)
    import dynrt
    try:
        return _compare(a)
    except (UsageError, dynrt.InvalidConfig) as e:  # bad flags, or ranges the model needs
        print(f"dynrt-compare: {e}", file=sys.stderr)
        return 2
    except dynrt.Error as e:  # the model or the build
        print(f"dynrt-compare: error: {e}", file=sys.stderr)
        return 1


def _compare(a) -> int:
    import onnx
    import onnxruntime as ort

    import dynrt
    dims = _parse_dims(a.dim)
    tol = a.tol if a.tol is not None else TOLERANCE[a.precision]
    model = onnx.load(a.model)
    module = dynrt.compile(a.model, dims=dims, device=a.device, precision=a.precision)
    session = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    rng = np.random.default_rng(a.seed)
    worst_ratio, failures = 0.0, 0
    print(f"{a.model}: dynrt ({a.device}, {a.precision}) against ONNX Runtime CPU, tolerance {tol:g} * max(1, |ref|)")
    for label, values in _shapes(dims, a.between):
        feeds = _inputs(model, values, rng, a.int_high)
        want = dict(zip(names, session.run(None, feeds)))
        got = module.context.run(feeds)
        shape_text = " ".join(f"{k}={v}" for k, v in values.items()) or "static"
        for name in names:
            w, g = np.asarray(want[name]), np.asarray(got[name])
            if w.shape != g.shape:
                print(f"  {label:9} {shape_text:24} {name}: FAIL shape {g.shape} != reference {w.shape}")
                failures += 1
                continue
            if w.dtype.kind not in "fc":
                bad = int(np.count_nonzero(g != w))
                status = "ok" if bad == 0 else f"FAIL {bad} of {w.size} elements differ"
                failures += bad != 0
                print(f"  {label:9} {shape_text:24} {name}: {status}")
                continue
            scale = float(np.max(np.abs(w))) if w.size else 0.0
            err = float(np.max(np.abs(g.astype(np.float64) - w))) if w.size else 0.0
            bound = tol * max(1.0, scale)
            ok = err <= bound and np.array_equal(np.isnan(g), np.isnan(w))
            failures += not ok
            worst_ratio = max(worst_ratio, err / bound if bound else 0.0)
            print(f"  {label:9} {shape_text:24} {name}: max|diff| {err:.3g} (scale {scale:.3g}) "
                  f"{'ok' if ok else 'FAIL'}")
    print(f"{'FAILED' if failures else 'passed'}: {failures} output(s) out of tolerance; worst error "
          f"{worst_ratio:.2f} of the bound")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
