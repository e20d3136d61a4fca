"""Latency against a swept dimension with one dynamic engine (`dynrt bench --sweep`): ResNet-50
over batch 1..64 and BERT-base over sequence length 16..512, on this machine's CPU.

    python3 benchmarks/sweep_plots.py [--dynrt build/dynrt] [--out docs] [--threads N]

Models are built in PyTorch (torchvision ResNet-50, transformers BERT-base, random weights),
exported once to ONNX under .cache/models (not committed), built once each over the whole range,
then swept. Writes OUT/sweep_resnet50_batch.{csv,svg} and OUT/sweep_bert_base_seq.{csv,svg}."""
from __future__ import annotations

import argparse
import pathlib
import subprocess

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent


def export(name: str, path: pathlib.Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        if name == "resnet50":
            import torchvision
            m = torchvision.models.resnet50(weights=None).eval()
            torch.onnx.export(m, (torch.randn(1, 3, 224, 224),), str(path), input_names=["x"], output_names=["out"],
                              dynamic_axes={"x": {0: "batch"}, "out": {0: "batch"}}, opset_version=17, dynamo=False)
        else:
            from transformers import BertConfig, BertModel

            class Bert(torch.nn.Module):  # keyword arguments: transformers' positional order changes
                def __init__(self):
                    super().__init__()
                    self.bert = BertModel(BertConfig()).eval()

                def forward(self, input_ids, attention_mask):
                    return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = Bert().eval()
            ids = torch.randint(0, 30522, (1, 128))
            names = ["input_ids", "attention_mask"]
            torch.onnx.export(m, (ids, torch.ones_like(ids)), str(path), input_names=names,
                              dynamic_axes={n: {0: "batch", 1: "seq"} for n in names}, opset_version=17, dynamo=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dynrt", default=str(ROOT / "build" / "dynrt"))
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--threads", default="0")
    ap.add_argument("--iterations", default="3")
    a = ap.parse_args()
    cache = ROOT / ".cache" / "models"
    runs = [("resnet50", ["--dim", "batch=1:8:64"], "x:1x3x224x224", "batch=1:64:9"),
            ("bert_base", ["--dim", "batch=1:1:8", "--dim", "seq=16:128:512"],
             "input_ids:1x16,attention_mask:1x16", "seq=16:512:32")]
    for name, dims, shapes, sweep in runs:
        onnx_path, engine = cache / f"{name}.onnx", cache / f"{name}.engine"
        export(name, onnx_path)
        subprocess.run([a.dynrt, "build", onnx_path, "-o", engine, *dims], check=True)
        dim = sweep.split("=")[0]
        subprocess.run([a.dynrt, "bench", engine, "--shapes", shapes, "--sweep", sweep, "--iterations", a.iterations,
                        "--warmup", "1", "--threads", a.threads, "--sweep-out", f"{a.out}/sweep_{name}_{dim}"], check=True)


if __name__ == "__main__":
    main()
