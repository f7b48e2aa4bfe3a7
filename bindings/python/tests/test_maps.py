"""Output maps, activations, diffusion weightings and the distillation / quantile / ranking /
label-proportion / self-target losses, against independent NumPy/SciPy references written here.

Run: swift build, then
  REGULA_LIBRARY=$PWD/.build/debug/libregula.so PYTHONPATH=bindings/python \
    python3 -m pytest -q bindings/python/tests/test_maps.py
"""
import numpy as np
import pytest
from scipy.special import expit, log_softmax, logsumexp, softmax

import regula

RNG = np.random.default_rng(42)


def num_vjp(f, x, u, h=1e-6):
    """uᵀ J_f(x) by central differences of a NumPy reference f."""
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        xp, xm = flat.copy(), flat.copy()
        xp[i] += h
        xm[i] -= h
        gf[i] = np.sum(u * (f(xp.reshape(x.shape)) - f(xm.reshape(x.shape)))) / (2 * h)
    return g


def num_grad(f, x, h=1e-6):
    return num_vjp(lambda a: np.array(f(a)), x, np.array(1.0), h)


def check_map(m, ref, x, atol=1e-7, **inputs):
    y = m(x, **inputs)
    np.testing.assert_allclose(y, ref(x), rtol=1e-9, atol=1e-12)
    u = RNG.normal(size=x.shape)
    np.testing.assert_allclose(m.vjp(x, u, **inputs), num_vjp(ref, x, u), rtol=1e-5, atol=atol)
    y32 = m(x.astype(np.float32), **inputs)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, ref(x.astype(np.float32).astype(np.float64)), rtol=2e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# references (NumPy, row-wise along the last axis)

def entmax15_ref(z):
    """Bisection on τ: Σ max(z/2 − τ, 0)² = 1 (independent of the sort algorithm)."""
    x = z / 2
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        r = x[idx]
        lo, hi = r.max() - 1, r.max()
        for _ in range(200):
            mid = (lo + hi) / 2
            if np.sum(np.maximum(r - mid, 0) ** 2) > 1:
                lo = mid
            else:
                hi = mid
        out[idx] = np.maximum(r - (lo + hi) / 2, 0) ** 2
    return out


def topk_ref(k):
    def f(z):
        out = np.zeros_like(z)
        for idx in np.ndindex(z.shape[:-1]):
            r = z[idx]
            keep = np.argsort(-r, kind="stable")[:k]
            out[idx][keep] = softmax(r[keep])
        return out
    return f


def stablemax_ref(z):
    s = np.where(z >= 0, z + 1, 1 / (1 - np.minimum(z, 0)))
    return s / s.sum(axis=-1, keepdims=True)


def softpick_ref(x, mask=None, eps=1e-8):
    """The naive formula ReLU(e^x − 1)/(Σ|e^x − 1| + ε·e^m) (the ε of the stable form)."""
    keep = np.ones_like(x, dtype=bool) if mask is None else np.broadcast_to(mask != 0, x.shape)
    e = np.where(keep, np.expm1(x), 0.0)
    m = np.max(np.where(keep, x, -np.inf), axis=-1, keepdims=True)
    d = np.abs(e).sum(axis=-1, keepdims=True) + eps * np.exp(m)
    return np.maximum(e, 0) / d


# ---------------------------------------------------------------------------------------------
# softmax alternatives

def test_entmax15_matches_bisection_reference():
    m = regula.output_map("entmax15")
    x = RNG.normal(size=(4, 6)) * 2
    check_map(m, entmax15_ref, x)
    np.testing.assert_allclose(m(np.array([2.0, 1, -1])), [0.830719, 0.169281, 0], atol=1e-6)
    np.testing.assert_allclose(m(np.array([[1e4, 0, -1e4]], dtype=np.float32)), [[1, 0, 0]])


def test_sparse_softmax_topk():
    m = regula.output_map("sparse_softmax_topk", k=3)
    x = RNG.normal(size=(3, 7))
    check_map(m, topk_ref(3), x)
    np.testing.assert_allclose(regula.output_map("sparse_softmax_topk", k=2)(np.array([1.0, 1, 1])), [0.5, 0.5, 0])
    np.testing.assert_allclose(regula.output_map("sparse_softmax_topk", k=50)(x), softmax(x, axis=-1), rtol=1e-12)
    with pytest.raises(regula.RegulaError, match="k"):
        regula.output_map("sparse_softmax_topk")
    with pytest.raises(regula.RegulaError):
        regula.output_map("sparse_softmax_topk", k=0)


def test_stablemax():
    m = regula.output_map("stablemax")
    check_map(m, stablemax_ref, RNG.normal(size=(5, 4)) * 3)
    y = m(np.array([1e4, -1e4, 0]))
    np.testing.assert_allclose(np.log(y), [-1.0e-4, -18.420981, -9.210540], atol=1e-5)
    g = m.vjp(np.array([1.0, 0, -1], dtype=np.float32), np.array([1.0, -1, 0.5], dtype=np.float32))
    assert np.all(np.isfinite(g))


def test_softpick_with_masks():
    m = regula.output_map("softpick")
    x = RNG.normal(size=(3, 5)) + 0.3
    check_map(m, softpick_ref, x, atol=1e-6)
    np.testing.assert_allclose(m(np.array([2.0, 1, -1])), [0.731059, 0.196612, 0], atol=1e-6)
    np.testing.assert_allclose(m.vjp(np.array([2.0, 1, -1]), np.array([1.0, 0, 0])), [0.227385, -0.227385, 0.030773], atol=1e-6)
    # causal (T, T) mask on a (B, T, T) batch; the masked entries may hold anything finite
    mask = np.tril(np.ones((4, 4)))
    xb = RNG.normal(size=(2, 4, 4)) * 2
    y = m(xb, mask=mask)
    np.testing.assert_allclose(y, softpick_ref(xb, mask), rtol=1e-9, atol=1e-12)
    assert np.all(y[:, mask == 0] == 0)
    u = RNG.normal(size=xb.shape)
    np.testing.assert_allclose(m.vjp(xb, u, mask=mask), num_vjp(lambda a: softpick_ref(a, mask), xb, u), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m(np.array([1.0, 0, 0.5]), mask=np.array([1, 0, 1])), [0.725931, 0, 0.274069], atol=1e-6)
    assert np.all(m(np.ones((2, 3)), mask=np.zeros(3)) == 0)  # fully masked rows: zeros, not NaN
    with pytest.raises(regula.RegulaError, match="non-finite"):
        m(np.array([1.0, -np.inf, 0.5]))
    with pytest.raises(regula.RegulaError, match="mask"):
        m(xb, mask=np.ones((3, 4)))


def test_gumbel_softmax_noise_and_straight_through():
    x = np.array([[2.0, 1, -1]])
    g = np.array([[0.1, -0.2, 0.5]])
    soft = regula.output_map("gumbel_softmax", tau=0.5)
    np.testing.assert_allclose(soft(x, gumbel=g), softmax((x + g) / 0.5, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(soft(x, gumbel=g), [[0.926106, 0.068785, 0.005109]], atol=1e-6)
    hard = regula.output_map("gumbel_softmax", tau=0.5, hard=True)
    np.testing.assert_array_equal(hard(x, gumbel=g), [[1, 0, 0]])
    u = RNG.normal(size=x.shape)
    ref = num_vjp(lambda a: softmax((a + g) / 0.5, axis=-1), x, u)
    np.testing.assert_allclose(hard.vjp(x, u, gumbel=g), ref, rtol=1e-6, atol=1e-9)
    # generated noise: a function of (seed, step); forward and VJP at one step agree
    m = regula.output_map("gumbel_softmax", seed=5)
    z = RNG.normal(size=(4, 6))
    y0 = m(z)
    np.testing.assert_array_equal(m(z), y0)
    gnoise = np.log(y0) - np.log(y0).mean(axis=-1, keepdims=True) - (z - z.mean(axis=-1, keepdims=True))
    uu = RNG.normal(size=z.shape)
    ref = num_vjp(lambda a: softmax(a + gnoise, axis=-1), z, uu)
    np.testing.assert_allclose(m.vjp(z, uu), ref, rtol=1e-5, atol=1e-8)
    m.update(step=1)
    assert not np.allclose(m(z), y0)
    m.update(step=0)
    np.testing.assert_array_equal(m(z), y0)
    with pytest.raises(regula.RegulaError):
        m.update(epoch=1)
    with pytest.raises(regula.RegulaError):
        regula.output_map("entmax15").update(step=1)


def test_gumbel_hard_sampling_law():
    m = regula.output_map("gumbel_softmax", hard=True, seed=11)
    z = np.tile(np.array([[0.5, 0.0, -1.0, 1.0]]), (500, 1))  # 500 rows per step: independent draws
    counts = np.zeros(4)
    for s in range(8):
        m.update(step=s)
        counts += m(z).sum(axis=0)
    np.testing.assert_allclose(counts / counts.sum(), softmax(z[0]), atol=0.02)


# ---------------------------------------------------------------------------------------------
# attention-type maps

def wcdas_ref(c, g=0.0, s_raw=0.0, s_fixed=None):
    rho = np.minimum(expit(g), 1 - 1e-6)
    s = s_fixed if s_fixed is not None else 1 + np.log1p(np.exp(s_raw))
    return s / (2 * 3.14) * (1 - rho ** 2) / (1 + rho ** 2 - 2 * rho * c)


def test_wcdas():
    c = RNG.uniform(-1, 1, size=(3, 4))
    check_map(regula.output_map("wcdas", g=0.4, s_=-0.5), lambda a: wcdas_ref(a, 0.4, -0.5), c)
    gk = np.array([-1.0, 0.0, 1.0, 2.0])
    check_map(regula.output_map("wcdas", g_per_class=gk), lambda a: wcdas_ref(a, gk), c)
    np.testing.assert_allclose(regula.output_map("wcdas", s_trainable=False)(np.array([0.8, 0.1, -0.5])),
                               [66.348195, 25.962337, 17.060965], rtol=1e-6)
    with pytest.raises(regula.RegulaError, match="cosine"):
        regula.output_map("wcdas")(np.array([1.2]))
    assert np.all(np.isfinite(regula.output_map("wcdas", g=50.0)(np.array([1.0, -1.0]))))


def idw_ref(d, p=2.0, eps=1e-3):
    a = 1 / (eps + d ** p)
    return a / a.sum(axis=-1, keepdims=True)


def test_idw_attention():
    d = np.abs(RNG.normal(size=(3, 5))) + 0.05
    check_map(regula.output_map("idw_attention"), idw_ref, d)
    check_map(regula.output_map("idw_attention", p=1.5, eps=0.01), lambda a: idw_ref(a, 1.5, 0.01), d)
    m = regula.output_map("idw_attention")
    np.testing.assert_allclose(m(np.array([0.5, 1, 2])), [0.761334, 0.190904, 0.047762], atol=1e-6)
    assert np.all(np.isfinite(m.vjp(np.array([0.0, 1.0]), np.array([1.0, 0.0]))))
    with pytest.raises(regula.RegulaError, match="distances"):
        m(np.array([0.5, -0.1]))


# ---------------------------------------------------------------------------------------------
# activations

def ash_ref(x, alpha=3.0, zk=2.3, hard=False):
    mu = x.mean(axis=-1, keepdims=True)
    sd = x.std(axis=-1, keepdims=True)
    u = alpha * (x - mu - zk * sd)
    if hard:
        return np.clip(x, 0, 2) * np.clip(u + 3, 0, 6) / 6
    return x * expit(u)


def test_activations():
    x = RNG.normal(size=(4, 9)) * 1.5
    check_map(regula.output_map("crelu_clipped", tau=0.3, m=1.2), lambda a: np.clip(a - 0.3, 0, 1.2), x)
    check_map(regula.output_map("cst_clipped", tau=0.3, m=1.2),
              lambda a: np.sign(a) * np.clip(np.abs(a) - 0.3, 0, 1.2), x)
    check_map(regula.output_map("log_saturation"), lambda a: np.log1p(np.maximum(a, 0)), x)
    check_map(regula.output_map("ash", z_k=1.0), lambda a: ash_ref(a, 3.0, 1.0), x, atol=1e-6)
    check_map(regula.output_map("ash", alpha=1.5, z_k=0.2), lambda a: ash_ref(a, 1.5, 0.2), x, atol=1e-6)
    xs = x + RNG.uniform(0, 3, size=x.shape) * (RNG.uniform(size=x.shape) < 0.3)
    check_map(regula.output_map("hard_ash", z_k=0.5), lambda a: ash_ref(a, 3.0, 0.5, hard=True), xs, atol=1e-6)
    z = np.array([0.1, -0.4, 2.5, 0.3, -1.2, 0.8, 3.9, 0])
    np.testing.assert_allclose(regula.output_map("hard_ash", z_k=1.0)(z), [0, 0, 1.19678, 0, 0, 0, 2, 0], atol=1e-5)
    np.testing.assert_allclose(regula.output_map("crelu_clipped")(np.array([-3, -1.5, -0.5, 0.5, 1.5, 3.0])),
                               [0, 0, 0, 0, 0.5, 1])
    assert regula.describe("ash")["kind"] == "activation"


# ---------------------------------------------------------------------------------------------
# diffusion weightings

def linear_snr():
    beta = np.linspace(1e-4, 0.02, 1000)
    abar = np.cumprod(1 - beta)
    return abar / (1 - abar)


def test_diffusion_weightings():
    snr = linear_snr()[[0, 99, 499, 999]]
    np.testing.assert_allclose(regula.output_map("p2_weight")(snr), [1.0e-4, 0.102982, 0.921413, 0.999960], rtol=1e-4)
    np.testing.assert_allclose(regula.output_map("debias_weight")(snr), [0.0100005, 0.338828, 3.424137, 157.407281], rtol=1e-5)
    s = np.exp(RNG.normal(size=(3, 4)) * 2)
    check_map(regula.output_map("p2_weight", gamma=0.5, k=2.0), lambda a: (2 + a) ** -0.5, s)
    check_map(regula.output_map("debias_weight"), lambda a: 1 / np.sqrt(a), s)
    check_map(regula.output_map("debias_weight", prediction="v"), lambda a: 1 / np.sqrt(a + 1), s)
    assert regula.output_map("debias_weight")(np.array([0.0]))[0] == 1e4
    with pytest.raises(regula.RegulaError, match="SNR"):
        regula.output_map("p2_weight")(np.array([-1.0]))


# ---------------------------------------------------------------------------------------------
# losses

Z = np.array([[2.0, 1, -1]])


def test_kd_kl_matches_torch_semantics():
    z, u = RNG.normal(size=(5, 4)) * 2, RNG.normal(size=(5, 4)) * 2
    for T in (1.0, 4.0):
        qu = softmax(u / T, axis=-1)
        ref = lambda a: T * T * np.sum(qu * (np.log(qu) - log_softmax(a / T, axis=-1))) / 5
        v, g = regula.loss("kd_kl", T=T).value_and_grad(z, u)
        assert np.isclose(v, ref(z), rtol=1e-12)
        np.testing.assert_allclose(g, T * (softmax(z / T, axis=-1) - qu) / 5, atol=1e-12)
        np.testing.assert_allclose(g, num_grad(ref, z), atol=1e-7)
    y = RNG.integers(0, 4, size=5)
    v, g = regula.loss("kd_kl", T=2.0, alpha_kd=0.3).value_and_grad(z, u, hard_labels=y)
    ce = -log_softmax(z, axis=-1)[np.arange(5), y]
    kd = 4 * np.sum(softmax(u / 2, axis=-1) * (log_softmax(u / 2, axis=-1) - log_softmax(z / 2, axis=-1)), axis=-1)
    assert np.isclose(v, np.mean(0.3 * kd + 0.7 * ce))
    v, g = regula.loss("kd_kl", T=4.0).value_and_grad(Z, np.array([[1.5, 1.2, 0.1]]))
    assert np.isclose(v, 0.196700, atol=1e-6)
    with pytest.raises(regula.RegulaError, match="hard_labels"):
        regula.loss("kd_kl", alpha_kd=0.5).value(z, u)


def test_kt_sel():
    z = RNG.normal(size=(4, 5))
    a = RNG.integers(0, 5, size=4)
    pi = RNG.uniform(0.1, 1, size=4)
    ref = lambda x: np.mean(0.5 * (log_softmax(x, axis=-1)[np.arange(4), a] - np.log(pi)) ** 2)  # eq. 4.6
    v, g = regula.loss("kt_sel").value_and_grad(z, a, teacher_prob=pi)
    assert np.isclose(v, ref(z))
    np.testing.assert_allclose(g, num_grad(ref, z), atol=1e-7)
    # exact matching of the seen pair gives zero loss
    p = softmax(z, axis=-1)[np.arange(4), a]
    assert regula.loss("kt_sel").value(z, a, teacher_prob=p) < 1e-20
    with pytest.raises(regula.RegulaError, match="teacher_prob"):
        regula.loss("kt_sel").value(z, a, teacher_prob=np.zeros(4))


def test_pinball():
    yhat, y = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    taus = np.array([0.1, 0.5, 0.9])

    def ref(p, t=taus):
        u = y - p
        return np.mean(np.maximum(t * u, (t - 1) * u))
    v, g = regula.loss("pinball", taus=taus).value_and_grad(yhat, y)
    assert np.isclose(v, ref(yhat))
    np.testing.assert_allclose(g, num_grad(ref, yhat), atol=1e-7)
    v, g = regula.loss("pinball", tau=0.9).value_and_grad(np.array([[0.4], [1.5], [1.0]]), np.ones((3, 1)))
    assert np.isclose(v, 0.59 / 3)
    np.testing.assert_allclose(g.ravel(), [-0.3, 0.1 / 3, 0])
    with pytest.raises(regula.RegulaError):
        regula.loss("pinball", tau=0.0)


def psl_ref(f, y, act="tanh", tau_star=1.0, method=1):
    rows = []
    for i in range(f.shape[0]):
        d = np.delete(f[i] - f[i, y[i]], y[i])
        if act == "tanh":
            s = np.log1p(np.tanh(d))
        elif act == "relu":
            s = np.log(np.maximum(d + 1, 0))
        else:
            s = np.log(np.maximum(1 + np.arctan(d), 0))
        rows.append(s / tau_star)
    rows = np.array(rows)
    if method == 2:
        return logsumexp(rows) - np.log(rows.size)
    return np.mean(logsumexp(rows, axis=1))


def test_pairwise_softmax_loss():
    f = RNG.uniform(-0.4, 0.4, size=(5, 6))
    y = RNG.integers(0, 6, size=5)
    with np.errstate(divide="ignore"):
        for act in ("tanh", "relu", "atan"):
            for method in (1, 2):
                l = regula.loss("pairwise_softmax_loss", activation=act, tau_star=0.25, method=method)
                v, g = l.value_and_grad(f, y)
                ref = lambda a: psl_ref(a, y, act, 0.25, method)
                assert np.isclose(v, ref(f), rtol=1e-10), (act, method)
                np.testing.assert_allclose(g, num_grad(ref, f), rtol=1e-5, atol=1e-6)
    s = np.array([[0.5, 0.2, -0.3]])
    assert np.isclose(regula.loss("pairwise_softmax_loss").value(s, [0]), 0.043682, atol=1e-6)
    assert np.isclose(regula.loss("pairwise_softmax_loss", activation="relu").value(s, [0]), -0.105361, atol=1e-6)
    v, g = regula.loss("pairwise_softmax_loss", activation="relu").value_and_grad(Z, [0])
    assert v == -np.inf and np.all(g == 0)
    with pytest.raises(regula.RegulaError, match="method 2"):
        regula.loss("pairwise_softmax_loss", method=2, reduction="none").value(f, y)


def test_easyllp():
    z = RNG.normal(size=(4, 3))
    alpha = RNG.dirichlet(np.ones(3), size=4)
    prior = np.array([0.4, 0.4, 0.2])
    k = np.array([2, 4, 8, 4])
    soft = k[:, None] * (alpha - prior) + prior
    ref = lambda a: np.mean(-(soft * log_softmax(a, axis=-1)).sum(axis=-1))
    v, g = regula.loss("easyllp", prior=prior).value_and_grad(z, alpha, bag_size=k)
    assert np.isclose(v, ref(z))
    np.testing.assert_allclose(g, num_grad(ref, z), atol=1e-7)
    v = regula.loss("easyllp", k=4, prior=prior).value(Z, np.array([[0.5, 0.25, 0.25]]))
    assert np.isclose(v, 1.349012, atol=1e-6)
    with pytest.raises(regula.RegulaError, match="bag size"):
        regula.loss("easyllp", prior=prior).value(z, alpha)


def test_pskd_target_epochs():
    l = regula.loss("pskd_target", alpha_T=0.8, T_end=10)
    z0 = RNG.normal(size=(3, 4))
    y = np.array([0, 3, 1])
    ids = np.array([7, 2, 9])
    onehot = np.eye(4)[y]
    v, g = l.value_and_grad(z0, y, ids=ids)
    assert np.isclose(v, np.mean(-(onehot * log_softmax(z0, axis=-1)).sum(-1)))
    l.update(epoch=1)  # commits softmax(z0) as the memory of ids 7, 2, 9
    z1 = RNG.normal(size=(3, 4))
    alpha = 0.8 * 2 / 10
    t = (1 - alpha) * onehot + alpha * softmax(z0, axis=-1)
    v, g = l.value_and_grad(z1, y, ids=ids)
    assert np.isclose(v, np.mean(-(t * log_softmax(z1, axis=-1)).sum(-1)))
    np.testing.assert_allclose(g, (softmax(z1, axis=-1) - t) / 3, atol=1e-12)
    v2 = regula.loss("pskd_target", epoch=149, memory=np.array([[0.6, 0.3, 0.1]])).value(Z, [0], ids=[0])
    assert np.isclose(v2, 0.589012, atol=1e-6)


def test_elr_memory_and_gradient():
    beta, lam = 0.7, 3.0
    l = regula.loss("elr", beta=beta, lam=lam)
    z = RNG.normal(size=(4, 5)) * 2
    y = RNG.integers(0, 5, size=4)
    ids = np.array([0, 1, 2, 3])
    T = np.zeros((4, 5))
    for step in range(3):
        p = np.clip(softmax(z, axis=-1), 1e-4, 1 - 1e-4)
        T = beta * T + (1 - beta) * p / p.sum(-1, keepdims=True)
        ref = lambda a: np.mean(-log_softmax(a, axis=-1)[np.arange(4), y]
                                + lam * np.log(1 - (T * np.clip(softmax(a, axis=-1), 1e-4, 1 - 1e-4)).sum(-1)))
        v, g = l.value_and_grad(z, y, ids=ids)
        assert np.isclose(v, ref(z)), step
        np.testing.assert_allclose(g, num_grad(ref, z), atol=1e-6)  # T held fixed (stop-gradient)
    v = regula.loss("elr").value(Z, [0], ids=[0])
    assert np.isclose(v, -0.209404, atol=1e-6)


def lrqr_ref(h, s, dom, alpha, lam):
    """Algorithm 1 of the LR-QR paper with β minimized numerically (not the closed form)."""
    from scipy.optimize import minimize_scalar
    u = s[dom == 1] - h[dom == 1]
    pin = np.mean(np.where(u >= 0, (1 - alpha) * u, -alpha * u))
    reg = minimize_scalar(lambda b: np.mean(b * b * h[dom == 3] ** 2) - 2 * np.mean(b * h[dom == 2]),
                          bracket=(-10, 10), tol=1e-14).fun
    return pin + lam * reg


def test_lr_qr_matches_algorithm_1():
    n = 30
    h = 0.5 + 0.3 * RNG.normal(size=n)
    s = RNG.uniform(size=n)
    dom = np.array([1, 2, 3] * 10)
    for alpha, lam in [(0.1, 0.5), (0.3, 2.0)]:
        l = regula.loss("lr_qr", alpha=alpha, lam=lam)
        v, g = l.value_and_grad(h, s, domain=dom)
        assert np.isclose(v, lrqr_ref(h, s, dom, alpha, lam), rtol=1e-8)
        np.testing.assert_allclose(g, num_grad(lambda a: lrqr_ref(a, s, dom, alpha, lam), h, h=1e-5), atol=1e-5)
    # per-point contributions (shape (N, 1) → one row per point) sum to the objective
    l = regula.loss("lr_qr", lam=1.0)
    v = l.value(h[:, None], s[:, None], domain=dom)
    with pytest.raises(regula.RegulaError, match="reduction=mean"):
        regula.loss("lr_qr", lam=1.0, reduction="none").value(h, s, domain=dom)
    with pytest.raises(regula.RegulaError, match="lam"):
        regula.loss("lr_qr")
    with pytest.raises(regula.RegulaError, match="every domain"):
        l.value(h[:2], s[:2], domain=np.array([1, 2]))
    assert np.isfinite(v)


MAP_IDS = [("entmax15", {}), ("sparse_softmax_topk", {"k": 2}), ("stablemax", {}), ("softpick", {}),
           ("gumbel_softmax", {}), ("crelu_clipped", {}), ("cst_clipped", {}), ("ash", {}), ("hard_ash", {}),
           ("log_saturation", {}), ("wcdas", {}), ("idw_attention", {}), ("p2_weight", {}), ("debias_weight", {})]


@pytest.mark.parametrize("mid,kw", MAP_IDS)
def test_maps_on_empty_inputs(mid, kw):
    m = regula.output_map(mid, **kw)
    for shape in [(0, 3), (2, 0), (0,)]:
        x = np.zeros(shape)
        assert m(x).shape == shape and m.vjp(x, x).shape == shape


def test_losses_on_empty_batches():
    ints = np.zeros(0, dtype=np.int64)
    cases = [("kd_kl", {}, np.zeros((0, 3)), {}), ("kt_sel", {}, ints, {"teacher_prob": np.zeros(0)}),
             ("easyllp", {"k": 2, "prior": np.ones(3) / 3}, np.zeros((0, 3)), {}),
             ("pskd_target", {}, ints, {"ids": ints}), ("elr", {}, ints, {"ids": ints})]
    for lid, kw, target, inputs in cases:
        with pytest.raises(regula.RegulaError, match="empty"):
            regula.loss(lid, **kw).value(np.zeros((0, 3)), target, **inputs)
        assert regula.loss(lid, reduction="sum", **kw).value(np.zeros((0, 3)), target, **inputs) == 0
