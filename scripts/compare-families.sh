#!/usr/bin/env bash
# Trains each autoencoder family in PyTorch (testdata/pytorch/families.py
# --train) and in aebridge the same way — a 784-400-20 MLP (ReLU, sigmoid
# output, BCE), Adam 1e-3, batch 128, EPOCHS epochs (default 3) on the
# first LIMIT Fashion-MNIST training images (default 20000, 0: all) — and
# prints both test bounds per sample (10,000 test images) and their
# relative difference. FAMILIES defaults to "iwae"; SAMPLES is IWAE's K
# (default 5). Run after `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${AEBRIDGE_DATA:-.deps/data}
epochs=${EPOCHS:-3}
limit=${LIMIT:-20000}
samples=${SAMPLES:-5}
seed=${SEED:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags openblas -o "$work/aebridge" ./cmd/aebridge
echo "CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
for family in ${FAMILIES:-iwae}; do
  theirs=$(/usr/bin/python3 testdata/pytorch/families.py --train "$data" --family "$family" --samples "$samples" \
    --epochs "$epochs" --limit "$limit" --seed "$seed")
  "$work/aebridge" train --variant "$family" --samples "$samples" --data fashion-mnist --limit "$limit" --hidden 400 --latent 20 \
    --loss bce --epochs "$epochs" --batch 128 --lr 1e-3 --val-split 0 --seed "$seed" --out "$work/$family" > "$work/log"
  ours=$(sed -n 's/^test IWAE bound per sample: \(-\?[0-9.]*\).*/\1/p' "$work/log")
  /usr/bin/python3 - "$theirs" "$ours" "$epochs" "$limit" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
o = float(sys.argv[2])
print(f"{t['family']} (K = {t['samples']}) 784-400-20 on Fashion-MNIST ({sys.argv[4]} images, {sys.argv[3]} epochs): test bound per sample")
print(f"  PyTorch   {t['test_bound']:.3f}  ({t['seconds']:.1f} s training)")
print(f"  aebridge  {o:.3f}")
print(f"  difference {100 * (o - t['test_bound']) / abs(t['test_bound']):+.2f} %")
PY
done
