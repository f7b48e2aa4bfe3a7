"""Regula's benchmark suite: components side by side with NumPy (and JAX, PyTorch when present)
on the same machine in one run. Medians of repeated runs after warm-up, reported with their
spread (interquartile range) and as ratios. Writes the table to docs/performance.md.

Run with `make bench` (which builds the release library and provides a venv with JAX)."""
import argparse
import datetime
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
except Exception:  # noqa: BLE001 - optional
    torch = None


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
        self.title, self.baseline_name, self.rows = title, baseline_name, []

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
        return "\n".join(out) + "\n"


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
        t.add(f"soft_orthogonality {m}×{n}", measure(lambda: p.value_and_grad(w, out=g)), others)
    if have("nuclear_norm"):
        w = rng.standard_normal((512, 512))
        p = regula.penalty("nuclear_norm", strength=1.0)

        def np_svt():
            u, s, vt = np.linalg.svd(w, full_matrices=False)
            return (u * np.maximum(s - 0.1, 0)) @ vt

        t.add("nuclear_norm prox 512×512 float64", measure(lambda: p.prox(w, step=0.1)), {"NumPy SVD": measure(np_svt)})
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
        t.add(f"{cid} (4096, 1000)", measure(lambda: m(z, out=out)), others)
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
            f"- command: `make bench` (python3 bench/bench.py)\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=16_000_000)
    ap.add_argument("--output", default=None)
    args = ap.parse_args()
    sections = [overhead(), elementwise(args.size), scaling(), matrices(), losses()]
    text = "# Performance\n\nGenerated by `make bench`; medians ± interquartile range of 7 runs after warm-up, " \
           "ratios > 1 mean Regula is faster.\n\n" + machine() + "\n" + "\n".join(s.markdown() for s in sections)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
