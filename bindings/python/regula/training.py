"""The convenience training level (rg_trainer_*): a Sequential model and a Trainer that owns
it, its loss, penalties, transforms and optimizer::

    model = regula.Sequential(64, 10, widths=(128,), dropout=0.1)
    trainer = regula.Trainer(model, loss="softmax_cross_entropy:label_smoothing=0.1",
                             penalties={"l2@layer*.weight": 1e-4, "l1-prox@output.weight": 1e-4},
                             transforms=["sam:rho=0.05"], optimizer="adamw", lr=3e-3,
                             epochs=10, batch=32, seed=0)
    trainer.fit(x_train, y_train)            # Python loop over shuffled batches calling step
    trainer.evaluate(x_test, y_test)         # {"accuracy", "nll", "ece", "count"}
    p = trainer.predict(x_test)              # softmax probabilities (rows, classes), x's dtype
    trainer.save("digits.rgp"); other.load("digits.rgp")

Everything becomes one spec string for ``rg_trainer_new`` (``trainer.spec``): the library parses
and validates it, so unknown options and bad values raise RegulaError with its message.
"""
import operator
import os
from ctypes import byref, c_double, c_void_p

import numpy as np

from . import RegulaError, _L, _Slot, _check, _format_param, _lib, _prepare

__all__ = ["Sequential", "Trainer"]


def _item(key, value):
    """One "key=value" item of a spec; values may not contain ';' (the item separator)."""
    if isinstance(value, (bool, np.bool_)):
        text = "true" if value else "false"
    elif isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, (float, np.floating)):
        text = repr(float(value))
    elif isinstance(value, str):
        text = value
    else:
        raise RegulaError(f"{key}: unsupported value type {type(value).__name__}")
    if ";" in text:
        raise RegulaError(f"{key}: value {text!r} may not contain ';'")
    return f"{key}={text}"


def _component(ident, params):
    """"id" or "id:name=value,..." from an id and a dict of parameters."""
    if not params:
        return ident
    return ident + ":" + ",".join(_format_param(k, v) for k, v in params.items())


def _specs(value, what, from_dict):
    """Spec strings from a string, a dict (each item through ``from_dict``), or a list of both."""
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        value = [value]
    out = []
    for v in value:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            out += [from_dict(k, x) for k, x in v.items()]
        else:
            raise RegulaError(f"{what}: expected spec strings or dicts, not {type(v).__name__}")
    return out


def _penalty_spec(key, value):
    """{"id[@pattern]": strength} or {"id[@pattern]": {params}} -> "id=strength[@pattern]"."""
    ident, at, pattern = str(key).partition("@")
    if isinstance(value, dict):
        text = _component(ident, value)
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        text = f"{ident}={float(value)!r}"
    else:
        raise RegulaError(f"penalty {key!r}: give a strength or a dict of parameters, not {value!r}")
    return text + at + pattern


def _count(value, what, low):
    try:
        n = operator.index(value)
    except TypeError:
        raise RegulaError(f"{what} must be an integer, not {type(value).__name__}") from None
    if n < low:
        raise RegulaError(f"{what} = {n} must be >= {low}")
    return n


class Sequential:
    """An MLP classifier: ``features`` inputs → hidden ``widths`` (each linear, optional layer
    norm, activation, dropout) → ``classes`` logits. Parameter names: ``layerN.weight``,
    ``layerN.bias``, ``layerN.norm.gain``/``.bias``, ``output.weight``, ``output.bias``.
    ``activation`` is relu, gelu, tanh, identity or a registered map id (``"entmax15"``)."""

    def __init__(self, features, classes, widths=(256,), activation="relu", dropout=0.0,
                 layer_norm=False, residual=False, gaussian_noise=0.0, gaussian_dropout=0.0,
                 quant_bits=None, quant_mode=None):
        self.features = _count(features, "features", 1)
        self.classes = _count(classes, "classes", 2)
        self.widths = tuple(_count(w, "widths", 1) for w in widths)
        self.options = {"activation": activation, "dropout": dropout, "layer_norm": layer_norm,
                        "residual": residual, "gaussian_noise": gaussian_noise,
                        "gaussian_dropout": gaussian_dropout, "quant_bits": quant_bits,
                        "quant_mode": quant_mode}

    def spec_items(self):
        items = [_item("widths", ",".join(map(str, self.widths)) or "none")]
        items += [_item(k, v) for k, v in self.options.items() if v is not None]
        return items

    def __repr__(self):
        return f"regula.Sequential({self.features}, {self.classes}, widths={self.widths})"


class Trainer:
    """A model with its objective and optimizer, trained batch by batch.

    ``loss``/``output_map``: "id" or "id:name=value,..." of registered components.
    ``penalties``: {"l2": 1e-4}, {"l2@layer*.weight": 1e-4, "l1-prox@output.weight": 1e-4},
    {"elastic_net": {"strength": 1e-4, "l1_ratio": 0.3}}, or a list of spec strings
    ("l2=1e-4@layer*.weight", "l1-prox:strength=1e-4@output.weight"). Without "@pattern" a penalty
    acts on every weight matrix; a pattern is a glob on parameter names. ``feature_penalties`` act
    on the penultimate features. ``transforms``: specs such as "sam:rho=0.05", "mixup:alpha=0.2",
    "clip_global_norm:max_norm=1" (or {"sam": {"rho": 0.05}}). ``groups``: "pattern:lr_scale=0.1".
    ``optimizer``: adam, adamw, sgd; other keyword options are spec keys (momentum, nesterov,
    beta1, beta2, eps, weight_decay, schedule, warmup, step_every, step_gamma); None leaves the
    library's default. ``epochs``/``batch`` are fit's defaults; ``fit`` plans the schedule from the
    data unless ``total_steps`` is given (needed by cosine/step schedules when only ``step`` is
    used). One thread at a time per trainer.
    """

    def __init__(self, model, loss=None, output_map=None, penalties=None, feature_penalties=None,
                 transforms=(), groups=(), optimizer=None, lr=None, epochs=40, batch=32, seed=0,
                 total_steps=None, **options):
        if not isinstance(model, Sequential):
            raise RegulaError(f"model must be a regula.Sequential, not {type(model).__name__}")
        self.model = model
        self.epochs = _count(epochs, "epochs", 1)
        self.batch = _count(batch, "batch", 1)
        self.seed = _count(seed, "seed", 0)
        self.total_steps = None if total_steps is None else _count(total_steps, "total_steps", 1)
        items = model.spec_items()
        named = {"loss": loss, "output_map": output_map, "optimizer": optimizer, "lr": lr,
                 "epochs": self.epochs, "batch": self.batch, "seed": self.seed,
                 "total_steps": self.total_steps, **options}
        items += [_item(k, v) for k, v in named.items() if v is not None]
        items += [_item("penalty", p) for p in _specs(penalties, "penalties", _penalty_spec)]
        items += [_item("feature_penalty", p) for p in _specs(feature_penalties, "feature_penalties", _penalty_spec)]
        items += [_item("transform", t) for t in _specs(transforms, "transforms", lambda k, v: _component(k, v or {}))]
        items += [_item("group", g) for g in ([groups] if isinstance(groups, str) else groups)]
        self.spec = ";".join(items)
        h = c_void_p()
        _check(_L.rg_trainer_new(model.features, model.classes, self.spec.encode(), byref(h)))
        self._h = h
        self._x, self._y, self._o = _Slot(), _Slot(), _Slot()
        self._loss, self._metrics = c_double(), _lib.rg_metrics()
        self._planned = False
        self._rng = np.random.default_rng(self.seed)  # fit's batch order

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            _L.rg_trainer_free(h)
            self._h = None

    def __repr__(self):
        return f"regula.Trainer({self.model!r}, spec={self.spec!r})"

    def plan(self, steps_per_epoch, epochs):
        """Fixes the run's length for the schedule and the epoch counter (fit does it itself)."""
        _check(_L.rg_trainer_plan(self._h, _count(steps_per_epoch, "steps_per_epoch", 1), _count(epochs, "epochs", 1)))
        self._planned = True

    def step(self, x, y):
        """One optimizer step on a batch x (rows, features) with integer labels y (rows,);
        returns the objective before the step."""
        xa, ya = _prepare(x, "x"), _prepare(y, "labels", allow_int=True)
        _check(_L.rg_trainer_step(self._h, self._x.set(xa), self._y.set(ya), byref(self._loss)))
        return self._loss.value

    def fit(self, x, y, epochs=None, batch=None, callback=None):
        """Trains ``epochs`` epochs (default: the trainer's) over seeded shuffles of (x, y) in
        batches of ``batch``, calling ``step``. ``callback(epoch, mean_loss)`` runs after each
        epoch (1-based); returning False stops. Returns the epochs' mean losses."""
        xa, ya = _prepare(x, "x"), _prepare(y, "labels", allow_int=True)
        if xa.ndim != 2 or ya.ndim < 1 or ya.shape[0] != xa.shape[0]:
            raise RegulaError(f"fit needs x (rows, features) and one label per row; got {xa.shape} and {ya.shape}")
        n = xa.shape[0]
        if n == 0:
            raise RegulaError("fit needs at least one row")
        epochs = self.epochs if epochs is None else _count(epochs, "epochs", 1)
        batch = self.batch if batch is None else _count(batch, "batch", 1)
        if not self._planned and self.total_steps is None:
            self.plan(-(-n // batch), epochs)
        history = []
        for epoch in range(1, epochs + 1):
            order = self._rng.permutation(n)
            total = 0.0
            for b0 in range(0, n, batch):
                idx = order[b0:b0 + batch]
                total += self.step(xa[idx], ya[idx]) * len(idx)
            history.append(total / n)
            if callback is not None and callback(epoch, history[-1]) is False:
                break
        return history

    def evaluate(self, x, y):
        """{"accuracy", "nll", "ece" (15 bins), "count"} of the eval-mode model on (x, y)."""
        xa, ya = _prepare(x, "x"), _prepare(y, "labels", allow_int=True)
        m = self._metrics
        _check(_L.rg_trainer_evaluate(self._h, self._x.set(xa), self._y.set(ya), byref(m)))
        return {"accuracy": m.accuracy, "nll": m.nll, "ece": m.ece, "count": m.count}

    def predict(self, x):
        """Softmax probabilities (rows, classes) of the eval-mode model, in x's dtype."""
        xa = _prepare(x, "x")
        rows = xa.shape[0] if xa.ndim == 2 else 0
        out = np.empty((rows, self.model.classes), dtype=xa.dtype)
        _check(_L.rg_trainer_predict(self._h, self._x.set(xa), self._o.set(out)))
        return out

    def save(self, path):
        """Saves the parameters (not the optimizer state) to ``path``."""
        _check(_L.rg_trainer_save(self._h, os.fsencode(path)))

    def load(self, path):
        """Loads parameters saved from a trainer with the same model; nothing changes on error."""
        _check(_L.rg_trainer_load(self._h, os.fsencode(path)))
