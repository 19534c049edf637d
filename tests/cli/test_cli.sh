#!/usr/bin/env bash
# CLI behaviour: exit codes, one-line errors, --json, atomic output, refusals.
# Usage: test_cli.sh TFSHRINK_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
model="$src/tests/fixtures/models/keras2_mlp_adam"
[ -d "$model" ] || { echo "fixture $model missing"; exit 77; }
. "$(dirname "$0")/lib.sh"

"$bin" --help > "$tmp/o" 2> "$tmp/e"; check "--help" 0 $?
contains "--help lists inspect" "$tmp/o" "inspect DIR"
"$bin" --version > "$tmp/o"; check "--version" 0 $?
contains "--version" "$tmp/o" "tfshrink "
"$bin" > "$tmp/o" 2> "$tmp/e"; check "no command" 2 $?
"$bin" frobnicate 2> "$tmp/e"; check "unknown command" 2 $?
contains "unknown command message" "$tmp/e" "unknown command 'frobnicate'"
"$bin" inspect 2> "$tmp/e"; check "inspect without dir" 2 $?
"$bin" inspect --bogus "$model" 2> "$tmp/e"; check "inspect unknown option" 2 $?
"$bin" inspect --top x "$model" 2> "$tmp/e"; check "inspect bad --top" 2 $?
"$bin" help inspect > "$tmp/o"; check "help inspect" 0 $?
contains "help inspect text" "$tmp/o" "Usage: tfshrink inspect"
# The man page documents every long option each command's help lists.
for c in inspect shrink rewrite; do
  "$bin" help $c | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u > "$tmp/opts"
  while read -r o; do
    contains "man page documents $c $o" "$src/docs/tfshrink.1" "$(printf '%s' "$o" | sed 's/-/\\-/g')"
  done < "$tmp/opts"
done

# inspect: text and JSON; the parts add up to the directory size.
"$bin" inspect "$model" > "$tmp/o" 2> "$tmp/e"; check "inspect" 0 $?
contains "inspect shows parts" "$tmp/o" "variables: optimizer slots"
tail -n +2 "$tmp/o" | awk 'length($0) > 100 { print "line over 100 columns: " $0; bad=1 } END { exit bad }' ; check "inspect fits 100 columns" 0 $?
"$bin" inspect --json --top 0 "$model" > "$tmp/j"; check "inspect --json" 0 $?
python3 - "$tmp/j" "$model" <<'PY'; check "json parts add up to du" 0 $?
import json, os, sys
r = json.load(open(sys.argv[1]))
total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[2]) for f in fs)
parts = sum(p["bytes"] for p in r["parts"])
assert r["total_bytes"] == total == parts, (r["total_bytes"], total, parts)
assert r["layout"] in ("TF1", "TF2")
assert all(k in r for k in ("tensors", "functions", "signatures", "files", "variable_groups"))
PY
"$bin" inspect "$model" > /dev/full 2> "$tmp/e"; check "stdout write error" 1 $?
contains "stdout write error message" "$tmp/e" "cannot write to standard output"

# inspect --audit / --fail-on-audit: ops that touch files or run code,
# found inside the function library; exit 3 only when asked and found.
leaky="$src/tests/fixtures/models/audit_readfile"
"$bin" inspect --audit "$leaky" > "$tmp/o" 2> "$tmp/e"; check "inspect --audit" 0 $?
contains "audit lists ReadFile" "$tmp/o" "ReadFile"
contains "audit lists PrintV2 to a file" "$tmp/o" "PrintV2"
contains "audit names the function" "$tmp/o" "function __inference__peek_"
grep -q "^FILES\|^PART" "$tmp/o"; check "--audit prints only the audit" 1 $?
awk 'length($0) > 100 { bad=1 } END { exit bad }' "$tmp/o"; check "audit fits 100 columns" 0 $?
"$bin" inspect --audit --fail-on-audit "$leaky" > "$tmp/o" 2> "$tmp/e"; check "--fail-on-audit with findings" 3 $?
lines "--fail-on-audit one stderr line" "$tmp/e" 1
contains "--fail-on-audit message" "$tmp/e" "the audit found 2 ops"
"$bin" inspect --fail-on-audit "$leaky" > "$tmp/o" 2> /dev/null; check "--fail-on-audit full report" 3 $?
contains "full report keeps the audit section" "$tmp/o" "AUDIT: 2 ops"
"$bin" inspect --audit --fail-on-audit "$model" > "$tmp/o" 2> "$tmp/e"; check "--fail-on-audit clean model" 0 $?
contains "clean audit" "$tmp/o" "AUDIT: no ops"
[ -s "$tmp/e" ]; check "clean audit: nothing on stderr" 1 $?
"$bin" inspect --audit --json --fail-on-audit "$leaky" > "$tmp/j" 2> /dev/null; check "--audit --json" 3 $?
python3 - "$tmp/j" <<'PY'; check "--audit --json document" 0 $?
import json, sys
r = json.load(open(sys.argv[1]))
assert set(r) == {"format_version", "path", "audit"}, r.keys()
assert sorted(a["op"] for a in r["audit"]) == ["PrintV2", "ReadFile"], r["audit"]
for a in r["audit"]:
    assert set(a) == {"op", "node", "location", "meta_graph"} and a["location"].startswith("__inference__peek_"), a
PY
"$bin" inspect --json "$leaky" > "$tmp/j"; check "inspect --json with findings" 0 $?
python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['audit']; assert len(a) == 2 and a[0]['op'], a" "$tmp/j"
check "full --json holds the audit objects" 0 $?
"$bin" inspect --fail-on-audit "$leaky" > /dev/full 2> "$tmp/e"; check "stdout error wins over audit" 1 $?
"$bin" --help > "$tmp/o"; contains "usage documents exit 3" "$tmp/o" "3 audit findings"

# Errors: one line naming the file, exit 1.
"$bin" inspect "$tmp/nonexistent" 2> "$tmp/e"; check "missing dir" 1 $?
lines "missing dir one line" "$tmp/e" 1
contains "missing dir names path" "$tmp/e" "$tmp/nonexistent"
mkdir -p "$tmp/empty"
"$bin" inspect "$tmp/empty" 2> "$tmp/e"; check "not a savedmodel" 1 $?
contains "not a savedmodel message" "$tmp/e" "no saved_model.pb"
cp -r "$model" "$tmp/trunc"
head -c 100 "$model/saved_model.pb" > "$tmp/trunc/saved_model.pb"
"$bin" inspect "$tmp/trunc" 2> "$tmp/e"; check "truncated pb" 1 $?
lines "truncated pb one line" "$tmp/e" 1
contains "truncated pb names file" "$tmp/e" "saved_model.pb"

# rewrite: output appears complete, input untouched, existing output refused.
before=$(cd "$model" && find . -type f -exec sha256sum {} + | sort)
"$bin" rewrite -q "$model" "$tmp/out" > "$tmp/o" 2> "$tmp/e"; check "rewrite" 0 $?
[ -s "$tmp/o" ]; check "rewrite -q prints nothing" 1 $?
[ -f "$tmp/out/saved_model.pb" ] && [ -f "$tmp/out/variables/variables.index" ]; check "rewrite output complete" 0 $?
after=$(cd "$model" && find . -type f -exec sha256sum {} + | sort)
[ "$before" = "$after" ]; check "input unchanged" 0 $?
"$bin" rewrite "$model" "$tmp/out" 2> "$tmp/e"; check "rewrite refuses existing output" 1 $?
contains "existing output message" "$tmp/e" "--force"
"$bin" rewrite --force "$model" "$tmp/out" > /dev/null; check "rewrite --force" 0 $?
"$bin" rewrite "$model" "$model/inner" 2> "$tmp/e"; check "output inside input refused" 1 $?
[ ! -e "$model/inner" ]; check "nothing written inside input" 0 $?
"$bin" rewrite "$tmp/trunc" "$tmp/out2" 2> "$tmp/e"; check "rewrite of bad input fails" 1 $?
[ ! -e "$tmp/out2" ]; check "no partial output" 0 $?
ls -A "$tmp" | grep -q tfshrink-; check "no temporary directory left" 1 $?
"$bin" rewrite "$model" 2> "$tmp/e"; check "rewrite needs two args" 2 $?

finish
