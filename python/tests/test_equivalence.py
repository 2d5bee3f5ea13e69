import json
import os

import numpy as np
import pytest

import ntk
from conftest import run_cli

OPTS = dict(widths=[16, 64], seeds=1, kernel_seeds=2, n_train=16, n_test=16, steps=5, checkpoints=2, trace_points=2)


def make_data(rng, tmp_path):
    x = rng.standard_normal((80, 6))
    y = (x[:, 0] > 0).astype(np.int64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return x, y


def strip_timing(j):
    j = dict(j)
    for k in ("seconds", "kernel_seconds"):
        j.pop(k, None)
    j["config"] = {k: v for k, v in j["config"].items() if k != "threads"}
    j["runs"] = [{k: v for k, v in r.items() if k != "seconds"} for r in j["runs"]]
    return j


def test_equivalence_matches_the_cli_json(cli, tmp_path, rng):
    make_data(rng, tmp_path)
    r = ntk.equivalence(data=str(tmp_path / "x.npy"), labels=str(tmp_path / "y.npy"), **OPTS)
    run_cli(cli, "equivalence", "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
            "--widths", "16,64", "--seeds", "1", "--kernel-seeds", "2", "--train", "16", "--test", "16", "--steps",
            "5", "--checkpoints", "2", "--trace-points", "2", "--json", str(tmp_path / "eq.json"), "-q")
    ref = json.load(open(tmp_path / "eq.json"))
    assert strip_timing(r.json) == strip_timing(ref)


def test_equivalence_in_memory_and_plot(tmp_path, rng):
    x, y = make_data(rng, tmp_path)
    lines = []
    r = ntk.equivalence(data=(x, y), log=lines.append, json_path=str(tmp_path / "r.json"), **OPTS)
    assert r.widths == [16, 64] and len(r.runs) == 2 and len(lines) == 2
    assert set(r.json["slopes"]) >= {"kernel_init_dev", "pred_gap"}
    assert r.runs[0]["trace_nn"].shape == r.runs[0]["trace_ntk"].shape
    assert json.load(open(tmp_path / "r.json"))["widths"] == [16, 64]
    from_file = ntk.equivalence(data=str(tmp_path / "x.npy"), labels=str(tmp_path / "y.npy"), **OPTS)
    assert strip_timing(from_file.json)["kernel_init_dev"] == strip_timing(r.json)["kernel_init_dev"]
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    fig = ntk.plot.equivalence(r, str(tmp_path / "eq.png"))
    assert os.path.getsize(tmp_path / "eq.png") > 1000 and len(fig.axes) == 2


def test_equivalence_errors(rng):
    x = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match="widths"):
        ntk.equivalence(data=(x, np.zeros(20, dtype=int) + (x[:, 0] > 0)), widths=[0])
    with pytest.raises(OSError):
        ntk.equivalence(data="/nonexistent/file.npy", widths=[8])
