"""Train a classifier on the bundled digits with the convenience level: regula.Sequential describes
the model, regula.Trainer owns the loss, penalties, transforms and optimizer, and its fit loop
calls trainer.step on shuffled batches (the model runs inside libregula, no NumPy MLP).

    make build
    PYTHONPATH=bindings/python python3 examples/python/trainer_digits.py [--epochs 20] [--save model.rgp]

Shows: penalties attached by parameter-name pattern (l2 on the hidden layers only, an l1 proximal
step on the output layer), a training transform (clip_global_norm), AdamW with a cosine schedule
planned from the data, evaluate (accuracy, NLL, ECE), predict (probabilities), and save -> load
into a fresh trainer that predicts identically. Exits with status 1 below --min-accuracy.
"""
import argparse
import os
import pathlib
import sys
import tempfile

import numpy as np

import regula

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_digits(path):
    """64 pixel values (0..16) then the label, one image per line; pixels scaled to [0, 1]."""
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1] / 16.0, table[:, -1].astype(np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "digits.csv"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--min-accuracy", type=float, default=0.0)
    ap.add_argument("--save", help="where to save the parameters (default: a temporary file)")
    args = ap.parse_args()

    x, y = load_digits(args.data)
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:360], order[360:]

    model = regula.Sequential(features=64, classes=10, widths=(128,), activation="relu", dropout=0.1)
    trainer = regula.Trainer(
        model,
        loss="softmax_cross_entropy:label_smoothing=0.05",
        penalties={"l2@layer*.weight": 1e-4, "l1-prox@output.weight": 1e-5},
        transforms=["clip_global_norm:max_norm=5"],
        optimizer="adamw", lr=3e-3, weight_decay=1e-4,
        epochs=args.epochs, batch=32, seed=0)
    print("spec:", trainer.spec)

    def report(epoch, loss):
        if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
            print(f"  epoch {epoch:3d}: mean objective {loss:.4f}")

    trainer.fit(x[train], y[train], callback=report)
    metrics = trainer.evaluate(x[test], y[test])
    print("test: accuracy {accuracy:.4f}  NLL {nll:.4f}  ECE(15) {ece:.4f}  ({count} rows)".format(**metrics))

    probs = trainer.predict(x[test[:5]])
    print("first test images: predicted", probs.argmax(axis=1).tolist(), "true", y[test[:5]].tolist(),
          "confidence", np.round(probs.max(axis=1), 3).tolist())

    path = args.save or os.path.join(tempfile.mkdtemp(), "digits.rgp")
    trainer.save(path)
    fresh = regula.Trainer(regula.Sequential(64, 10, widths=(128,), dropout=0.1), seed=1)
    fresh.load(path)
    same = np.array_equal(fresh.predict(x[test]), trainer.predict(x[test]))
    print(f"saved to {path}; a fresh trainer loaded it and predicts {'identically' if same else 'DIFFERENTLY'}")

    if not same or metrics["accuracy"] < args.min_accuracy:
        print(f"FAIL: test accuracy {metrics['accuracy']:.4f} (minimum {args.min_accuracy}) or predictions differ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
