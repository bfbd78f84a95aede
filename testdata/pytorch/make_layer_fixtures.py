"""PyTorch references for the trainer's convolutional layers: for each case,
a layer spec in aebridge's form, the input, the weights (state-dict names),
and PyTorch's output, as .npy files under OUT and a cases.json index.

    /usr/bin/python3 testdata/pytorch/make_layer_fixtures.py --out testdata/pytorch/layers
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(7)
    cases = []

    def save(name, arr):
        f = f"{name}.npy"
        np.save(os.path.join(a.out, f), np.asarray(arr, dtype=np.float32))
        return f

    def case(name, spec, x, module=None, forward=None, extra=None):
        forward = forward or module
        with torch.no_grad():
            y = forward(x)
        entry = {"name": name, "spec": spec, "input": save(f"{name}.x", x.numpy()),
                 "output": save(f"{name}.y", y.numpy()), "tensors": {}}
        if module is not None:
            for k, v in module.state_dict().items():
                entry["tensors"][k] = save(f"{name}.{k}", v.numpy().astype(np.float32))
        entry.update(extra or {})
        cases.append(entry)

    r = lambda *s: torch.randn(*s)

    m = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    case("conv2d_k3_s2_p1", {"type": "conv2d", "in": 3, "out": 4, "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1]}, r(2, 3, 9, 8), m)

    m = nn.Conv2d(4, 6, (3, 2), stride=(1, 2), dilation=(2, 1), groups=2)
    # Asymmetric padding: top 2, left 1, bottom 1, right 0 (F.pad takes left, right, top, bottom).
    case("conv2d_dilated_grouped_asymmetric", {"type": "conv2d", "in": 4, "out": 6, "groups": 2, "kernel": [3, 2], "stride": [1, 2],
                                                "dilation": [2, 1], "padding": [2, 1, 1, 0]},
         r(2, 4, 7, 9), m, lambda x: m(F.pad(x, (1, 0, 2, 1))))

    m = nn.Conv1d(2, 3, 7, stride=2, padding=3)
    case("conv1d_k7_s2_p3", {"type": "conv1d", "in": 2, "out": 3, "kernel": [7], "stride": [2], "padding": [3, 3]}, r(2, 2, 20), m)

    m = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
    case("conv_transpose2d_k3_s2_p1_op1", {"type": "conv_transpose2d", "in": 4, "out": 3, "kernel": [3, 3], "stride": [2, 2],
                                           "padding": [1, 1, 1, 1], "output_padding": [1, 1]}, r(2, 4, 5, 6), m)

    m = nn.ConvTranspose2d(4, 6, 3, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2, output_padding=(1, 0))
    case("conv_transpose2d_grouped_dilated", {"type": "conv_transpose2d", "in": 4, "out": 6, "groups": 2, "kernel": [3, 3], "stride": [2, 1],
                                              "dilation": [1, 2], "padding": [1, 2, 1, 2], "output_padding": [1, 0]}, r(2, 4, 4, 5), m)

    m = nn.ConvTranspose1d(3, 2, 7, stride=2, padding=3, output_padding=1)
    case("conv_transpose1d_k7_s2_p3_op1", {"type": "conv_transpose1d", "in": 3, "out": 2, "kernel": [7], "stride": [2], "padding": [3, 3],
                                           "output_padding": [1]}, r(2, 3, 10), m)

    for name, dims, k, s, p, shape in [("maxpool2d_k2_s2", 2, 2, 2, 0, (2, 3, 8, 7)), ("maxpool2d_k3_s2_p1", 2, 3, 2, 1, (2, 2, 7, 7)),
                                       ("maxpool1d_k3_s2_p1", 1, 3, 2, 1, (2, 2, 11))]:
        pool = (nn.MaxPool2d if dims == 2 else nn.MaxPool1d)(k, s, p, return_indices=True)
        unpool = (nn.MaxUnpool2d if dims == 2 else nn.MaxUnpool1d)(k, s, p)
        x = r(*shape)
        with torch.no_grad():
            y, idx = pool(x)
            back = unpool(y, idx, output_size=x.shape[2:])
        spec = {"type": f"maxpool{dims}d", "kernel": [k] * dims, "stride": [s] * dims, "padding": [p] * (2 * dims)}
        case(name, spec, x, forward=lambda t, pool=pool: pool(t)[0],
             extra={"indices": save(f"{name}.indices", idx.numpy()), "unpooled": save(f"{name}.unpooled", back.numpy())})

    for include in (True, False):
        m = nn.AvgPool2d(3, 2, 1, count_include_pad=include)
        case(f"avgpool2d_k3_s2_p1_include_pad_{str(include).lower()}",
             {"type": "avgpool2d", "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1], "count_include_pad": include}, r(2, 2, 7, 6), m)

    m = nn.Upsample(scale_factor=2, mode="nearest")
    case("upsample2d_x2", {"type": "upsample2d", "scale": [2, 2]}, r(2, 3, 4, 5), m)
    m = nn.Upsample(scale_factor=3, mode="nearest")
    case("upsample1d_x3", {"type": "upsample1d", "scale": [3]}, r(2, 2, 5), m)

    for name, shape in (("batchnorm2d", (4, 3, 5, 6)), ("batchnorm1d_dense", (6, 5))):
        c = shape[1]
        bn = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(c)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(c) + 0.5)
            bn.bias.copy_(torch.randn(c))
        before = {k: save(f"{name}.before.{k}", v.numpy().astype(np.float32)) for k, v in bn.state_dict().items()}
        x = r(*shape) * 2 + 1
        bn.train()
        with torch.no_grad():
            y_train = bn(x)
        after = {k: save(f"{name}.after.{k}", v.numpy().astype(np.float32)) for k, v in bn.state_dict().items()}
        bn.eval()
        x2 = r(*shape)
        with torch.no_grad():
            y_eval = bn(x2)
        cases.append({"name": name, "spec": {"type": "batchnorm", "in": c, "momentum": 0.1, "eps": 1e-5},
                      "input": save(f"{name}.x", x.numpy()), "output": save(f"{name}.y", y_train.numpy()),
                      "tensors": before, "after": after,
                      "eval_input": save(f"{name}.x2", x2.numpy()), "eval_output": save(f"{name}.y2", y_eval.numpy())})

    with open(os.path.join(a.out, "cases.json"), "w") as fh:
        json.dump({"torch": torch.__version__, "cases": cases}, fh, indent=1)
        fh.write("\n")
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
