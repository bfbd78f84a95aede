"""Trains a regularised autoencoder in PyTorch with the objective aebridge
uses, and prints its test loss as JSON, for scripts/compare-regularized.sh:

    /usr/bin/python3 testdata/pytorch/train_regularized.py DATA_DIR VARIANT [options]

VARIANT is ae, sparse-l1, denoising or contractive. The objective is the
mean squared error per element plus, averaged over the batch's samples:
  sparse-l1    λ·Σⱼ|hⱼ|                      (code h after ReLU)
  contractive  λ·Σᵢ σ′(aᵢ)²·Σₘ W²ᵢₘ          (one sigmoid layer, closed form)
and, for denoising, the input masked with probability q while the loss
compares with the clean input. The test loss is the MSE per element on the
clean test images. --init pytorch (the default) leaves PyTorch's own
initialisation, as aebridge's default does; --init by-activation applies
aebridge's other scheme to both.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("variant", choices=["ae", "sparse-l1", "denoising", "contractive"])
    ap.add_argument("--init", choices=["pytorch", "by-activation"], default="pytorch")
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--l1", type=float, default=1e-3)
    ap.add_argument("--noise-level", type=float, default=0.3)
    ap.add_argument("--contractive", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    load = lambda part: torch.from_numpy(
        np.load(os.path.join(a.data, "fashion-mnist", f"{part}-images.npy")).reshape(-1, 784).astype(np.float32) / 255)
    train, test = load("train")[:a.limit], load("test")

    if a.variant == "contractive":
        enc = nn.Linear(784, a.latent)
        encoder = nn.Sequential(enc, nn.Sigmoid())
        decoder = nn.Sequential(nn.Linear(a.latent, 784), nn.Sigmoid())
    else:
        code = nn.ReLU() if a.variant == "sparse-l1" else nn.Identity()
        encoder = nn.Sequential(nn.Linear(784, a.hidden), nn.ReLU(), nn.Linear(a.hidden, a.latent), code)
        decoder = nn.Sequential(nn.Linear(a.latent, a.hidden), nn.ReLU(), nn.Linear(a.hidden, 784), nn.Sigmoid())
    # aebridge's by-activation scheme: He uniform before a ReLU, Xavier
    # uniform otherwise, zero biases (pytorch: nn.Linear's own).
    for seq in (encoder, decoder) if a.init == "by-activation" else ():
        layers = list(seq)
        for i, layer in enumerate(layers):
            if isinstance(layer, nn.Linear):
                nxt = layers[i + 1] if i + 1 < len(layers) else None
                fan_in, fan_out = layer.in_features, layer.out_features
                if isinstance(nxt, nn.ReLU):
                    bound = (2 ** 0.5) * (3 / fan_in) ** 0.5
                else:
                    bound = (6 / (fan_in + fan_out)) ** 0.5
                with torch.no_grad():
                    layer.weight.uniform_(-bound, bound)
                    layer.bias.zero_()
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)
    mse = nn.MSELoss()
    start = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(len(train))
        for i in range(0, len(train), a.batch):
            x = train[perm[i:i + a.batch]]
            inp = x
            if a.variant == "denoising":
                inp = x * (torch.rand_like(x) >= a.noise_level).float()
            h = encoder(inp)
            loss = mse(decoder(h), x)
            if a.variant == "sparse-l1":
                loss = loss + a.l1 * h.abs().sum(1).mean()
            elif a.variant == "contractive":
                d = h * (1 - h)
                loss = loss + a.contractive * ((d ** 2) * (enc.weight ** 2).sum(1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        test_loss = mse(decoder(encoder(test)), test).item()
    print(json.dumps({"variant": a.variant, "test_loss": test_loss, "seconds": seconds}))


if __name__ == "__main__":
    main()
