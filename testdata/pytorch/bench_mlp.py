"""Trains the benchmark MLP autoencoder for one epoch in PyTorch and prints
the epoch's wall time in seconds (data loading excluded), as JSON:

    /usr/bin/python3 testdata/pytorch/bench_mlp.py DATA_DIR [--threads 2] [--epochs 1]

Model: 784-512-256-32 mirrored, ReLU, linear code, sigmoid output, MSE,
Adam 1e-3, batch 128, shuffled, 60,000 Fashion-MNIST training images —
the same as `aebridge train --data fashion-mnist --hidden 512,256
--latent 32 --epochs 1 --batch 128 --val-split 0`.
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
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x = np.load(os.path.join(a.data, "fashion-mnist", "train-images.npy")).reshape(-1, 784)
    x = torch.from_numpy(x.astype(np.float32) / 255)
    model = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 32),
        nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    times, losses = [], []
    for _ in range(a.epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), 128):
            b = x[perm[i:i + 128]]
            opt.zero_grad()
            loss = loss_fn(model(b), b)
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        times.append(time.perf_counter() - start)
        losses.append(total / len(x))
    print(json.dumps({"seconds": times, "train_loss": losses, "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
