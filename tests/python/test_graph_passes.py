"""Graph passes whose rewrites change values only if they are wrong: each case is built with a
dynamic dimension and compared with ONNX Runtime, including the cases a pass must leave alone."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness

RNG = np.random.default_rng(5)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


@pytest.mark.parametrize("start,delta,op,c,folds", [
    (0, 1, "GreaterOrEqual", 0, True),    # Range(0, n) >= 0: always true
    (2, 3, "Greater", 1, True),           # Range(2, n, 3) > 1
    (0, 1, "Greater", 0, False),          # 0 > 0 is false
    (0, 1, "GreaterOrEqual", 1, False),   # the first element is 0
    (5, -1, "GreaterOrEqual", 0, False),  # counting down: no lower bound
    (0, 1, "LessOrEqual", 0, True),       # written 0 <= Range(0, n)
    (1, 1, "Less", 0, True),              # 0 < Range(1, n)
])
def test_always_true_comparison_and_where(tmp_path, start, delta, op, c, folds):
    # t = cmp(Range(start, S + start, delta)[:, None], c) of shape [S, 1], x [1, S]:
    # And(t, x > 0) and Where(t, x, -x) are [S, S]. When t is always true
    # (passes/fold_always_true.cpp) they become Expands of x > 0 and of x.
    x_left = op in ("GreaterOrEqual", "Greater")
    nodes = [h.make_node("Shape", ["x"], ["s1"], start=1, end=2), h.make_node("Squeeze", ["s1"], ["s"]),
             h.make_node("Add", ["s", "start"], ["limit"]),
             h.make_node("Range", ["start", "limit", "delta"], ["r"]),
             h.make_node("Unsqueeze", ["r", "ax1"], ["r2"]),
             h.make_node(op, ["r2", "c"] if x_left else ["c", "r2"], ["t"]),
             h.make_node("Greater", ["x", "zero"], ["pos"]),
             h.make_node("And", ["t", "pos"], ["both"]),
             h.make_node("Cast", ["both"], ["y0"], to=T.FLOAT),
             h.make_node("Neg", ["x"], ["nx"]),
             h.make_node("Where", ["t", "x", "nx"], ["y1"])]
    inits = [const("start", np.int64(start)), const("delta", np.int64(delta)), const("c", np.int64(c)),
             const("ax1", np.array([1], np.int64)), const("zero", np.float32(0))]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [1, "S"])],
                     [h.make_tensor_value_info("y0", T.FLOAT, None), h.make_tensor_value_info("y1", T.FLOAT, None)],
                     inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    feeds = [{"x": RNG.standard_normal((1, s)).astype(np.float32)} for s in (1, 5, 16)]
    engine = harness.check_model(m, feeds, tmp_path, dims={"S": "1:5:16"})
    ops = next(ln for ln in harness.run_cli("inspect", engine).stdout.splitlines() if ln.startswith("ops ("))
    assert (" And x" not in ops and " Where x" not in ops) == folds, ops


def test_shape_values_of_an_empty_and_a_one_element_shape_broadcast_to_empty(tmp_path):
    # Shape(scalar) is [] (no elements), Shape([N]) has one: their sum broadcasts to an empty tensor.
    # Inference once read element 0 of the empty one (fuzz_model).
    nodes = [h.make_node("Shape", ["s"], ["e"]), h.make_node("Shape", ["x"], ["o"]), h.make_node("Add", ["e", "o"], ["sum"]),
             h.make_node("Cast", ["sum"], ["sf"], to=T.FLOAT), h.make_node("ReduceSum", ["x"], ["r"], keepdims=0),
             h.make_node("Add", ["r", "s"], ["y0"]), h.make_node("Shape", ["sf"], ["y1"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N"]), h.make_tensor_value_info("s", T.FLOAT, [])],
                     [h.make_tensor_value_info("y0", T.FLOAT, None), h.make_tensor_value_info("y1", T.INT64, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    feeds = [{"x": RNG.standard_normal(n).astype(np.float32), "s": np.array(1.5, np.float32)} for n in (1, 4)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:2:4"})


@pytest.mark.parametrize("case,dropped", [
    ("slice_all", True),          # x[0:INT64_MAX, :] with steps 1: the whole range
    ("slice_all_no_steps", True),
    ("slice_from_1", False),      # x[1:, :] is smaller
    ("slice_reversed", False),    # x[::-1]: same shape, reversed
    ("expand_same", True),        # Expand to Shape(x)
    ("expand_wider", False),      # Expand of [N, 4] to [2, N, 4]
    ("cast_same", True),
    ("transpose_identity", True),
    ("transpose_swap", False),
])
def test_ops_that_give_back_their_input_become_views(tmp_path, case, dropped):
    # passes/drop_identity_ops.cpp: each case against ONNX Runtime at several N; dropped ones show
    # no node of their op in `inspect` (the Relu after them keeps the graph non-trivial).
    big = np.iinfo(np.int64).max
    x = h.make_tensor_value_info("x", T.FLOAT, ["N", 4])
    inits = [const("z", np.array([0], np.int64)), const("e", np.array([big], np.int64)),
             const("one", np.array([1], np.int64)), const("ax0", np.array([0], np.int64)),
             const("m1", np.array([-1], np.int64)), const("lo", np.array([-big], np.int64)),
             const("two", np.array([2], np.int64))]
    op, nodes = {
        "slice_all": ("Slice", [h.make_node("Slice", ["x", "z", "e", "ax0", "one"], ["t"])]),
        "slice_all_no_steps": ("Slice", [h.make_node("Slice", ["x", "z", "e"], ["t"])]),
        "slice_from_1": ("Slice", [h.make_node("Slice", ["x", "one", "e", "ax0", "one"], ["t"])]),
        "slice_reversed": ("Slice", [h.make_node("Slice", ["x", "m1", "lo", "ax0", "m1"], ["t"])]),
        "expand_same": ("Expand", [h.make_node("Shape", ["x"], ["s"]), h.make_node("Expand", ["x", "s"], ["t"])]),
        "expand_wider": ("Expand", [h.make_node("Shape", ["x"], ["s"]), h.make_node("Concat", ["two", "s"], ["s2"], axis=0),
                                    h.make_node("Expand", ["x", "s2"], ["t"])]),
        "cast_same": ("Cast", [h.make_node("Cast", ["x"], ["t"], to=T.FLOAT)]),
        "transpose_identity": ("Transpose", [h.make_node("Transpose", ["x"], ["t"], perm=[0, 1])]),
        "transpose_swap": ("Transpose", [h.make_node("Transpose", ["x"], ["t"], perm=[1, 0])]),
    }[case]
    nodes = nodes + [h.make_node("Relu", ["t"], ["y"])]
    g = h.make_graph(nodes, "g", [x], [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    feeds = [{"x": RNG.standard_normal((n, 4)).astype(np.float32)} for n in (1, 3, 8)]
    engine = harness.check_model(m, feeds, tmp_path, dims={"N": "1:3:8"})
    ops = next(ln for ln in harness.run_cli("inspect", engine).stdout.splitlines() if ln.startswith("ops ("))
    assert (f" {op} x" not in ops) == dropped, ops
