"""Shared fixtures: the repository root, the CLI built alongside (NTK_CLI or <repo>/build/ntk), random data."""

import os
import shutil
import subprocess

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def find_cli():
    env = os.environ.get("NTK_CLI")
    if env:
        return env if os.access(env, os.X_OK) else None
    for cand in (os.path.join(ROOT, "build", "ntk"), shutil.which("ntk")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


@pytest.fixture(scope="session")
def cli():
    path = find_cli()
    if path is None:
        pytest.skip("the ntk CLI is not built (set NTK_CLI or build ./build/ntk)")
    return path


def run_cli(cli, *args, check=True):
    r = subprocess.run([cli, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"ntk {' '.join(args)} failed: {r.stderr}")
    return r


@pytest.fixture
def rng():
    return np.random.default_rng(0)
