"""ImageDecoder against Pillow, the decoder ONNX's reference implementation runs.

One engine per pixel format, built once for encoded streams of any length,
decodes BMP, JPEG (baseline, progressive, greyscale), JPEG 2000, PNG (RGB,
greyscale, palette, 16-bit, with alpha, interlaced), PNM, TIFF (plain and
compressed) and WebP (lossy and lossless) images of odd sizes. Bad streams,
oversized headers and the context's size limits give errors naming the node.
"""
import io

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import harness

PIL = pytest.importorskip("PIL.Image", reason="Pillow is the reference decoder (requirements.txt installs it)")
RNG = np.random.default_rng(7)


def decoder_model(pixel_format):
    node = h.make_node("ImageDecoder", ["encoded"], ["image"], pixel_format=pixel_format, name="decode")
    g = h.make_graph([node], "image_decoder", [h.make_tensor_value_info("encoded", T.UINT8, ["bytes"])],
                     [h.make_tensor_value_info("image", T.UINT8, None)])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 20)], ir_version=9)


def blocks(height, width, mode="RGB"):
    """An image of 4x4 blocks of random colour (smooth enough for the lossy codecs to keep)."""
    small = RNG.integers(0, 256, ((height + 3) // 4, (width + 3) // 4, 4), dtype=np.uint8)
    big = small.repeat(4, 0).repeat(4, 1)[:height, :width]
    rgba = PIL.fromarray(big, "RGBA")
    return rgba if mode == "RGBA" else rgba.convert(mode)


def encode(img, fmt, **kw):
    with io.BytesIO() as f:
        img.save(f, format=fmt, **kw)
        return np.frombuffer(f.getvalue(), np.uint8)


def pillow_decode(stream, pixel_format):
    img = PIL.open(io.BytesIO(stream.tobytes()))
    if pixel_format == "Grayscale":
        return np.array(img.convert("L"))[:, :, None]
    rgb = np.array(img.convert("RGB"))
    return rgb[:, :, ::-1] if pixel_format == "BGR" else rgb


def png16(height, width):
    """A 16-bit RGB PNG (Pillow writes none): written with the zlib and struct modules."""
    import struct
    import zlib
    px = RNG.integers(0, 65536, (height, width, 3), dtype=np.uint16).astype(">u2")
    raw = b"".join(b"\0" + px[y].tobytes() for y in range(height))
    chunk = lambda tag, data: struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))  # noqa: E731
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    # Pillow reads 16-bit RGB as 8-bit RGB from the high bytes: the same as dynrt's rule.
    return np.frombuffer(data, np.uint8), (px >> 8).astype(np.uint8)


def streams():
    s = {
        "bmp": encode(blocks(23, 41), "BMP"),
        "bmp_palette": encode(blocks(17, 9, "P"), "BMP"),
        "bmp_1bit": encode(blocks(15, 21, "1"), "BMP"),
        "jpeg": encode(blocks(29, 47), "JPEG", quality=90),
        "jpeg_progressive": encode(blocks(40, 33), "JPEG", progressive=True),
        "jpeg_grey": encode(blocks(21, 30, "L"), "JPEG"),
        "jpeg_444": encode(blocks(16, 24), "JPEG", subsampling=0),
        "jpeg2000": encode(blocks(19, 26), "JPEG2000"),
        "png": encode(blocks(31, 17), "PNG"),
        "png_grey": encode(blocks(12, 50, "L"), "PNG"),
        "png_palette": encode(blocks(25, 25, "P"), "PNG"),
        "png_alpha": encode(blocks(9, 14, "RGBA"), "PNG"),
        "png_interlaced": encode(blocks(33, 35), "PNG", interlace=1),
        "ppm": encode(blocks(13, 27), "PPM"),
        "pgm": encode(blocks(13, 27, "L"), "PPM"),
        "tiff": encode(blocks(22, 18), "TIFF"),
        "tiff_lzw": encode(blocks(30, 30), "TIFF", compression="tiff_lzw"),
        "tiff_grey_deflate": encode(blocks(11, 19, "L"), "TIFF", compression="tiff_adobe_deflate"),
        "webp": encode(blocks(26, 38), "WEBP", quality=80),
        "webp_lossless": encode(blocks(26, 38), "WEBP", lossless=True),
        "webp_alpha": encode(blocks(20, 12, "RGBA"), "WEBP", quality=90),
    }
    return s


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
@pytest.mark.parametrize("pixel_format", ["RGB", "BGR", "Grayscale"])
def test_every_format_matches_pillow_with_one_engine(tmp_path, pixel_format):
    engine = harness.build_engine(decoder_model(pixel_format), tmp_path, dims={"bytes": "1:4096:1000000"})
    for name, stream in streams().items():
        got = harness.run_engine(engine, {"encoded": stream}, tmp_path)["image"]
        want = pillow_decode(stream, pixel_format)
        assert got.dtype == np.uint8 and got.shape == want.shape, (name, got.shape, want.shape)
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_16_bit_png_takes_the_high_bytes(tmp_path):
    stream, want = png16(7, 11)
    engine = harness.build_engine(decoder_model("RGB"), tmp_path, dims={"bytes": "1:4096:1000000"})
    got = harness.run_engine(engine, {"encoded": stream}, tmp_path)["image"]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, pillow_decode(stream, "RGB"))


def test_the_output_shape_is_known_once_decoded(tmp_path):
    engine = harness.build_engine(decoder_model("Grayscale"), tmp_path, dims={"bytes": "1:4096:1000000"})
    out = harness.run_cli("inspect", engine).stdout
    assert "image: uint8 [image_height1, image_width2, 1]" in out, out
    assert "image_height1: data-dependent, in [0, 65536]" in out, out


def pnm(magic, maxval, px):
    big = px.astype(">u2") if maxval > 255 else px.astype(np.uint8)
    return np.frombuffer(f"{magic}\n# a comment\n{px.shape[1]} {px.shape[0]}\n{maxval}\n".encode() + big.tobytes(), np.uint8)


def test_16_bit_bmp_is_refused(tmp_path):
    import struct
    # Pillow and stb_image scale 5-bit channels one unit apart: refused rather than guessed.
    row = RNG.integers(0, 65536, 4).astype("<u2").tobytes()
    hdr = b"BM" + struct.pack("<IHHI", 62, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 4, 1, 1, 16, 0, 8, 0, 0, 0, 0)
    engine = harness.build_engine(decoder_model("RGB"), tmp_path, dims={"bytes": "1:4096:1000000"})
    err = run_error(engine, np.frombuffer(hdr + row, np.uint8), tmp_path)
    assert "(invalid input)" in err and "16-bit pixels are not decoded" in err, err


def test_pnm_other_than_8_bit_is_refused(tmp_path):
    # Pillow scales 16-bit P6 samples by 255/65535 but clips 16-bit P5 ones: dynrt decodes maxval 255 only.
    engine = harness.build_engine(decoder_model("RGB"), tmp_path, dims={"bytes": "1:4096:1000000"})
    stream = pnm("P5", 255, RNG.integers(0, 256, (6, 4)))
    np.testing.assert_array_equal(harness.run_engine(engine, {"encoded": stream}, tmp_path)["image"],
                                  pillow_decode(stream, "RGB"))
    for maxval in (15, 65535):
        err = run_error(engine, pnm("P6", maxval, RNG.integers(0, maxval + 1, (5, 9, 3))), tmp_path)
        assert "(invalid input)" in err and f"maximum value is {maxval}" in err, err


def run_error(engine, stream, tmp_path, *extra):
    np.savez(tmp_path / "in.npz", encoded=stream)
    p = harness.run_cli("run", engine, "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz", *extra,
                        check=False)
    assert p.returncode == 1 and p.stderr.startswith("dynrt: error ("), p.stderr
    return p.stderr


def test_streams_that_are_not_images_are_errors_naming_the_node(tmp_path):
    engine = harness.build_engine(decoder_model("RGB"), tmp_path, dims={"bytes": "1:4096:1000000"})
    err = run_error(engine, np.frombuffer(b"hello, world", np.uint8), tmp_path)
    assert "(invalid input)" in err and "ImageDecoder node 'decode'" in err and "not those of a BMP" in err, err
    good = streams()
    for name in ("jpeg", "png", "tiff", "webp", "jpeg2000", "bmp", "ppm"):
        err = run_error(engine, good[name][: len(good[name]) // 2], tmp_path)
        assert "(invalid input)" in err and "could not be decoded" in err, (name, err)


def test_a_header_claiming_a_huge_image_is_refused_before_decoding(tmp_path):
    import struct
    # A 54-byte BMP header for 60000 x 60000 pixels and no pixel data.
    hdr = b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 60000, 60000, 1, 24, 0, 0, 0, 0, 0, 0)
    engine = harness.build_engine(decoder_model("RGB"), tmp_path, dims={"bytes": "1:4096:1000000"})
    err = run_error(engine, np.frombuffer(hdr, np.uint8), tmp_path)
    assert "(invalid input)" in err and "60000 x 60000" in err and "134217728" in err, err


def test_the_contexts_tensor_limit_holds_for_decoded_images(tmp_path):
    engine = harness.build_engine(decoder_model("RGB"), tmp_path, dims={"bytes": "1:4096:1000000"})
    err = run_error(engine, streams()["png"], tmp_path, "--max-tensor", "1K")
    assert "(out of memory)" in err and "image" in err, err


def test_an_unknown_pixel_format_is_refused_at_build(tmp_path):
    err = harness.build_error(decoder_model("CMYK"), tmp_path, "--dim", "bytes=1:4096:1000000")
    assert "(invalid model)" in err and "pixel_format 'CMYK'" in err, err


@pytest.mark.parametrize("seed,message", [
    # fuzz_image: stb_image's PNM parser overflowed an int on a long number (undefined behaviour)
    ("pnm_long_number", "numbers must be 1 to 9 digits long"),
    # fuzz_image: a 612-byte progressive JPEG claiming 64262 x 62985 pixels made libjpeg allocate
    # its coefficients (gigabytes) before the size was checked
    ("jpeg_progressive_bomb", "64262 x 62985 pixels, over 134217728 in all"),
])
def test_fuzz_findings_are_errors(tmp_path, seed, message):
    stream = np.fromfile(harness.ROOT / "tests" / "fuzz" / "corpus" / "image" / seed, np.uint8)
    engine = harness.build_engine(decoder_model("RGB"), tmp_path, dims={"bytes": "1:4096:1000000"})
    err = run_error(engine, stream, tmp_path)
    assert "(invalid input)" in err and message in err, err
