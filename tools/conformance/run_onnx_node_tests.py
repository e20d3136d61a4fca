#!/usr/bin/env python3
"""Run the ONNX backend node test suite through the dynrt CLI, in two modes.

static:  the engine is built for the test's exact input shapes.
dynamic: every input dim is made symbolic (dim_param "<input>_d<i>") and the
         engine is built for the range [1, 2*actual] (opt = actual; a dim of 0
         gets [0, 1], opt 0), so it is compiled without knowing the shapes it
         will see, then run with the test's inputs.

Each case is classified per mode as pass, fail (wrong answer, wrong
shape/dtype, crash, hang, or an error other than 'unsupported') or unsupported
(dynrt said "error (unsupported)", or the case uses element types dynrt cannot
take). Cases with sequences, optionals or strings at the graph boundary are
built and run through the Python API (lists of arrays, None, object arrays of
str) in a child process.

    python3 tools/conformance/run_onnx_node_tests.py --build-dir build [--update-baseline]

writes docs/conformance/onnx_node_tests.md and docs/conformance/onnx_node_tests.json
(and with --update-baseline the pass counts tests/python/test_conformance_baseline.py
checks, docs/conformance/baseline.json). --only REGEX runs a subset and prints its
non-passing cases.
"""
from __future__ import annotations

import argparse
import atexit
import collections
import concurrent.futures as cf
import glob
import json
import os
import pathlib
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODES = ("static", "dynamic")
TIMEOUT_S = 20.0

# Element types the runner can hand to dynrt (npz) and dynrt can store.
# bfloat16 has no npz encoding: such graph inputs/outputs cross the boundary
# as float32 through an exact Cast added to the model (see adapt_bfloat16).
# The narrow types (ml_dtypes arrays) cross as raw bytes ('|V1'), dynrt's npz convention for them.
NARROW = {"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn",
          "int4", "uint4", "int2", "uint2"}
NUMPY_OK = {"float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "uint16",
            "uint32", "uint64", "bool"} | NARROW
ONNX_OK = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.INT8,
           TensorProto.INT16, TensorProto.INT32, TensorProto.INT64, TensorProto.UINT8, TensorProto.UINT16,
           TensorProto.UINT32, TensorProto.UINT64, TensorProto.BOOL, TensorProto.FLOAT8E4M3FN,
           TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2, TensorProto.FLOAT8E5M2FNUZ, TensorProto.FLOAT8E8M0,
           TensorProto.FLOAT4E2M1, TensorProto.INT4, TensorProto.UINT4, TensorProto.INT2, TensorProto.UINT2}
F32_SUFFIX = "__as_float32"
# 16-bit float outputs compare with rtol at least two units in the last place of
# their type. The suite's expected values for the *_expanded float16/bfloat16
# cases round after every op of the expanded function; dynrt's kernels round
# once and land nearer the float64 result (test_attention_4d_causal_fp16_expanded:
# max error 4.0e-4 against the suite's 4.9e-4; the bf16 cases 3.4e-3 against
# 4.4e-3), up to two units apart from the suite's values.
RTOL_FLOOR = {"float16": 2.0 ** -9, "bfloat16": 2.0 ** -6}


# ---- loading the cases --------------------------------------------------------------------------

def _as_array(x):
    """Test data comes as arrays, numpy scalars, TensorProtos, lists (sequences) or None (optionals)."""
    if isinstance(x, TensorProto):
        return numpy_helper.to_array(x)
    if isinstance(x, np.generic):
        return np.asarray(x)
    return x


class Case:
    __slots__ = ("name", "model", "inputs", "outputs", "rtol", "atol")

    def __init__(self, name, model, inputs, outputs, rtol, atol):
        self.name, self.model, self.rtol, self.atol = name, model, rtol, atol
        self.inputs = [_as_array(x) for x in inputs]
        self.outputs = [_as_array(x) for x in outputs]


def _read_pb(path: str, type_proto) -> object:
    """A test-data file, typed by the graph input/output it belongs to."""
    data = pathlib.Path(path).read_bytes()
    which = type_proto.WhichOneof("value") if type_proto is not None else "tensor_type"
    if which == "sequence_type":
        p = onnx.SequenceProto()
        p.ParseFromString(data)
        return onnx.numpy_helper.to_list(p)
    if which == "optional_type":
        p = onnx.OptionalProto()
        p.ParseFromString(data)
        return onnx.numpy_helper.to_optional(p)
    t = TensorProto()
    t.ParseFromString(data)
    return numpy_helper.to_array(t)


def _load_from_files(data_dir: str) -> list[Case]:
    """Releases before the in-memory loader kept the cases under onnx/backend/test/data/node."""
    cases = []
    for case_dir in sorted(glob.glob(os.path.join(data_dir, "*"))):
        model_path = os.path.join(case_dir, "model.onnx")
        if not os.path.exists(model_path):
            continue
        model = onnx.load(model_path)
        rtol, atol = 1e-3, 1e-7
        meta = os.path.join(case_dir, "data.json")
        if os.path.exists(meta):
            with open(meta) as f:
                d = json.load(f)
            rtol, atol = d.get("rtol", rtol), d.get("atol", atol)
        init = {i.name for i in model.graph.initializer}
        gin = [i for i in model.graph.input if i.name not in init]
        for ds in sorted(glob.glob(os.path.join(case_dir, "test_data_set_*"))):
            n_in = len(glob.glob(os.path.join(ds, "input_*.pb")))
            n_out = len(glob.glob(os.path.join(ds, "output_*.pb")))
            ins = [_read_pb(os.path.join(ds, f"input_{i}.pb"), gin[i].type if i < len(gin) else None) for i in range(n_in)]
            outs = [_read_pb(os.path.join(ds, f"output_{i}.pb"),
                             model.graph.output[i].type if i < len(model.graph.output) else None) for i in range(n_out)]
            suffix = "" if ds.endswith("_0") else "_" + os.path.basename(ds)
            cases.append(Case(os.path.basename(case_dir) + suffix, model, ins, outs, rtol, atol))
    return cases


def load_cases() -> list[Case]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import onnx.backend.test.loader as loader
        import onnx.backend.test.case.node  # noqa: F401  (registers the in-memory node cases)
        if hasattr(loader, "load_node_model_tests") or "load_node_model_tests" in dir(loader):
            raw = loader.load_model_tests(kind="node")
        else:
            raw = []
        if raw and getattr(raw[0], "model", None) is not None:
            cases = []
            for tc in raw:
                for k, (ins, outs) in enumerate(tc.data_sets or []):
                    name = tc.name if k == 0 else f"{tc.name}_{k}"
                    cases.append(Case(name, tc.model, list(ins), list(outs), tc.rtol, tc.atol))
            return sorted(cases, key=lambda c: c.name)
        data_dir = os.path.join(os.path.dirname(loader.__file__), "data", "node")
        return _load_from_files(data_dir)


# ---- classifying a case -------------------------------------------------------------------------

def op_of(case: Case, by_name: dict[str, Case]) -> str:
    """The op a case tests: its node's op, or for expanded (function body) models the op of the
    unexpanded sibling test."""
    nodes = [n for n in case.model.graph.node if n.op_type != "Constant"] or list(case.model.graph.node)
    if len(nodes) == 1:
        return nodes[0].op_type
    m = re.match(r"(.*?)_expanded", case.name)
    if m and m.group(1) in by_name:
        sib = [n for n in by_name[m.group(1)].model.graph.node if n.op_type != "Constant"]
        if len(sib) == 1:
            return sib[0].op_type
    return nodes[0].op_type if nodes else "(none)"


PLAIN = {"float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "bool"}


def is_plain(case: Case) -> bool:
    """Inputs and outputs are all tensors numpy's npz holds natively (no sequences, optionals,
    strings, bfloat16 or narrow ml_dtypes types)."""
    return all(isinstance(a, np.ndarray) and str(a.dtype) in PLAIN for a in list(case.inputs) + list(case.outputs))


def graph_inputs(model: onnx.ModelProto):
    init = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in init]


def tensor_type_of(type_proto):
    """The tensor type a graph input or output holds: itself, or a sequence's or optional's elements."""
    t = type_proto
    if t.WhichOneof("value") == "optional_type":
        t = t.optional_type.elem_type
    if t.WhichOneof("value") == "sequence_type":
        t = t.sequence_type.elem_type
    return t.tensor_type if t.WhichOneof("value") == "tensor_type" else None


def has_values(case: Case) -> bool:
    """Sequences, optionals or strings at the graph boundary: run through the Python API (run_values)."""
    vis = list(graph_inputs(case.model)) + list(case.model.graph.output)
    return any(vi.type.WhichOneof("value") != "tensor_type" or vi.type.tensor_type.elem_type == TensorProto.STRING
               for vi in vis)


def precheck(case: Case) -> str | None:
    """Why dynrt can't take this case at all (counted unsupported), or None."""
    for kind, vis, data in (("input", graph_inputs(case.model), case.inputs), ("output", case.model.graph.output, case.outputs)):
        for vi in vis:
            tt = tensor_type_of(vi.type)
            if tt is None:
                return f"{vi.type.WhichOneof('value').replace('_type', '')} {kind}"
            if tt.elem_type not in ONNX_OK and not (tt.elem_type == TensorProto.STRING and vi.type.HasField("tensor_type")):
                return f"element type {TensorProto.DataType.Name(tt.elem_type).lower()}"
        for a in data:
            for x in a if isinstance(a, list) else [] if a is None else [a]:
                if not isinstance(x, np.ndarray):
                    return f"{type(x).__name__} {kind}"
                if x.dtype.kind in "OU" and has_values(case):
                    continue  # strings, through the Python API
                if str(x.dtype) not in NUMPY_OK or (has_values(case) and str(x.dtype) not in PLAIN):
                    return f"element type {x.dtype}"
    if len(case.inputs) != len(graph_inputs(case.model)):
        return "inputs omitted from the test data"
    return None


def make_variant(case: Case, mode: str) -> tuple[onnx.ModelProto, dict[str, tuple], dict[str, tuple], dict[str, tuple]]:
    """The model to build and its per-input min/opt/max shapes (only inputs needing a profile)."""
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    mins, opts, maxs = {}, {}, {}
    for vi, arr in zip(graph_inputs(model), case.inputs):
        if vi.type.WhichOneof("value") != "tensor_type":
            continue  # a sequence or optional: its elements' sizes are data, not profile dims
        tt = vi.type.tensor_type
        shape = tuple(int(d) for d in arr.shape)
        if mode == "dynamic" or not tt.HasField("shape") or len(tt.shape.dim) != len(shape):
            # Symbolic everywhere: a fresh name per input dim.
            tt.ClearField("shape")
            tt.shape.SetInParent()
            for i, _ in enumerate(shape):
                tt.shape.dim.add().dim_param = f"{vi.name}_d{i}"
        elif all(d.HasField("dim_value") for d in tt.shape.dim):
            continue  # fully static: no profile needed
        if not shape:
            continue
        if mode == "dynamic":
            mins[vi.name] = tuple(0 if d == 0 else 1 for d in shape)
            maxs[vi.name] = tuple(1 if d == 0 else 2 * d for d in shape)
        else:
            mins[vi.name] = maxs[vi.name] = shape
        opts[vi.name] = shape
    adapt_bfloat16(model)
    renamed = {vi.name.removesuffix(F32_SUFFIX): vi.name for vi in graph_inputs(model)}
    mins, opts, maxs = ({renamed[k]: v for k, v in d.items()} for d in (mins, opts, maxs))
    return model, mins, opts, maxs


def adapt_bfloat16(model: onnx.ModelProto) -> None:
    """bfloat16 graph inputs become float32 inputs followed by Cast(to=bfloat16),
    bfloat16 outputs get a Cast(to=float32): both conversions are exact, so the
    engine still computes in bfloat16 and the results compare bit for bit."""
    for vi in graph_inputs(model):
        tt = vi.type.tensor_type
        if tt.elem_type != TensorProto.BFLOAT16:
            continue
        name = vi.name
        vi.name = name + F32_SUFFIX
        tt.elem_type = TensorProto.FLOAT
        model.graph.node.insert(0, onnx.helper.make_node("Cast", [vi.name], [name], to=TensorProto.BFLOAT16))
    for vi in model.graph.output:
        tt = vi.type.tensor_type
        if tt.elem_type != TensorProto.BFLOAT16:
            continue
        name = vi.name
        vi.name = name + F32_SUFFIX
        tt.elem_type = TensorProto.FLOAT
        model.graph.node.append(onnx.helper.make_node("Cast", [name], [vi.name], to=TensorProto.FLOAT))


def boundary_array(a: np.ndarray) -> np.ndarray:
    """What crosses the npz boundary for a test array (bfloat16 as float32)."""
    return a.astype(np.float32) if str(a.dtype) == "bfloat16" else a


def shapes_arg(shapes: dict[str, tuple]) -> str:
    return ",".join(f"{k}:{'x'.join(str(d) for d in v)}" for k, v in shapes.items())


def first_error_line(text: str) -> str:
    for line in text.splitlines():
        if "error" in line:
            return line.strip()
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def run_cli(binary: str, args: list[str], timeout: float) -> tuple[str, str | None]:
    """('ok', None) | ('unsupported', msg) | ('fail', msg)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    try:
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=env,
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        return "fail", f"hang (no result in {timeout:.0f} s)"
    if p.returncode == 0:
        return "ok", None
    if p.returncode < 0:
        try:
            name = signal.Signals(-p.returncode).name
        except ValueError:
            name = str(-p.returncode)
        return "fail", f"crash ({name})"
    # Keep the reports reproducible: no temporary paths in the reasons.
    msg = re.sub(r"[^\s']*dynrt_conf_[^/\s']*/", "", first_error_line(p.stderr + p.stdout))
    if "error (unsupported)" in msg:
        return "unsupported", msg.split("error (unsupported):", 1)[1].strip()
    return "fail", msg.replace("dynrt: ", "", 1)


def compare(got: dict, names: list[str], want: list[np.ndarray], rtol: float, atol: float,
            rtol_floors: list[float] | None = None) -> str | None:
    for i, (name, w) in enumerate(zip(names, want)):
        out_rtol = max(rtol, rtol_floors[i]) if rtol_floors else rtol
        if name not in got:
            return f"output '{name}' missing"
        g = got[name]
        if w is None or g is None:  # optionals: both without a value
            if (w is None) != (g is None):
                return f"wrong answer ({name}: {'a value' if g is not None else 'none'}, expected {'none' if w is None else 'a value'})"
            continue
        if isinstance(w, list) or isinstance(g, list):  # sequences: element by element
            if not (isinstance(w, list) and isinstance(g, list)) or len(g) != len(w):
                return (f"wrong answer ({name}: {len(g) if isinstance(g, list) else 'a tensor'} elements, "
                        f"expected {len(w) if isinstance(w, list) else 'a tensor'})")
            for j, (gj, wj) in enumerate(zip(g, w)):
                why = compare({f"{name}[{j}]": gj}, [f"{name}[{j}]"], [wj], rtol, atol, [out_rtol])
                if why:
                    return why
            continue
        if g.dtype.kind == "V" and g.dtype.itemsize == 1 and str(w.dtype) in NARROW:
            g = g.view(w.dtype)  # raw bytes: dynrt writes narrow outputs as '|V1'
        if g.dtype != w.dtype:
            return f"wrong dtype ({name}: {g.dtype}, expected {w.dtype})"
        if g.shape != w.shape:
            return f"wrong shape ({name}: {g.shape}, expected {w.shape})"
        if str(w.dtype) in NARROW:  # compared as the values they encode (NaN equal to NaN)
            g, w = g.astype(np.float32), w.astype(np.float32)
        try:
            if w.dtype.kind in "fc":
                np.testing.assert_allclose(g, w, rtol=out_rtol, atol=atol, equal_nan=True)
            else:
                np.testing.assert_array_equal(g, w)
        except AssertionError:
            if w.dtype.kind == "f" and g.shape == w.shape and w.size:
                d = np.abs(g.astype(np.float64) - w.astype(np.float64))
                bad = ~(d <= atol + out_rtol * np.abs(w.astype(np.float64)))
                bad &= ~(np.isnan(g) & np.isnan(w))
                if bad.any():
                    k = int(np.argmax(np.where(bad, d, -1)))
                    return (f"wrong answer ({name}: {np.count_nonzero(bad)} of {w.size} elements off, the worst "
                            f"{float(g.flat[k]):.7g} against {float(w.flat[k]):.7g})")
            return "wrong answer"
    return None


RANDOM_OPS = {"RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike", "Bernoulli", "Multinomial"}


def random_check(case: Case, got: dict, names: list[str]) -> str | None:
    """Cases whose outputs are random are checked by shape, dtype and range: Bernoulli's outputs
    are 0 or 1; a training Dropout's each 0 or x / (1 - ratio), its mask true exactly where
    x / (1 - ratio) was kept. None: not a random case (compare values), or the check's verdict."""
    ops = {n.op_type for n in case.model.graph.node}
    if ops & RANDOM_OPS:
        if ops - RANDOM_OPS - {"Cast", "Less", "Greater", "Constant", "Identity"}:
            return None  # other arithmetic on random values: nothing to compare
    elif "Dropout" in ops and len(case.inputs) == 3 and bool(np.asarray(case.inputs[2])):
        pass
    else:
        return None
    for name, w in zip(names, case.outputs):
        g = got.get(name)
        if g is None:
            return f"output '{name}' missing"
        w = boundary_array(w)
        if g.dtype != w.dtype or g.shape != w.shape:
            return f"wrong dtype or shape ({name}: {g.dtype} {g.shape}, expected {w.dtype} {w.shape})"
    if "Bernoulli" in ops or "RandomUniformLike" in ops:
        for name in names:
            if not np.isin(got[name].astype(np.float64), (0.0, 1.0)).all():
                return f"random output '{name}' holds values other than 0 and 1"
        return "ok"
    if "Dropout" in ops:
        x = np.asarray(case.inputs[0]).astype(np.float64)
        ratio = float(np.asarray(case.inputs[1])) if len(case.inputs) > 1 else 0.5
        y = got[names[0]].astype(np.float64)
        kept = np.isclose(y, x / (1 - ratio), rtol=1e-5, atol=0)
        if not (kept | (y == 0)).all():
            return "a training Dropout output is neither 0 nor x / (1 - ratio)"
        if len(names) > 1 and not (got[names[1]] == (kept & ~((y == 0) & (x != 0)))).all():
            return "the Dropout mask does not match the output"
        return "ok"
    return None


def run_mode_values(case: Case, mode: str, work: pathlib.Path) -> dict:
    """A case with sequences or optionals at its boundary: built and run through the Python API
    (lists of arrays, None) in a child process, so a crash or hang is recorded, not suffered."""
    model, mins, opts, maxs = make_variant(case, mode)
    onnx.save(model, str(work / "model.onnx"))
    profile = {k: (mins[k], opts[k], maxs[k]) for k in mins}
    with open(work / "case.pkl", "wb") as f:
        pickle.dump({"inputs": dict(zip([vi.name for vi in graph_inputs(model)], case.inputs)), "profile": profile}, f)
    status, msg = run_cli(sys.executable, [__file__, "--run-values", str(work)], 2 * TIMEOUT_S)
    if status != "ok":
        return {"status": status, "reason": msg}
    with open(work / "outputs.pkl", "rb") as f:
        got = pickle.load(f)
    why = compare(got, [o.name for o in model.graph.output], case.outputs, case.rtol, case.atol)
    return {"status": "fail", "reason": why} if why else {"status": "pass", "reason": None}


def run_values_child(work: pathlib.Path) -> int:
    """--run-values: build work/model.onnx with the profile in work/case.pkl, run it on the inputs
    there, write work/outputs.pkl. Errors go to stderr as the CLI prints them."""
    import dynrt
    from dynrt import _C
    from dynrt._api import Engine
    with open(work / "case.pkl", "rb") as f:
        case = pickle.load(f)
    try:
        profiles = [({k: tuple(tuple(d) for d in v) for k, v in case["profile"].items()}, {})] if case["profile"] else []
        engine = Engine(_C.build((work / "model.onnx").read_bytes(), profiles, [], ["cpu"], "fp32"))
        out = engine.create_context(threads=1).run(case["inputs"])
    except dynrt.Error as e:
        print(f"dynrt: error ({e.code}): {e}", file=sys.stderr)
        return 1
    with open(work / "outputs.pkl", "wb") as f:
        pickle.dump(out, f)
    return 0


def run_mode(binary: str, case: Case, mode: str, work: pathlib.Path) -> dict:
    if has_values(case):
        return run_mode_values(case, mode, work)
    model, mins, opts, maxs = make_variant(case, mode)
    model_path, engine = work / f"{mode}.onnx", work / f"{mode}.engine"
    onnx.save(model, str(model_path))
    args = ["build", str(model_path), "-o", str(engine)]
    if mins:
        args += ["--min-shapes", shapes_arg(mins), "--opt-shapes", shapes_arg(opts), "--max-shapes", shapes_arg(maxs)]
    status, msg = run_cli(binary, args, TIMEOUT_S)
    if status != "ok":
        return {"status": status, "reason": msg}
    names_in = [vi.name for vi in graph_inputs(model)]
    inp, out = work / f"{mode}_in.npz", work / f"{mode}_out.npz"
    np.savez(inp, **dict(zip(names_in, (boundary_array(a) for a in case.inputs))))
    status, msg = run_cli(binary, ["run", str(engine), "--inputs", str(inp), "--outputs", str(out)], TIMEOUT_S)
    if status != "ok":
        return {"status": status, "reason": msg}
    try:
        with np.load(out) as z:
            got = {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 - a bad output file is a failure, not a runner crash
        return {"status": "fail", "reason": f"unreadable outputs: {e}"}
    checked = random_check(case, got, [o.name for o in model.graph.output])
    if checked is not None:
        return {"status": "pass", "reason": None} if checked == "ok" else {"status": "fail", "reason": checked}
    want = [boundary_array(a) for a in case.outputs]
    floors = [RTOL_FLOOR.get(str(getattr(a, "dtype", "")), 0.0) for a in case.outputs]
    why = compare(got, [o.name for o in model.graph.output], want, case.rtol, case.atol, floors)
    return {"status": "fail", "reason": why} if why else {"status": "pass", "reason": None}


# ---- worker processes ---------------------------------------------------------------------------

_CASES: list[Case] = []
_BINARY = ""


def _init_worker(binary: str) -> None:
    global _CASES, _BINARY
    _BINARY = binary
    _CASES = load_cases()
    use_python_of(pathlib.Path(binary).parent)


def use_python_of(build: pathlib.Path) -> None:
    """The Python API the --run-values children import: the build's own (a build configured with
    -DDYNRT_BUILD_PYTHON=ON has dynrt._C in it), else the installed package."""
    ext = sorted(build.glob("_C.*.so"))
    if not ext:
        return
    pkg = pathlib.Path(tempfile.mkdtemp(prefix="dynrt_pkg_")) / "dynrt"
    pkg.mkdir()
    for f in (ROOT / "python" / "dynrt").glob("*.py"):
        (pkg / f.name).symlink_to(f)
    (pkg / ext[0].name).symlink_to(ext[0].resolve())
    atexit.register(shutil.rmtree, pkg.parent, True)
    os.environ["PYTHONPATH"] = str(pkg.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")


def _run_index(index: int) -> tuple[int, dict]:
    case = _CASES[index]
    result = {}
    why = precheck(case)
    for mode in MODES:
        if why:
            result[mode] = {"status": "unsupported", "reason": why}
            continue
        work = pathlib.Path(tempfile.mkdtemp(prefix="dynrt_conf_"))
        try:
            result[mode] = run_mode(_BINARY, case, mode, work)
        except Exception as e:  # noqa: BLE001 - record, never kill the runner
            result[mode] = {"status": "fail", "reason": f"runner error: {type(e).__name__}: {e}"}
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return index, result


def run_suite(build_dir: str, jobs: int = 2, only: str | None = None, progress: bool = True) -> dict:
    binary = str(pathlib.Path(build_dir).resolve() / "dynrt")
    if not os.path.exists(binary):
        raise SystemExit(f"no dynrt binary at {binary}")
    cases = load_cases()
    by_name = {c.name: c for c in cases}
    indices = [i for i, c in enumerate(cases) if not only or re.search(only, c.name)]
    results: dict[int, dict] = {}
    with cf.ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(binary,)) as pool:
        futures = {pool.submit(_run_index, i): i for i in indices}
        for n, fut in enumerate(cf.as_completed(futures), 1):
            i = futures[fut]
            try:
                _, res = fut.result()
            except Exception as e:  # noqa: BLE001 - a dead worker is recorded as a failure
                res = {m: {"status": "fail", "reason": f"runner error: {type(e).__name__}: {e}"} for m in MODES}
            results[i] = res
            if progress and (n % 100 == 0 or n == len(indices)):
                print(f"  {n}/{len(indices)} cases", file=sys.stderr, flush=True)
    out = {"onnx_version": onnx.__version__, "cases": {}}
    for i in indices:
        c = cases[i]
        out["cases"][c.name] = {"op": op_of(c, by_name), "plain": is_plain(c), **results[i]}
    return out


# ---- reports ------------------------------------------------------------------------------------

def totals(report: dict) -> dict:
    t = {m: collections.Counter() for m in MODES}
    for r in report["cases"].values():
        for m in MODES:
            t[m][r[m]["status"]] += 1
    return {m: {k: t[m][k] for k in ("pass", "fail", "unsupported")} for m in MODES}


def normalize_reason(reason: str) -> str:
    """Group similar messages: drop node names, numbers and quoted values."""
    r = re.sub(r"'[^']*'", "'…'", reason or "")
    r = re.sub(r"\(opset \d+\)", "", r)
    r = re.sub(r"\d+", "N", r)
    return re.sub(r"\s+", " ", r).strip()[:140]


def short(reason: str, n: int = 90) -> str:
    r = re.sub(r"^\w+ node ('[^']*'|producing '[^']*') \(opset \d+\): ", "", reason or "")
    r = r.replace("|", "\\|")
    return r if len(r) <= n else r[: n - 1] + "…"


def write_reports(report: dict, md_path: pathlib.Path, json_path: pathlib.Path) -> None:
    md_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    n = len(report["cases"])
    tot = totals(report)
    lines = [
        "# ONNX backend node tests",
        "",
        f"Generated by `python3 tools/conformance/run_onnx_node_tests.py --build-dir build` against onnx "
        f"{report['onnx_version']} ({n} node test cases). Do not edit by hand.",
        "",
        "- **static**: engine built for the test's exact input shapes.",
        "- **dynamic**: every input dim made symbolic, engine built for [1, 2×actual] (opt = actual), then run.",
        "- **fail**: wrong answer, wrong shape/dtype, crash, hang, or an error other than `unsupported`.",
        "- **unsupported**: dynrt reported `error (unsupported)`, or the case needs element types dynrt does not "
        "store (complex).",
        "- Cases with sequence, optional or string inputs or outputs run through the Python API (lists of arrays, "
        "None, object arrays of str) in a child process: the build's own `dynrt._C` when it was configured with `-DDYNRT_BUILD_PYTHON=ON`, else "
        "the installed package.",
        "- bfloat16 graph inputs/outputs (no npz encoding) cross the boundary as float32 through exact Casts "
        "added to the model; the engine computes in bfloat16.",
        "- float8, float4, int4 and int2 values cross as raw bytes ('|V1', ml_dtypes' layout) and compare as the "
        "values they encode.",
        "- Random outputs (Bernoulli, RandomUniformLike, training Dropout) are checked by shape, dtype and range "
        "(0 or 1; 0 or x / (1 - ratio) with a matching mask); float16/bfloat16 outputs with rtol at least two "
        "units in the last place of the type (the runner's RTOL_FLOOR says why).",
        "",
        "| mode | pass | fail | unsupported |",
        "|---|---|---|---|",
    ]
    for m in MODES:
        t = tot[m]
        lines.append(f"| {m} | {t['pass']} ({100 * t['pass'] / n:.1f}%) | {t['fail']} ({100 * t['fail'] / n:.1f}%) | "
                     f"{t['unsupported']} ({100 * t['unsupported'] / n:.1f}%) |")
    plain = [r for r in report["cases"].values() if r.get("plain")]
    if plain:
        rates = ", ".join(f"{m} {sum(r[m]['status'] == 'pass' for r in plain)} ({100 * sum(r[m]['status'] == 'pass' for r in plain) / len(plain):.1f}%)"
                          for m in MODES)
        lines += ["", f"Of the {len(plain)} cases whose inputs and outputs are all plain npz tensors (numpy's own "
                  f"types: no sequences, optionals, strings, bfloat16 or narrow types), these pass: {rates}."]
    # Most common reasons.
    for label, status in (("failure", "fail"), ("unsupported", "unsupported")):
        cnt = collections.Counter()
        example = {}
        for r in report["cases"].values():
            for m in MODES:
                if r[m]["status"] == status:
                    k = normalize_reason(r[m]["reason"])
                    cnt[k] += 1
                    example.setdefault(k, r[m]["reason"])
        lines += ["", f"## Most common {label} reasons (case-modes)", "", "| count | example |", "|---|---|"]
        for k, c in cnt.most_common(15):
            lines.append(f"| {c} | {short(example[k], 160)} |")
    # Per-op table.
    by_op = collections.defaultdict(list)
    for name, r in report["cases"].items():
        by_op[r["op"]].append((name, r))
    lines += ["", "## Per op", "",
              "| op | cases | static pass/fail/unsup | dynamic pass/fail/unsup | reason (first failing or unsupported case) |",
              "|---|---|---|---|---|"]
    for op in sorted(by_op, key=str.lower):
        rows = by_op[op]
        cell = {}
        for m in MODES:
            c = collections.Counter(r[m]["status"] for _, r in rows)
            cell[m] = f"{c['pass']}/{c['fail']}/{c['unsupported']}"
        reason = ""
        for status in ("fail", "unsupported"):
            for name, r in sorted(rows):
                for m in MODES:
                    if r[m]["status"] == status and not reason:
                        why = r[m]["reason"] or ""
                        reason = f"{'' if status == 'fail' else 'unsupported: '}{short(why)} ({name}, {m})"
        lines.append(f"| {op} | {len(rows)} | {cell['static']} | {cell['dynamic']} | {reason} |")
    md_path.write_text("\n".join(lines) + "\n")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--run-values":  # a child of run_mode_values
        sys.exit(run_values_child(pathlib.Path(sys.argv[2])))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=str(ROOT / "build"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="regex on test names (writes nothing unless --out-json/--out-md are given)")
    ap.add_argument("--out-md", default=None)
    ap.add_argument("--out-json", default=None)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--update-baseline", action="store_true",
                    help="also write the pass counts to docs/conformance/baseline.json (what the CI test checks)")
    args = ap.parse_args()
    report = run_suite(args.build_dir, args.jobs, args.only, progress=not args.quiet)
    md = args.out_md or (None if args.only else str(ROOT / "docs/conformance/onnx_node_tests.md"))
    js = args.out_json or (None if args.only else str(ROOT / "docs/conformance/onnx_node_tests.json"))
    if md and js:
        write_reports(report, pathlib.Path(md), pathlib.Path(js))
    if args.update_baseline and not args.only:
        t = totals(report)
        base = {"onnx_version": report["onnx_version"], "cases": len(report["cases"]),
                **{m: {"pass": t[m]["pass"]} for m in MODES}}
        (ROOT / "docs/conformance/baseline.json").write_text(json.dumps(base, indent=1) + "\n")
    n = len(report["cases"])
    for m, t in totals(report).items():
        print(f"{m:8s} pass {t['pass']:5d} ({100 * t['pass'] / max(n, 1):.1f}%)  fail {t['fail']:5d}  "
              f"unsupported {t['unsupported']:5d}  of {n}")
    if args.only:
        for name, r in sorted(report["cases"].items()):
            for m in MODES:
                if r[m]["status"] != "pass":
                    print(f"{name} [{m}] {r[m]['status']}: {r[m]['reason']}")


if __name__ == "__main__":
    main()
