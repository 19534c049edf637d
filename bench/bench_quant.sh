#!/usr/bin/env bash
# Throughput of the quantization kernels (src/quant): reference vs SIMD, one
# thread and all threads, in GB/s of float32; then checks the per-core goals
# (SIMD, one thread: >= 2 GB/s float32 -> float16, >= 1 GB/s float32 -> int8).
# Usage: bench/bench_quant.sh [BUILD_DIR] [bench_quant options: -m MiB -t N -s SECONDS]
#   BUILD_DIR defaults to build/ (a Release build: cmake -S . -B build
#   -DCMAKE_BUILD_TYPE=Release && cmake --build build --target bench_quant)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
bin="$build/tests/bench_quant"
[ -x "$bin" ] || { echo "bench_quant not built: cmake --build $build --target bench_quant" >&2; exit 1; }
grep -q 'CMAKE_BUILD_TYPE:STRING=Debug' "$build/CMakeCache.txt" 2>/dev/null &&
	echo "warning: $build is a Debug build; numbers will be low" >&2

echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) online"
out=$("$bin" "$@")
echo "$out"
echo
# Goals, on the one-thread SIMD column (per core).
echo "$out" | awk '
	$1 == "f32->f16"               { f16 = $3 }
	$1 == "int8" && $2 == "per-channel" { i8c = $4 }
	$1 == "int8" && $2 == "per-tensor"  { i8t = $4 }
	$1 == "int8" && $2 == "per-row"     { i8r = $4 }
	END {
		i8 = i8c; if (i8t < i8) i8 = i8t; if (i8r < i8) i8 = i8r
		printf "goal fp16 >= 2 GB/s per core: %.2f GB/s  %s\n", f16, (f16 >= 2 ? "met" : "NOT MET")
		printf "goal int8 >= 1 GB/s per core: %.2f GB/s (slowest axis)  %s\n", i8, (i8 >= 1 ? "met" : "NOT MET")
		exit ((f16 >= 2 && i8 >= 1) ? 0 : 1)
	}'
