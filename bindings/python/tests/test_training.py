"""Training optimizers and transforms through the C ABI (rg_optimizer_*), each step checked against
an independent NumPy implementation of the update rule (catalogue transforms.md)."""
import numpy as np
import pytest

import regula


def numpy_adam(ws, gs, state, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    """torch/optax AdamW (decoupled decay scaled by the learning rate) on rank >= 2 arrays."""
    state["t"] = state.get("t", 0) + 1
    t = state["t"]
    out = []
    for k, (w, g) in enumerate(zip(ws, gs)):
        m = state.setdefault(("m", k), np.zeros_like(w))
        v = state.setdefault(("v", k), np.zeros_like(w))
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g * g
        d = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        if w.ndim >= 2:
            d = d + wd * w
        out.append(w - lr * d)
    return out


def test_adamw_matches_numpy_over_steps_and_skips_bias_decay():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    refW, refb = W.copy(), b.copy()
    opt = regula.Optimizer("adamw", lr=0.05, weight_decay=0.1)
    state = {}
    for _ in range(4):
        gW, gb = rng.normal(size=(3, 4)), rng.normal(size=3)
        opt.step([W, b], [gW.copy(), gb.copy()])
        refW, refb = numpy_adam([refW, refb], [gW, gb], state, lr=0.05, wd=0.1)
        np.testing.assert_allclose(W, refW, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, refb, rtol=1e-12, atol=1e-12)


def test_catalogue_weight_decay_example():
    # transforms §1: w = [1, -2], g = [0.5, 0.1], lr = 0.1, λ = 0.1, first Adam step.
    for opt, transforms, expected in [("adamw", [], [0.89, -2.08]),
                                      ("adam", ["l2_grad:weight_decay=0.1"], [0.90, -1.90]),
                                      ("sgd", ["l2_grad:weight_decay=0.1"], [0.94, -1.99])]:
        w = np.array([[1.0, -2.0]])
        o = regula.Optimizer(opt, transforms=transforms, lr=0.1, weight_decay=0.1, momentum=0.0)
        o.step([w], [np.array([[0.5, 0.1]])])
        np.testing.assert_allclose(w, [expected], rtol=1e-6)


def test_sgd_nesterov_matches_numpy():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(2, 3))
    ref, buf = w.copy(), None
    opt = regula.Optimizer("sgd", lr=0.1, momentum=0.9, nesterov=True)
    for _ in range(3):
        g = rng.normal(size=(2, 3))
        opt.step([w], [g.copy()])
        buf = g.copy() if buf is None else 0.9 * buf + g
        ref = ref - 0.1 * (g + 0.9 * buf)
        np.testing.assert_allclose(w, ref, rtol=1e-12)


def test_clipping_and_perp_grad_match_numpy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 2)), rng.normal(size=3)
    ga, gb = 5 * rng.normal(size=(2, 2)), 5 * rng.normal(size=3)
    # global norm: every leaf scaled by c/n when n > c
    n = np.sqrt((ga ** 2).sum() + (gb ** 2).sum())
    A, B = a.copy(), b.copy()
    regula.Optimizer("sgd", momentum=0.0, lr=1.0, transforms=["clip_global_norm:max_norm=1"]).step([A, B], [ga.copy(), gb.copy()])
    np.testing.assert_allclose(A, a - ga / n, rtol=1e-12)
    np.testing.assert_allclose(B, b - gb / n, rtol=1e-12)
    # value clipping
    A = a.copy()
    regula.Optimizer("sgd", momentum=0.0, lr=1.0, transforms=["clip_value:max_delta=0.5"]).step([A], [ga.copy()])
    np.testing.assert_allclose(A, a - np.clip(ga, -0.5, 0.5), rtol=1e-12)
    # perp_grad with the official norm-preserving rescale, per tensor
    A = a.copy()
    regula.Optimizer("sgd", momentum=0.0, lr=1.0, transforms=["perp_grad"]).step([A], [ga.copy()])
    wf, gf = a.ravel(), ga.ravel()
    gp = gf - (wf @ gf) / (wf @ wf + 1e-30) * wf
    gp *= np.linalg.norm(gf) / (np.linalg.norm(gp) + 1e-30)
    np.testing.assert_allclose(A.ravel(), wf - gp, rtol=1e-12)
    assert abs(gp @ wf) < 1e-10


def test_sam_through_the_callback_matches_numpy():
    # transforms §3: L = ½(w−c)ᵀH(w−c), H = diag(1, 10), c = (0.2, 0), w = (1, 1), ρ = 0.1, η = 0.1.
    H, c = np.array([1.0, 10.0]), np.array([0.2, 0.0])
    w, g = np.array([1.0, 1.0]), np.zeros(2)
    seen = []

    def grad_fn():
        seen.append(w.copy())
        g[...] = H * (w - c)
        return 0.5 * np.sum(H * (w - c) ** 2)

    loss = regula.Optimizer("sgd", lr=0.1, momentum=0.0, transforms=["sam:rho=0.1"]).step([w], [g], grad_fn=grad_fn)
    g0 = H * (np.array([1.0, 1.0]) - c)
    e = 0.1 * g0 / np.linalg.norm(g0)
    expected = np.array([1.0, 1.0]) - 0.1 * H * (np.array([1.0, 1.0]) + e - c)
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    np.testing.assert_allclose(w, [0.9192, -0.09968], atol=1e-4)
    assert len(seen) == 2 and np.allclose(seen[1], [1, 1] + e)
    assert loss == pytest.approx(0.5 * np.sum(H * (np.array([1.0, 1.0]) - c) ** 2))


def test_amp_per_tensor_ball_matches_numpy():
    # transforms §4: L = ½wᵀdiag(1, 10)w, w = (1, 1), ε = 0.5, inner_lr = 1, K = 1, η = 0.1.
    H = np.array([1.0, 10.0])
    w, g = np.array([1.0, 1.0]), np.zeros(2)

    def grad_fn():
        g[...] = H * w
        return 0.5 * np.sum(H * w * w)

    regula.Optimizer("sgd", lr=0.1, momentum=0.0, transforms=["amp"]).step([w], [g], grad_fn=grad_fn)
    d = H * np.array([1.0, 1.0])
    d *= min(1.0, 0.5 / (np.linalg.norm(d) + 1e-12))
    np.testing.assert_allclose(w, 1.0 - 0.1 * H * (1.0 + d), rtol=1e-12)


def test_prox_step_l1_soft_threshold_matches_numpy():
    # transforms §16b: w = (0.5, −0.02, 0.1), g = (0.1, 0.1, −0.2), η = 0.1, λ = 0.5.
    w = np.array([[0.5, -0.02, 0.1]])
    regula.Optimizer("sgd", lr=0.1, momentum=0.0, transforms=["prox_step:penalty=l1,strength=0.5"]).step(
        [w], [np.array([[0.1, 0.1, -0.2]])])
    v = np.array([0.49, -0.03, 0.12])
    np.testing.assert_allclose(w[0], np.sign(v) * np.maximum(np.abs(v) - 0.05, 0), atol=1e-15)
    assert w[0, 1] == 0.0  # an exact zero


def test_float32_parameters_are_stepped_in_place():
    w = np.array([[1.0, -2.0]], dtype=np.float32)
    regula.Optimizer("sgd", lr=0.5, momentum=0.0).step([w], [np.array([[1.0, 1.0]], dtype=np.float32)])
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, [[0.5, -2.5]])


def test_errors():
    with pytest.raises(regula.RegulaError):
        regula.Optimizer("lbfgs")
    with pytest.raises(regula.RegulaError):
        regula.Optimizer("adam", transforms=["nope"])
    with pytest.raises(regula.RegulaError):
        regula.Optimizer("adam", transforms=["sam:radius=1"])
    with pytest.raises(regula.RegulaError):
        regula.Optimizer("adam", transforms=["flooding:b=0.1"])  # a loss transform
    with pytest.raises(regula.RegulaError):
        regula.Optimizer("adam", transforms=["mixup"])  # a data transform
    with pytest.raises(regula.RegulaError):
        regula.Optimizer("adam", lr=-1)
    w = np.ones((2, 2))
    with pytest.raises(regula.RegulaError):  # a wrapper needs the callback
        regula.Optimizer("sgd", transforms=["sam"]).step([w], [np.ones((2, 2))])
    opt = regula.Optimizer("sgd")
    with pytest.raises(regula.RegulaError):  # shape mismatch between param and grad
        opt.step([w], [np.ones(3)])
    opt.step([w], [np.ones((2, 2))])
    with pytest.raises(regula.RegulaError):  # different parameters from the first step's
        opt.step([np.ones(3)], [np.ones(3)])
    with pytest.raises(regula.RegulaError):  # integer arrays
        regula.Optimizer("sgd").step([np.ones((2, 2), dtype=np.int64)], [np.ones((2, 2), dtype=np.int64)])


def test_callback_exception_surfaces_and_leaves_parameters():
    w, g = np.array([[1.0, 2.0]]), np.zeros((1, 2))
    calls = []

    def grad_fn():
        calls.append(w.copy())
        if len(calls) == 2:
            raise ZeroDivisionError("boom")
        g[...] = w
        return 1.0

    with pytest.raises(regula.RegulaError) as info:
        regula.Optimizer("sgd", transforms=["sam:rho=0.5"]).step([w], [g], grad_fn=grad_fn)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    np.testing.assert_array_equal(w, [[1.0, 2.0]])  # restored after the perturbed evaluation


def test_iss_p_and_lawn_match_numpy():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(4, 5))
    g = rng.normal(size=(4, 5))
    W = w.copy()
    regula.Optimizer("sgd", lr=0.1, momentum=0.0, transforms=["iss_p:ratio=0.5,beta=0.9"]).step([W], [g.copy()])
    v = (w - 0.1 * g).ravel()
    small = np.argsort(np.abs(v), kind="stable")[:10]
    v[small] *= 0.9
    np.testing.assert_allclose(W.ravel(), v, rtol=1e-12)
    # LAWN from the first step: tangent gradient, then back to the starting norm
    W = w.copy()
    regula.Optimizer("sgd", lr=0.1, momentum=0.0, transforms=["lawn:layers=all"]).step([W], [g.copy()])
    wf, gf = w.ravel(), g.ravel()
    u = wf - 0.1 * (gf - (wf @ gf) / (wf @ wf) * wf)
    np.testing.assert_allclose(W.ravel(), u * np.linalg.norm(wf) / np.linalg.norm(u), rtol=1e-12)


def test_transforms_are_listed_and_described_but_not_components():
    ids = regula.components(kind="transform")
    assert {"perp_grad", "sam", "prox_step", "mixup", "lawn"} <= set(ids)
    assert "l1" not in ids and "flooding" not in ids  # flooding stays the loss wrapper's id
    d = regula.describe("sam")
    assert d["kind"] == "transform" and d["family"] == "optimizer_wrapper"
    assert [p["name"] for p in d["params"]] == ["rho"]
    with pytest.raises(regula.RegulaError, match="training transform"):
        regula.penalty("sam")
    # and what is listed works in an optimizer
    w, g = np.ones((2, 3)), np.ones((2, 3))
    regula.Optimizer("sgd", lr=0.1, transforms=["perp_grad"]).step([w], [g])
    assert np.isfinite(w).all()


def test_backslash_post_step_matches_numpy():
    # penalties_sparsity §14b: W0 alone (N = 4), λ = 0.1, c = 1: ν̂ = 1.46 from ρ̂ = 1.714286.
    from math import lgamma, exp
    W0 = np.array([[1.0, -2.0], [0.5, 0.0]])
    w = W0.copy()
    regula.Optimizer("sgd", lr=0.1, momentum=0.0, transforms=["backslash:lambda=0.1"]).step([w], [np.zeros_like(w)])
    grid = np.arange(10, 301) / 100
    rho = np.array([exp(lgamma(1 / v) + lgamma(3 / v) - 2 * lgamma(2 / v)) for v in grid])
    rho_hat = W0.size * np.sum(W0 ** 2) / np.sum(np.abs(W0)) ** 2
    nu = grid[np.argmin(np.abs(rho - rho_hat))]
    assert nu == pytest.approx(1.46)
    expected = W0 - 0.1 * nu / W0.size * np.sign(W0) * (np.abs(W0) + 1) ** (nu - 1)
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    np.testing.assert_allclose(w, [[0.949793, -1.939498], [0.456016, 0.0]], atol=1e-6)


def test_lawn_projection_per_unit_matches_numpy():
    w = np.array([[3.0, 4.0], [1.0, 2.0]])
    g = np.array([[1.0, -1.0], [2.0, 0.5]])
    regula.Optimizer("sgd", lr=0.5, momentum=0.0, transforms=["lawn_projection:layers=all,granularity=unit"]).step([w], [g.copy()])
    v = np.array([[3.0, 4.0], [1.0, 2.0]]) - 0.5 * g
    r = np.linalg.norm([[3.0, 4.0], [1.0, 2.0]], axis=1, keepdims=True)
    np.testing.assert_allclose(w, v * r / np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-12)


def test_de_elbo_through_the_callback_matches_numpy():
    # transforms §17: m = (0.5, −0.5, 1, 0), σ = 0.1: the task gradient is taken at m + σε.
    a = np.array([0.2, -0.1, 0.0, 0.3])
    m0 = np.array([0.5, -0.5, 1.0, 0.0])
    w, g = m0.copy(), np.zeros(4)
    seen = []

    def grad_fn():
        seen.append(w.copy())
        g[...] = a
        return float(a @ w)

    loss = regula.Optimizer("sgd", lr=1.0, momentum=0.0, transforms=["de_elbo:sigma_init=0.1"]).step([w], [g], grad_fn=grad_fn)
    assert len(seen) == 1 and not np.allclose(seen[0], m0)  # a sample, not the mean
    denom = 4 * 0.01 + m0 @ m0
    np.testing.assert_allclose(w, m0 - a - m0 / denom, rtol=1e-12)
    assert loss == pytest.approx(a @ seen[0] + 0.5 * np.log(38.5), rel=1e-12)


def test_model_transforms_are_refused_by_the_optimizer():
    for t in ["qreg", "smcp_soft_mask", "weight_conditioning"]:
        with pytest.raises(regula.RegulaError, match="model"):
            regula.Optimizer("sgd", transforms=[t])


def test_deepshape_leaves_every_parameter_on_the_grid():
    rng = np.random.default_rng(3)
    w = 0.05 * rng.normal(size=(100, 200))
    b = 0.05 * rng.normal(size=2000)
    q = np.round(np.concatenate([w.ravel(), b]) * 8192)
    regula.Optimizer("sgd", lr=0.1, momentum=0.0, transforms=["deepshape:adj_minnum=5"]).step(
        [w, b], [np.zeros_like(w), np.zeros_like(b)])
    out = np.concatenate([w.ravel(), b]) * 8192
    np.testing.assert_array_equal(out, np.round(out))
    # the reshaped centre is sharper than the input (shape 0.8x, scale 0.6x): more mass near 0
    assert np.mean(np.abs(out) < 100) > np.mean(np.abs(q) < 100)
    with pytest.raises(regula.RegulaError, match="adj_minnum"):
        regula.Optimizer("sgd", transforms=["deepshape:adj_minnum=1"]).step([np.zeros((2, 2))], [np.zeros((2, 2))])
