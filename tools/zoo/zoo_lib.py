"""Shared by the zoo test (tests/python/test_zoo.py) and the zoo report
(tools/zoo/run_zoo.py): which models, which shapes, which inputs."""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
ZOO = ROOT / "tests" / "models" / "zoo"
sys.path.insert(0, str(ROOT / "tests" / "python"))

import model_zoo  # noqa: E402


def manifest() -> dict:
    return json.loads((ZOO / "manifest.json").read_text())


def cases(full: bool):
    """(model, exporter, dims ranges, inputs spec, export error or None) for every model and exporter."""
    out = []
    for name, entry in manifest().items():
        dims = entry.get("dims") if full else entry.get("ci_dims")
        if dims is None:
            continue
        for exporter, info in entry["exports"].items():
            out.append((name, exporter, dims, entry.get("inputs", []), None if info["ok"] else info["error"]))
    return out


def test_bindings(dims: dict) -> list[tuple[str, dict]]:
    """min, opt, max and two uneven points in between (odd, and not equal across dims)."""
    def pick(f):
        return {d: max(r[0], min(r[2], f(d, r))) for d, r in dims.items()}
    points = [("min", pick(lambda d, r: r[0])), ("opt", pick(lambda d, r: r[1])), ("max", pick(lambda d, r: r[2])),
              ("uneven1", pick(lambda d, r: (r[0] + r[1]) // 2 | 1)),
              ("uneven2", pick(lambda d, r: ((r[1] + 2 * r[2]) // 3 | 1) - (4 if d == "width" else 0)))]
    return points


def dims_arg(dims: dict) -> dict:
    return {d: f"{r[0]}:{r[1]}:{r[2]}" for d, r in dims.items()}


def feeds(inputs: list, binding: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for spec in inputs:
        shape = tuple(binding[d] if isinstance(d, str) else d for d in spec["dims"])
        if spec["dtype"] == "float32":
            out[spec["name"]] = rng.standard_normal(shape).astype(np.float32)
        elif spec.get("mask"):
            m = np.ones(shape, np.int64)
            if shape[-1] > 1:
                m[0, shape[-1] // 2:] = 0  # a padded sequence makes the mask path matter
            out[spec["name"]] = m
        else:
            out[spec["name"]] = rng.integers(0, spec.get("high", 2), shape).astype(np.int64)
    return out


def load(name: str, exporter: str):
    return model_zoo.load(f"zoo/{name}.{exporter}.onnx")
