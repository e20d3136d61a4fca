"""Seed corpora for the fuzz targets (scripts/fuzz.sh): the small test models and engines built
from them, small ONNX graphs of common ops, and a few .npy/.npz files.

    python3 tests/fuzz/make_corpus.py OUTDIR DYNRT_BINARY
"""
import pathlib
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

ROOT = pathlib.Path(__file__).resolve().parents[2]


def small_models():
    x = h.make_tensor_value_info("x", T.FLOAT, ["N", 4])
    y = h.make_tensor_value_info("y", T.FLOAT, None)
    w = onnx.numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "w")
    s = onnx.numpy_helper.from_array(np.array([-1], np.int64), "s")
    graphs = {
        "matmul_softmax": ([h.make_node("MatMul", ["x", "w"], ["m"]), h.make_node("Softmax", ["m"], ["y"])], [w]),
        "reshape_transpose": ([h.make_node("Transpose", ["x"], ["t"], perm=[1, 0]), h.make_node("Reshape", ["t", "s"], ["y"])], [s]),
        "shape_arith": ([h.make_node("Shape", ["x"], ["sh"]), h.make_node("ConstantOfShape", ["sh"], ["c"]),
                         h.make_node("Add", ["x", "c"], ["y"])], []),
        "gather_range": ([h.make_node("Shape", ["x"], ["sh"]), h.make_node("Gather", ["sh", "i0"], ["n"], axis=0),
                          h.make_node("Range", ["z", "n", "one"], ["r"]), h.make_node("Cast", ["r"], ["rf"], to=T.FLOAT),
                          h.make_node("Unsqueeze", ["rf", "ax"], ["ru"]), h.make_node("Add", ["x", "ru"], ["y"])],
                         [onnx.numpy_helper.from_array(np.array(0, np.int64), "i0"),
                          onnx.numpy_helper.from_array(np.array(0, np.int64), "z"),
                          onnx.numpy_helper.from_array(np.array(1, np.int64), "one"),
                          onnx.numpy_helper.from_array(np.array([1], np.int64), "ax")]),
        # Sequences: built, grown, shrunk, read and concatenated at run time (runtime/boxed_ops.cpp).
        "sequence_ops": ([h.make_node("SplitToSequence", ["x"], ["s"], axis=1), h.make_node("SequenceInsert", ["s", "x"], ["s2"]),
                          h.make_node("SequenceErase", ["s2", "i0"], ["s3"]), h.make_node("SequenceAt", ["s3", "i0"], ["a"]),
                          h.make_node("ConcatFromSequence", ["s3"], ["c"], axis=1), h.make_node("SequenceLength", ["s3"], ["n"]),
                          h.make_node("Cast", ["n"], ["nf"], to=T.FLOAT), h.make_node("Add", ["c", "nf"], ["y"])],
                         [onnx.numpy_helper.from_array(np.array(0, np.int64), "i0")]),
    }
    for name, (nodes, inits) in graphs.items():
        m = h.make_model(h.make_graph(nodes, name, [x], [y], inits), opset_imports=[h.make_opsetid("", 17)])
        m.ir_version = 8
        yield name, m
    # Axes given as an input of dynamic length: an engine with variants ("DYNRTVAR").
    axes = h.make_tensor_value_info("axes", T.INT64, ["A"])
    m = h.make_model(h.make_graph([h.make_node("Unsqueeze", ["x", "axes"], ["u"]), h.make_node("Relu", ["u"], ["y"])],
                                  "unsqueeze_axes_input", [x, axes], [y]), opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    yield "unsqueeze_axes_input", m
    # Strings made from numbers and back: LabelEncoder, StringSplit, StringConcat, RegexFullMatch.
    nodes = [h.make_node("Cast", ["x"], ["xi"], to=T.INT64),
             h.make_node("LabelEncoder", ["xi"], ["s"], domain="ai.onnx.ml", keys_int64s=[0, 1, 2],
                         values_strings=["a b", "c", "d e f"], default_string="?"),
             h.make_node("StringConcat", ["s", "s"], ["ss"]), h.make_node("StringSplit", ["ss"], ["parts", "n"]),
             h.make_node("RegexFullMatch", ["ss"], ["m"], pattern="[a-c ]+"), h.make_node("Cast", ["m"], ["mf"], to=T.FLOAT),
             h.make_node("Cast", ["n"], ["nf"], to=T.FLOAT), h.make_node("Add", ["mf", "nf"], ["y"])]
    m = h.make_model(h.make_graph(nodes, "strings", [x], [y]),
                     opset_imports=[h.make_opsetid("", 20), h.make_opsetid("ai.onnx.ml", 2)])
    m.ir_version = 9
    yield "strings", m
    # An If decided at run time and a Loop with an If in its body: subgraph engines inside nodes.
    yield "if_loop", if_loop_model()


def if_loop_model():
    x = h.make_tensor_value_info("x", T.FLOAT, ["N", 4])
    n = h.make_tensor_value_info("n", T.INT64, [])
    scalar = lambda name, v: onnx.numpy_helper.from_array(np.array(v), name)  # noqa: E731
    branch = lambda name, op, out: h.make_graph([h.make_node(op, ["acc_in"], [out])], name, [],  # noqa: E731
                                                [h.make_tensor_value_info(out, T.FLOAT, None)])
    body = h.make_graph([h.make_node("ReduceSum", ["acc_in"], ["s"], keepdims=0), h.make_node("Greater", ["s", "z"], ["pos"]),
                         h.make_node("If", ["pos"], ["acc_out"], then_branch=branch("t", "Neg", "neg"),
                                     else_branch=branch("e", "Relu", "relu")),
                         h.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
                        [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("cond_in", T.BOOL, []),
                         h.make_tensor_value_info("acc_in", T.FLOAT, None)],
                        [h.make_tensor_value_info("cond_out", T.BOOL, []), h.make_tensor_value_info("acc_out", T.FLOAT, None)])
    g = h.make_graph([h.make_node("Loop", ["n", "", "x"], ["y"], body=body)], "if_loop", [x, n],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [scalar("z", np.float32(0))])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def images():
    """Small images of every format ImageDecoder reads, encoded by Pillow (requirements.txt)."""
    import io

    from PIL import Image
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (6, 10, 3), dtype=np.uint8))
    variants = {"bmp": ("BMP", rgb, {}), "bmp_palette": ("BMP", rgb.convert("P"), {}), "jpeg": ("JPEG", rgb, {}),
                "jpeg_progressive": ("JPEG", rgb, {"progressive": True}), "jpeg2000": ("JPEG2000", rgb, {}),
                "png": ("PNG", rgb, {}), "png_palette": ("PNG", rgb.convert("P"), {}),
                "png_interlaced": ("PNG", rgb.convert("LA"), {"interlace": 1}), "ppm": ("PPM", rgb, {}),
                "tiff": ("TIFF", rgb, {}), "tiff_lzw": ("TIFF", rgb, {"compression": "tiff_lzw"}),
                "webp": ("WEBP", rgb, {}), "webp_lossless": ("WEBP", rgb, {"lossless": True})}
    for name, (fmt, img, kw) in variants.items():
        with io.BytesIO() as f:
            img.save(f, format=fmt, **kw)
            yield name, f.getvalue()


def image_decoder_model(png: bytes):
    """ImageDecoder over a constant stream: mutations of the model reach the decoders."""
    enc = onnx.numpy_helper.from_array(np.frombuffer(png, np.uint8), "encoded")
    g = h.make_graph([h.make_node("ImageDecoder", ["encoded"], ["y"], pixel_format="BGR")], "image_decoder", [],
                     [h.make_tensor_value_info("y", T.UINT8, None)], [enc])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 20)], ir_version=9)


def main():
    out, dynrt = pathlib.Path(sys.argv[1]), sys.argv[2]
    (out / "image").mkdir(parents=True, exist_ok=True)
    encoded = dict(images())
    for name, data in encoded.items():
        (out / "image" / name).write_bytes(data)
    for d in ("model", "engine", "npz"):
        (out / d).mkdir(parents=True, exist_ok=True)
    models = [(p.stem, onnx.load(str(p))) for p in sorted((ROOT / "tests" / "models").glob("*.onnx"))]
    for name, m in models + list(small_models()) + [("image_decoder", image_decoder_model(encoded["png"]))]:
        path = out / "model" / f"{name}.onnx"
        onnx.save(m, str(path))
        dims = []
        for vi in m.graph.input:
            for d in vi.type.tensor_type.shape.dim:
                if d.dim_param and f"{d.dim_param}=1:2:4" not in dims:
                    dims += ["--dim", f"{d.dim_param}=1:2:4"]
        subprocess.run([dynrt, "build", path, "-o", out / "engine" / f"{name}.engine", *dims, "--quiet"], check=True)
    np.save(out / "npz" / "a.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    np.savez(out / "npz" / "b.npz", x=np.ones((2, 4), np.float32), ids=np.arange(6, dtype=np.int64))
    np.savez_compressed(out / "npz" / "c.npz", x=np.zeros((5, 5), np.float16), m=np.ones(3, bool))


if __name__ == "__main__":
    main()
