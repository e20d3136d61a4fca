"""The CUDA provider. On a machine without a GPU (CI) it is built when nvcc is
there, and asking for it fails with an error that names CUDA and what is
missing. On the GPU machine (scripts/gpu_tests.sh sets DYNRT_EXPECT_GPU=1)
single-op models with dynamic shapes are checked to run on the GPU (the
partition puts the op on cuda) and to match ONNX Runtime at several shapes
(float32, TF32 off: |diff| <= 1e-4 * max|ref|)."""
import os
import pathlib
import re
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness

GPU = os.environ.get("DYNRT_EXPECT_GPU") == "1"
RNG = np.random.default_rng(11)


def model(nodes, inputs, outputs, inits=(), opset=17) -> onnx.ModelProto:
    g = h.make_graph(nodes, "m", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def vi(name, shape, t=T.FLOAT):
    return h.make_tensor_value_info(name, t, shape)


def const(name, arr):
    return onnx.numpy_helper.from_array(arr, name)


def partition(engine: pathlib.Path) -> str:
    info = harness.run_cli("inspect", engine).stdout
    return info[info.index("partition"):info.index("guards")]


def test_provider_plugin_is_built_when_nvcc_is_present():
    if shutil.which("nvcc") is None and not GPU:
        pytest.fail("nvcc is not on PATH: this machine cannot show that the CUDA provider builds")
    lib = pathlib.Path(harness.dynrt_bin()).parent / "libdynrt_provider_cuda.so"
    assert lib.exists(), f"{lib} was not built"


def test_device_cuda_without_gpu_names_cuda_and_the_cause(tmp_path):
    if GPU:
        pytest.skip("this machine has a GPU")  # the GPU tests below run instead; CI runs this one
    m = model([h.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 4])], [vi("y", ["N", 4])])
    onnx.save(m, str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:2:4", "--device", "cuda",
                        check=False)
    assert p.returncode == 1
    line = p.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"dynrt: error \(invalid build config\): execution provider 'cuda' is not available on this "
                        r"machine: CUDA: .*(driver|GPU|libcu).*", line), line
    # The CPU provider still works in the same binary.
    harness.check_model(m, [{"x": RNG.standard_normal((3, 4)).astype(np.float32)}], tmp_path, dims={"N": "1:2:4"},
                        extra=["--device", "cpu"])


# ---- GPU runs -------------------------------------------------------------------

gpu = pytest.mark.skipif(not GPU, reason="needs the GPU machine (scripts/gpu_tests.sh)")


def check_on_gpu(m, feeds_list, tmp_path, dims, on_cuda: list[str], rtol=1e-4, atol=1e-4):
    engine = harness.check_model(m, feeds_list, tmp_path, rtol=rtol, atol=atol, dims=dims, extra=["--device", "cuda"])
    part = partition(engine)
    cuda_line = next((ln for ln in part.splitlines() if ln.strip().startswith("cuda:")), "")
    for op in on_cuda:
        assert f" {op} x" in cuda_line, f"{op} did not run on cuda:\n{part}"
    return engine


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@gpu
@pytest.mark.parametrize("ta,tb,bias", [(0, 0, "row"), (1, 0, "none"), (0, 1, "full"), (1, 1, "col")])
def test_gemm(tmp_path, ta, tb, bias):
    k, n = 24, 40
    a_shape = [k, "M"] if ta else ["M", k]
    w = rand(n, k) if tb else rand(k, n)
    inits = [const("W", w)]
    ins = ["a", "W"]
    if bias != "none":
        c = {"row": rand(n), "full": None, "col": rand(1, 1)}[bias]
        if c is not None:
            inits.append(const("C", c))
            ins.append("C")
    nodes = [h.make_node("Gemm", ins, ["y"], transA=ta, transB=tb, alpha=0.5, beta=1.0 if bias == "row" else 2.0)]
    m = model(nodes, [vi("a", a_shape)], [vi("y", ["M", n])], inits)
    feeds = [{"a": rand(*([k, s] if ta else [s, k]))} for s in (1, 7, 33)]
    check_on_gpu(m, feeds, tmp_path, {"M": "1:8:33"}, ["Gemm"])


@gpu
@pytest.mark.parametrize("a_shape,b_shape", [(["B", "M", 16], [16, 8]), (["B", "M", 16], ["B", 16, 8]),
                                             ([16], ["B", 16, 8]), (["B", 1, "M", 16], [3, 16, 8]),
                                             (["B", "M", 16], [16])])
def test_matmul(tmp_path, a_shape, b_shape):
    def concrete(shape, b, mm):
        return [b if d == "B" else mm if d == "M" else d for d in shape]
    out = np.matmul(np.zeros(concrete(a_shape, 2, 3)), np.zeros(concrete(b_shape, 2, 3))).shape
    out_names = [None] * len(out)
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [vi("a", a_shape), vi("b", b_shape)],
              [vi("y", out_names)])
    feeds = [{"a": rand(*concrete(a_shape, b, mm)), "b": rand(*concrete(b_shape, b, mm))} for b, mm in ((1, 1), (2, 5), (4, 17))]
    dims = {d: "1:2:4" if d == "B" else "1:5:17" for d in set(a_shape + b_shape) if isinstance(d, str)}
    check_on_gpu(m, feeds, tmp_path, dims, ["MatMul"])


@gpu
@pytest.mark.parametrize("group,stride,pad,dil", [(1, 1, 1, 1), (2, 2, 0, 1), (8, 1, 2, 2)])
def test_conv2d_bias(tmp_path, group, stride, pad, dil):
    c, o = 8, 16
    w = rand(o, c // group, 3, 3)
    b = rand(o)
    node = h.make_node("Conv", ["x", "W", "B"], ["y"], group=group, strides=[stride, stride], pads=[pad] * 4,
                       dilations=[dil, dil])
    m = model([node], [vi("x", ["N", c, "H", "W_"])], [vi("y", None)], [const("W", w), const("B", b)])
    feeds = [{"x": rand(n, c, hh, ww)} for n, hh, ww in ((1, 9, 9), (2, 16, 13), (3, 31, 20))]
    check_on_gpu(m, feeds, tmp_path, {"N": "1:2:3", "H": "9:16:31", "W_": "9:16:31"}, ["Conv"])


@gpu
def test_conv1d_without_bias(tmp_path):
    w = rand(6, 4, 5)
    node = h.make_node("Conv", ["x", "W"], ["y"], pads=[2, 2])
    m = model([node], [vi("x", ["N", 4, "L"])], [vi("y", None)], [const("W", w)])
    feeds = [{"x": rand(n, 4, ll)} for n, ll in ((1, 5), (2, 40))]
    check_on_gpu(m, feeds, tmp_path, {"N": "1:2:2", "L": "5:20:40"}, ["Conv"])


@gpu
def test_asymmetric_padding_falls_back_to_cpu(tmp_path):
    w = rand(4, 3, 2, 2)
    node = h.make_node("Conv", ["x", "W"], ["c"], pads=[0, 0, 1, 1])
    m = model([node, h.make_node("Relu", ["c"], ["y"])], [vi("x", ["N", 3, 8, 8])], [vi("y", None)], [const("W", w)])
    engine = harness.check_model(m, [{"x": rand(2, 3, 8, 8)}], tmp_path, dims={"N": "1:2:4"}, extra=["--device", "cuda"])
    assert "cpu: 1 nodes Conv x1" in partition(engine)


@gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("hidden,stats", [(768, True), (4096, False), (100, False), (3, True)])
def test_layer_norm(tmp_path, precision, hidden, stats):
    # 768: the warp-per-row kernel (16-byte vectors held in registers); 4096
    # (past its register budget), 100 and 3 (not whole vectors): the general one.
    outs = ["y", "mean", "inv"] if stats else ["y"]
    node = h.make_node("LayerNormalization", ["x", "g", "b"], outs, axis=-1, epsilon=1e-5)
    m = model([node], [vi("x", ["N", "S", hidden])], [vi(o, None) for o in outs],
              [const("g", rand(hidden)), const("b", rand(hidden))])
    feeds = [{"x": rand(n, s, hidden) * 3 + 1} for n, s in ((1, 1), (2, 7), (3, 33))]
    tol = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 3e-2}[precision]
    engine = harness.check_model(m, feeds, tmp_path, rtol=tol if precision == "fp32" else 0, atol=tol,
                                 dims={"N": "1:2:3", "S": "1:7:33"}, extra=["--device", "cuda", "--precision", precision])
    assert " LayerNormalization x1" in next(ln for ln in partition(engine).splitlines() if "cuda:" in ln)
