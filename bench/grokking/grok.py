"""Grokking benchmark: modular addition mod 113 with the MLP of "Grokking at the Edge of
Numerical Stability" (Prieto, Barsbey, Mediano & Birdal 2025), no weight decay.

Three runs with the same data split, initialisation and optimizer:

  softmax_f32   softmax cross-entropy computed in float32 (torch's log_softmax path)
  stablemax     Regula's stablemax_cross_entropy (computed in float64 like the paper's code)
  perp_grad     softmax_f32 + Regula's perp_grad gradient transform (the paper's ⊥Grad)

For each run it reports the first step at which test accuracy reaches 90% (or that it did not
within the budget) and whether softmax collapse occurred (the paper's metric: the share of
training rows whose float32 Σ_k exp(z_k − max z) rounds to exactly 1).

The model follows the official code (models.py, utils.py, grokking_experiments.py of
LucasPrietoAl/grokking-at-the-edge-of-numerical-stability): inputs are the one-hot codes of a and
b concatenated (226), hidden layers 200-200 with ReLU, no biases, float32 parameters and
activations, full-batch training on 40% of the 113² pairs, Adam(W) with weight_decay 0,
β = (0.9, 0.99), ε = 1e-25. The forward/backward pass is written in NumPy float32 (the C ABI has
no model graph); Regula provides the StableMax loss and the optimizer step with perp_grad.

    PYTHONPATH=bindings/python python3 bench/grokking/grok.py --steps 1000
"""
import argparse
import sys
import time

import numpy as np

import regula

P = 113


def dataset(train_fraction, rng):
    """All pairs (a, b) with label (a + b) mod P, split at random; inputs as index pairs
    (a, P + b): the positions of the two ones in the official one-hot input of width 2P."""
    a, b = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    x = np.stack([a.ravel(), P + b.ravel()], axis=1)
    y = (a.ravel() + b.ravel()) % P
    order = rng.permutation(P * P)
    n = int(train_fraction * P * P)
    tr, te = order[:n], order[n:]
    return x[tr], y[tr], x[te], y[te]


def init_params(widths, rng):
    """torch.nn.Linear's default: U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5)."""
    ws = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        ws.append(rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32))
    return ws


def forward(ws, x):
    """Activations of every layer (float32); weights are (units, fan_in) as in torch. The first
    layer on the one-hot input is the sum of two columns of W1 (the same numbers as the matmul
    with the one-hot matrix, without its 2·226·200 multiplications per row)."""
    w1t = ws[0].T
    hs = [x, np.maximum(w1t[x[:, 0]] + w1t[x[:, 1]], 0)]
    for i, w in enumerate(ws[1:], 1):
        z = hs[-1] @ w.T
        hs.append(np.maximum(z, 0) if i < len(ws) - 1 else z)
    return hs


def backward(ws, hs, dz, grads):
    """Writes ∂L/∂W of every layer into grads, given ∂L/∂logits."""
    for i in range(len(ws) - 1, 0, -1):
        np.matmul(dz.T, hs[i], out=grads[i])
        dz = (dz @ ws[i]) * (hs[i] > 0)
    acc = np.zeros(grads[0].shape[::-1], dtype=dz.dtype)  # (2P, units): one-hot input rows
    np.add.at(acc, hs[0][:, 0], dz)
    np.add.at(acc, hs[0][:, 1], dz)
    grads[0][...] = acc.T


def softmax_ce_float32(z, y):
    """torch.nn.functional.log_softmax in float32 and its backward (softmax − onehot)/B: the
    path whose Σ exp rounds to 1 once the top logit leads by ≥ 16.64 (softmax collapse)."""
    z = z.astype(np.float32, copy=False)
    m = z.max(axis=1, keepdims=True)
    shifted = z - m
    lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True, dtype=np.float32))
    logp = shifted - lse
    rows = np.arange(len(y))
    loss = -logp[rows, y].mean(dtype=np.float32)
    g = np.exp(logp)
    g[rows, y] -= np.float32(1)
    g /= np.float32(len(y))
    return float(loss), g


def collapse_share(z):
    """Share of rows whose float32 Σ_k exp(z_k − max z) is exactly 1 (the official logger)."""
    z = z.astype(np.float32, copy=False)
    s = np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1, dtype=np.float32)
    return float(np.mean(s == np.float32(1)))


def run(name, data, args):
    xtr, ytr, xte, yte = data
    rng = np.random.default_rng(args.seed)
    ws = init_params([2 * P] + args.widths + [P], rng)
    grads = [np.zeros_like(w) for w in ws]
    transforms = ["perp_grad"] if name == "perp_grad" else []
    opt = regula.Optimizer("adam", lr=args.lr, beta1=0.9, beta2=args.beta2, eps=args.eps, transforms=transforms)
    stable = regula.loss("stablemax_cross_entropy") if name == "stablemax" else None
    labels = ytr.astype(np.int64)
    state = {}

    def loss_and_grad():
        hs = forward(ws, xtr)
        z = hs[-1]
        if stable is not None:
            loss, dz = stable.value_and_grad(z, labels)
        else:
            loss, dz = softmax_ce_float32(z, ytr)
        state["z"] = z
        backward(ws, hs, dz, grads)
        return loss

    start = time.time()
    reached, first_collapse, peak_collapse, acc, train_acc, loss = None, None, 0.0, 0.0, 0.0, float("nan")
    for step in range(1, args.steps + 1):
        loss = opt.step(ws, grads, grad_fn=loss_and_grad)
        if step % args.eval_every == 0 or step == args.steps:
            share = collapse_share(state["z"])
            peak_collapse = max(peak_collapse, share)
            if share > 0 and first_collapse is None:
                first_collapse = step
            train_acc = float(np.mean(state["z"].argmax(axis=1) == ytr))
            acc = float(np.mean(forward(ws, xte)[-1].argmax(axis=1) == yte))
            if acc >= 0.9 and reached is None:
                reached = step
            if args.verbose:
                print(f"  {name} step {step:5d}: loss {loss:.4g} train {train_acc:.3f} test {acc:.3f} collapse {share:.3f}",
                      flush=True)
    return {"name": name, "reached": reached, "test": acc, "train": train_acc, "loss": loss,
            "collapse": first_collapse, "peak": peak_collapse, "final": share, "seconds": time.time() - start}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1000, help="full-batch steps per run (budget)")
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--eps", type=float, default=1e-25)
    ap.add_argument("--train-fraction", type=float, default=0.4)
    ap.add_argument("--widths", type=int, nargs="+", default=[200, 200])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", nargs="+", default=["softmax_f32", "stablemax", "perp_grad"],
                    choices=["softmax_f32", "stablemax", "perp_grad"])
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    data = dataset(args.train_fraction, np.random.default_rng(args.seed + 1))
    print(f"modular addition mod {P}: {len(data[1])} train / {len(data[3])} test pairs, MLP {2 * P}-"
          + "-".join(map(str, args.widths)) + f"-{P} (no bias), float32, Adam lr {args.lr} β2 {args.beta2} "
          f"ε {args.eps:g}, weight decay 0, full batch, {args.steps} steps")
    results = [run(name, data, args) for name in args.runs]
    print()
    print("| run | test acc ≥ 90% at step | final test acc | final train acc | final loss | softmax collapse | time |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        reached = str(r["reached"]) if r["reached"] else f"not within {args.steps}"
        if r["collapse"] is None:
            collapse = "no (0% of rows at every check)"
        else:
            collapse = f"yes: from step {r['collapse']}, peak {100 * r['peak']:.1f}% of rows, {100 * r['final']:.1f}% at the end"
        print(f"| {r['name']} | {reached} | {r['test']:.3f} | {r['train']:.3f} | {r['loss']:.3g} | {collapse} | {r['seconds']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
