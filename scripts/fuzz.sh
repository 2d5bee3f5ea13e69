#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan) into ./build-fuzz and runs each for a while:
#
#   scripts/fuzz.sh [seconds] [target...]     # default 5 seconds each, every target
#   NTK_FUZZ_RUNS=1000000 scripts/fuzz.sh     # a number of executions per target instead of a time
#
# Each target starts from its seed corpus tests/fuzz/corpus/<target>/ (read only); what it discovers goes to
# build-fuzz/corpus/<target>/ and kept across runs, crash inputs to build-fuzz/artifacts/<target>/. Prints
# executions per target; exits non-zero when any target found a crash, leak, timeout or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  # The list lives in tests/fuzz/targets.cmake: set(NTK_FUZZ_TARGETS a b c)
  read -r -a targets <<<"$(sed -n 's/^set(NTK_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/targets.cmake)"
fi
jobs=$(nproc 2>/dev/null || echo 2)

if ! command -v clang++ >/dev/null; then
  echo "[fuzz] clang++ not found (scripts/install-deps.sh installs clang, libclang-rt-14-dev, libomp-14-dev)" >&2
  exit 1
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DNTK_BUILD_FUZZERS=ON \
  -DNTK_BUILD_TESTS=OFF -DNTK_BUILD_CLI=OFF -DNTK_BLAS=OpenBLAS >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
cmake --build build-fuzz -j"$jobs" "${build_targets[@]}"

# Leaks are bugs; a unit slower than 20 s (wall clock, on a possibly loaded machine) is a hang; no single
# allocation may exceed 2 GiB.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -n "${NTK_FUZZ_RUNS:-}" ]; then limit=(-runs="$NTK_FUZZ_RUNS"); else limit=(-max_total_time="$seconds"); fi
status=0
printf '%-14s %12s %10s %s\n' target executions seconds result
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  artifacts=build-fuzz/artifacts/$t
  mkdir -p "$work" "$artifacts"
  log=build-fuzz/fuzz_$t.log
  start=$(date +%s)
  rc=0
  dict=()
  if [ -f "tests/fuzz/$t.dict" ]; then dict=(-dict="tests/fuzz/$t.dict"); fi
  "./build-fuzz/fuzz_$t" "${limit[@]}" "${dict[@]}" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$t" \
    >"$log" 2>&1 || rc=$?
  end=$(date +%s)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then result=ok; else
    result="FAILED (exit $rc, see $log and $artifacts/)"
    status=1
  fi
  printf '%-14s %12s %10s %s\n' "$t" "${execs:-?}" "$((end - start))" "$result"
  # The report (sanitizer stack, failed check, input bytes) for a CI log that only has this script's output.
  if [ "$rc" -ne 0 ]; then grep -v -E '^#[0-9]+' "$log" | tail -n 60 >&2; fi
done
exit $status
