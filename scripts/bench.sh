#!/usr/bin/env bash
# Trains the benchmark autoencoders — the MLP (784-512-256-32 mirrored,
# ReLU, sigmoid output, MSE), the PyTorch examples' VAE (784-400-20, BCE +
# KL) and the Keras example's convolutional one (Conv 16-8-8, kernel 3, max
# pooling, nearest upsampling, BCE); Adam 1e-3,
# batch 128, one epoch of the 60,000 Fashion-MNIST training images — in
# aebridge (OpenBLAS and pure-Go builds) and in PyTorch (testdata/pytorch/
# bench.py), on this machine, interleaved, REPS times each, with the same
# thread count; prints the median epoch times and the ratios
# aebridge ÷ PyTorch. Run through `make bench` (which runs setup first);
# WORKLOADS="mlp vae conv" picks the workloads, BUILDS="openblas purego" the
# builds.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-3}
threads=${THREADS:-2}
data=${AEBRIDGE_DATA:-.deps/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags openblas -o "$work/aebridge-openblas" ./cmd/aebridge
go build -o "$work/aebridge-purego" ./cmd/aebridge

workloads=${WORKLOADS:-mlp vae conv}
builds=${BUILDS:-openblas purego}
declare -A flags=(
  [mlp]="--hidden 512,256 --latent 32"
  [conv]="--variant conv --channels 16,8,8 --kernel 3 --pool max --decoder upsample --loss bce"
  [vae]="--variant vae --hidden 400 --latent 20 --loss bce"
)
pytorch_seconds() { # workload → seconds of PyTorch's one epoch
  if [ "$1" = vae ]; then
    /usr/bin/python3 testdata/pytorch/vae_example.py "$data" --epochs 1 --threads "$threads" \
      | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
  else
    /usr/bin/python3 testdata/pytorch/bench.py "$data" --model "$1" --threads "$threads" \
      | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"][0])'
  fi
}
epoch_seconds() { # binary workload → seconds of its one epoch
  # shellcheck disable=SC2086
  "$1" train --data fashion-mnist ${flags[$2]} --epochs 1 --batch 128 \
    --val-split 0 --threads "$threads" --out "$work/run" >/dev/null
  /usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["seconds"])' "$work/run/metrics.jsonl"
}
for w in $workloads; do
  declare -a times_pytorch=() times_openblas=() times_purego=()
  for r in $(seq "$reps"); do
    times_pytorch+=("$(pytorch_seconds "$w")")
    line="rep $r $w: pytorch ${times_pytorch[-1]} s"
    for b in $builds; do
      t=$(epoch_seconds "$work/aebridge-$b" "$w")
      eval "times_$b+=(\"\$t\")"
      line+=", aebridge $b $t s"
    done
    echo "$line"
  done
  /usr/bin/python3 - "$w" "$threads" "${times_pytorch[*]}" "${times_openblas[*]:-}" "${times_purego[*]:-}" <<'PY'
import statistics, sys
w, threads = sys.argv[1:3]
pt = list(map(float, sys.argv[3].split()))
m = statistics.median
print(f"{w}: one epoch of 60,000 images, batch 128, {threads} threads, medians of {len(pt)}:")
print(f"  PyTorch            {m(pt):7.2f} s")
for name, arg in (("OpenBLAS", sys.argv[4]), ("pure Go ", sys.argv[5])):
    if arg.strip():
        t = list(map(float, arg.split()))
        print(f"  aebridge {name}  {m(t):7.2f} s   ratio aebridge/PyTorch {m(t)/m(pt):.3f}")
PY
done
