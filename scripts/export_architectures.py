#!/usr/bin/python3
"""Exports real architectures with Debian's python3-torch / torchvision into a
cache directory (outside git) with one input set and PyTorch's outputs, for
tests/engine/architectures_test.cc. Run with /usr/bin/python3.

  scripts/export_architectures.py --out DIR [--only NAME ...] [--list]

Each model goes to DIR/NAME/: model.onnx, in_<input>.npy, out_<output>.npy
and meta.json ({"inputs": [...], "outputs": [...]}). NAME is
<arch>_opset<N>[_dynbatch]. Caching and the
file layout: scripts/torch_export.py.

Weights are random (fixed seeds; torchvision weights=None, nothing is
downloaded): the check is that Citadel computes what PyTorch computes.

torch 1.13's nn.TransformerEncoder takes a fused fast path in eval mode that
does not export, so the encoders here are plain layers written out (which is
also what BERT/DistilBERT exports look like: MatMul/Add/Softmax/LayerNorm/Erf).
"""
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_export  # noqa: E402  (the shared export step, next to this file)

VERSION = torch_export.script_version(__file__)


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.d = heads, hidden // heads
        self.q, self.k, self.v = (nn.Linear(hidden, hidden) for _ in range(3))
        self.o = nn.Linear(hidden, hidden)

    def forward(self, x, mask_bias):
        b, s, h = x.shape

        def split(t):
            return t.view(b, s, self.heads, self.d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d) + mask_bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.o(ctx.transpose(1, 2).reshape(b, s, h))


class EncoderLayer(nn.Module):
    """Post-norm transformer encoder layer (BERT/DistilBERT), GELU (erf)."""

    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.attn = SelfAttention(hidden, heads)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1, self.ff2 = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask_bias):
        x = self.ln1(x + self.attn(x, mask_bias))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class BertLike(nn.Module):
    """BERT-base shape: 12 layers, hidden 768, 12 heads, FFN 3072, vocab 30522;
    word + position + token-type embeddings; additive mask; tanh pooler."""

    def __init__(self, layers=12, hidden=768, heads=12, ffn=3072, vocab=30522, max_pos=512):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_pos, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))
        self.pool = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask, token_type_ids):
        s = input_ids.shape[1]
        pos = torch.arange(s, dtype=torch.int64).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.pos(pos) + self.token_type(token_type_ids))
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x, torch.tanh(self.pool(x[:, 0]))


class DistilBertLike(nn.Module):
    """DistilBERT shape: 6 layers, hidden 768, no token types, no pooler; the
    mask is applied with masked_fill (exports as Equal/Where), as DistilBERT does."""

    def __init__(self, layers=6, hidden=768, heads=12, ffn=3072, vocab=30522, max_pos=512):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_pos, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))

    def forward(self, input_ids, attention_mask):
        s = input_ids.shape[1]
        pos = torch.arange(s, dtype=torch.int64).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.pos(pos))
        zeros = torch.zeros_like(attention_mask[:, None, None, :], dtype=torch.float32)
        bias = zeros.masked_fill(attention_mask[:, None, None, :] == 0, torch.finfo(torch.float32).min)
        for layer in self.layers:
            x = layer(x, bias)
        return x


class Gpt2Block(nn.Module):
    """Pre-norm decoder block as in GPT-2: fused QKV projection, causal
    self-attention with the mask built in the graph (tril of ones, then
    masked_fill), tanh-approximated GELU ("gelu_new")."""

    def __init__(self, hidden, heads, max_pos):
        super().__init__()
        self.heads, self.d = heads, hidden // heads
        self.ln1, self.ln2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.qkv, self.proj = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.fc, self.out = nn.Linear(hidden, 4 * hidden), nn.Linear(4 * hidden, hidden)
        self.register_buffer("causal", torch.tril(torch.ones(max_pos, max_pos, dtype=torch.bool)))

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(h, dim=2)

        def heads(t):
            return t.view(b, s, self.heads, self.d).transpose(1, 2)

        q, k, v = heads(q), heads(k), heads(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)
        scores = scores.masked_fill(~self.causal[:s, :s], torch.finfo(torch.float32).min)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, s, h)
        x = x + self.proj(ctx)
        y = self.fc(self.ln2(x))
        y = 0.5 * y * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (y + 0.044715 * torch.pow(y, 3.0))))
        return x + self.out(y)


class Gpt2Like(nn.Module):
    """GPT-2-style decoder (smaller than GPT-2 small so that the test stays
    quick: 4 layers, hidden 256, 4 heads, vocab 5000): token + learned
    position embeddings, final LayerNorm, LM head tied to the embeddings."""

    def __init__(self, layers=4, hidden=256, heads=4, vocab=5000, max_pos=128):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, hidden), nn.Embedding(max_pos, hidden)
        self.blocks = nn.ModuleList(Gpt2Block(hidden, heads, max_pos) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden)

    def forward(self, input_ids):
        s = input_ids.shape[1]
        pos = torch.arange(s, dtype=torch.int64).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return torch.matmul(self.ln_f(x), self.wte.weight.t())


class YoloStyleDetector(nn.Module):
    """A one-stage detection head in the YOLO style on a MobileNetV2 trunk:
    per-cell anchor predictions decoded in the graph (sigmoid offsets plus a
    grid from arange/meshgrid, exp-scaled anchors, objectness x class
    scores), output [batch, cells * anchors, 4 + 1 + classes]."""

    def __init__(self, classes=20):
        super().__init__()
        import torchvision
        self.trunk = torchvision.models.mobilenet_v2(weights=None).features
        self.anchors = torch.tensor([[10.0, 13.0], [33.0, 23.0], [62.0, 45.0]])
        self.classes = classes
        self.head = nn.Conv2d(1280, 3 * (5 + classes), 1)

    def forward(self, image):
        f = self.head(self.trunk(image))
        b, _, gh, gw = f.shape
        a = self.anchors.shape[0]
        p = f.view(b, a, 5 + self.classes, gh, gw).permute(0, 1, 3, 4, 2)
        gy, gx = torch.meshgrid(torch.arange(gh, dtype=torch.float32), torch.arange(gw, dtype=torch.float32),
                                indexing="ij")
        stride = image.shape[2] / gh
        cx = (torch.sigmoid(p[..., 0]) + gx) * stride
        cy = (torch.sigmoid(p[..., 1]) + gy) * stride
        wh = torch.exp(p[..., 2:4].clamp(max=4.0)) * self.anchors.view(1, a, 1, 1, 2)
        obj = torch.sigmoid(p[..., 4:5])
        cls = torch.sigmoid(p[..., 5:]) * obj
        boxes = torch.cat([cx.unsqueeze(-1) - wh[..., :1] / 2, cy.unsqueeze(-1) - wh[..., 1:] / 2,
                           cx.unsqueeze(-1) + wh[..., :1] / 2, cy.unsqueeze(-1) + wh[..., 1:] / 2], dim=-1)
        return torch.cat([boxes, obj, cls], dim=-1).reshape(b, -1, 5 + self.classes)


def text_inputs(batch, seq, vocab, with_types):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, vocab, (batch, seq), generator=g, dtype=torch.int64)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[:, seq - seq // 4:] = 0  # padded tail, so the mask matters
    inputs = {"input_ids": ids, "attention_mask": mask}
    if with_types:
        types = torch.zeros(batch, seq, dtype=torch.int64)
        types[:, seq // 2:] = 1
        inputs["token_type_ids"] = types
    return inputs


def image_input(batch):
    g = torch.Generator().manual_seed(2)
    return {"image": torch.randn(batch, 3, 224, 224, generator=g)}


def calibrate_batchnorm(model):
    """Freshly initialised BatchNorms (mean 0, var 1) let activations shrink
    layer after layer until the logits are ~1e-9, which would make the
    comparison meaningless. One training-mode pass with cumulative averaging
    sets every running mean/var to real batch statistics, as training would,
    so activations stay O(1)."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        g = torch.Generator().manual_seed(3)
        model(torch.randn(4, 3, 224, 224, generator=g))
    return model


def build(arch):
    """-> (module, example inputs, output names)."""
    torch.manual_seed(0)
    import torchvision
    if arch == "resnet50":
        return calibrate_batchnorm(torchvision.models.resnet50(weights=None)), image_input(1), ["logits"]
    if arch == "mobilenet_v2":
        return calibrate_batchnorm(torchvision.models.mobilenet_v2(weights=None)), image_input(1), ["logits"]
    if arch == "bert":
        return BertLike(), text_inputs(1, 128, 30522, True), ["last_hidden_state", "pooler_output"]
    if arch == "distilbert":
        return DistilBertLike(), text_inputs(1, 128, 30522, False), ["last_hidden_state"]
    # Architectures the engine was not written against (issue 3: "models it
    # has never seen, exported the same way"): no special-casing for them.
    if arch == "efficientnet_b0":
        return calibrate_batchnorm(torchvision.models.efficientnet_b0(weights=None)), image_input(1), ["logits"]
    if arch == "squeezenet1_1":
        return torchvision.models.squeezenet1_1(weights=None), image_input(1), ["logits"]
    if arch == "gpt2":
        ids = text_inputs(1, 64, 5000, False)["input_ids"]
        return Gpt2Like(), {"input_ids": ids}, ["logits"]
    if arch == "yolo_head":
        return calibrate_batchnorm(YoloStyleDetector()), image_input(1), ["detections"]
    raise ValueError(arch)


# name -> (arch, opset, dynamic batch: batch size to check at)
MODELS = {
    "resnet50_opset13": ("resnet50", 13, None),
    "resnet50_opset17": ("resnet50", 17, None),
    "mobilenet_v2_opset13": ("mobilenet_v2", 13, None),
    "mobilenet_v2_opset17": ("mobilenet_v2", 17, None),
    "bert_opset13": ("bert", 13, None),
    "bert_opset17": ("bert", 17, None),
    "distilbert_opset13": ("distilbert", 13, None),
    "distilbert_opset17": ("distilbert", 17, None),
    # Exported at batch 1 with a symbolic batch dim, checked at batch 3.
    "mobilenet_v2_opset13_dynbatch": ("mobilenet_v2", 13, 3),
    "efficientnet_b0_opset13": ("efficientnet_b0", 13, None),
    "squeezenet1_1_opset13": ("squeezenet1_1", 13, None),
    "gpt2_opset17": ("gpt2", 17, None),
    "yolo_head_opset13": ("yolo_head", 13, None),
}


def export(name, out_dir):
    arch, opset, dyn_batch = MODELS[name]
    check_inputs = None
    if dyn_batch is not None and arch in ("resnet50", "mobilenet_v2"):
        check_inputs = lambda: image_input(dyn_batch)  # noqa: E731
    torch_export.export(name, out_dir, VERSION, lambda: build(arch), opset,
                        dynamic_batch=dyn_batch is not None, check_inputs=check_inputs)


if __name__ == "__main__":
    sys.exit(torch_export.main(MODELS, export, threads=max(1, min(2, os.cpu_count() or 1))))
