"""LinearAttention, CausalConvWithState, FlexAttention and the
ai.onnx.preview.training optimizers (Adagrad, Adam, Momentum) against the
ONNX reference evaluator (ONNX Runtime 1.32 implements none of them), plus
their ONNX backend node tests in static and dynamic mode."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import node_suite

RNG = np.random.default_rng(3)


def model(nodes, inputs, outputs, opsets=(("", 27),), ir=10):
    g = h.make_graph(nodes, "g", inputs, outputs)
    m = h.make_model(g, opset_imports=[h.make_opsetid(d, v) for d, v in opsets])
    m.ir_version = ir
    return m


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def f32(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


@pytest.mark.parametrize("rule,hq,hkv,decay_last,beta_last,past", [
    ("linear", 2, 2, None, None, False),
    ("gated", 4, 2, "head", None, True),
    ("gated", 2, 2, "dim", None, False),
    ("delta", 2, 1, None, "head", True),
    ("gated_delta", 4, 2, "dim", "one", True),
])
def test_linear_attention(tmp_path, rule, hq, hkv, decay_last, beta_last, past):
    dk, dv = 4, 3
    ins = ["q", "k", "v", "past" if past else "", "decay" if decay_last else "", "beta" if beta_last else ""]
    while ins[-1] == "":
        ins.pop()
    dl = {"head": hkv, "dim": hkv * dk, None: 0}[decay_last]
    bl = {"head": hkv, "one": 1, None: 0}[beta_last]
    inputs = [vi("q", T.FLOAT, ["B", "T", hq * dk]), vi("k", T.FLOAT, ["B", "T", hkv * dk]),
              vi("v", T.FLOAT, ["B", "T", hkv * dv])]
    if past:
        inputs.append(vi("past", T.FLOAT, ["B", hkv, dk, dv]))
    if decay_last:
        inputs.append(vi("decay", T.FLOAT, ["B", "T", dl]))
    if beta_last:
        inputs.append(vi("beta", T.FLOAT, ["B", "T", bl]))
    m = model([h.make_node("LinearAttention", ins, ["y", "state"], q_num_heads=hq, kv_num_heads=hkv, update_rule=rule)],
              inputs, [vi("y", T.FLOAT, None), vi("state", T.FLOAT, None)])

    def feeds(b, t):
        f = {"q": f32(b, t, hq * dk), "k": f32(b, t, hkv * dk) * 0.5, "v": f32(b, t, hkv * dv)}
        if past:
            f["past"] = f32(b, hkv, dk, dv)
        if decay_last:
            f["decay"] = f32(b, t, dl, low=-0.5, high=0.0)
        if beta_last:
            f["beta"] = f32(b, t, bl, low=0.0, high=1.0)
        return f

    node_suite.check(m, [feeds(1, 1), feeds(2, 5)], tmp_path, use_ort=False, dims={"B": "1:2:2", "T": "1:3:5"})


@pytest.mark.parametrize("act", ["none", "silu"])
@pytest.mark.parametrize("k,bias,past", [(4, False, False), (3, True, True), (1, True, False)])
def test_causal_conv_with_state(tmp_path, act, k, bias, past):
    ins = ["x", "w", "b" if bias else "", "s" if past else ""]
    while ins[-1] == "":
        ins.pop()
    inputs = [vi("x", T.FLOAT, ["B", 3, "L"]), vi("w", T.FLOAT, [3, 1, k])]
    if bias:
        inputs.append(vi("b", T.FLOAT, [3]))
    if past:
        inputs.append(vi("s", T.FLOAT, ["B", 3, k - 1]))
    m = model([h.make_node("CausalConvWithState", ins, ["y", "state"], activation=act)], inputs,
              [vi("y", T.FLOAT, None), vi("state", T.FLOAT, None)])

    def feeds(b, n):
        f = {"x": f32(b, 3, n), "w": f32(3, 1, k)}
        if bias:
            f["b"] = f32(3)
        if past:
            f["s"] = f32(b, 3, k - 1)
        return f

    node_suite.check(m, [feeds(1, 1), feeds(2, 6)], tmp_path, use_ort=False, dims={"B": "1:2:2", "L": "1:4:6"})


@pytest.mark.parametrize("hq,hkv,scale,dtype", [(2, 2, None, T.FLOAT), (4, 2, 0.3, T.FLOAT), (2, 1, None, T.DOUBLE)])
def test_flex_attention(tmp_path, hq, hkv, scale, dtype):
    np_t = np.float32 if dtype == T.FLOAT else np.float64
    attrs = {} if scale is None else {"scale": scale}
    m = model([h.make_node("FlexAttention", ["q", "k", "v"], ["y"], domain="ai.onnx.preview", **attrs)],
              [vi("q", dtype, ["B", hq, "L", 8]), vi("k", dtype, ["B", hkv, "S", 8]), vi("v", dtype, ["B", hkv, "S", 5])],
              [vi("y", dtype, None)], opsets=(("", 26), ("ai.onnx.preview", 1)))

    def feeds(b, l, s):
        return {"q": f32(b, hq, l, 8).astype(np_t), "k": f32(b, hkv, s, 8).astype(np_t), "v": f32(b, hkv, s, 5).astype(np_t)}

    node_suite.check(m, [feeds(1, 3, 4), feeds(2, 1, 7)], tmp_path, use_ort=False,
                     dims={"B": "1:2:2", "L": "1:3:4", "S": "1:4:7"})


@pytest.mark.parametrize("op,attrs", [
    ("Adagrad", {"decay_factor": 0.1, "epsilon": 1e-5, "norm_coefficient": 0.01}),
    ("Adam", {"alpha": 0.9, "beta": 0.8, "epsilon": 1e-3, "norm_coefficient": 0.01, "norm_coefficient_post": 0.05}),
    ("Momentum", {"alpha": 0.9, "beta": 0.5, "mode": "standard", "norm_coefficient": 0.01}),
    ("Momentum", {"alpha": 0.9, "beta": 1.0, "mode": "nesterov", "norm_coefficient": 0.0}),
])
@pytest.mark.parametrize("step", [0, 3])
def test_optimizers(tmp_path, op, attrs, step):
    acc = ["V", "H"] if op == "Adam" else ["H"]
    groups = [["X", "G", *acc]]
    ins = ["R", "T"] + [f"{k}{i}" for k in groups[0] for i in (1, 2)]
    outs = [f"{k}{i}_new" for k in ["X", *acc] for i in (1, 2)]
    shapes = {1: ["N"], 2: [2, "M"]}
    inputs = [vi("R", T.FLOAT, []), vi("T", T.INT64, [])] + [vi(f"{k}{i}", T.FLOAT, shapes[i]) for k in groups[0] for i in (1, 2)]
    m = model([h.make_node(op, ins, outs, domain="ai.onnx.preview.training", **attrs)], inputs,
              [vi(o, T.FLOAT, None) for o in outs], opsets=(("ai.onnx.preview.training", 1),))

    def feeds(n, k):
        f = {"R": np.array(0.1, np.float32), "T": np.array(step, np.int64)}
        for key in groups[0]:
            low = 0.0 if key == "H" else -1.0
            f[f"{key}1"], f[f"{key}2"] = f32(n, low=low), f32(2, k, low=low)
        return f

    node_suite.check(m, [feeds(1, 3), feeds(4, 2)], tmp_path, use_ort=False, dims={"N": "1:2:4", "M": "1:2:3"})


def causal_score_mod():
    """Positions after the query's masked to -inf: the mask built from the scores' own shape."""
    c = lambda name, v, t=T.INT64: h.make_tensor(name, t, [len(v)] if isinstance(v, list) else [], v if isinstance(v, list) else [v])  # noqa: E731
    nodes = [h.make_node("Shape", ["scores"], ["sh"]),
             h.make_node("Gather", ["sh", "i2"], ["l"], axis=0), h.make_node("Gather", ["sh", "i3"], ["s"], axis=0),
             h.make_node("Range", ["zero", "l", "one"], ["qr"]), h.make_node("Reshape", ["qr", "qshape"], ["qi"]),
             h.make_node("Range", ["zero", "s", "one"], ["kr"]), h.make_node("Reshape", ["kr", "kshape"], ["ki"]),
             h.make_node("GreaterOrEqual", ["qi", "ki"], ["mask"]),
             h.make_node("Where", ["mask", "scores", "ninf"], ["scores_out"])]
    inits = [c("zero", 0), c("one", 1), c("i2", 2), c("i3", 3), c("qshape", [-1, 1]), c("kshape", [1, -1]),
             c("ninf", float("-inf"), T.FLOAT)]
    return h.make_graph(nodes, "causal", [vi("scores", T.FLOAT, ["B", "H", "L", "S"])],
                        [vi("scores_out", T.FLOAT, ["B", "H", "L", "S"])], inits)


def scale_prob_mod():
    return h.make_graph([h.make_node("Mul", ["probs", "half"], ["probs_out"])], "halve",
                        [vi("probs", T.FLOAT, ["B", "H", "L", "S"])], [vi("probs_out", T.FLOAT, ["B", "H", "L", "S"])],
                        [h.make_tensor("half", T.FLOAT, [], [0.5])])


@pytest.mark.parametrize("hq,hkv,dtype", [(2, 2, T.FLOAT), (4, 2, T.FLOAT), (6, 2, T.FLOAT16)])
def test_flex_attention_with_modifier_subgraphs(tmp_path, hq, hkv, dtype):
    """score_mod and prob_mod are inlined around a MatMul / Softmax / MatMul expansion
    (passes/expand_flex_attention.cpp), with grouped K/V heads and a float16 model whose
    modifiers see float32 (softmax_precision's default)."""
    np_t = np.float32 if dtype == T.FLOAT else np.float16
    m = model([h.make_node("FlexAttention", ["q", "k", "v"], ["y"], domain="ai.onnx.preview",
                           score_mod=causal_score_mod(), prob_mod=scale_prob_mod())],
              [vi("q", dtype, ["B", hq, "L", 8]), vi("k", dtype, ["B", hkv, "S", 8]), vi("v", dtype, ["B", hkv, "S", 5])],
              [vi("y", dtype, None)], opsets=(("", 26), ("ai.onnx.preview", 1)))

    def feeds(b, l, s):
        return {"q": f32(b, hq, l, 8).astype(np_t), "k": f32(b, hkv, s, 8).astype(np_t), "v": f32(b, hkv, s, 5).astype(np_t)}

    tol = 1e-4 if dtype == T.FLOAT else 2 ** -9  # float16: two units in the last place (Q K^T and P V round in it)
    node_suite.check(m, [feeds(1, 3, 4), feeds(2, 1, 7), feeds(2, 4, 4)], tmp_path, use_ort=False, rtol=tol, atol=tol,
                     dims={"B": "1:2:2", "L": "1:3:4", "S": "1:4:7"})


CASES = node_suite.case_names({"LinearAttention", "CausalConvWithState", "FlexAttention", "Adagrad", "Adam", "Momentum"})


@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("name", CASES)
def test_node_cases(tmp_path, name, mode):
    r = node_suite.run_case(name, mode, tmp_path)
    assert r["status"] == "pass", r
