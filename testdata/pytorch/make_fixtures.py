"""Builds small PyTorch autoencoders, exports them with torch.onnx.export at
several opsets with a dynamic batch axis, and saves inputs and PyTorch's
outputs as .npy, for the Go tests that check ONNX Runtime (and later the Go
backends) against PyTorch.

Run with Debian's interpreter, which has python3-torch and python3-onnx:

    /usr/bin/python3 testdata/pytorch/make_fixtures.py --out testdata/pytorch

Files, for each model NAME:
    NAME.opsetK.onnx      the export at opset K (one per opset)
    NAME.inI.npy          input I (float32, batch 5)
    NAME.outJ.npy         PyTorch's output J for those inputs (eval mode)
    NAME.safetensors      the state dict, for the models in SAFETENSORS
and manifest.json listing models, opsets, input and output names and files.

Everything is seeded: a second run gives the same weights, inputs and outputs.
"""
import argparse
import json
import os

import numpy as np
import onnx
import torch
import torch.nn as nn

OPSETS = (9, 11, 13, 17)
BATCH = 5  # inputs saved for the tests; exports trace with batch 2
# Models whose state dict is also saved as NAME.safetensors: vae_mean for
# convert --from-safetensors, the graphs that are not chains for fine-tuning.
SAFETENSORS = ("vae_mean", "residual_ae", "unet_ae")


class MLPAE(nn.Module):
    """64-32-8-32-64, ReLU, sigmoid output."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ConvTransposedAE(nn.Module):
    """Conv s2 encoder, ConvTranspose decoder, on 1×16×16 images."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ConvUpsampleAE(nn.Module):
    """Keras-style: Conv + max pool encoder, nearest Upsample + Conv decoder."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.decoder = nn.Sequential(
            nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(8, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ConvDenseAE(nn.Module):
    """Conv encoder, x.view(x.size(0), -1), dense bottleneck, Unflatten back."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.Tanh())
        self.fc1 = nn.Linear(4 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, 4 * 8 * 8)
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        h = self.conv(x)
        h = torch.relu(self.fc1(h.view(h.size(0), -1)))
        h = torch.relu(self.fc2(h))
        return self.deconv(h.view(h.size(0), 4, 8, 8))


class VAEEncoder(nn.Module):
    """x → (μ, log σ²), 64-32-(4, 4)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(64, 32), nn.ReLU())
        self.mu = nn.Linear(32, 4)
        self.logvar = nn.Linear(32, 4)

    def forward(self, x):
        h = self.hidden(x)
        return self.mu(h), self.logvar(h)


class CVAEDecoder(nn.Module):
    """(z, c) → x̂: the code and a one-hot class, concatenated."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4 + 10, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid())

    def forward(self, z, c):
        return self.net(torch.cat([z, c], dim=1))


class VAEMean(nn.Module):
    """A VAE whose exported graph reconstructs through μ (no sampling):
    64-32-(μ 4, log σ² 4)-32-64."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def forward(self, x):
        mu = self.fc21(torch.relu(self.fc1(x)))
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(mu))))


class ActivationsAE(nn.Module):
    """Every activation the trainer has, in the forms PyTorch exports them."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 12), nn.GELU(), nn.Linear(12, 10), nn.GELU(approximate="tanh"),
                                     nn.Linear(10, 8), nn.SiLU(), nn.Linear(8, 4), nn.ELU(0.5))
        self.decoder = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 10), nn.Softplus(),
                                     nn.Linear(10, 12), nn.Tanh(), nn.Linear(12, 16), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ConvKerasAE(nn.Module):
    """The Keras example's shape on 1×12×12: ceil-mode max pooling, nearest
    upsampling, a valid convolution in the decoder."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(4, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class MLPBatchNormAE(nn.Module):
    """Dense layers with BatchNorm1d (not folded by the exporter)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(20, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Linear(12, 4))
        self.decoder = nn.Sequential(nn.Linear(4, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Linear(12, 20), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class Conv1dAE(nn.Module):
    """Sequences: Conv1d, AvgPool1d, Upsample, ConvTranspose1d."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv1d(2, 4, 5, padding=2), nn.ReLU(), nn.AvgPool1d(2),
                                     nn.Conv1d(4, 4, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(nn.ConvTranspose1d(4, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                                     nn.Upsample(scale_factor=2), nn.Conv1d(4, 2, 5, padding=2))

    def forward(self, x):
        return self.decoder(self.encoder(x))


class TiedAE(nn.Module):
    """Tied weights: the decoder uses the encoder's matrices transposed."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Linear(24, 12)
        self.enc2 = nn.Linear(12, 4)
        self.dec_b1 = nn.Parameter(torch.zeros(12))
        self.dec_b2 = nn.Parameter(torch.zeros(24))

    def forward(self, x):
        h = torch.relu(self.enc2(torch.relu(self.enc1(x))))
        h = torch.relu(nn.functional.linear(h, self.enc2.weight.t(), self.dec_b1))
        return torch.sigmoid(nn.functional.linear(h, self.enc1.weight.t(), self.dec_b2))


class ConvUnflattenAE(nn.Module):
    """nn.Flatten, and a reshape with a constant shape (-1, 4, 4, 4), between
    conv and dense parts. (nn.Unflatten itself does not export with
    PyTorch 1.13's TorchScript exporter at any opset.)"""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 6), nn.ReLU())
        self.fc = nn.Linear(6, 64)
        self.deconv = nn.Sequential(nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        h = torch.relu(self.fc(self.encoder(x)))
        return self.deconv(h.reshape(-1, 4, 4, 4))


class ResidualAE(nn.Module):
    """Not a chain: an MLP with a residual skip, 16-12-(12 + 12)-4-12-16.
    The second hidden layer's output is added to its input (Add of an
    earlier tensor) before the code."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 12)
        self.fc2 = nn.Linear(12, 12)
        self.code = nn.Linear(12, 4)
        self.decoder = nn.Sequential(nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 16), nn.Sigmoid())

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        h = torch.relu(self.fc2(h)) + h
        return self.decoder(self.code(h))


class UNetAE(nn.Module):
    """Not a chain: a U-Net-style conv autoencoder on 1×8×8 whose decoder
    concatenates its 8×8 features with the encoder's (the Concat skip)."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.dec1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(8, 4, 3, padding=1), nn.ReLU())
        self.out = nn.Sequential(nn.Conv2d(8, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, x):
        e1 = self.enc1(x)
        d1 = self.dec1(self.enc2(e1))
        return self.out(torch.cat([d1, e1], dim=1))


def one_hot(labels, n=10):
    out = np.zeros((len(labels), n), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out


def models():
    """Yields (name, module, input names, output names, inputs of batch BATCH)."""
    g = torch.Generator().manual_seed(1234)

    def uniform(*shape):
        return torch.rand(*shape, generator=g)

    yield "mlp_ae", MLPAE(), ["x"], ["y"], [uniform(BATCH, 64)]
    yield "conv_transposed_ae", ConvTransposedAE(), ["x"], ["y"], [uniform(BATCH, 1, 16, 16)]
    yield "conv_upsample_ae", ConvUpsampleAE(), ["x"], ["y"], [uniform(BATCH, 1, 16, 16)]
    yield "conv_dense_ae", ConvDenseAE(), ["x"], ["y"], [uniform(BATCH, 1, 16, 16)]
    yield "vae_encoder", VAEEncoder(), ["x"], ["mu", "logvar"], [uniform(BATCH, 64)]
    labels = torch.randint(0, 10, (BATCH,), generator=g).numpy()
    yield ("cvae_decoder", CVAEDecoder(), ["z", "c"], ["y"],
           [torch.randn(BATCH, 4, generator=g), torch.from_numpy(one_hot(labels))])
    yield "vae_mean", VAEMean(), ["x"], ["y"], [uniform(BATCH, 64)]
    yield "activations_ae", ActivationsAE(), ["x"], ["y"], [uniform(BATCH, 16) * 4 - 2]
    yield "conv_keras_ae", ConvKerasAE(), ["x"], ["y"], [uniform(BATCH, 1, 12, 12)]
    yield "mlp_batchnorm_ae", MLPBatchNormAE(), ["x"], ["y"], [uniform(BATCH, 20)]
    yield "conv1d_ae", Conv1dAE(), ["x"], ["y"], [uniform(BATCH, 2, 24)]
    yield "tied_ae", TiedAE(), ["x"], ["y"], [uniform(BATCH, 24)]
    yield "conv_unflatten_ae", ConvUnflattenAE(), ["x"], ["y"], [uniform(BATCH, 1, 8, 8)]
    yield "residual_ae", ResidualAE(), ["x"], ["y"], [uniform(BATCH, 16)]
    yield "unet_ae", UNetAE(), ["x"], ["y"], [uniform(BATCH, 1, 8, 8)]


def save_safetensors(state_dict, path):
    """Writes a state dict as safetensors (8-byte header length, JSON
    header, raw little-endian data), in the state dict's order, the way the
    safetensors package's save_file lays it out."""
    header, blobs, offset = {}, [], 0
    for k, v in state_dict.items():
        b = v.detach().contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    manifest = {"torch": torch.__version__.split("+")[0], "onnx": onnx.__version__,
                "opsets": list(OPSETS), "models": []}
    for name, module, in_names, out_names, inputs in models():
        module.eval()
        # Deterministic weights, different per model, independent of order.
        with torch.no_grad():
            gen = torch.Generator().manual_seed(sum(map(ord, name)))
            for p in module.parameters():
                p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 2 / max(1, p.shape[-1]) ** 0.5)
            for mod in module.modules():
                if isinstance(mod, nn.BatchNorm1d):
                    mod.running_mean.copy_(torch.rand(mod.num_features, generator=gen) - 0.5)
                    mod.running_var.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
            outputs = module(*inputs)
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        entry = {"name": name, "inputs": [], "outputs": [], "files": {}}
        for i, (n, t) in enumerate(zip(in_names, inputs)):
            f = f"{name}.in{i}.npy"
            np.save(os.path.join(a.out, f), t.numpy().astype(np.float32))
            entry["inputs"].append({"name": n, "file": f, "shape": list(t.shape)})
        for j, (n, t) in enumerate(zip(out_names, outputs)):
            f = f"{name}.out{j}.npy"
            np.save(os.path.join(a.out, f), t.numpy().astype(np.float32))
            entry["outputs"].append({"name": n, "file": f, "shape": list(t.shape)})
        trace_inputs = tuple(t[:2] for t in inputs)
        axes = {n: {0: "batch"} for n in in_names + out_names}
        for opset in OPSETS:
            f = f"{name}.opset{opset}.onnx"
            path = os.path.join(a.out, f)
            try:
                torch.onnx.export(module, trace_inputs, path, input_names=in_names,
                                  output_names=out_names, dynamic_axes=axes, opset_version=opset,
                                  do_constant_folding=True)
            except torch.onnx.errors.UnsupportedOperatorError as e:
                # nn.Unflatten, for one, exports only from opset 13.
                print(f"{name}: no export at opset {opset}: {str(e).split('.')[0]}")
                if os.path.exists(path):
                    os.remove(path)
                continue
            onnx.checker.check_model(onnx.load(path), full_check=True)
            entry["files"][str(opset)] = f
        if name in SAFETENSORS:
            save_safetensors(module.state_dict(), os.path.join(a.out, f"{name}.safetensors"))
        manifest["models"].append(entry)
        print(f"{name}: opsets {', '.join(entry['files'])}")
    with open(os.path.join(a.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
