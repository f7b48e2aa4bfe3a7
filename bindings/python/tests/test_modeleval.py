"""The model-evaluation transforms (lipschitz_generator, surrogate_gradient_norm) and the stochastic
layers under their catalogue ids: listed and described through the C ABI, and refused where a
single gradient callback cannot drive them."""
import numpy as np
import pytest

import regula

RG_ERR_UNSUPPORTED = 9

NEW = {
    "lipschitz_generator": ("model_eval", ["strength", "neighbor", "k", "scale"]),
    "surrogate_gradient_norm": ("optimizer_wrapper",
                                ["variant", "lambda", "eta_lambda", "epsilon", "rho", "r", "clip_nonneg"]),
    "gaussian_noise": ("layer", ["sigma"]),
    "gaussian_dropout": ("layer", ["p"]),
    "quant_noise": ("layer", ["bits", "mode"]),
}


def test_listed_and_described_as_transforms():
    listed = regula.components(kind="transform")
    for cid, (family, params) in NEW.items():
        assert cid in listed
        d = regula.describe(cid)
        assert d["kind"] == "transform" and d["family"] == family
        assert [p["name"] for p in d["params"]] == params
        assert d["reference"] and d["formula"] and d["notes"]


def test_defaults_in_describe():
    defaults = {p["name"]: p["default"] for p in regula.describe("surrogate_gradient_norm")["params"]}
    assert defaults["variant"] == "ignite" and defaults["eta_lambda"] == 1e-3 and defaults["epsilon"] == 0.1
    assert defaults["clip_nonneg"] is True
    assert defaults["lambda"] is None and defaults["rho"] is None  # variant-dependent (ignite / ignite2)
    assert {p["name"]: p["default"] for p in regula.describe("gaussian_noise")["params"]} == {"sigma": 0.1}
    assert {p["name"]: p["default"] for p in regula.describe("quant_noise")["params"]} == {"bits": 8, "mode": "fake_quant"}


def test_component_constructors_refuse_them():
    for cid in NEW:
        with pytest.raises(regula.RegulaError):
            regula.penalty(cid)


def test_single_callback_optimizer_refuses_them():
    w = np.array([[0.5, -0.3]])
    grad = np.zeros_like(w)

    def grad_fn():
        grad[...] = w
        return 0.5 * float((w * w).sum())

    opt = regula.Optimizer("sgd", lr=0.1, transforms=["surrogate_gradient_norm:variant=ignite2"])
    with pytest.raises(regula.RegulaError) as e:
        opt.step([w], [grad], grad_fn=grad_fn)
    assert e.value.status == RG_ERR_UNSUPPORTED and "graph" in str(e.value)
    np.testing.assert_array_equal(w, [[0.5, -0.3]])
    for spec in ["lipschitz_generator", "gaussian_noise:sigma=0.1", "gaussian_dropout", "quant_noise:bits=4"]:
        with pytest.raises(regula.RegulaError) as e:  # terms of the model, not of the gradient
            regula.Optimizer("sgd", transforms=[spec])
        assert e.value.status == RG_ERR_UNSUPPORTED
    with pytest.raises(regula.RegulaError):
        regula.Optimizer("sgd", transforms=["surrogate_gradient_norm:r=0"])


# -- through the graph: rg_graph_step (per-term evaluation), rg_graph_reduce, rg_graph_neighbors --

X_IGNITE = np.array([[1.0, 2.0], [0.0, 1.0], [2.0, -1.0]])


def _tanh_surrogate(with_surrogate_term):
    """f_β(x) = tanh(xᵀβ) with the task term ½‖β‖² (l2) and, optionally, G_B = mean f as term 1."""
    g = regula.Graph(seed=0)
    x = g.input(2)
    beta = g.parameter("beta", (1, 2))
    g.set_parameter("beta", np.array([[0.5, -0.3]]))
    f = g.activation(g.linear(x, beta), "tanh")
    g.minimize(g.op("l2", beta, strength=1.0))
    if with_surrogate_term:
        g.minimize(g.mean(f))
    g.feed({x: X_IGNITE})
    return g


def test_surrogate_gradient_norm_step_through_the_graph_matches_the_catalogue():
    # lr = 1 SGD: the two graphs' updates differ by exactly the IGNITE penalty gradient
    # λρ(ĝ − g)/r = (1.46233e−6, 1.47072e−5) of penalties_matrix.md §20 (λ=1e-3, ρ=r=0.05).
    with_term, plain = _tanh_surrogate(True), _tanh_surrogate(False)
    ignite = regula.Optimizer("sgd", lr=1.0, transforms=["surrogate_gradient_norm:lambda=1e-3,rho=0.05,r=0.05"])
    with_term.step(ignite)
    plain.step(regula.Optimizer("sgd", lr=1.0))
    diff = plain.parameters()["beta"][0] - with_term.parameters()["beta"][0]
    np.testing.assert_allclose(diff, [1.46233e-6, 1.47072e-5], rtol=2e-5)


def test_graph_mean_and_sum_nodes():
    g = regula.Graph(seed=0)
    x = g.input(3, grad=True)
    m, s = g.mean(x), g.sum(x)
    g.minimize(m)
    v = np.arange(6.0).reshape(2, 3)
    g.feed({x: v})
    g.forward()
    g.backward()
    assert g.value(m) == pytest.approx(2.5) and g.value(s) == pytest.approx(15.0)
    np.testing.assert_allclose(g.gradient(x), np.full((2, 3), 1 / 6))
    with pytest.raises(regula.RegulaError):
        g._add(regula._L.rg_graph_reduce, g._node(x, "x"), b"median")


def test_lipschitz_generator_through_the_graph():
    # G(z, y) = tanh(z + y W_yᵀ), W_y = (2, 1)ᵀ: the catalogue's ratio 1.077256 for z = (0.1, −0.2),
    # y = 0.5, y' = 0.6; neighbours by batch_knn (k = 1) are the nearest other condition.
    g = regula.Graph(seed=0)
    z, y, y2 = g.input(2), g.input(1), g.input(1)
    wy = g.parameter("w_y", (2, 1))
    g.set_parameter("w_y", np.array([[2.0], [1.0]]))
    a = g.activation(g.add(z, g.linear(y, wy)), "tanh")
    b = g.activation(g.add(z, g.linear(y2, wy)), "tanh")
    r = g.op("lipschitz_generator:neighbor=batch_knn,k=1", a, b, y, y2)
    g.minimize(r)
    g.feed({z: np.array([[0.1, -0.2]]), y: np.array([[0.5]]), y2: np.array([[0.6]])})
    assert g.forward() == pytest.approx(1.077256, abs=1e-6)
    conditions = np.array([[0.0], [1.0], [3.0]])
    np.testing.assert_array_equal(g.neighbors(r, conditions), [[1.0], [0.0], [1.0]])
    with pytest.raises(regula.RegulaError):
        g.neighbors(a, conditions)  # not a lipschitz_generator node
