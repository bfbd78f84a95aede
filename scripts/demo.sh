#!/usr/bin/env bash
# The end-to-end demo `make demo` runs after setup and build:
#  1. train a small autoencoder on Fashion-MNIST in Go and export it to ONNX;
#  2. run the exported model through ONNX Runtime and compare it with the Go
#     forward pass, printing the largest difference;
#  3. run a PyTorch-exported autoencoder and compare with PyTorch's outputs.
set -euo pipefail
bin=${1:?usage: demo.sh path/to/aebridge}
fx=testdata/pytorch
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== aebridge doctor"
"$bin" doctor

echo
echo "== aebridge train (Fashion-MNIST, 20,000 images, 5 epochs)"
"$bin" train --data fashion-mnist --limit 20000 --hidden 256,64 --latent 16 --epochs 5 --out "$out/fmnist"

echo
echo "== aebridge inspect model.onnx"
"$bin" inspect "$out/fmnist/model.onnx"

# 256 test images as an N×784 float32 array.
/usr/bin/python3 -c '
import numpy as np, sys
x = np.load(sys.argv[1])[:256].reshape(256, 784).astype(np.float32) / 255
np.save(sys.argv[2], x)' "${AEBRIDGE_DATA:-.deps/data}/fashion-mnist/test-images.npy" "$out/x.npy"

echo
echo "== aebridge run model.onnx (ONNX Runtime) on 256 test images"
"$bin" run "$out/fmnist/model.onnx" --input "$out/x.npy" --output "$out/x_hat.npy"

echo
echo "== aebridge check: ONNX Runtime against the Go forward pass"
"$bin" check "$out/fmnist" --input "$out/x.npy" --expect "$out/x_hat.npy"

echo
echo "== a PyTorch export: aebridge run + check against PyTorch's outputs"
"$bin" inspect "$fx/conv_upsample_ae.opset13.onnx"
"$bin" check "$fx/conv_upsample_ae.opset13.onnx" --backends ort --input "$fx/conv_upsample_ae.in0.npy" --expect "$fx/conv_upsample_ae.out0.npy"
