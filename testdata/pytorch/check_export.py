"""Runs the forward pass of packages written by aebridge export --pytorch
and compares it with the outputs the Go graph computed, for the Go tests
(export/pytorch): one process for many packages.

    /usr/bin/python3 testdata/pytorch/check_export.py SPEC.json

SPEC.json is a list of {"name", "dir", "inputs": [.npy], "types": [numpy
dtype of each input, float32 by default]}: each package's
model.py is imported from dir, its Model built by load() (model.safetensors)
and run in evaluation mode on the inputs; the tensors forward returns (the
graph's outputs, then a VAE's μ and log σ²) are written to dir/got0.npy,
got1.npy, … for the Go test to compare with the Go graph's. One JSON line a
package on stdout: {"name", "ok", "returned", "error", "state_dict_keys"}.
"""
import importlib.util
import json
import sys
import traceback

import numpy as np
import torch


def check(case):
    spec = importlib.util.spec_from_file_location("model_" + case["name"].replace("-", "_"), case["dir"] + "/model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    m = mod.load()
    m.eval()
    types = case.get("types") or ["float32"] * len(case["inputs"])
    inputs = [torch.from_numpy(np.load(f).astype(t)) for f, t in zip(case["inputs"], types)]
    with torch.no_grad():
        got = m(*inputs)
    if not isinstance(got, tuple):
        got = (got,)
    for i, g in enumerate(got):
        np.save(f"{case['dir']}/got{i}.npy", g.numpy().astype(np.float32))
    return {"ok": True, "returned": len(got), "state_dict_keys": sorted(m.state_dict().keys()), "torch": torch.__version__}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for case in cases:
        try:
            r = check(case)
        except Exception:
            r = {"ok": False, "error": traceback.format_exc()}
        r["name"] = case["name"]
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
