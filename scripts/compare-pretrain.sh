#!/usr/bin/env bash
# Stacked greedy pre-training against none, for the same budget of passes
# over the data: a 784-256-64-16 ReLU autoencoder (sigmoid output, BCE,
# Adam 1e-3, batch 128) on the first LIMIT Fashion-MNIST training images
# (default 20000), trained EPOCHS epochs end to end (default 6), or
# pre-trained PRE epochs per layer (default 1, three layers) and then
# trained EPOCHS − 3·PRE epochs end to end. Prints, for both, the test
# reconstruction loss and the accuracy of a linear classifier (multinomial
# logistic regression, aebridge probe) on the 16-dimensional codes, trained
# on the LIMIT training images' codes, tested on the 10,000 test images.
# VARIANT=denoising pre-trains stacked denoising autoencoders (mask 0.3).
# Run after `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${AEBRIDGE_DATA:-.deps/data}
epochs=${EPOCHS:-6}
pre=${PRE:-1}
limit=${LIMIT:-20000}
variant=${VARIANT:-ae}
seed=${SEED:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags openblas -o "$work/aebridge" ./cmd/aebridge
noise=()
if [ "$variant" = denoising ]; then noise=(--noise mask --noise-level 0.3); fi
/usr/bin/python3 - "$data" "$limit" "$work" <<'PY'
import sys, numpy as np
data, limit, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for part, n in (("train", limit), ("test", None)):
    x = np.load(f"{data}/fashion-mnist/{part}-images.npy")[:n].reshape(-1, 784).astype(np.float32) / 255
    y = np.load(f"{data}/fashion-mnist/{part}-labels.npy")[:n].astype(np.int64)
    np.save(f"{work}/{part}-x.npy", x)
    np.save(f"{work}/{part}-y.npy", y)
PY
echo "CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
run() { # directory, label, extra flags
  "$work/aebridge" train --variant "$variant" "${noise[@]}" --data "$work/train-x.npy" --hidden 256,64 --latent 16 --loss bce \
    --batch 128 --lr 1e-3 --val-split 0 --seed "$seed" --plots=false --out "$work/$1" "${@:3}" > "$work/$1.log" 2>&1
  "$work/aebridge" score "$work/$1" --input "$work/test-x.npy" --metric bce --output "$work/$1-scores.npy" > /dev/null
  loss=$(/usr/bin/python3 -c "import numpy as np; print(f'{np.load(\"$work/$1-scores.npy\").mean():.4f}')")
  acc=$("$work/aebridge" probe "$work/$1" --train "$work/train-x.npy" --train-labels "$work/train-y.npy" \
    --test "$work/test-x.npy" --test-labels "$work/test-y.npy" | awk '$1 == "codes" {print $3}')
  printf '  %-28s mean test score (bce) %s   linear probe accuracy on codes %s\n' "$2" "$loss" "$acc"
}
echo "$variant 784-256-64-16 on Fashion-MNIST ($limit images), $epochs passes:"
run plain "no pre-training" --epochs "$epochs"
run pretrained "pre-trained $pre epoch(s)/layer" --pretrain-epochs "$pre" --epochs $((epochs - 3 * pre))
