#!/usr/bin/env bash
# Trains the same plain, sparse-L1, denoising and one-layer contractive
# autoencoders in PyTorch (testdata/pytorch/train_regularized.py) and in
# aebridge, on the same Fashion-MNIST data with the same settings and
# initialisation scheme (INIT: pytorch, both tools' default, or
# by-activation; the random streams differ), for several seeds
# (VARIANTS picks some of them), and prints the mean test
# losses (MSE per element on the 10,000 clean test images), their spread
# over the seeds, and the ratio of the means. Run after `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${AEBRIDGE_DATA:-.deps/data}
limit=${LIMIT:-20000}
epochs=${EPOCHS:-10}
seeds=${SEEDS:-1 2 3}
init=${INIT:-pytorch}
variants=${VARIANTS:-ae sparse-l1 denoising contractive}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags openblas -o "$work/aebridge" ./cmd/aebridge

common=(--data fashion-mnist --limit "$limit" --epochs "$epochs" --batch 128 --lr 1e-3 --val-split 0 --latent 32)
declare -A flags=(
  [ae]="--hidden 256"
  [sparse-l1]="--hidden 256 --code-activation relu --l1 1e-3"
  [denoising]="--hidden 256 --noise mask --noise-level 0.3"
  [contractive]="--hidden= --code-activation sigmoid --contractive 0.01"
)
results=()
for v in $variants; do
  ours="" theirs=""
  for seed in $seeds; do
    # shellcheck disable=SC2086
    "$work/aebridge" train --variant "$v" "${common[@]}" ${flags[$v]} --seed "$seed" --init "$init" --out "$work/$v" > "$work/$v.log"
    ours+=" $(sed -n 's/^test loss (mse): \([0-9.]*\) per element.*/\1/p' "$work/$v.log")"
    theirs+=" $(/usr/bin/python3 testdata/pytorch/train_regularized.py "$data" "$v" --limit "$limit" --epochs "$epochs" --seed "$seed" --init "$init" \
      | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["test_loss"])')"
  done
  results+=("$v:$theirs:$ours")
done
/usr/bin/python3 - "$epochs" "$limit" "$seeds" "$init" "${results[@]}" <<'PY'
import statistics, sys
epochs, limit, seeds, init = sys.argv[1:5]
print(f"test MSE per element, {limit} training images, {epochs} epochs, seeds {seeds}, init {init}: mean [min, max]")
print(f"{'variant':12s} {'PyTorch':>28s} {'aebridge':>28s} {'ratio':>7s}")
for row in sys.argv[5:]:
    v, t, o = row.split(":")
    t, o = list(map(float, t.split())), list(map(float, o.split()))
    mt, mo = statistics.mean(t), statistics.mean(o)
    print(f"{v:12s} {mt:.5f} [{min(t):.5f}, {max(t):.5f}] {mo:.5f} [{min(o):.5f}, {max(o):.5f}] {mo/mt:7.3f}")
PY
