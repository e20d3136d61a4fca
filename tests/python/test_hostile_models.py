"""Models are untrusted files (issue 10): an initializer whose dims claim more
than its bytes hold is refused before anything is allocated, dims that
overflow are an error naming the tensor, and external data is read only from
inside the model's folder, at an offset and length the file really has."""
import os
import pathlib
import resource
import subprocess

import numpy as np
import pytest
import onnx
from onnx import TensorProto as T
from onnx import helper as h

import harness


def add_model(w: onnx.TensorProto) -> onnx.ModelProto:
    g = h.make_graph([h.make_node("Add", ["x", "w"], ["y"])], "g", [h.make_tensor_value_info("x", T.FLOAT, [2])],
                     [h.make_tensor_value_info("y", T.FLOAT, [2])], [w])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def build(m: onnx.ModelProto, folder: pathlib.Path, *extra: str) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(folder / "m.onnx"))
    return harness.run_cli("build", folder / "m.onnx", "-o", folder / "e", *extra, check=False)


def raw(name, dims, data: bytes) -> onnx.TensorProto:
    t = onnx.TensorProto(name=name, data_type=T.FLOAT, dims=dims)
    t.raw_data = data
    return t


def test_initializer_claiming_16_gib_is_refused_without_allocating(tmp_path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = build(add_model(raw("w", [65536, 65536], b"\0" * 8)), tmp_path)
    assert p.returncode == 1 and "tensor 'w': raw data has 8 bytes, expected 17179869184" in p.stderr, p.stderr
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kb < max(before, 1 << 20), f"the refused build peaked at {peak_kb} KB"  # under 1 GiB


def test_dims_whose_product_overflows_name_the_tensor(tmp_path):
    p = build(add_model(raw("w", [1 << 40, 1 << 40], b"")), tmp_path)
    assert p.returncode == 1 and "tensor 'w' has dims" in p.stderr and "too many elements" in p.stderr, p.stderr


def external(name, location, offset=None, length=None) -> onnx.TensorProto:
    t = onnx.TensorProto(name=name, data_type=T.FLOAT, dims=[2], data_location=T.EXTERNAL)
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def test_external_data_inside_the_folder_is_read(tmp_path):
    (tmp_path / "m").mkdir()
    np.array([1, 2, 3, 4], np.float32).tofile(tmp_path / "m" / "w.bin")
    engine_dir = tmp_path / "m"
    p = build(add_model(external("w", "w.bin", offset=8, length=8)), engine_dir)
    assert p.returncode == 0, p.stderr
    got = harness.run_engine(engine_dir / "e", {"x": np.array([10, 20], np.float32)}, tmp_path)
    np.testing.assert_array_equal(got["y"], [13, 24])


def test_external_data_outside_the_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    np.array([7, 7], np.float32).tofile(secret)
    folder = tmp_path / "m"
    folder.mkdir()
    os.symlink(secret, folder / "link.bin")
    for location, why in (("../secret.bin", "leaves the model's folder"), (str(secret), "is an absolute path"),
                          ("link.bin", "leaves the model's folder"), ("sub/../../secret.bin", "leaves the model's folder")):
        p = build(add_model(external("w", location)), folder)
        assert p.returncode == 1 and why in p.stderr, (location, p.stderr)


def test_external_data_shorter_than_claimed_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    np.array([1], np.float32).tofile(tmp_path / "m" / "w.bin")
    p = build(add_model(external("w", "w.bin", offset=2)), tmp_path / "m")
    assert p.returncode == 1 and "is too short" in p.stderr, p.stderr
    p = build(add_model(external("w", "w.bin", length=4)), tmp_path / "m")
    assert p.returncode == 1 and "does not match the tensor's 8 bytes" in p.stderr, p.stderr
    p = build(add_model(external("w", "w.bin", offset="-3")), tmp_path / "m")
    assert p.returncode == 1 and "offset '-3' is not a non-negative integer" in p.stderr, p.stderr


# ---- npz inputs (dynrt run --inputs): sizes checked before allocating

def npy_bytes(header: str, data: bytes = b"") -> bytes:
    h = header.encode()
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + data


@pytest.fixture(scope="module")
def relu_engine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npz")
    g = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["N", 4])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return harness.build_engine(m, tmp, dims={"N": "1:2:4"})


@pytest.mark.parametrize("content,message", [
    (npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", b"\0" * 16),
     "array data is truncated: the header says 40000000000 bytes"),
    (npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1 << 62, 8), }"), "bad dimension"),
    (npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }"), "too large"),
    (npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 4), }"), "bad dimension '-3'"),
    (npy_bytes("{'descr': '<f4, 'shape': (2, 4)"), "unsupported array type"),
    (npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4"), "malformed 'shape'"),
    (b"\x93NUMPY\x02\x00\xff\xff", "truncated data"),
])
def test_hostile_npy_is_refused_cleanly(relu_engine, tmp_path, content, message):
    path = tmp_path / "in.npy"
    path.write_bytes(content)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = harness.run_cli("run", relu_engine, "--inputs", path, check=False)
    assert p.returncode == 1 and "error (invalid input)" in p.stderr and message in p.stderr, p.stderr
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < max(before, 1 << 20)


def test_compressed_npz_entry_claiming_gigabytes_is_refused(relu_engine, tmp_path):
    import zipfile
    path = tmp_path / "in.npz"
    np.savez_compressed(path, x=np.zeros((2, 4), np.float32))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = (2 << 30).to_bytes(4, "little")  # uncompressed size in the central directory: 2 GiB
    path.write_bytes(bytes(data))
    p = harness.run_cli("run", relu_engine, "--inputs", path, check=False)
    assert p.returncode == 1 and f"claims {2 << 30} bytes from {info.compress_size}" in p.stderr, p.stderr


# ---- values the schemas read at build time, and sizes computed while running

def one_node_model(node, inputs, inits=()):
    g = h.make_graph([node], "g", inputs, [h.make_tensor_value_info("y", T.FLOAT, None)], list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def int64(name, values):
    return onnx.numpy_helper.from_array(np.array(values, np.int64), name)


def test_empty_tensors_where_scalars_belong_are_errors(tmp_path):
    m = one_node_model(h.make_node("Range", ["st", "lim", "d"], ["y"]), [],
                       [int64("st", np.zeros(0, np.int64)), int64("lim", 5), int64("d", 1)])
    p = build(m, tmp_path / "range")
    assert p.returncode == 1 and "start must be a scalar, not 0 values" in p.stderr, p.stderr
    m = one_node_model(h.make_node("CumSum", ["x", "ax"], ["y"]), [h.make_tensor_value_info("x", T.FLOAT, [3, 4])],
                       [int64("ax", np.zeros(0, np.int64))])
    p = build(m, tmp_path / "cumsum")
    assert p.returncode == 1 and "axis must have one element" in p.stderr, p.stderr


def test_constant_folding_does_not_trust_a_wrapping_size(tmp_path):
    g = h.make_graph([h.make_node("Shape", ["x"], ["s"]), h.make_node("ConstantOfShape", ["s"], ["y"])], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, [1 << 31, 1 << 31])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    assert build(m, tmp_path).returncode == 0  # 2^62 floats (2^64 bytes) is not folded


def test_run_time_sizes_from_values(tmp_path):
    lim = h.make_tensor_value_info("l", T.FLOAT, [])
    m = one_node_model(h.make_node("Range", ["st", "l", "d"], ["y"]), [lim],
                       [onnx.numpy_helper.from_array(np.array(0, np.float32), "st"),
                        onnx.numpy_helper.from_array(np.array(1, np.float32), "d")])
    engine = harness.build_engine(m, tmp_path)
    for value, message in ((np.nan, "start, limit or delta is NaN"), (np.inf, "Range length inf is not a valid size")):
        np.savez(tmp_path / "in.npz", l=np.array(value, np.float32))
        p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
        assert p.returncode == 1 and message in p.stderr, p.stderr
    x, s = h.make_tensor_value_info("x", T.FLOAT, [1, 1]), h.make_tensor_value_info("s", T.INT64, [2])
    (tmp_path / "e2").mkdir()
    engine = harness.build_engine(one_node_model(h.make_node("Expand", ["x", "s"], ["y"]), [x, s]), tmp_path / "e2")
    np.savez(tmp_path / "in.npz", x=np.ones((1, 1), np.float32), s=np.array([-1, -1], np.int64))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1 and "would be -1x-1, with a negative dimension" in p.stderr, p.stderr


def test_sizes_from_symbols_bound_earlier_in_the_run_are_checked(tmp_path):
    # Range's length is known only when it runs; the Add after it, [length, 50], is then sized from that
    # symbol before its kernel runs. That allocation skipped the limit (found by fuzz_model: 2 x 2.7 GB under
    # a 64 MiB limit) and the overflow check.
    nodes = [h.make_node("Range", ["zero", "n", "one"], ["r"]), h.make_node("Unsqueeze", ["r", "ax"], ["ru"]),
             h.make_node("Add", ["x", "ru"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.INT64, [50]), h.make_tensor_value_info("n", T.INT64, [])],
                     [h.make_tensor_value_info("y", T.INT64, None)],
                     [int64("zero", 0), int64("one", 1), int64("ax", [1])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    engine = harness.build_engine(m, tmp_path)
    np.savez(tmp_path / "in.npz", x=np.arange(50, dtype=np.int64), n=np.array(10000, np.int64))
    ok = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--max-tensor", "4M")
    assert ok.returncode == 0
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--max-tensor", "1M", check=False)
    assert p.returncode == 1 and "would be 10000x50 (4000000 bytes), over ContextOptions::max_tensor_bytes" in p.stderr, \
        p.stderr
    np.savez(tmp_path / "in.npz", x=np.arange(50, dtype=np.int64), n=np.array(1 << 44, np.int64))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1 and "too large to allocate" in p.stderr, p.stderr


def test_a_profile_beyond_2_to_the_40_is_refused(tmp_path):
    g = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g", [h.make_tensor_value_info("x", T.FLOAT, ["N", 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    onnx.save(m, str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", f"N=1:2:{2**63 - 1}", check=False)
    assert p.returncode == 1 and "is beyond the largest dimension dynrt plans for" in p.stderr, p.stderr


def build_error(tmp_path, node, inputs, inits=(), opset=17) -> str:
    """Builds a one-node model over batch N in [1, 2]; the build must fail: its stderr."""
    g = h.make_graph([node], "g", inputs, [h.make_tensor_value_info("y", T.FLOAT, None)], list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "m.onnx"))
    p = harness.run_cli("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:1:2", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    return p.stderr


@pytest.mark.parametrize("attr,value", [("dilations", [2**62, 1]), ("strides", [1, 2**40]), ("pads", [0, 0, 2**50, 0])])
def test_conv_attributes_too_large_for_int64_arithmetic_are_an_error(tmp_path, attr, value):
    # dilation * (kernel - 1) overflowed int64 (found by fuzz_engine under UBSan): now refused by name.
    w = onnx.numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "W")
    err = build_error(tmp_path, h.make_node("Conv", ["x", "W"], ["y"], **{attr: value}),
                      [h.make_tensor_value_info("x", T.FLOAT, ["N", 1, 8, 8])], [w])
    assert "Conv" in err and "not supported" in err, err


def test_reduce_axes_read_at_run_time_must_be_int64(tmp_path):
    # An int32 axes input was read as int64 by the kernel (found by fuzz_engine under ASan): a build error now.
    err = build_error(tmp_path, h.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1),
                      [h.make_tensor_value_info("x", T.FLOAT, ["N", 4]), h.make_tensor_value_info("axes", T.INT32, [1])],
                      opset=18)
    assert "ReduceMean" in err and "'axes' input must be int64" in err, err


def test_a_constant_span_too_large_to_size_is_an_error_not_a_wrap(tmp_path):
    # Range over [-2^63 + 458751, 4): a static length of ~2^63 elements, times 4 bytes, wrapped in
    # the output Tensor's size (found by fuzz_model under UBSan). Every planned size is now checked.
    x = h.make_tensor_value_info("x", T.FLOAT, [4])
    inits = [onnx.numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
             (("i0", 0), ("z", -9223372036854317056), ("one", 1))] + \
        [onnx.numpy_helper.from_array(np.array([1], np.int64), "ax")]
    nodes = [h.make_node("Shape", ["x"], ["sh"]), h.make_node("Gather", ["sh", "i0"], ["n"], axis=0),
             h.make_node("Range", ["z", "n", "one"], ["r"]), h.make_node("Cast", ["r"], ["rf"], to=T.FLOAT),
             h.make_node("Unsqueeze", ["rf", "ax"], ["ru"]), h.make_node("Add", ["x", "ru"], ["y"])]
    g = h.make_graph(nodes, "g", [x], [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    engine = harness.build_engine(m, tmp_path)
    p = harness.run_cli("run", engine, "--shapes", "x:4", check=False)
    assert p.returncode == 1 and "error (invalid input): tensor 'r' has dims 9223372036854317060: too many elements" \
        in p.stderr, p.stderr


def test_rank_beyond_8_is_unsupported_by_name(tmp_path):
    # Tensor views hold 8 dims: a rank-9 input once built, and its engine failed to load.
    g = h.make_graph([h.make_node("Relu", ["a"], ["y"])], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, [1] * 9), h.make_tensor_value_info("a", T.FLOAT, [2])],
                     [h.make_tensor_value_info("y", T.FLOAT, [2])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    p = build(m, tmp_path)
    assert p.returncode == 1 and "error (unsupported): tensor 'x' has rank 9; dynrt supports up to 8" in p.stderr, p.stderr


def test_an_initializer_is_checked_against_its_typed_data_before_allocation(tmp_path):
    # dims of 2^40 floats with one value in float_data: 4 TiB was allocated before the count was
    # compared (found by fuzz_model under ASan).
    t = onnx.TensorProto(name="W", data_type=T.FLOAT, dims=[1 << 20, 1 << 20])
    t.float_data.append(1.0)
    g = h.make_graph([h.make_node("Add", ["x", "W"], ["y"])], "g", [h.make_tensor_value_info("x", T.FLOAT, [1])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [t])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    p = build(m, tmp_path)
    assert p.returncode == 1 and "tensor 'W': holds 1 elements, its dims say 1099511627776" in p.stderr, p.stderr


def test_a_reshape_target_whose_product_overflows_is_an_error(tmp_path):
    # Target dims read at run time whose product overflows int64 (signed overflow under UBSan, found
    # by fuzz_model): now an error naming the dims.
    d = h.make_tensor_value_info("d", T.FLOAT, [2, 4])
    s = h.make_tensor_value_info("s", T.INT64, [2])
    engine = harness.build_engine(one_node_model(h.make_node("Reshape", ["d", "s"], ["y"]), [d, s]), tmp_path)
    np.savez(tmp_path / "in.npz", d=np.zeros((2, 4), np.float32), s=np.array([1108152025344, 16843009], np.int64))
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", check=False)
    assert p.returncode == 1 and "have more elements than int64 can count" in p.stderr, p.stderr


def test_reshape_checks_its_target_type_and_a_scalar_count(tmp_path):
    # Reshape(x, x) with x float32 [0]: the empty float target made a scalar output whose count
    # was never checked, and the copy read 4 bytes from an empty input (fuzz_model, UBSan).
    g = h.make_graph([h.make_node("Reshape", ["x", "x"], ["y"])], "g", [h.make_tensor_value_info("x", T.FLOAT, [0])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    p = build(m, tmp_path)
    assert p.returncode == 1 and "the target shape must be int64, not float32" in p.stderr, p.stderr


def test_a_shape_input_longer_than_8_is_refused_before_making_symbols(tmp_path):
    # Reshape to a run-time target of 2^28 elements made 2^28 symbols (a 60 s build; fuzz_model
    # timeout): the length is checked first.
    inits = [onnx.numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (("z", 1 << 28), ("one", 1))]
    nodes = [h.make_node("Shape", ["x"], ["sh"]), h.make_node("ReduceSum", ["sh"], ["n"], keepdims=0),
             h.make_node("Sub", ["z", "n"], ["lim"]), h.make_node("Range", ["n", "lim", "one"], ["r"]),
             h.make_node("Reshape", ["x", "r"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    p = build(m, tmp_path)
    assert p.returncode == 1 and "tensors of rank above 8 are not supported" in p.stderr, p.stderr


@pytest.mark.parametrize("op", ["Expand", "ConstantOfShape"])
def test_a_computed_shape_of_rank_above_8_is_refused(tmp_path, op):
    # The shape operand is computed from the input's size (nine dims); it must be refused by rank,
    # like Reshape's above, not allocated.
    inits = [onnx.numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (("nine", 9), ("one", 1))]
    nodes = [h.make_node("Shape", ["x"], ["sh"]), h.make_node("ReduceSum", ["sh"], ["n"], keepdims=0),
             h.make_node("Add", ["n", "nine"], ["lim"]), h.make_node("Range", ["n", "lim", "one"], ["r"]),
             h.make_node("Expand", ["x", "r"], ["y"]) if op == "Expand" else h.make_node(op, ["r"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, ["N"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    p = build(m, tmp_path, "--dim", "N=1:2:4")
    assert p.returncode == 1 and f"{op} node producing 'y' (opset 17): tensors of rank above 8" in p.stderr, p.stderr


@pytest.mark.parametrize("op", ["Expand", "ConstantOfShape"])
def test_a_shape_operand_whose_length_only_data_gives_is_refused_at_build(tmp_path, op):
    # A length from data (Range to an input value) leaves the output's rank unknown: refused when
    # building, so no run can reach a rank above 8 either.
    inits = [onnx.numpy_helper.from_array(np.array(1, np.int64), "one")]
    nodes = [h.make_node("Range", ["one", "k", "one"], ["r"]),
             h.make_node("Expand", ["x", "r"], ["y"]) if op == "Expand" else h.make_node(op, ["r"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [1]), h.make_tensor_value_info("k", T.INT64, [])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    p = build(m, tmp_path)
    assert p.returncode == 1 and "has a length known only at run time" in p.stderr \
        and "so the output rank is unknown at build time" in p.stderr, p.stderr
