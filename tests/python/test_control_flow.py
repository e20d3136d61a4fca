"""If nodes whose condition is known at build time (passes/inline_if.cpp): the branch taken
replaces the node, so the engine computes what ONNX Runtime computes at every shape of the
range (an If decided at run time, and Loop, are in test_control_flow_runtime.py). A Scan
whose sequence length is known at build time is unrolled (passes/unroll_scan.cpp), against ONNX
Runtime with reversed inputs and outputs and other axes; a run-time length over more lengths than
the build makes variants for, or a longer one, runs as a Loop (passes/scan_as_loop.cpp)."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness

RNG = np.random.default_rng(11)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def branch(name, nodes, out, inits=()):
    return h.make_graph(nodes, name, [], [h.make_tensor_value_info(out, T.FLOAT, None)], list(inits))


def model(nodes, inputs, inits=(), opset=17):
    g = h.make_graph(nodes, "g", inputs, [h.make_tensor_value_info("y", T.FLOAT, None)], list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def if_model(cond_nodes, cond_inits=(), x_shape=("N", 4)):
    # then: y = x * W + 1 (W a branch initializer, x read from the main graph); else: y = -x
    then_g = branch("then", [h.make_node("Mul", ["x", "W"], ["tw"]), h.make_node("Add", ["tw", "one"], ["t_out"])],
                    "t_out", [const("W", RNG.standard_normal(4).astype(np.float32)), const("one", np.float32(1))])
    else_g = branch("else", [h.make_node("Neg", ["x"], ["e_out"])], "e_out")
    nodes = cond_nodes + [h.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)]
    return model(nodes, [h.make_tensor_value_info("x", T.FLOAT, list(x_shape))], cond_inits)


def feeds(rows=(1, 3, 8)):
    return [{"x": RNG.standard_normal((n, 4)).astype(np.float32)} for n in rows]


@pytest.mark.parametrize("a,b", [(1, 1), (1, 2)])  # then, else
def test_if_on_a_constant_condition_matches_onnxruntime(tmp_path, a, b):
    m = if_model([h.make_node("Equal", ["a", "b"], ["cond"])], [const("a", np.int64(a)), const("b", np.int64(b))])
    engine = harness.check_model(m, feeds(), tmp_path, dims={"N": "1:3:8"})
    ops = next(ln for ln in harness.run_cli("inspect", engine).stdout.splitlines() if ln.startswith("ops ("))
    assert "If" not in ops and ("Neg" in ops) == (a != b), ops


@pytest.mark.parametrize("width,threshold", [(4, 3), (4, 4)])  # 4 > 3: then; 4 > 4: else
def test_if_on_shape_arithmetic_is_decided_at_build_time(tmp_path, width, threshold):
    # cond = Shape(x)[1] > threshold, with dim 1 static: the exporter's "if x.size(1) > k".
    m = if_model([h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "one_i"], ["w"]),
                  h.make_node("Greater", ["w", "k"], ["cond"])],
                 [const("one_i", np.int64(1)), const("k", np.int64(threshold))], x_shape=("N", width))
    harness.check_model(m, feeds(), tmp_path, dims={"N": "1:3:8"})


def test_nested_if(tmp_path):
    # the outer then-branch holds an If on another constant, whose branches read x from the main graph
    inner = h.make_node("If", ["f"], ["i_out"], then_branch=branch("it", [h.make_node("Abs", ["x"], ["ia"])], "ia"),
                        else_branch=branch("ie", [h.make_node("Sigmoid", ["x"], ["is"])], "is"))
    then_g = h.make_graph([inner, h.make_node("Relu", ["i_out"], ["t_out"])], "then", [],
                          [h.make_tensor_value_info("t_out", T.FLOAT, None)])
    else_g = branch("else", [h.make_node("Neg", ["x"], ["e_out"])], "e_out")
    m = model([h.make_node("If", ["t"], ["y"], then_branch=then_g, else_branch=else_g)],
              [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])], [const("t", np.bool_(True)), const("f", np.bool_(False))])
    harness.check_model(m, feeds(), tmp_path, dims={"N": "1:3:8"})


# ---- Scan (passes/unroll_scan.cpp) ----------------------------------------------------------------

def scan_model(in_axis=0, in_dir=0, out_axis=0, out_dir=0, seq=5, opset=17):
    """state' = state + x_t * W; scan output y_t = state' * x_t (x: [seq, 3] along in_axis)."""
    vi = h.make_tensor_value_info
    body = h.make_graph(
        [h.make_node("Mul", ["x_t", "W"], ["xw"]), h.make_node("Add", ["s_in", "xw"], ["s_out"]),
         h.make_node("Mul", ["s_out", "x_t"], ["y_t"])], "body",
        [vi("s_in", T.FLOAT, [3]), vi("x_t", T.FLOAT, [3])], [vi("s_out", T.FLOAT, [3]), vi("y_t", T.FLOAT, [3])])
    x_shape = [seq, 3] if in_axis == 0 else [3, seq]
    node = h.make_node("Scan", ["s0", "x"], ["s_final", "y"], body=body, num_scan_inputs=1,
                       scan_input_axes=[in_axis], scan_input_directions=[in_dir], scan_output_axes=[out_axis],
                       scan_output_directions=[out_dir])
    g = h.make_graph([node], "g", [vi("s0", T.FLOAT, [3]), vi("x", T.FLOAT, x_shape)],
                     [vi("s_final", T.FLOAT, None), vi("y", T.FLOAT, None)],
                     [const("W", RNG.standard_normal(3).astype(np.float32))])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m, x_shape


@pytest.mark.parametrize("direction", [0, 1])
def test_opset8_batched_scan_matches_onnxruntime(tmp_path, direction):
    """Scan before opset 9: every input batched, scan inputs [batch, seq, ...]; one opset-9 Scan
    per batch element (passes/unroll_scan.cpp), and an engine per batch size over a dynamic one."""
    vi = h.make_tensor_value_info
    body = h.make_graph(
        [h.make_node("Mul", ["x_t", "W"], ["xw"]), h.make_node("Add", ["s_in", "xw"], ["s_out"]),
         h.make_node("Mul", ["s_out", "x_t"], ["y_t"])], "body",
        [vi("s_in", T.FLOAT, [3]), vi("x_t", T.FLOAT, [3])], [vi("s_out", T.FLOAT, [3]), vi("y_t", T.FLOAT, [3])])
    node = h.make_node("Scan", ["", "s0", "x"], ["s_final", "y"], body=body, num_scan_inputs=1, directions=[direction])
    g = h.make_graph([node], "g", [vi("s0", T.FLOAT, ["B", 3]), vi("x", T.FLOAT, ["B", 4, 3])],
                     [vi("s_final", T.FLOAT, None), vi("y", T.FLOAT, None)],
                     [const("W", RNG.standard_normal(3).astype(np.float32))])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 8)])
    m.ir_version = 4
    feeds = [{"s0": RNG.standard_normal((b, 3)).astype(np.float32), "x": RNG.standard_normal((b, 4, 3)).astype(np.float32)}
             for b in (1, 3, 2)]
    harness.check_model(m, feeds, tmp_path, dims={"B": "1:2:3"})


@pytest.mark.parametrize("in_axis,in_dir,out_axis,out_dir", [(0, 0, 0, 0), (1, 1, 1, 0), (0, 1, -1, 1), (1, 0, 0, 1)])
def test_scan_with_a_build_time_length_matches_onnxruntime(tmp_path, in_axis, in_dir, out_axis, out_dir):
    for opset in (11, 17):
        m, x_shape = scan_model(in_axis, in_dir, out_axis, out_dir, opset=opset)
        feeds = {"s0": RNG.standard_normal(3).astype(np.float32), "x": RNG.standard_normal(x_shape).astype(np.float32)}
        (tmp_path / str(opset)).mkdir()
        harness.check_model(m, [feeds], tmp_path / str(opset))


@pytest.mark.parametrize("in_axis,in_dir,out_dir", [(0, 0, 0), (1, 1, 0), (0, 1, 1), (1, 0, 1)])
def test_scan_with_a_run_time_length_runs_as_a_loop(tmp_path, in_axis, in_dir, out_dir):
    # T over 90 values: more than engine variants cover, so the Scan runs as a Loop (passes/scan_as_loop.cpp).
    m, _ = scan_model(in_axis, in_dir, 0, out_dir)
    m.graph.input[1].type.tensor_type.shape.dim[in_axis].dim_param = "T"
    feeds = [{"s0": RNG.standard_normal(3).astype(np.float32),
              "x": RNG.standard_normal((t, 3) if in_axis == 0 else (3, t)).astype(np.float32)} for t in (1, 7, 90)]
    engine = harness.check_model(m, feeds, tmp_path, dims={"T": "1:5:90"})
    assert "dynrt.Loop" in harness.run_cli("inspect", engine).stdout


def test_scan_with_a_run_time_length_stacking_on_another_axis_is_refused_by_name(tmp_path):
    m, _ = scan_model(out_axis=1)
    m.graph.input[1].type.tensor_type.shape.dim[0].dim_param = "T"
    err = harness.build_error(m, tmp_path, "--dim", "T=1:5:90")
    assert "dynrt: error (unsupported)" in err and "Scan node producing 's_final'" in err, err
    assert "stacked on axis 1" in err, err


def test_scan_longer_than_the_unroll_limit_runs_as_a_loop(tmp_path):
    m, x_shape = scan_model(seq=300)
    feeds = {"s0": RNG.standard_normal(3).astype(np.float32), "x": RNG.standard_normal(x_shape).astype(np.float32) * 0.1}
    engine = harness.check_model(m, [feeds], tmp_path)
    assert "dynrt.Loop" in harness.run_cli("inspect", engine).stdout


def test_nested_scans_run_as_a_loop_over_an_unrolled_scan(tmp_path):
    """A 256-step Scan whose body holds a 256-step Scan: the outer one runs as a Loop (its body
    loops itself) whose body holds the inner one unrolled; built in seconds."""
    import time

    import onnx
    vi = h.make_tensor_value_info
    inner = h.make_graph([h.make_node("Add", ["a", "b"], ["c"]), h.make_node("Identity", ["c"], ["y"])], "inner",
                         [vi("a", T.FLOAT, [1]), vi("b", T.FLOAT, [1])], [vi("c", T.FLOAT, [1]), vi("y", T.FLOAT, [1])])
    outer = h.make_graph([h.make_node("Scan", ["s", "seq"], ["s2", "ys"], body=inner, num_scan_inputs=1),
                          h.make_node("Identity", ["s2"], ["o"])], "outer",
                         [vi("s", T.FLOAT, [1]), vi("xt", T.FLOAT, [1])], [vi("s2", T.FLOAT, [1]), vi("o", T.FLOAT, [1])],
                         [const("seq", np.zeros((256, 1), np.float32))])
    g = h.make_graph([h.make_node("Scan", ["s0", "x"], ["sf", "yo"], body=outer, num_scan_inputs=1)], "g",
                     [vi("s0", T.FLOAT, [1]), vi("x", T.FLOAT, [256, 1])], [vi("sf", T.FLOAT, None), vi("yo", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "m.onnx"))
    t = time.monotonic()
    feeds = {"s0": np.ones(1, np.float32), "x": RNG.standard_normal((256, 1)).astype(np.float32)}
    harness.check_model(tmp_path / "m.onnx", [feeds], tmp_path)
    assert time.monotonic() - t < 60
