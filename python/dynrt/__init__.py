"""dynrt: an ahead-of-time compiler and runtime for models whose input shapes
change. One engine per range of shapes, built from an ONNX model or a
torch.nn.Module, called from Python with numpy arrays or torch tensors
(zero-copy). See docs/python.md.

    import dynrt, torch
    m = dynrt.compile(model, inputs=[dynrt.Input(min_shape=(1, 3, 224, 224), opt_shape=(8, 3, 224, 224),
                                                 max_shape=(32, 3, 224, 224))])
    y = m(torch.randn(5, 3, 224, 224))
"""

from ._C import (  # noqa: F401
    Error, InternalError, InvalidConfig, InvalidEngine, InvalidInput, InvalidModel, IoError, OutOfMemory,
    ShapeOutOfRange, Unsupported)
from ._api import CompiledModule, Engine, Input, compile, load, save  # noqa: F401
from ._jit import JitModule  # noqa: F401

__all__ = ["Input", "compile", "save", "load", "CompiledModule", "JitModule", "Engine", "Error", "InvalidModel",
           "Unsupported", "InvalidConfig", "InvalidInput", "ShapeOutOfRange", "InvalidEngine", "IoError",
           "InternalError", "OutOfMemory"]
__version__ = "0.1.0"
