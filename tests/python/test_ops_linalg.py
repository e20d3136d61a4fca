"""MatMul and Gemm against ONNX Runtime, static and dynamic, plus the dynrt
fused-activation hook."""
import os

import harness
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from harness import assert_close, build_engine, check_model, reference, run_cli, run_engine

rng = np.random.default_rng(1)


def model(nodes, inputs, outputs, opset=17, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8 if opset < 19 else 9
    return m


def vi(name, shape, dt=TP.FLOAT):
    return h.make_tensor_value_info(name, dt, shape)


def out(name="y", dt=TP.FLOAT):
    return h.make_tensor_value_info(name, dt, None)


def randf(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


# ---- MatMul ------------------------------------------------------------------

MM_STATIC = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (5, 4, 6)),
    ((1, 3, 4), (2, 4, 6)),
    ((2, 3, 4), (2, 4, 6)),
    ((3, 1, 2, 4), (1, 2, 4, 3)),
    ((64, 128), (128, 96)),
]


@pytest.mark.parametrize("case", range(len(MM_STATIC)))
@pytest.mark.parametrize("b_const", [False, True])
def test_matmul_static(tmp_path, case, b_const):
    sa, sb = MM_STATIC[case]
    b = randf(*sb)
    if b_const:
        m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", list(sa))], [out()], inits=[const("b", b)])
        feeds = {"a": randf(*sa)}
    else:
        m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", list(sa)), vi("b", list(sb))], [out()])
        feeds = {"a": randf(*sa), "b": b}
    check_model(m, [feeds], tmp_path, rtol=1e-4, atol=1e-4)


def test_matmul_dynamic_batch_seq_const_weight(tmp_path):
    w = randf(32, 48)
    m = model([h.make_node("MatMul", ["a", "w"], ["y"])], [vi("a", ["B", "S", 32])], [out()], inits=[const("w", w)])
    feeds = [{"a": randf(b, s, 32)} for b, s in ((1, 1), (2, 7), (4, 33), (1, 7))]
    check_model(m, feeds, tmp_path, dims={"B": "1:2:4", "S": "1:8:64"})


def test_matmul_dynamic_attention(tmp_path):
    # q @ k^T style: both operands activations with symbolic dims.
    m = model([h.make_node("MatMul", ["q", "k"], ["y"])], [vi("q", ["B", 4, "S", 16]), vi("k", ["B", 4, 16, "S"])],
              [out()])
    feeds = [{"q": randf(b, 4, s, 16), "k": randf(b, 4, 16, s)} for b, s in ((1, 5), (2, 9))]
    check_model(m, feeds, tmp_path, dims={"B": "1:2:3", "S": "1:8:16"})


def test_matmul_dynamic_broadcast_batch(tmp_path):
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", ["B", 1, "M", 8]), vi("b", [3, 8, "N"])], [out()])
    feeds = [{"a": randf(b, 1, mm, 8), "b": randf(3, 8, n)} for b, mm, n in ((1, 2, 5), (2, 7, 1))]
    check_model(m, feeds, tmp_path, dims={"B": "1:2:3", "M": "1:4:8", "N": "1:4:8"})


def test_matmul_dynamic_1d(tmp_path):
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", ["K"]), vi("b", ["B", "K", 3])], [out()])
    feeds = [{"a": randf(k), "b": randf(b, k, 3)} for b, k in ((1, 4), (3, 9))]
    check_model(m, feeds, tmp_path, dims={"B": "1:2:3", "K": "1:4:16"})


@pytest.mark.parametrize("dt,np_dt", [(TP.INT32, np.int32), (TP.INT64, np.int64), (TP.DOUBLE, np.float64)])
def test_matmul_other_types(tmp_path, dt, np_dt):
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", ["N", 3, 4], dt), vi("b", [4, 5], dt)],
              [out("y", dt)])
    feeds = [{"a": (rng.integers(-5, 5, (n, 3, 4))).astype(np_dt), "b": rng.integers(-5, 5, (4, 5)).astype(np_dt)}
             for n in (1, 2)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:3"})


def test_matmul_float16(tmp_path):
    # Computed in float32 and rounded once, as ONNX Runtime does.
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", ["N", "S", 8], TP.FLOAT16), vi("b", ["N", 8, "S"], TP.FLOAT16)],
              [out("y", TP.FLOAT16)])
    feeds = [{"a": randf(n, s, 8).astype(np.float16), "b": randf(n, 8, s).astype(np.float16)} for n, s in ((1, 3), (2, 5))]
    check_model(m, feeds, tmp_path, rtol=1e-2, atol=1e-2, dims={"N": "1:2:3", "S": "1:4:6"})


def test_matmul_bfloat16(tmp_path):
    # ONNX Runtime has no CPU bfloat16 MatMul: compare with numpy (float32
    # product of the bfloat16 inputs, rounded to bfloat16 once).
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf = ml_dtypes.bfloat16
    nodes = [h.make_node("Cast", ["a"], ["a16"], to=TP.BFLOAT16), h.make_node("Cast", ["b"], ["b16"], to=TP.BFLOAT16),
             h.make_node("MatMul", ["a16", "b16"], ["y16"]), h.make_node("Cast", ["y16"], ["y"], to=TP.FLOAT)]
    m = model(nodes, [vi("a", ["S", 16]), vi("b", [16, 6])], [out()])
    engine = build_engine(m, tmp_path, dims={"S": "1:4:8"})
    for s in (1, 7):
        a, b = randf(s, 16), randf(16, 6)
        want = (a.astype(bf).astype(np.float32) @ b.astype(bf).astype(np.float32)).astype(bf).astype(np.float32)
        got = run_engine(engine, {"a": a, "b": b}, tmp_path)["y"]
        np.testing.assert_allclose(got, want, rtol=1e-2, atol=1e-2)


def test_matmul_inner_mismatch_fails(tmp_path):
    import onnx
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", [2, 3]), vi("b", [4, 5])], [out()])
    onnx.save(m, str(tmp_path / "bad.onnx"))
    p = run_cli("build", tmp_path / "bad.onnx", "-o", tmp_path / "bad.engine", check=False)
    assert p.returncode != 0 and "inner" in (p.stdout + p.stderr)


def test_matmul_inner_symbolic_guard(tmp_path):
    # Inner dims are different symbols: accepted with a run-time guard.
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", ["M", "K1"]), vi("b", ["K2", 3])], [out()])
    engine = build_engine(m, tmp_path, dims={"M": "1:2:4", "K1": "1:4:8", "K2": "1:4:8"})
    f = {"a": randf(2, 5), "b": randf(5, 3)}
    assert_close(run_engine(engine, f, tmp_path), reference(m, f))
    import numpy as _np
    _np.savez(tmp_path / "bad.npz", a=randf(2, 5), b=randf(4, 3))
    p = run_cli("run", engine, "--inputs", tmp_path / "bad.npz", "--outputs", tmp_path / "o.npz", check=False)
    assert p.returncode != 0


ACTS = ["Relu", "Sigmoid", "Tanh", "HardSwish", "Gelu", "Clip"]


def act_nodes(act, src):
    if act == "Clip":
        return [h.make_node("Clip", [src, "lo", "hi"], ["y"])]
    return [h.make_node(act, [src], ["y"])]


CLIP_INITS = [const("lo", np.float32(-0.5)), const("hi", np.float32(0.7))]


def check_fused(tmp_path, m, feeds, fused_name, **kw):
    """The CPU provider's passes must fuse the model into one node named
    `fused_name` (what inspect prints), and the result must match ONNX Runtime."""
    engine = build_engine(m, tmp_path, **kw)
    if not harness.test_providers():  # the fusion is the CPU provider's (GPU runs check the numbers only)
        assert f"ops (1 nodes): {fused_name} x1" in run_cli("inspect", engine).stdout
    for f in feeds:
        assert_close(run_engine(engine, f, tmp_path), reference(m, f))


@pytest.mark.parametrize("act", ACTS)
def test_matmul_fused_activation(tmp_path, act):
    inits = [const("w", randf(8, 6))] + (CLIP_INITS if act == "Clip" else [])
    m = model([h.make_node("MatMul", ["a", "w"], ["m"])] + act_nodes(act, "m"), [vi("a", ["N", 8])], [out()],
              opset=20, inits=inits)
    check_fused(tmp_path, m, [{"a": randf(n, 8)} for n in (1, 3)], "MatMul+" + act, dims={"N": "1:2:4"})


# ---- Gemm --------------------------------------------------------------------

GEMM_CASES = [
    dict(),
    dict(transA=1),
    dict(transB=1),
    dict(transA=1, transB=1, alpha=0.5, beta=2.0),
    dict(alpha=2.0),
    dict(beta=0.0),
    dict(beta=0.5),
]
C_SHAPES = [None, (5,), (1, 5), (3, 1), (3, 5), (1,), ()]


@pytest.mark.parametrize("case", range(len(GEMM_CASES)))
@pytest.mark.parametrize("cshape", range(len(C_SHAPES)))
@pytest.mark.parametrize("const_b", [True, False])
def test_gemm_static(tmp_path, case, cshape, const_b):
    attrs = GEMM_CASES[case]
    cs = C_SHAPES[cshape]
    a_shape = (4, 3) if attrs.get("transA") else (3, 4)
    b_shape = (5, 4) if attrs.get("transB") else (4, 5)
    names = ["a", "b"] + ([] if cs is None else ["c"])
    inits, ins = [], [vi("a", list(a_shape))]
    feeds = {"a": randf(*a_shape)}
    if const_b:
        inits.append(const("b", randf(*b_shape)))
    else:
        ins.append(vi("b", list(b_shape)))
        feeds["b"] = randf(*b_shape)
    if cs is not None:
        if const_b:
            inits.append(const("c", randf(*cs)))
        else:
            ins.append(vi("c", list(cs)))
            feeds["c"] = randf(*cs)
    m = model([h.make_node("Gemm", names, ["y"], **attrs)], ins, [out()], inits=inits)
    check_model(m, [feeds], tmp_path)


@pytest.mark.parametrize("attrs", [dict(transB=1), dict(transA=1, alpha=0.3, beta=0.7)])
def test_gemm_dynamic(tmp_path, attrs):
    a_shape = [16, "N"] if attrs.get("transA") else ["N", 16]
    b = randf(10, 16) if attrs.get("transB") else randf(16, 10)
    m = model([h.make_node("Gemm", ["a", "b", "c"], ["y"], **attrs)], [vi("a", a_shape)], [out()],
              inits=[const("b", b), const("c", randf(10))])
    feeds = []
    for n in (1, 5, 8):
        feeds.append({"a": randf(16, n) if attrs.get("transA") else randf(n, 16)})
    check_model(m, feeds, tmp_path, dims={"N": "1:4:8"})


def test_gemm_dynamic_c_rows(tmp_path):
    m = model([h.make_node("Gemm", ["a", "b", "c"], ["y"], beta=0.5)],
              [vi("a", ["N", 6]), vi("c", ["N", 1])], [out()], inits=[const("b", randf(6, 4))])
    feeds = [{"a": randf(n, 6), "c": randf(n, 1)} for n in (1, 3)]
    check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("crank", [1, 2])
@pytest.mark.parametrize("attrs", [{}, dict(transA=1, transB=1, alpha=0.5, beta=2.0)])
def test_gemm_dynamic_c_broadcast(tmp_path, crank, attrs):
    # C with symbolic dims: each may be 1 or the output dim, decided per run.
    ta, tb = attrs.get("transA"), attrs.get("transB")
    c_shape = ["CN"] if crank == 1 else ["CM", "CN"]
    m = model([h.make_node("Gemm", ["a", "b", "c"], ["y"], **attrs)],
              [vi("a", ["K", "M"] if ta else ["M", "K"]), vi("b", ["N", "K"] if tb else ["K", "N"]), vi("c", c_shape)],
              [out()])
    feeds = []
    for mm, k, n, cm, cn in ((3, 4, 5, 1, 5), (3, 4, 5, 3, 1), (2, 6, 4, 2, 4), (4, 3, 2, 1, 1), (1, 2, 3, 1, 3)):
        if crank == 1 and cm != 1:
            continue
        a = randf(k, mm) if ta else randf(mm, k)
        b = randf(n, k) if tb else randf(k, n)
        feeds.append({"a": a, "b": b, "c": randf(cn) if crank == 1 else randf(cm, cn)})
    dims = {"M": "1:3:6", "K": "1:4:8", "N": "1:4:8", "CN": "1:1:8"}
    if crank == 2:
        dims["CM"] = "1:1:6"
    check_model(m, feeds, tmp_path, dims=dims)


@pytest.mark.parametrize("act", ACTS)
def test_gemm_fused_activation(tmp_path, act):
    inits = [const("b", randf(10, 8)), const("c", randf(10))] + (CLIP_INITS if act == "Clip" else [])
    m = model([h.make_node("Gemm", ["a", "b", "c"], ["m"], transB=1)] + act_nodes(act, "m"), [vi("a", ["N", 8])],
              [out()], opset=20, inits=inits)
    check_fused(tmp_path, m, [{"a": randf(n, 8)} for n in (1, 3)], "Gemm+" + act, dims={"N": "1:2:4"})


def test_gemm_fused_activation_with_beta_sum(tmp_path):
    # C that is not a row vector goes through the sum post-op, then the activation.
    m = model([h.make_node("Gemm", ["a", "b", "c"], ["m"], alpha=0.5, beta=2.0), h.make_node("Relu", ["m"], ["y"])],
              [vi("a", [3, 4]), vi("c", [3, 5])], [out()], inits=[const("b", randf(4, 5))])
    check_fused(tmp_path, m, [{"a": randf(3, 4), "c": randf(3, 5)}], "Gemm+Relu")


def test_gemm_int(tmp_path):
    m = model([h.make_node("Gemm", ["a", "b", "c"], ["y"], transA=1)],
              [vi("a", [4, 3], TP.INT64), vi("b", [4, 2], TP.INT64), vi("c", [2], TP.INT64)], [out("y", TP.INT64)])
    # ORT has no int64 Gemm kernel: compare with numpy.
    engine = build_engine(m, tmp_path)
    a, b, c = (rng.integers(-5, 5, s).astype(np.int64) for s in ((4, 3), (4, 2), (2,)))
    got = run_engine(engine, {"a": a, "b": b, "c": c}, tmp_path)
    np.testing.assert_array_equal(got["y"], a.T @ b + c)


def test_matmul_int_broadcast_batch(tmp_path):
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", [2, 1, 3, 4], TP.INT32), vi("b", [5, 4, 6], TP.INT32)],
              [out("y", TP.INT32)])
    feeds = {"a": rng.integers(-5, 5, (2, 1, 3, 4)).astype(np.int32), "b": rng.integers(-5, 5, (5, 4, 6)).astype(np.int32)}
    check_model(m, [feeds], tmp_path)


def test_matmul_bias_activation_fusion(tmp_path):
    import onnx.helper as oh
    from onnx import TensorProto as TP
    rng = np.random.default_rng(5)
    w = rng.standard_normal((16, 8)).astype(np.float32)
    b = rng.standard_normal((8,)).astype(np.float32)
    nodes = [oh.make_node("MatMul", ["x", "w"], ["m"]), oh.make_node("Add", ["b", "m"], ["a"]),
             oh.make_node("Relu", ["a"], ["y"])]
    g = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("x", TP.FLOAT, ["N", "S", 16])],
                      [oh.make_tensor_value_info("y", TP.FLOAT, None)],
                      [oh.make_tensor("w", TP.FLOAT, [16, 8], w.flatten()), oh.make_tensor("b", TP.FLOAT, [8], b)])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 17)])
    m.ir_version = 8
    feeds = [{"x": rng.standard_normal((n, s, 16)).astype(np.float32)} for n, s in ((1, 1), (2, 5), (3, 7))]
    engine = check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "S": "1:4:8"})
    assert "ops (1 nodes): MatMul+Add+Relu x1" in run_cli("inspect", engine).stdout


@pytest.mark.parametrize("act", [None, "Relu"])
def test_matmul_bias_residual_fuse(tmp_path, act):
    """MatMul + bias + a residual computed before it (+ activation): one MatMul node on the CPU,
    the residual added by a oneDNN post-op before the activation."""
    import onnx.helper as oh
    from onnx import TensorProto as TP
    rng = np.random.default_rng(9)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    b = rng.standard_normal((16,)).astype(np.float32)
    nodes = [oh.make_node("Sigmoid", ["x"], ["r"]), oh.make_node("MatMul", ["r", "w"], ["m"]),
             oh.make_node("Add", ["m", "b"], ["a"]), oh.make_node("Add", ["a", "r"], ["s"])]
    nodes += [oh.make_node(act, ["s"], ["y"])] if act else [oh.make_node("Identity", ["s"], ["y"])]
    g = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("x", TP.FLOAT, ["N", "S", 16])],
                      [oh.make_tensor_value_info("y", TP.FLOAT, None)],
                      [oh.make_tensor("w", TP.FLOAT, [16, 16], w.flatten()), oh.make_tensor("b", TP.FLOAT, [16], b)])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 17)])
    m.ir_version = 8
    feeds = [{"x": rng.standard_normal((n, s, 16)).astype(np.float32)} for n, s in ((1, 1), (2, 5), (3, 7))]
    engine = check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "S": "1:4:8"})
    if "cuda" not in os.environ.get("DYNRT_TEST_PROVIDERS", ""):
        assert f"MatMul+Add+Add{'+' + act if act else ''} x1" in run_cli("inspect", engine).stdout


@pytest.mark.parametrize("variant", ["last_use", "read_later", "also_matmul_input"])
def test_matmul_residual_in_place(tmp_path, variant):
    """The fused residual summed onto the output: in place when nothing reads it afterwards
    (the output takes its buffer), onto a copy when something does or when the MatMul reads
    it as its input too. All three match ONNX Runtime."""
    import onnx.helper as oh
    rng = np.random.default_rng(11)
    w = rng.standard_normal((16, 16)).astype(np.float32)
    b = rng.standard_normal((16,)).astype(np.float32)
    nodes = [oh.make_node("Sigmoid", ["x"], ["r"]), oh.make_node("Tanh", ["x"], ["q"]),
             oh.make_node("MatMul", ["r" if variant == "also_matmul_input" else "q", "w"], ["m"]),
             oh.make_node("Add", ["m", "b"], ["a"]), oh.make_node("Add", ["a", "r"], ["s"]),
             oh.make_node("Relu", ["s"], ["t"]), oh.make_node("Neg", ["t"], ["n"]),
             oh.make_node("Mul", ["n", "r" if variant == "read_later" else "q"], ["y"])]
    g = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("x", TP.FLOAT, ["N", "S", 16])],
                      [oh.make_tensor_value_info("y", TP.FLOAT, None)],
                      [oh.make_tensor("w", TP.FLOAT, [16, 16], w.flatten()), oh.make_tensor("b", TP.FLOAT, [16], b)])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 17)])
    m.ir_version = 8
    feeds = [{"x": rng.standard_normal((n, s, 16)).astype(np.float32)} for n, s in ((1, 1), (2, 5), (4, 8))]
    engine = check_model(m, feeds, tmp_path, dims={"N": "1:2:4", "S": "1:4:8"})
    if "cuda" not in os.environ.get("DYNRT_TEST_PROVIDERS", ""):
        assert "MatMul+Add+Add+Relu x1" in run_cli("inspect", engine).stdout


def test_transposes_fold_into_matmul(tmp_path):
    # Attention-style: q/k/v permuted into heads, K^T, context permuted back.
    import onnx.helper as oh
    from onnx import TensorProto as TP
    nodes = [oh.make_node("Reshape", ["q", "heads"], ["q4"]), oh.make_node("Transpose", ["q4"], ["qt"], perm=[0, 2, 1, 3]),
             oh.make_node("Reshape", ["k", "heads"], ["k4"]), oh.make_node("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
             oh.make_node("MatMul", ["qt", "kt"], ["s"]), oh.make_node("Softmax", ["s"], ["p"], axis=-1),
             oh.make_node("Reshape", ["v", "heads"], ["v4"]), oh.make_node("Transpose", ["v4"], ["vt"], perm=[0, 2, 1, 3]),
             oh.make_node("MatMul", ["p", "vt"], ["c"]), oh.make_node("Transpose", ["c"], ["y"], perm=[0, 2, 1, 3])]
    ins = [oh.make_tensor_value_info(n, TP.FLOAT, ["B", "S", 12]) for n in ("q", "k", "v")]
    g = oh.make_graph(nodes, "g", ins, [oh.make_tensor_value_info("y", TP.FLOAT, None)],
                      [oh.make_tensor("heads", TP.INT64, [4], [0, 0, 3, 4])])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 17)])
    m.ir_version = 8
    rng = np.random.default_rng(7)
    feeds = [{n: rng.standard_normal((b, s, 12)).astype(np.float32) for n in ("q", "k", "v")} for b, s in ((1, 1), (2, 5), (3, 9))]
    engine = check_model(m, feeds, tmp_path, dims={"B": "1:2:4", "S": "1:4:16"})
    # The CPU provider folds every transpose. On CUDA (DYNRT_TEST_PROVIDERS=cuda,cpu) this
    # float32 attention with 4-wide heads runs as two batched GEMMs, which read contiguous
    # heads, so there the transposes stay (docs/cuda.md).
    if "cuda" not in os.environ.get("DYNRT_TEST_PROVIDERS", ""):
        assert "Transpose" not in run_cli("inspect", engine).stdout
