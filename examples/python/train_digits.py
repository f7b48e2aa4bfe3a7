"""Train an MLP on the bundled digits with Python driving the loop and Regula doing the rest.

Python owns batching, epochs and evaluation, and the model's forward/backward in NumPy
(examples/python/graph_digits.py builds the same kind of model as a regula.Graph instead). Regula
provides

  * the loss: softmax_cross_entropy with label smoothing (value and gradient w.r.t. the logits),
  * a penalty on the weights through value_and_grad: l2 on every weight matrix,
  * a proximal step: group_lasso's prox on the first layer's rows (one row per hidden unit), which
    switches whole hidden units off,
  * the optimizer step: Adam with a cosine schedule and global-norm gradient clipping.

    make build
    PYTHONPATH=bindings/python python3 examples/python/train_digits.py [--epochs 30] [--plot curves.png]

Exits with status 1 when the final test accuracy is below --min-accuracy.
"""
import argparse
import pathlib
import sys

import numpy as np

import regula

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_digits(path):
    """64 pixel values (0..16) then the label, one image per line."""
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1] / 16.0, table[:, -1].astype(np.int64)


def split(x, y, test_share, rng):
    order = rng.permutation(len(y))
    n_test = int(round(test_share * len(y)))
    te, tr = order[:n_test], order[n_test:]
    return x[tr], y[tr], x[te], y[te]


class MLP:
    """ReLU MLP; weights (units, fan_in) as Regula's convention, He-initialised."""

    def __init__(self, widths, rng):
        self.weights = [rng.normal(0, np.sqrt(2 / i), size=(o, i)) for i, o in zip(widths[:-1], widths[1:])]
        self.biases = [np.zeros(o) for o in widths[1:]]
        self.grads = [np.zeros_like(p) for p in self.weights + self.biases]

    @property
    def params(self):
        return self.weights + self.biases

    def forward(self, x):
        hs = [x]
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = hs[-1] @ w.T + b
            hs.append(np.maximum(z, 0) if k < len(self.weights) - 1 else z)
        return hs

    def backward(self, hs, dz):
        """Fills self.grads (weights, then biases) from ∂L/∂logits."""
        n = len(self.weights)
        for k in range(n - 1, -1, -1):
            np.matmul(dz.T, hs[k], out=self.grads[k])
            self.grads[n + k][...] = dz.sum(axis=0)
            if k:
                dz = (dz @ self.weights[k]) * (hs[k] > 0)


def accuracy(model, x, y):
    return float(np.mean(model.forward(x)[-1].argmax(axis=1) == y))


def main(argv=None):
    ap = argparse.ArgumentParser(description="MLP on the bundled digits: NumPy model, Regula loss/penalties/optimizer")
    ap.add_argument("--data", default=str(ROOT / "data" / "digits.csv"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--l2", type=float, default=1e-4, help="strength of the l2 penalty on the weight matrices")
    ap.add_argument("--group-lasso", type=float, default=0.3, help="strength of group_lasso's prox on layer 1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-accuracy", type=float, default=0.9)
    ap.add_argument("--plot", help="write the training curves to this PNG (needs matplotlib)")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    xtr, ytr, xte, yte = split(*load_digits(args.data), 0.2, rng)
    model = MLP([xtr.shape[1], args.hidden, 10], rng)

    ce = regula.loss("softmax_cross_entropy", label_smoothing=0.1)
    l2 = regula.penalty("l2", strength=args.l2)
    group = regula.penalty("group_lasso", strength=args.group_lasso)
    total_steps = args.epochs * ((len(ytr) + args.batch - 1) // args.batch)
    opt = regula.Optimizer("adam", lr=args.lr, schedule="cosine", total_steps=total_steps,
                           transforms=["clip_global_norm:max_norm=5"])
    penalty_grad = [np.empty_like(w) for w in model.weights]  # reused buffers (out=)

    print(f"digits: {len(ytr)} train / {len(yte)} test, MLP {xtr.shape[1]}-{args.hidden}-10, "
          f"softmax_cross_entropy(label_smoothing=0.1) + l2({args.l2:g}), group_lasso prox({args.group_lasso:g}) "
          f"on layer 1, Adam {args.lr:g} cosine, clip_global_norm 5")
    curves = []
    step = 0
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(ytr))
        total = 0.0
        for start in range(0, len(ytr), args.batch):
            idx = order[start:start + args.batch]
            hs = model.forward(xtr[idx])
            loss, dz = ce.value_and_grad(hs[-1], ytr[idx])
            model.backward(hs, dz)
            for w, g, buf in zip(model.weights, model.grads, penalty_grad):
                value, _ = l2.value_and_grad(w, out=buf)
                loss += value
                g += buf
            opt.step(model.params, model.grads)
            # The proximal half of proximal gradient: prox_{η_t·λ·‖row‖₂} on the first layer, with
            # the learning rate η_t the cosine schedule gave this step.
            lr_t = args.lr * 0.5 * (1 + np.cos(np.pi * step / total_steps))
            step += 1
            group.prox(model.weights[0], step=lr_t, out=model.weights[0])
            total += loss * len(idx)
        train_acc, test_acc = accuracy(model, xtr, ytr), accuracy(model, xte, yte)
        curves.append((epoch, total / len(ytr), train_acc, test_acc))
        print(f"epoch {epoch:3d}  loss {total / len(ytr):.4f}  train {train_acc:.4f}  test {test_acc:.4f}")

    alive = int(np.count_nonzero(np.abs(model.weights[0]).sum(axis=1)))
    print(f"test accuracy {curves[-1][3]:.4f}; hidden units still active: {alive}/{args.hidden}")
    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot")
        else:
            e, l, tr, te = zip(*curves)
            fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
            a.plot(e, l); a.set_xlabel("epoch"); a.set_ylabel("objective")
            b.plot(e, tr, label="train"); b.plot(e, te, label="test"); b.set_xlabel("epoch"); b.legend()
            fig.tight_layout(); fig.savefig(args.plot)
            print(f"curves written to {args.plot}")
    if curves[-1][3] < args.min_accuracy:
        print(f"test accuracy {curves[-1][3]:.4f} is below {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
