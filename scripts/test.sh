#!/usr/bin/env bash
# The README's test command: installs every dependency, builds, and runs the whole suite (C++ and Python).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
status=0
(cd build && ctest --output-on-failure -j"$jobs") || status=$?
# Every fuzz target a few seconds on its corpus (clang + libFuzzer, ASan + UBSan; its own build in build-fuzz,
# about 5 minutes on 2 cores). NTK_FUZZ_SECONDS=0 skips it.
fuzz_seconds=${NTK_FUZZ_SECONDS:-3}
if [ "$fuzz_seconds" != 0 ] && command -v clang++ >/dev/null; then ./scripts/fuzz.sh "$fuzz_seconds" || status=$?; fi
if [ -d python/tests ] && [ -f pyproject.toml ]; then
  ./scripts/python-tests.sh || status=$?
fi
exit $status
