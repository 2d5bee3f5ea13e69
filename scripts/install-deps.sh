#!/usr/bin/env bash
# Installs everything ntk needs on Debian 12: build tools, libraries (OpenMPI and ScaLAPACK for the MPI layer),
# the Fashion-MNIST data set used by the README's main job, clang + libFuzzer + libomp for the fuzz targets
# (scripts/fuzz.sh), and the Python packages used by tests and benchmarks.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
PKGS="build-essential cmake ninja-build pkg-config libeigen3-dev libopenblas-dev liblapacke-dev libcli11-dev \
libgtest-dev libbenchmark-dev nlohmann-json3-dev libsvm-dev libsleef-dev libstb-dev libjpeg-dev libpng-dev \
dataset-fashion-mnist openmpi-bin libopenmpi-dev libscalapack-openmpi-dev clang libclang-rt-14-dev libomp-14-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "[install-deps] apt-get install:$missing" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ "${NTK_SKIP_PIP:-0}" != "1" ]; then
  python3 -m pip install -q --disable-pip-version-check numpy scipy scikit-learn matplotlib pytest 2>&1 | grep -v "already satisfied" || true
  # Intel MKL (PyPI wheels) on x86-64: the build links it when present (cmake/NtkBlas.cmake); its dgemm/dsyrk
  # run ~20% faster than Debian's OpenBLAS here. NTK_BLAS=OpenBLAS (or NTK_SKIP_MKL=1 here) keeps OpenBLAS.
  if [ "$(uname -m)" = "x86_64" ] && [ "${NTK_SKIP_MKL:-0}" != "1" ]; then
    # 2026.x: the wheel names mkl>=2026,<2027 (pyproject.toml), whose libraries are libmkl_*.so.3.
    python3 -m pip install -q --disable-pip-version-check "mkl-devel>=2026,<2027" 2>&1 |
      grep -v "already satisfied" || true
  fi
  # PyTorch for ntk.torch and its tests: pinned, so that pip takes the CPU build this machine keeps on disk
  # (an unpinned torch would download gigabytes of CUDA wheels). NTK_SKIP_TORCH=1 skips it (those tests skip).
  if [ "${NTK_SKIP_TORCH:-0}" != "1" ]; then
    python3 -m pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 |
      grep -v "already satisfied" || true
  fi
fi
