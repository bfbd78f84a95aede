"""Layout, shape-subgraph and indexing fixtures (issue 14): small PyTorch
models exported with torch.onnx.export at opsets 9 (where the exporter
writes the model PyTorch runs), 11, 13 and 17 with a dynamic batch axis,
and graphs written by hand with onnx.helper in tf2onnx's style (NHWC
Transposes, unk__ dimension names, its Resize modes, shape subgraphs).

    make fixtures
    # or: /usr/bin/python3 testdata/layout/make_layout_fixtures.py --out testdata/layout

References: PyTorch's outputs (eval mode) for the PyTorch models; for the
hand-made graphs, ONNX Runtime's, through `aebridge run --backend ort`
(ONNX Runtime is not installed for Python here): the script runs
`go run ./cmd/aebridge run MODEL --input FILE.npy --output OUT.npy` from
the repository root, with ONNXRUNTIME_SHARED_LIBRARY_PATH set as for the
tests (--aebridge gives another command, e.g. a built bin/aebridge).

Files, for each model NAME: NAME.opsetK.onnx (the hand-made ones at the
opset tf2onnx writes by default, 13), NAME.inI.npy (batch 5), NAME.outJ.npy,
and manifest.json in testdata/pytorch's format. The CVAE decoder with an
nn.Embedding of int64 labels is written too (cvae_embedding.*, its labels
an int64 .npy); convert/layout_test.go checks it as well.

Everything is seeded: a second run gives the same files.
"""
import argparse
import json
import os
import shlex
import subprocess

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OPSETS = (9, 11, 13, 17)
BATCH = 5


class ResidualConvDecoder(nn.Module):
    """code (8) → 4×4×4 → two residual conv blocks (x + conv(relu(conv x)))
    with a nearest upsampling between → 1×8×8."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4 * 4 * 4)
        self.b1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.b2 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.out = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, z):
        h = self.fc(z).view(-1, 4, 4, 4)
        h = torch.relu(h + self.b1(h))
        h = self.up(h)
        h = torch.relu(h + self.b2(h))
        return torch.sigmoid(self.out(h))


class PixelShuffleAE(nn.Module):
    """1×8×8 → strided conv → 8×4×4 → conv to 4·2² channels → PixelShuffle(2)
    → conv → 1×8×8."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU())
        self.dec = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.PixelShuffle(2), nn.ReLU(),
                                 nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.dec(self.enc(x))


class BilinearAE(nn.Module):
    """Strided conv encoder, bilinear upsampling decoder (F.interpolate,
    align_corners as given)."""

    def __init__(self, align_corners):
        super().__init__()
        self.align_corners = align_corners
        self.enc = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU())
        self.dec = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        h = F.interpolate(self.enc(x), scale_factor=2, mode="bilinear", align_corners=self.align_corners)
        return torch.sigmoid(self.dec(h))


class PermuteAE(nn.Module):
    """Conv, then permute to NHWC for a per-pixel Linear over the channels
    (and a LayerNorm-free mix), permute back, conv."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, 3, padding=1)
        self.mix = nn.Linear(6, 4)
        self.conv2 = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x):
        h = torch.relu(self.conv1(x)).permute(0, 2, 3, 1)
        h = torch.tanh(self.mix(h)).permute(0, 3, 1, 2)
        return torch.sigmoid(self.conv2(h))


class ReflectPadAE(nn.Module):
    """nn.ReflectionPad2d before a valid conv, a conv with
    padding_mode="reflect", and a replication pad."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")
        self.rep = nn.ReplicationPad2d((1, 0, 0, 1))
        self.conv3 = nn.Conv2d(4, 1, 2)

    def forward(self, x):
        h = torch.relu(self.conv1(self.pad(x)))
        h = torch.relu(self.conv2(h))
        return torch.sigmoid(self.conv3(self.rep(h)))


class SplitAE(nn.Module):
    """torch.split along the channels, by a list of uneven sizes and by one
    size (equal parts), each part its own activation, concatenated back.
    (torch.chunk is not here: from opset 11 PyTorch 1.13 computes its sizes
    with int64 Add, Div and Mul of the shape, which the graph does not
    run.)"""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 4, 3, padding=1)
        self.conv3 = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        h = self.conv1(x)
        a, b, c = torch.split(h, [1, 2, 3], dim=1)
        h = torch.cat([torch.relu(a), torch.tanh(b), torch.sigmoid(c)], dim=1)
        p, q = torch.split(self.conv2(h), 2, dim=1)
        return torch.sigmoid(self.conv3(torch.cat([torch.relu(p), q], dim=1)))


class CVAEEmbedding(nn.Module):
    """(z, label) → x̂: the code and an nn.Embedding of the int64 class label
    (Gather of the table), concatenated."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 6)
        self.net = nn.Sequential(nn.Linear(4 + 6, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid())

    def forward(self, z, label):
        return self.net(torch.cat([z, self.emb(label)], dim=1))


def pytorch_models():
    """Yields (name, module, input names, output names, inputs, opsets)."""
    g = torch.Generator().manual_seed(4321)

    def uniform(*shape):
        return torch.rand(*shape, generator=g)

    yield "residual_conv_decoder", ResidualConvDecoder(), ["z"], ["y"], [torch.randn(BATCH, 8, generator=g)], OPSETS
    yield "pixel_shuffle_ae", PixelShuffleAE(), ["x"], ["y"], [uniform(BATCH, 1, 8, 8)], OPSETS
    # Opset 9's Upsample has no half-pixel coordinates (and no align_corners):
    # PyTorch's export there is not the model it runs.
    yield "bilinear_ae", BilinearAE(False), ["x"], ["y"], [uniform(BATCH, 1, 8, 8)], OPSETS[1:]
    yield "bilinear_align_corners_ae", BilinearAE(True), ["x"], ["y"], [uniform(BATCH, 1, 8, 8)], OPSETS[1:]
    yield "permute_ae", PermuteAE(), ["x"], ["y"], [uniform(BATCH, 2, 6, 6)], OPSETS
    yield "reflect_pad_ae", ReflectPadAE(), ["x"], ["y"], [uniform(BATCH, 1, 8, 8)], OPSETS
    yield "split_ae", SplitAE(), ["x"], ["y"], [uniform(BATCH, 1, 6, 6)], OPSETS


def init_weights(name, module):
    with torch.no_grad():
        gen = torch.Generator().manual_seed(sum(map(ord, name)))
        for p in module.parameters():
            p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 2 / max(1, p.shape[-1]) ** 0.5)


def export_pytorch(out, name, module, in_names, out_names, inputs, opsets, manifest=True):
    module.eval()
    init_weights(name, module)
    with torch.no_grad():
        outputs = module(*inputs)
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    entry = {"name": name, "inputs": [], "outputs": [], "files": {}}
    for i, (n, t) in enumerate(zip(in_names, inputs)):
        f = f"{name}.in{i}.npy"
        a = t.numpy()
        np.save(os.path.join(out, f), a if a.dtype == np.int64 else a.astype(np.float32))
        entry["inputs"].append({"name": n, "file": f, "shape": list(t.shape)})
    for j, (n, t) in enumerate(zip(out_names, outputs)):
        f = f"{name}.out{j}.npy"
        np.save(os.path.join(out, f), t.numpy().astype(np.float32))
        entry["outputs"].append({"name": n, "file": f, "shape": list(t.shape)})
    trace = tuple(t[:2] for t in inputs)
    axes = {n: {0: "batch"} for n in in_names + out_names}
    for opset in opsets:
        f = f"{name}.opset{opset}.onnx"
        path = os.path.join(out, f)
        torch.onnx.export(module, trace, path, input_names=in_names, output_names=out_names,
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
        onnx.checker.check_model(onnx.load(path), full_check=True)
        entry["files"][str(opset)] = f
    if not isinstance(outputs, tuple) or len(in_names) != 1 or list(inputs[0].shape) != list(outputs[0].shape):
        entry["autoencoder"] = False
    print(f"{name}: opsets {', '.join(entry['files'])}")
    return entry


# Hand-made graphs in tf2onnx's style.

def rng_for(name):
    return np.random.default_rng(sum(map(ord, name)))


def const(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def conv_weights(rng, cout, cin, k):
    w = ((rng.random((cout, cin, k, k)) - 0.5) * 2 / (cin * k * k) ** 0.5).astype(np.float32)
    b = ((rng.random(cout) - 0.5) * 0.2).astype(np.float32)
    return w, b


def nhwc_input(name, h, w, c):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["unk__0", h, w, c])


def keras_conv_ae(name, transposes_everywhere):
    """A Keras NHWC conv AE as tf2onnx writes it: 8×8×1 → Conv 4 (ReLU) →
    Conv 4 stride 2 (ReLU) → nearest 2× upsampling → Conv 1 (sigmoid), each
    Conv between Transposes to NCHW and back (transposes_everywhere), or
    NCHW from the Transpose after the input to the one before the output
    (what tf2onnx's transpose optimizer leaves)."""
    rng = rng_for(name)
    inits, nodes = [], []
    layers = [(4, 1, 3, 1), (4, 4, 3, 2), (1, 4, 3, 1)]
    x = "input_1"
    cur = x
    if not transposes_everywhere:
        nodes.append(helper.make_node("Transpose", [cur], ["nchw"], perm=[0, 3, 1, 2], name="to_nchw"))
        cur = "nchw"
    for i, (cout, cin, k, stride) in enumerate(layers):
        w, b = conv_weights(rng, cout, cin, k)
        inits += [const(f"conv2d_{i}/kernel", w), const(f"conv2d_{i}/bias", b)]
        if transposes_everywhere:
            nodes.append(helper.make_node("Transpose", [cur], [f"conv2d_{i}/in"], perm=[0, 3, 1, 2], name=f"conv2d_{i}__in"))
            cur = f"conv2d_{i}/in"
        nodes.append(helper.make_node("Conv", [cur, f"conv2d_{i}/kernel", f"conv2d_{i}/bias"], [f"conv2d_{i}/conv"],
                                      kernel_shape=[k, k], strides=[stride, stride], pads=[1, 1, 1, 1] if stride == 1 else [0, 0, 1, 1],
                                      dilations=[1, 1], name=f"conv2d_{i}"))
        cur = f"conv2d_{i}/conv"
        if transposes_everywhere:
            nodes.append(helper.make_node("Transpose", [cur], [f"conv2d_{i}/out"], perm=[0, 2, 3, 1], name=f"conv2d_{i}__out"))
            cur = f"conv2d_{i}/out"
        act = "Sigmoid" if i == len(layers) - 1 else "Relu"
        nodes.append(helper.make_node(act, [cur], [f"conv2d_{i}/act"], name=f"conv2d_{i}/{act}"))
        cur = f"conv2d_{i}/act"
        if i == 1:  # UpSampling2D: Resize nearest, asymmetric, floor, over H and W
            scales = [1, 2, 2, 1] if transposes_everywhere else [1, 1, 2, 2]
            inits.append(const("up_sampling2d/scales", np.array(scales, np.float32)))
            inits.append(const("up_sampling2d/roi", np.array([], np.float32)))
            nodes.append(helper.make_node("Resize", [cur, "up_sampling2d/roi", "up_sampling2d/scales"], ["up_sampling2d/out"],
                                          mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor", name="up_sampling2d"))
            cur = "up_sampling2d/out"
    if not transposes_everywhere:
        nodes.append(helper.make_node("Transpose", [cur], ["conv2d_2"], perm=[0, 2, 3, 1], name="to_nhwc"))
        cur = "conv2d_2"
    else:
        nodes.append(helper.make_node("Identity", [cur], ["conv2d_2"], name="out"))
    g = helper.make_graph(nodes, name, [nhwc_input(x, 8, 8, 1)],
                          [helper.make_tensor_value_info("conv2d_2", TensorProto.FLOAT, ["unk__1", 8, 8, 1])], inits)
    return g, [("input_1", rng.random((BATCH, 8, 8, 1), dtype=np.float32))], ["conv2d_2"]


def tf_resize(name):
    """tf2onnx's Resize modes on NHWC data: tf.image.resize bilinear
    (half_pixel, linear), nearest with half_pixel_centers
    (tf_half_pixel_for_nn, round_prefer_ceil) and without (asymmetric,
    floor), and a bilinear resize to given sizes (sizes input,
    round_prefer_floor nearest between), each behind Transposes."""
    rng = rng_for(name)
    w, b = conv_weights(rng, 2, 2, 3)
    inits = [const("conv/kernel", w), const("conv/bias", b),
             const("roi", np.array([], np.float32)),
             const("scales2", np.array([1, 1, 2, 2], np.float32)),
             const("scales_half", np.array([1, 1, 0.5, 0.5], np.float32)),
             const("sizes", np.array([0, 0, 6, 6], np.int64)),
             const("hw", np.array([6, 6], np.int64)),
             const("axes0", np.array([0], np.int64)),
             const("s0", np.array([0], np.int64)), const("e2", np.array([2], np.int64))]
    nodes = [
        helper.make_node("Transpose", ["images"], ["x_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Resize", ["x_nchw", "roi", "scales2"], ["bilinear"], mode="linear", coordinate_transformation_mode="half_pixel"),
        helper.make_node("Conv", ["bilinear", "conv/kernel", "conv/bias"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Resize", ["relu", "roi", "scales_half"], ["nn_half"], mode="nearest",
                         coordinate_transformation_mode="tf_half_pixel_for_nn", nearest_mode="round_prefer_ceil"),
        helper.make_node("Resize", ["nn_half", "roi", "scales2"], ["nn_asym"], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        # sizes = concat(shape(x)[0:2], [6, 6]), as tf2onnx builds them
        helper.make_node("Shape", ["nn_asym"], ["shape"]),
        helper.make_node("Slice", ["shape", "s0", "e2", "axes0"], ["nc"]),
        helper.make_node("Concat", ["nc", "hw"], ["sizes_nchw"], axis=0),
        helper.make_node("Resize", ["nn_asym", "roi", "", "sizes_nchw"], ["sized"], mode="linear", coordinate_transformation_mode="half_pixel"),
        helper.make_node("Concat", ["nc", "hw8"], ["sizes8"], axis=0),
        helper.make_node("Resize", ["sized", "roi", "", "sizes8"], ["round_floor"], mode="nearest",
                         coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor"),
        helper.make_node("Transpose", ["round_floor"], ["Identity:0"], perm=[0, 2, 3, 1]),
    ]
    inits.append(const("hw8", np.array([8, 8], np.int64)))
    g = helper.make_graph(nodes, name, [nhwc_input("images", 8, 8, 2)],
                          [helper.make_tensor_value_info("Identity:0", TensorProto.FLOAT, ["unk__1", 8, 8, 2])],
                          [i for i in inits if i.name != "sizes"])
    return g, [("images", rng.random((BATCH, 8, 8, 2), dtype=np.float32))], ["Identity:0"]


def shape_subgraph(name):
    """A dense AE on NHWC images whose Reshapes take shapes computed as
    tf2onnx writes them for an unk__ batch: Shape → Gather(0) → Unsqueeze →
    Concat([batch, -1]) to flatten, and back to (batch, h, w, c) with h, w,
    c gathered from the shape at a Range of indices, through Casts."""
    rng = rng_for(name)
    w1 = ((rng.random((32, 12)) - 0.5) * 2 / 32 ** 0.5).astype(np.float32)
    b1 = ((rng.random(12) - 0.5) * 0.2).astype(np.float32)
    w2 = ((rng.random((12, 32)) - 0.5) * 2 / 12 ** 0.5).astype(np.float32)
    b2 = ((rng.random(32) - 0.5) * 0.2).astype(np.float32)
    inits = [const("dense/kernel", w1), const("dense/bias", b1), const("dense_1/kernel", w2), const("dense_1/bias", b2),
             const("zero", np.array(0, np.int64)), const("one", np.array(1, np.int64)), const("four", np.array(4, np.int64)),
             const("minus1", np.array([-1], np.int64)), const("axes0", np.array([0], np.int64))]
    nodes = [
        helper.make_node("Shape", ["input_1"], ["shape"]),
        helper.make_node("Cast", ["shape"], ["shape64"], to=TensorProto.INT64),
        helper.make_node("Gather", ["shape64", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus1"], ["flat_shape"], axis=0),
        helper.make_node("Reshape", ["input_1", "flat_shape"], ["flatten/Reshape:0"]),
        helper.make_node("MatMul", ["flatten/Reshape:0", "dense/kernel"], ["dense/MatMul:0"]),
        helper.make_node("Add", ["dense/MatMul:0", "dense/bias"], ["dense/BiasAdd:0"]),
        helper.make_node("Relu", ["dense/BiasAdd:0"], ["dense/Relu:0"]),
        helper.make_node("MatMul", ["dense/Relu:0", "dense_1/kernel"], ["dense_1/MatMul:0"]),
        helper.make_node("Add", ["dense_1/MatMul:0", "dense_1/bias"], ["dense_1/BiasAdd:0"]),
        helper.make_node("Sigmoid", ["dense_1/BiasAdd:0"], ["dense_1/Sigmoid:0"]),
        helper.make_node("Range", ["one", "four", "one"], ["hwc_idx"]),
        helper.make_node("Gather", ["shape64", "hwc_idx"], ["hwc"], axis=0),
        helper.make_node("Concat", ["batch1", "hwc"], ["image_shape"], axis=0),
        helper.make_node("Cast", ["image_shape"], ["image_shape64"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["dense_1/Sigmoid:0", "image_shape64"], ["reshape/Reshape:0"]),
    ]
    g = helper.make_graph(nodes, name, [nhwc_input("input_1", 4, 4, 2)],
                          [helper.make_tensor_value_info("reshape/Reshape:0", TensorProto.FLOAT, ["unk__2", 4, 4, 2])], inits)
    return g, [("input_1", rng.random((BATCH, 4, 4, 2), dtype=np.float32))], ["reshape/Reshape:0"]


# Hand-made autoencoders not fine-tuned by TestEveryFixture: their
# decoders read shapes computed from the encoder's tensors (the batch size
# of input_1 for the Reshape back, the first two dimensions for Resize's
# sizes), which export.PartGraph refuses to cut ("only pooling indices may
# cross the code"), so train cannot write their parts.
NO_FINE_TUNE = ("tf_shape_subgraph_ae", "tf_resize")


def hand_models():
    yield "keras_nhwc_ae", lambda: keras_conv_ae("keras_nhwc_ae", True)
    yield "keras_nhwc_io_ae", lambda: keras_conv_ae("keras_nhwc_io_ae", False)
    yield "tf_resize", lambda: tf_resize("tf_resize")
    yield "tf_shape_subgraph_ae", lambda: shape_subgraph("tf_shape_subgraph_ae")


def export_hand(out, name, build, aebridge, opset=13):
    g, inputs, out_names = build()
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="tf2onnx", producer_version="1.16.1")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    f = f"{name}.opset{opset}.onnx"
    onnx.save(m, os.path.join(out, f))
    entry = {"name": name, "inputs": [], "outputs": [], "files": {str(opset): f}}
    for i, (n, a) in enumerate(inputs):
        fi = f"{name}.in{i}.npy"
        np.save(os.path.join(out, fi), a)
        entry["inputs"].append({"name": n, "file": fi, "shape": list(a.shape)})
    assert len(out_names) == 1
    fo = f"{name}.out0.npy"
    cmd = shlex.split(aebridge) + ["run", os.path.join(out, f), "--backend", "ort",
                                   "--input", os.path.join(out, entry["inputs"][0]["file"]), "--output", os.path.join(out, fo)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    y = np.load(os.path.join(out, fo))
    entry["outputs"].append({"name": out_names[0], "file": fo, "shape": list(y.shape)})
    if list(y.shape) != entry["inputs"][0]["shape"] or name in NO_FINE_TUNE:
        entry["autoencoder"] = False
    print(f"{name}: opset {opset} (ONNX Runtime's outputs)")
    return entry


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--aebridge", default="go run ./cmd/aebridge", help="the aebridge command that runs ONNX Runtime")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    manifest = {"torch": torch.__version__.split("+")[0], "onnx": onnx.__version__, "opsets": list(OPSETS), "models": []}
    for name, module, in_names, out_names, inputs, opsets in pytorch_models():
        manifest["models"].append(export_pytorch(a.out, name, module, in_names, out_names, inputs, opsets))
    for name, build in hand_models():
        manifest["models"].append(export_hand(a.out, name, build, a.aebridge))
    # An int64 label input: check takes it; convert cannot make a trainer
    # model of it (cmd/aebridge/fixtures_test.go's fixtureNoConvert).
    g = torch.Generator().manual_seed(99)
    manifest["models"].append(export_pytorch(a.out, "cvae_embedding", CVAEEmbedding(), ["z", "label"], ["y"],
                   [torch.randn(BATCH, 4, generator=g), torch.randint(0, 10, (BATCH,), generator=g)], OPSETS))
    with open(os.path.join(a.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
