"""regula.Graph: the engine's autodiff graph (the rg_graph_* section of regula.h) from Python.

Build the model once, then feed each batch and run it; Python keeps the loop::

    g = regula.Graph(seed=0)
    x, y = g.input(64), g.input(1)
    w = g.parameter("fc.weight", (10, 64), init="kaiming_normal")
    b = g.parameter("fc.bias", (10,))
    loss = g.op("softmax_cross_entropy", g.linear(x, w, b), y, label_smoothing=0.1)
    g.minimize(loss)
    opt = regula.Optimizer("adam", lr=1e-3, transforms=["sam:rho=0.05"])
    for xb, yb in batches:
        g.feed({x: xb, y: yb})
        g.step(opt)                 # or: g.forward(); g.backward(); g.gradient(w)

A graph is used by one thread at a time.
"""
import os
from ctypes import byref, c_char_p, c_double, c_int32, c_int64, c_void_p

import numpy as np

from . import _lib
from . import RegulaError, Optimizer, _check, _format_param, _Handle, _L, _prepare, _View

_MAX_RANK = 8


class Node:
    """A node of one Graph (its index in build order). Nodes are only valid with their graph."""
    __slots__ = ("graph", "index")

    def __init__(self, graph, index):
        self.graph, self.index = graph, index

    def __repr__(self):
        return f"regula.Node({self.index})"

    def __eq__(self, other):
        return isinstance(other, Node) and other.graph is self.graph and other.index == self.index

    def __hash__(self):
        return hash((id(self.graph), self.index))

    @property
    def shape(self):
        """The shape of the node's value now (see Graph.shape)."""
        return self.graph.shape(self)


def _spec(spec, params):
    """"id" plus keyword parameters as "id:name=value,..." (a spec may already carry some)."""
    if not isinstance(spec, str):
        raise RegulaError(f"a spec must be a string, not {type(spec).__name__}")
    if not params:
        return spec
    text = ",".join(_format_param(k, v) for k, v in params.items())
    return f"{spec},{text}" if ":" in spec else f"{spec}:{text}"


class Graph:
    """A static reverse-mode autodiff graph: build nodes once, then feed/forward/backward per
    batch. Values and gradients are float64 inside; every error raises RegulaError."""

    def __init__(self, seed=0, precision="f64"):
        """precision: "f64", or "f32" for float32 matrix products in the linear layers."""
        h = c_void_p()
        _check(_L.rg_graph_new(_index(seed, "seed", lo=0, hi=2**64), byref(h)))
        self._h = h
        if precision != "f64":
            _check(_L.rg_graph_set_precision(h, _text(precision, "precision")))

    _free = staticmethod(_L.rg_graph_free)
    __del__ = _Handle.__del__

    # -- building ------------------------------------------------------------------------------

    def _node(self, node, what="node"):
        if not isinstance(node, Node):
            raise RegulaError(f"{what} must be a regula.Node, not {type(node).__name__}")
        if node.graph is not self:
            raise RegulaError(f"{what} {node.index} belongs to another graph")
        return node.index

    def _add(self, fn, *args):
        out = c_int64(-1)
        _check(fn(self._h, *args, byref(out)))
        return Node(self, out.value)

    def input(self, cols, grad=False):
        """A batch input of `cols` features per row (labels: cols=1). With grad=True,
        backward also computes the gradient with respect to it."""
        flags = _lib.RG_GRAPH_INPUT_GRAD if grad else 0
        return self._add(_L.rg_graph_input, _index(cols, "cols"), flags)

    def parameter(self, name, shape, init="zeros"):
        """A trainable parameter. init: "zeros", "constant:value=1", "normal:std=0.02",
        "uniform:bound=0.1", "kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform"."""
        shape = _shape(shape)
        dims = (c_int64 * max(len(shape), 1))(*shape)
        return self._add(_L.rg_graph_parameter, _text(name, "name"), dims, len(shape), _text(init, "init"))

    def linear(self, x, w, b=None):
        """x Wᵀ + b for x (rows, in), W (out, in), b (out) or None."""
        bias = -1 if b is None else self._node(b, "b")
        return self._add(_L.rg_graph_linear, self._node(x, "x"), self._node(w, "w"), bias)

    def embedding(self, ids, table):
        """Rows of table (vocab, dim) picked by the integer ids of `ids` (rows, 1)."""
        return self._add(_L.rg_graph_embedding, self._node(ids, "ids"), self._node(table, "table"))

    def activation(self, x, spec="relu", **params):
        """relu, gelu, tanh, identity, or a registered map/activation with its parameters."""
        return self._add(_L.rg_graph_activation, self._node(x, "x"), _text(_spec(spec, params), "spec"))

    def add(self, a, b):
        """a + b (same shapes)."""
        return self._add(_L.rg_graph_add, self._node(a, "a"), self._node(b, "b"))

    def mean(self, x):
        """The mean of every value of x, a scalar node (accumulated in float64)."""
        return self._add(_L.rg_graph_reduce, self._node(x, "x"), b"mean")

    def sum(self, x):
        """The sum of every value of x, a scalar node."""
        return self._add(_L.rg_graph_reduce, self._node(x, "x"), b"sum")

    def layer_norm(self, x, gain, bias, eps=1e-5):
        return self._add(_L.rg_graph_layer_norm, self._node(x, "x"), self._node(gain, "gain"),
                         self._node(bias, "bias"), _real(eps, "eps"))

    def noise(self, x, spec, **params):
        """A noise layer: "dropout" (p), "gaussian_noise" (sigma), "gaussian_dropout" (p),
        "quant_noise" (bits, uniform_noise); e.g. ``g.noise(h, "dropout", p=0.1)``."""
        return self._add(_L.rg_graph_noise, self._node(x, "x"), _text(_spec(spec, params), "spec"))

    def op(self, spec, *inputs, **kwargs):
        """A registered component as a node: a loss ``op("softmax_cross_entropy", scores, y)``,
        a map ``op("sparsemax", z)``, a penalty ``op("l2", w, strength=1e-4)`` whose per-call
        inputs are keyword Nodes (``op("neural_collapse_features", h, labels=y)``), or a
        transform with a graph form. Non-Node keywords are the component's parameters."""
        named = {k: v for k, v in kwargs.items() if isinstance(v, Node)}
        params = {k: v for k, v in kwargs.items() if not isinstance(v, Node)}
        nodes = [self._node(n, f"input {i}") for i, n in enumerate(inputs)]
        nodes += [self._node(v, f"input '{k}'") for k, v in named.items()]
        ids = (c_int64 * max(len(nodes), 1))(*nodes)
        names = None
        if named:
            if not nodes or len(inputs) != 1:
                raise RegulaError("named inputs follow exactly one positional input (the penalty's argument)")
            names = (c_char_p * len(named))(*[k.encode() for k in named])
        return self._add(_L.rg_graph_op, _text(_spec(spec, params), "spec"), ids, len(nodes), names)

    def minimize(self, node):
        """Adds a scalar node to the objective (the sum of the terms is minimised)."""
        _check(_L.rg_graph_minimize(self._h, self._node(node)))

    # -- running -------------------------------------------------------------------------------

    def feed(self, feeds):
        """Sets inputs from a dict {input Node: array (rows, cols) or (rows,) for cols=1}.
        Floats, or integers for labels and embedding ids; copied. All inputs of one batch
        must have the same number of rows."""
        if not isinstance(feeds, dict):
            raise RegulaError("feed takes a dict {input node: array}")
        for node, values in feeds.items():
            index = self._node(node)
            view = _View(_prepare(values, f"feed of node {index}", allow_int=True))
            _check(_L.rg_graph_feed(self._h, index, view.ref))

    def forward(self, training=True):
        """Runs the graph on the fed batch; returns the objective (0 without one).
        training=False turns dropout and noise layers off."""
        v = c_double()
        _check(_L.rg_graph_forward(self._h, 1 if training else 0, byref(v)))
        return v.value

    def backward(self):
        """Gradients of the objective for the last forward run."""
        _check(_L.rg_graph_backward(self._h))

    def shape(self, node):
        """The shape of a node's value now: rows of batch nodes are the latest feed's."""
        dims, rank = (c_int64 * _MAX_RANK)(), c_int32()
        _check(_L.rg_graph_node_shape(self._h, self._node(node), dims, byref(rank)))
        return tuple(dims[i] for i in range(rank.value))

    def _copy(self, fn, node, dtype):
        index = self._node(node)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise RegulaError(f"dtype {dtype} is not supported (float32 or float64)")
        out = np.empty(self.shape(node), dtype=dtype)
        _check(fn(self._h, index, _View(out).ref))
        return float(out) if out.ndim == 0 else out

    def value(self, node, dtype=np.float64):
        """A copy of the node's value (a float for scalar nodes)."""
        return self._copy(_L.rg_graph_value, node, dtype)

    def gradient(self, node, dtype=np.float64):
        """A copy of the objective's gradient with respect to the node, after backward."""
        return self._copy(_L.rg_graph_gradient, node, dtype)

    # -- parameters ----------------------------------------------------------------------------

    def parameter_nodes(self):
        """{name: Node} of every parameter, in creation order."""
        n = c_int64()
        _check(_L.rg_graph_parameter_count(self._h, byref(n)))
        out = {}
        for i in range(n.value):
            name, node = c_char_p(), c_int64()
            _check(_L.rg_graph_parameter_at(self._h, i, byref(name), byref(node)))
            out[name.value.decode()] = Node(self, node.value)
        return out

    def parameters(self):
        """{name: float64 ndarray copy} of every parameter."""
        return {name: self.value(node) for name, node in self.parameter_nodes().items()}

    def set_parameter(self, name, values):
        """Overwrites a parameter (by name or Node) with an array of its exact shape."""
        node = name if isinstance(name, Node) else self.parameter_nodes().get(name)
        if node is None:
            raise RegulaError(f"the graph has no parameter named {name!r}")
        view = _View(_prepare(values, f"values of {name!r}"))
        _check(_L.rg_graph_set_value(self._h, self._node(node), view.ref))

    def save(self, path):
        """Writes every parameter to a file (atomically)."""
        _check(_L.rg_graph_save(self._h, os.fsencode(path)))

    def load(self, path):
        """Reads parameters saved by save(): same names and shapes, or nothing changes."""
        _check(_L.rg_graph_load(self._h, os.fsencode(path)))

    def neighbors(self, node, y):
        """Neighbouring conditions y' for a lipschitz_generator node, drawn with the node's
        sampler (batch_knn or perturb) from the graph's random stream; feed them as its y'."""
        y = _prepare(y, "y")
        out = np.empty(y.shape, dtype=np.float64)
        _check(_L.rg_graph_neighbors(self._h, self._node(node), _View(y).ref, _View(out).ref))
        return out

    def step(self, optimizer):
        """One optimizer step on the graph's parameters, with training-mode forward/backward
        runs on the fed batch as the gradient function (so sam, amp, prox_step... work).
        Returns the objective before the step. The optimizer is bound to this graph for good."""
        if not isinstance(optimizer, Optimizer):
            raise RegulaError(f"step takes a regula.Optimizer, not {type(optimizer).__name__}")
        loss = c_double()
        _check(_L.rg_graph_step(self._h, optimizer._h, byref(loss)))
        return loss.value


def _index(v, what, lo=-2**63, hi=2**63):
    """An integer argument checked before ctypes could wrap it around."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise RegulaError(f"{what} must be an integer, not {v!r}")
    v = int(v)
    if not lo <= v < hi:
        raise RegulaError(f"{what} = {v} is out of range")
    return v


def _real(v, what):
    try:
        return float(v)
    except (TypeError, ValueError):
        raise RegulaError(f"{what} must be a number, not {v!r}") from None


def _text(v, what):
    if not isinstance(v, str):
        raise RegulaError(f"{what} must be a string, not {type(v).__name__}")
    return v.encode()


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise RegulaError(f"shape must be a tuple of integers, not {shape!r}") from None
    return tuple(_index(d, "a dimension") for d in dims)
