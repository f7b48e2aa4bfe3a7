"""Train an MLP on the bundled digits as a regula.Graph, with Python driving the loop.

The model lives in Regula's autodiff graph (linear → ReLU → dropout → linear, the loss
softmax_cross_entropy with label smoothing, and an l2 penalty on both weight matrices as graph
nodes); Python owns the data, the batches, the epochs and the evaluation. Each step is
``g.step(opt)``: Adam with a cosine schedule and SAM, which runs the graph forward and backward
twice per step on the fed batch. (examples/python/train_digits.py writes the model in NumPy
instead and uses Regula for the loss, penalties and optimizer only.)

    make build
    PYTHONPATH=bindings/python python3 examples/python/graph_digits.py [--epochs 20] [--save model.params]

Exits with status 1 when the final test accuracy is below --min-accuracy.
"""
import argparse
import sys

import numpy as np

import regula
from train_digits import ROOT, load_digits  # the same CSV loader (examples/python is on sys.path)


def build(features, hidden, classes, dropout, l2, seed):
    """The model as a graph; returns the graph and its input, label and logit nodes."""
    g = regula.Graph(seed=seed)
    x, y = g.input(features), g.input(1)
    w1 = g.parameter("layer1.weight", (hidden, features), init="kaiming_normal")
    b1 = g.parameter("layer1.bias", (hidden,))
    w2 = g.parameter("output.weight", (classes, hidden), init="xavier_normal")
    b2 = g.parameter("output.bias", (classes,))
    h = g.noise(g.activation(g.linear(x, w1, b1), "relu"), "dropout", p=dropout)
    logits = g.linear(h, w2, b2)
    g.minimize(g.op("softmax_cross_entropy", logits, y, label_smoothing=0.1))
    for w in (w1, w2):
        g.minimize(g.op("l2", w, strength=l2))
    return g, x, y, logits


def accuracy(g, x, y, logits, X, Y, batch=256):
    """Eval-mode accuracy (dropout off), in batches."""
    correct = 0
    for s in range(0, len(Y), batch):
        g.feed({x: X[s:s + batch], y: Y[s:s + batch]})
        g.forward(training=False)
        correct += int(np.sum(g.value(logits).argmax(axis=1) == Y[s:s + batch]))
    return correct / len(Y)


def main(argv=None):
    ap = argparse.ArgumentParser(description="MLP on the bundled digits as a regula.Graph")
    ap.add_argument("--data", default=str(ROOT / "data" / "digits.csv"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--rho", type=float, default=0.02, help="SAM radius")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", help="write the trained parameters to this file (and check a reload)")
    ap.add_argument("--min-accuracy", type=float, default=0.9)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    X, Y = load_digits(args.data)
    order = rng.permutation(len(Y))
    n_test = len(Y) // 5
    xte, yte, xtr, ytr = X[order[:n_test]], Y[order[:n_test]], X[order[n_test:]], Y[order[n_test:]]

    g, x, y, logits = build(X.shape[1], args.hidden, 10, args.dropout, args.l2, args.seed)
    total_steps = args.epochs * ((len(ytr) + args.batch - 1) // args.batch)
    opt = regula.Optimizer("adam", lr=args.lr, schedule="cosine", total_steps=total_steps,
                           transforms=[f"sam:rho={args.rho}"])
    print(f"digits: {len(ytr)} train / {len(yte)} test; graph MLP {X.shape[1]}-{args.hidden}-10 with dropout "
          f"{args.dropout:g}, softmax_cross_entropy(label_smoothing=0.1) + l2({args.l2:g}); "
          f"Adam {args.lr:g} cosine with sam(rho={args.rho:g})")
    for epoch in range(1, args.epochs + 1):
        perm, total = rng.permutation(len(ytr)), 0.0
        for s in range(0, len(ytr), args.batch):  # the last batch is smaller: no rebuild needed
            idx = perm[s:s + args.batch]
            g.feed({x: xtr[idx], y: ytr[idx]})
            total += g.step(opt) * len(idx)
        test_acc = accuracy(g, x, y, logits, xte, yte)
        print(f"epoch {epoch:3d}  objective {total / len(ytr):.4f}  "
              f"train {accuracy(g, x, y, logits, xtr, ytr):.4f}  test {test_acc:.4f}")

    if args.save:
        g.save(args.save)
        again, ax, ay, alogits = build(X.shape[1], args.hidden, 10, args.dropout, args.l2, args.seed + 1)
        again.load(args.save)
        reloaded = accuracy(again, ax, ay, alogits, xte, yte)
        print(f"parameters saved to {args.save}; reloaded model's test accuracy {reloaded:.4f}")
        if reloaded != test_acc:
            print("the reloaded model disagrees with the trained one", file=sys.stderr)
            return 1
    print(f"test accuracy {test_acc:.4f}")
    if test_acc < args.min_accuracy:
        print(f"test accuracy {test_acc:.4f} is below {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
