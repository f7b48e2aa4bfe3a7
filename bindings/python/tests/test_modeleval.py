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
