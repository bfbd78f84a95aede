"""Prints PyTorch's default initialisation of layers of several shapes, for
the Go test of trainer's "pytorch" scheme (trainer/init_test.go):

    /usr/bin/python3 testdata/pytorch/make_init_fixture.py > testdata/pytorch/init.json

For each layer and parameter: its shape, the bound b of U(-b, b) that
PyTorch's reset_parameters uses (kaiming_uniform_ with a = sqrt(5) for
weights, 1/sqrt(fan_in) for biases, computed with torch's own fan-in and
gain functions), and what `resets` calls of reset_parameters drew: the
largest |w| and the mean of w^2 over all draws (n values).
"""
import json
import math

import torch
from torch import nn

torch.manual_seed(0)
layers = [
    ({"type": "dense", "in": 784, "out": 64}, nn.Linear(784, 64), 4),
    ({"type": "dense", "in": 5, "out": 3}, nn.Linear(5, 3), 2000),
    ({"type": "conv2d", "in": 3, "out": 16, "kernel": [3, 3]}, nn.Conv2d(3, 16, 3), 200),
    ({"type": "conv2d", "in": 4, "out": 6, "kernel": [5, 3], "groups": 2}, nn.Conv2d(4, 6, (5, 3), groups=2), 200),
    ({"type": "conv1d", "in": 2, "out": 8, "kernel": [7]}, nn.Conv1d(2, 8, 7), 200),
    ({"type": "conv_transpose2d", "in": 8, "out": 4, "kernel": [4, 4]}, nn.ConvTranspose2d(8, 4, 4), 200),
    ({"type": "conv_transpose1d", "in": 6, "out": 9, "kernel": [3], "groups": 3}, nn.ConvTranspose1d(6, 9, 3, groups=3), 400),
    ({"type": "batchnorm", "in": 5}, nn.BatchNorm1d(5), 1),
]
cases = []
for spec, mod, resets in layers:
    params = {}
    for name, p in mod.named_parameters():
        if name == "weight" and p.dim() > 1:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(p)
            gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
            bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)
        elif name == "bias" and mod.weight.dim() > 1:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(mod.weight)
            bound = 1 / math.sqrt(fan_in)
        else:
            bound = None  # batch norm: constants
        params[name] = {"shape": list(p.shape), "bound": bound, "max_abs": 0.0, "sum_sq": 0.0, "n": 0, "values": None}
    for _ in range(resets):
        mod.reset_parameters()
        for name, p in mod.named_parameters():
            d = p.detach().double().flatten()
            e = params[name]
            e["max_abs"] = max(e["max_abs"], d.abs().max().item())
            e["sum_sq"] += (d * d).sum().item()
            e["n"] += d.numel()
            if e["bound"] is None:
                e["values"] = d.tolist()
    for e in params.values():
        e["mean_sq"] = e.pop("sum_sq") / e["n"]
        if e["values"] is None:
            del e["values"]
    cases.append({"layer": spec, "params": params})
print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
