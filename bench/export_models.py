#!/usr/bin/env python3
"""Exports the benchmark model set to ONNX (bench/models/, gitignored).

Uses Debian's python3-torch and python3-torchvision only (no downloads):
torchvision architectures with their default random initialisation (latency
does not depend on the weight values). Debian 12 has no `transformers`
package, so BERT-base and DistilBERT are stood in for by encoder stacks of
the same size (hidden 768, 12 heads, FFN 3072, exact GELU, post-norm like
BERT; 12 layers for "bert_base", 6 for "distilbert"), with token and
position embeddings, sequence length 128. The layers are written out (Q, K,
V, output projections, softmax attention, LayerNorm) rather than using
nn.TransformerEncoder: torch 1.13 runs that module through its fused
`_transformer_encoder_layer_fwd` in eval mode, which has no ONNX export.
The resulting graph has BERT's op pattern (MatMul + Add, Reshape/Transpose
heads, Softmax, LayerNorm and GELU decomposed at opset 14).

All models have a dynamic batch dimension named "batch".

Usage: /usr/bin/python3 bench/export_models.py [--out bench/models] [--only NAME,...]
"""
import argparse
import math
import os

import torch
import torch.nn as nn
import torchvision

OPSET = 14


class EncoderLayer(nn.Module):
    """One post-norm BERT layer: self-attention and FFN, each + residual + LayerNorm."""

    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x):
        b, s, d = x.shape
        dh = d // self.heads

        def split(t):  # [b, s, d] -> [b, heads, s, dh]
            return t.reshape(b, s, self.heads, dh).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, s, d)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class Encoder(nn.Module):
    def __init__(self, layers, vocab=30522, seq=128, d=768, heads=12, ff=3072):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.emb_norm = nn.LayerNorm(d)
        self.layers = nn.ModuleList(EncoderLayer(d, heads, ff) for _ in range(layers))

    def forward(self, input_ids):
        x = self.emb_norm(self.tok(input_ids) + self.pos)
        for layer in self.layers:
            x = layer(x)
        return x


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
