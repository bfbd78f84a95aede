"""Writes percentile.json: PyOD's threshold, numpy.percentile(scores,
100 * (1 - contamination)), for random float32 scores with ties, the
reference for TestFitMatchesNumPy. Run with /usr/bin/python3 (numpy)."""
import json

import numpy as np

rng = np.random.default_rng(16)
cases = []
for i in range(60):
    n = int(rng.integers(1, 40))
    if i % 3 == 0:
        scores = rng.integers(0, 6, n).astype(np.float32) / np.float32(7)
    else:
        scores = rng.exponential(0.05, n).astype(np.float32)
    p = float(rng.choice([0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 0.5, 0.9, float(rng.uniform(0.001, 0.999))]))
    # In float64, as Fit computes (and as PyOD holds its scores).
    t = float(np.percentile(scores.astype(np.float64), 100 * (1 - p)))
    cases.append({"scores": [float(s) for s in scores], "contamination": p, "threshold": t})
with open("percentile.json", "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f, indent=0)
    f.write("\n")
