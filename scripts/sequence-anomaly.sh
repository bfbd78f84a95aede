#!/usr/bin/env bash
# Time-series anomaly detection with a sequence autoencoder, in the spirit
# of the Keras example: a periodic series (sines of periods 40 and 20,
# noise σ 0.1) of 4000 normal steps to train on, then 2000 test steps with
# injected anomalies — three spikes, a level shift and a flat segment. aebridge
# trains --variant VARIANT (default lstm) on windows of WINDOW steps
# (default 40) of the normal part, standardised as config.json records;
# the threshold lets through a fraction FPR (default 0.001) of the
# training windows' errors (calibrate --fpr on every training window,
# stride 1); the test windows (stride 1) are scored, a window
# being anomalous when it holds an anomalous step, and score prints the
# confusion matrix with precision and recall.
# EPOCHS (default 30) and SEED (default 1) set the run. Needs ONNX
# Runtime (make setup) and numpy under /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
variant=${VARIANT:-lstm}
window=${WINDOW:-40}
epochs=${EPOCHS:-30}
seed=${SEED:-1}
fpr=${FPR:-0.001}
work=${WORK:-$(mktemp -d)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
go build -o "$work/aebridge" ./cmd/aebridge
/usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(0)
t = np.arange(6000)
x = np.sin(2 * np.pi * t / 40) + 0.5 * np.sin(2 * np.pi * t / 20 + 1) + 0.1 * rng.standard_normal(6000)
anomalous = np.zeros(6000, bool)
for s in (4300, 4750, 5600):  # spikes
    x[s] += 3
    anomalous[s] = True
x[5000:5120] += 1.5  # a level shift
anomalous[5000:5120] = True
x[5300:5380] = x[5300]  # a flat segment
anomalous[5300:5380] = True
np.savetxt(f"{work}/train.csv", x[:4000, None], fmt="%.6f")
np.save(f"{work}/test_series.npy", x[4000:].astype(np.float32))
np.save(f"{work}/test_anomalous.npy", anomalous[4000:])
PY
"$work/aebridge" train --variant "$variant" --data "$work/train.csv" --window "$window" --stride 2 --hidden 32 \
  --epochs "$epochs" --batch 64 --lr 3e-3 --seed "$seed" --val-split 0.1 --out "$work/run" > "$work/train.log" 2>&1
grep "^epoch $epochs:" "$work/train.log"
# The windows, standardised by the recorded mean and std (run and score
# take inputs already standardised).
/usr/bin/python3 - "$work" "$window" <<'PY'
import json, sys
import numpy as np
work, w = sys.argv[1], int(sys.argv[2])
seq = json.load(open(f"{work}/run/config.json"))["model"]["sequence"]
mean, std = seq["mean"][0], seq["std"][0]
def windows(s, stride):
    n = (len(s) - w) // stride + 1
    return np.stack([s[i * stride:i * stride + w] for i in range(n)])
train = np.loadtxt(f"{work}/train.csv")
np.save(f"{work}/train_windows.npy", ((windows(train, 1) - mean) / std)[..., None].astype(np.float32))
test = np.load(f"{work}/test_series.npy")
np.save(f"{work}/test_windows.npy", ((windows(test, 1) - mean) / std)[..., None].astype(np.float32))
np.save(f"{work}/test_labels.npy", windows(np.load(f"{work}/test_anomalous.npy"), 1).any(axis=1).astype(np.int64))
PY
"$work/aebridge" calibrate "$work/run" --input "$work/train_windows.npy" --fpr "$fpr" | tail -1
"$work/aebridge" score "$work/run" --input "$work/test_windows.npy" --labels "$work/test_labels.npy" --output "$work/scores.csv"
