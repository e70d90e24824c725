#!/usr/bin/python3
"""Exports small recurrent PyTorch models (nn.LSTM, nn.GRU, nn.RNN) with
Debian's python3-torch into a cache directory (outside git), with one input
set and PyTorch's outputs, for tests/engine/recurrent_export_test.cc. Run
with /usr/bin/python3. Layout and caching: scripts/torch_export.py, shared
with export_architectures.py (kept separate so that editing one does not
invalidate the other's large cached exports):

  scripts/export_recurrent.py --out DIR [--only NAME ...] [--list]

DIR/NAME/: model.onnx, in_<input>.npy, out_<output>.npy, meta.json, version.
Weights are random with fixed seeds.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_export  # noqa: E402  (the shared export step, next to this file)

VERSION = torch_export.script_version(__file__)


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
    torch_export.export(name, out_dir, VERSION, lambda: build(arch), opset)


if __name__ == "__main__":
    sys.exit(torch_export.main(MODELS, export, threads=1))
