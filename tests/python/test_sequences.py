"""Sequences and optionals (ONNX seq(tensor), optional(...)) through the Python API, against ONNX
Runtime: the Sequence* ops, SplitToSequence / ConcatFromSequence, a Loop that builds a sequence,
If and Optional, SequenceMap, an engine saved and loaded, a model exported by PyTorch that builds
a list in a loop, and the errors a caller meets."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h

dynrt = pytest.importorskip("dynrt")


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    return h.make_model(g, opset_imports=[h.make_opsetid("", opset)])


def reference(m, feeds):
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def assert_same(got, want):
    if want is None:
        assert got is None
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    else:
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


def split_model():
    nodes = [h.make_node("SplitToSequence", ["x", "split"], ["s"], axis=1),
             h.make_node("SequenceAt", ["s", "i"], ["a"]),
             h.make_node("ConcatFromSequence", ["s"], ["c"], axis=1),
             h.make_node("ConcatFromSequence", ["s"], ["stacked_rows"], axis=0, new_axis=0),
             h.make_node("SequenceLength", ["s"], ["n"]),
             h.make_node("Relu", ["a"], ["r"])]
    return model(nodes, [h.make_tensor_value_info("x", T.FLOAT, ["b", 6]),
                         h.make_tensor_value_info("i", T.INT64, [])],
                 [h.make_tensor_value_info("r", T.FLOAT, None), h.make_tensor_value_info("c", T.FLOAT, None),
                  h.make_tensor_value_info("n", T.INT64, None),
                  h.make_tensor_sequence_value_info("s", T.FLOAT, None)],
                 [h.make_tensor("split", T.INT64, [3], [1, 2, 3])])


def test_split_take_and_concatenate_at_every_shape():
    m = split_model()
    m.graph.node.pop(3)  # rows of different widths do not stack along axis 0
    m.graph.node.pop(3)
    m.graph.node.insert(3, h.make_node("SequenceLength", ["s"], ["n"]))
    engine = dynrt.compile(m, dims={"b": (1, 4, 16)}).engine
    ctx = engine.create_context()
    rng = np.random.default_rng(0)
    for b in (1, 3, 4, 16):
        for i in (0, 2, -1):
            x = rng.standard_normal((b, 6)).astype(np.float32)
            feeds = {"x": x, "i": np.array(i, np.int64)}
            got = ctx.run(feeds)
            want = reference(m, feeds)
            for name in ("r", "c", "n", "s"):
                assert_same(got[name], want[name])


def test_construct_insert_erase_at_positions():
    nodes = [h.make_node("SequenceConstruct", ["a", "b"], ["s0"]),
             h.make_node("SequenceInsert", ["s0", "c", "p"], ["s1"]),
             h.make_node("SequenceErase", ["s1", "q"], ["s2"]),
             h.make_node("SequenceInsert", ["s2", "a"], ["s3"])]
    m = model(nodes, [h.make_tensor_value_info(n, T.FLOAT, ["n", 2]) for n in "abc"] +
              [h.make_tensor_value_info("p", T.INT64, []), h.make_tensor_value_info("q", T.INT32, [])],
              [h.make_tensor_sequence_value_info("s3", T.FLOAT, None)])
    engine = dynrt.compile(m, dims={"n": (1, 2, 5)}).engine
    ctx = engine.create_context()
    rng = np.random.default_rng(1)
    for n, p, q in ((1, 0, 0), (2, 2, -1), (5, -1, 1), (3, 1, -3)):
        feeds = {k: rng.standard_normal((n, 2)).astype(np.float32) for k in "abc"}
        feeds.update(p=np.array(p, np.int64), q=np.array(q, np.int32))
        assert_same(ctx.run(feeds)["s3"], reference(m, feeds)["s3"])
    feeds.update(p=np.array(4, np.int64))  # past the end of a 2-tensor sequence
    with pytest.raises(dynrt.InvalidInput, match=r"SequenceInsert node producing 's1'.*position is 4, outside \[-2, 2\]"):
        ctx.run(feeds)


def test_sequence_inputs_and_a_loop_that_builds_one():
    """A decoding-style loop: each iteration appends a slice to a carried sequence; the sequence
    and its concatenation come out. The sequence input's elements have any length."""
    body = h.make_graph(
        [h.make_node("Identity", ["cond_in"], ["cond_out"]),
         h.make_node("Add", ["it", "one"], ["end"]),
         h.make_node("Unsqueeze", ["end", "axes"], ["end1"]),
         h.make_node("Slice", ["x", "zero", "end1"], ["piece"]),
         h.make_node("SequenceInsert", ["seq_in", "piece"], ["seq_out"])],
        "body", [h.make_tensor_value_info("it", T.INT64, []), h.make_tensor_value_info("cond_in", T.BOOL, []),
                 h.make_tensor_sequence_value_info("seq_in", T.FLOAT, None)],
        [h.make_tensor_value_info("cond_out", T.BOOL, []), h.make_tensor_sequence_value_info("seq_out", T.FLOAT, None)],
        [h.make_tensor("one", T.INT64, [], [1]), h.make_tensor("axes", T.INT64, [1], [0]),
         h.make_tensor("zero", T.INT64, [1], [0])])
    nodes = [h.make_node("Loop", ["trips", "", "start"], ["seq"], body=body),
             h.make_node("ConcatFromSequence", ["seq"], ["flat"], axis=0)]
    m = model(nodes, [h.make_tensor_value_info("trips", T.INT64, []), h.make_tensor_value_info("x", T.FLOAT, ["n"]),
                      h.make_tensor_sequence_value_info("start", T.FLOAT, [None])],
              [h.make_tensor_sequence_value_info("seq", T.FLOAT, None), h.make_tensor_value_info("flat", T.FLOAT, None)])
    engine = dynrt.compile(m, dims={"n": (1, 8, 32)}).engine
    assert "sequence of float32" in engine.inspect()["text"]
    ctx = engine.create_context()
    rng = np.random.default_rng(2)
    for n, trips, start in ((8, 3, [np.ones(2, np.float32)]), (32, 7, []), (1, 1, [np.zeros(0, np.float32)] * 2)):
        feeds = {"trips": np.array(trips, np.int64), "x": rng.standard_normal(n).astype(np.float32),
                 "start": start}
        got, want = ctx.run(feeds), reference(m, feeds)
        assert_same(got["seq"], want["seq"])
        assert_same(got["flat"], want["flat"])
    with pytest.raises(dynrt.InvalidInput, match=r"input 'start' element 0 has rank 2 \(shape 1x1\)"):
        ctx.run({**feeds, "start": [np.zeros((1, 1), np.float32)]})
    with pytest.raises(dynrt.InvalidInput, match=r"input 'start' is a sequence of float32, expected float32|element type"):
        ctx.run({**feeds, "start": [np.zeros(1, np.int64)]})
    with pytest.raises(dynrt.InvalidInput, match="input 'start' is a sequence; it was given a tensor"):
        ctx.run({**feeds, "start": np.zeros(1, np.float32)})


def test_if_gives_an_optional_and_optional_ops_read_it():
    then_g = h.make_graph([h.make_node("Optional", [], ["empty"], type=h.make_sequence_type_proto(
        h.make_tensor_type_proto(T.FLOAT, [2])))], "then", [], [h.make_value_info(
            "empty", h.make_optional_type_proto(h.make_sequence_type_proto(h.make_tensor_type_proto(T.FLOAT, [2]))))])
    else_g = h.make_graph([h.make_node("SequenceConstruct", ["x", "x"], ["pair"]),
                           h.make_node("Optional", ["pair"], ["full"])], "else", [],
                          [h.make_value_info("full", h.make_optional_type_proto(h.make_sequence_type_proto(
                              h.make_tensor_type_proto(T.FLOAT, [2]))))])
    nodes = [h.make_node("If", ["c"], ["o"], then_branch=then_g, else_branch=else_g),
             h.make_node("OptionalHasElement", ["o"], ["has"])]
    m = model(nodes, [h.make_tensor_value_info("c", T.BOOL, []), h.make_tensor_value_info("x", T.FLOAT, [2])],
              [h.make_value_info("o", h.make_optional_type_proto(h.make_sequence_type_proto(
                  h.make_tensor_type_proto(T.FLOAT, [2])))), h.make_tensor_value_info("has", T.BOOL, [])], opset=18)
    ctx = dynrt.compile(m).engine.create_context()
    x = np.array([1.5, -2], np.float32)
    for c in (True, False):
        feeds = {"c": np.array(c), "x": x}
        got, want = ctx.run(feeds), reference(m, feeds)
        assert_same(got["o"], want["o"])
        assert bool(got["has"]) == bool(want["has"]) == (not c)


def test_optional_inputs_may_be_none():
    nodes = [h.make_node("OptionalHasElement", ["o"], ["has"]),
             h.make_node("If", ["has"], ["y"],
                         then_branch=h.make_graph([h.make_node("OptionalGetElement", ["o"], ["t"]),
                                                   h.make_node("Neg", ["t"], ["y_then"])], "then", [],
                                                  [h.make_tensor_value_info("y_then", T.FLOAT, None)]),
                         else_branch=h.make_graph([h.make_node("Identity", ["zero"], ["y_else"])], "else", [],
                                                  [h.make_tensor_value_info("y_else", T.FLOAT, None)]))]
    m = model(nodes, [h.make_value_info("o", h.make_optional_type_proto(h.make_tensor_type_proto(T.FLOAT, [3])))],
              [h.make_tensor_value_info("y", T.FLOAT, None)], [h.make_tensor("zero", T.FLOAT, [3], [0, 0, 0])], opset=18)
    ctx = dynrt.compile(m).engine.create_context()
    x = np.array([1, -2, 3], np.float32)
    for o in (x, None):
        np.testing.assert_array_equal(ctx.run({"o": o})["y"], reference(m, {"o": o})["y"])


def test_sequence_map_over_elements_of_any_shape():
    body = h.make_graph([h.make_node("Shape", ["e"], ["shape"]), h.make_node("Mul", ["e", "w"], ["scaled"])], "body",
                        [h.make_tensor_value_info("e", T.FLOAT, ["h", "w2"]),
                         h.make_tensor_value_info("w", T.FLOAT, [])],
                        [h.make_tensor_value_info("shape", T.INT64, [2]),
                         h.make_tensor_value_info("scaled", T.FLOAT, ["h", "w2"])])
    m = model([h.make_node("SequenceMap", ["s", "k"], ["shapes", "out"], body=body)],
              [h.make_tensor_sequence_value_info("s", T.FLOAT, ["h", "w2"]), h.make_tensor_value_info("k", T.FLOAT, [])],
              [h.make_tensor_sequence_value_info("shapes", T.INT64, [2]),
               h.make_tensor_sequence_value_info("out", T.FLOAT, ["h", "w2"])])
    ctx = dynrt.compile(m).engine.create_context()
    rng = np.random.default_rng(3)
    seq = [rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (1, 7), (2, 2), (0, 5))]
    feeds = {"s": seq, "k": np.array(-0.5, np.float32)}
    got, want = ctx.run(feeds), reference(m, feeds)
    assert_same(got["shapes"], want["shapes"])
    assert_same(got["out"], want["out"])
    assert_same(ctx.run({"s": [], "k": feeds["k"]})["out"], [])


def test_an_engine_with_sequences_is_saved_and_loaded(tmp_path):
    m = split_model()
    del m.graph.node[3]  # keep outputs r, c, n, s
    engine = dynrt.compile(m, dims={"b": (1, 2, 8)}).engine
    path = tmp_path / "seq.engine"
    engine.save(path)
    module = dynrt.load(path)
    x = np.arange(18, dtype=np.float32).reshape(3, 6)
    feeds = {"x": x, "i": np.array(1, np.int64)}
    got, want = module.context.run(feeds), reference(m, feeds)
    for name in ("r", "c", "n", "s"):
        assert_same(got[name], want[name])


def test_a_torchscript_list_built_in_a_loop():
    """torch.onnx's TorchScript exporter turns a list appended in a scripted loop into a Loop over
    a sequence (SequenceInsert) and torch.cat into ConcatFromSequence."""
    torch = pytest.importorskip("torch")

    class Chunks(torch.nn.Module):
        def forward(self, x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
            parts: list[torch.Tensor] = []
            for i in range(int(n)):
                parts.append(torch.relu(x[:, i : i + 2]) * float(i + 1))
            return torch.cat(parts, dim=1)

    import io
    scripted = torch.jit.script(Chunks())
    buf = io.BytesIO()
    x0, n0 = torch.randn(2, 8), torch.tensor(3)
    torch.onnx.export(scripted, (x0, n0), buf, input_names=["x", "n"], output_names=["y"], dynamo=False,
                      dynamic_axes={"x": {0: "batch", 1: "width"}}, opset_version=17)
    m = onnx.load_from_string(buf.getvalue())
    ops = {node.op_type for node in m.graph.node}
    assert "Loop" in ops and ("ConcatFromSequence" in ops or "SequenceInsert" in str(m.graph))
    engine = dynrt.compile(m, dims={"batch": (1, 2, 8), "width": (4, 8, 16)}).engine
    ctx = engine.create_context()
    rng = np.random.default_rng(4)
    for b, w, n in ((1, 4, 2), (2, 8, 3), (8, 16, 7), (3, 9, 1)):
        feeds = {"x": rng.standard_normal((b, w)).astype(np.float32), "n": np.array(n, np.int64)}
        np.testing.assert_allclose(ctx.run(feeds)["y"], reference(m, feeds)["y"], rtol=1e-6, atol=1e-6)


def test_a_compiled_module_takes_lists_and_none():
    nodes = [h.make_node("SequenceInsert", ["s", "x"], ["s2"]), h.make_node("SequenceLength", ["s2"], ["n"]),
             h.make_node("OptionalHasElement", ["o"], ["has"])]
    m = model(nodes, [h.make_tensor_sequence_value_info("s", T.FLOAT, [2]), h.make_tensor_value_info("x", T.FLOAT, [2]),
                      h.make_value_info("o", h.make_optional_type_proto(h.make_tensor_type_proto(T.FLOAT, [2])))],
              [h.make_tensor_sequence_value_info("s2", T.FLOAT, [2]), h.make_tensor_value_info("n", T.INT64, []),
               h.make_tensor_value_info("has", T.BOOL, [])], opset=18)
    module = dynrt.compile(m)
    x = np.array([1, 2], np.float32)
    s2, n, has = module([x, x], x, o=None)
    assert len(s2) == 3 and int(n) == 3 and not bool(has)
    np.testing.assert_array_equal(s2[2], x)
    s2, n, has = module(s=[], x=x, o=x)
    assert len(s2) == 1 and int(n) == 1 and bool(has)
    with pytest.raises(dynrt.InvalidInput, match=r"missing input \['o'\]"):
        module([], x)
    assert [i["kind"] for i in module.engine.inspect()["inputs"]] == ["sequence", "tensor", "optional tensor"]


def test_a_sequence_longer_than_the_bound_is_an_error():
    """SplitToSequence's count comes from a dim, which an empty tensor may make huge: bounded (2^24)."""
    m = model([h.make_node("SplitToSequence", ["x"], ["s"], axis=1), h.make_node("SequenceLength", ["s"], ["n"])],
              [h.make_tensor_value_info("x", T.FLOAT, ["a", "b"])], [h.make_tensor_value_info("n", T.INT64, [])])
    ctx = dynrt.compile(m, dims={"a": (0, 1, 2), "b": (1, 4, 1 << 26)}).engine.create_context()
    assert int(ctx.run({"x": np.zeros((0, 5), np.float32)})["n"]) == 5
    with pytest.raises(dynrt.InvalidInput, match=r"SplitToSequence node producing 's'.*sequence of 33554432 tensors"):
        ctx.run({"x": np.zeros((0, 1 << 25), np.float32)})
