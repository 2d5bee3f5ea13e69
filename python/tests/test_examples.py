"""The examples of docs/python.md run (scikit-learn and PyTorch pages)."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT


def run_example(name):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name)], capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_sklearn_example():
    pytest.importorskip("sklearn")
    out = run_example("sklearn_ntk.py")
    assert "grid search: best" in out and "NTK SVM: test accuracy" in out and "GP: log marginal likelihood" in out


def test_torch_example():
    pytest.importorskip("torch")
    out = run_example("torch_ntk.py")
    assert "to_arch: 'conv(3" in out and "width  512" in out and "empirical NTKs differ by" in out
