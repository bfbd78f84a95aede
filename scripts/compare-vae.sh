#!/usr/bin/env bash
# Trains the PyTorch examples' VAE (784-400-20, ReLU, sigmoid, BCE summed
# over pixels + KL, Adam 1e-3, batch 128) in PyTorch
# (testdata/pytorch/vae_example.py) and in aebridge on the 60,000
# Fashion-MNIST training images for EPOCHS epochs (default 10), and prints
# both test ELBOs per sample (10,000 test images, z sampled) and their
# relative difference. Run after `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${AEBRIDGE_DATA:-.deps/data}
epochs=${EPOCHS:-10}
seed=${SEED:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags openblas -o "$work/aebridge" ./cmd/aebridge
theirs=$(/usr/bin/python3 testdata/pytorch/vae_example.py "$data" --epochs "$epochs" --seed "$seed")
"$work/aebridge" train --variant vae --data fashion-mnist --hidden 400 --latent 20 --loss bce --epochs "$epochs" \
  --batch 128 --lr 1e-3 --val-split 0 --seed "$seed" --out "$work/vae" > "$work/log"
ours=$(sed -n 's/^test ELBO per sample: \(-\?[0-9.]*\).*/\1/p' "$work/log")
/usr/bin/python3 - "$theirs" "$ours" "$epochs" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
o = float(sys.argv[2])
print(f"VAE 784-400-20 on Fashion-MNIST, {sys.argv[3]} epochs: test ELBO per sample")
print(f"  PyTorch   {t['test_elbo']:.3f}  ({t['seconds']:.1f} s training)")
print(f"  aebridge  {o:.3f}")
print(f"  difference {100 * (o - t['test_elbo']) / abs(t['test_elbo']):+.2f} %")
PY
