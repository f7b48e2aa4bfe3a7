"""Shared test helpers: central differences of NumPy reference formulas (verification only)."""
import numpy as np


def num_grad(f, x, h=1e-6):
    """Central-difference gradient of the scalar function f at x."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g
