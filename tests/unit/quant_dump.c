/*
 * quant_dump.c - test-only filter for tests/e2e/test_quant_numpy.py: reads raw
 * little-endian values from stdin, converts them with the library's quant
 * entry points, writes the raw result to stdout.
 *
 *   quant_dump [--ref] [--threads N] f32-f16 | f32-bf16     float32 in, 16-bit out
 *   quant_dump [--ref] [--threads N] f16-f32 | bf16-f32     16-bit in, float32 out
 *   quant_dump [--ref] [--threads N] int8-tensor|int8-channel|int8-row ROWS COLS
 *       float32[ROWS*COLS] in; float32 scales then int8 codes out
 *
 * --ref uses the scalar reference kernels instead of the fastest ones.
 * Exit status: 0 ok, 2 usage, 1 I/O or library error, 3 int8 refused (NaN/Inf).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

static void *read_all(size_t *n)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		len += fread(buf + len, 1, cap - len, stdin);
		if (len < cap)
			break;
		char *nb = realloc(buf, cap *= 2);
		if (!nb)
			free(buf);
		buf = nb;
	}
	if (!buf || ferror(stdin)) {
		fprintf(stderr, "quant_dump: cannot read stdin\n");
		exit(1);
	}
	*n = len;
	return buf;
}

static void write_all(const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, stdout) != n) {
		fprintf(stderr, "quant_dump: write failed\n");
		exit(1);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: quant_dump [--ref] [--threads N] "
		"f32-f16|f32-bf16|f16-f32|bf16-f32|int8-tensor|int8-channel|int8-row [ROWS COLS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	tfs_quant_opts o = { 0 };
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--ref") == 0)
			o.impl = TFS_QUANT_IMPL_REF;
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			o.threads = atoi(argv[++i]);
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	const char *mode = argv[i++];
	size_t bytes;
	void *in = read_all(&bytes);
	int rc = 0;
	if (!strcmp(mode, "f32-f16") || !strcmp(mode, "f32-bf16")) {
		size_t n = bytes / 4;
		uint16_t *out = malloc(n * 2 + 1);
		if (!out)
			return 1;
		rc = mode[4] == 'f' ? tfs_quant_f32_to_f16(in, n, out, &o) : tfs_quant_f32_to_bf16(in, n, out, &o);
		write_all(out, n * 2);
		free(out);
	} else if (!strcmp(mode, "f16-f32") || !strcmp(mode, "bf16-f32")) {
		size_t n = bytes / 2;
		float *out = malloc(n * 4 + 1);
		if (!out)
			return 1;
		rc = mode[0] == 'f' ? tfs_quant_f16_to_f32(in, n, out, &o) : tfs_quant_bf16_to_f32(in, n, out, &o);
		write_all(out, n * 4);
		free(out);
	} else if (!strncmp(mode, "int8-", 5) && i + 2 == argc) {
		tfs_int8_axis axis = !strcmp(mode, "int8-tensor") ? TFS_INT8_PER_TENSOR
			: !strcmp(mode, "int8-channel") ? TFS_INT8_PER_CHANNEL
			: !strcmp(mode, "int8-row") ? TFS_INT8_PER_ROW : (tfs_int8_axis)-1;
		size_t rows = strtoull(argv[i], NULL, 10), cols = strtoull(argv[i + 1], NULL, 10);
		if ((int)axis < 0 || rows * cols != bytes / 4)
			return usage();
		size_t ns = tfs_int8_num_scales(axis, rows, cols);
		float *sc = malloc(ns * 4 + 1);
		int8_t *q = malloc(rows * cols + 1);
		if (!sc || !q)
			return 1;
		rc = tfs_quant_f32_to_int8(in, rows, cols, axis, q, sc, &o);
		if (rc == TFS_QUANT_NONFINITE) {
			fprintf(stderr, "quant_dump: %s\n", tfshrink_error_last()->message);
			return 3;
		}
		write_all(sc, ns * 4);
		write_all(q, rows * cols);
		free(sc);
		free(q);
	} else {
		return usage();
	}
	free(in);
	if (rc < 0) {
		fprintf(stderr, "quant_dump: %s\n", tfshrink_error_last()->message);
		return 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return 1;
	return 0;
}
