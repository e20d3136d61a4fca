"""The whole ONNX backend node test suite, in both modes (static and dynamic
shapes), must not lose passing cases: the pass counts may not drop below
docs/conformance/baseline.json, and no case may crash or hang.

The suite takes well under a minute on 2 cores (about 1900 cases x 2 modes).
After raising the pass count, regenerate the report and the baseline:

    python3 tools/conformance/run_onnx_node_tests.py --build-dir build --update-baseline
"""
from __future__ import annotations

import json
import os
import pathlib
import sys

import onnx

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "conformance"))

import run_onnx_node_tests as conf  # noqa: E402


def test_node_suite_does_not_regress():
    build = os.environ.get("DYNRT_BUILD_DIR", str(ROOT / "build"))
    report = conf.run_suite(build, jobs=2, progress=False)
    totals = conf.totals(report)

    # Crashes and hangs are failures whatever the onnx version.
    broken = sorted(f"{name} [{m}]: {r[m]['reason']}" for name, r in report["cases"].items() for m in conf.MODES
                    if r[m]["status"] == "fail" and (r[m]["reason"] or "").startswith(("crash", "hang")))
    assert not broken, "crashes or hangs:\n" + "\n".join(broken)

    baseline = json.loads((ROOT / "docs/conformance/baseline.json").read_text())
    if baseline["onnx_version"] != onnx.__version__:
        # Another onnx release has another set of cases: counts are not comparable.
        print(f"onnx {onnx.__version__} installed, baseline is for {baseline['onnx_version']}: counts not compared")
        return

    # Which cases passed in the committed report but not now (for the message).
    committed = json.loads((ROOT / "docs/conformance/onnx_node_tests.json").read_text())["cases"]
    lost = sorted(f"{name} [{m}]: {r[m]['status']}: {r[m]['reason']}" for name, r in report["cases"].items()
                  for m in conf.MODES
                  if r[m]["status"] != "pass" and committed.get(name, {}).get(m, {}).get("status") == "pass")
    for m in conf.MODES:
        assert totals[m]["pass"] >= baseline[m]["pass"], (
            f"{m}: {totals[m]['pass']} node cases pass, baseline {baseline[m]['pass']}; no longer passing:\n"
            + "\n".join(lost))
