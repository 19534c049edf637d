#!/usr/bin/env bash
# Installs what is missing, builds tfshrink, and runs it on the bundled example model.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTFSHRINK_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
example=tests/fixtures/models/keras2_mlp_adam
out=$(mktemp -d)/example-rewritten
echo "\$ tfshrink inspect $example"
build/tfshrink inspect "$example"
echo
echo "\$ tfshrink rewrite $example $out"
build/tfshrink rewrite "$example" "$out"
