#!/usr/bin/env bash
# The README's test command: installs every dependency, builds, and runs the whole suite (C++ and Python).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
status=0
(cd build && ctest --output-on-failure -j"$jobs") || status=$?
if [ -d python/tests ] && [ -f pyproject.toml ]; then
  ./scripts/python-tests.sh || status=$?
fi
exit $status
