#!/usr/bin/env bash
# Builds the C++ suite (library, CLI, ntk_tests) with AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer comes with ASan) into ./build-sanitize and runs it under ctest:
#
#   scripts/sanitize.sh                       # the whole suite
#   scripts/sanitize.sh -R 'Npy|FuzzCorpus'   # extra arguments go to ctest (e.g. a subset)
#
# Any report (memory error, undefined behaviour, leak) aborts the process it happens in, so the test fails
# and ctest prints the report. Prints the build and suite times; exits with ctest's status.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
t0=$(date +%s)
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Release -DNTK_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$jobs" --target ntk_tests ntk_cli
t1=$(date +%s)
# halt_on_error is ASan's default; -fno-sanitize-recover=all (CMakeLists.txt) makes UBSan's reports fatal too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
(cd build-sanitize && ctest --output-on-failure -j"$jobs" "$@") || status=$?
t2=$(date +%s)
echo "[sanitize] build $((t1 - t0)) s, suite $((t2 - t1)) s, ctest exit $status" >&2
exit $status
