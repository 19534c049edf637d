#!/usr/bin/env bash
# Atomic output: tfshrink never leaves a partial model where the output goes,
# and never touches its input.
#  (a) SIGKILL of `shrink`, `rewrite` and `rewrite --force` at many points
#      while they write a ~35 MB model: afterwards the output is absent or
#      complete (byte-identical to an uninterrupted run, loads with
#      `inspect --verify`); with --force the old output stays until the new
#      one replaces it; the input is unchanged (sha256 of every file).
#      Temp dirs ".out.tfshrink-XXXXXX" beside the output may stay behind a
#      kill mid-write (nothing can remove them after SIGKILL): they are
#      counted, described and removed by this test. What one holds: the
#      output being built, mode 0700, in write order (saved_model.pb, then
#      variables/variables.data-*, variables.index, assets and side files,
#      fingerprint.pb), the last file cut short; or, killed during the
#      clean-up after a --force swap, what is left of the old output.
#      tfshrink never removes such dirs on a later run (another tfshrink may
#      still be writing one); they are safe to delete when none runs.
#  (b) A full disk (a 200 KiB tmpfs, mounted in a private mount namespace):
#      exit 1, one line naming the file and saying "No space left on device",
#      no output and no temp dir. Skipped (exit 77) when no tmpfs can be mounted.
#  (c) Errors writing stdout (> /dev/full, closed stdout) are errors: exit 1.
# Usage: test_atomic.sh TFSHRINK_BINARY SOURCE_DIR
# Env: TFSHRINK_ATOMIC_KILLS (kill points per command, default 50),
#      TFSHRINK_ATOMIC_MIB (MiB of tensors and of asset in the big model, default 16 each).
set -u
bin=$1
src=$2
fixtures="$src/tests/fixtures/models"
kills=${TFSHRINK_ATOMIC_KILLS:-50}
mib=${TFSHRINK_ATOMIC_MIB:-16}
command -v python3 > /dev/null || { echo "SKIP: python3 is needed to build the test model"; exit 77; }
[ -d "$fixtures/tf2_hashtable_vocab" ] || { echo "SKIP: fixtures missing"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tfshrink-atomic-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # NAME EXPECTED_EXIT ACTUAL_EXIT
  if [ "$2" = "$3" ]; then ok; else bad "$1: exit $3, expected $2"; fi
}

# ------------------------------------------------------------ the big model
# tf2_hashtable_vocab (a vocabulary asset and a few variables), plus eight
# zero float32 tensors in its bundle and a vocabulary grown with zeros. The
# zeros are sparse, so making the input is instant; the output is real bytes.
# The bundle is rewritten without TensorFlow, with tests/bad/pbwire.py.
in="$tmp/in"
cp -r "$fixtures/tf2_hashtable_vocab" "$in"
python3 - "$in" "$mib" "$src" <<'PY' || { echo "FAIL: cannot build the test model"; exit 1; }
import glob, os, struct, sys

model, mib = sys.argv[1], int(sys.argv[2])
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.join(sys.argv[3], "tests", "bad"))
import pbwire as pw

assert pw.crc32c(b"123456789") == 0xE3069283 and pw.crc32c_zeros(999) == pw.crc32c(bytes(999))
varint = pw.varint

def write_table(kv):
    out = bytearray()
    def put(b):
        off = len(out)
        out.extend(pw.block_on_disk(b))
        return varint(off) + varint(len(b))
    data_h = put(pw.block_contents(kv, 16))
    meta_h = put(pw.block_contents([], 1))
    index_h = put(pw.block_contents([(kv[-1][0], data_h)], 1))
    footer = meta_h + index_h
    out += footer + bytes(40 - len(footer)) + pw.MAGIC
    return bytes(out)

var = os.path.join(model, "variables")
index = os.path.join(var, "variables.index")
shard = sorted(glob.glob(os.path.join(var, "variables.data-*")))[0]
kv = pw.table_read(open(index, "rb").read())
pos = os.path.getsize(shard)
n_pads, elems = 8, mib * (1 << 20) // 8 // 4
crc = pw.crc_mask(pw.crc32c_zeros(elems * 4))
for i in range(n_pads):
    shape = b"\x12" + varint(len(b"\x08" + varint(elems))) + b"\x08" + varint(elems)  # dim { size }
    entry = (b"\x08\x01" + b"\x12" + varint(len(shape)) + shape + b"\x20" + varint(pos) +
             b"\x28" + varint(elems * 4) + b"\x35" + struct.pack("<I", crc))
    kv.append((b"zz_padding/%d/.ATTRIBUTES/VARIABLE_VALUE" % i, entry))
    pos += elems * 4
kv.sort()
with open(shard, "r+b") as f:
    f.truncate(pos)
with open(index, "wb") as f:
    f.write(write_table(kv))
for asset in glob.glob(os.path.join(model, "assets", "*")):
    with open(asset, "r+b") as f:
        f.truncate(mib << 20)
# fingerprint.pb hashes saved_model.pb and the index; it no longer matches.
fp = os.path.join(model, "fingerprint.pb")
if os.path.exists(fp):
    os.remove(fp)
PY
"$bin" inspect --verify "$in" > /dev/null 2> "$tmp/e" || { echo "FAIL: the test model does not load:"; cat "$tmp/e"; exit 1; }

snapshot() { (cd "$in" && find . -type f -printf '%p %s %T@ %C@ %i\n' | sort); }
hashes() { (cd "$in" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
hashes > "$tmp/in.sha256"
snapshot > "$tmp/in.stat"

now() { date +%s.%N; }
# Uninterrupted runs: the reference outputs and how long writing takes.
"$bin" rewrite -q --no-progress "$fixtures/tf2_hashtable_vocab" "$tmp/old"; check "rewrite of the small model" 0 $?
declare -A dur
for mode in shrink rewrite; do
  dur[$mode]=1000
  for i in 1 2; do # the shorter of two runs (the first one may find a cold cache)
    rm -rf "$tmp/ref-$mode"
    t0=$(now)
    "$bin" "$mode" -q --no-progress "$in" "$tmp/ref-$mode" 2> "$tmp/e"; check "uninterrupted $mode" 0 $?
    dur[$mode]=$(awk -v a="$t0" -v b="$(now)" -v d="${dur[$mode]}" 'BEGIN { t = b - a; printf "%.3f", t < d ? t : d }')
  done
  "$bin" inspect --verify "$tmp/ref-$mode" > /dev/null 2>&1; check "inspect --verify of the $mode output" 0 $?
done
dur[rewrite-force]=${dur[rewrite]}
asset=$(cd "$in" && ls assets/* | head -1)
asset_size=$(stat -c %s "$in/$asset")
echo "uninterrupted: shrink ${dur[shrink]} s, rewrite ${dur[rewrite]} s ($(du -sh "$tmp/ref-rewrite" | cut -f1) written)"

# ------------------------------------------------------------ (a) SIGKILL
same_tree() { diff -r -q "$1" "$2" > /dev/null 2>&1; }
total_kills=0
total_partial=0
for mode in shrink rewrite rewrite-force; do
  n=$kills
  [ "$mode" = rewrite-force ] && n=$((kills / 2))
  cmd=(rewrite --force)
  ref="$tmp/ref-rewrite"
  case $mode in
    shrink) cmd=(shrink); ref="$tmp/ref-shrink" ;;
    rewrite) cmd=(rewrite) ;;
  esac
  out_bytes=$(du -sb "$ref" | cut -f1)
  declare -A early=()
  commit_tries=0
  hit=0 attempts=0 absent=0 complete=0 old=0 partial=0 temps=0 finished=0
  while [ $hit -lt "$n" ] && [ $attempts -lt $((n * 3)) ]; do
    out="$tmp/out"
    rm -rf "$out"
    [ "$mode" = rewrite-force ] && cp -r "$tmp/old" "$out"
    # Three kinds of kill point: after a random delay (this also hits the
    # reading and planning before anything is written), once the temp dir
    # holds a random number of bytes (spread over the writing), and, every
    # fifth run (at most ten), as soon as the new output is in place: the
    # final fsyncs, a short window that is often missed.
    attempts=$((attempts + 1))
    t0=$(now)
    "$bin" "${cmd[@]}" -q --no-progress "$in" "$out" 2> /dev/null &
    pid=$!
    if [ $((attempts % 5)) -eq 0 ] && [ $commit_tries -lt 10 ]; then
      kind=commit how=commit
      commit_tries=$((commit_tries + 1))
      while kill -0 "$pid" 2> /dev/null && [ "$(stat -c %s "$out/$asset" 2> /dev/null)" != "$asset_size" ]; do :; done
    elif [ $((attempts % 2)) -eq 0 ]; then
      want=$(( (RANDOM * 32768 + RANDOM) % (out_bytes * 95 / 100 + 1) ))
      kind=bytes how="$want bytes"
      while kill -0 "$pid" 2> /dev/null; do
        d=$(find "$tmp" -maxdepth 1 -name '.out.tfshrink-*' | head -1)
        [ -n "$d" ] && [ "$(du -sb "$d" 2> /dev/null | cut -f1)" -ge "$want" ] 2> /dev/null && break
      done
    else
      delay=$(awk -v t="${dur[$mode]}" -v r=$RANDOM 'BEGIN { printf "%.3f", t * r / 32768 }')
      kind=time how="${delay} s"
      sleep "$delay"
    fi
    kill -9 "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    rc=$?
    if [ $rc -ne 137 ]; then # finished before the kill
      finished=$((finished + 1))
      early[$kind]=$(( ${early[$kind]:-0} + 1 ))
      [ $rc -eq 0 ] || bad "$mode: exit $rc without a kill"
      # The delays follow the shortest run seen, since load on the machine varies.
      dur[$mode]=$(awk -v a="$t0" -v b="$(now)" -v d="${dur[$mode]}" 'BEGIN { t = b - a; printf "%.3f", t < d ? t : d }')
      continue
    fi
    hit=$((hit + 1))
    shopt -s nullglob dotglob
    leftovers=("$tmp"/.out.tfshrink-*)
    shopt -u nullglob dotglob
    if [ -e "$out" ]; then
      if same_tree "$out" "$ref"; then
        complete=$((complete + 1))
        "$bin" inspect --verify "$out" > /dev/null 2>&1 || bad "$mode kill at ${how}: complete output does not load"
      elif [ "$mode" = rewrite-force ] && same_tree "$out" "$tmp/old"; then
        old=$((old + 1))
      else
        partial=$((partial + 1))
        bad "$mode kill at ${how}: partial output at $out (kept in $tmp/partial-$mode-$hit)"
        cp -r "$out" "$tmp/partial-$mode-$hit"
        ls -lR "$out" | head -20
      fi
    else
      absent=$((absent + 1))
      [ "$mode" = rewrite-force ] && bad "$mode kill at ${how}: the old output is gone"
    fi
    if [ ${#leftovers[@]} -gt 0 ]; then
      temps=$((temps + 1))
      # What a kill leaves: the output being built (a SavedModel missing its
      # last files), or with --force the old output being deleted after the swap.
      if [ $temps -le 2 ]; then
        for d in "${leftovers[@]}"; do
          echo "  $mode, kill at ${how}: left $(basename "$d") with $(find "$d" -type f | wc -l) files," \
               "$(du -sb "$d" | cut -f1) bytes: $(cd "$d" && find . -type f | sort | tr '\n' ' ')"
        done
      fi
      rm -rf "${leftovers[@]}"
    fi
    if [ "$(snapshot)" != "$(cat "$tmp/in.stat")" ]; then
      bad "$mode kill at ${how}: the input changed"
    fi
  done
  kept=""
  [ "$mode" = rewrite-force ] && kept=", old output kept $old"
  echo "$mode: $hit kill points ($attempts runs, $finished finished first:$(for k in "${!early[@]}"; do printf ' %s' "$k $((${early[$k]}))"; done)): output absent $absent," \
       "complete $complete$kept, partial $partial; a temp dir left by $temps kills"
  [ $hit -ge "$n" ] || bad "$mode: only $hit kill points hit a running process"
  total_kills=$((total_kills + hit))
  total_partial=$((total_partial + partial))
  rm -rf "$tmp/out"
done
echo "SIGKILL: $total_kills kill points, $total_partial partial outputs"
if hashes | cmp -s - "$tmp/in.sha256"; then ok; else bad "the input's bytes changed"; fi

# ------------------------------------------------------------ (b) full disk
cat > "$tmp/diskfull.sh" <<'SH'
# Runs inside a private mount namespace: mounts a 200 KiB tmpfs on $1 and
# writes models there. Prints one result line per case.
mnt=$1 bin=$2
shift 2
mount -t tmpfs -o size=200k tmpfs "$mnt" || exit 77
while [ $# -ge 2 ]; do
  cmd=$1 model=$2
  shift 2
  "$bin" $cmd -q --no-progress "$model" "$mnt/out" > /dev/null 2> "$mnt/../err"
  rc=$?
  echo "case=$cmd:$(basename "$model") rc=$rc lines=$(wc -l < "$mnt/../err") left=$(ls -A "$mnt" | tr '\n' ' ')"
  echo "  stderr: $(cat "$mnt/../err")"
done
SH
mkdir -p "$tmp/full/mnt"
cases=(rewrite "$fixtures/keras2_cnn_bn_adam" rewrite "$in" shrink "$in")
if [ "$(id -u)" -eq 0 ]; then ns=(unshare -m); else ns=(unshare -rm); fi
"${ns[@]}" bash "$tmp/diskfull.sh" "$tmp/full/mnt" "$bin" "${cases[@]}" > "$tmp/full/log" 2>&1
rc=$?
diskfull=ran
if [ $rc -eq 77 ] || ! grep -q '^case=' "$tmp/full/log"; then
  diskfull=skipped
  echo "SKIP (b): cannot mount a tmpfs ($(head -1 "$tmp/full/log"))"
else
  cat "$tmp/full/log"
  while read -r line; do
    case $line in
      case=*) ;;
      *) continue ;;
    esac
    name=${line%% *}
    [[ $line == *" rc=1 "* ]] && ok || bad "disk full, $name: $line"
    [[ $line == *" lines=1 "* ]] && ok || bad "disk full, $name: not one line of error"
    [[ $line == *" left=" ]] && ok || bad "disk full, $name: left files behind: $line"
  done < "$tmp/full/log"
  n_nospace=$(grep -c "stderr: tfshrink: $tmp/full/mnt/.*No space left on device" "$tmp/full/log")
  [ "$n_nospace" -eq 3 ] && ok || bad "disk full: each error must name the file and say 'No space left on device'"
fi

# ------------------------------------------------------------ (c) stdout errors
small="$fixtures/keras2_mlp_adam"
stdout_case() { # NAME ARGS... : must exit 1 and say so when stdout is /dev/full
  local name=$1
  shift
  rm -rf "$tmp/o"
  "$bin" "$@" > /dev/full 2> "$tmp/e"
  check "$name > /dev/full" 1 $?
  grep -q "cannot write to standard output" "$tmp/e" && ok || { bad "$name > /dev/full: message"; cat "$tmp/e"; }
}
stdout_case "inspect" inspect "$small"
stdout_case "inspect --json" inspect --json "$small"
stdout_case "shrink --json" shrink --json --no-progress "$small" "$tmp/o"
stdout_case "shrink --json --dry-run" shrink --json --dry-run "$small"
stdout_case "rewrite" rewrite --no-progress "$small" "$tmp/o"
rm -rf "$tmp/o"
"$bin" inspect "$small" >&- 2> "$tmp/e"; check "inspect with stdout closed" 1 $?
"$bin" shrink --json --no-progress "$small" "$tmp/o" >&- 2> "$tmp/e"; check "shrink --json with stdout closed" 1 $?

echo "$pass checks passed, $fails failed"
[ $fails -eq 0 ] || exit 1
[ $diskfull = ran ] || exit 77
exit 0
