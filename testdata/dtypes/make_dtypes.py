"""Writes the models and arrays the element-type tests read (runtime,
backend, aebridge run and check), by hand with onnx.helper:

    /usr/bin/python3 testdata/dtypes/make_dtypes.py testdata/dtypes

- dtypes.onnx: an int64 class label (batch,) picks a row of a 10×4 float32
  embedding (Gather), output "emb"; "img" is that row as an 8-bit image,
  Cast(Clip(emb × 255, 0, 255), uint8).
- labels.onnx: the same embedding of "label" added to a float32 input "x",
  output "y", and "code" = Cast(emb × 10, int64); every operator of it runs
  in aebridge's Go graph too.
- passthrough.onnx: one input and one output of each other element type,
  each (batch, 3): float64 × 2, float16 unchanged, int64 + 1, −int32, uint8
  unchanged, not bool.

The reference outputs are NumPy's closed forms of the same arithmetic (a
lookup, a float32 product, clip and truncation), which ONNX Runtime must
match exactly.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
batch = "batch"


def save(model, name):
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, name))


def npy(name, a):
    np.save(os.path.join(out, name), a)


W = (np.arange(40, dtype=np.float32).reshape(10, 4) / np.float32(39) * np.float32(1.2) - np.float32(0.1)).astype(np.float32)
label = np.array([3, 0, 9, 3, 7], dtype=np.int64)
x = (np.arange(20, dtype=np.float32).reshape(5, 4) * np.float32(0.25) - np.float32(2)).astype(np.float32)

f = lambda v: numpy_helper.from_array(np.array(v, dtype=np.float32))

# dtypes.onnx
g = helper.make_graph(
    [
        helper.make_node("Gather", ["W", "label"], ["emb"], axis=0),
        helper.make_node("Mul", ["emb", "k255"], ["scaled"]),
        helper.make_node("Clip", ["scaled", "lo", "hi"], ["clipped"]),
        helper.make_node("Cast", ["clipped"], ["img"], to=TensorProto.UINT8),
    ],
    "dtypes",
    [helper.make_tensor_value_info("label", TensorProto.INT64, [batch])],
    [
        helper.make_tensor_value_info("emb", TensorProto.FLOAT, [batch, 4]),
        helper.make_tensor_value_info("img", TensorProto.UINT8, [batch, 4]),
    ],
    [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.float32(255), "k255"),
     numpy_helper.from_array(np.float32(0), "lo"), numpy_helper.from_array(np.float32(255), "hi")],
)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_dtypes.py"), "dtypes.onnx")
emb = W[label]
npy("label.npy", label)
npy("emb.npy", emb)
npy("img.npy", np.clip(emb * np.float32(255), np.float32(0), np.float32(255)).astype(np.uint8))

# labels.onnx
g = helper.make_graph(
    [
        helper.make_node("Gather", ["W", "label"], ["emb"], axis=0),
        helper.make_node("Add", ["emb", "x"], ["y"]),
        helper.make_node("Mul", ["emb", "k10"], ["tens"]),
        helper.make_node("Cast", ["tens"], ["code"], to=TensorProto.INT64),
    ],
    "labels",
    [
        helper.make_tensor_value_info("label", TensorProto.INT64, [batch]),
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4]),
    ],
    [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4]),
        helper.make_tensor_value_info("code", TensorProto.INT64, [batch, 4]),
    ],
    [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.float32(10), "k10")],
)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_dtypes.py"), "labels.onnx")
npy("x.npy", x)
npy("y.npy", emb + x)
npy("code.npy", (emb * np.float32(10)).astype(np.int64))

# passthrough.onnx
ins = {
    "f64": (TensorProto.DOUBLE, np.array([[0.1, -2.5, 1e300], [np.pi, -0.0, 7.0]], dtype=np.float64)),
    "f16": (TensorProto.FLOAT16, np.array([[1, -2, 65504], [6e-8, 0.1, -0.5]], dtype=np.float16)),
    "i64": (TensorProto.INT64, np.array([[-(2**63), -1, 2**53 + 1], [0, 41, 2**62]], dtype=np.int64)),
    "i32": (TensorProto.INT32, np.array([[-(2**31) + 1, -1, 0], [1, 2**24 + 1, 2**31 - 1]], dtype=np.int32)),
    "u8": (TensorProto.UINT8, np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8)),
    "b": (TensorProto.BOOL, np.array([[True, False, True], [False, False, True]])),
}
outs = {
    "f64": ins["f64"][1] * 2,
    "f16": ins["f16"][1],
    "i64": ins["i64"][1] + 1,
    "i32": -ins["i32"][1],
    "u8": ins["u8"][1],
    "b": ~ins["b"][1],
}
nodes = [
    helper.make_node("Mul", ["f64", "two"], ["f64_out"]),
    helper.make_node("Identity", ["f16"], ["f16_out"]),
    helper.make_node("Add", ["i64", "one"], ["i64_out"]),
    helper.make_node("Neg", ["i32"], ["i32_out"]),
    helper.make_node("Identity", ["u8"], ["u8_out"]),
    helper.make_node("Not", ["b"], ["b_out"]),
]
g = helper.make_graph(
    nodes,
    "passthrough",
    [helper.make_tensor_value_info(n, t, [batch, 3]) for n, (t, _) in ins.items()],
    [helper.make_tensor_value_info(n + "_out", t, [batch, 3]) for n, (t, _) in ins.items()],
    [numpy_helper.from_array(np.float64(2), "two"), numpy_helper.from_array(np.int64(1), "one")],
)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_dtypes.py"), "passthrough.onnx")
for n, (_, a) in ins.items():
    npy(n + ".npy", a)
    npy(n + "_out.npy", outs[n])
