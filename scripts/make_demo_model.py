#!/usr/bin/python3
"""Builds the engine's demo models and reference data (run with /usr/bin/python3).

models/xray_cnn.onnx      small image CNN, input "image" [1,1,64,64] float32,
                          output "probabilities" [1,4] (normal, opacity,
                          effusion, nodule -- made-up classes, random weights)
models/xray_sample.npy    a synthetic X-ray-like image (gradient + blobs)
models/xray_expected.npy  torch's output for that sample
models/mlp_dynamic.onnx   a small MLP with a dynamic batch dim "batch"
models/mlp_sample.npy     [3,16] input, models/mlp_expected.npy torch's output

Everything is deterministic (fixed seeds), so rerunning reproduces the files.
The weights are random: this is a test fixture, not a medical model.
"""
import os

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "models")
CLASSES = ["normal", "opacity", "effusion", "nodule"]


class XrayCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(16 * 4 * 4, len(CLASSES))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return torch.softmax(self.classifier(x), dim=1)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 8), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


def synthetic_xray(size=64):
    """A smooth vertical gradient (denser at the bottom) plus a few Gaussian blobs."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    img = 0.2 + 0.5 * y + 0.1 * np.sin(6.0 * x)
    for cy, cx, r, a in [(0.35, 0.3, 0.08, 0.6), (0.4, 0.7, 0.12, 0.4), (0.75, 0.5, 0.05, 0.8)]:
        img += a * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    return np.clip(img, 0.0, 1.5).astype(np.float32).reshape(1, 1, size, size)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)

    cnn = XrayCNN().eval()
    sample = synthetic_xray()
    with torch.no_grad():
        expected = cnn(torch.from_numpy(sample)).numpy()
    torch.onnx.export(cnn, torch.from_numpy(sample), os.path.join(OUT, "xray_cnn.onnx"),
                      input_names=["image"], output_names=["probabilities"], opset_version=13)
    np.save(os.path.join(OUT, "xray_sample.npy"), sample)
    np.save(os.path.join(OUT, "xray_expected.npy"), expected.astype(np.float32))

    mlp = MLP().eval()
    x = torch.randn(3, 16)
    with torch.no_grad():
        y = mlp(x).numpy()
    torch.onnx.export(mlp, x, os.path.join(OUT, "mlp_dynamic.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=13,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    np.save(os.path.join(OUT, "mlp_sample.npy"), x.numpy())
    np.save(os.path.join(OUT, "mlp_expected.npy"), y.astype(np.float32))

    print("probabilities:", dict(zip(CLASSES, expected[0].round(4).tolist())))


if __name__ == "__main__":
    main()
