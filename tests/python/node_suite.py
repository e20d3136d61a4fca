"""Helpers for op tests whose reference may be missing from ONNX Runtime:
compare with ONNX Runtime when it implements the op, else with the ONNX
reference evaluator (which produced the backend node tests' expected data),
and run selected ONNX backend node test cases in static and dynamic mode."""
from __future__ import annotations

import functools
import pathlib
import sys
import warnings

import numpy as np

import harness

sys.path.insert(0, str(harness.ROOT / "tools" / "conformance"))
import run_onnx_node_tests as runner  # noqa: E402


def reference(model, feeds: dict[str, np.ndarray], use_ort: bool = True) -> dict[str, np.ndarray]:
    if use_ort:
        return harness.reference(model, feeds)
    from onnx.reference import ReferenceEvaluator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = ReferenceEvaluator(model)
        names = [o.name for o in model.graph.output]
        return dict(zip(names, ev.run(None, feeds)))


def check(model, feeds_list, tmp: pathlib.Path, use_ort: bool = True, rtol=1e-4, atol=1e-4, **build_kwargs):
    """Build once, run every feed dict and compare with the reference."""
    engine = harness.build_engine(model, tmp, **build_kwargs)
    for feeds in feeds_list:
        harness.assert_close(harness.run_engine(engine, feeds, tmp), reference(model, feeds, use_ort), rtol, atol)
    return engine


@functools.cache
def _cases() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {c.name: c for c in runner.load_cases()}


def case_names(ops: set[str], exclude: tuple[str, ...] = ()) -> list[str]:
    """Names of the node test cases (not function expansions) testing one of `ops`."""
    out = []
    for name, c in sorted(_cases().items()):
        nodes = [n for n in c.model.graph.node if n.op_type != "Constant"]
        if len(nodes) == 1 and nodes[0].op_type in ops and not any(e in name for e in exclude):
            out.append(name)
    return out


def run_case(name: str, mode: str, tmp: pathlib.Path) -> dict:
    """{'status': 'pass' | 'fail' | 'unsupported', 'reason': ...} for one case and mode."""
    case = _cases()[name]
    why = runner.precheck(case)
    if why:
        return {"status": "unsupported", "reason": why}
    return runner.run_mode(harness.dynrt_bin(), case, mode, tmp)
