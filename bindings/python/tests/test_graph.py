"""regula.Graph (rg_graph_*): gradients against NumPy finite differences and a hand-written NumPy
MLP, variable batch sizes, Adam training on the digits, save/load, and hostile inputs."""
import pathlib

import numpy as np
import pytest

import regula
from numeric import num_grad

ROOT = pathlib.Path(__file__).resolve().parents[3]


def mlp(seed=0, classes=3, features=5, hidden=4, penalty=True, x_grad=False):
    """x → linear → tanh → linear → softmax_cross_entropy (+ l2 on both weights)."""
    g = regula.Graph(seed=seed)
    x, y = g.input(features, grad=x_grad), g.input(1)
    w1 = g.parameter("fc1.weight", (hidden, features), init="kaiming_normal")
    b1 = g.parameter("fc1.bias", (hidden,), init="normal:std=0.1")
    w2 = g.parameter("fc2.weight", (classes, hidden), init="xavier_normal")
    b2 = g.parameter("fc2.bias", (classes,), init="uniform:bound=0.1")
    h = g.activation(g.linear(x, w1, b1), "tanh")
    z = g.linear(h, w2, b2)
    loss = g.op("softmax_cross_entropy", z, y)
    g.minimize(loss)
    if penalty:
        for w in (w1, w2):
            g.minimize(g.op("l2", w, strength=0.05))
    return g, dict(x=x, y=y, w1=w1, b1=b1, w2=w2, b2=b2, h=h, z=z, loss=loss)


def data(n=12, features=5, classes=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)), rng.integers(0, classes, size=n)


def numpy_mlp(p, X, Y, l2=0.05):
    """Forward and backward by hand: objective and gradients of every parameter and of X."""
    a = X @ p["fc1.weight"].T + p["fc1.bias"]
    h = np.tanh(a)
    z = h @ p["fc2.weight"].T + p["fc2.bias"]
    zs = z - z.max(axis=1, keepdims=True)
    logp = zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))
    n = len(Y)
    loss = -logp[np.arange(n), Y].mean()
    reg = sum(0.5 * l2 * (p[k] ** 2).sum() for k in ("fc1.weight", "fc2.weight"))
    dz = np.exp(logp)
    dz[np.arange(n), Y] -= 1
    dz /= n
    grads = {"fc2.weight": dz.T @ h + l2 * p["fc2.weight"], "fc2.bias": dz.sum(axis=0)}
    da = (dz @ p["fc2.weight"]) * (1 - h ** 2)
    grads["fc1.weight"] = da.T @ X + l2 * p["fc1.weight"]
    grads["fc1.bias"] = da.sum(axis=0)
    return loss + reg, grads, da @ p["fc1.weight"]


def test_gradients_match_a_numpy_mlp_and_finite_differences():
    g, n = mlp(x_grad=True)
    X, Y = data()
    g.feed({n["x"]: X, n["y"]: Y})
    value = g.forward(training=False)
    g.backward()
    params = g.parameters()
    ref, ref_grads, ref_gx = numpy_mlp(params, X, Y)
    assert value == pytest.approx(ref, rel=1e-12)
    for name, node in g.parameter_nodes().items():
        np.testing.assert_allclose(g.gradient(node), ref_grads[name], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.gradient(n["x"]), ref_gx, rtol=1e-10, atol=1e-12)
    # the NumPy reference itself against central differences
    for name in params:
        def f(w, name=name):
            return numpy_mlp({**params, name: w}, X, Y)[0]
        np.testing.assert_allclose(num_grad(f, params[name]), ref_grads[name], rtol=1e-6, atol=1e-8)
    # and the graph against central differences through set_parameter + forward
    w = params["fc1.weight"]

    def graph_objective(v):
        g.set_parameter("fc1.weight", v)
        return g.forward(training=False)
    num = num_grad(graph_objective, w)
    g.set_parameter("fc1.weight", w)
    np.testing.assert_allclose(num, ref_grads["fc1.weight"], rtol=1e-6, atol=1e-8)


def test_values_shapes_and_a_smaller_last_batch():
    g, n = mlp(penalty=False)
    X, Y = data(n=10)
    for rows in (8, 2):  # the last batch of 10 in batches of 8
        g.feed({n["x"]: X[:rows], n["y"]: Y[:rows]})
        v = g.forward(training=False)
        assert g.shape(n["z"]) == (rows, 3) and n["z"].shape == (rows, 3)
        z = g.value(n["z"])
        ref, _, _ = numpy_mlp(g.parameters(), X[:rows], Y[:rows], l2=0)
        assert v == pytest.approx(ref, rel=1e-12)
        assert g.value(n["loss"]) == pytest.approx(v)
        np.testing.assert_allclose(g.value(n["z"], dtype=np.float32), z.astype(np.float32))
    np.testing.assert_array_equal(g.value(n["y"]), Y[:2].reshape(2, 1).astype(float))
    # labels as floats or int32 give the same objective; a (rows, 1) column is accepted
    g.feed({n["x"]: X[:2], n["y"]: Y[:2].astype(np.int32)})
    a = g.forward(training=False)
    g.feed({n["x"]: X[:2], n["y"]: Y[:2].astype(float).reshape(2, 1)})
    assert g.forward(training=False) == a


def test_penalty_with_named_inputs_and_maps():
    g = regula.Graph(seed=2)
    x, y = g.input(4), g.input(1)
    w = g.parameter("w", (3, 4), init="normal:std=0.5")
    h = g.linear(x, w)
    p = g.op("neural_collapse_features", h, labels=y, alpha=1.0, beta=0.0)
    s = g.op("sparsemax", h)
    g.minimize(p)
    X = np.random.default_rng(3).normal(size=(6, 4))
    Y = np.array([0, 0, 1, 1, 2, 2])
    g.feed({x: X, y: Y})
    v = g.forward()
    H = X @ g.parameters()["w"].T
    ref = regula.penalty("neural_collapse_features", alpha=1.0, beta=0.0).value(H, labels=Y)
    assert v == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(g.value(s), regula.output_map("sparsemax")(H), atol=1e-12)
    g.backward()
    _, gh = regula.penalty("neural_collapse_features", alpha=1.0, beta=0.0).value_and_grad(H, labels=Y)
    np.testing.assert_allclose(g.gradient(w), gh.T @ X, rtol=1e-10, atol=1e-12)


def load_digits():
    table = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",")
    return table[:, :-1] / 16.0, table[:, -1].astype(np.int64)


def digits_model(seed, dropout):
    """64-32-10 ReLU MLP (optionally with dropout) and label-smoothed cross-entropy."""
    g = regula.Graph(seed=seed)
    x, y = g.input(64), g.input(1)
    w1 = g.parameter("fc1.weight", (32, 64), init="kaiming_normal")
    b1 = g.parameter("fc1.bias", (32,))
    w2 = g.parameter("fc2.weight", (10, 32), init="xavier_normal")
    b2 = g.parameter("fc2.bias", (10,))
    h = g.activation(g.linear(x, w1, b1), "relu")
    if dropout:
        h = g.noise(h, "dropout", p=dropout)
    g.minimize(g.op("softmax_cross_entropy", g.linear(h, w2, b2), y, label_smoothing=0.1))
    return g, x, y


def test_adam_training_on_digits_lowers_the_loss_and_save_load_round_trips(tmp_path):
    X, Y = load_digits()
    X, Y = X[:600], Y[:600]
    g, x, y = digits_model(seed=0, dropout=0.1)
    opt = regula.Optimizer("adam", lr=1e-2)
    rng = np.random.default_rng(0)
    epochs = []
    for _ in range(5):
        order, total = rng.permutation(len(Y)), 0.0
        for s in range(0, len(Y), 64):  # 600 = 9 × 64 + 24: a smaller last batch
            idx = order[s:s + 64]
            g.feed({x: X[idx], y: Y[idx]})
            total += g.step(opt) * len(idx)
        epochs.append(total / len(Y))
    assert all(b < a for a, b in zip(epochs, epochs[1:])), epochs
    assert epochs[-1] < 0.5 * epochs[0], epochs
    g.feed({x: X, y: Y})
    trained = g.forward(training=False)
    path = tmp_path / "digits.params"
    g.save(path)
    other, ox, oy = digits_model(seed=1, dropout=0)
    other.load(str(path))
    for k, v in g.parameters().items():
        np.testing.assert_array_equal(other.parameters()[k], v)
    other.feed({ox: X, oy: Y})
    assert other.forward(training=False) == trained  # dropout is off in eval mode
    with pytest.raises(regula.RegulaError) as e:
        other.step(opt)  # bound to g
    assert e.value.status == 2


def test_sam_step_and_input_gradient():
    g, n = mlp(x_grad=True)
    X, Y = data(n=20)
    g.feed({n["x"]: X, n["y"]: Y})
    opt = regula.Optimizer("adam", lr=0.05, transforms=["sam:rho=0.05", "clip_global_norm:max_norm=5"])
    first = g.step(opt)
    for _ in range(30):
        g.step(opt)
    assert g.forward(training=False) < 0.7 * first
    g.backward()
    assert g.gradient(n["x"]).shape == (20, 5)


def expect_error(status, fn, *args, **kwargs):
    with pytest.raises(regula.RegulaError) as e:
        fn(*args, **kwargs)
    if status is not None:
        assert e.value.status == status, str(e.value)
    return e.value


def test_hostile_inputs_raise_regula_error(tmp_path):
    g, n = mlp(penalty=False)
    other, _ = mlp()
    X, Y = data()
    E = regula.RegulaError
    expect_error(2, g.forward)                                        # forward before feed
    expect_error(2, g.backward)                                       # backward before forward
    expect_error(None, g.linear, other.input(5), n["w1"])             # a node of another graph
    expect_error(None, g.linear, 3, n["w1"])                          # not a Node
    expect_error(6, g.linear, n["y"], n["w1"])                        # shapes
    expect_error(3, g.op, "no_such_component", n["z"], n["y"])
    expect_error(3, g.activation, n["z"], "no_such_map")
    expect_error(4, g.op, "softmax_cross_entropy", n["z"], n["y"], smoothing=0.1)
    expect_error(5, g.parameter, "w", (2, 2), init="gaussian")
    expect_error(4, g.parameter, "w", (2, 2), init="normal:mean=1")
    expect_error(2, g.parameter, "fc1.weight", (2, 2))                # duplicate name
    expect_error(6, g.parameter, "w", (2, -2))
    expect_error(6, g.parameter, "w", (2,) * 9)
    expect_error(None, g.parameter, "w", (2, 2**70))
    expect_error(None, g.parameter, "w", "ab")
    expect_error(5, g.noise, n["h"], "dropout", p=1.0)
    expect_error(9, g.op, "sam", n["z"])                              # a transform without a graph form
    expect_error(6, g.minimize, n["z"])                               # not a scalar
    expect_error(2, g.feed, {n["w1"]: np.ones((4, 5))})               # not an input
    bad = X.copy()
    bad[3, 2] = np.nan
    e = expect_error(8, g.feed, {n["x"]: bad, n["y"]: Y})
    assert "index 17" in str(e)
    expect_error(6, g.feed, {n["x"]: X[:, :3]})
    expect_error(6, g.feed, {n["x"]: X[None]})
    expect_error(None, g.feed, {n["x"]: X.astype(np.float16)})
    expect_error(None, g.feed, [X])
    g.feed({n["x"]: X})
    expect_error(6, g.feed, {n["y"]: Y[:5]})                          # batch mismatch
    g.feed({n["y"]: Y})
    expect_error(2, g.value, n["z"])                                  # no forward yet
    g.forward()
    expect_error(2, g.gradient, n["w1"])                              # no backward yet
    g.backward()
    expect_error(2, g.gradient, n["x"])                               # built without grad=True
    expect_error(None, g.value, n["z"], dtype=np.int32)
    expect_error(None, g.set_parameter, "missing", np.ones(3))
    expect_error(6, g.set_parameter, "fc1.weight", np.ones((5, 4)))
    expect_error(8, g.set_parameter, "fc1.weight", np.full((4, 5), np.inf))
    expect_error(14, g.load, tmp_path / "missing.params")
    expect_error(14, g.save, tmp_path / "no" / "dir" / "p.params")
    other.save(tmp_path / "other.params")
    g.set_parameter("fc1.bias", np.ones(4))
    g.load(tmp_path / "other.params")
    np.testing.assert_array_equal(g.parameters()["fc1.bias"], other.parameters()["fc1.bias"])
    (tmp_path / "junk.params").write_bytes(b"not a parameter file")
    expect_error(14, g.load, tmp_path / "junk.params")
    expect_error(None, g.step, "adam")
    arrays = regula.Optimizer("sgd", lr=0.1)
    w, gw = np.ones(3), np.ones(3)
    arrays.step([w], [gw])
    expect_error(2, g.step, arrays)                                   # already steps caller arrays
    assert isinstance(E("x"), ValueError)


def test_float32_products_match_float64_within_float32_rounding():
    rng = np.random.default_rng(3)
    x_val, labels = rng.standard_normal((16, 20)), rng.integers(0, 5, 16)
    grads = {}
    for precision in ("f64", "f32"):
        g = regula.Graph(seed=1, precision=precision)
        x, y = g.input(20), g.input(1)
        w1, b1 = g.parameter("w1", (32, 20), init="kaiming_normal"), g.parameter("b1", (32,))
        w2 = g.parameter("w2", (5, 32), init="xavier_normal")
        h = g.activation(g.linear(x, w1, b1), "tanh")
        g.minimize(g.op("softmax_cross_entropy", g.linear(h, w2), y))
        g.feed({x: x_val, y: labels})
        g.forward()
        g.backward()
        grads[precision] = np.concatenate([g.gradient(n).ravel() for n in g.parameter_nodes().values()])
    scale = np.abs(grads["f64"]).max()
    assert np.abs(grads["f32"] - grads["f64"]).max() < 1e-5 * scale
    assert np.abs(grads["f32"] - grads["f64"]).max() > 0  # the products really ran in float32
    with pytest.raises(regula.RegulaError):
        regula.Graph(precision="f16")
