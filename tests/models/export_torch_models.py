"""Export the two small PyTorch models the scenario tests and the demo use
(pool_flatten, bert_tiny), with both exporters. The larger models live in the
zoo (tools/zoo/export_zoo.py), which strips their weights.

Run where torch is installed (the GPU machine has torch, torchvision and
transformers):  python3 tests/models/export_torch_models.py OUT_DIR
"""
from __future__ import annotations

import pathlib
import sys

import onnx
import torch

OUT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tests/models")
OUT.mkdir(parents=True, exist_ok=True)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools" / "zoo"))
from export_zoo import strip  # noqa: E402  (one stripping rule for every committed graph)


def export(model: torch.nn.Module, args: tuple, name: str, input_names: list[str], dynamic_axes: dict,
           dynamic_shapes, do_strip: bool) -> None:
    model.eval()
    ts = OUT / f"{name}.torchscript.onnx"
    torch.onnx.export(model, args, str(ts), input_names=input_names, output_names=["output"],
                      dynamic_axes=dynamic_axes, opset_version=17, dynamo=False)
    if do_strip:
        strip(ts)
    else:
        print(f"{ts}: {ts.stat().st_size} bytes")
    dy = OUT / f"{name}.dynamo.onnx"
    try:
        prog = torch.onnx.export(model, args, input_names=input_names, output_names=["output"],
                                 dynamic_shapes=dynamic_shapes, opset_version=18, dynamo=True,
                                 external_data=False)
        prog.save(str(dy))
        if do_strip:
            strip(dy)
        else:
            print(f"{dy}: {dy.stat().st_size} bytes")
    except Exception as e:  # record, don't hide: the test suite lists what exported
        print(f"dynamo export of {name} failed: {type(e).__name__}: {e}")


class PoolFlatten(torch.nn.Module):
    """Torch-TensorRT's documented failure: AdaptiveAvgPool2d then flatten with a dynamic batch."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d((1, 1))
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = self.pool(torch.relu(self.conv(x)))
        y = y.view(y.size(0), -1)  # sym_size on the batch
        return self.fc(y)


def main() -> None:
    torch.manual_seed(0)
    Dim = torch.export.Dim
    batch = Dim("batch", min=1, max=8)
    export(PoolFlatten(), (torch.randn(2, 3, 16, 16),), "pool_flatten", ["x"], {"x": {0: "batch"}},
           {"x": {0: batch}}, do_strip=False)

    from transformers import BertConfig, BertModel

    class Bert(torch.nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.bert = BertModel(cfg)

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    seq = Dim("seq", min=2, max=128)
    ids = torch.randint(0, 100, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.int64)
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    shapes = {"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}}
    small = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                       vocab_size=1000, max_position_embeddings=128, attn_implementation="eager")
    export(Bert(small), (ids, mask), "bert_tiny", ["input_ids", "attention_mask"], axes, shapes, do_strip=False)


if __name__ == "__main__":
    main()
