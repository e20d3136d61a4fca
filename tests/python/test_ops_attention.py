"""Attention (opset 23+) and RotaryEmbedding (opset 23) against ONNX Runtime,
plus their ONNX backend node tests in static and dynamic mode."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness
import node_suite

RNG = np.random.default_rng(17)


def model(nodes, inputs, outputs, opset=23):
    g = h.make_graph(nodes, "g", inputs, outputs)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def attention_node(hq, hkv, mask, d=8, dv=6, **attrs):
    """One 4-D Attention node (inputs q, k, v and, when mask is "bool" or "float", an [S, L]
    mask m) and a feeds(b, s, l) that draws its inputs (a boolean mask keeps key 0)."""
    ins = ["q", "k", "v"] + (["m"] if mask else [])
    inputs = [vi("q", T.FLOAT, ["B", hq, "S", d]), vi("k", T.FLOAT, ["B", hkv, "L", d]),
              vi("v", T.FLOAT, ["B", hkv, "L", dv])]
    if mask:
        inputs.append(vi("m", T.BOOL if mask == "bool" else T.FLOAT, ["S", "L"]))
    m = model([h.make_node("Attention", ins, ["y"], **attrs)], inputs, [vi("y", T.FLOAT, None)])

    def feeds(b, s, l):
        f = {"q": f32(b, hq, s, d), "k": f32(b, hkv, l, d), "v": f32(b, hkv, l, dv)}
        if mask == "bool":
            mm = RNG.integers(0, 2, (s, l)).astype(bool)
            mm[:, 0] = True
            f["m"] = mm
        elif mask == "float":
            f["m"] = RNG.uniform(-1, 0, (s, l)).astype(np.float32)
        return f
    return m, feeds


@pytest.mark.parametrize("attrs", [{}, {"is_causal": 1}, {"scale": 0.2}, {"softcap": 2.0}])
@pytest.mark.parametrize("hq,hkv", [(2, 2), (4, 2)])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_attention_4d(tmp_path, attrs, hq, hkv, mask):
    m, feeds = attention_node(hq, hkv, mask, **attrs)
    # 270 keys: the products run as oneDNN matmuls (attention_onednn.cpp), in two blocks of query rows.
    harness.check_model(m, [feeds(1, 3, 3), feeds(2, 4, 7), feeds(1, 130, 270)], tmp_path,
                        dims={"B": "1:2:2", "S": "1:3:130", "L": "1:5:270"})


@pytest.mark.parametrize("hq,hkv", [(3, 3), (4, 2)])
@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_attention_3d_past_present(tmp_path, hq, hkv, mode):
    outs = ["y", "pk", "pv", "qk"]
    inputs = [vi("q", T.FLOAT, ["B", "S", hq * 4]), vi("k", T.FLOAT, ["B", "S", hkv * 4]),
              vi("v", T.FLOAT, ["B", "S", hkv * 5]), vi("m", T.FLOAT, ["S", "T"]),
              vi("past_k", T.FLOAT, ["B", hkv, "P", 4]), vi("past_v", T.FLOAT, ["B", hkv, "P", 5])]
    m = model([h.make_node("Attention", ["q", "k", "v", "m", "past_k", "past_v"], outs, q_num_heads=hq,
                           kv_num_heads=hkv, qk_matmul_output_mode=mode, softcap=3.0 if mode == 1 else 0.0)],
              inputs, [vi(o, T.FLOAT, None) for o in outs])

    def feeds(b, s, p):
        return {"q": f32(b, s, hq * 4), "k": f32(b, s, hkv * 4), "v": f32(b, s, hkv * 5),
                "m": RNG.uniform(-1, 0, (s, p + s)).astype(np.float32),
                "past_k": f32(b, hkv, p, 4), "past_v": f32(b, hkv, p, 5)}

    harness.check_model(m, [feeds(1, 2, 3), feeds(2, 3, 5)], tmp_path,
                        dims={"B": "1:2:2", "S": "1:2:3", "P": "1:3:5", "T": "2:5:8"})


@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("rot_dim", [0, 4])
@pytest.mark.parametrize("layout", ["3d", "4d"])
@pytest.mark.parametrize("position_ids", [True, False])
def test_rotary_embedding(tmp_path, interleaved, rot_dim, layout, position_ids):
    heads, d = 2, 8
    r = rot_dim or d
    x_shape = ["B", "S", heads * d] if layout == "3d" else ["B", heads, "S", d]
    attrs = {"interleaved": interleaved, "rotary_embedding_dim": rot_dim}
    if layout == "3d":
        attrs["num_heads"] = heads
    cache = [10, r // 2] if position_ids else ["B", "S", r // 2]
    ins = ["x", "cos", "sin"] + (["pos"] if position_ids else [])
    inputs = [vi("x", T.FLOAT, x_shape), vi("cos", T.FLOAT, cache), vi("sin", T.FLOAT, cache)]
    if position_ids:
        inputs.append(vi("pos", T.INT64, ["B", "S"]))
    m = model([h.make_node("RotaryEmbedding", ins, ["y"], **attrs)], inputs, [vi("y", T.FLOAT, None)])

    def feeds(b, s):
        shape = (b, s, heads * d) if layout == "3d" else (b, heads, s, d)
        cs = (10, r // 2) if position_ids else (b, s, r // 2)
        angle = RNG.uniform(0, 6.28, cs)
        f = {"x": f32(*shape), "cos": np.cos(angle).astype(np.float32), "sin": np.sin(angle).astype(np.float32)}
        if position_ids:
            f["pos"] = RNG.integers(0, 10, (b, s)).astype(np.int64)
        return f

    harness.check_model(m, [feeds(1, 1), feeds(2, 5)], tmp_path, dims={"B": "1:2:2", "S": "1:3:5"})


CASES = node_suite.case_names({"Attention", "RotaryEmbedding"}, exclude=("bf16",))


@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("name", CASES)
def test_node_cases(tmp_path, name, mode):
    assert node_suite.run_case(name, mode, tmp_path)["status"] == "pass"


# ---- CPU fusion of exported attention blocks (backends/cpu/passes/fuse_attention.cpp, attention_layout.cpp) ----

@pytest.mark.parametrize("hid,heads,view_output,nan_guard", [(32, 4, False, False), (128, 2, True, True),
                                                             (96, 2, False, True)])
def test_exported_attention_block_is_one_fused_node_on_the_cpu(tmp_path, hid, heads, view_output, nan_guard):
    # BERT's self-attention as the TorchScript exporter writes it: the chain becomes one Attention node that reads
    # Q, K, V and writes its output in the projections' [B, S, H, D] storage (no Transpose left), and matches ONNX
    # Runtime on the unfused model, with padding, a fully masked sequence (zeros with the exporter's NaN guard),
    # and lengths that are not multiples of the kernel's blocks.
    from test_cuda import partition, rand
    from test_cuda_fusion import attention_model
    m = attention_model(nan_guard=nan_guard, hid=hid, heads=heads, view_output=view_output)

    def feeds(b, s):
        mask = np.zeros((b, 1, 1, s), np.float32)
        mask[0, ..., s // 2:] = -10000.0
        if b > 2 and nan_guard:
            mask[2] = -np.inf
        return {"x": rand(b, s, hid), "mask": mask}
    engine = harness.check_model(m, [feeds(b, s) for b, s in ((1, 1), (2, 7), (3, 33), (2, 130), (3, 300))], tmp_path,
                                 dims={"B": "1:2:3", "S": "1:33:300"}, extra=["--device", "cpu"])
    part = partition(engine)
    assert " Attention x" in part and " Transpose x" not in part, part
    # The Q, K and V projections are one MatMul (backends/fuse_qkv.h) the kernel reads packed.
    assert " MatMul+Add x1 " in part, part


def test_expanded_bool_mask_fuses_unexpanded_on_the_cpu(tmp_path):
    # transformers 5 builds its mask as a [B, S] padding mask expanded to the scores' shape, then
    # Where(pad, 0, -inf) (passes/sink_expand.cpp runs the Where first; the fused Attention broadcasts
    # the small mask). Matches ONNX Runtime with padding; no Expand is left in the plan.
    from test_cuda import partition, rand
    from test_cuda_fusion import attention_model
    m = attention_model(nan_guard=False, hid=64, heads=2, expanded_mask=True)

    def feeds(b, s):
        pad = np.ones((b, s), bool)
        pad[0, max(1, s // 2):] = False
        return {"x": rand(b, s, 64), "pad": pad}
    engine = harness.check_model(m, [feeds(b, s) for b, s in ((1, 1), (2, 7), (3, 33))], tmp_path,
                                 dims={"B": "1:2:3", "S": "1:33:64"}, extra=["--device", "cpu"])
    part = partition(engine)
    assert " Attention x1" in part and " Expand x" not in part, part


def test_indexed_mask_fuses_per_key_on_the_cpu(tmp_path):
    # The dynamo export of transformers 5's mask: pad[batch_idx, kv_idx] (GatherND) And (q_idx >= 0), a
    # [B, 1, S, S] mask. passes/fold_always_true.cpp drops the always-true term; the fused Attention reads
    # the [B, 1, 1, S] Where. Matches ONNX Runtime with padding; no And or comparison left, and of the
    # Expands only the two that build GatherND's indices.
    from test_cuda import partition, rand
    from test_cuda_fusion import attention_model
    m = attention_model(nan_guard=False, hid=64, heads=2, indexed_mask=True)

    def feeds(b, s):
        pad = np.ones((b, s), bool)
        pad[0, max(1, s // 2):] = False
        if b > 2:
            pad[2, 1::3] = False
        return {"x": rand(b, s, 64), "pad": pad}
    engine = harness.check_model(m, [feeds(b, s) for b, s in ((1, 1), (2, 7), (3, 33))], tmp_path,
                                 dims={"B": "1:2:3", "S": "1:33:64"}, extra=["--device", "cpu"])
    part = partition(engine)
    assert " Attention x1" in part, part
    assert " Expand x2 " in part, part
    for op in (" And x", " GreaterOrEqual x"):
        assert op not in part, part
