"""Writes logistic.json: a small 3-class problem and the multinomial
logistic regression PyTorch fits to it, the reference for
codes.FitLogistic.

The objective is codes.FitLogistic's: the mean cross-entropy of
softmax(x·Wᵀ + b) plus (λ/2)‖W‖²_F, minimised in float64 by
torch.optim.LBFGS (strong Wolfe line search) until the gradient vanishes.
For λ > 0 the minimum is unique, so any optimizer must find the same W, b.

Run: /usr/bin/python3 codes/testdata/make_logistic_fixture.py > codes/testdata/logistic.json
"""
import json

import torch

torch.manual_seed(0)
n_per, d, k, lam = 8, 3, 3, 0.05
centres = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]], dtype=torch.float64)
x = torch.cat([centres[c] + torch.randn(n_per, d, dtype=torch.float64) for c in range(k)])
x = x.float().double()  # values exactly representable in float32, as Go reads them
y = torch.arange(k).repeat_interleave(n_per)

W = torch.zeros(k, d, dtype=torch.float64, requires_grad=True)
b = torch.zeros(k, dtype=torch.float64, requires_grad=True)
opt = torch.optim.LBFGS([W, b], lr=1, max_iter=1000, tolerance_grad=1e-12, tolerance_change=1e-15, history_size=20, line_search_fn="strong_wolfe")


def objective():
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(x @ W.T + b, y) + lam / 2 * (W ** 2).sum()
    loss.backward()
    return loss


for _ in range(20):
    opt.step(objective)
loss = objective()
grad = max(W.grad.abs().max().item(), b.grad.abs().max().item())
assert grad < 1e-8, grad
# Query points and the classes the fitted model gives them.
q = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.2, 0.0], [0.2, 0.1, 0.0]], dtype=torch.float64)
json.dump({
    "x": x.flatten().tolist(), "d": d, "labels": y.tolist(), "l2": lam,
    "W": W.detach().flatten().tolist(), "b": b.detach().tolist(), "loss": loss.item(),
    "train_accuracy": ((x @ W.T + b).argmax(1) == y).double().mean().item(),
    "queries": q.flatten().tolist(), "query_classes": (q @ W.T + b).argmax(1).tolist(),
}, __import__("sys").stdout, indent=1)
