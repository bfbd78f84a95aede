"""Fixtures for the graph's elementwise, reduction and normalisation
operators (issue 14): small autoencoders exported by PyTorch at several
opsets, and a tf2onnx-style dense autoencoder written by hand with
onnx.helper, each with inputs and reference outputs as .npy and listed in
manifest.json (the format of testdata/pytorch/manifest.json, which
cmd/aebridge's TestEveryFixture walks).

Run with Debian's interpreter, which has python3-torch and python3-onnx
(`make fixtures` does both steps):

    /usr/bin/python3 testdata/ops/make_op_fixtures.py --out testdata/ops
    go run ./cmd/aebridge run testdata/ops/tf_dense_ae.opset13.onnx \\
        --backend ort --input testdata/ops/tf_dense_ae.in0.npy \\
        --output testdata/ops/tf_dense_ae.out0.npy

The PyTorch models' references are PyTorch's outputs (eval mode). The
hand-written model's reference is ONNX Runtime's: ONNX Runtime for Python
is not installed here, so the second command takes it through aebridge's
ONNX Runtime backend (the onnxruntime_go binding of the same library);
this script writes no tf_dense_ae.out0.npy of its own.

Models:
    l2norm_ae       dense encoder whose code is L2-normalised (F.normalize:
                    ReduceL2, Clip/Max, Expand, Div) and a decoder; also the
                    hand-written norm x / sqrt(sum(x^2)) (Pow, ReduceSum,
                    Sqrt, Div) on the decoder's hidden layer
    ln_prelu_ae     Linear, LayerNorm, PReLU, Hardswish, SELU, ReLU6
    instnorm_ae     Conv, InstanceNorm2d (affine), ReLU, ConvTranspose
    tf_dense_ae     tf2onnx style: MatMul + Add dense layers, Clip as
                    ReLU6, Keras PReLU unfused as Relu/Neg/Mul/Add, "unk__"
                    dimension names (opsets 9, 11, 13)

Everything is seeded: a second run gives the same files.
"""
import argparse
import json
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OPSETS = (9, 11, 13, 17)
BATCH = 5


class L2NormAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 8))
        self.dec1 = nn.Linear(8, 16)
        self.dec2 = nn.Linear(16, 32)

    def forward(self, x):
        z = F.normalize(self.enc(x), dim=1)
        h = torch.tanh(self.dec1(z))
        h = h / h.pow(2).sum(dim=1, keepdim=True).sqrt()
        return torch.sigmoid(self.dec2(h * 4))


class LNPReLUAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.ln, self.act1 = nn.Linear(32, 24), nn.LayerNorm(24), nn.PReLU(24)
        self.l2, self.l3, self.l4 = nn.Linear(24, 8), nn.Linear(8, 24), nn.Linear(24, 32)

    def forward(self, x):
        h = self.act1(self.ln(self.l1(x)))
        z = F.hardswish(self.l2(h) * 3)
        h = F.relu6(F.selu(self.l3(z)) * 4)
        return torch.sigmoid(self.l4(h))


class InstanceNormAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.InstanceNorm2d(4, affine=True), nn.ReLU(),
                                 nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.InstanceNorm2d(8, affine=True), nn.ReLU())
        self.dec = nn.Sequential(nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                                 nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.dec(self.enc(x))


def models():
    g = torch.Generator().manual_seed(14)
    yield "l2norm_ae", L2NormAE(), torch.rand(BATCH, 32, generator=g)
    yield "ln_prelu_ae", LNPReLUAE(), torch.rand(BATCH, 32, generator=g)
    yield "instnorm_ae", InstanceNormAE(), torch.rand(BATCH, 1, 8, 8, generator=g)


def seeded(name, module):
    gen = torch.Generator().manual_seed(sum(map(ord, name)))
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 2 / max(1, p.shape[-1]) ** 0.5)
        for m in module.modules():
            if isinstance(m, (nn.LayerNorm, nn.InstanceNorm2d)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) - 0.5)
            if isinstance(m, nn.PReLU):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5)


def tf_dense_ae(opset, rng):
    """A Keras Sequential dense autoencoder as tf2onnx writes it: MatMul and
    Add per Dense layer, Relu, Clip(0, 6) for ReLU6 (inputs from opset 11),
    Sigmoid, the batch dimension named unk__."""
    sizes = [(32, 16), (16, 8), (8, 16), (16, 32)]
    inits, nodes, x = [], [], "input_1"
    acts = ["Relu", "Clip", "PReLU", "Sigmoid"]
    for i, ((a, b), act) in enumerate(zip(sizes, acts)):
        w = ((rng.random((a, b)) - 0.5) * 2 / np.sqrt(a)).astype(np.float32)
        bias = ((rng.random(b) - 0.5) * 0.2).astype(np.float32)
        wn, bn = f"sequential/dense_{i}/MatMul/ReadVariableOp:0", f"sequential/dense_{i}/BiasAdd/ReadVariableOp:0"
        inits += [numpy_helper.from_array(w, wn), numpy_helper.from_array(bias, bn)]
        mm, ba = f"sequential/dense_{i}/MatMul:0", f"sequential/dense_{i}/BiasAdd:0"
        out = "dense_3" if i == len(sizes) - 1 else f"sequential/dense_{i}/{act}:0"
        nodes += [helper.make_node("MatMul", [x, wn], [mm], name=f"sequential/dense_{i}/MatMul"),
                  helper.make_node("Add", [mm, bn], [ba], name=f"sequential/dense_{i}/BiasAdd")]
        if act == "Clip":
            if opset >= 11:
                lo, hi = "sequential/dense_1/Relu6/min:0", "sequential/dense_1/Relu6/max:0"
                inits += [numpy_helper.from_array(np.array(0, np.float32), lo), numpy_helper.from_array(np.array(6, np.float32), hi)]
                nodes.append(helper.make_node("Clip", [ba, lo, hi], [out], name="sequential/dense_1/Relu6"))
            else:
                nodes.append(helper.make_node("Clip", [ba], [out], name="sequential/dense_1/Relu6", min=0.0, max=6.0))
        elif act == "PReLU":
            # Keras PReLU as TensorFlow computes it and tf2onnx writes it
            # unfused: relu(x) + (−alpha)·relu(−x).
            p = "sequential/p_re_lu/"
            alpha = (rng.random(b) * 0.5).astype(np.float32)
            inits.append(numpy_helper.from_array(-alpha, p + "Neg/ReadVariableOp:0"))
            nodes += [helper.make_node("Relu", [ba], [p + "Relu:0"], name=p + "Relu"),
                      helper.make_node("Neg", [ba], [p + "Neg_1:0"], name=p + "Neg_1"),
                      helper.make_node("Relu", [p + "Neg_1:0"], [p + "Relu_1:0"], name=p + "Relu_1"),
                      helper.make_node("Mul", [p + "Neg/ReadVariableOp:0", p + "Relu_1:0"], [p + "mul:0"], name=p + "mul"),
                      helper.make_node("Add", [p + "Relu:0", p + "mul:0"], [out], name=p + "add")]
        else:
            nodes.append(helper.make_node(act, [ba], [out], name=f"sequential/dense_{i}/{act}"))
        x = out
    graph = helper.make_graph(nodes, "sequential", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["unk__6", 32])],
                              [helper.make_tensor_value_info("dense_3", TensorProto.FLOAT, ["unk__7", 32])], inits)
    m = helper.make_model(graph, producer_name="tf2onnx", producer_version="1.14.0 8f8d49",
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    onnx.checker.check_model(m, full_check=True)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    manifest = {"torch": torch.__version__.split("+")[0], "onnx": onnx.__version__, "opsets": list(OPSETS), "models": []}
    for name, module, x in models():
        seeded(name, module)
        module.eval()
        with torch.no_grad():
            y = module(x)
        entry = {"name": name, "inputs": [{"name": "x", "file": f"{name}.in0.npy", "shape": list(x.shape)}],
                 "outputs": [{"name": "y", "file": f"{name}.out0.npy", "shape": list(y.shape)}], "files": {}}
        np.save(os.path.join(a.out, f"{name}.in0.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(a.out, f"{name}.out0.npy"), y.numpy().astype(np.float32))
        for opset in OPSETS:
            f = f"{name}.opset{opset}.onnx"
            path = os.path.join(a.out, f)
            try:
                torch.onnx.export(module, (x[:2],), path, input_names=["x"], output_names=["y"],
                                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset,
                                  do_constant_folding=True)
            except torch.onnx.errors.UnsupportedOperatorError as e:
                print(f"{name}: no export at opset {opset}: {str(e).split('.')[0]}")
                if os.path.exists(path):
                    os.remove(path)
                continue
            onnx.checker.check_model(onnx.load(path), full_check=True)
            entry["files"][str(opset)] = f
        manifest["models"].append(entry)
        print(f"{name}: opsets {', '.join(entry['files'])}")
    rng = np.random.default_rng(14)
    x = rng.random((BATCH, 32)).astype(np.float32)
    np.save(os.path.join(a.out, "tf_dense_ae.in0.npy"), x)
    entry = {"name": "tf_dense_ae", "inputs": [{"name": "input_1", "file": "tf_dense_ae.in0.npy", "shape": [BATCH, 32]}],
             "outputs": [{"name": "dense_3", "file": "tf_dense_ae.out0.npy", "shape": [BATCH, 32]}], "files": {}}
    for opset in (9, 11, 13):
        m = tf_dense_ae(opset, np.random.default_rng(15))
        f = f"tf_dense_ae.opset{opset}.onnx"
        onnx.save(m, os.path.join(a.out, f))
        entry["files"][str(opset)] = f
    manifest["models"].append(entry)
    print("tf_dense_ae: opsets 9, 11, 13 (reference: run aebridge run --backend ort, see the docstring)")
    with open(os.path.join(a.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
