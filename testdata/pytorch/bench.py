"""Trains a benchmark autoencoder for one epoch in PyTorch and prints the
epoch's wall time in seconds (data loading excluded), as JSON:

    /usr/bin/python3 testdata/pytorch/bench_mlp.py DATA_DIR [--model mlp|conv] [--threads 2] [--epochs 1]

mlp: 784-512-256-32 mirrored, ReLU, linear code, sigmoid output, MSE —
  `aebridge train --data fashion-mnist --hidden 512,256 --latent 32`.
conv: the Keras example's convolutional autoencoder: Conv 16-8-8, kernel 3,
  "same" padding, 2×2 max pooling ("same": 28→14→7→4), decoder of
  convolutions and nearest upsampling (4→8→16→14 (valid)→28), sigmoid, BCE —
  `aebridge train --variant conv --channels 16,8,8 --kernel 3 --loss bce`.
Both: Adam 1e-3, batch 128, shuffled, the 60,000 Fashion-MNIST training
images, --epochs 1 --batch 128 --val-split 0 on the aebridge side.
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
    ap.add_argument("--model", choices=["mlp", "conv"], default="mlp")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x = np.load(os.path.join(a.data, "fashion-mnist", "train-images.npy")).reshape(-1, 784)
    x = torch.from_numpy(x.astype(np.float32) / 255)
    if a.model == "mlp":
        model = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 32),
            nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid())
        loss_fn = nn.MSELoss()
    else:
        x = x.reshape(-1, 1, 28, 28)
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(16, 1, 3, padding=1), nn.Sigmoid())
        loss_fn = nn.BCELoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
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
