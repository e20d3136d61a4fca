"""The CUDA provider's lowering passes, on the GPU machine: epilogue fusion
(Conv + residual Add + ReLU through cuDNN's fused convolution, MatMul + bias +
ReLU through cuBLASLt's epilogue) and channels-last convolutions in float16
(weights stored KRSC, activations NHWC between convolutions, transposes at the
edges). Checked against ONNX Runtime on the float32 model (float16 engines
within 1e-2 * max|ref|), and the partition must show the fused nodes."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness
from test_cuda import const, gpu, model, partition, rand, vi

pytestmark = gpu


def build_and_check(m, feeds, tmp_path, dims, fused, precision="fp32", absent=(), counts=None):
    tol = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 3e-2}[precision]
    engine = harness.check_model(m, feeds, tmp_path, rtol=tol if precision == "fp32" else 0, atol=tol, dims=dims,
                                 extra=["--device", "cuda", "--precision", precision])
    part = partition(engine)
    cuda_line = next((ln for ln in part.splitlines() if ln.strip().startswith("cuda:")), "")
    for name in fused:
        assert f" {name} x" in cuda_line, f"{name} is not a fused node on cuda:\n{part}"
    for name in absent:
        assert f" {name} x" not in part, f"{name} is still in the plan:\n{part}"
    for name, n in (counts or {}).items():
        assert f" {name} x{n}" in cuda_line, f"not {n} {name} on cuda:\n{part}"


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_conv_residual_relu_is_one_fused_convolution(tmp_path, precision):
    c = 16
    # The residual comes from a node before the conv (as in a ResNet block): a
    # graph input's upload is placed at its first reader, after the conv.
    nodes = [h.make_node("Sigmoid", ["r"], ["r1"]), h.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             h.make_node("Add", ["c", "r1"], ["s"]), h.make_node("Relu", ["s"], ["y"])]
    m = model(nodes, [vi("x", ["N", c, "H", "H"]), vi("r", ["N", c, "H", "H"])], [vi("y", None)],
              [const("W", rand(c, c, 3, 3) * 0.2), const("B", rand(c))])
    feeds = [{"x": rand(n, c, s, s), "r": rand(n, c, s, s)} for n, s in ((1, 5), (2, 12), (3, 16))]
    build_and_check(m, feeds, tmp_path, {"N": "1:2:3", "H": "5:12:16"}, ["Conv+Add+Relu"], precision)


def test_fp16_cnn_runs_channels_last_between_convolutions(tmp_path):
    # stem (3 channels: stays NCHW) -> conv -> pool -> residual block -> conv without bias -> global pool
    nodes = [h.make_node("Conv", ["x", "W0", "B0"], ["a"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["a"], ["a1"]),
             h.make_node("Conv", ["a1", "W1", "B1"], ["b"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["b"], ["b1"]),
             h.make_node("MaxPool", ["b1"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             h.make_node("Conv", ["p", "W2", "B2"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["c"], ["c1"]),
             h.make_node("Conv", ["c1", "W3", "B3"], ["d"], pads=[1, 1, 1, 1]), h.make_node("Add", ["d", "p"], ["e"]),
             h.make_node("Relu", ["e"], ["e1"]),
             h.make_node("Conv", ["e1", "W4"], ["f"], strides=[2, 2]), h.make_node("Add", ["f", "f"], ["g"]),
             h.make_node("GlobalAveragePool", ["g"], ["y"])]
    inits = [const("W0", rand(16, 3, 3, 3) * 0.3), const("B0", rand(16)), const("W1", rand(32, 16, 3, 3) * 0.1),
             const("B1", rand(32)), const("W2", rand(32, 32, 3, 3) * 0.08), const("B2", rand(32)),
             const("W3", rand(32, 32, 3, 3) * 0.08), const("B3", rand(32)), const("W4", rand(64, 32, 1, 1) * 0.2)]
    m = model(nodes, [vi("x", ["N", 3, "H", "H"])], [vi("y", None)], inits)
    feeds = [{"x": rand(n, 3, s, s)} for n, s in ((1, 8), (2, 20), (4, 32))]
    build_and_check(m, feeds, tmp_path, {"N": "1:2:4", "H": "8:20:32"}, ["Conv+Relu", "Conv+Add+Relu"], "fp16")


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_matmul_bias_relu_is_one_cublaslt_call(tmp_path, precision):
    nodes = [h.make_node("MatMul", ["x", "W"], ["m"]), h.make_node("Add", ["m", "B"], ["s"]),
             h.make_node("Relu", ["s"], ["y"])]
    m = model(nodes, [vi("x", ["N", "M", 64])], [vi("y", None)], [const("W", rand(64, 24) * 0.2), const("B", rand(24))])
    feeds = [{"x": rand(n, mm, 64)} for n, mm in ((1, 1), (2, 7), (3, 16))]
    build_and_check(m, feeds, tmp_path, {"N": "1:2:3", "M": "1:7:16"}, ["MatMul+Add+Relu"], precision)


def test_matmul_bias_without_activation(tmp_path):
    nodes = [h.make_node("MatMul", ["x", "W"], ["m"]), h.make_node("Add", ["B", "m"], ["y"])]
    m = model(nodes, [vi("x", ["N", 32])], [vi("y", None)], [const("W", rand(32, 40)), const("B", rand(40))])
    build_and_check(m, [{"x": rand(n, 32)} for n in (1, 5, 9)], tmp_path, {"N": "1:5:9"}, ["MatMul+Add"])


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_matmul_bias_residual_is_one_cublaslt_call(tmp_path, precision):
    # A transformer's output projection: x W + b + residual, the residual as cuBLASLt's C. The
    # residual comes from a node before the MatMul (a graph input's upload or cast is placed at
    # its first reader, after the MatMul, where it cannot be fused).
    nodes = [h.make_node("Sigmoid", ["r"], ["r1"]), h.make_node("MatMul", ["x", "W"], ["m"]),
             h.make_node("Add", ["m", "B"], ["s"]), h.make_node("Add", ["r1", "s"], ["y"])]
    m = model(nodes, [vi("x", ["N", "M", 64]), vi("r", ["N", "M", 24])], [vi("y", None)],
              [const("W", rand(64, 24) * 0.2), const("B", rand(24))])
    feeds = [{"x": rand(n, mm, 64), "r": rand(n, mm, 24)} for n, mm in ((1, 1), (2, 7), (3, 16))]
    build_and_check(m, feeds, tmp_path, {"N": "1:2:3", "M": "1:7:16"}, ["MatMul+Add+Add"], precision)


def test_matmul_residual_without_bias_then_relu(tmp_path):
    nodes = [h.make_node("Sigmoid", ["r"], ["r1"]), h.make_node("MatMul", ["x", "W"], ["m"]),
             h.make_node("Add", ["m", "r1"], ["s"]), h.make_node("Relu", ["s"], ["y"])]
    m = model(nodes, [vi("x", ["N", 32]), vi("r", ["N", 40])], [vi("y", None)], [const("W", rand(32, 40) * 0.2)])
    build_and_check(m, [{"x": rand(n, 32), "r": rand(n, 40)} for n in (1, 5, 9)], tmp_path, {"N": "1:5:9"},
                    ["MatMul+Add+Relu"], "fp16")


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_matmul_bias_gelu(tmp_path, precision):
    # 16 bits: cuBLASLt's GELU epilogue (tanh approximation); float32: exact Gelu, a kernel of its own.
    nodes = [h.make_node("MatMul", ["x", "W"], ["m"]), h.make_node("Add", ["m", "B"], ["s"]),
             h.make_node("Gelu", ["s"], ["y"])]
    m = model(nodes, [vi("x", ["N", "M", 64])], [vi("y", None)], [const("W", rand(64, 48) * 0.3), const("B", rand(48))],
              opset=20)
    m.ir_version = 9
    feeds = [{"x": rand(n, mm, 64)} for n, mm in ((1, 1), (2, 7), (3, 16))]
    fused = ["MatMul+Add"] if precision == "fp32" else ["MatMul+Add+Gelu"]
    build_and_check(m, feeds, tmp_path, {"N": "1:2:3", "M": "1:7:16"}, fused, precision,
                    absent=["MatMul+Add+Gelu"] if precision == "fp32" else [])


def attention_model(nan_guard: bool, hid: int = 32, heads: int = 4, view_output: bool = False,
                    expanded_mask: bool = False, indexed_mask: bool = False):
    """A BERT self-attention block as the TorchScript exporter writes it: per-head reshapes and
    transposes, scores / sqrt(d), an additive mask [B, 1, 1, S], softmax, context transposed back.
    expanded_mask: the mask as transformers 5 builds it, a bool padding mask "pad" [B, S] expanded
    to the scores' shape, then Where(pad, 0, -inf) (passes/sink_expand.cpp).
    indexed_mask: the mask as the dynamo exporter writes transformers 5's sdpa_mask: pad[batch_idx, kv_idx]
    through GatherND, And-ed with (q_idx >= 0) of shape [1, 1, S, 1], so [B, 1, S, S] before the Where
    (passes/fold_always_true.cpp)."""
    nodes, inits = [], [const("sq", np.array([0, 0, heads, hid // heads], np.int64)),
                        const("sy", np.array([0, 0, hid], np.int64)), const("d", np.array(np.sqrt(hid // heads), np.float32)),
                        const("zero", np.array(0, np.float32))]
    mask_input = vi("mask", ["B", 1, 1, "S"])
    if expanded_mask:
        inits += [const("axes12", np.array([1, 2], np.int64)), const("minf", np.array(-np.inf, np.float32))]
        nodes += [h.make_node("Unsqueeze", ["pad", "axes12"], ["pad4"]), h.make_node("Shape", ["s1"], ["s1shape"]),
                  h.make_node("Expand", ["pad4", "s1shape"], ["padx"]),
                  h.make_node("Where", ["padx", "zero", "minf"], ["mask"])]
        mask_input = h.make_tensor_value_info("pad", T.BOOL, ["B", "S"])
    if indexed_mask:
        inits += [const(n, np.array(v, np.int64)) for n, v in (("i0", 0), ("i1", 1), ("a123", [1, 2, 3]),
                                                                ("a01", [0, 1]), ("a2", [2]), ("a3", [3]), ("am1", [-1]))]
        inits += [const("yes", np.array(True)), const("fmin", np.array(np.finfo(np.float32).min, np.float32))]
        nodes += [h.make_node("Shape", ["pad"], ["b1"], start=0, end=1), h.make_node("Squeeze", ["b1"], ["bn"]),
                  h.make_node("Shape", ["pad"], ["s1n"], start=1, end=2), h.make_node("Squeeze", ["s1n"], ["sn"]),
                  h.make_node("Range", ["i0", "bn", "i1"], ["ab"]), h.make_node("Unsqueeze", ["ab", "a123"], ["bidx"]),
                  h.make_node("Range", ["i0", "sn", "i1"], ["as"]), h.make_node("Unsqueeze", ["as", "a01"], ["as3"]),
                  h.make_node("Unsqueeze", ["as3", "a3"], ["qidx"]), h.make_node("Unsqueeze", ["as3", "a2"], ["kvidx"]),
                  h.make_node("GreaterOrEqual", ["qidx", "i0"], ["ge"]), h.make_node("And", ["yes", "ge"], ["t"]),
                  h.make_node("Max", ["bidx", "kvidx"], ["mx"]), h.make_node("Shape", ["mx"], ["shp"]),
                  h.make_node("Expand", ["bidx", "shp"], ["be"]), h.make_node("Unsqueeze", ["be", "am1"], ["be5"]),
                  h.make_node("Expand", ["kvidx", "shp"], ["ke"]), h.make_node("Unsqueeze", ["ke", "am1"], ["ke5"]),
                  h.make_node("Concat", ["be5", "ke5"], ["idx"], axis=-1), h.make_node("GatherND", ["pad", "idx"], ["g"]),
                  h.make_node("And", ["t", "g"], ["keep"]), h.make_node("Where", ["keep", "zero", "fmin"], ["mask"])]
        mask_input = h.make_tensor_value_info("pad", T.BOOL, ["B", "S"])
    for name, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        inits += [const(f"W{name}", rand(hid, hid) * float(1.0 / np.sqrt(hid))), const(f"B{name}", rand(hid))]
        nodes += [h.make_node("MatMul", ["x", f"W{name}"], [f"{name}0"]),
                  h.make_node("Add", [f"{name}0", f"B{name}"], [f"{name}1"]),
                  h.make_node("Reshape", [f"{name}1", "sq"], [f"{name}2"]),
                  h.make_node("Transpose", [f"{name}2"], [f"{name}t"], perm=perm)]
    nodes += [h.make_node("MatMul", ["qt", "kt"], ["s0"]), h.make_node("Div", ["s0", "d"], ["s1"]),
              h.make_node("Add", ["s1", "mask"], ["s2"]), h.make_node("Softmax", ["s2"], ["p"], axis=-1)]
    p = "p"
    if nan_guard:
        nodes += [h.make_node("IsNaN", ["p"], ["nan"]), h.make_node("Where", ["nan", "zero", "p"], ["p0"])]
        p = "p0"
    c = "c"
    if view_output:  # the TorchScript export's context.view(same shape) before the transpose
        inits.append(const("same", np.zeros(4, np.int64)))
        nodes += [h.make_node("MatMul", [p, "vt"], ["c0"]), h.make_node("Reshape", ["c0", "same"], ["c"])]
    else:
        nodes += [h.make_node("MatMul", [p, "vt"], ["c"])]
    nodes += [h.make_node("Transpose", [c], ["ct"], perm=[0, 2, 1, 3]), h.make_node("Reshape", ["ct", "sy"], ["y"])]
    return model(nodes, [vi("x", ["B", "S", hid]), mask_input], [vi("y", None)], inits)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("hid,heads,view_output", [(128, 2, False), (64, 2, False), (256, 2, False), (128, 2, True)])
def test_flash_attention_kernel(tmp_path, monkeypatch, precision, hid, heads, view_output):  # head dims 64, 32, 128
    monkeypatch.setenv("DYNRT_CUDA_FLASH_ATTENTION", "require")  # an error if the kernel does not run
    m = attention_model(nan_guard=True, hid=hid, heads=heads, view_output=view_output)
    def feeds(b, s):
        mask = np.zeros((b, 1, 1, s), np.float32)
        mask[0, ..., s // 2:] = -10000.0  # padding in the first sequence
        if b > 2:
            mask[2] = -np.inf  # a fully masked sequence: zeros (the guard's answer)
        x = rand(b, s, hid)
        return {"x": x, "mask": mask}
    shapes = ((1, 1), (2, 9), (3, 64), (2, 65), (3, 130))
    # The kernel reads Q, K, V and writes its output as [B, S, H, D]: no transposes left. The three
    # projections are one GEMM (fuse_qkv.cpp), the kernel reading Q, K and V packed from its output.
    build_and_check(m, [feeds(b, s) for b, s in shapes], tmp_path, {"B": "1:2:3", "S": "1:64:130"}, ["Attention"],
                    precision, absent=["Transpose"], counts={"MatMul+Add": 1})


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("mask,absent", [("expanded", ["Expand", "Transpose"]),
                                         ("indexed", ["And", "GreaterOrEqual", "Transpose"])])
def test_padding_mask_is_read_per_key(tmp_path, monkeypatch, precision, mask, absent):
    """transformers 5's padding mask, two ways. expanded: a [B, S] mask expanded to [B, H, S, S], then
    Where(pad, 0, -inf): the Where runs before the expansion (passes/sink_expand.cpp). indexed (the
    dynamo export): GatherND of the [B, S] mask And (q_idx >= 0); the always-true And goes
    (passes/fold_always_true.cpp) and the Where runs on [B, 1, 1, S]. Either way the flash kernel
    broadcasts the small mask (test_ops_attention.py checks that the mask's Expand is gone)."""
    monkeypatch.setenv("DYNRT_CUDA_FLASH_ATTENTION", "require")
    m = attention_model(nan_guard=False, hid=128, heads=2, expanded_mask=mask == "expanded",
                        indexed_mask=mask == "indexed")

    def feeds(b, s):
        pad = np.ones((b, s), bool)
        pad[0, max(1, s // 2):] = False  # padding in the first sequence
        return {"x": rand(b, s, 128), "pad": pad}
    build_and_check(m, [feeds(b, s) for b, s in ((1, 1), (2, 9), (3, 70))], tmp_path, {"B": "1:2:3", "S": "1:64:130"},
                    ["Attention"], precision, absent=absent)


@pytest.mark.parametrize("precision", ["fp16"])
def test_separate_projections_without_qkv_fusion(tmp_path, monkeypatch, precision):
    """DYNRT_CUDA_FUSE_QKV=0 (the A/B switch) keeps three projection GEMMs, same answers."""
    monkeypatch.setenv("DYNRT_CUDA_FLASH_ATTENTION", "require")
    monkeypatch.setenv("DYNRT_CUDA_FUSE_QKV", "0")
    m = attention_model(nan_guard=True, hid=128, heads=2)
    feeds = [{"x": rand(b, s, 128), "mask": np.zeros((b, 1, 1, s), np.float32)} for b, s in ((1, 1), (2, 9), (3, 64))]
    build_and_check(m, feeds, tmp_path, {"B": "1:2:3", "S": "1:9:64"}, ["Attention"], precision,
                    counts={"MatMul+Add": 3})


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("flash", ["1", "0"])  # 0: the GEMM + softmax path in every precision
def test_bert_attention_is_one_fused_node(tmp_path, monkeypatch, precision, flash):
    monkeypatch.setenv("DYNRT_CUDA_FLASH_ATTENTION", flash)
    m = attention_model(nan_guard=False)
    def feeds(b, s):
        mask = np.zeros((b, 1, 1, s), np.float32)
        mask[0, ..., s // 2:] = -10000.0  # padding in the first sequence
        return {"x": rand(b, s, 32), "mask": mask}
    build_and_check(m, [feeds(b, s) for b, s in ((1, 1), (2, 9), (3, 64))], tmp_path, {"B": "1:2:3", "S": "1:9:64"},
                    ["Attention"], precision)


def test_fully_masked_rows_give_zero_like_the_nan_guard(tmp_path):
    m = attention_model(nan_guard=True)
    mask = np.zeros((2, 1, 1, 5), np.float32)
    mask[1] = -np.inf  # every key of the second sequence masked: the guard turns NaN into 0
    build_and_check(m, [{"x": rand(2, 5, 32), "mask": mask}], tmp_path, {"B": "1:2:3", "S": "1:5:64"}, ["Attention"])


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("mask", [None, "bool", "additive"])
def test_flash_attention_on_the_onnx_op(tmp_path, monkeypatch, precision, mask):
    """The ONNX op itself, [B, H, S, D] operands (no transposes to absorb), query and key lengths
    apart, a [S, L] mask broadcast over batch and heads: the flash kernel's plain strides."""
    monkeypatch.setenv("DYNRT_CUDA_FLASH_ATTENTION", "require")
    ins = ["q", "k", "v"] + (["m"] if mask else [])
    inputs = [vi("q", ["B", 4, "S", 64]), vi("k", ["B", 4, "L", 64]), vi("v", ["B", 4, "L", 64])]
    if mask:
        inputs.append(vi("m", ["S", "L"], T.BOOL if mask == "bool" else T.FLOAT))
    g = h.make_graph([h.make_node("Attention", ins, ["y"])], "g", inputs, [vi("y", None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 23)])
    m.ir_version = 10

    def feeds(b, s, l):
        f = {"q": rand(b, 4, s, 64), "k": rand(b, 4, l, 64), "v": rand(b, 4, l, 64)}
        if mask == "bool":
            mm = np.random.default_rng(s * 100 + l).integers(0, 2, (s, l)).astype(bool)
            mm[:, 0] = True
            f["m"] = mm
        elif mask == "additive":
            f["m"] = np.random.default_rng(s * 100 + l).uniform(-2, 0, (s, l)).astype(np.float32)
        return f
    build_and_check(m, [feeds(b, s, l) for b, s, l in ((1, 1, 1), (2, 70, 9), (3, 64, 130), (1, 129, 200))], tmp_path,
                    {"B": "1:2:3", "S": "1:64:130", "L": "1:64:200"}, ["Attention"], precision)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("head_dim,masked", [(32, None), (64, None), (128, None), (64, "rows"), (64, "key-bool"),
                                             (64, "key-add"), (32, "key-add"), (128, "key-bool")])
def test_flash_attention_wide_tiles(tmp_path, monkeypatch, precision, head_dim, masked):
    """The 128-row tiles (two m-tiles per warp; the launcher takes them for grids of six SMs'
    worth, forced here at every size): heads of 32 and 64 take them without a mask or with a
    key mask ([B, 1, 1, L], read per key), 128 and a per-query mask keep 64; uneven lengths
    check the row and key bookkeeping of each."""
    monkeypatch.setenv("DYNRT_CUDA_FLASH_ATTENTION", "require")
    monkeypatch.setenv("DYNRT_CUDA_FLASH_ROWS", "128")
    inputs = [vi("q", ["B", 12, "S", head_dim]), vi("k", ["B", 12, "L", head_dim]), vi("v", ["B", 12, "L", head_dim])]
    if masked:
        inputs.append(vi("m", ["B", 1, "S" if masked == "rows" else 1, "L"], T.FLOAT if masked == "key-add" else T.BOOL))
    g = h.make_graph([h.make_node("Attention", [i.name for i in inputs], ["y"], scale=0.3)], "g", inputs,
                     [vi("y", None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 23)])
    m.ir_version = 10

    def feeds(b, s, l):
        mm = np.random.default_rng(s + l).integers(0, 4, (b, 1, s if masked == "rows" else 1, l)) > 0
        mm[..., 0] = True  # no row fully masked
        if masked == "key-add":
            mm = np.where(mm, 0.0, -1e4).astype(np.float32)
            mm[..., 1::7] = -np.inf
            mm[..., 0] = 0.5
        f = {"q": rand(b, 12, s, head_dim), "k": rand(b, 12, l, head_dim), "v": rand(b, 12, l, head_dim)}
        return {**f, "m": mm} if masked else f
    all_feeds = [feeds(b, s, l) for b, s, l in ((8, 300, 300), (10, 257, 190), (1, 5, 7))]
    dims = {"B": "1:8:10", "S": "1:256:300", "L": "1:256:300"}
    if masked in (None, "rows"):
        build_and_check(m, all_feeds, tmp_path, dims, ["Attention"], precision)
        return
    # ONNX Runtime's Attention does not broadcast a mask along the query rows: the reference
    # is numpy, softmax(0.3 * Q K^T + mask) V in float64.
    engine = harness.build_engine(m, tmp_path, dims=dims, extra=["--device", "cuda", "--precision", precision])
    cuda_line = next((ln for ln in partition(engine).splitlines() if ln.strip().startswith("cuda:")), "")
    assert " Attention x" in cuda_line, partition(engine)
    for f in all_feeds:
        q, k, v, mm = (f[n].astype(np.float64) for n in "qkvm")
        bias = np.where(mm > 0, 0.0, -np.inf) if masked == "key-bool" else mm
        sc = 0.3 * q @ k.swapaxes(-1, -2) + bias
        p = np.exp(sc - sc.max(-1, keepdims=True))
        want = (p / p.sum(-1, keepdims=True)) @ v
        got = harness.run_engine(engine, f, tmp_path)["y"]
        tol = {"fp16": 1e-2, "bf16": 3e-2}[precision]
        assert np.max(np.abs(got - want)) <= tol * np.max(np.abs(want)), (masked, q.shape)
