"""Hostile inputs through the Python binding. Every case runs in its own interpreter
(subprocess), so a crash of the library is a failed case with its signal, not a dead test run."""
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import pytest

PKG = str(pathlib.Path(__file__).resolve().parent.parent)
FIX = os.environ.get("REGULA_FIXTURES", str(pathlib.Path(PKG).parents[1] / ".build" / "fixtures"))

PRELUDE = textwrap.dedent("""
    import sys, threading
    import numpy as np
    import regula
    from regula import RegulaError

    def bad(fn, *needles, exc=RegulaError):
        try:
            fn()
        except exc as e:
            for n in needles:
                assert n in str(e), f"{n!r} not in {str(e)!r}"
            return e
        raise AssertionError("no error raised")

    W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
""")


def run(body, timeout=60, env=None):
    code = PRELUDE + textwrap.dedent(body) + "\nprint('CASE-OK')\n"
    e = dict(os.environ, PYTHONPATH=PKG + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=e)
    except subprocess.TimeoutExpired:
        pytest.fail("the case hung")
    if p.returncode < 0:
        pytest.fail(f"the case crashed with {signal.Signals(-p.returncode).name}\n{p.stderr[-2000:]}")
    assert p.returncode == 0 and "CASE-OK" in p.stdout, p.stderr[-3000:]


CASES = {
    # ids and parameters
    "unknown_id": "bad(lambda: regula.penalty('no_such'), 'no_such')",
    "wrong_kind": "bad(lambda: regula.loss('l1')); bad(lambda: regula.output_map('l1')); bad(lambda: regula.penalty('sparsemax'))",
    "unknown_param": "bad(lambda: regula.penalty('l1', strenght=1), 'strenght')",
    "param_nan": "bad(lambda: regula.penalty('l1', strength=float('nan')), 'strength')",
    "param_inf": "bad(lambda: regula.penalty('l1', strength=float('inf')), 'strength')",
    "param_negative": "bad(lambda: regula.penalty('l1', strength=-1), 'strength')",
    "param_wrong_type": "bad(lambda: regula.loss('softmax_cross_entropy', reduction=3))\n"
                        "bad(lambda: regula.loss('softmax_cross_entropy', label_smoothing='x'))",
    "param_injection": "bad(lambda: regula.penalty('l1', strength='1,strength=2'))\n"
                       "bad(lambda: regula.loss('softmax_cross_entropy', reduction='sum,label_smoothing=0.5'))",
    "describe_unknown": "bad(lambda: regula.describe('nope'), 'nope')",
    "describe_every": "[regula.describe(c) for c in regula.components()]",
    "components_bad_kind": "assert regula.components('no_kind') == [] or True",
    # NaN / Inf policy
    "nan_index": "w = W.copy(); w[1, 1] = np.nan\nbad(lambda: regula.penalty('l1').value(w), 'index 4')",
    "inf_float32": "w = W.astype(np.float32); w[0, 2] = -np.inf\nbad(lambda: regula.penalty('l2').value_and_grad(w), 'index 2')",
    "nan_strided": "w = np.zeros((4, 6)); w[2, 4] = np.nan; w[1, 1] = np.nan\n"
                   "bad(lambda: regula.penalty('l1').value(w[::2, ::2]), 'index 5')",
    "nan_logits": "z = np.zeros((2, 3)); z[1, 0] = np.nan\n"
                  "bad(lambda: regula.loss('softmax_cross_entropy').value(z, np.array([0, 1])), 'index 3')",
    "nan_map_cotangent": "m = regula.output_map('sparsemax'); c = np.zeros((2, 3)); c[0, 1] = np.inf\n"
                         "bad(lambda: m.vjp(W, c), 'index 1')",
    "nan_prox": "w = W.copy(); w[0, 0] = np.nan\nbad(lambda: regula.penalty('l1').prox(w, step=0.1), 'index 0')",
    # empty and rank
    "empty_penalty": "v, g = regula.penalty('l1').value_and_grad(np.zeros((0, 3)))\nassert v == 0 and g.shape == (0, 3)",
    "empty_mean_loss": "bad(lambda: regula.loss('softmax_cross_entropy').value(np.zeros((0, 3)), np.zeros(0, np.int64)))",
    "empty_sum_loss": "v = regula.loss('softmax_cross_entropy', reduction='sum').value(np.zeros((0, 3)), np.zeros(0, np.int64))\nassert v == 0",
    "rank_above_limit": "bad(lambda: regula.penalty('l1').value(np.zeros((1,) * 9)), 'rank')",
    "rank_8": "assert regula.penalty('l1', strength=1).value(np.ones((1,) * 7 + (3,))) == 3",
    "scalar": "assert regula.penalty('l1', strength=1).value(np.float64(-2.5)) == 2.5",
    # dtypes
    "int_input": "bad(lambda: regula.penalty('l1').value(np.array([[1, 2]])), 'int64')",
    "float16": "bad(lambda: regula.penalty('l1').value(W.astype(np.float16)), 'float16')",
    "bool": "bad(lambda: regula.penalty('l1').value(W > 0), 'bool')",
    "complex": "bad(lambda: regula.penalty('l1').value(W.astype(np.complex128)), 'complex')",
    "object": "bad(lambda: regula.penalty('l1').value(np.array([[1.0, None]], dtype=object)), 'object')",
    "strings": "bad(lambda: regula.penalty('l1').value(np.array(['a', 'b'])))",
    "ragged": "bad(lambda: regula.penalty('l1').value([[1.0], [1.0, 2.0]]), exc=(RegulaError, ValueError))",
    "bigendian": "w = W.astype('>f8')\nassert regula.penalty('l1').value(w) == regula.penalty('l1').value(W)",
    "float16_labels": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([0, 1], np.float16)))",
    "bool_labels": "r = regula.loss('softmax_cross_entropy').value(W, np.array([False, True]))\n"
                   "assert abs(r - regula.loss('softmax_cross_entropy').value(W, np.array([0, 1]))) < 1e-15",
    # layouts
    "transposed": "m = regula.output_map('entmax15'); x = np.random.default_rng(0).normal(size=(5, 4))\n"
                  "assert np.array_equal(m(x.T), m(np.ascontiguousarray(x.T)))",
    "negative_stride": "p = regula.penalty('group_lasso'); x = np.random.default_rng(1).normal(size=(4, 6))\n"
                       "v1, g1 = p.value_and_grad(x[::-1, ::-2]); v2, g2 = p.value_and_grad(x[::-1, ::-2].copy())\n"
                       "assert v1 == v2 and np.array_equal(g1, g2)",
    "broadcast_zero_stride": "x = np.broadcast_to(np.array([0.3, -1.0, 2.0]), (4, 3))\n"
                             "m = regula.output_map('sparsemax'); assert np.array_equal(m(x), m(np.array(x)))",
    "misaligned": "buf = np.zeros(6 * 8 + 1, np.uint8); x = np.frombuffer(buf.data, np.float64, 6, offset=1).reshape(2, 3)\n"
                  "assert not x.flags.aligned\nx = x.copy() if x.flags.writeable else x\n"
                  "raw = np.ndarray((2, 3), np.float64, buffer=buf, offset=1); raw[...] = W\n"
                  "assert regula.penalty('l1').value(raw) == regula.penalty('l1').value(W)",
    "readonly_input": "w = W.copy(); w.flags.writeable = False\nassert regula.penalty('l1', strength=1).value(w) == 7.5",
    "out_wrong": "p = regula.penalty('l1')\n"
                 "bad(lambda: p.value_and_grad(W, out=np.empty((3, 2))), 'out=')\n"
                 "bad(lambda: p.value_and_grad(W, out=np.empty((2, 3), np.float32)), 'out=')\n"
                 "bad(lambda: p.value_and_grad(W, out=np.empty((2, 6))[:, ::2]), 'out=')\n"
                 "ro = np.empty((2, 3)); ro.flags.writeable = False\nbad(lambda: p.value_and_grad(W, out=ro), 'out=')",
    "input_not_modified": "w = W.copy(); regula.penalty('l1').prox(w, step=0.5); assert np.array_equal(w, W)",
    # losses
    "labels_out_of_range": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([0, 3])), 'index 1')",
    "labels_negative": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([-1, 0])), 'index 0')",
    "labels_huge": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([0, 2**40])))",
    "labels_int64_extremes": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([0, 2**63 - 1])), 'index 1')\n"
                             "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([-2**63, 0])), 'index 0')",
    "labels_wrong_length": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([0, 1, 2])))",
    "target_wrong_shape": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.zeros((3, 2))))",
    "missing_target": "bad(lambda: regula.loss('softmax_cross_entropy').value(W))",
    "unknown_side_input": "bad(lambda: regula.loss('softmax_cross_entropy').value(W, np.array([0, 1]), mask=W), 'mask')",
    "extreme_logits": "z = np.array([[1e300, -1e300, 0.0]]); v, g = regula.loss('softmax_cross_entropy').value_and_grad(z, np.array([1]))\n"
                      "assert not np.isnan(g).any() and not np.isnan(v)",
    # prox
    "prox_unsupported": "bad(lambda: regula.penalty('norm_loss').prox(W, step=0.1))",
    "prox_negative_step": "bad(lambda: regula.penalty('l1').prox(W, step=-0.1), 'step')",
    "prox_nan_step": "bad(lambda: regula.penalty('l1').prox(W, step=float('nan')), 'step')",
    # huge shapes: views whose element count overflows 64-bit products never reach memory
    # (NumPy refuses to build such views, so the rg_array is made by hand through the binding's ctypes)
    "huge_shape": "import ctypes\nfrom regula import _lib\nL = regula._L\n"
                  "p = regula.penalty('l1'); buf = np.zeros(8); v = ctypes.c_double()\n"
                  "for dims in ([2**62, 4], [2**32, 2**32], [2**63 - 1, 2], [-1, 2]):\n"
                  "    shape = (ctypes.c_int64 * 2)(*dims)\n"
                  "    a = _lib.rg_array(buf.ctypes.data, _lib.RG_FLOAT64, 2, ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64)), None)\n"
                  "    assert L.rg_penalty_eval(p._h, ctypes.byref(a), None, 0, ctypes.byref(v), None) == 6, dims",
    # user callbacks
    "callback_raises": "regula.register_penalty('boom', lambda w: 1 / 0)\n"
                       "e = bad(lambda: regula.penalty('boom').value(W)); assert isinstance(e.__cause__, ZeroDivisionError)",
    "callback_bad_shape": "regula.register_penalty('bad_shape', lambda w: (0.0, np.zeros(2)))\nbad(lambda: regula.penalty('bad_shape').value_and_grad(W))",
    "callback_nan": "regula.register_penalty('nan_pen', lambda w: (float('nan'), w))\nbad(lambda: regula.penalty('nan_pen').value(W))",
    "callback_not_tuple": "regula.register_penalty('not_tuple', lambda w: 'x')\nbad(lambda: regula.penalty('not_tuple').value(W))",
    "register_duplicate": "bad(lambda: regula.register_penalty('l1', lambda w: (0.0, w)), 'l1')",
    "register_bad_id": "bad(lambda: regula.register_penalty('Bad Id', lambda w: (0.0, w)))",
    # optimizer
    "optimizer_bad": "bad(lambda: regula.Optimizer('lbfgs'))\nbad(lambda: regula.Optimizer('adam', lr=-1), 'lr')\n"
                     "bad(lambda: regula.Optimizer('adam', eps=0), 'eps')\nbad(lambda: regula.Optimizer('sgd', transforms=['nope']))",
    "optimizer_nan_grad": "o = regula.Optimizer('adam', lr=0.1); w = W.copy(); g = np.ones_like(w); g[1, 2] = np.nan\n"
                          "bad(lambda: o.step([w], [g]), 'index 5'); assert np.array_equal(w, W)",
    "optimizer_float16": "o = regula.Optimizer('sgd', lr=0.1); w = W.astype(np.float16)\n"
                         "bad(lambda: o.step([w], [w.copy()]), 'float16')",
    "optimizer_mismatch": "o = regula.Optimizer('sgd', lr=0.1); w = W.copy()\n"
                          "bad(lambda: o.step([w], [np.zeros((3, 2))])); bad(lambda: o.step([w], []))\n"
                          "bad(lambda: o.step([w[:, ::2]], [np.zeros((2, 2))]))",
    "optimizer_callback_raises": "o = regula.Optimizer('sgd', lr=0.1, transforms=['sam:rho=0.05']); w = W.copy(); g = np.zeros_like(w)\n"
                                 "e = bad(lambda: o.step([w], [g], grad_fn=lambda: 1 / 0)); assert np.array_equal(w, W)",
    # plugins
    "plugin_missing": "bad(lambda: regula.load_plugin('/no/such/file.so'), 'no such file')",
    "plugin_directory": "bad(lambda: regula.load_plugin('/'))",
    "plugin_text_file": "bad(lambda: regula.load_plugin(__file__ if '__file__' in dir() else '/etc/hostname'))",
    # concurrency: handles per thread, registry shared
    "threads": """
        errs = []
        def work(k):
            try:
                p = regula.penalty('l2' if k % 2 else 'group_lasso', strength=0.5)
                m = regula.output_map('entmax15')
                for _ in range(300):
                    p.value_and_grad(W); m(W)
                    try: regula.penalty('nope')
                    except RegulaError as e: assert 'nope' in str(e)
            except BaseException as e:
                errs.append(e)
        ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        [t.start() for t in ts]; [t.join() for t in ts]
        assert not errs, errs
    """,
    "fork_then_threads": """
        import os
        regula.penalty('l1').value(W)
        for _ in range(10):
            pid = os.fork()
            if pid == 0:
                ts = [threading.Thread(target=lambda: regula.output_map('sparsemax')(W)) for _ in range(4)]
                [t.start() for t in ts]; [t.join() for t in ts]
                os._exit(0)
            _, st = os.waitpid(pid, 0)
            assert st == 0, st
    """,
}

PLUGIN_CASES = {
    "no_entry": ("libbad_no_entry.so", "regula_plugin_entry"),
    "abi": ("libbad_abi.so", "ABI"),
    "struct_size": ("libbad_struct_size.so", "struct_size"),
    "table_size": ("libbad_table_size.so", "struct_size"),
    "null_fn": ("libbad_null_fn.so", "eval"),
    "dup_builtin": ("libbad_dup_builtin.so", "l1"),
    "dup_within": ("libbad_dup_within.so", "twice_here"),
    "null_descriptor": ("libbad_null_descriptor.so", "NULL"),
    "not_elf": ("not_elf.so", "not_elf.so"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile(name):
    run(CASES[name])


@pytest.mark.parametrize("name", sorted(PLUGIN_CASES))
def test_bad_plugin(name):
    lib, needle = PLUGIN_CASES[name]
    path = os.path.join(FIX, lib)
    if not os.path.exists(path):
        pytest.skip("fixtures not built (make fixtures)")
    run(f"""
        n = len(regula.components())
        bad(lambda: regula.load_plugin({path!r}), {needle!r})
        assert len(regula.components()) == n, "nothing registered"
        assert regula.penalty('l1', strength=1).value(W) == 7.5, "registry still usable"
    """)


def test_plugin_errors_are_statuses():
    path = os.path.join(FIX, "liberr_plugin.so")
    if not os.path.exists(path):
        pytest.skip("fixtures not built (make fixtures)")
    run(f"""
        regula.load_plugin({path!r})
        bad(lambda: regula.penalty('err_create'), 'err_create')
        bad(lambda: regula.penalty('err_eval').value(W), 'deliberate failure')
        bad(lambda: regula.penalty('nan_value').value(W), 'non-finite')
        bad(lambda: regula.penalty('inf_grad').prox(W, step=0.1), 'non-finite')
        bad(lambda: regula.output_map('nan_map')(W))
    """)


def test_check_cli_survives_segfaulting_plugin():
    cli = os.environ.get("REGULA_CLI")
    path = os.path.join(FIX, "libsegv_plugin.so")
    if not cli or not os.path.exists(path):
        pytest.skip("REGULA_CLI or fixtures missing")
    p = subprocess.run([cli, "check", path], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "segv_eval: the plugin crashed (signal 11" in p.stdout, p.stdout
    assert "ok   segv_neighbour" in p.stdout, p.stdout
