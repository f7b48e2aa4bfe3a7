"""`regula bench`: the training-step and component benchmarks run, report JSON, and refuse bad input."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CLI = os.environ.get("REGULA_CLI", str(ROOT / ".build/release/regula"))


def bench(*args):
    if not os.path.exists(CLI):
        pytest.skip("CLI not built")
    return subprocess.run([CLI, "bench", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("precision", ["f64", "f32"])
def test_train_step_json(precision):
    r = bench("train", "--features", "20", "--widths", "16,8", "--classes", "3", "--batch", "5", "--steps", "4",
              "--warmup", "1", "--penalty", "l2=1e-4", "--precision", precision, "--threads", "1", "--phases", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["architecture"] == "20-16-8-3" and d["precision"] == precision and d["threads"] == 1
    assert d["parameters"] == 20 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3
    assert d["step"]["samples"] == 4 and d["step"]["median_ms"] > 0 and d["step"]["iqr_ms"] >= 0
    assert set(d["phases"]) == {"feed", "forward", "backward", "optimizer"}
    assert d["penalties"] == ["l2:strength=1e-4"] and d["loss"] > 0


def test_train_step_text_and_same_loss_in_both_precisions():
    args = ["train", "--features", "12", "--widths", "10", "--classes", "4", "--batch", "6", "--steps", "3", "--json"]
    loss = {p: json.loads(bench(*args, "--precision", p).stdout)["loss"] for p in ("f64", "f32")}
    assert abs(loss["f32"] - loss["f64"]) <= 1e-4 * abs(loss["f64"])
    r = bench("train", "--features", "12", "--widths", "10", "--classes", "4", "--batch", "6", "--steps", "2")
    assert r.returncode == 0 and "train step 12-10-4 batch 6" in r.stdout and "median ± IQR" in r.stdout


@pytest.mark.parametrize("cid,dtype", [("l1", "f32"), ("group_lasso", "f64"), ("softmax_cross_entropy", "f32"),
                                       ("sparsemax", "f64")])
def test_component_json(cid, dtype):
    r = bench(cid, "--size", "4096", "--cols", "64", "--dtype", dtype, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["id"] == cid and d["shape"] == [64, 64] and d["dtype"] == dtype and d["call"]["median_ms"] > 0


@pytest.mark.parametrize("args", [["no_such_component"], ["l1", "--dtype", "f16"], ["train", "--precision", "f16"],
                                  ["train", "--widths", "0"], ["l1", "--size", "3", "--cols", "8"], ["sam"]])
def test_bad_input_is_an_error(args):
    r = bench(*args)
    assert r.returncode != 0 and r.stderr
