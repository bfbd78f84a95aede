"""Writes the .npy files the internal/npy tests read, with NumPy's own writer.

    /usr/bin/python3 testdata/npy/make_npy.py testdata/npy

Each array's values are i * 0.5 - 3 for i in C order (for uint8: i), so a
test can check every element without a second fixture.
"""
import os
import sys

import numpy as np

out = sys.argv[1]
shape = (2, 3, 4)
base = np.arange(np.prod(shape)).reshape(shape)
vals = base * 0.5 - 3
arrays = {
    "f4_c.npy": vals.astype("<f4"),
    "f8_c.npy": vals.astype("<f8"),
    "f4_big.npy": vals.astype(">f4"),
    "u1_c.npy": base.astype(np.uint8),
    "i8_c.npy": (base - 5).astype("<i8"),
    "f4_fortran.npy": np.asfortranarray(vals.astype("<f4")),
    "f4_1d.npy": np.arange(7, dtype="<f4") * 0.5 - 3,
    "f4_scalar.npy": np.array(2.5, dtype="<f4"),
}
for name, a in arrays.items():
    np.save(os.path.join(out, name), a)
# Version 2.0 header, as NumPy writes for very long headers.
with open(os.path.join(out, "f4_v2.npy"), "wb") as f:
    a = vals.astype("<f4")
    np.lib.format.write_array(f, a, version=(2, 0))
np.save(os.path.join(out, "c8_unsupported.npy"), np.zeros(3, dtype=np.complex64))
