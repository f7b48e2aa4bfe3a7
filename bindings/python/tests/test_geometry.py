"""Geometry families (Cauchy-Schwarz, orthogonality, energy, spectral, distribution) against
independent NumPy/SciPy references written here, plus the catalogue's edge cases."""
import numpy as np
import pytest
from scipy import stats

import regula
from numeric import num_grad

RNG = np.random.default_rng(7)
W0 = np.array([[1.0, -2.0], [0.5, 0.0]])


def rows(w):
    return w.reshape(w.shape[0], -1) if w.ndim >= 2 else w.reshape(1, -1)


def check(pid, w, ref_value, ref_grad=None, rtol=1e-10, atol=1e-12, **params):
    v, g = regula.penalty(pid, strength=1.0, **params).value_and_grad(w)
    assert np.isclose(v, ref_value, rtol=rtol, atol=atol), (v, ref_value)
    if ref_grad is not None:
        assert g.shape == w.shape
        np.testing.assert_allclose(g, ref_grad, rtol=max(rtol, 1e-7), atol=max(atol, 1e-8))
    return v, g


# ---------------------------------------------------------------------------------------------
# Cauchy-Schwarz family

def cs_ref(kind, w, normalize="numel", p=4, q=2, r=4):
    x = rows(w)
    n = x.shape[1]
    s = {k: (x ** k).sum(axis=1, keepdims=True) for k in (2, 3, 4, 6)}
    if kind == "cs_binary":
        val, g = n * s[4] - s[2] ** 2, 4 * n * x ** 3 - 4 * s[2] * x
    elif kind == "cs_osb":
        val, g = s[2] * s[4] - s[3] ** 2, 2 * x * (s[4] + 2 * s[2] * x ** 2 - 3 * s[3] * x)
    elif kind == "cs_ternary":
        val, g = s[2] * s[6] - s[4] ** 2, 2 * x * (s[6] + 3 * s[2] * x ** 4 - 4 * s[4] * x ** 2)
    else:  # cs_lplq: value by NumPy norms, gradient by central differences
        def psi(y):
            y = rows(y)
            c = n ** (r / q - r / p)
            return (c * np.linalg.norm(y, p, axis=1) ** r - np.linalg.norm(y, q, axis=1) ** r).sum()
        val, g = np.array(psi(x)), num_grad(psi, x)
    d = w.size if normalize == "numel" else 1
    return val.sum() / d, (g / d).reshape(w.shape)


@pytest.mark.parametrize("pid", ["cs_binary", "cs_osb", "cs_ternary"])
@pytest.mark.parametrize("shape", [(4, 5), (6,), (3, 2, 2)])
def test_cs_polynomials(pid, shape):
    w = RNG.normal(size=shape)
    v, g = cs_ref(pid, w)
    check(pid, w, v, g)
    v, g = cs_ref(pid, w, normalize="none")
    check(pid, w, v, g, normalize="none")


def test_cs_worked_values():
    assert np.isclose(regula.penalty("cs_binary", strength=1.0).value(W0), 2.265625)
    assert np.isclose(regula.penalty("cs_osb", strength=1.0).value(W0), 9.0)
    assert np.isclose(regula.penalty("cs_ternary", strength=1.0).value(W0), 9.0)
    assert np.isclose(regula.penalty("cs_lplq", strength=1.0, r=2.0).value(W0), 0.233626, rtol=1e-5)


@pytest.mark.parametrize("p,q,r", [(4, 2, 4), (4, 2, 2), (3, 1.5, 1), (6, 2, 3)])
def test_cs_lplq(p, q, r):
    w = RNG.normal(size=(3, 5))
    v, g = cs_ref("cs_lplq", w, p=p, q=q, r=r)
    check("cs_lplq", w, v, g, rtol=1e-9, p=float(p), q=float(q), r=float(r))


def test_cs_lplq_zero_row_and_bad_exponents():
    w = RNG.normal(size=(2, 4))
    w[1] = 0
    v, g = regula.penalty("cs_lplq", strength=1.0, p=4.0, q=2.0, r=1.0).value_and_grad(w)
    assert np.isfinite(v) and np.all(g[1] == 0)
    with pytest.raises(regula.RegulaError):
        regula.penalty("cs_lplq", p=2.0, q=2.0)


def test_cs_eigvec():
    a = RNG.normal(size=(5, 5))
    c = a + a.T
    w = RNG.normal(size=(3, 5))
    cx = w @ c
    val = (np.sum(cx ** 2, 1) * np.sum(w ** 2, 1) - np.sum(w * cx, 1) ** 2).sum() / w.size
    grad = (2 * (cx @ c) * np.sum(w ** 2, 1, keepdims=True) + 2 * np.sum(cx ** 2, 1, keepdims=True) * w
            - 4 * np.sum(w * cx, 1, keepdims=True) * cx) / w.size
    check("cs_eigvec", w, val, grad, C=c)
    # Rows that are eigenvectors of C give 0.
    _, vecs = np.linalg.eigh(c)
    v, g = regula.penalty("cs_eigvec", strength=1.0, C=c).value_and_grad(np.array([2 * vecs[:, 0], -vecs[:, 3]]))
    assert abs(v) < 1e-10 and np.abs(g).max() < 1e-9
    with pytest.raises(regula.RegulaError):
        regula.penalty("cs_eigvec", C=np.triu(c))  # not symmetric
    with pytest.raises(regula.RegulaError):
        regula.penalty("cs_eigvec", C=c).value(np.ones((2, 4)))  # fan-in mismatch


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3)])
def test_cs_orthogonal(shape):
    w = RNG.normal(size=shape)
    k = min(shape)
    gram = w.T @ w
    val = (k * np.sum(gram ** 2) - np.sum(w ** 2) ** 2) / w.size
    grad = (4 * k * w @ gram - 4 * np.sum(w ** 2) * w) / w.size
    check("cs_orthogonal", w, val, grad)
    q, _ = np.linalg.qr(RNG.normal(size=(max(shape), min(shape))))
    scaled = 3 * (q if shape[0] >= shape[1] else q.T)
    assert abs(regula.penalty("cs_orthogonal", strength=1.0).value(scaled)) < 1e-10


# ---------------------------------------------------------------------------------------------
# Orthogonality family

def cosine_ref(w, factor=0.01, over="units"):
    v = rows(w) if over == "units" else rows(w).T
    k = v.shape[0]
    if k < 2:
        return 0.0
    vh = v / np.sqrt(np.maximum(np.sum(v ** 2, 1, keepdims=True), 1e-12))
    p = np.abs(vh @ vh.T)
    return factor * np.sum(np.triu(p, 1)) / (k * (k - 1) / 2)


@pytest.mark.parametrize("over", ["units", "inputs"])
@pytest.mark.parametrize("shape", [(4, 5), (3, 2, 2)])
def test_cosine_orthogonality(over, shape):
    w = RNG.normal(size=shape)
    f = lambda x: cosine_ref(x, 0.05, over)
    check("cosine_orthogonality", w, f(w), num_grad(f, w), rtol=1e-9, factor=0.05, over=over)
    x = np.array([[1.0, 2, 0], [0, 1, 1]])
    assert np.isclose(regula.penalty("cosine_orthogonality").value(x), 0.00632456, rtol=1e-5)
    assert np.isclose(regula.penalty("cosine_orthogonality", over="inputs").value(x), 0.00447214, rtol=1e-5)


def test_cosine_zero_vector_and_single_vector():
    w = RNG.normal(size=(3, 4))
    w[1] = 0
    v, g = regula.penalty("cosine_orthogonality", strength=1.0).value_and_grad(w)
    assert np.isclose(v, cosine_ref(w)) and np.all(g[1] == 0)
    assert regula.penalty("cosine_orthogonality").value(np.ones(5)) == 0.0


def gor_ref(w, num_groups=32, min_num_filters=4, reg_type="inter"):
    w = rows(w)
    c_out = w.shape[0]
    groups = min(num_groups, c_out // min_num_filters)
    s = c_out // groups
    if reg_type == "inter":
        sets = w.reshape(groups, s, -1)
    elif s == 1:
        sets = w[None]
    else:
        sets = w.reshape(groups, s, -1).transpose(1, 0, 2)
    val, grads = 0.0, []
    for m in sets:
        a = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        e = a - np.eye(a.shape[0])
        val += np.sum(e ** 2)
        grads.append(4 * (m @ e if m.shape[0] >= m.shape[1] else e @ m))
    g = np.array(grads)
    if reg_type == "intra" and s > 1:
        g = g.transpose(1, 0, 2)
    return val, g.reshape(w.shape)


@pytest.mark.parametrize("reg_type", ["inter", "intra"])
@pytest.mark.parametrize("shape,groups", [((8, 3), 2), ((12, 2, 2), 3), ((16, 5), 32), ((8, 2), 8)])
def test_group_orthogonality(reg_type, shape, groups):
    w = RNG.normal(size=shape)
    mnf = 1 if groups == 8 else 4
    v, g = gor_ref(w, groups, mnf, reg_type)
    check("group_orthogonality", w, v, g.reshape(shape), num_groups=groups, min_num_filters=mnf, reg_type=reg_type)


def test_group_orthogonality_edges():
    w = np.array([[.1, .2], [.3, .4], [.5, .6], [.7, .8], [.9, 1], [1.1, 1.2], [1.3, 1.4], [1.5, 1.6]])
    assert np.isclose(regula.penalty("group_orthogonality", strength=1.0, num_groups=2).value(w), 145.136)
    assert np.isclose(regula.penalty("group_orthogonality", strength=1.0, num_groups=2, reg_type="intra").value(w), 43.3296)
    assert regula.penalty("group_orthogonality").value(RNG.normal(size=(3, 4))) == 0.0  # c_out < min_num_filters
    with pytest.raises(regula.RegulaError):
        regula.penalty("group_orthogonality").value(RNG.normal(size=(9, 4)))  # 9 filters, 2 groups


@pytest.mark.parametrize("shape", [(3, 6), (6, 3), (4, 4)])
def test_sorsa_orthonormal(shape):
    w = RNG.normal(size=shape)
    a = w @ w.T if shape[0] <= shape[1] else w.T @ w
    e = a - np.eye(a.shape[0])
    r = np.linalg.norm(e)
    grad = 2 * (e @ w if shape[0] <= shape[1] else w @ e) / r
    check("sorsa_orthonormal", w, r, grad)
    q, _ = np.linalg.qr(RNG.normal(size=(5, 3)))
    v, g = regula.penalty("sorsa_orthonormal", strength=1.0).value_and_grad(q)
    assert v < 1e-12 and np.all(np.isfinite(g))


# ---------------------------------------------------------------------------------------------
# Hyperspherical energy

def mhe_ref(w, power="0", half=False):
    v = rows(w)
    if half:
        v = np.concatenate([v, -v])
    n = v.shape[0]
    if n < 2:
        return 0.0
    vh = v / np.sqrt(np.sum(v ** 2, 1, keepdims=True) + 1e-4)
    c = (vh @ vh.T)[np.triu_indices(n, 1)]
    d = np.maximum(2 - 2 * c, 1e-12)
    a = np.arccos(np.clip(c, -1 + 1e-7, 1 - 1e-7)) / np.pi + 1e-4
    e = {"0": -np.log(d), "1": d ** -0.5, "2": 1 / d, "a0": -np.log(a), "a1": 1 / a, "a2": a ** -2.0}[power]
    return e.mean()


@pytest.mark.parametrize("power", ["0", "1", "2", "a0", "a1", "a2"])
@pytest.mark.parametrize("half", [False, True])
def test_hyperspherical_energy(power, half):
    w = RNG.normal(size=(5, 4))
    f = lambda x: mhe_ref(x, power, half)
    check("hyperspherical_energy", w, f(w), num_grad(f, w), rtol=1e-9, power=power, half=half)


def test_hyperspherical_energy_catalogue_and_degenerate():
    w = np.array([[1.0, 0], [0, 1], [1, 1]])
    full = {"0": 0.125364, "1": 1.106665, "2": 1.304532, "a0": 1.154848, "a1": 3.331879, "a2": 11.988904}
    half = {"0": -0.646969, "1": 0.781270, "2": 0.716589, "a0": 0.631814, "a1": 2.155680, "a2": 6.004254}
    for p in full:
        assert np.isclose(regula.penalty("hyperspherical_energy", power=p).value(w), full[p], rtol=1e-5)
        assert np.isclose(regula.penalty("hyperspherical_energy", power=p, half=True).value(w), half[p], rtol=1e-5)
    dup = np.array([[1.0, 2], [1, 2], [0, 0]])  # duplicate neurons and a zero row
    for p in full:
        v, g = regula.penalty("hyperspherical_energy", power=p, half=True).value_and_grad(dup)
        assert np.isfinite(v) and np.all(np.isfinite(g))


# ---------------------------------------------------------------------------------------------
# Spectral

@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_nuclear_norm_and_svt(shape):
    w = RNG.normal(size=shape)
    u, s, vt = np.linalg.svd(rows(w), full_matrices=False)
    check("nuclear_norm", w, s.sum(), (u @ vt).reshape(shape))
    t = 0.3 * 2.0
    want = (u * np.maximum(s - t, 0)) @ vt
    got = regula.penalty("nuclear_norm", strength=2.0).prox(w, step=0.3)
    np.testing.assert_allclose(got, want.reshape(shape), atol=1e-12)


def test_nuclear_norm_repeated_singular_values():
    q, _ = np.linalg.qr(RNG.normal(size=(4, 4)))
    v, g = regula.penalty("nuclear_norm", strength=1.0).value_and_grad(3 * q)
    assert np.isclose(v, 12.0)
    np.testing.assert_allclose(g, q, atol=1e-12)  # U Vᵀ = Q whatever basis the SVD picks
    np.testing.assert_allclose(regula.penalty("nuclear_norm", strength=1.0).prox(3 * q, step=1.0), 2 * q, atol=1e-12)
    w = np.array([[3.0, 0], [4, 5]])
    np.testing.assert_allclose(regula.penalty("nuclear_norm", strength=1.0).prox(w, step=2.5),
                               [[0.940983, 0.940983], [2.822949, 2.822949]], atol=1e-6)


@pytest.mark.parametrize("k", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("shape", [(4, 6), (6, 4)])
def test_spectral_norm_target(k, shape):
    w = RNG.normal(size=shape)
    u, s, vt = np.linalg.svd(w)
    val = (s[0] ** k - 1) ** 2
    grad = 2 * (s[0] ** k - 1) * k * s[0] ** (k - 1) * np.outer(u[:, 0], vt[0])
    check("spectral_norm_target", w, val, grad, rtol=1e-9, k=k)


def test_spectral_norm_target_bias_and_zero():
    b = np.array([0.5, -0.5])
    assert np.isclose(regula.penalty("spectral_norm_target", strength=1.0).value(b), 0.5)
    nb = np.linalg.norm(b)
    check("spectral_norm_target", b, (nb ** 2 - 1) ** 2, 2 * (nb ** 2 - 1) * 2 * b, bias_mode="target")
    assert regula.penalty("spectral_norm_target", bias_mode="none").value(b) == 0.0
    v, g = regula.penalty("spectral_norm_target", strength=1.0).value_and_grad(np.zeros((3, 4)))
    assert v == 1.0 and np.all(g == 0)


# ---------------------------------------------------------------------------------------------
# Distribution

@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_wasserstein_init(reduction):
    w0 = RNG.normal(size=(4, 5))
    w = RNG.normal(size=(4, 5))
    order = np.argsort(w, axis=None, kind="stable")
    d = w.ravel()[order] - np.sort(w0, axis=None)
    n = w.size if reduction == "mean" else 1
    grad = np.zeros(w.size)
    grad[order] = 2 * d / n
    check("wasserstein_init", w, np.sum(d ** 2) / n, grad.reshape(w.shape), init=w0, reduction=reduction)
    p = regula.penalty("wasserstein_init", strength=1.0, init=w0)
    assert p.value(RNG.permutation(w0.ravel()).reshape(2, 10)) < 1e-30  # only the values matter
    with pytest.raises(regula.RegulaError):
        p.value(np.ones(7))


def test_kurtosis_against_scipy():
    h = RNG.standard_t(df=3, size=(6, 16))
    kappa = stats.kurtosis(h, axis=1, fisher=False, bias=True)
    f = lambda x: np.mean(stats.kurtosis(x, axis=1, fisher=False, bias=True))
    check("activation_kurtosis", h, kappa.mean(), num_grad(f, h), rtol=1e-9, eps=0.0)
    check("activation_kurtosis", h.reshape(2, 3, 16), kappa.sum(), rtol=1e-9, eps=0.0, reduction="sum")
    w = RNG.normal(size=(4, 8))
    fk = lambda x: (stats.kurtosis(x, axis=None, fisher=False, bias=True) - 1.8) ** 2
    check("kure_weight_kurtosis", w, fk(w), num_grad(fk, w), rtol=1e-9, eps=0.0)


def test_kurtosis_edges():
    x = np.array([[1.0, -1, 1, -1, 1, -1, 1, 9]])
    assert np.isclose(regula.penalty("activation_kurtosis", strength=1.0).value(x), 5.170870, rtol=1e-6)
    v, g = regula.penalty("activation_kurtosis", strength=1.0).value_and_grad(np.full((2, 4), 3.0))
    assert v == 0.0 and np.all(g == 0)
    big = 1e4 * RNG.normal(size=(3, 8)).astype(np.float32)
    v, g = regula.penalty("kure_weight_kurtosis").value_and_grad(big)
    assert np.isfinite(v) and g.dtype == np.float32 and np.all(np.isfinite(g))


@pytest.mark.parametrize("pid,params", [
    ("cs_binary", {}), ("cs_orthogonal", {}), ("cosine_orthogonality", {}), ("sorsa_orthonormal", {}),
    ("hyperspherical_energy", {"power": "a1"}), ("nuclear_norm", {}), ("spectral_norm_target", {}),
    ("activation_kurtosis", {}), ("kure_weight_kurtosis", {}),
])
def test_float32_matches_float64(pid, params):
    w = RNG.normal(size=(6, 5))
    p = regula.penalty(pid, strength=1.0, **params)
    v64, g64 = p.value_and_grad(w.astype(np.float32).astype(np.float64))
    v32, g32 = p.value_and_grad(w.astype(np.float32))
    assert g32.dtype == np.float32
    assert np.isclose(v32, v64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5 * np.abs(g64).max())
