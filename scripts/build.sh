#!/usr/bin/env bash
# Configures and builds ntk into ./build: everything, or only the targets named in NTK_TARGETS (e.g.
# NTK_TARGETS=ntk_cli for the command-line tool alone). Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
targets=()
for t in ${NTK_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build build -j"$jobs" "${targets[@]}"
