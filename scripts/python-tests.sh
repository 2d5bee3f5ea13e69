#!/usr/bin/env bash
# The Python tests (pytest, python/tests), called by scripts/test.sh after the C++ suite.
#
# The extension is built in the same CMake tree as the library and the CLI (default ./build, or $NTK_BUILD_DIR)
# with -DNTK_BUILD_PYTHON=ON, so the library is not compiled twice: only python/src/*.cpp are. The module and
# the package land in <build>/python/ntk, which goes first on PYTHONPATH; the CLI <build>/ntk is compared against.
#
# NTK_TEST_PIP=1 also checks the user's route: a fresh virtual environment, `pip install .` (a full build, ~5 min on
# 2 cores) and the same tests against the installed package.
# NTK_TEST_WHEEL=1 also runs python/tests/test_wheel.py: scripts/build-wheel.sh (a self-contained wheel,
# ~10-15 min), installed alone into a fresh virtual environment, checked there (python/tests/wheel_check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUILD=${NTK_BUILD_DIR:-build}
jobs=$(nproc 2>/dev/null || echo 2)

if ! "$PY" -c "import pybind11, numpy, pytest" 2>/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check "pybind11>=2.12" numpy pytest matplotlib
fi

if [ -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DNTK_BUILD_PYTHON=ON -DPython_EXECUTABLE="$(command -v "$PY")" >/dev/null
else
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNTK_BUILD_PYTHON=ON \
    -DPython_EXECUTABLE="$(command -v "$PY")" >/dev/null
fi
cmake --build "$BUILD" --target _ntk -j"$jobs"

export NTK_CLI=${NTK_CLI:-$PWD/$BUILD/ntk}
status=0
PYTHONPATH="$PWD/$BUILD/python${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pytest -q python/tests "$@" || status=$?

if [ "${NTK_TEST_PIP:-0}" = "1" ]; then
  venv=$(mktemp -d /tmp/ntk-venv-XXXXXX)
  "$PY" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check . pytest matplotlib
  (cd /tmp && "$venv/bin/python" -m pytest -q "$OLDPWD/python/tests" -p no:cacheprovider) || status=$?
  rm -rf "$venv"
fi
exit $status
