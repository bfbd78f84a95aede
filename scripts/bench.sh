#!/usr/bin/env bash
# Trains the benchmark autoencoders — the MLP (784-512-256-32 mirrored,
# ReLU, sigmoid output, MSE), the PyTorch examples' VAE (784-400-20, BCE +
# KL) and the Keras example's convolutional one (Conv 16-8-8, kernel 3, max
# pooling, nearest upsampling, BCE); Adam 1e-3,
# batch 128, one epoch of the 60,000 Fashion-MNIST training images — in
# aebridge (OpenBLAS and pure-Go builds) and in PyTorch (testdata/pytorch/
# bench.py), on this machine, interleaved, REPS times each, with the same
# thread count; prints the median epoch times, the ratios aebridge ÷
# PyTorch, and aebridge's achieved GFLOP/s (matrix-product work of the
# training steps over the training loop's time, metrics.jsonl's
# gflop_per_s) against the machine's SGEMM rate, measured first: OpenBLAS
# alone with its own threads, and the trainer's own product (the worker
# pool over OpenBLAS, or gonum's kernels) on the same matrices. Run through
# `make bench` (which runs setup first); WORKLOADS="mlp vae conv" picks the
# workloads, BUILDS="openblas purego" the builds.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-3}
threads=${THREADS:-2}
data=${AEBRIDGE_DATA:-.deps/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags openblas -o "$work/aebridge-openblas" ./cmd/aebridge
go build -o "$work/aebridge-purego" ./cmd/aebridge

# The machine's SGEMM rate: GFLOP/s of a 1024³ product (first sub-benchmark).
sgemm() { # package [tags] → GFLOP/s
  go test -run '^$' -bench 'SGEMM/1024' -benchtime 2s -cpu "$threads" ${2:+-tags "$2"} "$1" \
    | awk '/GFLOP\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "GFLOP/s") print $i; exit }'
}
sgemm_openblas=$(sgemm ./internal/openblas openblas)
sgemm_pool=$(sgemm ./graph openblas)
sgemm_gonum=$(sgemm ./graph)
echo "SGEMM 1024³, $threads threads: OpenBLAS alone $sgemm_openblas GFLOP/s;" \
  "the trainer's product: over OpenBLAS $sgemm_pool GFLOP/s, pure Go (gonum) $sgemm_gonum GFLOP/s"

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
epoch_seconds() { # binary workload → "seconds,GFLOP/s" of its one epoch
  # shellcheck disable=SC2086
  "$1" train --data fashion-mnist ${flags[$2]} --epochs 1 --batch 128 \
    --val-split 0 --threads "$threads" --out "$work/run" >/dev/null
  /usr/bin/python3 -c 'import json,sys; m = json.loads(open(sys.argv[1]).readline()); print("%s,%s" % (m["seconds"], m["gflop_per_s"]))' "$work/run/metrics.jsonl"
}
for w in $workloads; do
  declare -a times_pytorch=() times_openblas=() times_purego=()
  for r in $(seq "$reps"); do
    times_pytorch+=("$(pytorch_seconds "$w")")
    line="rep $r $w: pytorch ${times_pytorch[-1]} s"
    for b in $builds; do
      t=$(epoch_seconds "$work/aebridge-$b" "$w")
      eval "times_$b+=(\"\$t\")"
      line+=", aebridge $b ${t%,*} s (${t#*,} GFLOP/s)"
    done
    echo "$line"
  done
  /usr/bin/python3 - "$w" "$threads" "${times_pytorch[*]}" "${times_openblas[*]:-}" "${times_purego[*]:-}" \
    "$sgemm_openblas" "$sgemm_gonum" <<'PY'
import statistics, sys
w, threads = sys.argv[1:3]
pt = list(map(float, sys.argv[3].split()))
m = statistics.median
print(f"{w}: one epoch of 60,000 images, batch 128, {threads} threads, medians of {len(pt)}:")
print(f"  PyTorch            {m(pt):7.2f} s")
for name, arg, rate, of in (("OpenBLAS", sys.argv[4], sys.argv[6], "OpenBLAS's SGEMM"),
                            ("pure Go ", sys.argv[5], sys.argv[7], "gonum's SGEMM through the trainer")):
    if arg.strip():
        runs = [tuple(map(float, r.split(","))) for r in arg.split()]
        t, g = m(r[0] for r in runs), m(r[1] for r in runs)
        print(f"  aebridge {name}  {t:7.2f} s   ratio aebridge/PyTorch {t/m(pt):.3f}   "
              f"{g:6.1f} GFLOP/s = {g/float(rate):.2f} of {of} ({float(rate):.0f})")
PY
done
