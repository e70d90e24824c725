#!/usr/bin/env python3
"""Exports the benchmark model set to ONNX (bench/models/, gitignored).

Uses Debian's python3-torch and python3-torchvision only (no downloads):
torchvision architectures with their default random initialisation (latency
does not depend on the weight values). Debian 12 has no `transformers`
package, so BERT-base and DistilBERT are stood in for by torch
nn.TransformerEncoder stacks of the same size (hidden 768, 12 heads, FFN
3072, GELU, post-norm; 12 layers for "bert_base", 6 for "distilbert"), with
token and position embeddings, sequence length 128.

All models have a dynamic batch dimension named "batch".

Usage: /usr/bin/python3 bench/export_models.py [--out bench/models] [--only NAME,...]
"""
import argparse
import os

import torch
import torch.nn as nn
import torchvision

OPSET = 14


class Encoder(nn.Module):
    def __init__(self, layers, vocab=30522, seq=128, d=768, heads=12, ff=3072):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu",
                                           batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)

    def forward(self, input_ids):
        return self.norm(self.enc(self.tok(input_ids) + self.pos))


def cnn(ctor):
    def make():
        torch.manual_seed(0)
        m = ctor(weights=None)
        return m, (torch.randn(1, 3, 224, 224),), ["input"]
    return make


def encoder(layers):
    def make():
        torch.manual_seed(0)
        m = Encoder(layers)
        return m, (torch.randint(0, 30522, (1, 128), dtype=torch.int64),), ["input_ids"]
    return make


MODELS = {
    "resnet50": cnn(torchvision.models.resnet50),
    "mobilenet_v2": cnn(torchvision.models.mobilenet_v2),
    "squeezenet1_1": cnn(torchvision.models.squeezenet1_1),
    "efficientnet_b0": cnn(torchvision.models.efficientnet_b0),
    "bert_base": encoder(12),
    "distilbert": encoder(6),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "models"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = [n for n in args.only.split(",") if n] or list(MODELS)
    for name in names:
        path = os.path.join(args.out, name + ".onnx")
        if os.path.exists(path):
            print("exists", path)
            continue
        model, inputs, in_names = MODELS[name]()
        model.eval()
        with torch.no_grad():
            torch.onnx.export(model, inputs, path + ".tmp", opset_version=OPSET,
                              input_names=in_names, output_names=["output"],
                              dynamic_axes={in_names[0]: {0: "batch"}, "output": {0: "batch"}},
                              do_constant_folding=True)
        os.replace(path + ".tmp", path)
        print("wrote", path, os.path.getsize(path) // (1 << 20), "MiB")


if __name__ == "__main__":
    main()
