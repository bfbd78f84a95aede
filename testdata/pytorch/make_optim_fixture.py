"""Runs PyTorch's optimizers on fixed gradients and saves the parameters
after each step, for the Go optimizer tests (the parameter is a weight,
which aebridge's L2 decay applies to):

    /usr/bin/python3 testdata/pytorch/make_optim_fixture.py > testdata/pytorch/optim.json
"""
import json

import torch

torch.manual_seed(0)
p0 = torch.randn(6)
grads = [torch.randn(6) for _ in range(5)]
configs = [
    {"name": "sgd", "lr": 0.1},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True},
    {"name": "adam", "lr": 0.01},
    {"name": "adam", "lr": 0.003, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6},
    {"name": "adamw", "lr": 0.01, "weight_decay": 0.1},
    # aebridge's weight_decay λ for sgd and adam is the L2 term λ‖W‖² on
    # the weights, whose gradient 2λW PyTorch's weight_decay = 2λ adds.
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
    {"name": "adam", "lr": 0.01, "weight_decay": 0.05},
]
cases = []
for c in configs:
    p = torch.nn.Parameter(p0.clone())
    if c["name"] == "sgd":
        opt = torch.optim.SGD([p], lr=c["lr"], momentum=c.get("momentum", 0), nesterov=c.get("nesterov", False), weight_decay=2 * c.get("weight_decay", 0))
    else:
        cls = torch.optim.Adam if c["name"] == "adam" else torch.optim.AdamW
        scale = 1 if c["name"] == "adamw" else 2
        kw = {"weight_decay": scale * c["weight_decay"]} if "weight_decay" in c else {}
        opt = cls([p], lr=c["lr"], betas=(c.get("beta1", 0.9), c.get("beta2", 0.999)), eps=c.get("eps", 1e-8), **kw)
    steps = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        steps.append(p.detach().tolist())
    cases.append({"config": c, "steps": steps})
print(json.dumps({"torch": torch.__version__, "p0": p0.tolist(), "grads": [g.tolist() for g in grads], "cases": cases}, indent=1))
