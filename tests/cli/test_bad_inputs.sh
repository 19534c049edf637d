#!/usr/bin/env bash
# The bad-input corpus (tests/bad/make_bad.py) through the CLI: for every
# case, `inspect --verify`, `rewrite` and `shrink` must either fail with
# exit 1, exactly one line on stderr naming the file and the expected
# phrase, and no output or temporary directory left behind; or, for the
# valid edge cases, succeed with output that opens and verifies. Cases with
# an audit finding must make `inspect --audit --fail-on-audit` exit 3.
# Also checks that tests/bad/README.md holds the corpus table as generated.
# Usage: test_bad_inputs.sh TFSHRINK_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
command -v python3 > /dev/null || { echo "python3 missing: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2> /dev/null; rm -rf "$tmp"' EXIT
corpus="$tmp/corpus"
out="$tmp/out"
mkdir -p "$out"
python3 "$src/tests/bad/make_bad.py" "$src" "$corpus" || { echo "FAIL: make_bad.py"; exit 1; }
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The README's table is the generator's, so documentation and tests agree.
python3 "$src/tests/bad/make_bad.py" --table > "$tmp/table.md"
if grep -qxFf "$tmp/table.md" "$src/tests/bad/README.md" &&
   [ "$(grep -cxFf "$tmp/table.md" "$src/tests/bad/README.md")" = "$(wc -l < "$tmp/table.md")" ]; then ok
else bad "tests/bad/README.md does not hold the table of 'make_bad.py --table'"; fi

# expect_fail CASE FILE PHRASE COMMAND... : exit 1, one stderr line naming
# CASE_DIR/FILE and containing PHRASE, nothing left in $out.
expect_fail() {
  local name=$1 file=$2 phrase=$3
  shift 3
  "$@" > "$tmp/o" 2> "$tmp/e"
  local rc=$? what="$name: ${*:2:1}"
  [ $rc = 1 ] && ok || bad "$what: exit $rc, expected 1: $(head -c 300 "$tmp/e")"
  local n
  n=$(wc -l < "$tmp/e")
  [ "$n" = 1 ] && ok || bad "$what: $n lines on stderr, expected 1"
  grep -qF -- "$corpus/$name/$file" "$tmp/e" && ok || bad "$what: error does not name $file: $(head -c 300 "$tmp/e")"
  grep -qF -- "$phrase" "$tmp/e" && ok || bad "$what: '$phrase' not in: $(head -c 300 "$tmp/e")"
  [ -z "$(ls -A "$out")" ] && ok || { bad "$what: left behind: $(ls -A "$out")"; rm -rf "${out:?}"/* "$out"/.[!.]*; }
}

# expect_ok CASE COMMAND... : exit 0, nothing on stderr.
expect_ok() {
  local name=$1
  shift
  "$@" > "$tmp/o" 2> "$tmp/e"
  local rc=$?
  [ $rc = 0 ] && [ ! -s "$tmp/e" ] && ok || bad "$name: ${*:2:1}: exit $rc: $(head -c 300 "$tmp/e")"
}

cases=0
classes=""
while IFS=$'\t' read -r name cls expect file phrase audit run; do
  cases=$((cases + 1))
  classes="$classes $cls"
  dir="$corpus/$name"
  if [ "$expect" != OK ]; then
    expect_fail "$name" "$file" "$phrase" "$bin" inspect --verify "$dir"
    [ "$run" = all ] || continue
    expect_fail "$name" "$file" "$phrase" "$bin" rewrite --no-progress "$dir" "$out/rewritten"
    expect_fail "$name" "$file" "$phrase" "$bin" shrink --no-progress "$dir" "$out/shrunk"
    continue
  fi
  expect_ok "$name" "$bin" inspect --verify "$dir"
  "$bin" inspect --audit --fail-on-audit "$dir" > "$tmp/o" 2> "$tmp/e"
  rc=$?
  if [ "$audit" = - ]; then
    [ $rc = 0 ] && ok || bad "$name: inspect --fail-on-audit: exit $rc, expected 0: $(cat "$tmp/o" "$tmp/e" | head -c 300)"
  else
    [ $rc = 3 ] && ok || bad "$name: inspect --fail-on-audit: exit $rc, expected 3"
    grep -qw -- "$audit" "$tmp/o" && ok || bad "$name: inspect --audit does not list $audit"
  fi
  [ "$run" = all ] || continue
  for cmd in rewrite shrink; do
    expect_ok "$name" "$bin" "$cmd" -q --no-progress "$dir" "$out/$cmd"
    expect_ok "$name" "$bin" inspect --verify "$out/$cmd"
    rm -rf "${out:?}/$cmd"
  done
  [ -z "$(ls -A "$out")" ] && ok || { bad "$name: left behind: $(ls -A "$out")"; rm -rf "${out:?}"/* "$out"/.[!.]*; }
done < "$corpus/manifest.tsv"

# Every one of the 16 classes has a case.
for c in $(seq 1 16); do
  case " $classes " in *" $c "*) ok ;; *) bad "class $c has no case" ;; esac
done
echo "$cases cases: $pass checks passed, $fails failed"
[ "$fails" = 0 ]
