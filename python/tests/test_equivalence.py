import json
import os
import subprocess
import sys

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


def test_png_is_drawn_by_python_from_the_cli_json(cli, tmp_path, rng):
    # The library draws SVG only; the PNG comes from the JSON the CLI writes, in each form the report takes.
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    make_data(rng, tmp_path)
    report = tmp_path / "eq.json"
    run_cli(cli, "equivalence", "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
            "--widths", "8,16", "--seeds", "1", "--kernel-seeds", "2", "--train", "12", "--test", "8", "--steps",
            "4", "--checkpoints", "2", "--trace-points", "2", "--json", str(report), "-q")
    j = json.load(open(report))
    assert len(j["runs"][0]["trace_nn"]) == len(j["runs"][0]["trace_at"]) > 1
    assert len(j["runs"][0]["trace_nn"][0]) == 2

    def is_png(path):
        with open(path, "rb") as f:
            return f.read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 1000

    fig = ntk.plot.equivalence(j, str(tmp_path / "from_dict.png"))  # the dict json.load gives
    assert is_png(tmp_path / "from_dict.png") and len(fig.axes) == 2
    assert len(fig.axes[1].lines) >= 4  # both traced points, network and exact NTK
    ntk.plot.equivalence(str(report), str(tmp_path / "from_path.png"))
    assert is_png(tmp_path / "from_path.png")
    loaded = ntk.EquivalenceResult.load(str(report))
    assert loaded.runs[0]["trace_nn"].shape == (len(j["runs"][0]["trace_at"]), 2)
    ntk.plot.equivalence(loaded, str(tmp_path / "from_result.png"))
    assert is_png(tmp_path / "from_result.png")
    # The command line the CLI's error message points to.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    r = subprocess.run([sys.executable, "-m", "ntk.plot", "equivalence", str(report), str(tmp_path / "m.png")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert is_png(tmp_path / "m.png")
    refused = run_cli(cli, "equivalence", "--plot", str(tmp_path / "cli.png"), "--json", str(report), check=False)
    assert refused.returncode == 2 and "python3 -m ntk.plot equivalence" in refused.stderr
    assert not os.path.exists(tmp_path / "cli.png")
    with pytest.raises(ValueError, match="equivalence report"):
        ntk.plot.equivalence({"runs": []}, str(tmp_path / "bad.png"))


def test_equivalence_errors(rng):
    x = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match="widths"):
        ntk.equivalence(data=(x, np.zeros(20, dtype=int) + (x[:, 0] > 0)), widths=[0])
    with pytest.raises(OSError):
        ntk.equivalence(data="/nonexistent/file.npy", widths=[8])
