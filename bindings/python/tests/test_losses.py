"""Classification losses (catalogue losses §2–§10, §22, §23) against independent NumPy references."""
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit, log_softmax, logsumexp, softmax

import regula

RNG = np.random.default_rng(4)


def batch(b=5, k=4, scale=2.0):
    return RNG.normal(size=(b, k)) * scale, RNG.integers(0, k, size=b)


def onehot(y, k):
    return np.eye(k)[y]


def central_diff(f, z, h=1e-6):
    g = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        g[idx] = (f(zp) - f(zm)) / (2 * h)
    return g


# --- §2 TSLA, §3 MaxSup, §4 ACLS -----------------------------------------------------------------

def ls_reference(z, y, eps):
    k = z.shape[1]
    t = (1 - eps) * onehot(y, k) + eps / k
    return -(t * log_softmax(z, axis=1)).sum(1).mean(), (softmax(z, axis=1) - t) / len(y)


def test_tsla_switches_at_t1():
    z, y = batch()
    loss = regula.loss("tsla_label_smoothing", theta=0.2, t1=3)
    for epoch, eps in [(0, 0.2), (2, 0.2), (3, 0.0), (10, 0.0)]:
        loss.update(epoch=epoch)
        v, g = loss.value_and_grad(z, y)
        rv, rg = ls_reference(z, y, eps)
        assert np.isclose(v, rv, rtol=1e-12)
        np.testing.assert_allclose(g, rg, atol=1e-12)
    with pytest.raises(regula.RegulaError):
        loss.update(step=1)
    with pytest.raises(regula.RegulaError, match="t1"):
        regula.loss("tsla_label_smoothing")


def maxsup_reference(z, y, alpha):
    b, k = z.shape
    ce = -log_softmax(z, axis=1)[np.arange(b), y]
    v = (ce + alpha * (z.max(1) - z.mean(1))).mean()
    g = softmax(z, axis=1) - onehot(y, k) + alpha * (onehot(z.argmax(1), k) - 1 / k)
    return v, g / b


def test_maxsup_constant_and_schedule():
    z, y = batch(6, 5)
    v, g = regula.loss("maxsup", alpha=0.1).value_and_grad(z, y)
    rv, rg = maxsup_reference(z, y, 0.1)
    assert np.isclose(v, rv, rtol=1e-12)
    np.testing.assert_allclose(g, rg, atol=1e-12)
    sched = regula.loss("maxsup", alpha_begin=0.1, alpha_end=0.3, total_steps=4)
    for step in [0, 1, 4, 9]:
        sched.update(step=step)
        alpha = 0.1 + 0.2 * min(step, 4) / 4
        assert np.isclose(sched.value(z, y), maxsup_reference(z, y, alpha)[0], rtol=1e-12)


def acls_reference(z, y, pos=1.0, neg=0.1, alpha=0.1, margin=10.0):
    b, k = z.shape
    m = z.max(1, keepdims=True)
    ind = (z == m).astype(float)
    ce = -log_softmax(z, axis=1)[np.arange(b), y].mean()
    pos_d = np.maximum(m - margin, 0)
    neg_d = np.maximum(m - z - margin, 0)
    reg = pos * (ind * pos_d ** 2).sum() / b + neg * ((1 - ind) * neg_d ** 2).sum() / (b * (k - 1))
    g_reg = pos * ind * 2 * pos_d / b - neg * (1 - ind) * 2 * neg_d / (b * (k - 1))  # sg(max) in the negative term
    g = (softmax(z, axis=1) - onehot(y, k)) / b + alpha * g_reg
    return ce + alpha * reg, g


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_acls_matches_official_form(dtype):
    z, y = batch(6, 5, scale=8.0)
    z[0, 2] = 25.0  # a max beyond the margin and gaps beyond it
    v, g = regula.loss("acls").value_and_grad(z.astype(dtype), y)
    rv, rg = acls_reference(z.astype(dtype).astype(np.float64), y)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.isclose(v, rv, rtol=tol)
    np.testing.assert_allclose(g, rg, atol=tol, rtol=tol)


# --- §5 entropy regularizers ---------------------------------------------------------------------

def test_confidence_penalty():
    z, y = batch()
    beta = 0.3
    lp = log_softmax(z, axis=1)
    p = np.exp(lp)
    h = -(p * lp).sum(1)
    ref = (-lp[np.arange(len(y)), y] - beta * h).mean()
    g_ref = (p - onehot(y, 4) + beta * p * (lp + h[:, None])) / len(y)
    v, g = regula.loss("confidence_penalty", beta=beta).value_and_grad(z, y)
    assert np.isclose(v, ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, atol=1e-12)


def xlogx(x):
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1)), 0.0)


def happy_reference(z, c_old, tau=0.1, w_on=2.0, w_old=1.0, w_new=1.0):
    pbar = softmax(z / tau, axis=1).mean(0)
    old, new = pbar[:c_old], pbar[c_old:]
    r_on = xlogx(old.sum()) + xlogx(new.sum()) + np.log(2)
    r_old = np.log(c_old) + xlogx(old / old.sum()).sum()
    r_new = np.log(len(new)) + xlogx(new / new.sum()).sum() if len(new) > 1 else 0.0
    return w_on * r_on + w_old * r_old + w_new * r_new


def marginal_reference(z, tau=0.1):
    pbar = softmax(z / tau, axis=1).mean(0)
    return np.log(len(pbar)) + xlogx(pbar).sum()


def test_happy_and_marginal_entropy():
    z = RNG.normal(size=(6, 5)) * 0.3
    for c_old in (1, 2, 4):
        v, g = regula.loss("happy_soft_entropy", c_old=c_old).value_and_grad(z)
        assert np.isclose(v, happy_reference(z, c_old), rtol=1e-12)
        np.testing.assert_allclose(g, central_diff(lambda x: happy_reference(x, c_old), z), atol=1e-6)
    v, g = regula.loss("marginal_entropy_max", tau=0.5).value_and_grad(z, None)
    assert np.isclose(v, marginal_reference(z, 0.5), rtol=1e-12)
    np.testing.assert_allclose(g, central_diff(lambda x: marginal_reference(x, 0.5), z), atol=1e-6)
    # The catalogue example.
    z2 = np.array([[2, 1, -1], [0.5, 0.2, 0.1]])
    assert np.isclose(regula.loss("happy_soft_entropy", c_old=2).value(z2), 1.869281, atol=1e-6)
    assert np.isclose(regula.loss("marginal_entropy_max").value(z2), 0.938748, atol=1e-6)
    with pytest.raises(regula.RegulaError, match="c_old"):
        regula.loss("happy_soft_entropy", c_old=5).value(z)
    with pytest.raises(regula.RegulaError, match="reduction"):
        regula.loss("marginal_entropy_max", reduction="sum")


# --- §6 z-losses ---------------------------------------------------------------------------------

def zloss_reference(z, y, a, b):
    zh = (z - z.mean(1, keepdims=True)) / z.std(1, keepdims=True)
    return (np.logaddexp(0, a * (b - zh[np.arange(len(y)), y])) / a).mean()


def test_zloss_spherical():
    z, y = batch(5, 6)
    v, g = regula.loss("zloss_spherical", a=0.7, b=3.0).value_and_grad(z, y)
    assert np.isclose(v, zloss_reference(z, y, 0.7, 3.0), rtol=1e-12)
    np.testing.assert_allclose(g, central_diff(lambda x: zloss_reference(x, y, 0.7, 3.0), z), atol=1e-7)
    assert np.isclose(regula.loss("zloss_spherical", a=0.7, b=3.0).value(5 * z + 2, y), v, rtol=1e-12)
    with pytest.raises(regula.RegulaError, match="b"):
        regula.loss("zloss_spherical", a=1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logz_penalty(dtype):
    z = (RNG.normal(size=(4, 7)) * 3).astype(dtype)
    lse = logsumexp(z.astype(np.float64), axis=1)
    v, g = regula.loss("logz_penalty", c=1e-3).value_and_grad(z)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert np.isclose(v, 1e-3 * (lse ** 2).mean(), rtol=tol)
    np.testing.assert_allclose(g, 2e-3 * lse[:, None] * softmax(z.astype(np.float64), axis=1) / 4, rtol=1e-5, atol=tol)


# --- §10 noisy softmax -----------------------------------------------------------------------------

def test_noisy_softmax_noise_recovered_and_gradient():
    z = np.array([[2.0, 1.0, -1.0, 0.3]])
    y = np.array([0])
    r = np.array([5.0])
    alpha = 0.2
    for step in range(3):
        loss = regula.loss("noisy_softmax", alpha=alpha, seed=3)
        loss.update(step=step)
        v, g = loss.value_and_grad(z, y, r=r)
        # Recover z̃_y from ℓ = log(1 + Σ_{k≠y} exp(z_k − z̃_y)), then |ξ| = (z_y − z̃_y)/(α(r − z_y)).
        others = logsumexp(z[0, 1:])
        zt_y = others - np.log(np.expm1(v))
        xi = (z[0, 0] - zt_y) / (alpha * (r[0] - z[0, 0]))
        assert xi >= 0
        zt = z.copy()
        zt[0, 0] = zt_y
        p = softmax(zt, axis=1)
        g_ref = p.copy()
        g_ref[0, 0] = (p[0, 0] - 1) * (1 + alpha * xi)
        np.testing.assert_allclose(g, g_ref, atol=1e-9)
        # Same seed and step: the same noise, whatever α (α only scales it).
        v2 = regula.loss("noisy_softmax", alpha=2 * alpha, seed=3)
        v2.update(step=step)
        zt2 = z.copy()
        zt2[0, 0] = z[0, 0] - 2 * alpha * (r[0] - z[0, 0]) * xi
        assert np.isclose(v2.value(z, y, r=r), -log_softmax(zt2, axis=1)[0, 0], rtol=1e-9)


def test_noisy_softmax_sigma_zero_is_cross_entropy_and_needs_r():
    z, y = batch()
    r = np.abs(z).sum(1) + 1
    v, g = regula.loss("noisy_softmax", alpha=0.5, sigma=0.0).value_and_grad(z, y, r=r)
    rv, rg = ls_reference(z, y, 0.0)
    assert np.isclose(v, rv, rtol=1e-12)
    np.testing.assert_allclose(g, rg, atol=1e-12)
    with pytest.raises(regula.RegulaError, match="r"):
        regula.loss("noisy_softmax", alpha=0.5).value(z, y)


# --- §7 sparse Fenchel–Young losses --------------------------------------------------------------

def sparsemax_np(z):
    zs = np.sort(z)[::-1]
    cs = np.cumsum(zs)
    k = np.arange(1, len(z) + 1)
    kstar = k[1 + k * zs > cs].max()
    tau = (cs[kstar - 1] - 1) / kstar
    return np.maximum(z - tau, 0)


def entmax15_np(z):
    x = (z - z.max()) / 2
    tau = brentq(lambda t: (np.maximum(x - t, 0) ** 2).sum() - 1, -1.0, 0.0, xtol=1e-15)
    return np.maximum(x - tau, 0) ** 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparsemax_and_entmax15_losses(dtype):
    z, y = batch(6, 5)
    z = z.astype(dtype)
    z64 = z.astype(np.float64)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    p = np.array([sparsemax_np(row) for row in z64])
    ref = (0.5 * (1 - (p ** 2).sum(1)) + ((p - onehot(y, 5)) * z64).sum(1)).mean()
    v, g = regula.loss("sparsemax_loss").value_and_grad(z, y)
    assert np.isclose(v, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(g, (p - onehot(y, 5)) / 6, atol=tol)
    q = np.array([entmax15_np(row) for row in z64])
    ref = ((1 - (q ** 1.5).sum(1)) / 0.75 + ((q - onehot(y, 5)) * z64).sum(1)).mean()
    v, g = regula.loss("entmax15_loss").value_and_grad(z, y)
    assert np.isclose(v, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(g, (q - onehot(y, 5)) / 6, atol=tol)


def test_sparse_losses_at_huge_logits():
    z = np.array([[1e4, 0, -1e4]])
    for cid in ("sparsemax_loss", "entmax15_loss"):
        v, g = regula.loss(cid).value_and_grad(z, np.array([2]))
        assert v == 2e4
        np.testing.assert_array_equal(g, [[1, 0, -1]])


# --- §9 StableMax ----------------------------------------------------------------------------------

def stablemax_reference(z, y):
    s = np.where(z >= 0, z + 1, 1 / (1 - np.minimum(z, 0)))
    ds = np.where(z >= 0, 1.0, s ** 2)
    S = s.sum(1, keepdims=True)
    b = len(y)
    v = (np.log(S[:, 0]) - np.log(s[np.arange(b), y])).mean()
    g = ds / S
    g[np.arange(b), y] -= ds[np.arange(b), y] / s[np.arange(b), y]
    return v, g / b


def test_stablemax_cross_entropy():
    z, y = batch(6, 5)
    v, g = regula.loss("stablemax_cross_entropy").value_and_grad(z, y)
    rv, rg = stablemax_reference(z, y)
    assert np.isclose(v, rv, rtol=1e-12)
    np.testing.assert_allclose(g, rg, atol=1e-12)


def test_float32_softmax_collapse_regime():
    z = np.array([[20.0, 0.0, 0.0]], dtype=np.float32)
    y = np.array([0])
    # The regime is real: float32 log-softmax gives exactly 0 for the top class.
    e = np.exp(z - z.max(), dtype=np.float32)
    assert np.float32(np.log(e.sum(dtype=np.float32))) == 0
    # Regula's CE (float64 accumulation) keeps a positive loss and target gradient.
    v, g = regula.loss("softmax_cross_entropy").value_and_grad(z, y)
    assert v > 0 and g[0, 0] < 0
    # StableMax CE keeps an O(1/gap²) gradient in float32, at gap 20 and at gap 120.
    for gap in (20.0, 120.0):
        zz = np.array([[gap, 0.0, 0.0]], dtype=np.float32)
        v, g = regula.loss("stablemax_cross_entropy").value_and_grad(zz, y)
        rv, rg = stablemax_reference(zz.astype(np.float64), y)
        assert g.dtype == np.float32 and g[0, 0] < 0 and np.all(g[0, 1:] > 0)
        np.testing.assert_allclose(g, rg, rtol=1e-5)
        assert np.isclose(v, rv, rtol=1e-6)


# --- §23 focal -------------------------------------------------------------------------------------

def test_focal_loss():
    z, y = batch(6, 5)
    w = np.array([1.0, 2.0, 0.5, 1.5, 1.0])
    gamma, alpha = 1.5, 0.7

    def ref(x):
        lp = log_softmax(x, axis=1)[np.arange(6), y]
        return (-alpha * w[y] * (1 - np.exp(lp)) ** gamma * lp).mean()

    v, g = regula.loss("focal_loss", gamma=gamma, alpha=alpha, class_weights=w).value_and_grad(z, y)
    assert np.isclose(v, ref(z), rtol=1e-12)
    np.testing.assert_allclose(g, central_diff(ref, z), atol=1e-7)


def test_sigmoid_focal_loss_torchvision_semantics():
    x = RNG.normal(size=(4, 3)) * 2
    t = (RNG.uniform(size=(4, 3)) < 0.4).astype(float)
    gamma, alpha = 2.0, 0.25

    def elementwise(x):
        p = expit(x)
        ce = np.logaddexp(0, x) - x * t
        p_t = p * t + (1 - p) * (1 - t)
        return (alpha * t + (1 - alpha) * (1 - t)) * ce * (1 - p_t) ** gamma

    per, g_sum = regula.loss("sigmoid_focal_loss", reduction="none").value_and_grad(x, t)
    np.testing.assert_allclose(per, elementwise(x).sum(1), rtol=1e-12)
    np.testing.assert_allclose(g_sum, central_diff(lambda a: elementwise(a).sum(), x), atol=1e-7)
    v = regula.loss("sigmoid_focal_loss").value(x, t)
    assert np.isclose(v, elementwise(x).sum() / 4)  # Regula mean = torchvision sum / B
    labels = np.array([0, 2, 1, 1])
    assert np.isclose(regula.loss("sigmoid_focal_loss").value(x, labels),
                      regula.loss("sigmoid_focal_loss").value(x, onehot(labels, 3)))


# --- §22 flooding ----------------------------------------------------------------------------------

def test_flooding_wraps_any_loss():
    z, y = batch()
    for b in (0.1, 50.0):
        rv, rg = ls_reference(z, y, 0.1)
        v, g = regula.loss("flooding", b=b, loss="softmax_cross_entropy",
                           loss_params="label_smoothing:0.1").value_and_grad(z, y)
        assert np.isclose(v, abs(rv - b) + b, rtol=1e-12)
        np.testing.assert_allclose(g, np.sign(rv - b) * rg, atol=1e-12)
    v, g = regula.loss("flooding", b=100.0, loss="focal_loss", loss_params="gamma:0").value_and_grad(z, y)
    rv, rg = ls_reference(z, y, 0.0)
    assert np.isclose(v, 200 - rv, rtol=1e-12)
    np.testing.assert_allclose(g, -rg, atol=1e-12)
    for bad in (dict(loss="sparsemax"), dict(loss="noisy_softmax", loss_params="alpha:0.1"),
                dict(loss="maxsup"), dict(reduction="none"), dict(loss_params="reduction:sum")):
        with pytest.raises(regula.RegulaError):
            regula.loss("flooding", b=0.1, **bad)
    with pytest.raises(regula.RegulaError, match="b"):
        regula.loss("flooding")
    assert regula.describe("flooding")["params"][1]["type"] == "text"
