"""The user's route: build the wheel, install it alone into a fresh virtual environment, check it there.

Opt-in (a full build, ~10-15 min on 2 cores): NTK_TEST_WHEEL=1 pytest python/tests/test_wheel.py -s
NTK_WHEEL=path/to/ntk-*.whl checks a wheel built before (scripts/build-wheel.sh) instead of building one.
"""

import glob
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(os.environ.get("NTK_TEST_WHEEL", "0") != "1",
                                reason="builds a wheel and a virtual environment: set NTK_TEST_WHEEL=1")


def test_wheel_in_a_fresh_venv(tmp_path):
    wheel = os.environ.get("NTK_WHEEL")
    if not wheel:
        t0 = time.time()
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-wheel.sh"), str(tmp_path / "dist")], check=True)
        wheel = glob.glob(str(tmp_path / "dist" / "ntk-*.whl"))[0]
        print(f"[wheel] built {os.path.basename(wheel)} in {time.time() - t0:.0f} s")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NTK_CLI", "LD_LIBRARY_PATH")}
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    t0 = time.time()
    # the wheel and its dependencies (numpy, mkl); scikit-learn and the pinned CPU torch for the checks
    subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, "scikit-learn>=1.6",
                    "torch==2.13.0"], check=True, env=env, cwd=str(tmp_path))
    print(f"[wheel] installed in {time.time() - t0:.0f} s")
    work = tmp_path / "elsewhere"
    work.mkdir()
    r = subprocess.run([py, os.path.join(ROOT, "python", "tests", "wheel_check.py")], cwd=str(work), env=env,
                       capture_output=True, text=True)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "[wheel] all checks passed" in r.stdout
