"""A Regula penalty inside a PyTorch training loop, through torch.autograd.Function.

The penalty's forward returns strength·R(W) and saves the exact gradient Regula computed in the
same pass; backward scales it by the incoming gradient. The tensors cross to NumPy without a
copy (CPU tensors share memory with NumPy). The loop trains an MLP on the bundled digits with
cross-entropy + group_lasso on the first layer's rows, and prints the test accuracy.

    PYTHONPATH=bindings/python python3 examples/python/torch_penalty.py [--epochs 20]

Prints a message and exits 0 when torch is not installed.
"""
import argparse
import pathlib
import sys

import numpy as np

import regula

ROOT = pathlib.Path(__file__).resolve().parents[2]

try:
    import torch
except ImportError:
    torch = None


def make_penalty_function():
    class RegulaPenalty(torch.autograd.Function):
        """y = penalty(W): value from Regula, gradient from the same Regula call."""

        @staticmethod
        def forward(ctx, w, penalty):
            w_np = w.detach().cpu().contiguous().numpy()
            value, grad = penalty.value_and_grad(w_np)
            ctx.save_for_backward(torch.from_numpy(grad).to(w.device))
            return w.new_tensor(value)

        @staticmethod
        def backward(ctx, grad_output):
            (grad,) = ctx.saved_tensors
            return grad_output * grad, None  # no gradient for the penalty object

    return RegulaPenalty.apply


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "digits.csv"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--strength", type=float, default=1e-3, help="group_lasso strength")
    ap.add_argument("--min-accuracy", type=float, default=0.9)
    args = ap.parse_args(argv)
    if torch is None:
        print("torch is not installed: skipping the PyTorch example (pip install torch to run it)")
        return 0
    torch.manual_seed(0)
    penalty_fn = make_penalty_function()
    group_lasso = regula.penalty("group_lasso", strength=args.strength)

    # The same gradient as autograd would give for the same formula: Σ_rows ‖W_row‖₂.
    w = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    penalty_fn(w, group_lasso).backward()
    reference = args.strength * w.detach() / w.detach().norm(dim=1, keepdim=True)
    assert torch.allclose(w.grad, reference, atol=1e-12), "Regula's gradient differs from autograd's"

    table = np.loadtxt(args.data, delimiter=",")
    x = torch.tensor(table[:, :-1] / 16.0, dtype=torch.float32)
    y = torch.tensor(table[:, -1], dtype=torch.int64)
    order = torch.randperm(len(y))
    test, train = order[: len(y) // 5], order[len(y) // 5:]
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(1, args.epochs + 1):
        perm = train[torch.randperm(len(train))]
        total = 0.0
        for start in range(0, len(perm), 32):
            idx = perm[start:start + 32]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss = loss + penalty_fn(model[0].weight, group_lasso)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        with torch.no_grad():
            acc = (model(x[test]).argmax(dim=1) == y[test]).float().mean().item()
        print(f"epoch {epoch:3d}  objective {total / len(train):.4f}  test {acc:.4f}")
    print(f"test accuracy {acc:.4f}")
    if acc < args.min_accuracy:
        print(f"test accuracy {acc:.4f} is below {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
