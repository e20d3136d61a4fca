"""Models exported from PyTorch (tests/models/, made by export_torch_models.py)
with their large weights stripped; load() regenerates those weights
deterministically so ONNX Runtime and dynrt see the same model."""
from __future__ import annotations

import pathlib
import zlib

import numpy as np
import onnx

MODELS = pathlib.Path(__file__).resolve().parents[1] / "models"


def fill_weights(m: onnx.ModelProto) -> onnx.ModelProto:
    for init in m.graph.initializer:
        if init.doc_string != "dynrt:stripped":
            continue
        dims = list(init.dims)
        rng = np.random.default_rng(zlib.crc32(init.name.encode()))
        if len(dims) == 1:
            w = rng.uniform(0.05, 0.2, dims)  # biases, norm scales, BN variances: small and positive
        else:
            fan_in = int(np.prod(dims[1:]))
            w = rng.normal(0.0, np.sqrt(1.0 / fan_in), dims)
        init.raw_data = w.astype(np.float32).tobytes()
        init.doc_string = ""
    return m


def load(name: str) -> onnx.ModelProto:
    return fill_weights(onnx.load(str(MODELS / name)))


def save_filled(name: str, tmp: pathlib.Path) -> pathlib.Path:
    path = tmp / pathlib.Path(name).name
    onnx.save(load(name), str(path))
    return path
