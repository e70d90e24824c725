#!/usr/bin/python3
"""Exports small recurrent PyTorch models (nn.LSTM, nn.GRU, nn.RNN) with
Debian's python3-torch into a cache directory (outside git), with one input
set and PyTorch's outputs, for tests/engine/recurrent_export_test.cc. Run
with /usr/bin/python3. Same layout and caching as export_architectures.py
(kept separate so that editing one does not invalidate the other's large
cached exports):

  scripts/export_recurrent.py --out DIR [--only NAME ...] [--list]

DIR/NAME/: model.onnx, in_<input>.npy, out_<output>.npy, meta.json, version.
Weights are random with fixed seeds.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

VERSION = hashlib.sha256(open(os.path.abspath(__file__), "rb").read()).hexdigest()[:16]


class LstmTagger(nn.Module):
    """2-layer bidirectional batch-first LSTM with initial states, + Linear."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=12, hidden_size=16, num_layers=2, batch_first=True,
                            bidirectional=True)
        self.head = nn.Linear(32, 5)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x, (h0, c0))
        return self.head(y), h, c


class GruEncoder(nn.Module):
    """2-layer GRU (sequence-first) with zero initial state, and a reverse
    single-layer tanh RNN over the same input."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=10, hidden_size=24, num_layers=2)
        self.rnn = nn.RNN(input_size=10, hidden_size=8, nonlinearity="relu", bidirectional=True)

    def forward(self, x):
        y, h = self.gru(x)
        z, hz = self.rnn(x)
        return y, h, z, hz


def build(arch):
    torch.manual_seed(0)
    if arch == "lstm":
        batch, seq = 3, 7
        inputs = {"x": torch.randn(batch, seq, 12), "h0": torch.randn(4, batch, 16),
                  "c0": torch.randn(4, batch, 16)}
        return LstmTagger(), inputs, ["logits", "h_n", "c_n"]
    if arch == "gru":
        inputs = {"x": torch.randn(9, 2, 10)}
        return GruEncoder(), inputs, ["y", "h_n", "rnn_y", "rnn_h_n"]
    raise ValueError(arch)


MODELS = {
    "lstm_opset13": ("lstm", 13),
    "lstm_opset17": ("lstm", 17),
    "gru_opset13": ("gru", 13),
    "gru_opset17": ("gru", 17),
}


def export(name, out_dir):
    arch, opset = MODELS[name]
    final = os.path.join(out_dir, name)
    stamp = os.path.join(final, "version")
    if os.path.exists(stamp) and open(stamp).read() == VERSION:
        return
    model, inputs, output_names = build(arch)
    model.eval()
    tmp = tempfile.mkdtemp(prefix=name + ".", dir=out_dir)
    try:
        with torch.no_grad():
            torch.onnx.export(model, tuple(inputs.values()), os.path.join(tmp, "model.onnx"),
                              input_names=list(inputs), output_names=output_names,
                              opset_version=opset, do_constant_folding=True)
            outs = model(*inputs.values())
        for n, t in inputs.items():
            np.save(os.path.join(tmp, "in_" + n + ".npy"), t.numpy())
        for n, t in zip(output_names, outs):
            np.save(os.path.join(tmp, "out_" + n + ".npy"), t.numpy())
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump({"inputs": list(inputs), "outputs": output_names, "opset": opset}, f)
        with open(os.path.join(tmp, "version"), "w") as f:
            f.write(VERSION)
        if os.path.exists(final):
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            pass  # another process finished the same model first
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(MODELS))
        return 0
    if not a.out:
        ap.error("--out is required")
    names = a.only or list(MODELS)
    for n in names:
        if n not in MODELS:
            ap.error("unknown model " + n)
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    for n in names:
        export(n, a.out)
        print("exported", n, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
