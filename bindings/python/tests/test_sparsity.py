"""Sparsity / pruning / quantization components against independent NumPy / SciPy references
(catalogue penalties_sparsity §5-§11, §14a-§18)."""
import math

import numpy as np
import pytest
from scipy import special

import regula

W0 = np.array([[1.0, -2.0], [0.5, 0.0]])
RNG = np.random.default_rng(7)


def vg(cid, w, **kw):
    inputs = kw.pop("inputs", {})
    return regula.penalty(cid, **kw).value_and_grad(w, **inputs)


def grid_prox(v, t, phi, n=400_001):
    """Global minimiser of t*phi(y) + (y - v)^2 / 2 by dense grid search (and y = 0)."""
    y = np.linspace(-abs(v) - 1, abs(v) + 1, n)
    f = t * phi(y) + 0.5 * (y - v) ** 2
    i = np.argmin(f)
    f0 = t * phi(np.array([0.0]))[0] + 0.5 * v * v
    return (0.0, f0) if f0 <= f[i] else (y[i], f[i])


# ---------------------------------------------------------------- topk_projection, l0_hard_prox

def topk_ref(v, k, axis=None):
    out = np.zeros_like(v)
    rows = v.reshape(1, -1) if axis is None else v.reshape(v.shape[0], -1)
    flat = out.reshape(rows.shape)
    for i, r in enumerate(rows):
        keep = np.argsort(-np.abs(r), kind="stable")[:k]
        flat[i, keep] = r[keep]
    return flat.reshape(v.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_topk_projection(dtype):
    v = RNG.normal(size=(4, 6)).astype(dtype)
    for k in [0, 3, 11, 24, 30]:
        np.testing.assert_array_equal(regula.penalty("topk_projection", k=k).prox(v, step=1.0), topk_ref(v, k))
    np.testing.assert_array_equal(regula.penalty("topk_projection", k=2, axis="row").prox(v, step=0.1),
                                  topk_ref(v, 2, axis="row"))
    # sparsity s: k = count - ceil(s*count); 0.5 of 24 keeps 12.
    out = regula.penalty("topk_projection", sparsity=0.5).prox(v, step=1.0)
    np.testing.assert_array_equal(out, topk_ref(v, 12))
    # the value is the indicator of the k-sparse set
    p = regula.penalty("topk_projection", k=12)
    assert p.value(v) == np.inf and p.value(out) == 0
    assert np.all(p.value_and_grad(out)[1] == 0)
    np.testing.assert_array_equal(p.prox(v, step=0.0), v)


def test_topk_catalogue_and_ties():
    np.testing.assert_array_equal(regula.penalty("topk_projection", k=2).prox(W0, step=1.0), [[1, -2], [0, 0]])
    np.testing.assert_array_equal(regula.penalty("topk_projection", k=1, axis="row").prox(W0, step=1.0),
                                  [[0, -2], [0.5, 0]])
    np.testing.assert_array_equal(regula.penalty("topk_projection", k=2).prox(np.array([1.0, -1, 1, 0.5]), step=1.0),
                                  [1, -1, 0, 0])
    with pytest.raises(regula.RegulaError):
        regula.penalty("topk_projection", k=2, sparsity=0.5)


def test_l0_hard_prox():
    v = RNG.normal(size=(5, 5))
    lam, step = 0.3, 0.7
    p = regula.penalty("l0_hard_prox", strength=lam)
    np.testing.assert_array_equal(p.prox(v, step=step), v * (np.abs(v) > math.sqrt(2 * step * lam)))
    val, g = p.value_and_grad(v)
    assert np.isclose(val, lam * np.count_nonzero(v)) and np.all(g == 0)
    # catalogue: t = 1, lambda = 0.5, threshold exactly 1.0: the 1.0 entry is zeroed
    np.testing.assert_array_equal(regula.penalty("l0_hard_prox", strength=0.5).prox(W0, step=1.0), [[0, -2], [0, 0]])


# ---------------------------------------------------------------- lq, cel0

def test_lq_value_grad_and_half_threshold():
    w = RNG.normal(size=(3, 7))
    for q in [0.3, 0.5, 0.8]:
        v, g = vg("lq", w, strength=1.0, q=q)
        assert np.isclose(v, np.sum(np.abs(w) ** q))
        np.testing.assert_allclose(g, q * np.abs(w) ** (q - 1) * np.sign(w), rtol=1e-12)
    # q = 1/2: Xu et al.'s closed-form half thresholding with t = 2*lambda
    lam = 0.4
    t = 2 * lam
    v = RNG.normal(size=200) * 2
    thr = 54 ** (1 / 3) / 4 * t ** (2 / 3)
    phi = np.arccos(t / 8 * (np.abs(v) / 3) ** -1.5 * (np.abs(v) > thr) + (np.abs(v) <= thr))
    ref = np.where(np.abs(v) > thr, 2 / 3 * v * (1 + np.cos(2 * np.pi / 3 - 2 / 3 * phi)), 0)
    np.testing.assert_allclose(regula.penalty("lq", strength=1.0, q=0.5).prox(v, step=lam), ref, atol=1e-12)
    np.testing.assert_allclose(regula.penalty("lq", strength=1.0).prox(W0, step=0.5),
                               [[0.701516, -1.814402], [0, 0]], atol=1e-6)
    assert vg("lq", np.zeros(3), strength=1.0)[1].tolist() == [0, 0, 0]


@pytest.mark.parametrize("q", [0.3, 2 / 3])
def test_lq_prox_is_global(q):
    t = 0.6
    out = regula.penalty("lq", strength=1.0, q=q).prox(np.array([-2.0, -0.9, 0.3, 1.1, 1.6, 3.0]), step=t)
    for v, y in zip([-2.0, -0.9, 0.3, 1.1, 1.6, 3.0], out):
        _, fbest = grid_prox(v, t, lambda x: np.abs(x) ** q)
        assert t * abs(y) ** q + 0.5 * (y - v) ** 2 <= fbest + 1e-10


def cel0_phi(x, lam, a):
    th = math.sqrt(2 * lam) / a
    return np.where(np.abs(x) <= th, lam - a * a / 2 * (np.abs(x) - th) ** 2, lam)


def test_cel0():
    lam, a = 0.3, 1.5
    w = RNG.normal(size=(4, 4))
    v, g = vg("cel0", w, lam=lam, a=a)
    th = math.sqrt(2 * lam) / a
    assert np.isclose(v, cel0_phi(w, lam, a).sum())
    np.testing.assert_allclose(g, np.where(np.abs(w) < th, np.sign(w) * (a * math.sqrt(2 * lam) - a * a * np.abs(w)), 0))
    # a^2 t < 1: the closed form
    t = 0.3
    ref = np.sign(w) * np.minimum(np.abs(w), np.maximum(np.abs(w) - a * math.sqrt(2 * lam) * t, 0) / (1 - a * a * t))
    np.testing.assert_allclose(regula.penalty("cel0", lam=lam, a=a).prox(w, step=t), ref)
    # a^2 t >= 1: still the global minimiser (grid search)
    t = 1.0
    out = regula.penalty("cel0", lam=lam, a=a).prox(w, step=t)
    for v, y in zip(w.ravel(), out.ravel()):
        _, fbest = grid_prox(v, t, lambda x: cel0_phi(x, lam, a))
        assert t * cel0_phi(np.array([y]), lam, a)[0] + 0.5 * (y - v) ** 2 <= fbest + 1e-10
    np.testing.assert_allclose(regula.penalty("cel0", lam=0.5).prox(W0, step=0.5), [[1, -2], [0, 0]])


# ---------------------------------------------------------------- smoothed_l0, stvs

def test_smoothed_l0_and_stvs():
    w = RNG.normal(size=(3, 5))
    eps = 0.7
    v, g = vg("smoothed_l0", w, strength=1.0, eps=eps)
    assert np.isclose(v, np.sum(1 - np.exp(-w ** 2 / (2 * eps ** 2))))
    np.testing.assert_allclose(g, w / eps ** 2 * np.exp(-w ** 2 / (2 * eps ** 2)))
    gam = 1.3
    v, g = vg("stvs", w, strength=1.0, gamma=gam)
    s = np.arcsinh(np.abs(w) / (2 * gam))
    assert np.isclose(v, np.sum(gam ** 2 * (s + 0.5 - 0.5 * np.exp(-2 * s))))
    np.testing.assert_allclose(g, np.sign(w) * gam ** 2 * (1 + np.exp(-2 * s)) / (2 * gam * np.sqrt(1 + (w / (2 * gam)) ** 2)))
    assert np.isclose(vg("stvs", W0, strength=1.0)[0], 348.691302)


# ---------------------------------------------------------------- sef, wgsef

def sef_ref(x, k):
    """The catalogue's closed form: scan r and test z_{k-r-1} > T_r >= z_{k-r} (1-based z)."""
    z = np.sort(np.abs(x.ravel()))[::-1]
    d = z.size
    if k >= d:
        return 0.5 * np.sum(z ** 2)
    zz = np.concatenate([[np.inf], z])  # zz[i] = z_i, zz[0] = +inf
    for r in range(k):
        T = zz[k - r:].sum() / (r + 1)
        if zz[k - r - 1] > T >= zz[k - r]:
            return 0.5 * (np.sum(zz[1:k - r] ** 2) + (r + 1) * T * T)
    raise AssertionError("no r")


def fd_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        p, m = x.copy(), x.copy()
        p.flat[i] += h
        m.flat[i] -= h
        g.flat[i] = (f(p) - f(m)) / (2 * h)
    return g


def envelope_prox_ref(beta, c, k):
    """tau by bisection on sum(clip(tau*beta - c, 0, 1)) = k; returns theta."""
    if np.count_nonzero(beta) <= k:
        return None
    lo, hi = 0.0, float(np.max((1 + c) / np.where(beta > 0, beta, np.inf)) * 2)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.clip(mid * beta - c, 0, 1).sum() < k:
            lo = mid
        else:
            hi = mid
    return np.clip(0.5 * (lo + hi) * beta - c, 0, 1)


@pytest.mark.parametrize("k", [1, 3, 7, 12])
def test_sef(k):
    x = RNG.normal(size=(3, 4))
    v, g = vg("sef", x, strength=1.0, k=k)
    assert np.isclose(v, sef_ref(x, k), rtol=1e-12)
    np.testing.assert_allclose(g, fd_grad(lambda y: sef_ref(y, k), x), atol=1e-6)
    t = 0.4
    theta = envelope_prox_ref(np.abs(x).ravel(), t, k)
    ref = x / (1 + t) if theta is None else (x.ravel() * theta / (theta + t)).reshape(x.shape)
    np.testing.assert_allclose(regula.penalty("sef", strength=1.0, k=k).prox(x, step=t), ref, atol=1e-9)


def test_sef_catalogue_values():
    for k, val in [(1, 6.125), (2, 3.125), (3, 2.625)]:
        assert np.isclose(vg("sef", W0, strength=1.0, k=k)[0], val)
    np.testing.assert_allclose(regula.penalty("sef", strength=1.0, k=2).prox(W0, step=0.5),
                               [[0.625, -1.333333], [0.125, 0]], atol=1e-6)
    # density rho: k = max(1, round(rho * count))
    x = RNG.normal(size=10)
    assert np.isclose(vg("sef", x, strength=1.0, density=0.3)[0], sef_ref(x, 3))


@pytest.mark.parametrize("weight,groups", [("unit", "rows"), ("size", "rows"), ("unit", "cols")])
def test_wgsef(weight, groups):
    x = RNG.normal(size=(5, 3))
    k = 2
    mats = x if groups == "rows" else x.T
    d = 1.0 if weight == "unit" else mats.shape[1]

    def value(y):
        m = y if groups == "rows" else y.T
        return sef_ref(np.sqrt(d) * np.linalg.norm(m, axis=1), k)

    p = regula.penalty("wgsef", strength=1.0, k=k, group_weight=weight, groups=groups)
    v, g = p.value_and_grad(x)
    assert np.isclose(v, value(x), rtol=1e-12)
    np.testing.assert_allclose(g, fd_grad(value, x), atol=1e-6)
    t = 0.3
    beta = np.sqrt(d) * np.linalg.norm(mats, axis=1)
    theta = envelope_prox_ref(beta, t * d, k)
    ref = mats * (theta / (theta + t * d))[:, None]
    ref = ref if groups == "rows" else ref.T
    np.testing.assert_allclose(p.prox(x, step=t), ref, atol=1e-9)


def test_wgsef_catalogue_and_zero_rows():
    v, g = vg("wgsef", W0, strength=1.0, k=1)
    assert np.isclose(v, 3.743034)
    np.testing.assert_allclose(g, [[1.223607, -2.447214], [2.736068, 0]], atol=1e-6)
    np.testing.assert_allclose(regula.penalty("wgsef", strength=1.0, k=1).prox(W0, step=0.2),
                               [[0.825199, -1.650398], [0.109133, 0]], atol=1e-6)
    x = np.array([[0.0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0, 1]])
    g = vg("wgsef", x, strength=1.0, k=1)[1]
    assert np.all(g[[0, 2]] == 0) and np.all(np.isfinite(g))


# ---------------------------------------------------------------- hypersparse, relevance_decay, flops

@pytest.mark.parametrize("kappa", [0.5, 0.9])
def test_hypersparse(kappa):
    w = RNG.normal(size=(6, 5))
    v, g = vg("hypersparse", w, strength=1.0, kappa=kappa)
    assert v == 0
    a = np.abs(w).ravel()
    s = 0.6585 / np.sort(a)[min(int(np.floor(kappa * a.size)), a.size - 1)]
    T, A = np.tanh(s * a).sum(), a.sum()
    # gradient of the surrogate A(w0) * T(w) / T(w0) with s held fixed
    surrogate = lambda y: A * np.tanh(s * np.abs(y)).sum() / T  # noqa: E731
    np.testing.assert_allclose(g, fd_grad(surrogate, w), atol=1e-7)
    np.testing.assert_allclose(vg("hypersparse", W0, strength=1.0, kappa=0.5)[1],
                               [[0.872372, -0.327124], [1.176388, 0]], atol=1e-6)


def test_relevance_decay():
    w = RNG.normal(size=(4, 3))
    G = RNG.normal(size=(4, 3))
    alpha = 0.5
    f = np.exp(-np.abs(G) / alpha)
    p = regula.penalty("relevance_decay", strength=1.0, alpha=alpha)
    v, g = p.value_and_grad(w, task_grad=G)
    assert np.isclose(v, np.sum(f * w ** 2))
    np.testing.assert_allclose(g, 2 * f * w)
    np.testing.assert_allclose(p.prox(w, step=0.3, task_grad=G), w / (1 + 0.6 * f))
    with pytest.raises(regula.RegulaError):
        p.value(w)
    with pytest.raises(regula.RegulaError, match="shape"):
        p.value(w, task_grad=G.T)


def test_flops():
    a = np.abs(RNG.normal(size=(8, 6)))
    a[:, 2] = 0
    v, g = vg("flops", a, strength=1.0)
    mean = np.abs(a).mean(axis=0)
    assert np.isclose(v, np.sum(mean ** 2))
    np.testing.assert_allclose(g, 2 / 8 * mean[None, :] * np.sign(a))
    v3 = vg("flops", a.reshape(2, 4, 6), strength=1.0)[0]  # (B, T, d) as (B*T, d)
    assert np.isclose(v3, v)
    assert vg("flops", np.zeros((0, 4)), strength=1.0)[0] == 0


# ---------------------------------------------------------------- gen_gaussian, adaround_reg

def gg_shape(w):
    rho_hat = w.size * np.sum(w ** 2) / np.sum(np.abs(w)) ** 2
    nus = np.arange(10, 301) / 100
    rho = special.gamma(1 / nus) * special.gamma(3 / nus) / special.gamma(2 / nus) ** 2
    return nus[np.argmin(np.abs(rho - rho_hat))]


def test_gen_gaussian():
    assert gg_shape(W0) == 1.46
    w = RNG.laplace(size=(20, 20)) ** 3
    nu = gg_shape(w)
    v, g = vg("gen_gaussian", w, strength=1.0)
    assert np.isclose(v, np.sum(np.abs(w) ** nu))
    nu, alpha = 0.7, 1.5
    v, g = vg("gen_gaussian", w, strength=1.0, nu=nu, alpha=alpha)
    assert np.isclose(v, np.sum(np.abs(w / alpha) ** nu))
    np.testing.assert_allclose(g, nu / alpha ** nu * np.abs(w) ** (nu - 1) * np.sign(w))
    z = vg("gen_gaussian", np.array([0.0, 1.0]), strength=1.0, nu=0.5)[1]
    assert z[0] == 0 and np.all(np.isfinite(z))


def test_adaround_reg():
    V = RNG.normal(size=(5, 4)) * 2
    lam, beta = 0.01, 3.0
    sig = 1 / (1 + np.exp(-V))
    u = sig * 1.2 - 0.1
    h = np.clip(u, 0, 1)
    dh = np.where((u > 0) & (u < 1), 1.2 * sig * (1 - sig), 0)
    v, g = vg("adaround_reg", V, lam=lam, beta=beta)
    assert np.isclose(v, lam * np.sum(1 - np.abs(2 * h - 1) ** beta))
    np.testing.assert_allclose(g, -lam * beta * np.abs(2 * h - 1) ** (beta - 1) * np.sign(2 * h - 1) * 2 * dh, atol=1e-15)
    v, g = vg("adaround_reg", np.array([1e4, -1e4], dtype=np.float32), lam=1.0, beta=2.0)
    assert v == 0 and np.all(g == 0)
    assert np.isclose(vg("adaround_reg", W0, lam=1.0, beta=20.0)[0], 3.834759)


# ---------------------------------------------------------------- weight_compander

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_compander(dtype):
    a, b = 0.8, 0.5
    m = regula.output_map("weight_compander", a=a, b=b)
    x = (RNG.normal(size=(3, 4)) * 2).astype(dtype)
    c = RNG.normal(size=(3, 4)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(m(x), a * np.arctan(x.astype(np.float64) / b), rtol=tol, atol=tol)
    np.testing.assert_allclose(m.vjp(x, c), c * (a / b) / (1 + (x.astype(np.float64) / b) ** 2), rtol=tol, atol=tol)
    big = m(np.array([1e4, -1e30], dtype=dtype))
    assert np.all(np.abs(big) < a * np.pi / 2 + 1e-6)
    np.testing.assert_allclose(regula.output_map("weight_compander", a=1.0, b=1.0)(W0),
                               [[0.785398, -1.107149], [0.463648, 0]], atol=1e-6)
    assert regula.describe("weight_compander")["kind"] == "map"
