#!/usr/bin/env bash
# The end-to-end demo `make demo` runs after setup and build:
# inspect a PyTorch-exported autoencoder, run it through ONNX Runtime from Go,
# and compare the result with PyTorch's own output.
set -euo pipefail
bin=${1:?usage: demo.sh path/to/aebridge}
fx=testdata/pytorch
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== aebridge doctor"
"$bin" doctor
for model in conv_upsample_ae.opset13 vae_encoder.opset17; do
  name=${model%%.*}
  echo
  echo "== aebridge inspect $fx/$model.onnx"
  "$bin" inspect "$fx/$model.onnx"
  echo
  echo "== aebridge run $fx/$model.onnx --input $fx/$name.in0.npy --out-dir OUT"
  "$bin" run "$fx/$model.onnx" --input "$fx/$name.in0.npy" --out-dir "$out/$name"
done
echo
echo "== ONNX Runtime (through aebridge) against PyTorch's outputs"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
import numpy as np
out = sys.argv[1]
man = json.load(open("testdata/pytorch/manifest.json"))
for m in man["models"]:
    if m["name"] not in ("conv_upsample_ae", "vae_encoder"):
        continue
    for o in m["outputs"]:
        ref = np.load(f"testdata/pytorch/{o['file']}")
        got = np.load(f"{out}/{m['name']}/{o['name']}.npy")
        d = np.abs(got - ref)
        ok = np.all(d <= 1e-5 + 1e-5 * np.abs(ref))
        print(f"{m['name']:18s} {o['name']:7s} shape {tuple(got.shape)}  max |Δ| {d.max():.2e}  "
              f"{'PASS' if ok else 'FAIL'} (|Δ| ≤ 1e-5 + 1e-5·|ref|)")
        if not ok:
            sys.exit(1)
PY
