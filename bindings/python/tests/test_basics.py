"""The binding's contract (design.md §3) and the first components against NumPy references."""
import numpy as np
import pytest

import regula

W0 = np.array([[1.0, -2.0], [0.5, 0.0]])
RNG = np.random.default_rng(0)


def test_components_and_describe():
    ids = regula.components()
    assert ids == sorted(ids)
    for cid in ["l1", "l2", "elastic_net", "group_lasso", "soft_orthogonality", "norm_loss",
                "softmax_cross_entropy", "sparsemax"]:
        assert cid in ids
    d = regula.describe("l1")
    assert d["id"] == "l1" and d["kind"] == "penalty" and d["has_prox"] is True
    assert [p["name"] for p in d["params"]] == ["strength"]
    assert "sparsemax" in regula.components(kind="map")
    assert "l1" not in regula.components(kind="map")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l1_l2_elastic_net_match_numpy(dtype):
    w = RNG.normal(size=(5, 7)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    v, g = regula.penalty("l1", strength=0.3).value_and_grad(w)
    assert g.dtype == dtype and g.shape == w.shape
    assert np.isclose(v, 0.3 * np.abs(w.astype(np.float64)).sum(), rtol=tol)
    np.testing.assert_allclose(g, 0.3 * np.sign(w), rtol=tol)
    v, g = regula.penalty("l2", strength=2.0).value_and_grad(w)
    assert np.isclose(v, np.sum(w.astype(np.float64) ** 2), rtol=tol)
    np.testing.assert_allclose(g, 2.0 * w, rtol=tol)
    rho, s = 0.3, 0.7
    v, g = regula.penalty("elastic_net", strength=s, l1_ratio=rho).value_and_grad(w)
    w64 = w.astype(np.float64)
    assert np.isclose(v, s * (rho * np.abs(w64).sum() + 0.5 * (1 - rho) * (w64 ** 2).sum()), rtol=tol)
    np.testing.assert_allclose(g, s * (rho * np.sign(w64) + (1 - rho) * w64), rtol=tol, atol=tol)


def test_proxes_match_closed_forms():
    v = RNG.normal(size=(4, 6))
    t = 0.5 * 0.2
    np.testing.assert_allclose(regula.penalty("l1", strength=0.2).prox(v, step=0.5),
                               np.sign(v) * np.maximum(np.abs(v) - t, 0))
    np.testing.assert_allclose(regula.penalty("l2", strength=0.2).prox(v, step=0.5), v / (1 + t))
    rows = np.linalg.norm(v, axis=1, keepdims=True)
    np.testing.assert_allclose(regula.penalty("group_lasso", strength=0.2).prox(v, step=0.5),
                               v * np.maximum(0, 1 - t / rows))
    v[1] = 0
    out = regula.penalty("group_lasso", strength=1.0).prox(v, step=1.0)
    assert np.all(out[1] == 0)


def test_group_lasso_and_norm_loss_rows():
    w = RNG.normal(size=(3, 2, 2))  # conv-like: rows are flattened units
    rows = np.linalg.norm(w.reshape(3, -1), axis=1)
    v, g = regula.penalty("group_lasso", strength=1.0).value_and_grad(w)
    assert np.isclose(v, rows.sum())
    np.testing.assert_allclose(g.reshape(3, -1), w.reshape(3, -1) / rows[:, None])
    v, g = regula.penalty("norm_loss", strength=1.0, eps=0.0).value_and_grad(w)
    assert np.isclose(v, ((rows - 1) ** 2).sum())
    np.testing.assert_allclose(g.reshape(3, -1), 2 * (1 - 1 / rows)[:, None] * w.reshape(3, -1))
    z = np.zeros((2, 3))
    assert np.all(regula.penalty("group_lasso").value_and_grad(z)[1] == 0)
    assert np.all(regula.penalty("norm_loss").value_and_grad(z)[1] == 0)


def test_soft_orthogonality_matches_gram():
    for shape in [(3, 5), (5, 3)]:
        w = RNG.normal(size=shape)
        m, n = shape
        gram = w.T @ w - np.eye(n) if m >= n else w @ w.T - np.eye(m)
        v, g = regula.penalty("soft_orthogonality", strength=1.0).value_and_grad(w)
        assert np.isclose(v, np.sum(gram ** 2))
        np.testing.assert_allclose(g, 4 * (w @ w.T - np.eye(m)) @ w, rtol=1e-10, atol=1e-10)


def log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_matches_numpy(eps):
    z = RNG.normal(size=(6, 4)) * 3
    y = RNG.integers(0, 4, size=6)
    t = (1 - eps) * np.eye(4)[y] + eps / 4
    ref = -(t * log_softmax(z)).sum(axis=1)
    loss = regula.loss("softmax_cross_entropy", label_smoothing=eps)
    v, g = loss.value_and_grad(z, y)
    assert np.isclose(v, ref.mean())
    np.testing.assert_allclose(g, (np.exp(log_softmax(z)) - t) / 6, atol=1e-12)
    per, g_sum = regula.loss("softmax_cross_entropy", label_smoothing=eps, reduction="none").value_and_grad(z, y.astype(np.int32))
    np.testing.assert_allclose(per, ref)
    np.testing.assert_allclose(g_sum, g * 6, atol=1e-12)
    v_soft = loss.value(z, np.eye(4)[y])
    assert np.isclose(v_soft, ref.mean())


def test_cross_entropy_extremes_and_ignore_index():
    loss = regula.loss("softmax_cross_entropy", label_smoothing=0.1)
    for dtype in (np.float32, np.float64):
        v, g = loss.value_and_grad(np.array([[1e4, 0, -1e4]], dtype=dtype), np.array([2]))
        assert np.isclose(v, 19000, rtol=1e-6)
        np.testing.assert_allclose(g, [[0.9666667, -0.0333333, -0.9333333]], rtol=1e-5)
    z = RNG.normal(size=(3, 5))
    y = np.array([1, -100, 4])
    l2 = regula.loss("softmax_cross_entropy", ignore_index=-100)
    v, g = l2.value_and_grad(z, y)
    ref = -(log_softmax(z)[[0, 2], [1, 4]]).mean()
    assert np.isclose(v, ref) and np.all(g[1] == 0)


def test_sparsemax_and_vjp():
    m = regula.output_map("sparsemax")
    np.testing.assert_allclose(m(np.array([[1, 0.8, -1.0], [2, 1, -1]])), [[0.6, 0.4, 0], [1, 0, 0]])
    np.testing.assert_allclose(m.vjp(np.array([1, 0.8, -1.0]), np.array([1.0, 0, 0])), [0.5, -0.5, 0])
    x = RNG.normal(size=(5, 7))
    p = m(x)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    assert np.all(p >= 0)


def test_out_buffers_and_layouts():
    p = regula.penalty("l1", strength=1.0)
    w = RNG.normal(size=(4, 6))
    g = np.empty_like(w)
    v, g2 = p.value_and_grad(w, out=g)
    assert g2 is g and np.array_equal(g, np.sign(w))
    with pytest.raises(regula.RegulaError):
        p.value_and_grad(w, out=np.empty((6, 4)))
    strided = w[:, ::2]
    assert np.isclose(p.value(strided), np.abs(strided).sum())
    assert np.isclose(p.value(w[::-1]), np.abs(w).sum())
    big_endian = w.astype(">f8")
    assert np.isclose(p.value(big_endian), np.abs(w).sum())
    raw = np.zeros(w.size * 8 + 1, dtype=np.uint8)[1:].view(np.float64)  # misaligned
    raw[:] = w.ravel()
    assert np.isclose(p.value(raw), np.abs(w).sum())
    assert p.value(np.zeros((0, 3))) == 0


def test_errors_are_regula_errors():
    with pytest.raises(regula.RegulaError, match="unknown component"):
        regula.penalty("no_such_penalty")
    with pytest.raises(regula.RegulaError, match="no parameter"):
        regula.penalty("l1", q=0.5)
    with pytest.raises(regula.RegulaError, match="strength"):
        regula.penalty("l1", strength=-1.0)
    with pytest.raises(regula.RegulaError, match="non-finite"):
        regula.penalty("l1").value(np.array([1.0, np.nan]))
    for bad in (np.ones(3, dtype=np.float16), np.ones(3, dtype=np.int64), np.ones(3, dtype=bool),
                np.ones(3, dtype=np.complex128)):
        with pytest.raises(regula.RegulaError, match="dtype"):
            regula.penalty("l1").value(bad)
    with pytest.raises(regula.RegulaError, match="no prox"):
        regula.penalty("norm_loss").prox(np.ones(3), step=0.1)
    with pytest.raises(regula.RegulaError, match="step"):
        regula.penalty("l1").prox(np.ones(3), step=-1.0)
    loss = regula.loss("softmax_cross_entropy")
    with pytest.raises(regula.RegulaError, match="out of range"):
        loss.value(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(regula.RegulaError, match="labels"):
        loss.value(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(regula.RegulaError, match="shape"):
        loss.value(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(regula.RegulaError, match="empty"):
        loss.value(np.zeros((0, 3)), np.zeros((0,), dtype=np.int64))
    with pytest.raises(regula.RegulaError, match="no parameter or input"):
        regula.penalty("l1").value(np.ones(3), labels=np.ones(3))


def test_python_penalty_callbacks():
    def quartic(w, lam=1.0):
        return lam * float(np.sum(w ** 4)), lam * 4 * w ** 3

    def shrink(v, t, lam=1.0):
        return v / (1 + t)

    regula.register_penalty("py_quartic", quartic, prox=shrink, params={"lam": (1.0, 0.0, 10.0)})
    p = regula.penalty("py_quartic", strength=2.0, lam=0.5)
    v, g = p.value_and_grad(np.array([1.0, 2.0], dtype=np.float32))
    assert np.isclose(v, 17.0) and g.dtype == np.float32
    np.testing.assert_allclose(g, [4.0, 32.0])
    assert regula.describe("py_quartic")["has_prox"]
    with pytest.raises(regula.RegulaError):
        regula.penalty("py_quartic", lam=11.0)
    with pytest.raises(regula.RegulaError, match="already registered"):
        regula.register_penalty("py_quartic", quartic)
    with pytest.raises(regula.RegulaError, match="already registered"):
        regula.register_penalty("l1", quartic)

    def broken(w):
        raise KeyError("boom")

    regula.register_penalty("py_broken", broken)
    with pytest.raises(regula.RegulaError, match="boom") as info:
        regula.penalty("py_broken").value(np.ones(3))
    assert isinstance(info.value.__cause__, KeyError)

    def wrong_shape(w):
        return 0.0, np.ones(w.size + 1)

    regula.register_penalty("py_wrong_shape", wrong_shape)
    with pytest.raises(regula.RegulaError, match="shape"):
        regula.penalty("py_wrong_shape").value(np.ones(3))


def test_value_and_grad_many_equals_separate_calls():
    p = regula.penalty("group_lasso", strength=0.3)
    ws = [RNG.normal(size=(4, 5)), RNG.normal(size=(7,)).astype(np.float32), RNG.normal(size=(3, 2, 2))]
    v, gs = p.value_and_grad_many(ws)
    want = [p.value_and_grad(w) for w in ws]
    assert np.isclose(v, sum(a for a, _ in want))
    for g, (_, ref) in zip(gs, want):
        assert g.dtype == ref.dtype
        np.testing.assert_allclose(g, ref, rtol=1e-6)
    assert p.value_and_grad_many([])[0] == 0
    with pytest.raises(regula.RegulaError, match=r"ws\[1\]"):
        p.value_and_grad_many([np.ones(3), np.array([1.0, np.nan])])
