"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against ONNX Runtime:
reductions, class weights, ignore_index, extra spatial dims, the optional
log_prob output, static and dynamic batch."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness

RNG = np.random.default_rng(3)


def model(op, n_inputs, outputs, x_shape, t_shape, **attrs):
    names = ["x", "t", "w"][:n_inputs]
    inputs = [h.make_tensor_value_info("x", T.FLOAT, x_shape), h.make_tensor_value_info("t", T.INT64, t_shape)]
    if n_inputs == 3:
        inputs.append(h.make_tensor_value_info("w", T.FLOAT, [x_shape[1]]))
    g = h.make_graph([h.make_node(op, names, outputs, **attrs)], "g", inputs,
                     [h.make_tensor_value_info(o, T.FLOAT, None) for o in outputs])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def feeds(n, c, extra=(), weight=False, ignore=None):
    f = {"x": RNG.standard_normal((n, c, *extra)).astype(np.float32),
         "t": RNG.integers(0, c, (n, *extra)).astype(np.int64)}
    if ignore is not None:
        f["t"].flat[0] = ignore
    if weight:
        f["w"] = RNG.uniform(0.2, 2, c).astype(np.float32)
    return f


@pytest.mark.parametrize("op", ["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weight", [False, True])
def test_loss_dynamic_batch(tmp_path, op, reduction, weight):
    m = model(op, 3 if weight else 2, ["y"], ["N", 5], ["N"], reduction=reduction)
    harness.check_model(m, [feeds(n, 5, weight=weight) for n in (1, 4, 7)], tmp_path, dims={"N": "1:4:8"})


@pytest.mark.parametrize("op", ["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"])
@pytest.mark.parametrize("weight", [False, True])
def test_loss_spatial_ignore_index(tmp_path, op, weight):
    m = model(op, 3 if weight else 2, ["y"], [2, 4, 3, 2], [2, 3, 2], reduction="mean", ignore_index=1)
    harness.check_model(m, [feeds(2, 4, (3, 2), weight=weight, ignore=1)], tmp_path)


def test_sce_log_prob_output(tmp_path):
    m = model("SoftmaxCrossEntropyLoss", 2, ["y", "logp"], [3, 4, 5], [3, 5], reduction="none")
    harness.check_model(m, [feeds(3, 4, (5,))], tmp_path)
