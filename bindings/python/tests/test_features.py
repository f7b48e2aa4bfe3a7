"""Feature / activation regularizers and TV (penalties_matrix §11, 13–18) against NumPy references
written here (independent of the Swift code), plus the catalogue's edge cases."""
import numpy as np
import pytest

import regula
from numeric import num_grad

RNG = np.random.default_rng(7)
U = np.array([[0, 0, 1], [0, 2, 1], [1, 1, 1.0]])
Y1 = np.array([1, 1.2, 0.9, 3, 3.1, 2.9, 0])


# ---------------------------------------------------------------- NumPy references

def diffs(u):
    """Forward differences with the Neumann boundary over the last two axes."""
    dh = np.zeros_like(u)
    dv = np.zeros_like(u)
    dh[..., :, :-1] = u[..., :, 1:] - u[..., :, :-1]
    dv[..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]
    return dh, dv


def diffs_T(ph, pv):
    """Adjoint of `diffs`."""
    g = np.zeros_like(ph)
    g[..., :, 1:] += ph[..., :, :-1]
    g[..., :, :-1] -= ph[..., :, :-1]
    g[..., 1:, :] += pv[..., :-1, :]
    g[..., :-1, :] -= pv[..., :-1, :]
    return g


def tv_ref(u, iso=True, eps=0.0, sub=True, w=None):
    u2 = u[None, :] if u.ndim == 1 else u
    dh, dv = diffs(u2)
    w = np.ones_like(u2) if w is None else np.broadcast_to(w, u2.shape)
    off = eps if sub else 0.0
    if iso:
        r = np.sqrt(dh ** 2 + dv ** 2 + eps ** 2)
        val = np.sum(w * (r - off))
        safe = np.where(r > 0, r, 1)
        ph, pv = np.where(r > 0, w * dh / safe, 0), np.where(r > 0, w * dv / safe, 0)
    else:
        rh, rv = np.sqrt(dh ** 2 + eps ** 2), np.sqrt(dv ** 2 + eps ** 2)
        val = np.sum(w * (rh - off + rv - off))
        ph = np.where(rh > 0, w * dh / np.where(rh > 0, rh, 1), 0)
        pv = np.where(rv > 0, w * dv / np.where(rv > 0, rv, 1), 0)
    return val, diffs_T(ph, pv).reshape(u.shape)


def tv1d_dual_prox(y, lam, iters=6000):
    """argmin ½‖x−y‖² + lam Σ|x_{k+1}−x_k| along the last axis (rows independent, lam per row) by
    FISTA on the dual (step 1/4, projection onto |z| ≤ lam)."""
    y = np.atleast_2d(y)
    lam = np.broadcast_to(np.asarray(lam, dtype=float).reshape(-1, 1), (len(y), 1))
    z = np.zeros((len(y), y.shape[1] - 1))
    q, t = z.copy(), 1.0
    pad = [(0, 0), (1, 1)]
    for _ in range(iters):
        x = y + np.diff(np.pad(q, pad), axis=1)       # x = y − Dᵀq
        zn = np.clip(q + 0.25 * np.diff(x, axis=1), -lam, lam)
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        q = zn + (t - 1) / tn * (zn - z)
        z, t = zn, tn
    return y + np.diff(np.pad(z, pad), axis=1)


def tv2d_dual_prox(f, lam, w=None, iters=20000):
    """argmin ½‖u−f‖² + lam Σ w‖∇u‖ by FISTA on the dual (projection onto |p_i| ≤ lam·w_i)."""
    w = np.ones_like(f) if w is None else w
    p = np.zeros((2,) + f.shape)
    q, t = p.copy(), 1.0
    for _ in range(iters):
        u = f - diffs_T(q[0], q[1])
        dh, dv = diffs(u)
        n = np.stack([q[0] + dh / 8, q[1] + dv / 8])
        r = np.sqrt(n[0] ** 2 + n[1] ** 2)
        scale = np.where(r > lam * w, lam * w / np.where(r > 0, r, 1), 1)
        pn = n * scale
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        q = pn + (t - 1) / tn * (pn - p)
        p, t = pn, tn
    return f - diffs_T(p[0], p[1])


def sobolev_ref(r, s=-1.0, c=1.0, batch_dims=0, mirror=False):
    axes = tuple(range(batch_dims, r.ndim))
    shape = r.shape
    idx = np.arange(r.size).reshape(shape)
    if mirror:
        pad = [(0, 0)] * batch_dims + [(0, shape[a]) for a in axes]
        idx = np.pad(idx, pad, mode="symmetric")
    x = r.reshape(-1)[idx]
    n = np.prod([x.shape[a] for a in axes])
    ks = np.meshgrid(*[np.fft.fftfreq(x.shape[a], 1 / x.shape[a]) for a in axes], indexing="ij")
    wk = (1 + c * c * sum(k ** 2 for k in ks)) ** s
    F = np.fft.fftn(x, axes=axes)
    val = np.sum(wk * np.abs(F / n) ** 2)
    gx = 2 / n * np.real(np.fft.ifftn(wk * F, axes=axes))
    g = np.zeros(r.size)
    np.add.at(g, idx.reshape(-1), gx.reshape(-1))
    return val, g.reshape(shape)


def heat(x, t, clamp=None):
    x = x.reshape(len(x), -1)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    w = np.exp(-d2 / (4 * t))
    np.fill_diagonal(w, 0)
    if clamp is not None:
        w = np.where(w > clamp, w, 0)
    return w


def lap(w, normalize=False):
    d = w.sum(1)
    if normalize:
        inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
        return np.eye(len(w)) - inv[:, None] * w * inv[None, :]
    return np.diag(d) - w


# ---------------------------------------------------------------- total variation

@pytest.mark.parametrize("iso", [True, False])
@pytest.mark.parametrize("eps", [0.0, 1e-2])
def test_total_variation_matches_numpy(iso, eps):
    u = RNG.normal(size=(2, 5, 6))
    p = regula.penalty("total_variation", strength=0.3, variant="isotropic" if iso else "anisotropic", eps=eps)
    v, g = p.value_and_grad(u)
    rv, rg = tv_ref(u, iso, eps)
    assert np.isclose(v, 0.3 * rv, rtol=1e-12)
    np.testing.assert_allclose(g, 0.3 * rg, rtol=1e-10, atol=1e-12)


def test_total_variation_catalogue_values_and_dims():
    tv = lambda **k: regula.penalty("total_variation", strength=1.0, **k).value(U)
    assert np.isclose(tv(variant="anisotropic"), 8)
    assert np.isclose(tv(), 5.886350, atol=1e-6)
    assert np.isclose(tv(eps=1e-2), 5.856430, atol=1e-6)
    assert np.isclose(tv(eps=1e-2, subtract_eps=False), 5.946430, atol=1e-6)
    assert np.isclose(tv(eps=1e-2, variant="anisotropic"), 7.940250, atol=1e-6)
    assert np.isclose(regula.penalty("total_variation", strength=1.0).value(Y1), 5.8)
    # dims=1d: every row is a signal, no vertical differences.
    x = RNG.normal(size=(3, 4))
    v = regula.penalty("total_variation", strength=1.0, dims="1d").value(x)
    assert np.isclose(v, np.abs(np.diff(x, axis=1)).sum())


def test_total_variation_edge_cases():
    p = regula.penalty("total_variation", strength=1.0)
    v, g = p.value_and_grad(np.full((4, 4), 3.0))        # constants cost 0, zero subgradient
    assert v == 0 and np.all(g == 0)
    v, g = p.value_and_grad(np.array([[2.0]]))            # 1×1 image: no differences
    assert v == 0 and np.all(g == 0)
    v, g = regula.penalty("total_variation", strength=1.0, eps=0.5).value_and_grad(np.ones((3, 3)))
    assert v == 0 and np.all(g == 0)
    x32 = RNG.normal(size=(4, 5)).astype(np.float32)
    v32, g32 = p.value_and_grad(x32)
    rv, rg = tv_ref(x32.astype(np.float64))
    assert g32.dtype == np.float32 and np.isclose(v32, rv, rtol=1e-5)
    np.testing.assert_allclose(g32, rg, rtol=1e-4, atol=1e-5)
    with pytest.raises(regula.RegulaError):
        regula.penalty("total_variation", eps=-1)


def test_weighted_total_variation():
    w = np.array([[1, .5, 1], [1, .2, 1], [1, 1, 1]])
    p = regula.penalty("weighted_total_variation", strength=1.0)
    assert np.isclose(p.value(U, weights=w), 3.636945, atol=1e-6)
    u = RNG.normal(size=(2, 4, 5))
    wts = RNG.uniform(0, 2, size=(2, 4, 5))
    wts[0, 1, 1] = 0                                       # w = 0 is allowed
    for variant, iso in [("isotropic", True), ("anisotropic", False)]:
        q = regula.penalty("weighted_total_variation", strength=2.0, variant=variant)
        v, g = q.value_and_grad(u, weights=wts)
        rv, rg = tv_ref(u, iso, w=wts)
        assert np.isclose(v, 2 * rv, rtol=1e-12)
        np.testing.assert_allclose(g, 2 * rg, rtol=1e-10, atol=1e-12)
    # one (H, W) weight image shared across the batch
    v = p.value(u, weights=wts[0])
    assert np.isclose(v, tv_ref(u, True, w=wts[0])[0])
    # TpV weights from a reference x̃: w = (η/sqrt(η² + |∇x̃|²))^(1−p)
    ref = RNG.normal(size=(4, 5))
    dh, dv = diffs(ref)
    tpv = (2e-3 / np.sqrt(4e-6 + dh ** 2 + dv ** 2)) ** 0.5
    x = RNG.normal(size=(4, 5))
    assert np.isclose(p.value(x, reference=ref), tv_ref(x, True, w=tpv)[0], rtol=1e-12)
    dh, dv = diffs(U)
    np.testing.assert_allclose((2e-3 / np.sqrt(4e-6 + dh ** 2 + dv ** 2)) ** 0.5,
                               [[1, 0.029907, 1], [0.029907, 0.037606, 1], [1, 1, 1]], atol=1e-6)
    # 1-D weighted
    s = RNG.normal(size=9)
    ws = RNG.uniform(size=9)
    assert np.isclose(p.value(s, weights=ws), np.sum(ws[:-1] * np.abs(np.diff(s))))
    for bad in [dict(), dict(weights=-wts), dict(weights=wts, reference=u), dict(weights=np.ones(3))]:
        with pytest.raises(regula.RegulaError):
            p.value(u, **bad)


# ---------------------------------------------------------------- TV prox solvers

def test_prox_tv1d_condat_exact():
    p = regula.penalty("prox_tv1d_condat", strength=1.0)
    for lam, want in [(0.1, [1.066667, 1.066667, 1.066667, 2.95, 2.95, 2.9, 0.1]),
                      (0.5, [1.2, 1.2, 1.2, 2.666667, 2.666667, 2.666667, 0.5]),
                      (2.0, [1.7, 1.7, 1.7, 1.75, 1.75, 1.75, 1.75])]:
        np.testing.assert_allclose(p.prox(Y1, step=lam), want, atol=1e-6)
    for n in [2, 3, 5, 9, 17, 29]:
        y = RNG.normal(size=(12, n)) * RNG.uniform(0.1, 3, size=(12, 1))
        lam = RNG.uniform(0, 2, size=12)
        got = np.stack([p.prox(y[r], step=lam[r]) for r in range(12)])
        np.testing.assert_allclose(got, tv1d_dual_prox(y, lam), atol=1e-6)
    # rows are independent signals; strength scales the threshold
    Ymat = RNG.normal(size=(3, 8))
    out = regula.penalty("prox_tv1d_condat", strength=0.5).prox(Ymat, step=0.6)
    np.testing.assert_allclose(out, tv1d_dual_prox(Ymat, 0.3), atol=1e-6)
    v, g = p.value_and_grad(Ymat)
    assert np.isclose(v, np.abs(np.diff(Ymat, axis=1)).sum())
    np.testing.assert_allclose(p.prox(np.array([4.0]), step=1.0), [4.0])   # a single sample


def test_prox_tv_chambolle():
    p = regula.penalty("prox_tv_chambolle", strength=1.0)
    want = [[0.471405, 0.471405, 0.930964], [0.471405, 0.930964, 0.930964], [0.930964] * 3]
    np.testing.assert_allclose(p.prox(U, step=0.5), want, atol=1e-5)
    f = RNG.normal(size=(2, 6, 7))
    out = p.prox(f, step=0.4)
    for b in range(2):
        np.testing.assert_allclose(out[b], tv2d_dual_prox(f[b], 0.4), atol=2e-5)
    # weighted (projected dual step), w = 0 pixels allowed
    w = RNG.uniform(0, 1.5, size=(6, 7))
    w[2, 3] = 0
    out = p.prox(f[0], step=0.4, weights=w)
    np.testing.assert_allclose(out, tv2d_dual_prox(f[0], 0.4, w), atol=2e-5)
    v, g = p.value_and_grad(f[0], weights=w)
    rv, rg = tv_ref(f[0], True, w=w)
    assert np.isclose(v, rv) and np.allclose(g, rg)
    # prox of a constant is itself; step 0 is the identity
    np.testing.assert_allclose(p.prox(np.full((3, 4), 2.0), step=1.0), 2.0, atol=1e-10)
    np.testing.assert_array_equal(p.prox(f, step=0.0), f)
    # Chambolle 2004's semi-implicit step reaches the same fixed point (more slowly)
    semi = regula.penalty("prox_tv_chambolle", strength=1.0, scheme="semi_implicit", max_iter=20000, tol=1e-10)
    np.testing.assert_allclose(semi.prox(f[1], step=0.4), tv2d_dual_prox(f[1], 0.4), atol=1e-6)
    with pytest.raises(regula.RegulaError):
        regula.penalty("prox_tv_chambolle", tau=0.3)


# ---------------------------------------------------------------- Sobolev H^s

def test_sobolev_catalogue_values():
    r = np.array([1, 2, 0, -1.0])
    for s, want in [(-1, 0.875), (0, 1.5), (0.5, 2.017767), (1, 2.75)]:
        assert np.isclose(regula.penalty("sobolev_hs", s=s).value(r), want, atol=1e-6)
    d = np.zeros((4, 4))
    d[0, 0] = 1
    assert np.isclose(regula.penalty("sobolev_hs", s=-1).value(d), 0.0215278, atol=1e-7)
    assert np.isclose(regula.penalty("sobolev_hs", s=1).value(d), 0.25)


@pytest.mark.parametrize("shape,kw", [((12,), {}), ((5, 6), {"s": 0.5}), ((3, 4, 5), {"c": 2 * np.pi, "s": -0.5}),
                                      ((3, 8), {"batch_dims": 1, "s": 1}), ((7,), {"pad": "mirror"}),
                                      ((2, 3, 5), {"pad": "mirror", "batch_dims": 1, "s": 0.7})])
def test_sobolev_matches_numpy_fft(shape, kw):
    r = RNG.normal(size=shape)
    v, g = regula.penalty("sobolev_hs", strength=1.5, **kw).value_and_grad(r)
    rv, rg = sobolev_ref(r, s=kw.get("s", -1.0), c=kw.get("c", 1.0), batch_dims=kw.get("batch_dims", 0),
                         mirror=kw.get("pad") == "mirror")
    assert np.isclose(v, 1.5 * rv, rtol=1e-10)
    np.testing.assert_allclose(g, 1.5 * rg, rtol=1e-8, atol=1e-12)


def test_sobolev_s0_is_mean_square():
    r = RNG.normal(size=(6, 5))
    v, g = regula.penalty("sobolev_hs", s=0).value_and_grad(r)
    assert np.isclose(v, np.mean(r ** 2))
    np.testing.assert_allclose(g, 2 * r / r.size, atol=1e-12)
    with pytest.raises(regula.RegulaError):
        regula.penalty("sobolev_hs", batch_dims=3).value(r)


# ---------------------------------------------------------------- graph Laplacians

F3 = np.array([[1, 0], [0, 1], [1, 1.0]])
W3 = np.array([[0, 1, .5], [1, 0, 0], [.5, 0, 0]])


def test_laplacian_smoothness():
    p = regula.penalty("laplacian_smoothness", strength=1.0)
    assert np.isclose(p.value(F3, affinity=W3), 2.5)
    assert np.isclose(regula.penalty("laplacian_smoothness", normalize=True).value(F3, affinity=W3), 2.845299, atol=1e-6)
    X = np.array([[0, 0], [1, 0], [0, 2.0]])
    np.testing.assert_allclose(heat(X, 0.5)[0, 1:], [0.606531, 0.135335], atol=1e-6)
    for normalize in [False, True]:
        B = 6
        F = RNG.normal(size=(B, 3))
        W = RNG.uniform(size=(B, B))                      # not symmetric: ∇ = (L + Lᵀ)F
        W[4] = 0
        W[:, 4] = 0                                       # an isolated node
        q = regula.penalty("laplacian_smoothness", strength=0.7, normalize=normalize)
        v, g = q.value_and_grad(F, affinity=W)
        L = lap(W, normalize)
        assert np.isclose(v, 0.7 * np.trace(F.T @ L @ F))
        np.testing.assert_allclose(g, 0.7 * (L + L.T) @ F, atol=1e-12)
    # heat-kernel affinity from the batch inputs (flattened per sample), with a clamp
    Xb = RNG.normal(size=(5, 2, 2))
    F = RNG.normal(size=(5, 2))
    q = regula.penalty("laplacian_smoothness", heat_kernel_t=0.8, clamp_value=0.05)
    v, g = q.value_and_grad(F, x=Xb)
    L = lap(heat(Xb, 0.8, 0.05))
    assert np.isclose(v, np.trace(F.T @ L @ F))
    np.testing.assert_allclose(g, 2 * L @ F, atol=1e-12)
    # rank 1: B scalar outputs; symmetric W gives ½ΣW(f_i − f_j)²
    f = RNG.normal(size=4)
    Ws = RNG.uniform(size=(4, 4))
    Ws = Ws + Ws.T
    assert np.isclose(p.value(f, affinity=Ws), 0.5 * np.sum(Ws * (f[:, None] - f[None, :]) ** 2))
    for bad in [dict(), dict(affinity=-W3), dict(affinity=np.ones((2, 2))), dict(affinity=W3, x=X)]:
        with pytest.raises(regula.RegulaError):
            p.value(F3, **bad)


def test_weighted_laplacian_smoothness():
    lam = np.array([0.2, 0.5, 0.3])
    assert np.isclose(regula.penalty("weighted_laplacian_smoothness").value(F3, affinity=W3, lambdas=lam), 1.65)
    assert np.isclose(regula.penalty("weighted_laplacian_smoothness", form="code").value(F3, affinity=W3, lambdas=lam), 0.85)
    B = 5
    F = RNG.normal(size=(B, 2))
    W = RNG.uniform(size=(B, B))
    np.fill_diagonal(W, 0)
    lam = RNG.uniform(size=B)
    paper = lambda F: sum(lam[i] * W[i, j] * np.sum((F[i] - F[j]) ** 2) for i in range(B) for j in range(B))
    v, g = regula.penalty("weighted_laplacian_smoothness", strength=2.0).value_and_grad(F, affinity=W, lambdas=lam)
    assert np.isclose(v, 2 * paper(F))
    np.testing.assert_allclose(g, 2 * num_grad(paper, F), rtol=1e-6, atol=1e-8)
    L = lap(W)
    code = lambda F: np.sum(lam[:, None] * F * (L @ F))
    v, g = regula.penalty("weighted_laplacian_smoothness", form="code").value_and_grad(F, affinity=W, lambdas=lam)
    assert np.isclose(v, code(F))
    np.testing.assert_allclose(g, num_grad(code, F), rtol=1e-6, atol=1e-8)
    # constant λ: paper = 2·code = 2·λ·tr(FᵀLF) for symmetric W
    Ws = W + W.T
    one = np.full(B, 0.4)
    vp = regula.penalty("weighted_laplacian_smoothness").value(F, affinity=Ws, lambdas=one)
    vc = regula.penalty("weighted_laplacian_smoothness", form="code").value(F, affinity=Ws, lambdas=one)
    assert np.isclose(vp, 2 * vc) and np.isclose(vc, 0.4 * np.trace(F.T @ lap(Ws) @ F))
    with pytest.raises(regula.RegulaError):
        regula.penalty("weighted_laplacian_smoothness").value(F, affinity=W, lambdas=-lam)


# ---------------------------------------------------------------- least volume

def lv_ref(Z, eta):
    s = np.sqrt(Z.var(0, ddof=1) + 1e-12)
    return np.exp(np.mean(np.log(s + eta)))


def test_least_volume():
    Z = np.array([[0, 1], [1, 1], [2, 1], [3, 1.2]])
    v, g = regula.penalty("least_volume", strength=1.0).value_and_grad(Z)
    assert np.isclose(v, 1.587480, atol=1e-6)
    np.testing.assert_allclose(g[3], [0.134184, 0.360791], atol=1e-6)
    for shape, eta in [((8, 5), 1.0), ((5, 3), 0.3), ((2, 3, 4), 2.0)]:
        Z = RNG.normal(size=shape)
        v, g = regula.penalty("least_volume", strength=0.5, eta=eta).value_and_grad(Z)
        Z2 = Z.reshape(-1, shape[-1])
        assert np.isclose(v, 0.5 * lv_ref(Z2, eta))
        np.testing.assert_allclose(g.reshape(Z2.shape), 0.5 * num_grad(lambda z: lv_ref(z, eta), Z2), rtol=1e-6, atol=1e-9)
    # a constant coordinate: finite value, zero gradient in that column
    Z = RNG.normal(size=(6, 3))
    Z[:, 1] = 2.5
    v, g = regula.penalty("least_volume", strength=1.0).value_and_grad(Z)
    assert np.isfinite(v) and np.all(np.isfinite(g)) and np.all(g[:, 1] == 0)
    with pytest.raises(regula.RegulaError):
        regula.penalty("least_volume").value(np.ones((1, 3)))      # B < 2
    with pytest.raises(regula.RegulaError):
        regula.penalty("least_volume", eta=0)                      # README: η > 0


# ---------------------------------------------------------------- rationale invariance (RIDG)

class RidgRef:
    """RIDG.update's rationale loss with its memory bank, in NumPy."""

    def __init__(self, m):
        self.m, self.bank = m, {}

    def __call__(self, Z, y, W):
        K = W.shape[0]
        R = W[None] * Z[:, None, :]
        loss, g = 0.0, np.zeros_like(Z)
        for c in np.unique(y):
            idx = np.where(y == c)[0]
            mean = R[idx].mean(0)
            self.bank[c] = mean if c not in self.bank else (1 - self.m) * self.bank[c] + self.m * mean
            M = self.bank[c]
            loss += np.sum((R[idx] - M) ** 2) / (K * len(idx))
            for i in idx:
                g[i] = 2 / (K * len(idx)) * np.sum(W * (R[i] - M), 0)
        return loss, g


def test_rationale_invariance_with_bank():
    W = np.array([[1, 0, 2], [0, 1, -1.0]])
    Z = np.array([[1, 2, 0], [3, 0, 1], [0, 1, 1.0]])
    y = np.array([0, 0, 1])
    v = regula.penalty("rationale_invariance", strength=1.0).value(Z, labels=y, classifier=W)
    assert np.isclose(v, 1.625)
    p = regula.penalty("rationale_invariance", strength=0.5, momentum=0.3)
    ref = RidgRef(0.3)
    for step in range(4):                               # the bank carries over between calls
        Zb = RNG.normal(size=(10, 4))
        yb = RNG.integers(0, 3, size=10)
        Wb = RNG.normal(size=(3, 4))
        v, g = p.value_and_grad(Zb, labels=yb, classifier=Wb)
        rv, rg = ref(Zb, yb, Wb)
        assert np.isclose(v, 0.5 * rv, rtol=1e-12), step
        np.testing.assert_allclose(g, 0.5 * rg, rtol=1e-10, atol=1e-12)
    # update(reset=True) empties the bank: the next call equals a fresh reference
    p.update(reset=True)
    Zb, yb, Wb = RNG.normal(size=(8, 4)), RNG.integers(0, 2, size=8), RNG.normal(size=(2, 4))
    v, g = p.value_and_grad(Zb, labels=yb, classifier=Wb)
    rv, rg = RidgRef(0.3)(Zb, yb, Wb)
    assert np.isclose(v, 0.5 * rv, rtol=1e-12)
    np.testing.assert_allclose(g, 0.5 * rg, rtol=1e-10, atol=1e-12)
    # a singleton class seen for the first time contributes exactly 0
    q = regula.penalty("rationale_invariance", strength=1.0)
    v, g = q.value_and_grad(np.array([[1.0, 2.0]]), labels=np.array([4]), classifier=np.ones((2, 2)))
    assert v == 0 and np.all(g == 0)
    with pytest.raises(regula.RegulaError):
        q.value(Z, labels=y)                            # classifier missing
    with pytest.raises(regula.RegulaError):
        q.value(Z, labels=y, classifier=np.ones((2, 2)))


# ---------------------------------------------------------------- neural collapse

def nc_ref(H, y, alpha, beta, K=None):
    cs = np.unique(y)
    mu = {c: H[y == c].mean(0) for c in cs}
    rw = np.mean([np.sum((H[i] - mu[y[i]]) ** 2) for i in range(len(H))])
    K = len(cs) if K is None else K
    rb = 0.0
    if len(cs) >= 2 and K >= 2:
        u = {c: mu[c] / max(np.linalg.norm(mu[c]), 1e-12) for c in cs}
        rb = np.mean([(u[a] @ u[b] + 1 / (K - 1)) ** 2 for a in cs for b in cs if a != b])
    return alpha * rw + beta * rb


def test_neural_collapse_features():
    H = np.array([[1, 0], [.8, .2], [0, 1], [-1, .1]])
    y = np.array([0, 0, 1, 2])
    assert np.isclose(regula.penalty("neural_collapse_features", alpha=1, beta=0).value(H, labels=y), 0.01)
    assert np.isclose(regula.penalty("neural_collapse_features", alpha=0, beta=1).value(H, labels=y), 0.320160, atol=1e-6)
    for K in [None, 5]:
        Hb = RNG.normal(size=(12, 4))
        yb = RNG.integers(0, 4, size=12)
        kw = {} if K is None else {"num_classes": K}
        p = regula.penalty("neural_collapse_features", strength=2.0, alpha=0.3, beta=0.7, **kw)
        v, g = p.value_and_grad(Hb, labels=yb)
        f = lambda h: nc_ref(h, yb, 0.3, 0.7, K)
        assert np.isclose(v, 2 * f(Hb))
        np.testing.assert_allclose(g, 2 * num_grad(f, Hb), rtol=1e-6, atol=1e-8)
    # one class: R_b = 0; only the within-class term remains
    Hs = RNG.normal(size=(4, 3))
    v = regula.penalty("neural_collapse_features", alpha=1, beta=1).value(Hs, labels=np.zeros(4, dtype=np.int64))
    assert np.isclose(v, np.mean(np.sum((Hs - Hs.mean(0)) ** 2, 1)))
    with pytest.raises(regula.RegulaError):
        regula.penalty("neural_collapse_features", num_classes=2).value(H, labels=y)


# ---------------------------------------------------------------- class sum of norms

def test_class_sum_of_norms():
    T = np.array([[.2, 0], [.1, .1], [0, .3], [.1, .2]])
    cl = np.array([0, 0, 1, 1])
    p = regula.penalty("class_sum_of_norms", strength=1.0)
    assert np.isclose(p.value(T, labels=cl), 0.784162, atol=1e-6)
    np.testing.assert_allclose(p.prox(T, step=0.15, labels=cl),
                               [[0.065836, 0], [0.032918, 0], [0, 0.175192], [0, 0.116795]], atol=1e-6)
    T = RNG.uniform(size=(7, 5))
    cl = np.array([0, 2, 2, 5, 0, 5, 5])                  # labels need not be contiguous
    T[cl == 2, 1] = 0                                     # a zero block: subgradient 0
    q = regula.penalty("class_sum_of_norms", strength=0.4)
    v, g = q.value_and_grad(T, labels=cl)
    want_v, want_g, want_p = 0.0, np.zeros_like(T), np.zeros_like(T)
    for c in np.unique(cl):
        blk = T[cl == c]
        n = np.linalg.norm(blk, axis=0)
        want_v += n.sum()
        want_g[cl == c] = np.where(n > 0, blk / np.where(n > 0, n, 1), 0)
        want_p[cl == c] = blk * np.maximum(0, 1 - 0.4 * 0.3 / np.where(n > 0, n, 1))
    assert np.isclose(v, 0.4 * want_v)
    np.testing.assert_allclose(g, 0.4 * want_g, atol=1e-12)
    np.testing.assert_allclose(q.prox(T, step=0.3, labels=cl), want_p, atol=1e-12)
    with pytest.raises(regula.RegulaError):
        q.value(T, labels=cl[:3])
