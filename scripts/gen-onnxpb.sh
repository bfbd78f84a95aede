#!/usr/bin/env bash
# Regenerates internal/onnxpb from Debian's onnx.proto (package libonnx-dev).
# The proto package is renamed from "onnx" to "aebridge.onnx" so that a binary
# can also link onnx-go, which registers the same messages under "onnx"; the
# wire format does not depend on the package name.
# Needs: apt-get install protobuf-compiler libonnx-dev, and
#        go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/include/onnx/onnx.proto
out=internal/onnxpb
[ -f "$src" ] || { echo "missing $src: apt-get install libonnx-dev" >&2; exit 1; }
command -v protoc >/dev/null || { echo "missing protoc: apt-get install protobuf-compiler" >&2; exit 1; }
PATH="$(go env GOPATH)/bin:$PATH"
command -v protoc-gen-go >/dev/null || go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
sed -e 's/^package onnx;/package aebridge.onnx;\noption go_package = "github.com\/aebridge\/aebridge\/internal\/onnxpb";/' \
    -e '/^option optimize_for = LITE_RUNTIME;/d' "$src" > "$out/onnx.proto"
protoc --go_out=. --go_opt=module=github.com/aebridge/aebridge --proto_path="$out" "$out/onnx.proto"
echo "generated $out/onnx.pb.go from $src"
