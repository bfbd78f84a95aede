"""Builds small sequence autoencoders — LSTM and GRU, as PyTorch exports
them and as tf2onnx writes a Keras model — with reference inputs and
outputs, for TestEveryFixture (cmd/aebridge/fixtures_test.go): each must
import, run in Go as in ONNX Runtime and as the reference says, convert,
re-export and fine-tune.

Run from the repository root with Debian's interpreter, which has
python3-torch and python3-onnx (`make fixtures` does):

    ONNXRUNTIME_SHARED_LIBRARY_PATH=.deps/onnxruntime/libonnxruntime.so.1 \\
        /usr/bin/python3 testdata/rnn/make_rnn_fixtures.py --out testdata/rnn

Models:
    lstm_ae        nn.LSTM encoder (batch_first), its last hidden state →
                   code by nn.Linear, repeated over time, nn.LSTM decoder,
                   time-distributed nn.Linear: the PyTorch-style LSTM
                   autoencoder
    bilstm2_ae     the same with a 2-layer bidirectional encoder (the code
                   from both directions' last hidden states)
    gru_ae         lstm_ae with nn.GRU (linear_before_reset = 1)
    keras_lstm_ae  a Keras LSTM autoencoder (LSTM → RepeatVector → LSTM
                   with return_sequences → TimeDistributed(Dense)) written
                   by hand with onnx.helper the way tf2onnx writes it:
                   Transposes to time-major, Keras' kernel (gates i, f, c,
                   o, one bias) reordered into ONNX's W, R, B (i, o, f, c),
                   zero initial states from Shape, Slice, Concat,
                   ConstantOfShape and Unsqueeze, Squeeze of the direction
                   axis, RepeatVector as Tile of an
                   Unsqueeze, MatMul + Add for the dense layer, unk__
                   dimension names.
    keras_gru_ae   the same with Keras GRUs (reset_after, TF2's default:
                   linear_before_reset = 1, Keras' input and recurrent
                   biases as Wb and Rb; Keras' gates z, r, h are ONNX's
                   order) and RepeatVector as Expand of an Unsqueeze.

The PyTorch models' reference outputs are PyTorch's (eval mode), and each
export's W, R and B are checked to be the PyTorch layers' weights through
the gate mapping graph/rnn.go documents (torch_to_onnx); the
hand-written graphs' are ONNX Runtime's (checked against Keras' layers
written in numpy), computed by aebridge itself
(`go run ./cmd/aebridge run MODEL --input x.npy --output y.npy`, whose
default backend is ONNX Runtime; ONNX Runtime for Python is not installed
here), so the script needs Go and ONNXRUNTIME_SHARED_LIBRARY_PATH.

Files, for each model NAME: NAME.opsetK.onnx, NAME.in0.npy (batch 5),
NAME.out0.npy, and manifest.json (the format of testdata/pytorch's).
Everything is seeded: a second run gives the same files.
"""
import argparse
import json
import os
import subprocess

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

OPSETS = (11, 13, 14, 17)
KERAS_OPSETS = (11, 13)
BATCH = 5
T, F, H, CODE = 6, 3, 8, 4


class SeqAE(nn.Module):
    """Encoder RNN (batch_first) → last hidden state → Linear code →
    repeated T times → decoder RNN → time-distributed Linear."""

    def __init__(self, cell=nn.LSTM, layers=1, bidirectional=False):
        super().__init__()
        self.encoder = cell(F, H, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.dirs = 2 if bidirectional else 1
        self.code = nn.Linear(H * self.dirs, CODE)
        self.decoder = cell(CODE, H, batch_first=True)
        self.out = nn.Linear(H, F)

    def forward(self, x):
        _, h = self.encoder(x)
        if isinstance(h, tuple):  # LSTM: (h_n, c_n)
            h = h[0]
        # h_n is (layers·dirs, batch, H): the last layer's directions.
        last = torch.cat([h[-k] for k in range(self.dirs, 0, -1)], dim=1)
        z = self.code(last)
        y, _ = self.decoder(z.unsqueeze(1).repeat(1, T, 1))
        return self.out(y)


def torch_models():
    yield "lstm_ae", SeqAE()
    yield "bilstm2_ae", SeqAE(layers=2, bidirectional=True)
    yield "gru_ae", SeqAE(cell=nn.GRU)


def torch_to_onnx(rnn, layer, suffix=""):
    """ONNX's W, R, B (one direction) of a PyTorch nn.LSTM or nn.GRU layer,
    by the mapping graph/rnn.go documents: LSTM gates i, f, g, o → i, o,
    f, c; GRU r, z, n → z, r, h; B = [b_ih, b_hh] reordered alike."""
    p = {k: v.detach().numpy() for k, v in rnn.named_parameters()}
    w, r = p[f"weight_ih_l{layer}{suffix}"], p[f"weight_hh_l{layer}{suffix}"]
    bi, bh = p[f"bias_ih_l{layer}{suffix}"], p[f"bias_hh_l{layer}{suffix}"]
    h = r.shape[1]
    blocks = (0, 3, 1, 2) if isinstance(rnn, nn.LSTM) else (1, 0, 2)
    order = np.concatenate([np.arange(k * h, (k + 1) * h) for k in blocks])
    return w[order], r[order], np.concatenate([bi[order], bh[order]])


def check_torch_mapping(module, path):
    """Asserts that the export's LSTM/GRU weights are the PyTorch layers'
    through torch_to_onnx: the encoder's layers (both directions) and the
    decoder, in the order the export's nodes come."""
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    nodes = [n for n in m.graph.node if n.op_type in ("LSTM", "GRU")]
    expect = []
    enc = module.encoder
    for layer in range(enc.num_layers):
        expect.append([torch_to_onnx(enc, layer, s) for s in (["", "_reverse"] if enc.bidirectional else [""])])
    expect.append([torch_to_onnx(module.decoder, 0)])
    assert len(nodes) == len(expect), f"{path}: {len(nodes)} recurrent nodes, want {len(expect)}"
    for n, dirs in zip(nodes, expect):
        for k in range(3):
            got = inits[n.input[k + 1]]
            want = np.stack([d[k] for d in dirs])
            assert np.array_equal(got, want), f"{path}: node {n.name}: input {k + 1} is not the PyTorch weights mapped"


def keras_to_onnx_lstm(kernel, recurrent, bias):
    """Keras' LSTM weights (kernel (in, 4H), recurrent_kernel (H, 4H), bias
    (4H), gates i, f, c, o along the columns) as ONNX's W (1, 4H, in), R
    (1, 4H, H), B (1, 8H) with gates i, o, f, c, as tf2onnx converts them;
    Keras' one bias is Wb, Rb is zero."""
    h = recurrent.shape[0]
    order = np.concatenate([np.arange(0, h), np.arange(3 * h, 4 * h), np.arange(h, 2 * h), np.arange(2 * h, 3 * h)])
    w = kernel[:, order].T[None]
    r = recurrent[:, order].T[None]
    b = np.concatenate([bias[order], np.zeros(4 * h, np.float32)])[None]
    return w.astype(np.float32), r.astype(np.float32), b.astype(np.float32)


def keras_weights():
    """The Keras model's weights: (kernel, recurrent_kernel, bias) of both
    LSTMs in Keras' layout, and the dense layer's (kernel, bias)."""
    rng = np.random.RandomState(sum(map(ord, "keras_lstm_ae")))

    def uniform(*shape, scale=0.5):
        return ((rng.rand(*shape) - 0.5) * 2 * scale).astype(np.float32)

    enc = (uniform(F, 4 * H), uniform(H, 4 * H), uniform(4 * H))
    dec = (uniform(H, 4 * H), uniform(H, 4 * H), uniform(4 * H))
    return enc, dec, (uniform(H, F), uniform(F))


def keras_lstm(x, kernel, recurrent, bias):
    """Keras' LSTM (return_sequences) in float64 numpy, gates i, f, c, o
    in Keras' order: the check that keras_to_onnx_lstm reorders rightly."""
    sig = lambda v: 1 / (1 + np.exp(-v))
    n, steps, _ = x.shape
    hid = recurrent.shape[0]
    h, c, ys = np.zeros((n, hid)), np.zeros((n, hid)), []
    for t in range(steps):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * hid:(k + 1) * hid] for k in range(4))
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys, axis=1)


def keras_reference(x):
    """The Keras model on x, in numpy."""
    enc, dec, (dw, db) = keras_weights()
    code = keras_lstm(x.astype(np.float64), *enc)[:, -1]
    y = keras_lstm(np.repeat(code[:, None], T, axis=1), *dec)
    return y @ dw + db


def keras_lstm_ae(opset):
    """The hand-written tf2onnx-style graph at the opset (Squeeze and
    Unsqueeze take axes as an attribute before 13, as an input from 13)."""
    enc, dec, (dense_w, dense_b) = keras_weights()
    enc, dec = keras_to_onnx_lstm(*enc), keras_to_onnx_lstm(*dec)
    inits = [
        numpy_helper.from_array(enc[0], "lstm/W"), numpy_helper.from_array(enc[1], "lstm/R"),
        numpy_helper.from_array(enc[2], "lstm/B"),
        numpy_helper.from_array(dec[0], "lstm_1/W"), numpy_helper.from_array(dec[1], "lstm_1/R"),
        numpy_helper.from_array(dec[2], "lstm_1/B"),
        numpy_helper.from_array(dense_w, "time_distributed/dense/MatMul/ReadVariableOp:0"),
        numpy_helper.from_array(dense_b, "time_distributed/dense/BiasAdd/ReadVariableOp:0"),
        numpy_helper.from_array(np.array([1, T, 1], np.int64), "repeat_vector/Tile/multiples:0"),
    ]
    nodes = []

    def axes_node(op, x, axes, out):
        if opset < 13:
            nodes.append(helper.make_node(op, [x], [out], name=out.split(":")[0], axes=axes))
        else:
            name = out.split(":")[0] + "/axes"
            inits.append(numpy_helper.from_array(np.array(axes, np.int64), name))
            nodes.append(helper.make_node(op, [x, name], [out], name=out.split(":")[0]))

    def zero_state(scope, x):
        """Keras' zero initial state, tf.zeros(tf.stack([batch, units])),
        as tf2onnx writes it: Shape, Slice of the batch, Concat with the
        units, ConstantOfShape (TF's Fill), Unsqueeze of the direction."""
        inits.append(numpy_helper.from_array(np.array([0], np.int64), f"{scope}/strided_slice/begin:0"))
        inits.append(numpy_helper.from_array(np.array([1], np.int64), f"{scope}/strided_slice/end:0"))
        inits.append(numpy_helper.from_array(np.array([0], np.int64), f"{scope}/strided_slice/axes:0"))
        inits.append(numpy_helper.from_array(np.array([H], np.int64), f"{scope}/zeros/packed/1:0"))
        nodes.append(helper.make_node("Shape", [x], [f"{scope}/Shape:0"], name=f"{scope}/Shape"))
        nodes.append(helper.make_node("Slice", [f"{scope}/Shape:0", f"{scope}/strided_slice/begin:0", f"{scope}/strided_slice/end:0",
                                                f"{scope}/strided_slice/axes:0"], [f"{scope}/strided_slice:0"], name=f"{scope}/strided_slice"))
        nodes.append(helper.make_node("Concat", [f"{scope}/strided_slice:0", f"{scope}/zeros/packed/1:0"], [f"{scope}/zeros/packed:0"],
                                      name=f"{scope}/zeros/packed", axis=0))
        nodes.append(helper.make_node("ConstantOfShape", [f"{scope}/zeros/packed:0"], [f"{scope}/zeros:0"], name=f"{scope}/zeros",
                                      value=helper.make_tensor("value", TensorProto.FLOAT, [1], [0.0])))
        axes_node("Unsqueeze", f"{scope}/zeros:0", [0], f"{scope}/zeros_unsqueeze:0")
        return f"{scope}/zeros_unsqueeze:0"

    h0 = zero_state("lstm", "input_1")
    nodes.append(helper.make_node("Transpose", ["input_1"], ["lstm/transpose:0"], name="lstm/transpose", perm=[1, 0, 2]))
    nodes.append(helper.make_node("LSTM", ["lstm/transpose:0", "lstm/W", "lstm/R", "lstm/B", "", h0, h0],
                                  ["lstm/Y:0", "lstm/Y_h:0", "lstm/Y_c:0"], name="lstm/LSTM", hidden_size=H,
                                  direction="forward"))
    axes_node("Squeeze", "lstm/Y_h:0", [0], "lstm/Squeeze:0")
    axes_node("Unsqueeze", "lstm/Squeeze:0", [1], "repeat_vector/ExpandDims:0")
    nodes.append(helper.make_node("Tile", ["repeat_vector/ExpandDims:0", "repeat_vector/Tile/multiples:0"],
                                  ["repeat_vector/Tile:0"], name="repeat_vector/Tile"))
    h1 = zero_state("lstm_1", "repeat_vector/Tile:0")
    nodes.append(helper.make_node("Transpose", ["repeat_vector/Tile:0"], ["lstm_1/transpose:0"], name="lstm_1/transpose", perm=[1, 0, 2]))
    nodes.append(helper.make_node("LSTM", ["lstm_1/transpose:0", "lstm_1/W", "lstm_1/R", "lstm_1/B", "", h1, h1],
                                  ["lstm_1/Y:0", "lstm_1/Y_h:0", "lstm_1/Y_c:0"], name="lstm_1/LSTM", hidden_size=H,
                                  direction="forward"))
    axes_node("Squeeze", "lstm_1/Y:0", [1], "lstm_1/Squeeze:0")
    nodes.append(helper.make_node("Transpose", ["lstm_1/Squeeze:0"], ["lstm_1/transpose_1:0"], name="lstm_1/transpose_1", perm=[1, 0, 2]))
    nodes.append(helper.make_node("MatMul", ["lstm_1/transpose_1:0", "time_distributed/dense/MatMul/ReadVariableOp:0"],
                                  ["time_distributed/dense/MatMul:0"], name="time_distributed/dense/MatMul"))
    nodes.append(helper.make_node("Add", ["time_distributed/dense/MatMul:0", "time_distributed/dense/BiasAdd/ReadVariableOp:0"],
                                  ["time_distributed"], name="time_distributed/dense/BiasAdd"))
    graph = helper.make_graph(
        nodes, "model",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["unk__12", T, F])],
        [helper.make_tensor_value_info("time_distributed", TensorProto.FLOAT, ["unk__13", T, F])],
        inits)
    model = helper.make_model(graph, producer_name="tf2onnx", producer_version="1.16.1",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def keras_gru_weights():
    """The Keras GRU model's weights (reset_after=True, TF2's default):
    (kernel (in, 3H), recurrent_kernel (H, 3H), bias (2, 3H): input and
    recurrent biases) of both GRUs, gates z, r, h as ONNX has them, and the
    dense layer's."""
    rng = np.random.RandomState(sum(map(ord, "keras_gru_ae")))

    def uniform(*shape, scale=0.5):
        return ((rng.rand(*shape) - 0.5) * 2 * scale).astype(np.float32)

    enc = (uniform(F, 3 * H), uniform(H, 3 * H), uniform(2, 3 * H))
    dec = (uniform(H, 3 * H), uniform(H, 3 * H), uniform(2, 3 * H))
    return enc, dec, (uniform(H, F), uniform(F))


def keras_gru(x, kernel, recurrent, bias):
    """Keras' GRU (reset_after=True, return_sequences) in float64 numpy."""
    sig = lambda v: 1 / (1 + np.exp(-v))
    n, steps, _ = x.shape
    hid = recurrent.shape[0]
    h, ys = np.zeros((n, hid)), []
    for t in range(steps):
        xz = x[:, t] @ kernel + bias[0]
        hz = h @ recurrent + bias[1]
        z = sig(xz[:, :hid] + hz[:, :hid])
        r = sig(xz[:, hid:2 * hid] + hz[:, hid:2 * hid])
        hh = np.tanh(xz[:, 2 * hid:] + r * hz[:, 2 * hid:])
        h = z * h + (1 - z) * hh
        ys.append(h)
    return np.stack(ys, axis=1)


def keras_gru_reference(x):
    enc, dec, (dw, db) = keras_gru_weights()
    code = keras_gru(x.astype(np.float64), *enc)[:, -1]
    return keras_gru(np.repeat(code[:, None], T, axis=1), *dec) @ dw + db


def keras_gru_ae(opset):
    """A Keras GRU autoencoder as tf2onnx writes it: GRU with
    linear_before_reset = 1 (reset_after), W and R the kernels transposed
    (Keras' gates z, r, h are ONNX's), B Keras' two biases; RepeatVector as
    Expand of an Unsqueeze; no initial state (zero)."""
    (ek, er, eb), (dk, dr, dbias), (dense_w, dense_b) = keras_gru_weights()
    inits = [numpy_helper.from_array(v, n) for v, n in (
        (ek.T[None].copy(), "gru/W"), (er.T[None].copy(), "gru/R"), (eb.reshape(1, -1), "gru/B"),
        (dk.T[None].copy(), "gru_1/W"), (dr.T[None].copy(), "gru_1/R"), (dbias.reshape(1, -1), "gru_1/B"),
        (dense_w, "time_distributed/dense/MatMul/ReadVariableOp:0"), (dense_b, "time_distributed/dense/BiasAdd/ReadVariableOp:0"),
        (np.array([1, T, H], np.int64), "repeat_vector/shape:0"))]
    nodes = []

    def axes_node(op, x, axes, out):
        if opset < 13:
            nodes.append(helper.make_node(op, [x], [out], name=out.split(":")[0], axes=axes))
        else:
            name = out.split(":")[0] + "/axes"
            inits.append(numpy_helper.from_array(np.array(axes, np.int64), name))
            nodes.append(helper.make_node(op, [x, name], [out], name=out.split(":")[0]))

    nodes.append(helper.make_node("Transpose", ["input_1"], ["gru/transpose:0"], name="gru/transpose", perm=[1, 0, 2]))
    nodes.append(helper.make_node("GRU", ["gru/transpose:0", "gru/W", "gru/R", "gru/B"], ["gru/Y:0", "gru/Y_h:0"],
                                  name="gru/GRU", hidden_size=H, linear_before_reset=1, direction="forward"))
    axes_node("Squeeze", "gru/Y_h:0", [0], "gru/Squeeze:0")
    axes_node("Unsqueeze", "gru/Squeeze:0", [1], "repeat_vector/ExpandDims:0")
    nodes.append(helper.make_node("Expand", ["repeat_vector/ExpandDims:0", "repeat_vector/shape:0"], ["repeat_vector/Expand:0"],
                                  name="repeat_vector/Expand"))
    nodes.append(helper.make_node("Transpose", ["repeat_vector/Expand:0"], ["gru_1/transpose:0"], name="gru_1/transpose", perm=[1, 0, 2]))
    nodes.append(helper.make_node("GRU", ["gru_1/transpose:0", "gru_1/W", "gru_1/R", "gru_1/B"], ["gru_1/Y:0", "gru_1/Y_h:0"],
                                  name="gru_1/GRU", hidden_size=H, linear_before_reset=1, direction="forward"))
    axes_node("Squeeze", "gru_1/Y:0", [1], "gru_1/Squeeze:0")
    nodes.append(helper.make_node("Transpose", ["gru_1/Squeeze:0"], ["gru_1/transpose_1:0"], name="gru_1/transpose_1", perm=[1, 0, 2]))
    nodes.append(helper.make_node("MatMul", ["gru_1/transpose_1:0", "time_distributed/dense/MatMul/ReadVariableOp:0"],
                                  ["time_distributed/dense/MatMul:0"], name="time_distributed/dense/MatMul"))
    nodes.append(helper.make_node("Add", ["time_distributed/dense/MatMul:0", "time_distributed/dense/BiasAdd/ReadVariableOp:0"],
                                  ["time_distributed"], name="time_distributed/dense/BiasAdd"))
    graph = helper.make_graph(
        nodes, "model",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["unk__20", T, F])],
        [helper.make_tensor_value_info("time_distributed", TensorProto.FLOAT, ["unk__21", T, F])],
        inits)
    model = helper.make_model(graph, producer_name="tf2onnx", producer_version="1.16.1",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_outputs(path, x_path, out_path):
    """ONNX Runtime's output of the model on the input, through aebridge run."""
    subprocess.run(["go", "run", "./cmd/aebridge", "run", path, "--input", x_path, "--output", out_path], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    manifest = {"torch": torch.__version__.split("+")[0], "onnx": onnx.__version__,
                "opsets": sorted(set(OPSETS) | set(KERAS_OPSETS)), "models": []}
    for name, module in torch_models():
        module.eval()
        with torch.no_grad():
            gen = torch.Generator().manual_seed(sum(map(ord, name)))
            for p in module.parameters():
                p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 2 / max(1, p.shape[-1]) ** 0.5)
            x = torch.rand(BATCH, T, F, generator=gen)
            y = module(x)
        entry = {"name": name, "inputs": [{"name": "x", "file": f"{name}.in0.npy", "shape": list(x.shape)}],
                 "outputs": [{"name": "y", "file": f"{name}.out0.npy", "shape": list(y.shape)}], "files": {}}
        np.save(os.path.join(a.out, f"{name}.in0.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(a.out, f"{name}.out0.npy"), y.numpy().astype(np.float32))
        for opset in OPSETS:
            f = f"{name}.opset{opset}.onnx"
            path = os.path.join(a.out, f)
            torch.onnx.export(module, (x[:2],), path, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset,
                              do_constant_folding=True)
            onnx.checker.check_model(onnx.load(path), full_check=True)
            check_torch_mapping(module, path)
            entry["files"][str(opset)] = f
        manifest["models"].append(entry)
        print(f"{name}: opsets {', '.join(entry['files'])}")

    for seed, (name, build, reference) in enumerate([("keras_lstm_ae", keras_lstm_ae, keras_reference),
                                                      ("keras_gru_ae", keras_gru_ae, keras_gru_reference)]):
        x = np.random.RandomState(7 + seed).rand(BATCH, T, F).astype(np.float32)
        x_path = os.path.join(a.out, f"{name}.in0.npy")
        np.save(x_path, x)
        entry = {"name": name, "inputs": [{"name": "input_1", "file": f"{name}.in0.npy", "shape": list(x.shape)}],
                 "outputs": [{"name": "time_distributed", "file": f"{name}.out0.npy", "shape": list(x.shape)}], "files": {}}
        outs = []
        for opset in KERAS_OPSETS:
            f = f"{name}.opset{opset}.onnx"
            path = os.path.join(a.out, f)
            onnx.save(build(opset), path)
            out = os.path.join(a.out, f"{name}.ort{opset}.npy")
            ort_outputs(path, x_path, out)
            outs.append(np.load(out))
            os.remove(out)
            entry["files"][str(opset)] = f
        for o in outs[1:]:
            assert np.array_equal(o, outs[0]), "the opsets' outputs differ"
        gap = np.abs(outs[0] - reference(x)).max()
        assert gap < 1e-5, f"{name}: ONNX Runtime's output is {gap} from Keras' layers in numpy: the weight conversion is wrong"
        np.save(os.path.join(a.out, f"{name}.out0.npy"), outs[0])
        manifest["models"].append(entry)
        print(f"{name}: opsets {', '.join(entry['files'])} (reference: ONNX Runtime)")
    with open(os.path.join(a.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
