/*
 * bench_quant.c - throughput of the quant kernels (src/quant), reference next
 * to SIMD, on one thread and on all threads, in GB/s of float32 (the input of
 * a conversion to a narrower type, the output of a conversion back).
 * Single-thread rates are per CPU-second of the process, so they stay
 * meaningful on a machine shared with other work; all-thread rates are by
 * the wall clock (and per CPU-second, to show per-core efficiency).
 *
 *   bench_quant [-m MiB] [-t THREADS] [-s SECONDS]
 *     -m  float32 working set per measurement (default 64 MiB: larger than
 *         the caches, like real weights)
 *     -t  thread count for the "all threads" columns (default: online CPUs)
 *     -s  minimum time per measurement (default 0.5 s; the best repetition counts)
 *
 * Built by tests/CMakeLists.txt (not a test); bench/bench_quant.sh runs it.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quant.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of every thread of the process: what the kernels actually got
 * when other processes compete for the cores. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static uint64_t rng = 0x243f6a8885a308d3ull;

static double rnd_normal(void) /* splitmix64 + Box-Muller */
{
	double u[2];
	for (int k = 0; k < 2; k++) {
		uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		u[k] = ((double)(z >> 11) + 0.5) * 0x1p-53;
	}
	return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

enum op { F32_F16, F16_F32, F32_BF16, BF16_F32, I8_CHANNEL, I8_TENSOR, I8_ROW, I8_DEQ, N_OPS };

static const char *op_name[N_OPS] = {
	"f32->f16", "f16->f32", "f32->bf16", "bf16->f32",
	"int8 per-channel", "int8 per-tensor", "int8 per-row", "int8->f32 dequant",
};

struct bufs {
	float *x, *y, *scales;
	uint16_t *h;
	int8_t *q;
	size_t n, rows, cols;
};

static int run_op(enum op op, struct bufs *b, const tfs_quant_opts *o)
{
	switch (op) {
	case F32_F16: return tfs_quant_f32_to_f16(b->x, b->n, b->h, o);
	case F16_F32: return tfs_quant_f16_to_f32(b->h, b->n, b->y, o);
	case F32_BF16: return tfs_quant_f32_to_bf16(b->x, b->n, b->h, o);
	case BF16_F32: return tfs_quant_bf16_to_f32(b->h, b->n, b->y, o);
	case I8_CHANNEL: return tfs_quant_f32_to_int8(b->x, b->rows, b->cols, TFS_INT8_PER_CHANNEL, b->q, b->scales, o);
	case I8_TENSOR: return tfs_quant_f32_to_int8(b->x, b->rows, b->cols, TFS_INT8_PER_TENSOR, b->q, b->scales, o);
	case I8_ROW: return tfs_quant_f32_to_int8(b->x, b->rows, b->cols, TFS_INT8_PER_ROW, b->q, b->scales, o);
	case I8_DEQ: return tfs_quant_int8_to_f32(b->q, b->rows, b->cols, TFS_INT8_PER_CHANNEL, b->scales, b->y, o);
	default: return -1;
	}
}

struct rate {
	double wall; /* GB/s by the clock on the wall */
	double cpu;  /* GB/s per CPU-second: per-core throughput */
};

/* Best rates over repetitions filling min_s seconds. */
static struct rate measure(enum op op, struct bufs *b, const tfs_quant_opts *o, double min_s)
{
	double best_wall = INFINITY, best_cpu = INFINITY, start = now();
	int reps = 0;
	do {
		double t0 = now(), c0 = cpu_now();
		if (run_op(op, b, o) != 0) {
			fprintf(stderr, "bench_quant: %s failed\n", op_name[op]);
			exit(1);
		}
		double t = now() - t0, c = cpu_now() - c0;
		best_wall = t < best_wall ? t : best_wall;
		best_cpu = c < best_cpu ? c : best_cpu;
		reps++;
	} while (now() - start < min_s || reps < 3);
	double bytes = (double)(b->n * sizeof(float));
	return (struct rate){ bytes / best_wall / 1e9, bytes / best_cpu / 1e9 };
}

/* "%.2f", or "-" for a measurement not taken (a fresh buffer per use). */
#define num(v) fmt2((v), (char[16]){ 0 })
static const char *fmt2(double v, char *buf)
{
	if (isnan(v))
		return "-";
	snprintf(buf, 16, "%.2f", v);
	return buf;
}

int main(int argc, char **argv)
{
	double mib = 64, min_s = 0.5;
	int threads = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-m") && i + 1 < argc)
			mib = atof(argv[++i]);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			min_s = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_quant [-m MiB] [-t THREADS] [-s SECONDS]\n");
			return 2;
		}
	}
	struct bufs b = { .cols = 1024 };
	b.rows = (size_t)(mib * 1048576.0 / sizeof(float)) / b.cols;
	if (b.rows < 1)
		b.rows = 1;
	b.n = b.rows * b.cols;
	b.x = malloc(b.n * sizeof *b.x);
	b.y = malloc(b.n * sizeof *b.y);
	b.h = malloc(b.n * sizeof *b.h);
	b.q = malloc(b.n);
	b.scales = malloc((b.rows > b.cols ? b.rows : b.cols) * sizeof *b.scales);
	if (!b.x || !b.y || !b.h || !b.q || !b.scales) {
		fprintf(stderr, "bench_quant: out of memory\n");
		return 1;
	}
	/* Weight-like values: normal, sd 0.05, a few channels 10x larger. */
	for (size_t i = 0; i < b.n; i++)
		b.x[i] = (float)(rnd_normal() * ((i % b.cols) % 97 == 0 ? 0.5 : 0.05));
	/* Warm up the pages of every buffer (first-touch faults are not kernel time). */
	memset(b.y, 0, b.n * sizeof *b.y);
	memset(b.h, 0, b.n * sizeof *b.h);
	memset(b.q, 0, b.n);

	const tfs_quant_kernels *k = tfs_quant_kernels_best();
	tfs_quant_opts all = { .threads = threads };
	int nt = tfs_quant_threads(&all);
	printf("quant kernels: f16 %s, bf16 %s, int8 %s; %zu floats (%.0f MiB) per call, int8 as [%zu, %zu]\n",
		k->f16_isa, k->bf16_isa, k->int8_isa, b.n, (double)b.n * 4 / 1048576, b.rows, b.cols);
	double load[3] = { 0 };
	FILE *la = fopen("/proc/loadavg", "r");
	if (la) {
		if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = NAN;
		fclose(la);
	}
	printf("GB/s of float32 (input of f32->x, output of x->f32), best of >= %.1f s each.\n", min_s);
	printf("1 thread: per CPU-second (per-core, robust to other load); %d threads: wall clock.\n", nt);
	printf("load average at start: %.2f (%d online CPUs)\n\n", load[0], tfs_quant_threads(NULL));
	printf("%-18s %9s %9s %8s %9s %9s %9s\n", "", "ref", "simd", "simd", "ref", "simd", "simd");
	printf("%-18s %9s %9s %8s %9s %9s %9s\n", "kernel", "1 thread", "1 thread", "/ref",
		"all", "all", "all/core");
	for (int op = 0; op < N_OPS; op++) {
		if (op == I8_DEQ) /* dequantize the last codes: per-channel scales needed */
			run_op(I8_CHANNEL, &b, NULL);
		tfs_quant_opts r1 = { .threads = 1, .impl = TFS_QUANT_IMPL_REF };
		tfs_quant_opts s1 = { .threads = 1 };
		tfs_quant_opts rn = { .threads = nt, .impl = TFS_QUANT_IMPL_REF };
		tfs_quant_opts sn = { .threads = nt };
		/* Dequantization is plain C (the compiler vectorizes it): no ref/SIMD pair. */
		struct rate none = { NAN, NAN };
		struct rate g_r1 = op == I8_DEQ ? none : measure(op, &b, &r1, min_s);
		struct rate g_s1 = measure(op, &b, &s1, min_s);
		struct rate g_rn = op == I8_DEQ ? none : measure(op, &b, &rn, min_s);
		struct rate g_sn = measure(op, &b, &sn, min_s);
		char ratio[16] = "-";
		if (!isnan(g_r1.cpu))
			snprintf(ratio, sizeof ratio, "%.1fx", g_s1.cpu / g_r1.cpu);
		printf("%-18s %9s %9.2f %8s %9s %9.2f %9.2f\n", op_name[op], num(g_r1.cpu), g_s1.cpu,
			ratio, num(g_rn.wall), g_sn.wall, g_sn.cpu);
		fflush(stdout);
	}
	free(b.x);
	free(b.y);
	free(b.h);
	free(b.q);
	free(b.scales);
	return 0;
}
