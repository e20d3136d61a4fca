"""The model zoo (tests/models/zoo, exported from PyTorch by both exporters) at
CI sizes: one engine per model, run at min, opt, max and two uneven shapes,
compared with ONNX Runtime. The full-size run is tools/zoo/run_zoo.py --full."""
import pathlib
import sys

import onnx
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools" / "zoo"))
import harness  # noqa: E402
import zoo_lib  # noqa: E402

# Models that need an op dynrt does not have yet: the test pins the exact
# reason, so implementing the op turns it into a correctness test.
MISSING_OP: dict[str, str] = {}
CASES = [c for c in zoo_lib.cases(full=False) if c[4] is None]
EXPORT_FAILURES = [c for c in zoo_lib.cases(full=False) if c[4] is not None]


@pytest.mark.parametrize("name,exporter,dims,inputs", [c[:4] for c in CASES], ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_zoo_model(tmp_path, name, exporter, dims, inputs):
    path = tmp_path / f"{name}.onnx"
    onnx.save(zoo_lib.load(name, exporter), str(path))
    feeds = [zoo_lib.feeds(inputs, b, seed=i) for i, (_, b) in enumerate(zoo_lib.test_bindings(dims))]
    if name in MISSING_OP:
        args = [x for d, r in zoo_lib.dims_arg(dims).items() for x in ("--dim", f"{d}={r}")]
        p = harness.run_cli("build", path, "-o", tmp_path / "e", *args, check=False)
        assert p.returncode == 1 and f"error (unsupported): unsupported op '{MISSING_OP[name]}'" in p.stderr, p.stderr
        return
    harness.check_model(path, feeds, tmp_path, dims=zoo_lib.dims_arg(dims))


def test_every_model_exported_with_both_exporters():
    assert not EXPORT_FAILURES
