"""regula.Sequential + regula.Trainer (rg_trainer_*): a digits fit, step/evaluate/predict agreeing
with each other, save -> load, the spec the binding builds, and hostile inputs as RegulaError."""
import pathlib

import numpy as np
import pytest

import regula

ROOT = pathlib.Path(__file__).resolve().parents[3]
RG_ERR_INVALID_ARGUMENT, RG_ERR_UNKNOWN_ID, RG_ERR_UNKNOWN_PARAMETER, RG_ERR_PARAMETER = 2, 3, 4, 5
RG_ERR_SHAPE, RG_ERR_DTYPE, RG_ERR_NONFINITE, RG_ERR_UNSUPPORTED, RG_ERR_IO = 6, 7, 8, 9, 14


@pytest.fixture(scope="module")
def digits():
    table = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",")
    x, y = table[:, :-1] / 16.0, table[:, -1].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    te, tr = order[:360], order[360:]
    return x[tr], y[tr], x[te], y[te]


def small(**kw):
    options = dict(lr=1e-2, schedule="constant", seed=0)
    options.update(kw)
    return regula.Trainer(regula.Sequential(4, 3, widths=(8,)), **options)


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 4))
    x[np.arange(n), y] += 3
    return x, y


def test_fit_digits_reaches_95_percent(digits):
    xtr, ytr, xte, yte = digits
    model = regula.Sequential(64, 10, widths=(128,))
    trainer = regula.Trainer(model, loss="softmax_cross_entropy:label_smoothing=0.05",
                             penalties={"l2@layer*.weight": 1e-4}, optimizer="adamw", lr=3e-3,
                             epochs=12, batch=32, seed=0)
    seen = []
    history = trainer.fit(xtr, ytr, callback=lambda epoch, loss: seen.append(epoch))
    assert seen == list(range(1, 13)) and len(history) == 12
    assert history[-1] < history[0]
    m = trainer.evaluate(xte, yte)
    assert m["accuracy"] >= 0.95, m
    assert m["count"] == len(yte) and 0 <= m["ece"] <= 1 and m["nll"] > 0


def test_callback_returning_false_stops():
    x, y = blobs()
    t = small(epochs=5)
    assert len(t.fit(x, y, callback=lambda e, loss: e < 2)) == 2


def test_step_reduces_the_loss():
    x, y = blobs()
    t = small()
    first = t.step(x, y)
    for _ in range(40):
        last = t.step(x, y)
    assert last < 0.5 * first


def test_predict_agrees_with_evaluate():
    x, y = blobs(90, seed=1)
    t = small()
    t.fit(x, y, epochs=3, batch=16)
    p = t.predict(x)
    assert p.shape == (90, 3) and p.dtype == np.float64
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-12)
    m = t.evaluate(x, y)
    assert np.mean(p.argmax(axis=1) == y) == m["accuracy"]
    assert abs(-np.mean(np.log(p[np.arange(90), y])) - m["nll"]) < 1e-9
    p32 = t.predict(x.astype(np.float32))
    assert p32.dtype == np.float32 and np.max(np.abs(p32 - p)) < 1e-5
    # strided and Fortran-ordered inputs give what a contiguous copy gives
    wide = np.zeros((90, 8))
    wide[:, ::2] = x
    np.testing.assert_array_equal(t.predict(wide[:, ::2]), p)
    np.testing.assert_array_equal(t.predict(np.asfortranarray(x)), p)
    assert t.predict(np.empty((0, 4))).shape == (0, 3)
    # labels as int32, float holding integers, or a list
    assert t.evaluate(x, y.astype(np.int32)) == m == t.evaluate(x, y.astype(np.float64)) == t.evaluate(x, list(y))


def test_save_then_load_predicts_identically(tmp_path):
    x, y = blobs(60, seed=2)
    a = regula.Trainer(regula.Sequential(4, 3, widths=(6, 5), layer_norm=True), lr=1e-2, epochs=2, seed=1)
    a.fit(x, y)
    path = tmp_path / "model.rgp"
    a.save(path)
    b = regula.Trainer(regula.Sequential(4, 3, widths=(6, 5), layer_norm=True), seed=2)
    assert not np.array_equal(b.predict(x), a.predict(x))
    b.load(str(path))
    np.testing.assert_array_equal(b.predict(x), a.predict(x))
    other = regula.Trainer(regula.Sequential(4, 3, widths=(7,)), seed=2)
    before = other.predict(x)
    with pytest.raises(regula.RegulaError) as e:
        other.load(path)
    assert e.value.status in (RG_ERR_SHAPE, RG_ERR_IO)
    np.testing.assert_array_equal(other.predict(x), before)
    (tmp_path / "junk.rgp").write_text("not a parameter file")
    for bad in (tmp_path / "junk.rgp", tmp_path / "missing.rgp"):
        with pytest.raises(regula.RegulaError) as e:
            b.load(bad)
        assert e.value.status == RG_ERR_IO
    with pytest.raises(regula.RegulaError) as e:
        a.save(tmp_path / "no" / "such" / "dir.rgp")
    assert e.value.status == RG_ERR_IO


def test_the_spec_the_binding_builds():
    t = regula.Trainer(regula.Sequential(4, 3, widths=(16, 8), dropout=0.1, layer_norm=True),
                       loss="softmax_cross_entropy:label_smoothing=0.1",
                       penalties={"l2@layer*.weight": 1e-4, "elastic_net": {"strength": 1e-4, "l1_ratio": 0.5},
                                  "l1-prox@output.weight": 1e-5},
                       feature_penalties="least_volume=1e-3", transforms=[{"sam": {"rho": 0.05}}, "clip_global_norm"],
                       groups=["output:lr_scale=0.5"], optimizer="adamw", lr=1e-3, weight_decay=0.02,
                       warmup=3, epochs=7, batch=16, seed=4, total_steps=50)
    items = t.spec.split(";")
    for want in ["widths=16,8", "dropout=0.1", "layer_norm=true", "loss=softmax_cross_entropy:label_smoothing=0.1",
                 "penalty=l2=0.0001@layer*.weight", "penalty=elastic_net:strength=0.0001,l1_ratio=0.5",
                 "penalty=l1-prox=1e-05@output.weight", "feature_penalty=least_volume=1e-3",
                 "transform=sam:rho=0.05", "transform=clip_global_norm", "group=output:lr_scale=0.5",
                 "optimizer=adamw", "lr=0.001", "weight_decay=0.02", "warmup=3", "epochs=7", "batch=16",
                 "seed=4", "total_steps=50"]:
        assert want in items, (want, t.spec)
    assert regula.Sequential(4, 3, widths=()).spec_items()[0] == "widths=none"
    x, y = blobs()
    assert np.isfinite(t.step(x, y))  # total_steps given: the cosine schedule needs no fit


def status_of(call):
    with pytest.raises(regula.RegulaError) as e:
        call()
    return e.value.status


HOSTILE_NEW = [
    (lambda: small(widht=3), RG_ERR_UNKNOWN_PARAMETER),
    (lambda: small(lr=-1.0), RG_ERR_PARAMETER),
    (lambda: small(lr=float("nan")), RG_ERR_PARAMETER),
    (lambda: small(optimizer="lbfgs"), RG_ERR_PARAMETER),
    (lambda: small(loss="no_such_loss"), RG_ERR_UNKNOWN_ID),
    (lambda: small(penalties={"no_such": 1.0}), RG_ERR_UNKNOWN_ID),
    (lambda: small(penalties={"l2@nothing*": 1.0}), RG_ERR_INVALID_ARGUMENT),
    (lambda: small(transforms=["sam:radius=1"]), RG_ERR_UNKNOWN_PARAMETER),
    (lambda: small(transforms=["pseudo_label_mixup"]), RG_ERR_UNSUPPORTED),
    (lambda: small(transforms=["sam", "amp"]), RG_ERR_INVALID_ARGUMENT),
    (lambda: regula.Trainer(regula.Sequential(4, 3, widths=(70000,))), RG_ERR_PARAMETER),
    (lambda: regula.Trainer(regula.Sequential(1 << 16, 3, widths=(65536, 65536))), RG_ERR_INVALID_ARGUMENT),
]


@pytest.mark.parametrize("case", range(len(HOSTILE_NEW)))
def test_hostile_configurations(case):
    call, status = HOSTILE_NEW[case]
    assert status_of(call) == status


@pytest.mark.parametrize("call", [
    lambda: regula.Sequential(0, 3), lambda: regula.Sequential(4, 1), lambda: regula.Sequential(4, 3, widths=(0,)),
    lambda: regula.Sequential(4, 3, widths=("a",)), lambda: regula.Sequential(4.5, 3),
    lambda: regula.Trainer("not a model"), lambda: small(loss="a;b"), lambda: small(penalties={"l2": "big"}),
    lambda: small(penalties=[3]), lambda: small(transforms=[3]), lambda: small(epochs=0), lambda: small(batch=-1),
    lambda: small(momentum=object()),
])
def test_hostile_arguments_in_python(call):
    status_of(call)


@pytest.fixture
def trained():
    x, y = blobs()
    t = small()
    t.step(x, y)
    return t, x, y


HOSTILE_CALLS = [
    (lambda t, x, y: t.step(x[:, :3], y), RG_ERR_SHAPE),
    (lambda t, x, y: t.step(x[0], y[:1]), RG_ERR_SHAPE),
    (lambda t, x, y: t.step(x, y[:-1]), RG_ERR_SHAPE),
    (lambda t, x, y: t.step(np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x), y), RG_ERR_NONFINITE),
    (lambda t, x, y: t.step(np.full_like(x, np.inf), y), RG_ERR_NONFINITE),
    (lambda t, x, y: t.step(x, np.full_like(y, 3)), RG_ERR_INVALID_ARGUMENT),
    (lambda t, x, y: t.step(x, -y - 1), RG_ERR_INVALID_ARGUMENT),
    (lambda t, x, y: t.step(x, y + 0.5), RG_ERR_INVALID_ARGUMENT),
    (lambda t, x, y: t.step(x, np.where(y == 0, np.nan, y)), RG_ERR_NONFINITE),
    (lambda t, x, y: t.step(x, np.full(y.shape, np.iinfo(np.int64).max)), RG_ERR_INVALID_ARGUMENT),
    (lambda t, x, y: t.step(x[:0], y[:0]), RG_ERR_INVALID_ARGUMENT),
    (lambda t, x, y: t.evaluate(x[:0], y[:0]), RG_ERR_INVALID_ARGUMENT),
    (lambda t, x, y: t.evaluate(x, y[:5]), RG_ERR_SHAPE),
    (lambda t, x, y: t.predict(x[:, :2]), RG_ERR_SHAPE),
    (lambda t, x, y: t.predict(np.ones(4)), RG_ERR_SHAPE),
    (lambda t, x, y: t.plan(0, 3), None),
    (lambda t, x, y: t.step(x.astype(np.float16), y), None),
    (lambda t, x, y: t.step(x.astype(np.complex128), y), None),
    (lambda t, x, y: t.step(x.astype(np.int64), y), None),
    (lambda t, x, y: t.fit(x, y[:-1]), None),
    (lambda t, x, y: t.fit(x[:0], y[:0]), None),
    (lambda t, x, y: t.fit(x, y, epochs=0), None),
    (lambda t, x, y: t.fit(x, y, batch=0), None),
    (lambda t, x, y: t.save("/nonexistent-dir/model.rgp"), RG_ERR_IO),
]


@pytest.mark.parametrize("case", range(len(HOSTILE_CALLS)))
def test_hostile_calls_leave_the_model(trained, case):
    t, x, y = trained
    before = t.predict(x)
    call, status = HOSTILE_CALLS[case]
    got = status_of(lambda: call(t, x, y))
    if status is not None:
        assert got == status
    np.testing.assert_array_equal(t.predict(x), before)


def test_cosine_without_a_length_needs_a_plan():
    x, y = blobs()
    t = regula.Trainer(regula.Sequential(4, 3, widths=(8,)), seed=0)
    assert status_of(lambda: t.step(x, y)) == RG_ERR_INVALID_ARGUMENT
    t.plan(4, 2)
    assert np.isfinite(t.step(x, y))
    u = regula.Trainer(regula.Sequential(4, 3, widths=(8,)), seed=0, epochs=2, batch=20)
    assert len(u.fit(x, y)) == 2  # fit plans from the data (3 steps per epoch)
