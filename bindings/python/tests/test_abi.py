"""The header, the library's exported symbols and the binding's declarations are one set; plugins
load from Python and from REGULA_PLUGIN_PATH."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import regula
from regula import _lib

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCAD = os.environ.get("REGULA_SCAD", str(ROOT / "examples/plugins/scad/libregula_scad.so"))


def header_functions():
    names = set()
    for h in ("regula.h", "regula_plugin.h"):
        text = (ROOT / "include" / h).read_text()
        names |= set(re.findall(r"RG_API\s+[\w\s\*]+?\b(rg_\w+)\s*\(", text))
    return names


def exported_symbols():
    out = subprocess.run(["nm", "-D", "--defined-only", regula.library_path], capture_output=True,
                         text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if " T " in line}


def test_header_exports_and_binding_agree():
    header = header_functions()
    assert len(header) >= 20
    assert exported_symbols() == header
    assert set(_lib.SIGNATURES) == header


def test_scad_plugin_from_python():
    if not os.path.exists(SCAD):
        pytest.skip(f"SCAD plugin not built at {SCAD} (make plugins)")
    regula.load_plugin(SCAD)
    regula.load_plugin(SCAD)  # twice is a no-op
    assert "scad" in regula.components()
    d = regula.describe("scad")
    assert d["has_prox"] and [p["name"] for p in d["params"]] == ["strength", "lam", "a"]
    lam, a = 1.0, 3.7
    w = np.array([0.5, -2.0, 10.0, 0.0])
    x = np.abs(w)
    ref = np.where(x <= lam, lam * x, np.where(x <= a * lam, (2 * a * lam * x - x ** 2 - lam ** 2) / (2 * (a - 1)),
                                               lam ** 2 * (a + 1) / 2))
    dref = np.sign(w) * np.where(x <= lam, lam, np.where(x <= a * lam, (a * lam - x) / (a - 1), 0))
    v, g = regula.penalty("scad", strength=0.5).value_and_grad(w)
    assert np.isclose(v, 0.5 * ref.sum())
    np.testing.assert_allclose(g, 0.5 * dref)
    # prox against a brute-force grid minimiser of t·p(x) + ½(x − v)²
    grid = np.linspace(-12, 12, 240001)
    gx = np.abs(grid)
    pg = np.where(gx <= lam, lam * gx, np.where(gx <= a * lam, (2 * a * lam * gx - gx ** 2 - lam ** 2) / (2 * (a - 1)),
                                                lam ** 2 * (a + 1) / 2))
    p = regula.penalty("scad", strength=1.0)
    for t in (0.5, 3.0):
        for v0 in (0.3, 1.2, 2.5, 3.0, 5.0, -4.0):
            got = p.prox(np.array([v0]), step=t)[0]
            best = grid[np.argmin(t * pg + 0.5 * (grid - v0) ** 2)]
            assert abs(got - best) < 2e-4, (t, v0, got, best)
    with pytest.raises(regula.RegulaError, match="'a'"):
        regula.penalty("scad", a=2.0)
    with pytest.raises(regula.RegulaError, match="no such file"):
        regula.load_plugin("/no/such/plugin.so")


def test_plugin_path_at_startup():
    if not os.path.exists(SCAD):
        pytest.skip("SCAD plugin not built")
    env = dict(os.environ, REGULA_PLUGIN_PATH=str(pathlib.Path(SCAD).parent),
               PYTHONPATH=str(ROOT / "bindings/python"))
    out = subprocess.run([sys.executable, "-c", "import regula; print('scad' in regula.components())"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_cli_check_and_list():
    cli = os.environ.get("REGULA_CLI", str(ROOT / ".build/release/regula"))
    if not os.path.exists(cli):
        pytest.skip("CLI not built")
    out = subprocess.run([cli, "list"], capture_output=True, text=True, check=True).stdout
    assert "components" in out and "softmax_cross_entropy" in out
    if os.path.exists(SCAD):
        r = subprocess.run([cli, "check", SCAD], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "0 failed" in r.stdout
    r = subprocess.run([cli, "check", "no_such_component"], capture_output=True, text=True)
    assert r.returncode != 0
    r = subprocess.run([cli, "describe", "l1", "--json"], capture_output=True, text=True, check=True)
    assert '"id":"l1"' in r.stdout
