"""Regula's benchmark suite: components side by side with NumPy (and JAX, PyTorch when present)
on the same machine in one run, and a training step of the engine (`regula bench train`) against
the same MLP in PyTorch and JAX. Medians of repeated runs after warm-up, reported with their
spread (interquartile range) and as ratios. Writes the table to docs/performance.md.

Run with `make bench` (which builds the release library and CLI and provides a venv with JAX and
PyTorch CPU)."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import regula

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except Exception:  # noqa: BLE001 - optional
    jax = None
try:
    import torch
    import torch.nn.functional as F
except Exception:  # noqa: BLE001 - optional
    torch = None
try:
    import entmax
except Exception:  # noqa: BLE001 - optional
    entmax = None
THREADS = os.cpu_count() or 1  # every framework gets the same thread count (JAX's default: all cores)
if torch is not None:
    torch.set_num_threads(THREADS)


def torch_vg(f, *xs):
    """value + gradient of f at xs[0] through autograd (float32 tensors sharing NumPy's memory)."""
    w = torch.from_numpy(xs[0]).requires_grad_()
    rest = [torch.from_numpy(np.ascontiguousarray(x)) for x in xs[1:]]
    return lambda: torch.autograd.grad(f(w, *rest), w)


def measure(fn, repeat=7, min_time=0.2):
    fn()  # warm-up (and JIT)
    t0 = time.perf_counter(); fn(); once = time.perf_counter() - t0
    number = max(1, int(min_time / max(once, 1e-9) / repeat))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    times.sort()
    q1, q3 = times[len(times) // 4], times[(3 * len(times)) // 4]
    return statistics.median(times), q3 - q1


def fmt(t):
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.1f} µs" if t >= 1e-6 else f"{t * 1e9:.3f} ns"


class Table:
    def __init__(self, title, baseline_name):
        self.title, self.baseline_name, self.rows, self.notes = title, baseline_name, [], []

    def add(self, case, regula_t, others):
        self.rows.append((case, regula_t, others))

    def markdown(self):
        names = []
        for _, _, others in self.rows:
            for n in others:
                if n not in names:
                    names.append(n)
        out = [f"### {self.title}", "",
               "| case | Regula | " + " | ".join(names) + " | " + " | ".join(f"{n} / Regula" for n in names) + " |",
               "|---|---|" + "---|" * (2 * len(names))]
        for case, (t, s), others in self.rows:
            cells = [f"{fmt(others[n][0])} ± {fmt(others[n][1])}" if n in others else "—" for n in names]
            ratios = [f"{others[n][0] / t:.2f}×" if n in others else "—" for n in names]
            out.append(f"| {case} | {fmt(t)} ± {fmt(s)} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
        return "\n".join(out + ([""] + self.notes if self.notes else [])) + "\n"


def have(cid):
    return cid in regula.components()


def elementwise(n):
    rng = np.random.default_rng(0)
    w = rng.standard_normal(n).astype(np.float32)
    g = np.empty_like(w)
    t = Table(f"Elementwise and row-wise penalties, value + gradient, {n / 1e6:.0f}M float32", "NumPy")
    copy = measure(lambda: np.copyto(g, w))
    numpy_impl = {
        "l2": lambda: (float(np.dot(w, w)) * 0.5, np.multiply(w, 1.0, out=g)),
        "l1": lambda: (float(np.abs(w).sum(dtype=np.float64)), np.sign(w, out=g)),
        "elastic_net": lambda: (float(0.5 * np.abs(w).sum(dtype=np.float64) + 0.25 * np.dot(w, w)),
                                np.add(0.5 * np.sign(w), 0.5 * w, out=g)),
    }
    rows = w.reshape(-1, 1024)
    gr = g.reshape(-1, 1024)

    def np_group():
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows, dtype=np.float64)).astype(np.float32)
        np.divide(rows, norms[:, None], out=gr)
        return float(norms.sum())

    def np_normloss():
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows, dtype=np.float64))
        np.multiply(rows, (2 * (1 - 1 / norms)).astype(np.float32)[:, None], out=gr)
        return float(((norms - 1) ** 2).sum())

    numpy_impl["group_lasso"] = np_group
    numpy_impl["norm_loss"] = np_normloss
    jax_impl = {}
    if jax is not None:
        wj = jnp.asarray(w)
        jax_impl = {
            "l2": jax.jit(jax.value_and_grad(lambda x: 0.5 * jnp.sum(x * x))),
            "l1": jax.jit(jax.value_and_grad(lambda x: jnp.sum(jnp.abs(x)))),
            "elastic_net": jax.jit(jax.value_and_grad(lambda x: 0.5 * jnp.sum(jnp.abs(x)) + 0.25 * jnp.sum(x * x))),
            "group_lasso": jax.jit(jax.value_and_grad(lambda x: jnp.sum(jnp.linalg.norm(x.reshape(-1, 1024), axis=1)))),
            "norm_loss": jax.jit(jax.value_and_grad(lambda x: jnp.sum((jnp.linalg.norm(x.reshape(-1, 1024), axis=1) - 1) ** 2))),
        }
    torch_impl = {} if torch is None else {
        "l2": lambda x: 0.5 * (x * x).sum(),
        "l1": lambda x: x.abs().sum(),
        "elastic_net": lambda x: 0.5 * x.abs().sum() + 0.25 * (x * x).sum(),
        "group_lasso": lambda x: torch.linalg.vector_norm(x.view(-1, 1024), dim=1).sum(),
        "norm_loss": lambda x: ((torch.linalg.vector_norm(x.view(-1, 1024), dim=1) - 1) ** 2).sum(),
    }
    for cid, params in [("l2", {}), ("l1", {}), ("elastic_net", {}), ("smoothed_l0", {}),
                        ("group_lasso", {}), ("norm_loss", {})]:
        if not have(cid):
            continue
        p = regula.penalty(cid, strength=1.0, **params)
        x = rows if cid in ("group_lasso", "norm_loss") else w
        out = gr if x is rows else g
        r = measure(lambda: p.value_and_grad(x, out=out))
        others = {"copy floor": copy}
        if cid in numpy_impl:
            others["NumPy"] = measure(numpy_impl[cid])
        if cid in jax_impl:
            f = jax_impl[cid]
            others["JAX jit"] = measure(lambda: jax.block_until_ready(f(wj)))
        if cid in torch_impl:
            others["PyTorch autograd"] = measure(torch_vg(torch_impl[cid], w))
        t.add(cid, r, others)
    return t


def scaling():
    """Cost of l1 value+gradient from 1M to 256M float32 parameters: linear growth, and memory
    beyond the gradient buffer stays bounded (the kernel makes no copies)."""
    t = Table("Scaling: l1 value + gradient, float32 (time per element should stay flat)", "")
    p = regula.penalty("l1", strength=1.0)
    for n in [1 << 20, 1 << 22, 1 << 24, 1 << 26, 1 << 28]:
        w = np.full(n, 0.5, dtype=np.float32)
        g = np.empty_like(w)
        r = measure(lambda: p.value_and_grad(w, out=g), repeat=5, min_time=0.1)
        per = (r[0] / n, r[1] / n)
        t.add(f"{n / 2**20:.0f}Mi elements", r, {"per element": per})
        del w, g
    return t


def matrices():
    rng = np.random.default_rng(1)
    t = Table("Matrix penalties, float32", "NumPy")
    for m, n in [(1024, 1024), (4096, 1024)]:
        w = (rng.standard_normal((m, n)) / np.sqrt(n)).astype(np.float32)
        g = np.empty_like(w)
        p = regula.penalty("soft_orthogonality", strength=1.0)

        def np_so():
            gram = w.T @ w
            gram[np.diag_indices(n)] -= 1
            np.matmul(w, 4 * gram, out=g)
            return float(np.sum(gram.astype(np.float64) ** 2))

        others = {"NumPy (BLAS)": measure(np_so)}
        if jax is not None:
            wj = jnp.asarray(w)
            f = jax.jit(jax.value_and_grad(lambda x: jnp.sum((x.T @ x - jnp.eye(x.shape[1], dtype=x.dtype)) ** 2)))
            others["JAX jit"] = measure(lambda: jax.block_until_ready(f(wj)))
        if torch is not None:
            eye = torch.eye(n)
            others["PyTorch autograd"] = measure(torch_vg(lambda x: ((x.T @ x - eye) ** 2).sum(), w))
        t.add(f"soft_orthogonality {m}×{n}", measure(lambda: p.value_and_grad(w, out=g)), others)
    if have("nuclear_norm"):
        w = rng.standard_normal((512, 512))
        p = regula.penalty("nuclear_norm", strength=1.0)

        def np_svt():
            u, s, vt = np.linalg.svd(w, full_matrices=False)
            return (u * np.maximum(s - 0.1, 0)) @ vt

        others = {"NumPy SVD": measure(np_svt)}
        if torch is not None:
            wt = torch.from_numpy(w)

            def torch_svt():
                u, s_, vt = torch.linalg.svd(wt, full_matrices=False)
                return (u * torch.clamp(s_ - 0.1, min=0)) @ vt
            others["PyTorch SVD"] = measure(torch_svt)
        t.add("nuclear_norm prox 512×512 float64", measure(lambda: p.prox(w, step=0.1)), others)
    return t


def losses():
    rng = np.random.default_rng(2)
    t = Table("Losses and maps", "NumPy")
    for b, c in [(4096, 1000), (256, 50257)]:
        z = (rng.standard_normal((b, c)) * 3).astype(np.float32)
        y = rng.integers(0, c, size=b)
        g = np.empty_like(z)
        l = regula.loss("softmax_cross_entropy", label_smoothing=0.1)

        def np_ce():
            m = z.max(axis=1, keepdims=True)
            e = np.exp(z - m)
            s = e.sum(axis=1, keepdims=True)
            lse = m + np.log(s)
            p = e / s
            t_ = np.full_like(z, 0.1 / c)
            t_[np.arange(b), y] += 0.9
            loss = float(np.mean(np.sum(t_ * (lse - z), axis=1)))
            np.divide(p - t_, b, out=g)
            return loss

        others = {"NumPy": measure(np_ce)}
        if jax is not None:
            zj, yj = jnp.asarray(z), jnp.asarray(y)

            def ce(zz):
                lp = jax.nn.log_softmax(zz)
                tt = jax.nn.one_hot(yj, c) * 0.9 + 0.1 / c
                return -jnp.mean(jnp.sum(tt * lp, axis=1))

            f = jax.jit(jax.value_and_grad(ce))
            others["JAX jit"] = measure(lambda: jax.block_until_ready(f(zj)))
        if torch is not None:
            others["PyTorch autograd"] = measure(torch_vg(lambda zz, yy: F.cross_entropy(zz, yy, label_smoothing=0.1), z, y))
        t.add(f"softmax_cross_entropy ε=0.1 ({b}, {c})", measure(lambda: l.value_and_grad(z, y, out=g)), others)
    z = rng.standard_normal((4096, 1000)).astype(np.float32)
    for cid in ["sparsemax", "entmax15", "stablemax"]:
        if not have(cid):
            continue
        m = regula.output_map(cid)
        out = np.empty_like(z)
        others = {}
        if cid == "sparsemax":
            def np_sparsemax():
                zs = -np.sort(-z, axis=1)
                cs = np.cumsum(zs, axis=1) - 1
                k = np.arange(1, z.shape[1] + 1)
                support = zs - cs / k > 0
                kk = support.sum(axis=1)
                tau = cs[np.arange(z.shape[0]), kk - 1] / kk
                return np.maximum(z - tau[:, None], 0)
            others["NumPy"] = measure(np_sparsemax)
        if entmax is not None and cid in ("sparsemax", "entmax15"):
            zt, fn = torch.from_numpy(z), getattr(entmax, cid)
            with torch.no_grad():
                others["PyTorch entmax pkg"] = measure(lambda: fn(zt, dim=-1))
        t.add(f"{cid} (4096, 1000)", measure(lambda: m(z, out=out)), others)
    return t


# The training step (issue 6): the same MLP, optimizer and penalty in every framework, seeded
# synthetic batches, float32 unless marked. Regula's engine keeps parameters and optimizer state in
# float64; `--precision f32` runs its matrix products in float32 (sgemm), like PyTorch's.
MLP = dict(features=784, widths=[1024, 1024], classes=10, batch=256, optimizer="adamw", penalty=1e-4, steps=30)
DIGITS = dict(features=64, widths=[512], classes=10, batch=32, optimizer="adam", penalty=0.0, steps=300)
LR, WD, B1, B2, EPS = 1e-3, 0.01, 0.9, 0.999, 1e-8


def per_step(step, steps, warmup=3):
    """Median and IQR of single-step times (as `regula bench train` reports them)."""
    for i in range(warmup):
        step(i)
    ts = []
    for i in range(steps):
        t0 = time.perf_counter(); step(i); ts.append(time.perf_counter() - t0)
    ts.sort()
    return statistics.median(ts), ts[(3 * len(ts)) // 4] - ts[len(ts) // 4]


def batches(cfg, dtype):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((cfg["batch"], cfg["features"])).astype(dtype), rng.integers(0, cfg["classes"], cfg["batch"]))
            for _ in range(4)]


def regula_step(cfg, precision, phases=False):
    cli = os.environ.get("REGULA_CLI", os.path.join(os.path.dirname(__file__), "..", ".build", "release", "regula"))
    args = [cli, "bench", "train", "--json"] + (["--phases"] if phases else []) + [ "--features", str(cfg["features"]), "--widths", ",".join(map(str, cfg["widths"])),
            "--classes", str(cfg["classes"]), "--batch", str(cfg["batch"]), "--steps", str(cfg["steps"]),
            "--optimizer", cfg["optimizer"], "--lr", str(LR), "--weight-decay", str(WD), "--threads", str(THREADS),
            "--precision", precision] + (["--penalty", f"l2={cfg['penalty']}"] if cfg["penalty"] else [])
    r = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    if phases:
        return {k: v["median_ms"] for k, v in r["phases"].items()}
    return r["step"]["median_ms"] / 1e3, r["step"]["iqr_ms"] / 1e3


def torch_step(cfg):
    torch.manual_seed(0)
    dims = [cfg["features"]] + cfg["widths"] + [cfg["classes"]]
    layers = [m for a, b in zip(dims, dims[1:]) for m in (torch.nn.Linear(a, b), torch.nn.ReLU())][:-1]
    model = torch.nn.Sequential(*layers)
    weights = [p for p in model.parameters() if p.dim() == 2]  # decay and penalty on matrices, as Regula
    biases = [p for p in model.parameters() if p.dim() == 1]
    wd = WD if cfg["optimizer"] == "adamw" else 0.0
    opt = torch.optim.AdamW([{"params": weights, "weight_decay": wd}, {"params": biases, "weight_decay": 0.0}],
                            lr=LR, betas=(B1, B2), eps=EPS)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches(cfg, np.float32)]

    updates = []  # opt.step() alone, for the notes

    def step(i):
        x, y = data[i % 4]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        if cfg["penalty"]:
            loss = loss + cfg["penalty"] * 0.5 * sum((w * w).sum() for w in weights)
        loss.backward()
        t0 = time.perf_counter()
        opt.step()
        updates.append(time.perf_counter() - t0)
    r = per_step(step, cfg["steps"])
    cfg["torch_update_ms"] = 1e3 * statistics.median(updates[3:])
    return r


def jax_step(cfg, dtype):
    """value_and_grad and AdamW (written in jax.numpy) in one jitted step, buffers donated."""
    dims = [cfg["features"]] + cfg["widths"] + [cfg["classes"]]
    rng = np.random.default_rng(0)
    params = [(jnp.asarray(rng.standard_normal((b, a)) * np.sqrt(2 / a), dtype), jnp.zeros(b, dtype)) for a, b in zip(dims, dims[1:])]
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    wd = WD if cfg["optimizer"] == "adamw" else 0.0

    def loss_fn(params, x, y):
        h = x
        for k, (w, b) in enumerate(params):
            h = h @ w.T + b
            h = jax.nn.relu(h) if k < len(params) - 1 else h
        loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(h), y[:, None], axis=1))
        return loss + cfg["penalty"] * 0.5 * sum(jnp.sum(w * w) for w, _ in params)

    def update(params, m, v, t, x, y):
        loss, g = jax.value_and_grad(loss_fn)(params, x, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: B1 * m + (1 - B1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: B2 * v + (1 - B2) * g * g, v, g)
        c1, c2 = 1 - B1 ** t, 1 - B2 ** t

        def adamw(p, m, v, decay):
            return p - LR * ((m / c1) / (jnp.sqrt(v / c2) + EPS) + (wd * p if decay else 0))
        params = [(adamw(w, mw, vw, True), adamw(b, mb, vb, False)) for (w, b), (mw, mb), (vw, vb) in zip(params, m, v)]
        return params, m, v, t, loss

    fn = jax.jit(update, donate_argnums=(0, 1, 2))
    data = [(jnp.asarray(x, dtype), jnp.asarray(y, jnp.int32)) for x, y in batches(cfg, dtype)]
    state = [params, zeros, jax.tree_util.tree_map(jnp.zeros_like, params), jnp.asarray(0, dtype)]

    def step(i):
        *state[:], loss = fn(*state, *data[i % 4])
        jax.block_until_ready(loss)
    return per_step(step, cfg["steps"])


def training():
    t = Table(f"Training step ({THREADS} threads each): forward, backward, optimizer", "")
    cli = os.environ.get("REGULA_CLI", os.path.join(os.path.dirname(__file__), "..", ".build", "release", "regula"))
    if not os.path.exists(cli):
        print(f"note: {cli} not found (make build): training-step rows skipped", file=sys.stderr)
        return t
    for name, cfg in [("MLP 784-1024-1024-10, batch 256, AdamW + l2", MLP), ("digits default 64-512-10, batch 32, Adam", DIGITS)]:
        others = {}
        if torch is not None:
            others["PyTorch f32"] = torch_step(cfg)
        if jax is not None:
            others["JAX jit f32"] = jax_step(cfg, np.float32)
            others["JAX jit f64"] = jax_step(cfg, np.float64)
        for precision, label in [("f64", "float64"), ("f32", "float32 products")]:
            t.add(f"{name}: Regula {label}", regula_step(cfg, precision), others)
    ph = regula_step(MLP, "f32", phases=True)
    torch_update = f"; PyTorch's `opt.step()` alone: {MLP['torch_update_ms']:.2f} ms" if "torch_update_ms" in MLP else ""
    t.notes = [
        "Regula keeps parameters, gradients and both Adam moments in float64; `--precision f32` (float32 products) runs "
        "only the linear layers' matrix products in float32 (sgemm on copies converted each step: weights narrowed once "
        "per forward, dW widened into the float64 gradient). JAX f64 is the like-for-like figure for the default float64 engine.",
        "",
        f"Where the float32-products MLP step goes (`regula bench train --precision f32 --phases`, medians): feed "
        f"{ph['feed']:.2f} ms, forward {ph['forward']:.2f} ms, backward {ph['backward']:.2f} ms, optimizer "
        f"{ph['optimizer']:.2f} ms{torch_update}. Besides the matrix products, the step moves every parameter in "
        "float64: the fused AdamW update reads and writes 56 bytes per parameter where PyTorch's float32 update moves 28, "
        "the l2 penalty and the gradient conversions pass over the 1.86M weights in float64 too, and JAX compiles the "
        "whole step into one XLA program that fuses the elementwise work into few passes.",
    ]
    return t


def overhead():
    t = Table("Call overhead on tiny arrays (16 float64)", "")
    w = np.ones(16)
    g = np.empty_like(w)
    p = regula.penalty("l1", strength=1.0)
    t.add("Python value_and_grad(out=)", measure(lambda: p.value_and_grad(w, out=g), min_time=0.3),
          {"bare ctypes call (rg_abi_version)": measure(regula._L.rg_abi_version, min_time=0.3),
           "NumPy abs().sum() + sign()": measure(lambda: (np.abs(w).sum(), np.sign(w, out=g)), min_time=0.3)})
    return t


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n- machine: {cpu}, {os.cpu_count()} cores\n"
            f"- regula {regula.__version__}, NumPy {np.__version__}, "
            f"JAX {'absent' if jax is None else jax.__version__}, PyTorch {'absent' if torch is None else torch.__version__}\n"
            f"- threads: {THREADS} for every framework (OpenBLAS and the engine through `regula bench --threads`, "
            f"torch.set_num_threads, JAX's default of all cores)\n"
            f"- command: `make bench` (python3 bench/bench.py)\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=16_000_000)
    ap.add_argument("--output", default=None)
    args = ap.parse_args()
    sections = [training(), overhead(), elementwise(args.size), scaling(), matrices(), losses()]
    text = "# Performance\n\nGenerated by `make bench`; medians ± interquartile range of 7 runs after warm-up, " \
           "ratios > 1 mean Regula is faster.\n\n" + machine() + "\n" + "\n".join(s.markdown() for s in sections)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
