"""The export step shared by scripts/export_architectures.py and
scripts/export_recurrent.py (Debian's python3-torch; run with /usr/bin/python3).

Each model goes to DIR/NAME/: model.onnx, in_<input>.npy, out_<output>.npy,
meta.json ({"inputs": [...], "outputs": [...], "opset": N}) and version.
A model already present with the same version is not exported again, and
each model is written to a temporary directory and renamed, so parallel test
processes never see half a model.

The version is a hash of the calling script and of this file: the scripts
stay separate so that editing one (adding a small recurrent model, say) does
not invalidate the other's large cached exports (ResNet-50, BERT).
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


def script_version(script_path):
    h = hashlib.sha256()
    for path in (os.path.abspath(script_path), os.path.abspath(__file__)):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def export(name, out_dir, version, make, opset, dynamic_batch=False, check_inputs=None):
    """make() -> (module, example inputs {name: tensor}, output names).
    The example inputs are exported (dynamic_batch: dim 0 of every input and
    output is the symbolic "batch"); PyTorch's outputs are recorded for
    check_inputs() when given (e.g. another batch size), else for the
    example inputs."""
    final = os.path.join(out_dir, name)
    stamp = os.path.join(final, "version")
    if os.path.exists(stamp) and open(stamp).read() == version:
        return
    model, inputs, output_names = make()
    model.eval()
    input_names = list(inputs)
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {n: {0: "batch"} for n in input_names + output_names}
    tmp = tempfile.mkdtemp(prefix=name + ".", dir=out_dir)
    try:
        with torch.no_grad():
            torch.onnx.export(model, tuple(inputs.values()), os.path.join(tmp, "model.onnx"),
                              input_names=input_names, output_names=output_names,
                              opset_version=opset, dynamic_axes=dynamic_axes,
                              do_constant_folding=True)
            if check_inputs is not None:
                inputs = check_inputs()
            outs = model(*inputs.values())
        if isinstance(outs, torch.Tensor):
            outs = (outs,)
        for n, t in inputs.items():
            np.save(os.path.join(tmp, "in_" + n + ".npy"), t.numpy())
        for n, t in zip(output_names, outs):
            np.save(os.path.join(tmp, "out_" + n + ".npy"), t.numpy())
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump({"inputs": input_names, "outputs": output_names, "opset": opset}, f)
        with open(os.path.join(tmp, "version"), "w") as f:
            f.write(version)
        if os.path.exists(final):
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            pass  # another process finished the same model first
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(models, export_one, threads):
    """The command line of both scripts: --out DIR [--only NAME ...] [--list]."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(models))
        return 0
    if not a.out:
        ap.error("--out is required")
    names = a.only or list(models)
    for n in names:
        if n not in models:
            ap.error("unknown model " + n)
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(threads)
    for n in names:
        export_one(n, a.out)
        print("exported", n, file=sys.stderr)
    return 0
