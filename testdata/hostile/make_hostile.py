"""Writes the hostile files of issue 12 into a folder, for scripts/hostile.sh.

    /usr/bin/python3 testdata/hostile/make_hostile.py OUT [MODEL_DIR]

Each file is small and lies: a header that claims more than the file holds,
a shape whose product overflows, a graph that is malformed in one field.
MODEL_DIR, when given, is a model directory `aebridge train` wrote; its
config.json and model.onnx are copied with the hidden layer widened to
200000, so that what they describe would need gigabytes before any weight
is read (the weights on disk stay small and no longer fit).

Nothing here is committed as output: the files are made on each run.
"""
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper

out = sys.argv[1]
model_dir = sys.argv[2] if len(sys.argv) > 2 else None
os.makedirs(out, exist_ok=True)


def path(name):
    return os.path.join(out, name)


def npy_header(descr, shape):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    pad = 64 - (10 + len(d) + 1) % 64
    h = d + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode()


# A 75-byte .npy whose shape claims 2^34 float32 values (64 GiB).
with open(path("huge_shape.npy"), "wb") as f:
    b = npy_header("<f4", "(17179869184,)")
    f.write(b + b"\0" * (75 - len(b)) if len(b) < 75 else b)

# A shape whose product wraps to zero in 64 bits.
with open(path("wrap_shape.npy"), "wb") as f:
    f.write(npy_header("<f4", "(4294967296, 4294967296)"))

# NaN and Inf in data, and a 1-D array that is one sample.
x = np.random.default_rng(1).random((40, 784), dtype=np.float32)
x[17, 301] = np.nan
np.save(path("nan_data.npy"), x)
x = np.random.default_rng(1).random((40, 784), dtype=np.float32)
x[3, 5] = np.inf
np.save(path("inf_data.npy"), x)
np.save(path("one_sample_1d.npy"), np.zeros(784, dtype=np.float32))

# A 12-byte IDX header: uint8, two dimensions of 2^31-1.
with open(path("short.idx"), "wb") as f:
    f.write(struct.pack(">I", 0x00000802) + struct.pack(">II", 0x7FFFFFFF, 0x7FFFFFFF))

def gzip_idx(name, dims, zero_bytes):
    """Writes an IDX .gz of uint8 dims followed by zero_bytes zeros."""
    with open(path(name), "wb") as raw:
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        raw.write(z.compress(struct.pack(">I", 0x00000800 + len(dims)) + struct.pack(">%dI" % len(dims), *dims)))
        chunk = b"\0" * (1 << 24)
        for _ in range(zero_bytes >> 24):
            raw.write(z.compress(chunk))
        raw.write(z.flush())


# An IDX .gz of about 1 MB that inflates to 1 GiB of zeros under a header
# that claims 2 GiB (2048 x 1024 x 1024 bytes), past the 1 GiB a gzip IDX
# file may hold decompressed; and the same stream under a header that
# claims ten 28 x 28 images.
gzip_idx("bomb-idx.gz", (2048, 1024, 1024), 1 << 30)
gzip_idx("trailing-idx.gz", (10, 28, 28), 1 << 30)


def safetensors(name, header):
    h = json.dumps(header).encode()
    with open(path(name), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"\0" * 16)


safetensors("huge_shape.safetensors", {"w": {"dtype": "F32", "shape": [2**62 + 1], "data_offsets": [0, 4]}})
safetensors("wrap_shape.safetensors", {"w": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}})
with open(path("huge_header.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", 2**40) + b"{}")


def save(model, name):
    onnx.save(model, path(name))


def mlp(init_dims=(4, 3), raw=None, extra_init=(), output_shape=("N", 3), nodes=None, name="Y"):
    """X (N, 4) @ W → Y, W an initializer whose dims and bytes can lie."""
    w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=list(init_dims))
    w.raw_data = raw if raw is not None else np.ones(init_dims, np.float32).tobytes()
    graph = helper.make_graph(
        nodes or [helper.make_node("MatMul", ["X", "W"], [name], name="matmul")],
        "hostile",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(output_shape))],
        [w, *extra_init],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="hostile")


np.save(path("x4.npy"), np.ones((2, 4), np.float32))
np.save(path("x4_u8.npy"), np.full((2, 4), 200, np.uint8))

# An initializer whose dims claim 10^12 elements, with 48 bytes of data.
save(mlp(init_dims=(4, 250000000000), raw=np.ones(12, np.float32).tobytes(), output_shape=("N", 250000000000)), "huge_init.onnx")

# A graph output declared as [10^12] (the runtime must not preallocate it).
save(mlp(output_shape=(1000000000000,)), "huge_output.onnx")

# Output names with terminal escape sequences.
save(mlp(name="\x1b[2J\x1b[31mY"), "escape_names.onnx")

# External data: offset + length overflow, and a FIFO as the side file.
m = mlp()
w = m.graph.initializer[0]
w.ClearField("raw_data")
w.data_location = TensorProto.EXTERNAL
for k, v in (("location", "w.bin"), ("offset", str(2**63 - 8)), ("length", "48")):
    e = w.external_data.add()
    e.key, e.value = k, v
onnx.save(m, path("ext_overflow.onnx"))
with open(path("w.bin"), "wb") as f:
    f.write(np.ones(12, np.float32).tobytes())
m = mlp()
w = m.graph.initializer[0]
w.ClearField("raw_data")
w.data_location = TensorProto.EXTERNAL
e = w.external_data.add()
e.key, e.value = "location", "fifo.bin"
onnx.save(m, path("ext_fifo.onnx"))
if os.path.exists(path("fifo.bin")):
    os.remove(path("fifo.bin"))
os.mkfifo(path("fifo.bin"))
m = mlp()
w = m.graph.initializer[0]
w.ClearField("raw_data")
w.data_location = TensorProto.EXTERNAL
e = w.external_data.add()
e.key, e.value = "location", "../../../../etc/passwd"
onnx.save(m, path("ext_escape.onnx"))


# Malformed graphs, each wrong in one field.
def graph(nodes, inits=(), x_shape=("N", 1, 8, 8), y_shape=None, name="bad"):
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape)],
        list(inits),
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="hostile")


i64 = lambda n, v: helper.make_tensor(n, TensorProto.INT64, [len(v)], v)
save(graph([helper.make_node("Slice", ["X", "starts"], ["Y"], name="slice")], [i64("starts", [0])]), "slice_no_ends.onnx")
save(graph([helper.make_node("MaxPool", ["X"], ["Y"], name="pool", kernel_shape=[2, 2], strides=[0, 0], ceil_mode=1)]), "pool_zero_strides.onnx")
save(graph([helper.make_node("MaxPool", ["X"], ["Y"], name="pool", kernel_shape=[2, 2], strides=[2], ceil_mode=1)]), "pool_short_strides.onnx")
save(graph([helper.make_node("AveragePool", ["X"], ["Y"], name="pool", kernel_shape=[2, 2], pads=[0, 0, 0, 0, 0, 0, 0, 0, 1, 1])]), "pool_long_pads.onnx")
save(graph([helper.make_node("Relu", [], ["Y"], name="relu")]), "relu_no_input.onnx")
save(graph([helper.make_node("Relu", ["X"], [], name="relu")]), "relu_no_output.onnx")
save(graph([helper.make_node("Gemm", ["X"], ["Y"], name="gemm")], x_shape=("N", 4)), "gemm_one_input.onnx")
save(graph([helper.make_node("Concat", ["X", "X"], ["Y"], name="concat", axis=-7)], x_shape=("N", 4)), "concat_bad_axis.onnx")
save(graph([helper.make_node("Conv", ["X", "W"], ["Y"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1, 1, 1])],
           [helper.make_tensor("W", TensorProto.FLOAT, [2, 1, 3, 3], np.ones(18, np.float32))]), "conv_long_pads.onnx")
save(graph([helper.make_node("Conv", ["X", "W"], ["Y"], name="conv", kernel_shape=[3, 3], strides=[0, 0])],
           [helper.make_tensor("W", TensorProto.FLOAT, [2, 1, 3, 3], np.ones(18, np.float32))]), "conv_zero_strides.onnx")
save(graph([helper.make_node("Reshape", ["X", "shape"], ["Y"], name="reshape")], [i64("shape", [])]), "reshape_empty_shape.onnx")
# (N, 1, 8, 8) + (3, 1, 1, 1, 1, 3): the last dimensions, 8 and 3, do not
# broadcast. (A B of (3, 1, 1, 1, 1, 1) would: numpy's rule gives
# (3, 1, N, 1, 8, 8), which ONNX Runtime and the Go graph both compute.)
save(graph([helper.make_node("Add", ["X", "B"], ["Y"], name="add")],
           [helper.make_tensor("B", TensorProto.FLOAT, [3, 1, 1, 1, 1, 3], np.ones(9, np.float32))]), "add_bad_broadcast.onnx")
# A chain of 50,000 Relu nodes (1.6 MB): past the 32,768 nodes Go imports.
relus = [helper.make_node("Relu", ["X" if i == 0 else "t%d" % (i - 1)], ["t%d" % i if i < 49999 else "Y"], name="r%d" % i) for i in range(50000)]
save(graph(relus, x_shape=("N", 4), y_shape=("N", 4)), "long_chain.onnx")
np.save(path("x8.npy"), np.ones((2, 1, 8, 8), np.float32))
np.save(path("x2d.npy"), np.ones((2, 4), np.float32))

if model_dir:
    big = path("huge_model")
    if os.path.exists(big):
        shutil.rmtree(big)
    shutil.copytree(model_dir, big)
    with open(os.path.join(big, "config.json")) as f:
        cfg = json.load(f)

    def widen(o):
        # every dense layer side of 16 (the small model has two 16-wide hidden layers)
        # becomes 200000: a 200000 x 200000 layer, 160 GB of float32
        if isinstance(o, dict):
            if o.get("type") == "dense":
                for k in ("in", "out"):
                    if o.get(k) == 16:
                        o[k] = 200000
            for v in o.values():
                widen(v)
        elif isinstance(o, list):
            for v in o:
                widen(v)

    widen(cfg)
    with open(os.path.join(big, "config.json"), "w") as f:
        json.dump(cfg, f)
    # The checkpoint carries its own copy of config.json: widen that too.
    state = os.path.join(big, "train_state.safetensors")
    with open(state, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    inner = json.loads(header["__metadata__"]["config"])
    widen(inner)
    header["__metadata__"]["config"] = json.dumps(inner)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(state, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b[8 + n:])
    m = onnx.load(os.path.join(model_dir, "model.onnx"))
    for p in m.metadata_props:
        if p.key == "model":
            desc = json.loads(p.value)
            widen(desc)
            p.value = json.dumps(desc)
    onnx.save(m, path("huge_metadata.onnx"))
