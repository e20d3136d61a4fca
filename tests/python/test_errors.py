"""Bad input gives one clear message naming the thing at fault, exit code 1,
and never a crash. Each row: what the user did -> the exact message."""
import numpy as np
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness


def relu_model(dims=("N", 3), op="Relu", dtype=T.FLOAT):
    g = h.make_graph([h.make_node(op, ["x"], ["y"], name="n0")], "g", [h.make_tensor_value_info("x", dtype, list(dims))],
                     [h.make_tensor_value_info("y", dtype, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def shared_dims_model():
    nodes = [h.make_node("Cast", ["mask"], ["maskf"], to=T.FLOAT), h.make_node("Add", ["ids", "maskf"], ["y"])]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("ids", T.FLOAT, ["batch", "seq"]),
                                  h.make_tensor_value_info("mask", T.INT64, ["batch", "seq"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def fails(*args):
    p = harness.run_cli(*args, check=False)
    assert p.returncode == 1, f"expected failure, got {p.returncode}: {p.stdout} {p.stderr}"
    assert "Traceback" not in p.stderr and "terminate" not in p.stderr
    return p.stderr.strip().splitlines()[-1]


@pytest.fixture
def relu_engine(tmp_path):
    return harness.build_engine(relu_model(), tmp_path, dims={"N": "1:2:4"})


def run_with(engine, tmp_path, **arrays):
    np.savez(tmp_path / "in.npz", **arrays)
    return fails("run", engine, "--inputs", tmp_path / "in.npz")


def test_malformed_onnx(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not protobuf \xff\xff\xff")
    assert fails("build", bad, "-o", tmp_path / "e") == (
        f"dynrt: error (invalid model): '{bad}' is not a valid ONNX model (protobuf parse failed)")


def test_unsupported_op(tmp_path):
    path = tmp_path / "m.onnx"
    import onnx
    onnx.save(relu_model(op="FancyNewOp"), path)
    assert fails("build", path, "-o", tmp_path / "e", "--dim", "N=1:2:4") == (
        "dynrt: error (unsupported): unsupported op 'FancyNewOp' (domain ai.onnx) in FancyNewOp node 'n0' (opset 17)")


def test_reserved_internal_attribute(tmp_path):
    import onnx
    m = relu_model()
    m.graph.node[0].attribute.append(h.make_attribute("dynrt.activation", "Relu"))
    onnx.save(m, tmp_path / "m.onnx")
    assert fails("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:2:4") == (
        "dynrt: error (invalid model): node 'n0' (Relu) has attribute 'dynrt.activation': attributes named dynrt.* "
        "are reserved for dynrt's own passes")


def test_reserved_internal_domain(tmp_path):
    import onnx
    m = relu_model(op="MemCopy")
    m.graph.node[0].domain = "dynrt"
    m.opset_import.append(h.make_opsetid("dynrt", 1))
    onnx.save(m, tmp_path / "m.onnx")
    assert fails("build", tmp_path / "m.onnx", "-o", tmp_path / "e", "--dim", "N=1:2:4") == (
        "dynrt: error (unsupported): unsupported op 'MemCopy' (domain dynrt) in node 'n0': the domain 'dynrt' is "
        "reserved for dynrt's internal ops")


def constant_of_shape_engine(tmp_path):
    g = h.make_graph([h.make_node("ConstantOfShape", ["s"], ["y"], name="cos")], "g",
                     [h.make_tensor_value_info("s", T.INT64, [2])], [h.make_tensor_value_info("y", T.FLOAT, None)])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return harness.build_engine(m, tmp_path)


@pytest.mark.parametrize("dims,message", [
    ((10**10, 10**10), "output 'y' would be 10000000000x10000000000, too large to allocate"),
    ((-3, 2), "negative dimension -3 in the shape input"),
])
def test_sizes_computed_from_input_values_are_checked(tmp_path, dims, message):
    engine = constant_of_shape_engine(tmp_path)
    assert run_with(engine, tmp_path, s=np.array(dims, np.int64)) == (
        "dynrt: error (invalid input): ConstantOfShape node 'cos' (opset 17): " + message)


def test_wrong_dtype(relu_engine, tmp_path):
    assert run_with(relu_engine, tmp_path, x=np.zeros((2, 3), np.float64)) == (
        "dynrt: error (invalid input): input 'x' has element type float64, expected float32")


def test_wrong_rank(relu_engine, tmp_path):
    assert run_with(relu_engine, tmp_path, x=np.zeros((2, 3, 1), np.float32)) == (
        "dynrt: error (invalid input): input 'x' has rank 3 (shape 2x3x1), expected rank 2 [N, 3]")


def test_missing_input(relu_engine, tmp_path):
    assert run_with(relu_engine, tmp_path, y=np.zeros((2, 3), np.float32)) == "dynrt: error (invalid input): missing input 'x'"


def test_out_of_range_dim(relu_engine, tmp_path):
    assert run_with(relu_engine, tmp_path, x=np.zeros((5, 3), np.float32)) == (
        "dynrt: error (shape out of range): input shapes are outside every optimization profile of this engine "
        "(profile 0: input 'x' dimension 0 ('N') is 5, outside the range [1, 4])")


def test_fixed_dim_mismatch(relu_engine, tmp_path):
    assert run_with(relu_engine, tmp_path, x=np.zeros((2, 4), np.float32)) == (
        "dynrt: error (shape out of range): input 'x' dimension 1 must be 3, got 4 (shape 2x4)")


def test_conflicting_shared_dims_at_run_time(tmp_path):
    engine = harness.build_engine(shared_dims_model(), tmp_path, dims={"batch": "1:2:4", "seq": "1:8:16"})
    assert run_with(engine, tmp_path, ids=np.zeros((2, 5), np.float32), mask=np.zeros((2, 6), np.int64)) == (
        "dynrt: error (shape out of range): input 'mask' dimension 1 is 6, but input 'ids' dimension 1 is 5; "
        "both are the dimension 'seq' and must be equal")


def test_conflicting_shared_dims_at_build_time(tmp_path):
    import onnx
    path = tmp_path / "m.onnx"
    onnx.save(shared_dims_model(), path)
    assert fails("build", path, "-o", tmp_path / "e", "--min-shapes", "ids:1x1,mask:1x1", "--opt-shapes",
                 "ids:2x8,mask:2x4", "--max-shapes", "ids:4x16,mask:4x16") == (
        "dynrt: error (invalid build config): profile 0: input 'ids' dimension 1 and input 'mask' dimension 1 share "
        "the dimension 'seq' but give different ranges 1:8:16 and 1:4:16")


def test_opt_outside_min_max(tmp_path):
    import onnx
    path = tmp_path / "m.onnx"
    onnx.save(relu_model(), path)
    assert fails("build", path, "-o", tmp_path / "e", "--dim", "N=1:9:4") == (
        "dynrt: error (invalid build config): profile 0: dimension 'N': opt 9 is outside [1, 4]")


def test_missing_profile_for_dynamic_dim(tmp_path):
    import onnx
    path = tmp_path / "m.onnx"
    onnx.save(relu_model(), path)
    assert fails("build", path, "-o", tmp_path / "e") == (
        "dynrt: error (invalid build config): the model has dynamic dimensions N (input 'x' dimension 0) but no "
        "optimization profile gives their ranges; pass --dim NAME=MIN:OPT:MAX or --min-shapes/--opt-shapes/--max-shapes")


def test_unknown_dim_name(tmp_path):
    import onnx
    path = tmp_path / "m.onnx"
    onnx.save(relu_model(), path)
    assert fails("build", path, "-o", tmp_path / "e", "--dim", "batch=1:2:4") == (
        "dynrt: error (invalid build config): profile 0 names dimension 'batch', but the model's dynamic dimensions are N")


def test_truncated_engine(relu_engine, tmp_path):
    data = relu_engine.read_bytes()
    cut = tmp_path / "cut.engine"
    cut.write_bytes(data[: len(data) - 10])
    assert fails("run", cut, "--shapes", "x:2x3") == (
        f"dynrt: error (invalid engine file): engine file '{cut}' is truncated: {len(data) - 28 - 10} of "
        f"{len(data) - 28} payload bytes present")


def test_corrupt_engine(relu_engine, tmp_path):
    data = bytearray(relu_engine.read_bytes())
    data[-5] ^= 0xFF
    bad = tmp_path / "bad.engine"
    bad.write_bytes(bytes(data))
    assert fails("run", bad, "--shapes", "x:2x3") == (
        f"dynrt: error (invalid engine file): engine file '{bad}' is corrupt: checksum mismatch")


def test_wrong_version_engine(relu_engine, tmp_path):
    data = bytearray(relu_engine.read_bytes())
    data[8] = 99  # the version field follows the 8-byte magic
    bad = tmp_path / "v99.engine"
    bad.write_bytes(bytes(data))
    assert fails("run", bad, "--shapes", "x:2x3") == (
        f"dynrt: error (invalid engine file): engine file '{bad}' has format version 99, but this dynrt reads "
        "version 5; rebuild the engine with this version")


def test_engine_path_is_a_directory(tmp_path):
    d = tmp_path / "dir.engine"
    d.mkdir()
    assert fails("run", d, "--shapes", "x:2x3") == f"dynrt: error (i/o error): engine file '{d}' is a directory"


def test_engine_from_a_pipe(relu_engine, tmp_path):
    """An engine read from a stream that is not a regular file (a pipe) loads like the file."""
    import subprocess
    p = subprocess.run(f"cat '{relu_engine}' | '{harness.dynrt_bin()}' run /dev/stdin --shapes x:2x3", shell=True,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_engine_from_a_named_fifo(relu_engine, tmp_path):
    """A named FIFO (mkfifo) is read once, to its end, like the file written into it."""
    import os
    import subprocess
    fifo = tmp_path / "engine.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(f"cat '{relu_engine}' > '{fifo}'", shell=True)
    p = subprocess.run([harness.dynrt_bin(), "run", str(fifo), "--shapes", "x:2x3"], capture_output=True, text=True,
                       timeout=60)
    writer.wait(timeout=60)
    assert p.returncode == 0, p.stderr


def test_engine_read_into_memory_when_mapping_is_off(relu_engine, tmp_path):
    """DYNRT_ENGINE_MMAP=0 reads the file instead of mapping it: the same outputs."""
    import os
    import subprocess
    np.savez(tmp_path / "in.npz", x=np.arange(-6, 6, dtype=np.float32).reshape(4, 3))
    outs = []
    for env in ({}, {"DYNRT_ENGINE_MMAP": "0"}):
        out = tmp_path / f"out{len(outs)}.npz"
        p = subprocess.run([harness.dynrt_bin(), "run", str(relu_engine), "--inputs", str(tmp_path / "in.npz"),
                            "--outputs", str(out)], capture_output=True, text=True, env={**os.environ, **env})
        assert p.returncode == 0, p.stderr
        with np.load(out) as z:
            outs.append({k: z[k] for k in z.files})
    assert outs[0].keys() == outs[1].keys() and all(np.array_equal(outs[0][k], outs[1][k]) for k in outs[0])
    np.testing.assert_array_equal(next(iter(outs[0].values())), np.maximum(np.arange(-6, 6).reshape(4, 3), 0))


def test_engine_saved_through_a_symlink(tmp_path):
    """Building onto a symlink replaces the file it names and keeps the link."""
    import os
    target = tmp_path / "real.engine"
    target.write_bytes(b"old")
    link = tmp_path / "link.engine"
    os.symlink(target, link)
    m = tmp_path / "relu.onnx"
    import onnx
    onnx.save(relu_model(), str(m))
    harness.run_cli("build", m, "-o", link, "--dim", "N=1:2:4")
    assert link.is_symlink() and target.read_bytes()[:8] == b"DYNRTENG"
    assert not list(tmp_path.glob("*.tmp*"))
    assert harness.run_cli("run", link, "--shapes", "x:2x3").returncode == 0


def test_not_an_engine(tmp_path):
    bad = tmp_path / "x.engine"
    bad.write_bytes(b"hello")
    assert fails("run", bad, "--shapes", "x:2x3") == (
        f"dynrt: error (invalid engine file): '{bad}' is not a dynrt engine file (bad magic)")
