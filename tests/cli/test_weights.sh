#!/usr/bin/env bash
# shrink --weights from the command line: option errors, the per-tensor
# table and --json rows, selection regexes, sizes of the written variables.
# Usage: test_weights.sh TFSHRINK_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
model="$src/tests/fixtures/models/keras2_mlp_adam"
[ -d "$model" ] || { echo "fixture $model missing"; exit 77; }
command -v python3 > /dev/null || { echo "python3 missing"; exit 77; }
. "$(dirname "$0")/lib.sh"

"$bin" shrink --weights fp8 "$model" "$tmp/x" 2> "$tmp/e"; check "--weights fp8" 2 $?
contains "--weights message" "$tmp/e" "--weights takes fp16, bf16 or int8"
"$bin" shrink --min-sqnr abc "$model" "$tmp/x" 2> "$tmp/e"; check "--min-sqnr abc" 2 $?
"$bin" shrink --min-elements -3 "$model" "$tmp/x" 2> "$tmp/e"; check "--min-elements -3" 2 $?
"$bin" shrink "$model" "$tmp/x" --weights 2> "$tmp/e"; check "--weights without value" 2 $?
"$bin" shrink -n --weights fp16 --include '(' "$model" 2> "$tmp/e"; check "bad --include regex" 1 $?
contains "regex message" "$tmp/e" "--include '('"
"$bin" shrink --help > "$tmp/o"; check "shrink --help" 0 $?
contains "help lists --weights" "$tmp/o" "--weights MODE"

# Table: one row per considered weight, the reason for a kept one.
"$bin" shrink --weights int8 --min-elements 100 --exclude '^probs' "$model" "$tmp/i8" > "$tmp/o" 2> "$tmp/e"
check "shrink --weights int8" 0 $?
contains "table header" "$tmp/o" "SQNR dB"
contains "int8 row names its axis" "$tmp/o" "int8/axis"
contains "excluded row" "$tmp/o" "kept float32: matched by --exclude"
# The written variables are smaller than a lossless shrink's by the savings.
"$bin" shrink -q "$model" "$tmp/ll"; check "lossless shrink" 0 $?
ll=$(stat -c %s "$tmp/ll"/variables/variables.data-*)
q=$(stat -c %s "$tmp/i8"/variables/variables.data-*)
if [ "$q" -le $((ll - 4 * (2048 + 4096) + 2048 + 4096)) ]; then pass=$((pass + 1)); else echo "FAIL: int8 data $q vs lossless $ll"; fails=$((fails + 1)); fi

# JSON rows.
"$bin" shrink -n --json --weights fp16 --min-elements 100 "$model" > "$tmp/j" 2> "$tmp/e"; check "--json" 0 $?
py "json weights rows" "$tmp/j" "len(d['weights']) == 3 and all(w['quantized'] and w['dtype'] == 'float16' for w in d['weights'])"
py "json halves bytes" "$tmp/j" "all(2 * w['bytes_after'] == w['bytes_before'] for w in d['weights'])"
py "json errors" "$tmp/j" "all(w['sqnr_db'] > 60 and 0 < w['rel_rms_err'] < 1e-3 and w['max_abs_err'] > 0 for w in d['weights'])"
"$bin" shrink -n --json --weights int8 --min-elements 100 --channel-axis last "$model" > "$tmp/j" 2> "$tmp/e"
check "--channel-axis last" 0 $?
py "last axis for every kernel" "$tmp/j" "[w['axis'] for w in d['weights']] == [1, 1, 1] and all(w['scheme'] == 'int8/channel' for w in d['weights'])"
"$bin" shrink -n --json --weights int8 --min-elements 100 "$model" > "$tmp/j2" 2> "$tmp/e"; check "--channel-axis best (default)" 0 $?
py "best axis never worse" "$tmp/j2" "all(b['sqnr_db'] >= a['sqnr_db'] for a, b in zip(json.load(open('$tmp/j'))['weights'], d['weights']))"
"$bin" shrink -n --weights int8 --channel-axis first "$model" 2> "$tmp/e"; check "bad --channel-axis" 2 $?
contains "--channel-axis message" "$tmp/e" "best or last"
"$bin" shrink -n --json --weights fp16 --min-elements 100 "$model" > "$tmp/j" 2> "$tmp/e"
py "no axis for fp16" "$tmp/j" "all(w['axis'] is None for w in d['weights'])"
"$bin" shrink -n --json "$model" > "$tmp/j" 2> "$tmp/e"; check "--json without --weights" 0 $?
py "no weights rows by default" "$tmp/j" "d['weights'] == []"

finish
