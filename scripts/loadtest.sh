#!/usr/bin/env bash
# Load test of `aebridge serve` on loopback with hey (Debian's hey): one-
# sample /infer requests for a PyTorch MLP autoencoder (64-32-16-8 and
# back, testdata/pytorch/mlp_ae), REQUESTS per run (default 20,000), at 1,
# 8 and 64 concurrent clients, without and with dynamic batching
# (--max-batch 64 --max-delay 1ms); prints throughput, p50 and p99 latency
# and the non-200 count of each run, the server's RSS before and after
# RSS_REQUESTS (default 100,000) more requests, and the same calls made on
# the runtime directly in a Go benchmark (serve's BenchmarkDirect), with
# the ratio. Run through `make loadtest`; BIN is the aebridge binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/aebridge}
requests=${REQUESTS:-20000}
rss_requests=${RSS_REQUESTS:-100000}
model=testdata/pytorch/mlp_ae.opset17.onnx
command -v hey >/dev/null || { echo "loadtest: hey not found: make setup installs Debian's hey" >&2; exit 1; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# One sample: the first row of the fixture's input.
/usr/bin/python3 - "$work/body.json" <<'PY'
import json, sys, numpy as np
x = np.load("testdata/pytorch/mlp_ae.in0.npy")[:1].astype(np.float32)
json.dump({"inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": [float(v) for v in x.ravel()]}]}, open(sys.argv[1], "w"))
PY

port=18931
start() { # flags...
  "$bin" serve "ae=$model" --addr "127.0.0.1:$port" "$@" >"$work/serve.out" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && return; sleep 0.1; done
  echo "loadtest: the server did not start" >&2; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; } # KiB
load() { # clients requests → "rps p50_ms p99_ms errors"
  hey -n "$2" -c "$1" -t 10 -m POST -T application/json -D "$work/body.json" "http://127.0.0.1:$port/v2/models/ae/infer" >"$work/hey.txt"
  awk '
    /Requests\/sec:/ { rps = $2 }
    /^ +50% in/ { p50 = $3 * 1000 }
    /^ +99% in/ { p99 = $3 * 1000 }
    /^Status code distribution:/ { codes = 1; next }
    /^Error distribution:/ { codes = 0; bad += 1 }
    codes && /^ *\[[0-9]+\]/ { if ($1 != "[200]") bad += $2 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad + 0 }' "$work/hey.txt"
  if grep -q "^Error distribution:" "$work/hey.txt"; then sed -n '/^Error distribution:/,$p' "$work/hey.txt" >&2; echo "loadtest: errors" >&2; exit 1; fi
}

echo "CPU: $(lscpu | sed -n 's/^Model name:\s*//p') ($(nproc) cores); $requests requests a run"
declare -A served
printf "%-28s %8s %10s %10s %10s %7s\n" mode clients req/s p50_ms p99_ms non200
for mode in "no batching" "max-batch 64, max-delay 1ms"; do
  if [ "$mode" = "no batching" ]; then start; else start --max-batch 64 --max-delay 1ms; fi
  hey -n 2000 -c 8 -m POST -T application/json -D "$work/body.json" "http://127.0.0.1:$port/v2/models/ae/infer" >/dev/null # warm up
  for c in 1 8 64; do
    read -r rps p50 p99 bad < <(load "$c" "$requests")
    printf "%-28s %8d %10s %10s %10s %7s\n" "$mode" "$c" "$rps" "$p50" "$p99" "$bad"
    served["$mode,$c"]=$rps
  done
  if [ "$mode" = "no batching" ]; then
    before=$(rss)
    read -r rps p50 p99 bad < <(load 8 "$rss_requests")
    after=$(rss)
    echo "RSS over $rss_requests requests (8 clients, $bad non-200): $((before / 1024)) MiB before, $((after / 1024)) MiB after"
  fi
  stop
done

echo "the runtime called directly (go test -bench Direct ./serve/), one sample a call:"
go test -run '^$' -bench 'Direct' -benchtime 20000x ./serve/ | tee "$work/bench.txt" | grep '^Benchmark'
for c in 1 8 64; do
  ns=$(awk -v c="clients=$c-" 'index($1, c) { print $3 }' "$work/bench.txt")
  direct=$(awk -v ns="$ns" 'BEGIN { printf "%.0f", 1e9 / ns }')
  plain=${served["no batching,$c"]}
  batched=${served["max-batch 64, max-delay 1ms,$c"]}
  echo "clients $c: direct $direct calls/s; served $plain req/s ($(awk -v a="$plain" -v b="$direct" 'BEGIN { printf "%.3f", a / b }') of direct), batched $batched req/s ($(awk -v a="$batched" -v b="$direct" 'BEGIN { printf "%.3f", a / b }'))"
done
