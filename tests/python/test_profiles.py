"""Profiles: several per engine, per-input or per-dim ranges, unnamed dynamic
dims, relations between dims."""
import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

import harness

RNG = np.random.default_rng(1)


def model(nodes, inputs, outputs, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def softmax_model(dims):
    return model([h.make_node("Softmax", ["x"], ["y"], axis=-1)], [h.make_tensor_value_info("x", T.FLOAT, dims)],
                 [h.make_tensor_value_info("y", T.FLOAT, None)])


def test_two_profiles_pick_the_one_that_contains_the_shape(tmp_path):
    m = softmax_model(["N", 16])
    onnx.save(m, tmp_path / "m.onnx")
    engine = tmp_path / "two.engine"
    harness.run_cli("build", tmp_path / "m.onnx", "-o", engine, "--dim", "N=1:1:2", "--profile", "--dim", "N=16:32:64")
    info = harness.run_cli("inspect", engine).stdout
    assert "profile 0: N=1:1:2" in info and "profile 1: N=16:32:64" in info
    for n in (1, 2, 16, 40, 64):
        feeds = {"x": RNG.standard_normal((n, 16)).astype(np.float32)}
        harness.assert_close(harness.run_engine(engine, feeds, tmp_path), harness.reference(m, feeds))
    p = harness.run_cli("run", engine, "--shapes", "x:8x16", check=False)
    assert p.returncode == 1
    assert ("(profile 0: input 'x' dimension 0 ('N') is 8, outside the range [1, 2]; "
            "profile 1: input 'x' dimension 0 ('N') is 8, outside the range [16, 64])") in p.stderr


def test_unnamed_dynamic_dims_get_their_own_symbols(tmp_path):
    # Dims with neither dim_value nor dim_param: ranges come from per-input shapes.
    m = model([h.make_node("Add", ["a", "b"], ["y"])],
              [h.make_tensor_value_info("a", T.FLOAT, [None, 8]), h.make_tensor_value_info("b", T.FLOAT, [None, 8])],
              [h.make_tensor_value_info("y", T.FLOAT, None)])
    engine = harness.build_engine(m, tmp_path, min_shapes={"a": (1, 8), "b": (1, 8)},
                                  opt_shapes={"a": (4, 8), "b": (1, 8)}, max_shapes={"a": (6, 8), "b": (6, 8)})
    info = harness.run_cli("inspect", engine).stdout
    assert "a: float32 [a_dim0, 8]" in info and "b: float32 [b_dim0, 8]" in info
    for na, nb in ((3, 3), (5, 1), (1, 4)):  # broadcasting between independent dims
        feeds = {"a": RNG.standard_normal((na, 8)).astype(np.float32), "b": RNG.standard_normal((nb, 8)).astype(np.float32)}
        harness.assert_close(harness.run_engine(engine, feeds, tmp_path), harness.reference(m, feeds))
    p = harness.run_cli("run", engine, "--shapes", "a:3x8,b:2x8", check=False)
    assert p.returncode == 1 and "a_dim0 and b_dim0 broadcastable (equal or 1)" in p.stderr
    assert "(with a_dim0=3, b_dim0=2)" in p.stderr


def test_relation_between_dims(tmp_path):
    # dec = 2*enc: the decoder input is twice as long as the encoder input.
    m2 = model([h.make_node("Concat", ["enc_x", "enc_x"], ["up"], axis=2), h.make_node("Add", ["up", "dec_x"], ["y"])],
               [h.make_tensor_value_info("enc_x", T.FLOAT, [1, 1, "enc"]), h.make_tensor_value_info("dec_x", T.FLOAT, [1, 1, "dec"])],
               [h.make_tensor_value_info("y", T.FLOAT, None)])
    engine = harness.build_engine(m2, tmp_path, dims={"enc": "1:8:16"}, extra=("--relation", "dec = 2*enc"))
    info = harness.run_cli("inspect", engine).stdout
    assert "dec_x: float32 [1, 1, 2*enc]" in info
    assert "guards (checked once per new input shape):\n  (none)" in info  # the relation proves the Add's broadcast
    for n in (1, 5, 16):
        feeds = {"enc_x": RNG.standard_normal((1, 1, n)).astype(np.float32),
                 "dec_x": RNG.standard_normal((1, 1, 2 * n)).astype(np.float32)}
        harness.assert_close(harness.run_engine(engine, feeds, tmp_path), harness.reference(m2, feeds))
    p = harness.run_cli("run", engine, "--shapes", "enc_x:1x1x4,dec_x:1x1x9", check=False)
    assert p.returncode == 1
    assert "input 'dec_x' dimension 2 is 9, but the relation makes it 2*enc = 8" in p.stderr


def test_a_range_for_a_dim_a_relation_defines_is_an_error(tmp_path):
    m2 = model([h.make_node("Concat", ["enc_x", "dec_x"], ["y"], axis=2)],
               [h.make_tensor_value_info("enc_x", T.FLOAT, [1, 1, "enc"]), h.make_tensor_value_info("dec_x", T.FLOAT, [1, 1, "dec"])],
               [h.make_tensor_value_info("y", T.FLOAT, None)])
    onnx.save(m2, str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "enc=1:8:16", "--dim", "dec=2:16:100",
                        "--relation", "dec = 2*enc", check=False)
    assert p.returncode == 1
    assert "the relation 'dec = 2*enc' defines it from the other dimensions" in p.stderr and "drop --dim dec" in p.stderr


def test_static_model_needs_no_profile(tmp_path):
    m = softmax_model([2, 16])
    feeds = {"x": RNG.standard_normal((2, 16)).astype(np.float32)}
    harness.check_model(m, [feeds], tmp_path)
