#!/usr/bin/env bash
# Runs the aebridge binary on the hostile files of issue 12 and checks that
# each gives a clear error: a non-zero exit (or, where the file is valid but
# odd, a success), an error line that matches what is expected (most name the
# file), no panic, no hang (30 s), and a peak RSS under 100 MB.
#
#   scripts/hostile.sh bin/aebridge
#
# The files are made afresh by testdata/hostile/make_hostile.py in a
# temporary folder. Prints one line per case and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-bin/aebridge}")
PY=${AEBRIDGE_PYTHON:-/usr/bin/python3}
LIMIT_KB=$((100 * 1024))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
H=$work/h

"$BIN" train --data mnist --limit 64 --epochs 1 --hidden 16,16 --latent 4 --out "$work/small" >/dev/null 2>"$work/train.err" ||
	{ echo "could not train the small model:"; cat "$work/train.err"; exit 1; }
"$PY" testdata/hostile/make_hostile.py "$H" "$work/small" || exit 1

passed=0
failed=0
# expect NAME WANT REGEX -- ARGS...: WANT is "error" (non-zero exit) or "ok".
expect() {
	local name=$1 want=$2 regex=$3
	shift 4
	local out=$work/$name.out err=$work/$name.err rss=$work/$name.rss
	timeout 30 /usr/bin/time -o "$rss" -f '%M' "$BIN" "$@" >"$out" 2>"$err"
	local code=$? why=""
	local kb
	kb=$(tail -1 "$rss" 2>/dev/null | grep -E '^[0-9]+$' || echo 0)
	if [ $code = 124 ]; then
		why="hung (killed after 30 s)"
	elif grep -qE '^panic:|^fatal error:|^goroutine [0-9]+ \[' "$err"; then
		why="panicked: $(grep -m1 -E '^panic:|^fatal error:' "$err")"
	elif [ "$want" = error ] && [ $code = 0 ]; then
		why="exit 0, want an error"
	elif [ "$want" = ok ] && [ $code != 0 ]; then
		why="exit $code, want success: $(head -c 300 "$err")"
	elif [ "$kb" -gt $LIMIT_KB ]; then
		why="peak RSS $((kb / 1024)) MB, want under 100 MB"
	elif ! cat "$err" "$out" | grep -qiE -- "$regex"; then
		why="output does not match /$regex/: $(head -c 300 "$err")"
	elif LC_ALL=C grep -q $'\x1b' "$err" "$out"; then
		why="raw escape byte in the output"
	fi
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		printf 'ok    %-28s %5d MB  %s\n' "$name" $((kb / 1024)) "$(head -1 "$err" | cut -c1-110)"
	else
		failed=$((failed + 1))
		printf 'FAIL  %-28s %s\n' "$name" "$why"
	fi
}

# Data files.
expect npy-huge-shape error 'huge_shape.npy' -- train --data "$H/huge_shape.npy" --out "$work/o1" --epochs 1
expect npy-wrap-shape error 'wrap_shape.npy' -- train --data "$H/wrap_shape.npy" --out "$work/o2" --epochs 1
expect npy-huge-run error 'huge_shape.npy' -- run "$work/small/model.onnx" --input "$H/huge_shape.npy" --output "$work/y.npy"
expect npy-nan error 'nan_data.npy.*17.*301|17.*301.*nan_data.npy' -- train --data "$H/nan_data.npy" --out "$work/o3" --epochs 1
expect npy-inf error 'inf_data.npy.*(row|sample) 3' -- train --data "$H/inf_data.npy" --out "$work/o4" --epochs 1
expect npy-1d error 'one_sample_1d.npy' -- train --data "$H/one_sample_1d.npy" --out "$work/o5" --epochs 1
expect idx-short error 'short.idx' -- train --data "$H/short.idx" --out "$work/o6" --epochs 1
expect idx-gz-bomb error 'bomb-idx.gz' -- train --data "$H/bomb-idx.gz" --out "$work/o7" --epochs 1
expect idx-gz-trailing error 'trailing-idx.gz' -- train --data "$H/trailing-idx.gz" --out "$work/o8" --epochs 1

# safetensors.
for f in huge_shape wrap_shape huge_header; do
	expect "st-$f" error "$f.safetensors" -- convert --from-safetensors "$H/$f.safetensors" --config "$work/small/config.json" --out "$work/st-$f"
done

# ONNX files that lie about sizes or whose side files are hostile.
for f in huge_init ext_overflow ext_fifo ext_escape; do
	expect "$f-convert" error "$f.onnx|w.bin|fifo.bin|passwd" -- convert "$H/$f.onnx" --out "$work/c-$f"
	expect "$f-run-go" error "$f.onnx|w.bin|fifo.bin|passwd" -- run "$H/$f.onnx" --input "$H/x4.npy" --output "$work/y.npy" --backend go
	expect "$f-run-onnx-go" error "$f.onnx|w.bin|fifo.bin|passwd" -- run "$H/$f.onnx" --input "$H/x4.npy" --output "$work/y.npy" --backend onnx-go
done
expect huge-init-inspect ok 'W|parameters' -- inspect "$H/huge_init.onnx"
# ONNX Runtime allocates the output it computes, (2, 3), not the declared one.
expect huge-output-run ok 'Y \[2 3\]' -- run "$H/huge_output.onnx" --input "$H/x4.npy" --output "$work/y.npy"
# convert reads the graph node by node, not the description in the
# metadata: a description that claims a huge model changes nothing (and
# allocates nothing).
expect huge-metadata-convert ok 'Go forward pass against ONNX Runtime' -- convert "$H/huge_metadata.onnx" --out "$work/c-meta"
expect huge-config-export error 'config.json|200000|parameters|limit' -- export "$H/huge_model" --out "$work/e.onnx"
expect huge-config-resume error 'config.json|200000|parameters|limit' -- train --resume --out "$H/huge_model"

# Malformed graphs: convert and the Go backend name the node and the field.
for f in slice_no_ends pool_zero_strides pool_short_strides pool_long_pads relu_no_input relu_no_output \
	gemm_one_input concat_bad_axis conv_long_pads conv_zero_strides reshape_empty_shape add_bad_broadcast; do
	x=$H/x8.npy
	case $f in gemm_one_input | concat_bad_axis) x=$H/x2d.npy ;; esac
	expect "$f-convert" error "$f.onnx|node|\"(slice|pool|relu|gemm|concat|conv|reshape|add)\"" -- convert "$H/$f.onnx" --out "$work/c-$f"
	expect "$f-run-go" error "$f.onnx|node|\"(slice|pool|relu|gemm|concat|conv|reshape|add)\"" -- run "$H/$f.onnx" --input "$x" --output "$work/y.npy" --backend go
done

# A graph of more nodes than Go imports.
expect long-chain-convert error 'long_chain.onnx: graph: 50000 nodes' -- convert "$H/long_chain.onnx" --out "$work/c-long"
expect long-chain-run-go error 'long_chain.onnx: graph: 50000 nodes' -- run "$H/long_chain.onnx" --input "$H/x4.npy" --output "$work/y.npy" --backend go

# Names from a model file reach the terminal escaped.
expect escape-names-run ok 'Y' -- run "$H/escape_names.onnx" --input "$H/x4.npy" --out-dir "$work/esc"
expect escape-names-inspect ok 'Y' -- inspect "$H/escape_names.onnx"

echo "$passed passed, $failed failed"
[ $failed = 0 ]
