"""The documented Torch-TensorRT dynamic-shape scenarios, and real models
exported from PyTorch, compared with ONNX Runtime at every shape."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness
import model_zoo

RNG = np.random.default_rng(0)


def images(n, hw=224):
    return {"x": RNG.standard_normal((n, 3, hw, hw)).astype(np.float32)}


def bert_feeds(b, s, vocab=1000):
    mask = np.ones((b, s), np.int64)
    mask[0, s // 2:] = 0  # padded first sequence: the mask path must matter
    return {"input_ids": RNG.integers(0, vocab, (b, s)).astype(np.int64), "attention_mask": mask}


def test_a_cnn_static(tmp_path):
    model = model_zoo.save_filled("zoo/resnet50.torchscript.onnx", tmp_path)
    shape = {"x": (1, 3, 224, 224)}
    engine = harness.check_model(model, [images(1)], tmp_path,
                                 min_shapes=shape, opt_shapes=shape, max_shapes=shape)
    p = harness.run_cli("run", engine, "--shapes", "x:2x3x224x224", check=False)
    assert p.returncode == 1
    assert "input 'x' dimension 0 ('batch') is 2, outside the range [1, 1]" in p.stderr


def test_b_cnn_dynamic_batch_every_size(tmp_path):
    model = model_zoo.save_filled("zoo/resnet50.torchscript.onnx", tmp_path)
    engine = harness.check_model(model, [images(n) for n in range(1, 9)], tmp_path,
                                 min_shapes={"x": (1, 3, 224, 224)}, opt_shapes={"x": (4, 3, 224, 224)},
                                 max_shapes={"x": (8, 3, 224, 224)})
    p = harness.run_cli("run", engine, "--shapes", "x:9x3x224x224", check=False)
    assert p.returncode == 1
    assert "input 'x' dimension 0 ('batch') is 9, outside the range [1, 8]" in p.stderr


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_c_bert_shared_batch_and_seq(tmp_path, exporter):
    model = model_zoo.save_filled(f"bert_tiny.{exporter}.onnx", tmp_path)
    grid = [bert_feeds(b, s) for b in (1, 2, 3) for s in (2, 5, 16, 33)]
    engine = harness.check_model(model, grid, tmp_path, dims={"batch": "1:2:4", "seq": "2:16:64"})
    bad = {"input_ids": np.zeros((2, 5), np.int64), "attention_mask": np.ones((2, 7), np.int64)}
    np.savez(tmp_path / "bad.npz", **bad)
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "bad.npz", check=False)
    assert p.returncode == 1
    assert ("input 'attention_mask' dimension 1 is 7, but input 'input_ids' dimension 1 is 5; "
            "both are the dimension 'seq' and must be equal") in p.stderr


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_d_adaptive_pool_flatten_dynamic_batch(tmp_path, exporter):
    model = model_zoo.MODELS / f"pool_flatten.{exporter}.onnx"
    feeds = [{"x": RNG.standard_normal((n, 3, 16, 16)).astype(np.float32)} for n in range(1, 9)]
    engine = harness.check_model(model, feeds, tmp_path, dims={"batch": "1:4:8"})
    info = harness.run_cli("inspect", engine).stdout
    assert "output: float32 [batch, 4]" in info  # the flatten stayed symbolic: no padding, no fixed batch


def test_e_data_dependent_boolean_mask(tmp_path):
    nodes = [
        h.make_node("Greater", ["x", "zero"], ["mask"]),
        h.make_node("NonZero", ["mask"], ["idx"]),
        h.make_node("Transpose", ["idx"], ["idx_t"], perm=[1, 0]),
        h.make_node("GatherND", ["x", "idx_t"], ["vals"]),
        h.make_node("Mul", ["vals", "two"], ["y"]),
        h.make_node("ReduceSum", ["vals"], ["total"], keepdims=0),
    ]
    g = h.make_graph(nodes, "mask", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None), h.make_tensor_value_info("total", T.FLOAT, None)],
                     [h.make_tensor("zero", T.FLOAT, [], [0.0]), h.make_tensor("two", T.FLOAT, [], [2.0])])
    model = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    model.ir_version = 8
    feeds = [{"x": RNG.standard_normal((n, 4)).astype(np.float32)} for n in (1, 3, 8)]
    feeds.append({"x": -np.ones((2, 4), np.float32)})  # nothing selected: empty output
    harness.check_model(model, feeds, tmp_path, dims={"N": "1:4:8"})


def test_f_static_result_of_data_dependent_values_read_through_a_view(tmp_path):
    # ReduceSum over masked values has a fixed shape but runs after the sizes are found; the
    # Reshape (a view, no copy) that reads it must see the bytes the ReduceSum wrote.
    nodes = [
        h.make_node("Greater", ["x", "zero"], ["mask"]),
        h.make_node("NonZero", ["mask"], ["idx"]),
        h.make_node("Transpose", ["idx"], ["idx_t"], perm=[1, 0]),
        h.make_node("GatherND", ["x", "idx_t"], ["vals"]),
        h.make_node("ReduceSum", ["vals"], ["total"], keepdims=0),
        h.make_node("Reshape", ["total", "one_dim"], ["total1"]),
        h.make_node("Mul", ["total1", "two"], ["y"]),
    ]
    g = h.make_graph(nodes, "mask_view", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [h.make_tensor("zero", T.FLOAT, [], [0.0]), h.make_tensor("two", T.FLOAT, [], [2.0]),
                      h.make_tensor("one_dim", T.INT64, [1], [1])])
    model = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    model.ir_version = 8
    feeds = [{"x": RNG.standard_normal((n, 4)).astype(np.float32)} for n in (1, 3, 8)]
    harness.check_model(model, feeds, tmp_path, dims={"N": "1:4:8"})


def test_real_resnet50_dynamo_min_opt_max_uneven(tmp_path):
    model = model_zoo.save_filled("zoo/resnet50.dynamo.onnx", tmp_path)
    harness.check_model(model, [images(n) for n in (1, 4, 8, 3, 5)], tmp_path,
                        dims={"batch": "1:4:8", "height": "224:224:224", "width": "224:224:224"})


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_real_bert_base_min_opt_max_uneven(tmp_path, exporter):
    model = model_zoo.save_filled(f"zoo/bert_base.{exporter}.onnx", tmp_path)
    shapes = [(1, 8), (2, 64), (4, 128), (3, 17), (2, 100)]
    harness.check_model(model, [bert_feeds(b, s, vocab=30522) for b, s in shapes], tmp_path,
                        dims={"batch": "1:2:4", "seq": "8:64:128"})
