"""The PyTorch examples' VAE (github.com/pytorch/examples, vae/main.py):
784-400-20, ReLU, sigmoid output, loss = BCE summed over pixels + KL,
Adam 1e-3, batch 128, shuffled; the test loss is the summed loss over the
test set divided by its size, i.e. −ELBO per sample (z sampled, as the
example does). Trained here on the Fashion-MNIST cache that aebridge uses,
and printed as JSON:

    /usr/bin/python3 testdata/pytorch/vae_example.py DATA_DIR [--epochs 10] [--limit N] [--seed 1]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    load = lambda part: torch.from_numpy(
        np.load(os.path.join(a.data, "fashion-mnist", f"{part}-images.npy")).reshape(-1, 784).astype(np.float32) / 255)
    train, test = load("train"), load("test")
    if a.limit:
        train = train[:a.limit]
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(len(train))
        for i in range(0, len(train), 128):
            x = train[perm[i:i + 128]]
            opt.zero_grad()
            recon, mu, logvar = model(x)
            loss = loss_function(recon, x, mu, logvar)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(test), 128):
            x = test[i:i + 128]
            recon, mu, logvar = model(x)
            total += loss_function(recon, x, mu, logvar).item()
    print(json.dumps({"test_loss": total / len(test), "test_elbo": -total / len(test), "seconds": seconds, "epochs": a.epochs}))


if __name__ == "__main__":
    main()
