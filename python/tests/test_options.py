"""Options declared once: the Python keyword defaults are the library's (the options struct's member initialisers,
read through ntk.option_specs), the same ones `ntk ... --help` shows, and keyword arguments set the structs by
name with the library's messages."""

import inspect
import math
import re

import numpy as np
import pytest

import ntk
from ntk import predict
from conftest import run_cli


def specs(group):
    return {s["name"]: s for s in ntk.option_specs(group)}


def defaults(fn):
    params = inspect.signature(fn).parameters.items()
    return {k: p.default for k, p in params if p.default is not inspect.Parameter.empty}


def test_option_specs_describe_every_group():
    assert set(ntk._ntk.option_groups()) >= {"equivalence", "equivalence_data", "train", "predict", "reg", "svm",
                                              "select", "uci", "cifar10"}
    for group in ntk._ntk.option_groups():
        for s in ntk.option_specs(group):
            assert set(s) >= {"name", "kind", "default", "doc", "cli", "min", "max", "choices"}
            assert s["doc"] and s["cli"].startswith("--")
    seeds = specs("equivalence")["seeds"]
    assert seeds["kind"] == "int" and seeds["default"] == 3 and seeds["min"] == 1 and seeds["max"] is None
    assert specs("equivalence")["f0"]["choices"] == ["twin", "keep"]
    assert specs("equivalence_data")["n_train"]["cli"] == "--train"
    assert specs("predict")["time"]["default"] == math.inf
    with pytest.raises(ValueError, match="unknown option group 'nope'"):
        ntk.option_specs("nope")


def test_keyword_defaults_are_the_library_defaults():
    eq = defaults(ntk.equivalence)
    lib = {**{n: s["default"] for n, s in specs("equivalence_data").items()},
           **{n: s["default"] for n, s in specs("equivalence").items()}}
    for name in ("arch", "data", "seeds", "kernel_seeds", "seed", "n_train", "n_test", "one_hot", "steps", "time",
                 "learning_rate", "lr_fraction", "batch_size", "momentum", "downsample", "standardize", "f0",
                 "parameterization", "checkpoints", "trace_points", "trace_steps", "data_seed", "format",
                 "lr_kernel"):
        assert eq[name] == lib[name], name
    assert list(eq["widths"]) == lib["widths"]
    assert eq["classes"] == lib["num_classes"]
    tr = defaults(ntk.Network.train)
    for name, s in specs("train").items():
        if name in tr:
            assert tr[name] == s["default"], name
    for fn in (ntk.SVM.__init__, ntk.svm):
        for name, v in defaults(fn).items():
            assert v == specs("svm")[name]["default"], name
    sel = defaults(ntk.select_model)
    for name in ("method", "reg_absolute", "classification", "target_off", "target_on", "tol"):
        assert sel[name] == specs("select")[name]["default"], name
    gf = defaults(predict.gradient_flow)
    p = specs("predict")
    assert (gf["t"], gf["learning_rate"], gf["diag_reg"], gf["reg_absolute"]) == (
        p["time"]["default"], p["learning_rate"]["default"], p["diag_reg"]["default"], p["reg_absolute"]["default"])
    kd = defaults(ntk.kernels_all_depths)
    u = specs("uci")
    assert (kd["max_depth"], kd["activation"], kd["w_std"], kd["b_std"]) == (
        u["max_depth"]["default"], u["activation"]["default"], u["w_std"]["default"], u["b_std"]["default"])


def test_keyword_defaults_are_what_the_cli_shows(cli):
    # The same numbers three ways: the Python signature, the option table, and `ntk equivalence --help`.
    help_text = run_cli(cli, "equivalence", "--help").stdout
    eq = defaults(ntk.equivalence)
    for name, flag in (("steps", "--steps"), ("seeds", "--seeds"), ("kernel_seeds", "--kernel-seeds"),
                       ("lr_fraction", "--lr-fraction"), ("n_train", "--train"), ("downsample", "--downsample"),
                       ("standardize", "--standardize"), ("f0", "--f0")):
        m = re.search(r"^\s+" + re.escape(flag) + r" \S*?=(\S+)", help_text, re.M)
        assert m, flag
        assert m.group(1) == str(eq[name]), (flag, m.group(1), eq[name])
    m = re.search(r"^\s+--widths \S*?=(\S+)", help_text, re.M)
    assert [int(w) for w in m.group(1).split(",")] == list(eq["widths"])
    help_text = run_cli(cli, "regress", "--help").stdout
    m = re.search(r"^\s+--lr \S*?=(\S+)", help_text, re.M)
    assert float(m.group(1)) == defaults(predict.gradient_flow)["learning_rate"]


def test_keywords_set_the_structs_by_name_with_the_library_messages(rng):
    x = rng.standard_normal((24, 3))
    y = (x[:, 0] > 0).astype(np.int64)
    small = dict(widths=[8], seeds=1, kernel_seeds=1, n_train=8, n_test=8, steps=2, checkpoints=1, trace_points=1)
    with pytest.raises(ValueError, match=r"^seeds must be >= 1, got 0$"):
        ntk.equivalence(data=(x, y), **{**small, "seeds": 0})
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), got 1$"):
        ntk.equivalence(data=(x, y), **{**small, "momentum": 1.0})
    with pytest.raises(ValueError, match=r"^f0 must be one of twin, keep; got 'zero'$"):
        ntk.equivalence(data=(x, y), **{**small, "f0": "zero"})
    with pytest.raises(ValueError, match=r"^widths must be an integer, got 'a'$"):
        ntk.equivalence(data=(x, y), **{**small, "widths": ["a"]})
    with pytest.raises(ValueError, match=r"^n_train must be >= 1, got 0$"):
        ntk.equivalence(data=(x, y), **{**small, "n_train": 0})
    # NumPy scalars are numbers like any other.
    r = ntk.equivalence(data=(x, y), **{**small, "steps": np.int64(2), "lr_fraction": np.float32(0.5)})
    assert r.json["config"]["steps"] == 2 and r.json["config"]["lr_fraction"] == 0.5
    net = ntk.Network("dense, relu, dense", width=8, seed=0)
    yy = np.sin(x[:, :1])
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), got 1$"):
        net.train(x, yy, steps=1, momentum=1.0)
    with pytest.raises(ValueError, match=r"^steps must be an integer, got 1.5$"):
        net.train(x, yy, steps=1.5)
    out = net.train(x, yy, steps=3, batch_size=8, seed=1)
    assert out["steps"] == 3 and out["final_loss"] >= 0
