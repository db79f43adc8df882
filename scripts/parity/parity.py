#!/usr/bin/python3
"""PyTorch side of closecast's LSTM parity checks (Debian python3-torch).

Builds the same network as closecast's lstm package from a closecast-written
safetensors weights file (PyTorch names: lstm{k}.weight_ih_l0 ..., dense.weight,
dense.bias) with torch's load_state_dict(strict=True), and

  golden DIR     for every DIR/<name>.weights.safetensors with a matching
                 DIR/<name>.data.safetensors (tensors x [n,T,F], y [n,O];
                 metadata loss, huber_delta, quantiles, lr, beta1, beta2,
                 eps, steps; for loss "pinball" y is [n,1])
                 writes DIR/<name>.golden.safetensors with
                   out          forward outputs (no dropout)
                   loss         [1] the loss of out vs y
                   grad.<param> gradient of the loss (dropout off)
                   adam.<param> the weights after `steps` Keras-Adam steps on (x, y)
  predict        --weights W --input I --output O: eval-mode predictions of I's
                 tensor x, written as tensor y of O.

Conventions are those of ../../../shared/reference/torch_lstm.py: Keras has one
LSTM bias, so bias_hh is frozen (requires_grad=False) and its gradient is that
of bias_ih; Adam is the Keras/TF rule var -= lr*sqrt(1-b2^t)/(1-b1^t) *
m/(sqrt(v)+eps). Regenerate the golden files with
  go test ./lstm -run TestParityGolden -update-golden
which writes the inputs and runs `parity.py golden lstm/testdata/parity`.
safetensors is read and written here by hand (struct + json): Debian has no
python3-safetensors package.
"""

import argparse
import glob
import json
import math
import os
import struct
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    data = buf[8 + n:]
    out = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name}: dtype {e['dtype']}, want F32")
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[b:end], dtype="<f4").reshape(e["shape"]).copy()
        out[name] = torch.from_numpy(arr)
    return out, meta


def write_safetensors(path, tensors, meta=None):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class Net(nn.Module):
    """Stacked nn.LSTM(batch_first) modules lstm0.. with dropout on each output, then dense."""

    def __init__(self, features, units, outputs, dropout):
        super().__init__()
        self.n = len(units)
        inp = features
        for k, u in enumerate(units):
            setattr(self, f"lstm{k}", nn.LSTM(inp, u, batch_first=True))
            inp = u
        self.drop = nn.Dropout(dropout)
        self.dense = nn.Linear(inp, outputs)

    def forward(self, x):
        for k in range(self.n):
            x, _ = getattr(self, f"lstm{k}")(x)
            if k < self.n - 1:
                x = self.drop(x)
        return self.dense(self.drop(x[:, -1, :]))


def load_net(path, dropout=0.0):
    sd, meta = read_safetensors(path)
    layers = sorted({int(k.split(".")[0][4:]) for k in sd if k.startswith("lstm")})
    units = [sd[f"lstm{k}.weight_hh_l0"].shape[1] for k in layers]
    features = sd["lstm0.weight_ih_l0"].shape[1]
    outputs = sd["dense.weight"].shape[0]
    net = Net(features, units, outputs, dropout)
    net.load_state_dict(sd, strict=True)
    for k in layers:
        getattr(net, f"lstm{k}").bias_hh_l0.requires_grad_(False)
    return net, meta


class PinballLoss(nn.Module):
    """closecast's quantile head: raw outputs r [n,O] become non-crossing
    quantiles q_0 = r_0, q_j = q_{j-1} + softplus(r_j); the loss is the mean
    over windows and levels of max(tau*u, (tau-1)*u), u = y - q_j, y [n,1]."""

    def __init__(self, levels):
        super().__init__()
        self.register_buffer("tau", torch.tensor(levels, dtype=torch.float32))

    def forward(self, raw, y):
        steps = torch.cat([raw[:, :1], nn.functional.softplus(raw[:, 1:])], dim=1)
        u = y - torch.cumsum(steps, dim=1)
        return torch.maximum(self.tau * u, (self.tau - 1) * u).mean()


def loss_fn(meta):
    name = meta.get("loss", "mae")
    if name == "mae":
        return nn.L1Loss()
    if name == "mse":
        return nn.MSELoss()
    if name == "huber":
        return nn.HuberLoss(delta=float(meta.get("huber_delta", "1")))
    if name == "pinball":
        return PinballLoss([float(v) for v in meta["quantiles"].split(",")])
    raise SystemExit(f"unknown loss {name!r}")


def keras_adam(params, state, lr, b1, b2, eps):
    with torch.no_grad():
        for name, p in params:
            st = state.setdefault(name, {"t": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)})
            st["t"] += 1
            t = st["t"]
            st["m"].mul_(b1).add_(p.grad, alpha=1.0 - b1)
            st["v"].mul_(b2).addcmul_(p.grad, p.grad, value=1.0 - b2)
            alpha = lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
            p.addcdiv_(st["m"], st["v"].sqrt().add_(eps), value=-alpha)


def golden(directory):
    torch.set_num_threads(1)
    files = sorted(glob.glob(os.path.join(directory, "*.weights.safetensors")))
    if not files:
        raise SystemExit(f"no *.weights.safetensors in {directory}")
    for wpath in files:
        base = wpath[: -len(".weights.safetensors")]
        data, meta = read_safetensors(base + ".data.safetensors")
        x, y = data["x"], data["y"]
        net, _ = load_net(wpath, dropout=0.0)  # dropout off: gradients must be deterministic
        net.train()
        crit = loss_fn(meta)
        params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
        out = net(x)
        loss = crit(out, y)
        net.zero_grad(set_to_none=True)
        loss.backward()
        res = {"out": out.detach(), "loss": loss.detach().reshape(1)}
        for n, p in params:
            res["grad." + n] = p.grad.detach().clone()
        state = {}
        steps = int(meta.get("steps", "3"))
        for _ in range(steps):
            net.zero_grad(set_to_none=True)
            crit(net(x), y).backward()
            keras_adam(params, state, float(meta["lr"]), float(meta["beta1"]),
                       float(meta["beta2"]), float(meta["eps"]))
        for n, p in net.state_dict().items():
            res["adam." + n] = p.detach().clone()
        write_safetensors(base + ".golden.safetensors", res,
                          {"torch": torch.__version__, "steps": steps, "loss": meta.get("loss", "mae")})
        print(f"{base}.golden.safetensors: loss {loss.item():.8g}", flush=True)


def predict(weights, inp, outp):
    torch.set_num_threads(1)
    net, _ = load_net(weights)
    net.eval()
    data, _ = read_safetensors(inp)
    with torch.no_grad():
        y = net(data["x"])
    write_safetensors(outp, {"y": y}, {"torch": torch.__version__})


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden")
    g.add_argument("dir")
    q = sub.add_parser("predict")
    q.add_argument("--weights", required=True)
    q.add_argument("--input", required=True)
    q.add_argument("--output", required=True)
    a = p.parse_args(argv)
    if a.cmd == "golden":
        golden(a.dir)
    else:
        predict(a.weights, a.input, a.output)


if __name__ == "__main__":
    main(sys.argv[1:])
