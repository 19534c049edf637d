#!/usr/bin/env bash
# Installs what tfshrink needs on Debian. Usage: install-deps.sh [build|test]
#   build: compiler, CMake, protobuf-c, snappy (enough to build and run tfshrink)
#   test:  also cmocka, clang's fuzzing/sanitizer runtime, and a project-local
#          Python virtualenv (.venv) with the pinned TensorFlow the tests use.
set -euo pipefail
what=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

build_pkgs=(build-essential cmake pkg-config libprotobuf-c-dev protobuf-c-compiler libsnappy-dev)
test_pkgs=(libcmocka-dev python3 python3-venv clang libclang-rt-dev)

want=("${build_pkgs[@]}")
if [ "$what" = test ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$what" = test ]; then
  venv="$here/.venv"
  req="$here/tests/fixtures/requirements.txt"
  stamp="$venv/.requirements.installed"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
    echo "installing Python test requirements into .venv (TensorFlow; takes a few minutes)"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$req"
    cp "$req" "$stamp"
  fi
fi
