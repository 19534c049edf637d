# lib.sh - what the CLI test scripts share: a scratch directory removed on
# exit, pass/fail counters and the assertions. Call `finish` last.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0

check() { # NAME EXPECTED_EXIT ACTUAL_EXIT
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); else echo "FAIL: $1: exit $3, expected $2"; fails=$((fails + 1)); fi
}
contains() { # NAME FILE TEXT
  if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else echo "FAIL: $1: '$3' not in:"; cat "$2"; fails=$((fails + 1)); fi
}
lines() { # NAME FILE N
  local n; n=$(wc -l < "$2")
  if [ "$n" = "$3" ]; then pass=$((pass + 1)); else echo "FAIL: $1: $n lines, expected $3:"; cat "$2"; fails=$((fails + 1)); fi
}
py() { # NAME FILE PYTHON-EXPRESSION-ON-d (the parsed JSON) that must be true
  if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($3) else 1)" "$2"; then
    pass=$((pass + 1)); else echo "FAIL: $1: ($3) is false for:"; head -c 3000 "$2"; fails=$((fails + 1)); fi
}
finish() {
  echo "$pass passed, $fails failed"
  [ "$fails" = 0 ]
}
