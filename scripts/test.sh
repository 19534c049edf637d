#!/usr/bin/env bash
# Installs what the tests need and runs them all: unit, CLI and TensorFlow
# end-to-end tests on a normal build, then the unit and CLI tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer target
# for 20 s (the fuzz corpora are replayed by both ctest runs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/install-deps.sh test
jobs=$(nproc)

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
echo "== unit and CLI tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build with ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTFSHRINK_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
echo "== unit and CLI tests under sanitizers"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== fuzzers (clang, libFuzzer + ASan + UBSan), 20 s each after the corpus replays above"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTFSHRINK_FUZZ=ON -DTFSHRINK_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null
fuzz/run.sh build-fuzz 20

echo "== end-to-end tests with TensorFlow"
TFSHRINK_BIN="$here/build/tfshrink" .venv/bin/python -m pytest tests/e2e -q -rs
