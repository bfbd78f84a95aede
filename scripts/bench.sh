#!/usr/bin/env bash
# Trains the benchmark MLP autoencoder (784-512-256-32 mirrored, ReLU,
# sigmoid output, MSE, Adam 1e-3, batch 128, one epoch of the 60,000
# Fashion-MNIST training images) in aebridge — OpenBLAS and pure-Go builds —
# and in PyTorch, on this machine, interleaved, REPS times each, with the
# same thread count; prints the median epoch times and the ratios
# aebridge ÷ PyTorch. Run through `make bench` (which runs setup first).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-3}
threads=${THREADS:-2}
data=${AEBRIDGE_DATA:-.deps/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags openblas -o "$work/aebridge-openblas" ./cmd/aebridge
go build -o "$work/aebridge-purego" ./cmd/aebridge

epoch_seconds() { # binary → seconds of its one epoch
  "$1" train --data fashion-mnist --hidden 512,256 --latent 32 --epochs 1 --batch 128 \
    --val-split 0 --threads "$threads" --out "$work/run" >/dev/null
  /usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["seconds"])' "$work/run/metrics.jsonl"
}
declare -a ob pg pt
for r in $(seq "$reps"); do
  pt+=("$(/usr/bin/python3 testdata/pytorch/bench_mlp.py "$data" --threads "$threads" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"][0])')")
  ob+=("$(epoch_seconds "$work/aebridge-openblas")")
  pg+=("$(epoch_seconds "$work/aebridge-purego")")
  echo "rep $r: pytorch ${pt[-1]} s, aebridge openblas ${ob[-1]} s, aebridge pure-go ${pg[-1]} s"
done
/usr/bin/python3 - "${pt[*]}" "${ob[*]}" "${pg[*]}" "$threads" <<'PY'
import statistics, sys
pt, ob, pg = (sorted(map(float, s.split())) for s in sys.argv[1:4])
m = statistics.median
print(f"MLP AE 784-512-256-32, one epoch of 60,000 images, batch 128, {sys.argv[4]} threads, medians of {len(pt)}:")
print(f"  PyTorch            {m(pt):7.2f} s")
print(f"  aebridge OpenBLAS  {m(ob):7.2f} s   ratio aebridge/PyTorch {m(ob)/m(pt):.3f}")
print(f"  aebridge pure Go   {m(pg):7.2f} s   ratio aebridge/PyTorch {m(pg)/m(pt):.3f}")
PY
