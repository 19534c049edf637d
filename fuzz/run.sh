#!/usr/bin/env bash
# Runs the libFuzzer targets built in BUILD_DIR (cmake -DTFSHRINK_FUZZ=ON, CC=clang),
# two at a time, each bounded by SECONDS or by RUNS executions.
# Usage: fuzz/run.sh BUILD_DIR SECONDS|-runs=N [TARGET...]
# New inputs go to BUILD_DIR/fuzz-work/<target>/ (the committed seed corpus in
# fuzz/corpus/<target>/ is only read); a crash leaves BUILD_DIR/fuzz-work/<target>-crash-*
# and makes the script exit 1. Temp model dirs go to /dev/shm when it is writable.
# FUZZ_JOBS (default 2) targets run at a time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
limit=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(saved_model_pb pbtext table bundle object_graph shrink)
case $limit in
  -runs=*) bound=("$limit") ;;
  *) bound=("-max_total_time=$limit") ;;
esac
max_len() {
  case $1 in
    table) echo 8192 ;; shrink) echo 4096 ;; object_graph) echo 48000 ;;
    pbtext) echo 120000 ;; *) echo 100000 ;;
  esac
}
tmp=${TMPDIR:-/tmp}
if [ -w /dev/shm ]; then tmp=/dev/shm; fi
work="$build/fuzz-work"
mkdir -p "$work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1
  mkdir -p "$work/$t"
  TMPDIR="$tmp" "$build/fuzz/fuzz_$t" "${bound[@]}" -max_len="$(max_len "$t")" -timeout=30 \
    -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$work/$t-" \
    "$work/$t" "$here/corpus/$t" > "$work/$t.log" 2>&1
  local rc=$?
  local execs
  execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$work/$t.log")
  if [ $rc -eq 0 ]; then
    echo "fuzz_$t: ok, ${execs:-?} executions"
  else
    echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} executions; see $work/$t.log"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*FUZZ_ASSERT|artifact_prefix|Test unit written)" "$work/$t.log" | head -5
  fi
  return $rc
}

fails=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "${FUZZ_JOBS:-2}" ]; then
    wait "${pids[0]}" || fails=$((fails + 1))
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
[ $fails -eq 0 ]
