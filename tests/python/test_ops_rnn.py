"""RNN, GRU and LSTM against ONNX Runtime: directions, layouts, biases,
initial states, sequence lengths, peepholes, clip, linear_before_reset,
non-default activations; static and dynamic batch / sequence length.
ONNX Runtime has no batch-first layout (layout=1): those cases compare with
the ONNX reference evaluator."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness
import node_suite

RNG = np.random.default_rng(9)
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def build(op, hidden, in_size, nd, layout=0, with_b=True, with_seq=False, with_init=False, peep=False,
          outputs=("Y", "Y_h"), **attrs):
    g = GATES[op]
    x_shape = ["S", "N", in_size] if layout == 0 else ["N", "S", in_size]
    inputs = [h.make_tensor_value_info("X", T.FLOAT, x_shape),
              h.make_tensor_value_info("W", T.FLOAT, [nd, g * hidden, in_size]),
              h.make_tensor_value_info("R", T.FLOAT, [nd, g * hidden, hidden])]
    names = ["X", "W", "R", "", "", "", "", ""]
    if with_b:
        inputs.append(h.make_tensor_value_info("B", T.FLOAT, [nd, 2 * g * hidden]))
        names[3] = "B"
    if with_seq:
        inputs.append(h.make_tensor_value_info("L", T.INT32, ["N"]))
        names[4] = "L"
    if with_init:
        st = [nd, "N", hidden] if layout == 0 else ["N", nd, hidden]
        inputs.append(h.make_tensor_value_info("H0", T.FLOAT, st))
        names[5] = "H0"
        if op == "LSTM":
            inputs.append(h.make_tensor_value_info("C0", T.FLOAT, st))
            names[6] = "C0"
    if peep:
        inputs.append(h.make_tensor_value_info("P", T.FLOAT, [nd, 3 * hidden]))
        names[7] = "P"
    while names and names[-1] == "":
        names.pop()
    direction = {1: "forward", 2: "bidirectional"}[nd] if "direction" not in attrs else attrs.pop("direction")
    node = h.make_node(op, names, list(outputs), hidden_size=hidden, direction=direction, layout=layout, **attrs)
    gr = h.make_graph([node], "g", inputs, [h.make_tensor_value_info(o, T.FLOAT, None) for o in outputs if o])
    m = h.make_model(gr, opset_imports=[h.make_opsetid("", 14)])
    m.ir_version = 8
    return m


def feeds(m, s, n):
    out = {}
    dims = {"S": s, "N": n}
    for vi in m.graph.input:
        shape = [dims.get(d.dim_param, d.dim_value) if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]
        if vi.name == "L":
            out["L"] = RNG.integers(1, s + 1, n).astype(np.int32)
        else:
            out[vi.name] = RNG.uniform(-1, 1, shape).astype(np.float32)
    return out


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_recurrent_dynamic(tmp_path, op, direction, layout):
    nd = 2 if direction == "bidirectional" else 1
    outs = ("Y", "Y_h", "Y_c") if op == "LSTM" else ("Y", "Y_h")
    # (the reference evaluator ignores sequence_lens: only ONNX Runtime cases use them)
    m = build(op, 4, 3, nd, layout, with_seq=layout == 0, with_init=True, outputs=outs, direction=direction)
    node_suite.check(m, [feeds(m, s, n) for s, n in ((5, 2), (1, 1), (3, 4))], tmp_path, use_ort=layout == 0,
                     dims={"S": "1:3:6", "N": "1:2:4"})


def test_gru_linear_before_reset_and_lstm_peepholes(tmp_path):
    m = build("GRU", 5, 3, 1, linear_before_reset=1)
    harness.check_model(m, [feeds(m, 4, 2)], tmp_path, dims={"S": "4:4:4", "N": "2:2:2"})
    m = build("LSTM", 3, 2, 1, peep=True, with_init=True, outputs=("Y", "Y_h", "Y_c"))
    harness.check_model(m, [feeds(m, 3, 2)], tmp_path, dims={"S": "3:3:3", "N": "2:2:2"})


def test_activations_and_clip(tmp_path):
    m = build("RNN", 4, 3, 1, activations=["LeakyRelu"], activation_alpha=[0.3], clip=0.8)
    harness.check_model(m, [feeds(m, 3, 2)], tmp_path, dims={"S": "3:3:3", "N": "2:2:2"})
    m = build("LSTM", 3, 3, 1, activations=["HardSigmoid", "Tanh", "Softsign"], activation_alpha=[0.25],
              activation_beta=[0.4])
    harness.check_model(m, [feeds(m, 3, 2)], tmp_path, dims={"S": "3:3:3", "N": "2:2:2"})


def test_no_bias_only_last_state(tmp_path):
    m = build("GRU", 6, 2, 1, with_b=False, outputs=("", "Y_h"))
    harness.check_model(m, [feeds(m, 2, 3)], tmp_path, dims={"S": "1:2:4", "N": "1:3:4"})


@pytest.mark.parametrize("layout", [0, 1])
@pytest.mark.parametrize("lens", ["equal", "mixed"])
@pytest.mark.parametrize("input_forget", [0, 1])
def test_lstm_wide_batched(tmp_path, monkeypatch, layout, lens, input_forget):
    """Hidden 36 (gate rows of 144: whole 32-wide blocks and a tail) and 5 batch items: the
    float32 kernel runs items of one length two at a time and the rest alone. Two threads, so
    each thread's share of the batch holds a pair whatever the machine's core count."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    args = dict(with_seq=True, with_init=True, peep=True, outputs=("Y", "Y_h", "Y_c"), input_forget=input_forget)
    m0 = build("LSTM", 36, 20, 2, 0, **args)
    f0 = feeds(m0, 7, 5)
    f0["L"] = np.array([7, 7, 7, 3, 5] if lens == "mixed" else [7] * 5, np.int32)
    if layout == 0:
        harness.check_model(m0, [f0], tmp_path, dims={"S": "1:7:8", "N": "1:5:6"})
        return
    # ONNX Runtime has no batch-first LSTM: the reference is the layout-0 model on transposed tensors.
    m = build("LSTM", 36, 20, 2, 1, **args)
    f = {**f0, "X": f0["X"].transpose(1, 0, 2).copy(), "H0": f0["H0"].transpose(1, 0, 2).copy(),
         "C0": f0["C0"].transpose(1, 0, 2).copy()}
    want = harness.reference(m0, f0)
    want = {"Y": want["Y"].transpose(2, 0, 1, 3), "Y_h": want["Y_h"].transpose(1, 0, 2),
            "Y_c": want["Y_c"].transpose(1, 0, 2)}
    engine = harness.build_engine(m, tmp_path, dims={"S": "1:7:8", "N": "1:5:6"})
    harness.assert_close(harness.run_engine(engine, f, tmp_path), want)


def test_sequence_lens_must_have_one_length_per_batch_item(tmp_path):
    # sequence_lens of another length than the batch: a guard (L == N) that a run with other sizes
    # fails, and a build error when both are static; never lengths read past its end.
    import onnx
    m = build("LSTM", 4, 3, 1, with_seq=True)
    m.graph.input[4].type.tensor_type.shape.dim[0].dim_param = "L"
    engine = harness.build_engine(m, tmp_path, dims={"S": "1:3:6", "N": "1:4:8", "L": "1:4:8"})
    f = feeds(m, 5, 4)
    f["L"] = np.array([5], np.int32)
    npz = tmp_path / "in.npz"
    np.savez(npz, **f)
    p = harness.run_cli("run", engine, "--inputs", npz, "--outputs", tmp_path / "out.npz", check=False)
    assert p.returncode == 1 and "violate L == N (with S=5, N=4, L=1)" in p.stderr and "sequence_lens length" in p.stderr, \
        p.stderr
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 4  # X [S, 4, 3]
    m.graph.input[4].type.tensor_type.shape.dim[0].dim_value = 1  # L [1]
    path = tmp_path / "static_batch.onnx"
    onnx.save(m, str(path))
    p = harness.run_cli("build", path, "-o", tmp_path / "s.engine", "--dim", "S=1:3:6", check=False)
    assert p.returncode != 0 and "sequence_lens length" in p.stderr, p.stderr
