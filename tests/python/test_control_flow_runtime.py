"""If with a condition known only at run time, and Loop (builder/control_flow.cpp,
runtime/control_flow.cpp): each subgraph is built as an engine of its own and the
node runs them. Outputs are compared with ONNX Runtime at shapes over the whole
range, with both branches taken, loops of zero, one and many iterations, carried
values whose shape changes between iterations, and nested control flow. The zoo
models cond_gate and rnn_loop (torch.cond / while_loop / scripted control flow from
both exporters) are in test_zoo.py."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

import harness

RNG = np.random.default_rng(23)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def vi(name, dtype=T.FLOAT, shape=None):
    return h.make_tensor_value_info(name, dtype, shape)


def model(nodes, inputs, outputs=("y",), inits=(), opset=17):
    g = h.make_graph(nodes, "g", inputs, [vi(o, T.FLOAT, None) for o in outputs], list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def x_feed(n, sign=None, width=4):
    x = RNG.standard_normal((n, width)).astype(np.float32)
    if sign is not None:
        x = np.abs(x) * sign
    return {"x": x}


def branch(name, nodes, out, inits=()):
    return h.make_graph(nodes, name, [], [vi(out, T.FLOAT, None)], list(inits))


def run_time_if(then_nodes, then_out, else_nodes, else_out, after=(), inits=()):
    """cond = ReduceSum(x) > 0, known only at run time."""
    nodes = [h.make_node("ReduceSum", ["x"], ["sx"], keepdims=0), h.make_node("Greater", ["sx", "zero"], ["cond"]),
             h.make_node("If", ["cond"], ["if_out" if after else "y"],
                         then_branch=branch("then", then_nodes, then_out), else_branch=branch("else", else_nodes, else_out))]
    return model(nodes + list(after), [vi("x", T.FLOAT, ["N", 4])], inits=[const("zero", np.float32(0)), *inits])


def test_if_on_a_run_time_condition_matches_onnxruntime(tmp_path):
    # then: y = x * W + 1 (W a branch initializer, x read from the main graph); else: y = -x
    then_nodes = [h.make_node("Mul", ["x", "W"], ["tw"]), h.make_node("Add", ["tw", "one"], ["t_out"])]
    m = run_time_if(then_nodes, "t_out", [h.make_node("Neg", ["x"], ["e_out"])], "e_out",
                    after=[h.make_node("Add", ["if_out", "x"], ["y"])],  # the If's output has x's shape
                    inits=[const("W", RNG.standard_normal(4).astype(np.float32)), const("one", np.float32(1))])
    feeds = [x_feed(n, s) for n in (1, 3, 8) for s in (1, -1)]
    engine = harness.check_model(m, feeds, tmp_path, dims={"N": "1:3:8"})
    out = harness.run_cli("inspect", engine).stdout
    assert "dynrt.If" in out and "subgraph engines" in out and "then: " in out and "else: " in out, out


def test_if_whose_branches_give_different_shapes(tmp_path):
    # then: [N, 4]; else: [2N, 2] (the output's dims become run-time sizes)
    else_nodes = [h.make_node("Concat", ["x", "x"], ["xx"], axis=0),
                  h.make_node("Slice", ["xx", "s0", "s1", "ax"], ["e_out"])]
    m = run_time_if([h.make_node("Relu", ["x"], ["t_out"])], "t_out", else_nodes, "e_out",
                    after=[h.make_node("Shape", ["if_out"], ["shp"]), h.make_node("Cast", ["shp"], ["y"], to=T.FLOAT)],
                    inits=[const("s0", np.array([0], np.int64)), const("s1", np.array([2], np.int64)),
                           const("ax", np.array([1], np.int64))])
    m.graph.output.append(vi("if_out", T.FLOAT, None))
    feeds = [x_feed(n, s) for n in (1, 5, 8) for s in (1, -1)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:3:8"})


def test_if_with_an_if_in_its_branch(tmp_path):
    # the inner If's condition depends on data too: ReduceMax(x) > 1
    inner = h.make_node("If", ["big"], ["i_out"], then_branch=branch("it", [h.make_node("Abs", ["x"], ["ia"])], "ia"),
                        else_branch=branch("ie", [h.make_node("Sigmoid", ["x"], ["is"])], "is"))
    then_nodes = [h.make_node("ReduceMax", ["x"], ["mx"], keepdims=0), h.make_node("Greater", ["mx", "one"], ["big"]),
                  inner, h.make_node("Relu", ["i_out"], ["t_out"])]
    m = run_time_if(then_nodes, "t_out", [h.make_node("Neg", ["x"], ["e_out"])], "e_out",
                    inits=[const("one", np.float32(1))])
    feeds = [x_feed(3, 1), x_feed(3, -1), {"x": np.full((2, 4), 0.5, np.float32)}, x_feed(8, 1)]
    harness.check_model(m, feeds, tmp_path, dims={"N": "1:3:8"})


def loop_body(nodes, carried, scans, extra_inputs=()):
    """Body inputs (i, cond_in, carried...), outputs (cond_out, carried..., scans...)."""
    return h.make_graph(nodes, "body", [vi("i", T.INT64, []), vi("cond_in", T.BOOL, []), *[vi(c + "_in", T.FLOAT, None) for c in carried]],
                        [vi("cond_out", T.BOOL, []), *[vi(c + "_out", T.FLOAT, None) for c in carried],
                         *[vi(s, T.FLOAT, None) for s in scans]])


def counting_loop():
    # for i in range(n): acc = acc * 0.5 + x * i; scan: acc each step. n is an input (data).
    body = loop_body([h.make_node("Identity", ["cond_in"], ["cond_out"]),
                      h.make_node("Cast", ["i"], ["fi"], to=T.FLOAT),
                      h.make_node("Mul", ["x", "fi"], ["xi"]),
                      h.make_node("Mul", ["acc_in", "half"], ["ah"]),
                      h.make_node("Add", ["ah", "xi"], ["acc_out"]),
                      h.make_node("Identity", ["acc_out"], ["step"])], ["acc"], ["step"])
    nodes = [h.make_node("Loop", ["n", "", "x"], ["y", "steps"], body=body)]
    return model(nodes, [vi("x", T.FLOAT, ["N", 4]), vi("n", T.INT64, [])], outputs=("y", "steps"),
                 inits=[const("half", np.float32(0.5))])


@pytest.mark.parametrize("trips", [1, 5])
def test_loop_with_a_run_time_trip_count_matches_onnxruntime(tmp_path, trips):
    feeds = [{**x_feed(n), "n": np.array(trips, np.int64)} for n in (1, 3, 8)]
    harness.check_model(counting_loop(), feeds, tmp_path, dims={"N": "1:3:8"})


def test_loop_of_zero_iterations(tmp_path):
    # The carried value comes back unchanged. ONNX leaves the scan output's shape open here (ONNX
    # Runtime gives (0,), the reference implementation fails): dynrt keeps its rank, (0, N, 4).
    engine = harness.build_engine(counting_loop(), tmp_path, dims={"N": "1:3:8"})
    for n in (1, 5):
        feeds = {**x_feed(n), "n": np.array(0, np.int64)}
        got = harness.run_engine(engine, feeds, tmp_path)
        harness.assert_close({"y": got["y"]}, {"y": harness.reference(counting_loop(), feeds)["y"]})
        assert got["steps"].shape == (0, n, 4) and got["steps"].dtype == np.float32


def test_loop_that_ends_on_its_condition_with_a_growing_carried_value(tmp_path):
    # while sum(v) < limit: v = concat(v, v * 0.5 + 1); cond from the body, no trip count
    body = loop_body([h.make_node("Mul", ["v_in", "half"], ["vh"]), h.make_node("Add", ["vh", "one"], ["vn"]),
                      h.make_node("Concat", ["v_in", "vn"], ["v_out"], axis=0),
                      h.make_node("ReduceSum", ["v_out"], ["sv"], keepdims=0),
                      h.make_node("Less", ["sv", "limit"], ["cond_out"])], ["v"], [])
    nodes = [h.make_node("Loop", ["", "go", "x"], ["y"], body=body)]
    m = model(nodes, [vi("x", T.FLOAT, ["N", 4]), vi("limit", T.FLOAT, [])],
              inits=[const("half", np.float32(0.5)), const("one", np.float32(1)), const("go", np.bool_(True))])
    feeds = [{"x": np.abs(RNG.standard_normal((n, 4))).astype(np.float32), "limit": np.array(lim, np.float32)}
             for n, lim in ((1, 0.0), (2, 10.0), (3, 100.0), (8, 1000.0))]
    engine = harness.check_model(m, feeds, tmp_path, dims={"N": "1:3:8"})
    # the output's first dim is a size the run decides
    out = harness.run_cli("inspect", engine).stdout
    assert "y" in out, out


def test_loop_with_an_if_in_its_body_and_a_scan_output(tmp_path):
    # each step: if i is even, acc += x, else acc -= 2x; scan output: ReduceSum(acc) per step
    even = branch("even", [h.make_node("Add", ["acc_in", "x"], ["ev"])], "ev")
    odd = branch("odd", [h.make_node("Mul", ["x", "two"], ["x2"]), h.make_node("Sub", ["acc_in", "x2"], ["od"])], "od")
    body = loop_body([h.make_node("Mod", ["i", "two_i"], ["r"]), h.make_node("Equal", ["r", "zero_i"], ["is_even"]),
                      h.make_node("If", ["is_even"], ["acc_out"], then_branch=even, else_branch=odd),
                      h.make_node("ReduceSum", ["acc_out"], ["total"], keepdims=0),
                      h.make_node("Identity", ["cond_in"], ["cond_out"])], ["acc"], ["total"])
    nodes = [h.make_node("Loop", ["n", "", "x"], ["y", "totals"], body=body)]
    m = model(nodes, [vi("x", T.FLOAT, ["N", 4]), vi("n", T.INT64, [])], outputs=("y", "totals"),
              inits=[const("two", np.float32(2)), const("two_i", np.int64(2)), const("zero_i", np.int64(0))])
    feeds = [{**x_feed(n), "n": np.array(t, np.int64)} for n, t in ((1, 0), (3, 3), (8, 6))]
    engine = harness.check_model(m, feeds, tmp_path, dims={"N": "1:3:8"})
    # A loaded engine holds its subgraph engines loaded, not as bytes: saving it again writes
    # them out from those engines, the same file (the If inside the Loop's body included).
    dynrt = pytest.importorskip("dynrt")
    dynrt.load(engine).engine.save(tmp_path / "again.engine")
    assert (tmp_path / "again.engine").read_bytes() == engine.read_bytes()


def test_loop_reading_outer_values_whose_dims_it_shares(tmp_path):
    # h = tanh(h @ W + x[:, t]) for t in range(seq): the trip count comes from Shape(x) (TorchScript's form)
    body = h.make_graph([h.make_node("Gather", ["x", "i"], ["xt"], axis=1),
                         h.make_node("MatMul", ["h_in", "W"], ["hw"]), h.make_node("Add", ["hw", "xt"], ["pre"]),
                         h.make_node("Tanh", ["pre"], ["h_out"]), h.make_node("Identity", ["cond_in"], ["cond_out"])],
                        "body", [vi("i", T.INT64, []), vi("cond_in", T.BOOL, []), vi("h_in", T.FLOAT, None)],
                        [vi("cond_out", T.BOOL, []), vi("h_out", T.FLOAT, None)])
    nodes = [h.make_node("Shape", ["x"], ["shp"]), h.make_node("Gather", ["shp", "one_i"], ["seq"]),
             h.make_node("Shape", ["x"], ["shp0"]), h.make_node("Gather", ["shp0", "zero_i"], ["b"]),
             h.make_node("Unsqueeze", ["b", "ax0"], ["b1"]), h.make_node("Concat", ["b1", "eight"], ["hshape"], axis=0),
             h.make_node("ConstantOfShape", ["hshape"], ["h0"], value=numpy_helper.from_array(np.zeros(1, np.float32))),
             h.make_node("Loop", ["seq", "", "h0"], ["hT"], body=body), h.make_node("Add", ["hT", "bias"], ["y"])]
    m = model(nodes, [vi("x", T.FLOAT, ["B", "S", 8])],
              inits=[const("W", (RNG.standard_normal((8, 8)) * 0.3).astype(np.float32)),
                     const("bias", RNG.standard_normal(8).astype(np.float32)),
                     const("one_i", np.int64(1)), const("zero_i", np.int64(0)), const("ax0", np.array([0], np.int64)),
                     const("eight", np.array([8], np.int64))])
    feeds = [{"x": RNG.standard_normal((b, s, 8)).astype(np.float32)} for b, s in ((1, 1), (2, 7), (4, 20), (3, 13))]
    harness.check_model(m, feeds, tmp_path, dims={"B": "1:2:4", "S": "1:8:20"})


def test_loop_that_never_ends_is_stopped_with_an_error(tmp_path):
    body = loop_body([h.make_node("Identity", ["cond_in"], ["cond_out"]), h.make_node("Identity", ["v_in"], ["v_out"])],
                     ["v"], [])
    m = model([h.make_node("Loop", ["", "go", "x"], ["y"], body=body)], [vi("x", T.FLOAT, [2])],
              inits=[const("go", np.bool_(True))])
    m.graph.node[0].name = "forever"
    engine = harness.build_engine(m, tmp_path)
    np.savez(tmp_path / "in.npz", x=np.zeros(2, np.float32))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz", check=False)
    assert p.returncode == 1 and "dynrt: error (invalid input)" in p.stderr, p.stderr
    assert "Loop node 'forever'" in p.stderr and "1048576 iterations" in p.stderr, p.stderr
    # A context may stop Loops sooner (ContextOptions::max_loop_iterations); the bound is checked.
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz",
                        "--max-loop-iterations", "10", check=False)
    assert p.returncode == 1 and "Loop node 'forever'" in p.stderr and "it ran 10 iterations" in p.stderr, p.stderr
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz",
                        "--max-loop-iterations", "0", check=False)
    assert p.returncode == 1 and "dynrt: error (invalid build config)" in p.stderr and "max_loop_iterations" in p.stderr, p.stderr


def test_a_loop_may_run_exactly_the_contexts_iteration_bound(tmp_path):
    engine = harness.build_engine(counting_loop(), tmp_path, dims={"N": "1:3:8"})
    feeds = {**x_feed(2), "n": np.array(5, np.int64)}
    np.savez(tmp_path / "in.npz", **feeds)
    harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz",
                    "--max-loop-iterations", "5")
    got = dict(np.load(tmp_path / "o.npz"))
    harness.assert_close({"y": got["y"]}, {"y": harness.reference(counting_loop(), feeds)["y"]})
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz",
                        "--max-loop-iterations", "4", check=False)
    assert p.returncode == 1 and "it ran 4 iterations" in p.stderr, p.stderr


def test_if_whose_branches_give_different_ranks_is_refused(tmp_path):
    m = run_time_if([h.make_node("Relu", ["x"], ["t_out"])], "t_out",
                    [h.make_node("ReduceSum", ["x"], ["e_out"], keepdims=0)], "e_out")
    m.graph.node[-1].name = "branchy"
    err = harness.build_error(m, tmp_path, "--dim", "N=1:3:8")
    assert "dynrt: error (unsupported)" in err and "If node 'branchy'" in err and "ranks 2 and 0" in err, err


def test_deeply_nested_run_time_ifs_are_refused_quickly(tmp_path):
    """Each If builds both branches: ten levels would be 2^10 subgraph engines. An untrusted model
    cannot multiply the build: past 256 subgraph engines it is refused."""
    import time
    graph = branch("leaf", [h.make_node("Relu", ["x"], ["leaf_out"])], "leaf_out")
    for level in range(10):
        reduce = h.make_node("ReduceSum", ["x"], [f"s{level}"], keepdims=0)
        test = h.make_node("Greater", [f"s{level}", "zero"], [f"c{level}"])
        node = h.make_node("If", [f"c{level}"], [f"o{level}"], then_branch=graph, else_branch=graph)
        graph = h.make_graph([reduce, test, node], f"g{level}", [], [vi(f"o{level}", T.FLOAT, None)])
    m = model(list(graph.node[:2]) + [graph.node[2]], [vi("x", T.FLOAT, ["N", 4])], inits=[const("zero", np.float32(0))])
    m.graph.output[0].name = "o9"
    t = time.monotonic()
    err = harness.build_error(m, tmp_path, "--dim", "N=1:3:8")
    assert "dynrt: error (unsupported)" in err and "more than 256 subgraph engines" in err, err
    assert time.monotonic() - t < 60
