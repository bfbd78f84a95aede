"""PyTorch's side of trainer's sequence autoencoder tests (variants lstm and gru).

Reads a JSON file (argv[1]) of cases, each a model's recipe, its state dict
(as aebridge's trainer holds it, under PyTorch's names) and a batch x
(batch, steps, features); builds the equivalent PyTorch model — nn.LSTM or
nn.GRU encoder (batch_first, optionally bidirectional), the last layer's
final hidden state (forward then backward direction) as the code, an
optional nn.Linear projection, the code repeated over the steps, an nn.LSTM
or nn.GRU decoder and a time-distributed nn.Linear — loads the state dict
strictly (same names, same shapes), and writes to stdout, per case, the
reconstruction and, for the mean squared error against x, the loss and the
gradient of every parameter (PyTorch's autograd); and, the other way, the
state dict of the same model as PyTorch initialises it (seeded) with its
reconstruction of x, for the Go model to load and match.
"""
import json
import sys

import torch
import torch.nn as nn


class SequenceAE(nn.Module):
    def __init__(self, cell, features, hidden, layers, bidirectional, latent):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.cell, self.dirs = cell, 2 if bidirectional else 1
        self.encoder = rnn(features, hidden, layers, batch_first=True, bidirectional=bidirectional)
        code = self.dirs * hidden
        self.project = None
        if latent > 0:
            self.project = nn.Linear(code, latent)
            code = latent
        self.decoder = rnn(code, hidden, layers, batch_first=True)
        self.output = nn.Linear(hidden, features)

    def forward(self, x):
        _, h = self.encoder(x)
        if self.cell == "lstm":
            h = h[0]
        h = h[-self.dirs:]  # the last layer: (dirs, batch, hidden)
        z = h.transpose(0, 1).reshape(x.shape[0], -1)
        if self.project is not None:
            z = self.project(z)
        rep = z.unsqueeze(1).expand(-1, x.shape[1], -1)
        y, _ = self.decoder(rep)
        return self.output(y)


def main():
    torch.set_default_dtype(torch.float64)
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    out = []
    for c in cases:
        m = SequenceAE(c["cell"], c["features"], c["hidden"], c["layers"], c["bidirectional"], c["latent"])
        sd = {k: torch.tensor(v["data"], dtype=torch.float64).reshape(v["shape"]) for k, v in c["state"].items()}
        m.load_state_dict(sd, strict=True)
        x = torch.tensor(c["x"]["data"], dtype=torch.float64).reshape(c["x"]["shape"])
        y = m(x)
        loss = torch.mean((y - x) ** 2)
        loss.backward()
        torch.manual_seed(len(out))
        theirs = SequenceAE(c["cell"], c["features"], c["hidden"], c["layers"], c["bidirectional"], c["latent"])
        with torch.no_grad():
            # float32 values, as the Go model holds them
            for p in theirs.parameters():
                p.copy_(p.float().double())
            y2 = theirs(x)
        out.append({
            "output": y.detach().reshape(-1).tolist(),
            "loss": loss.item(),
            "grads": {k: p.grad.reshape(-1).tolist() for k, p in m.named_parameters()},
            "torch_state": {k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in theirs.state_dict().items()},
            "torch_output": y2.reshape(-1).tolist(),
        })
    json.dump({"torch": torch.__version__, "cases": out}, sys.stdout)


if __name__ == "__main__":
    main()
