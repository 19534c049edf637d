#!/usr/bin/env bash
# Measures `tfshrink rewrite` on a model with over 1 GB of variables, next to
# `cp -r` of the same directory in the same run, and rewrite's peak RSS.
# Usage: bench/rewrite_big.sh [GB]   (needs .venv from scripts/install-deps.sh test
# and a build in build/)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
gb=${1:-1.25}
work=$(mktemp -d "${TMPDIR:-/tmp}/tfshrink-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
bin="$here/build/tfshrink"
[ -x "$bin" ] || { echo "build tfshrink first (cmake -S . -B build && cmake --build build)"; exit 1; }

"$here/.venv/bin/python" "$here/bench/make_big_model.py" "$work/model" "$gb"
size=$(du -sb "$work/model" | cut -f1)
sync
# Same cache state for both: the model was just written, so it is in the page cache.
t0=$(date +%s.%N); cp -r "$work/model" "$work/cp-out"; sync; t1=$(date +%s.%N)
/usr/bin/time -v "$bin" rewrite -q --no-progress "$work/model" "$work/rw-out" 2> "$work/time.txt"; sync
t2=$(date +%s.%N)
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
cp_s=$(echo "$t1 - $t0" | bc -l); rw_s=$(echo "$t2 - $t1" | bc -l)
printf 'model: %s bytes (%.2f GiB)\n' "$size" "$(echo "$size / 1073741824" | bc -l)"
printf 'cp -r:            %6.2f s  (%.0f MB/s)\n' "$cp_s" "$(echo "$size / $cp_s / 1000000" | bc -l)"
printf 'tfshrink rewrite: %6.2f s  (%.0f MB/s)\n' "$rw_s" "$(echo "$size / $rw_s / 1000000" | bc -l)"
printf 'rewrite peak RSS: %.1f MB (goal: under 100 MB)\n' "$(echo "$rss_kb / 1024" | bc -l)"
cmp -s "$work/model/variables/variables.index" "$work/rw-out/variables/variables.index" && echo "variables.index: byte-identical"
cmp -s "$work/model/saved_model.pb" "$work/rw-out/saved_model.pb" && echo "saved_model.pb: byte-identical"
