#!/usr/bin/env bash
# The README's main job: installs, builds, and runs the width experiment (a wide network trained by gradient
# descent against NTK kernel regression) on a real Fashion-MNIST subset shipped by Debian. Results go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
NTK_TARGETS=ntk_cli ./scripts/build.sh
mkdir -p out
./build/ntk equivalence --json out/equivalence.json --plot out/equivalence.svg "$@"
echo "wrote out/equivalence.json and out/equivalence.svg" >&2
