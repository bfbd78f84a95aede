"""The objectives of aebridge's autoencoder families, in PyTorch, for the
Go tests to check the trainer's losses and gradients against:

    /usr/bin/python3 testdata/pytorch/families.py < cases.json > results.json

The case gives the family, the MLP (input, hidden sizes, latent, hidden
activation; a sigmoid output), its weights under the state-dict names
aebridge uses (encoder.0.weight, mu.weight, logvar.weight, decoder.0.weight,
…), a batch x, the loss (bce or mse, summed over a sample's elements) and
the family's noise. The result is the objective averaged over the batch
and its gradient with respect to every weight, in float64.

iwae (Burda et al. 2016; pythae's IWAE): K samples zₖ = μ + σ⊙εₖ per input,
with ε given as (batch·K, latent), sample k of input n in row n·K + k;
    log wₖ = −recon(x, dec(zₖ)) + ½Σ(log σ² + ε²) − ½Σz²
and the objective −(1/N)Σₙ [logsumexp_k log wₖ − log K].

wae (Tolstikhin et al. 2018; pythae's WAE_MMD): a deterministic code z
(encoder.{2·len(hidden)} is its linear layer), prior draws p given as eps,
(batch, latent), and the objective (1/N)Σₙ recon + λ·MMD(z, p) with
pythae's estimate and inverse multiquadric kernel (scales 0.1 … 10,
C = 2·latent·σ²·scale).

rae (Ghosh et al. 2020; pythae's RAE_L2): a deterministic code z and the
objective (1/N)Σₙ [recon + β·½‖zₙ‖²] + ½λ·Σ‖θ_decoder‖².

infovae (Zhao et al. 2019; pythae's INFOVAE_MMD): z = μ + σ⊙ε (eps given),
prior draws given as prior, and the objective
(1/N)Σₙ [recon + (1 − α)·KLₙ] + (α + λ − 1)·MMD(z, p) with one kernel scale.

With --train DATA_DIR it trains instead, for scripts/compare-families.sh: the
family on a 784-H-Z MLP (ReLU, sigmoid output, BCE) on Fashion-MNIST with
Adam, and prints the test bound per sample as JSON:

    /usr/bin/python3 testdata/pytorch/families.py --train DATA_DIR --family iwae --samples 5 [--epochs 3] [--limit N]
"""
import json
import math
import sys

import torch
import torch.nn.functional as F


def build(case):
    w = {k: torch.tensor(v["data"], dtype=torch.float64).reshape(v["shape"]).requires_grad_() for k, v in case["weights"].items()}
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[case["activation"]]
    n_hidden = len(case["hidden"])

    def encode(x):
        h = x
        for i in range(n_hidden):
            h = act(F.linear(h, w[f"encoder.{2 * i}.weight"], w[f"encoder.{2 * i}.bias"]))
        return F.linear(h, w["mu.weight"], w["mu.bias"]), F.linear(h, w["logvar.weight"], w["logvar.bias"])

    def code(x):
        h = x
        for i in range(n_hidden):
            h = act(F.linear(h, w[f"encoder.{2 * i}.weight"], w[f"encoder.{2 * i}.bias"]))
        i = n_hidden
        return F.linear(h, w[f"encoder.{2 * i}.weight"], w[f"encoder.{2 * i}.bias"])

    encode.code = code

    def decode(z):
        h = z
        for i in range(n_hidden):
            h = act(F.linear(h, w[f"decoder.{2 * i}.weight"], w[f"decoder.{2 * i}.bias"]))
        i = n_hidden
        return torch.sigmoid(F.linear(h, w[f"decoder.{2 * i}.weight"], w[f"decoder.{2 * i}.bias"]))

    return w, encode, decode


def recon(case, y, x):
    if case["loss"] == "bce":
        return F.binary_cross_entropy(y, x, reduction="none").sum(dim=-1)
    return ((y - x) ** 2).sum(dim=-1)


def iwae(case, encode, decode, x):
    eps = torch.tensor(case["eps"], dtype=torch.float64).reshape(x.shape[0], case["samples"], -1)
    return iwae_eps(case, encode, decode, x, eps)


def iwae_eps(case, encode, decode, x, eps):
    k = case["samples"]
    mu, logvar = encode(x)
    mu, logvar = mu.unsqueeze(1), logvar.unsqueeze(1)
    z = mu + eps * torch.exp(0.5 * logvar)
    y = decode(z)
    log_w = -recon(case, y, x.unsqueeze(1).expand_as(y)) + 0.5 * (logvar + eps ** 2).sum(-1) - 0.5 * (z ** 2).sum(-1)
    bound = torch.logsumexp(log_w, dim=1) - math.log(k)
    return -bound.mean()


def run(case):
    w, encode, decode = build(case)
    x = torch.tensor(case["x"], dtype=torch.float64).reshape(-1, case["input"])
    if case["family"] == "rae":
        objective = rae(case, encode, decode, x, w)
    else:
        objective = {"iwae": iwae, "wae": wae, "infovae": infovae}[case["family"]](case, encode, decode, x)
    objective.backward()
    return {"objective": objective.item(), "grads": {k: v.grad.reshape(-1).tolist() for k, v in w.items()}}


def train(a):
    import os
    import time

    import numpy as np
    import torch.nn as nn

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    load = lambda part: torch.from_numpy(
        np.load(os.path.join(a.data, "fashion-mnist", f"{part}-images.npy")).reshape(-1, 784).astype(np.float32) / 255)
    x_train, x_test = load("train"), load("test")
    if a.limit:
        x_train = x_train[:a.limit]
    enc, mu, lv = nn.Linear(784, a.hidden), nn.Linear(a.hidden, a.latent), nn.Linear(a.hidden, a.latent)
    dec1, dec2 = nn.Linear(a.latent, a.hidden), nn.Linear(a.hidden, 784)
    params = [p for m in (enc, mu, lv, dec1, dec2) for p in m.parameters()]
    encode = lambda x: (mu(torch.relu(enc(x))), lv(torch.relu(enc(x))))
    decode = lambda z: torch.sigmoid(dec2(torch.relu(dec1(z))))
    case = {"samples": a.samples, "loss": "bce"}

    def objective(x):
        eps = torch.randn(x.shape[0], a.samples, a.latent)
        return iwae_eps(case, encode, decode, x, eps)

    opt = torch.optim.Adam(params, lr=a.lr)
    start = time.time()
    for _ in range(a.epochs):
        for idx in torch.randperm(len(x_train)).split(a.batch):
            opt.zero_grad()
            objective(x_train[idx]).backward()
            opt.step()
    seconds = time.time() - start
    with torch.no_grad():
        total = sum(objective(x_test[i:i + 256]).item() * len(x_test[i:i + 256]) for i in range(0, len(x_test), 256))
    json.dump({"torch": torch.__version__, "family": a.family, "samples": a.samples,
               "test_bound": -total / len(x_test), "seconds": seconds}, sys.stdout)


SCALES = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]


def imq(a, b, sigma):
    base = 2.0 * a.shape[1] * sigma ** 2
    r2 = ((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(-1)
    return sum(s * base / (s * base + r2) for s in SCALES)


def mmd(z, p, sigma):
    n = z.shape[0]
    kz, kp, kc = imq(z, z, sigma), imq(p, p, sigma), imq(z, p, sigma)
    return (kz.sum() - kz.diag().sum()) / (n - 1) + (kp.sum() - kp.diag().sum()) / (n - 1) - 2 * kc.sum() / n


def wae(case, encode, decode, x):
    z = encode.code(x)
    p = torch.tensor(case["eps"], dtype=torch.float64).reshape(z.shape)
    return recon(case, decode(z), x).mean() + case["mmd"] * mmd(z, p, case.get("bandwidth") or 1.0)


def infovae(case, encode, decode, x):
    mu, logvar = encode(x)
    eps = torch.tensor(case["eps"], dtype=torch.float64).reshape(mu.shape)
    p = torch.tensor(case["prior"], dtype=torch.float64).reshape(mu.shape)
    z = mu + eps * torch.exp(0.5 * logvar)
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)
    a, lam = case.get("info_alpha", 0.0), case["info_lambda"]
    sigma = case.get("bandwidth") or 1.0
    base = 2.0 * z.shape[1] * sigma ** 2
    k = lambda u, v: base / (base + ((u.unsqueeze(1) - v.unsqueeze(0)) ** 2).sum(-1))
    n = z.shape[0]
    kz, kp, kc = k(z, z), k(p, p), k(z, p)
    mmd_ = (kz.sum() - kz.diag().sum()) / (n - 1) + (kp.sum() - kp.diag().sum()) / (n - 1) - 2 * kc.sum() / n
    return (recon(case, decode(z), x) + (1 - a) * kld).mean() + (a + lam - 1) * mmd_


def rae(case, encode, decode, x, w):
    z = encode.code(x)
    objective = (recon(case, decode(z), x) + case["embedding"] * 0.5 * (z ** 2).sum(-1)).mean()
    decay = sum((v ** 2).sum() for k, v in w.items() if k.startswith("decoder."))
    return objective + 0.5 * case.get("decoder_decay", 0.0) * decay


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", dest="data")
    ap.add_argument("--family", default="iwae", choices=["iwae"])
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=400)
    ap.add_argument("--latent", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.data:
        train(a)
        return
    # A list of cases, answered in order: one process for all of them.
    json.dump({"torch": torch.__version__, "results": [run(c) for c in json.load(sys.stdin)]}, sys.stdout)


if __name__ == "__main__":
    main()
