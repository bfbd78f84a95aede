#!/usr/bin/env bash
# Installs ONNX Runtime's CPU shared library from the npm package
# onnxruntime-node into a project-local folder:
#   scripts/install-onnxruntime.sh VERSION DEST
# leaves DEST/libonnxruntime.so.1 (and DEST/VERSION). Needs npm and tar.
set -euo pipefail
version=${1:?usage: install-onnxruntime.sh VERSION DEST}
dest=${2:?usage: install-onnxruntime.sh VERSION DEST}
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "install-onnxruntime: no onnxruntime-node build for $(uname -m)" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "install-onnxruntime: npm not found: apt-get install npm" >&2; exit 1; }
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-onnxruntime: npm pack onnxruntime-node@$version"
(cd "$work" && npm pack --silent --ignore-scripts "onnxruntime-node@$version" >/dev/null)
tar -xzf "$work"/onnxruntime-node-"$version".tgz -C "$work" \
  "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
install -m 0644 "$work/package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "$dest/libonnxruntime.so.1.tmp"
mv "$dest/libonnxruntime.so.1.tmp" "$dest/libonnxruntime.so.1"
echo "$version" > "$dest/VERSION"
echo "install-onnxruntime: $dest/libonnxruntime.so.1 (ONNX Runtime $version, CPU)"
