"""Regula: the regularization literature as one verified library (Python binding).

A thin ctypes layer over libregula.so (include/regula.h):

    import regula, numpy as np
    p = regula.penalty("l1", strength=1e-3)
    v, g = p.value_and_grad(np.ones((4, 3)))
    x = p.prox(np.ones((4, 3)), step=0.1)
    l = regula.loss("softmax_cross_entropy", label_smoothing=0.1)
    v, g = l.value_and_grad(logits, labels)
    y = regula.output_map("sparsemax")(logits)
    g = regula.Graph(seed=0)            # a model as an autodiff graph (regula.graph)
    trainer = regula.Trainer(regula.Sequential(64, 10, widths=(128,)), penalties={"l2": 1e-4})
    trainer.fit(x, y); trainer.evaluate(x_test, y_test)      # the model runs inside libregula

Every error raises ``regula.RegulaError`` (a ValueError) with the library's message.
"""
import ctypes
import json
import threading
from ctypes import byref, c_char_p, c_double, c_int64, c_void_p

import numpy as np

from . import _lib

__all__ = ["RegulaError", "components", "describe", "penalty", "loss", "output_map",
           "load_plugin", "register_penalty", "library_path", "Penalty", "Loss", "OutputMap",
           "Optimizer", "Graph", "Node", "Sequential", "Trainer"]

__version__ = "0.1.0"

_L, library_path = _lib.load()
_F = _L.fast  # unchecked-argument twins of the hot calls: pass exact ctypes objects only
_Z64 = c_int64(0)


class RegulaError(ValueError):
    """An error reported by Regula; ``status`` is the C status code."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


# Exceptions raised inside Python callbacks, re-raised (chained) by the call that ran them.
_callback_error = threading.local()


def _check(status):
    if status != _lib.RG_OK:
        message = (_L.rg_last_error() or b"").decode("utf-8", "replace")
        cause = getattr(_callback_error, "exc", None)
        _callback_error.exc = None
        if status == _lib.RG_ERR_CALLBACK and cause is not None:
            raise RegulaError(message, status) from cause
        raise RegulaError(message, status)


# ----------------------------------------------------------------------------------------------
# Arrays: NumPy (or anything numpy.asarray / from_dlpack accepts) -> rg_array views, no copy when
# the input is already native-endian, aligned and C-contiguous.

_FLOAT_CODES = {np.dtype(np.float32): _lib.RG_FLOAT32, np.dtype(np.float64): _lib.RG_FLOAT64}
_ALL_CODES = {**_FLOAT_CODES, np.dtype(np.int32): _lib.RG_INT32, np.dtype(np.int64): _lib.RG_INT64}


def _asarray(x):
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except (TypeError, RuntimeError, ValueError):
        if hasattr(x, "__dlpack__"):
            return np.from_dlpack(x)
        raise


def _prepare(x, what, allow_int=False):
    if type(x) is np.ndarray and x.dtype in _FLOAT_CODES and x.flags.carray:
        return x  # fast path: native float array, C-contiguous and aligned
    a = _asarray(x)
    dt = a.dtype
    if dt.byteorder not in ("=", "|"):
        dt = dt.newbyteorder("=")
    codes = _ALL_CODES if allow_int else _FLOAT_CODES
    if np.dtype(dt) not in codes:
        if allow_int and a.dtype.kind in "iub":  # other integer widths and boolean masks
            a = a.astype(np.int64)
            dt = a.dtype
        else:
            allowed = "float32, float64, int32 or int64" if allow_int else "float32 or float64"
            raise RegulaError(f"{what}: dtype {a.dtype} is not supported ({allowed})")
    if not (a.flags.c_contiguous and a.flags.aligned and a.dtype == dt):
        a = np.ascontiguousarray(a, dtype=dt)  # one copy: big-endian, misaligned or strided
    return a


_PTR64 = ctypes.POINTER(c_int64)
_addressof, _c_char = ctypes.addressof, ctypes.c_char


class _Slot:
    """A reusable rg_array (struct and shape buffer): filling it costs a few field stores, so a
    call on small arrays stays in the microseconds. One per argument position per handle;
    handles are used by one thread at a time (the C ABI's rule)."""
    __slots__ = ("struct", "ref", "_shape", "array", "_dims")

    def __init__(self):
        self._shape = (c_int64 * 8)()
        self.struct = _lib.rg_array(None, 0, 0, ctypes.cast(self._shape, _PTR64), None)
        self.ref = byref(self.struct)
        self.array = self._dims = None

    def set(self, a):
        # The same array object again (a reused buffer or parameter): its data pointer cannot
        # have moved while we hold a reference, so only the shape needs checking.
        if a is self.array and a.shape == self._dims:
            return self.ref
        st, shape = self.struct, self._shape
        try:  # the cheapest way to the data pointer of a writeable array
            st.data = _addressof(_c_char.from_buffer(a)) if a.size else a.ctypes.data
        except (TypeError, ValueError, BufferError):
            st.data = a.ctypes.data  # read-only arrays
        st.dtype = _ALL_CODES[a.dtype]
        st.ndim = nd = a.ndim
        if nd > 8:
            raise RegulaError(f"rank {nd} is above the limit of 8")
        for i, d in enumerate(a.shape):
            shape[i] = d
        self.array, self._dims = a, a.shape  # keeps the memory alive until the next set
        return self.ref


class _View(_Slot):
    """A one-off rg_array over a NumPy array."""
    __slots__ = ()

    def __init__(self, a):
        super().__init__()
        self.set(a)


def _view(x, what, allow_int=False):
    return _View(_prepare(x, what, allow_int))


def _named(arrays, what):
    """dict name -> array as an rg_named_array[] (and the views that keep it alive)."""
    if not arrays:
        return None, _Z64, ()
    views = [(k.encode(), _view(v, f"{what} '{k}'", allow_int=True)) for k, v in arrays.items()]
    items = (_lib.rg_named_array * len(views))()
    for i, (name, v) in enumerate(views):
        items[i].name = name
        items[i].array = v.struct
    return items, c_int64(len(views)), views


def _output(out, shape, dtype, what):
    if out is None:
        return np.empty(shape, dtype=dtype)
    if type(out) is not np.ndarray or out.shape != shape or out.dtype != dtype or not out.flags.carray \
            or not out.flags.writeable:
        raise RegulaError(f"{what}: out= must be a writeable C-contiguous {dtype} array of shape {tuple(shape)}")
    return out


def _format_param(name, v):
    if isinstance(v, (bool, np.bool_)):
        return f"{name}={'true' if v else 'false'}"
    if isinstance(v, (int, np.integer)):
        return f"{name}={int(v)}"
    if isinstance(v, (float, np.floating)):
        return f"{name}={float(v)!r}"
    if isinstance(v, str):
        if "," in v or "=" in v:
            raise RegulaError(f"parameter {name}: value {v!r} may not contain ',' or '='")
        return f"{name}={v}"
    raise RegulaError(f"parameter {name}: unsupported value type {type(v).__name__}")


def _split_params(params):
    """Scalars become the parameter string; arrays become fixed data."""
    text, data = [], {}
    for k, v in params.items():
        if isinstance(v, (np.ndarray, list, tuple)) or hasattr(v, "__array__") or hasattr(v, "__dlpack__"):
            data[k] = v
        else:
            text.append(_format_param(k, v))
    return ",".join(text).encode(), data


# ----------------------------------------------------------------------------------------------
# Registry

def components(kind=None):
    """Sorted ids of the registered components, optionally of one kind
    ("penalty", "loss", "map", "activation", "transform"). Transforms are described here and
    used through ``Optimizer(transforms=[...])``."""
    n = c_int64()
    _check(_L.rg_component_count(byref(n)))
    ids = []
    for i in range(n.value):
        p = c_char_p()
        _check(_L.rg_component_id(i, byref(p)))
        ids.append(p.value.decode())
    if kind is None:
        return ids
    return [i for i in ids if describe(i)["kind"] == kind]


def describe(component_id):
    """A dict: id, kind, summary, params [{name,type,default,min,max}], inputs, reference,
    formula, confidence, notes, has_prox, has_vjp."""
    out = c_char_p()
    _check(_L.rg_describe(component_id.encode(), byref(out)))
    return json.loads(out.value.decode())


class _Handle:
    _new = _free = None
    kind = ""

    def __init__(self, component_id, **params):
        text, data = _split_params(params)
        items, n, keep = _named(data, "data")
        h = c_void_p()
        _check(self._new_with(component_id.encode(), text, items, n, byref(h)))
        self._h = h
        self.id = component_id
        self.params = dict(params)

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            type(self)._free(h)
            self._h = None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if not isinstance(v, np.ndarray))
        return f"regula.{self.kind}({self.id!r}{', ' if args else ''}{args})"


class Penalty(_Handle):
    """A configured penalty: value, exact gradient and (when it has one) prox."""
    kind = "penalty"
    _new_with = staticmethod(_L.rg_penalty_new_with)
    _free = staticmethod(_L.rg_penalty_free)

    def __init__(self, component_id, **params):
        super().__init__(component_id, **params)
        self._x, self._o, self._v = _Slot(), _Slot(), c_double()
        self._vref = byref(self._v)

    def value(self, w, **inputs):
        x = _prepare(w, "w")
        items, n, keep = _named(inputs, "input") if inputs else (None, _Z64, ())
        _check(_F.rg_penalty_eval(self._h, self._x.set(x), items, n, self._vref, None))
        return self._v.value

    def value_and_grad(self, w, out=None, **inputs):
        """(strength·R(w), strength·∇R(w)); the gradient goes into `out` when given."""
        x = _prepare(w, "w")
        g = _output(out, x.shape, x.dtype, "gradient")
        items, n, keep = _named(inputs, "input") if inputs else (None, _Z64, ())
        _check(_F.rg_penalty_eval(self._h, self._x.set(x), items, n, self._vref, self._o.set(g)))
        return self._v.value, g

    def value_and_grad_many(self, ws, out=None):
        """Σ_k strength·R(w_k) and the list of gradients, in one call (each tensor on its own)."""
        xs = [_prepare(w, f"ws[{k}]") for k, w in enumerate(ws)]
        outs = list(out) if out is not None else [np.empty_like(x) for x in xs]
        if len(outs) != len(xs):
            raise RegulaError(f"out has {len(outs)} arrays for {len(xs)} tensors")
        outs = [_output(o, x.shape, x.dtype, f"out[{k}]") for k, (o, x) in enumerate(zip(outs, xs))]
        n = len(xs)
        arr_in, arr_out = (_lib.rg_array * max(n, 1))(), (_lib.rg_array * max(n, 1))()
        keep = [(_View(x), _View(o)) for x, o in zip(xs, outs)]
        for k, (vx, vo) in enumerate(keep):
            arr_in[k], arr_out[k] = vx.struct, vo.struct
        _check(_L.rg_penalty_eval_many(self._h, arr_in, n, self._vref, arr_out))
        return self._v.value, outs

    def prox(self, w, step, out=None, **inputs):
        """prox_{t R}(w) with t = step·strength, as a new array (or into `out`)."""
        x = _prepare(w, "w")
        o = _output(out, x.shape, x.dtype, "prox")
        items, n, keep = _named(inputs, "input") if inputs else (None, _Z64, ())
        _check(_F.rg_penalty_prox(self._h, self._x.set(x), c_double(step), items, n, self._o.set(o)))
        return o

    def update(self, **state):
        """Advances a stateful penalty, e.g. ``update(step=100)``."""
        text, _ = _split_params(state)
        _check(_L.rg_penalty_update(self._h, text))


class Loss(_Handle):
    """A configured loss on logits (batch, classes) and labels or targets."""
    kind = "loss"
    _new_with = staticmethod(_L.rg_loss_new_with)
    _free = staticmethod(_L.rg_loss_free)

    def __init__(self, component_id, **params):
        super().__init__(component_id, **params)
        self._z, self._t, self._p, self._g = _Slot(), _Slot(), _Slot(), _Slot()
        self._v = c_double()
        self._vref = byref(self._v)
        self._none = params.get("reduction") == "none"

    def _eval(self, logits, labels, out, want_grad, inputs):
        z = _prepare(logits, "logits")
        t = None if labels is None else _prepare(labels, "labels", allow_int=True)
        per = pref = None
        if self._none:  # per-sample values are only materialised when they are the result
            rows = z.size // z.shape[-1] if z.ndim and z.shape[-1] else 0
            per = np.empty((rows,), dtype=z.dtype)
            pref = self._p.set(per)
        g = _output(out, z.shape, z.dtype, "gradient") if want_grad else None
        items, n, keep = _named(inputs, "input") if inputs else (None, _Z64, ())
        _check(_F.rg_loss_eval(self._h, self._z.set(z), None if t is None else self._t.set(t),
                               items, n, self._vref, pref, self._g.set(g) if want_grad else None))
        return (per if self._none else self._v.value), g

    def value(self, logits, labels=None, **inputs):
        """The reduced loss (reduction="none": the per-sample array)."""
        return self._eval(logits, labels, None, False, inputs)[0]

    def value_and_grad(self, logits, labels=None, out=None, **inputs):
        """(loss, ∂loss/∂logits); for reduction="none" the per-sample losses and the gradient
        of their sum."""
        return self._eval(logits, labels, out, True, inputs)

    def update(self, **state):
        """Advances a stateful loss, e.g. ``update(epoch=3)``."""
        text, _ = _split_params(state)
        _check(_L.rg_loss_update(self._h, text))


class OutputMap(_Handle):
    """A configured output map or activation, applied along the last axis."""
    kind = "output_map"
    _new_with = staticmethod(_L.rg_map_new_with)
    _free = staticmethod(_L.rg_map_free)

    def __init__(self, component_id, **params):
        super().__init__(component_id, **params)
        self._x, self._c, self._o = _Slot(), _Slot(), _Slot()

    def __call__(self, x, out=None, **inputs):
        a = _prepare(x, "x")
        o = _output(out, a.shape, a.dtype, "output")
        items, n, keep = _named(inputs, "input") if inputs else (None, _Z64, ())
        _check(_F.rg_map_forward(self._h, self._x.set(a), items, n, self._o.set(o)))
        return o

    forward = __call__

    def vjp(self, x, cotangent, out=None, **inputs):
        """J(x)ᵀ · cotangent."""
        a = _prepare(x, "x")
        c = _prepare(cotangent, "cotangent")
        o = _output(out, a.shape, a.dtype, "vjp")
        items, n, keep = _named(inputs, "input") if inputs else (None, _Z64, ())
        _check(_F.rg_map_vjp(self._h, self._x.set(a), self._c.set(c), items, n, self._o.set(o)))
        return o

    def update(self, **state):
        """Advances a stateful map, e.g. ``update(step=3)``."""
        text, _ = _split_params(state)
        _check(_L.rg_map_update(self._h, text))


def penalty(component_id, **params):
    """A penalty by id; scalar keywords are parameters, array keywords fixed data."""
    return Penalty(component_id, **params)


def loss(component_id, **params):
    return Loss(component_id, **params)


def output_map(component_id, **params):
    return OutputMap(component_id, **params)


# ----------------------------------------------------------------------------------------------
# Plugins and Python-defined components

def load_plugin(path):
    """Loads a plugin shared library and registers its components."""
    _check(_L.rg_plugin_load(str(path).encode()))


_keepalive = []  # descriptors and callbacks registered from Python live for the process


def _numpy_view(arr_ptr):
    a = arr_ptr.contents
    shape = tuple(a.shape[i] for i in range(a.ndim))
    n = int(np.prod(shape)) if shape else 1
    buf = (ctypes.c_double * max(n, 1)).from_address(a.data) if n else None
    flat = np.frombuffer(buf, dtype=np.float64, count=n) if n else np.empty(0)
    return flat.reshape(shape)


def register_penalty(component_id, value_and_grad, prox=None, params=None, summary="",
                     reference="", formula=""):
    """Registers a penalty written in Python.

    ``value_and_grad(w, **params) -> (float, ndarray)`` computes the unscaled R(w) and its
    gradient (Regula applies ``strength``); ``prox(v, t, **params) -> ndarray`` is optional.
    ``params`` maps names to defaults (floats), or to ``(default, min, max)``.
    Exceptions raised inside the functions surface as RegulaError (chained), never a crash.
    """
    params = dict(params or {})
    names = list(params)
    specs = (_lib.rg_param_spec * max(len(names), 1))()
    for i, name in enumerate(names):
        spec = params[name]
        default, lo, hi = (spec if isinstance(spec, tuple) else (spec, -np.inf, np.inf))
        specs[i] = _lib.rg_param_spec(name.encode(), _lib.RG_PARAM_REAL, float(default), float(lo),
                                      float(hi), None)
    states = {}
    error_text = ctypes.create_string_buffer(1024)

    def fail(exc):
        _callback_error.exc = exc
        msg = f"{type(exc).__name__}: {exc}".encode()[:1023]
        ctypes.memmove(error_text, msg + b"\0", len(msg) + 1)
        return 1

    @_lib.CREATE_FN
    def create(user, values, n, state):
        key = len(states) + 1
        while key in states:
            key += 1
        states[key] = {names[i]: values[i] for i in range(n)}
        state[0] = key
        return 0

    @_lib.DESTROY_FN
    def destroy(state):
        states.pop(state, None)

    @_lib.EVAL_FN
    def eval_fn(state, x, target, value, out):
        try:
            w = _numpy_view(x)
            v, g = value_and_grad(w.copy(), **states.get(state, {}))
            g = np.asarray(g, dtype=np.float64)
            if g.shape != w.shape:
                raise ValueError(f"gradient has shape {g.shape}, expected {w.shape}")
            value[0] = float(v)
            _numpy_view(out)[...] = g
            return 0
        except BaseException as exc:  # never let an exception cross into C
            return fail(exc)

    @_lib.PROX_FN
    def prox_fn(state, v, t, out):
        try:
            a = _numpy_view(v)
            r = np.asarray(prox(a.copy(), t, **states.get(state, {})), dtype=np.float64)
            if r.shape != a.shape:
                raise ValueError(f"prox returned shape {r.shape}, expected {a.shape}")
            _numpy_view(out)[...] = r
            return 0
        except BaseException as exc:
            return fail(exc)

    @_lib.ERROR_FN
    def error_message(state):
        return ctypes.addressof(error_text)

    table = (_lib.rg_component_table * 1)()
    table[0] = _lib.rg_component_table(
        ctypes.sizeof(_lib.rg_component_table), _lib.RG_KIND_PENALTY, component_id.encode(),
        (summary or f"Python penalty {component_id}").encode(), reference.encode(), formula.encode(),
        ctypes.cast(specs, ctypes.POINTER(_lib.rg_param_spec)), len(names), None,
        create, destroy, eval_fn, prox_fn if prox is not None else _lib.PROX_FN(), _lib.VJP_FN(),
        error_message)
    desc = _lib.rg_plugin_descriptor(ctypes.sizeof(_lib.rg_plugin_descriptor),
                                     _lib.RG_PLUGIN_ABI_VERSION, b"python", __version__.encode(),
                                     ctypes.cast(table, ctypes.POINTER(_lib.rg_component_table)), 1)
    _keepalive.append((specs, create, destroy, eval_fn, prox_fn, error_message, error_text, table,
                       desc, states, value_and_grad, prox))
    _check(_L.rg_plugin_register(byref(desc)))


# ----------------------------------------------------------------------------------------------
# Training: an optimizer with the catalogue's transforms (rg_optimizer_*).

class Optimizer:
    """A base optimizer ("sgd", "adam", "adamw") with training transforms, stepping NumPy arrays
    in place::

        opt = regula.Optimizer("adam", lr=1e-3, transforms=["clip_global_norm:max_norm=1", "sam:rho=0.05"])
        loss = opt.step(params, grads, grad_fn=lambda: compute_loss_and_fill(grads))

    ``params`` and ``grads`` are lists of writable, C-contiguous float32/float64 arrays of equal
    shapes. With ``grad_fn`` (a callable returning the loss after writing the gradient at the
    current contents of ``params`` into ``grads``) every gradient evaluation goes through it,
    which wrappers such as sam/amp need; without it ``grads`` must already hold the gradient.
    Weight decay and prox_step act on arrays of rank >= 2 only. Exceptions raised in
    ``grad_fn`` surface as RegulaError (chained); the parameters are then left unchanged.
    """

    def __init__(self, optimizer="adam", transforms=(), **params):
        text = ",".join(_format_param(k, v) for k, v in params.items())
        h = c_void_p()
        _check(_L.rg_optimizer_new(optimizer.encode(), text.encode(), ";".join(transforms).encode(), byref(h)))
        self._h = h
        self._slots = None

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            _L.rg_optimizer_free(h)
            self._h = None

    def step(self, params, grads, grad_fn=None):
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise RegulaError(f"{len(params)} parameter arrays but {len(grads)} gradient arrays")
        for i, a in enumerate(params + grads):
            if not (isinstance(a, np.ndarray) and a.flags.c_contiguous and a.flags.writeable):
                raise RegulaError(f"array {i}: parameters and gradients must be writable C-contiguous ndarrays")
            if a.dtype not in _FLOAT_CODES:
                raise RegulaError(f"array {i}: dtype {a.dtype} is not supported (float32 or float64)")
        n = len(params)
        ps, gs = (_lib.rg_array * max(n, 1))(), (_lib.rg_array * max(n, 1))()
        keep = [_View(a) for a in params + grads]
        for i in range(n):
            ps[i], gs[i] = keep[i].struct, keep[n + i].struct
        fn = _lib.GRAD_FN()
        if grad_fn is not None:
            @_lib.GRAD_FN
            def fn(ctx, loss):
                try:
                    loss[0] = float(grad_fn())
                    return 0
                except BaseException as exc:  # never let an exception cross into C
                    _callback_error.exc = exc
                    return 1
        loss = c_double()
        _check(_L.rg_optimizer_step(self._h, ps, gs, n, fn, None, byref(loss)))
        return loss.value


from .graph import Graph, Node  # noqa: E402  (graph.py builds on the definitions above)
# The convenience training level (rg_trainer_*): regula.Sequential + regula.Trainer.
from .training import Sequential, Trainer  # noqa: E402  (needs the helpers above)
