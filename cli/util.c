#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *cli_prog = "tfshrink";

int cli_fail(void)
{
	const tfshrink_error *e = tfshrink_error_last();
	fprintf(stderr, "%s: ", cli_prog);
	if (e->path)
		fprintf(stderr, "%s: ", e->path);
	if (e->offset >= 0)
		fprintf(stderr, "at byte %" PRId64 ": ", e->offset);
	fprintf(stderr, "%s\n", e->message && *e->message ? e->message : tfshrink_code_name(e->code));
	return EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s--help' for more information.\n", cli_prog, cmd ? cmd : "");
	return EXIT_USAGE;
}

const char *cli_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return buf;
	}
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

const char *cli_shape(int ndims, const int64_t *dims, char *buf, size_t len)
{
	if (ndims < 0) {
		snprintf(buf, len, "unknown");
		return buf;
	}
	size_t n = (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < ndims && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRId64, i ? "," : "", dims[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
	return buf;
}

int cli_finish_stdout(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write to standard output: %s\n", cli_prog, strerror(errno));
		return EXIT_FAIL;
	}
	return code;
}

static void sep(json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = 1;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
	if (key) {
		fputc('"', j->f);
		for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
			if (*p == '"' || *p == '\\')
				fprintf(j->f, "\\%c", *p);
			else if (*p < 0x20)
				fprintf(j->f, "\\u%04x", *p);
			else
				fputc(*p, j->f);
		}
		fputs("\": ", j->f);
	}
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_begin_obj(json *j, const char *key)
{
	if (j->depth > 0 || j->need_comma[0])
		sep(j, key);
	fputc('{', j->f);
	j->need_comma[++j->depth] = 0;
}

void json_end_obj(json *j)
{
	j->depth--;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
	fputc('}', j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void json_begin_arr(json *j, const char *key)
{
	sep(j, key);
	fputc('[', j->f);
	j->need_comma[++j->depth] = 0;
}

void json_end_arr(json *j)
{
	int had = j->need_comma[j->depth];
	j->depth--;
	if (had) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(']', j->f);
}

void json_str(json *j, const char *key, const char *val)
{
	if (!j)
		return;
	sep(j, key);
	if (val)
		put_string(j->f, val);
	else
		fputs("null", j->f);
}

void json_u64(json *j, const char *key, uint64_t v)
{
	sep(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(json *j, const char *key, int64_t v)
{
	sep(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_double(json *j, const char *key, double v)
{
	sep(j, key);
	if (v != v || v > 1.7e308 || v < -1.7e308)
		fputs("null", j->f);
	else
		fprintf(j->f, "%.17g", v);
}

void json_bool(json *j, const char *key, int v)
{
	sep(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(json *j, const char *key)
{
	sep(j, key);
	fputs("null", j->f);
}

void json_dims(json *j, const char *key, int ndims, const int64_t *dims)
{
	if (ndims < 0) {
		json_null(j, key);
		return;
	}
	sep(j, key);
	fputc('[', j->f);
	for (int i = 0; i < ndims; i++)
		fprintf(j->f, "%s%" PRId64, i ? ", " : "", dims[i]);
	fputc(']', j->f);
}

int cli_progress(const char *phase, uint64_t done, uint64_t total, void *payload)
{
	prog_state *p = payload;
	if (!p->on || total == 0)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double dt = (double)(now.tv_sec - p->last.tv_sec) + (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
	if (dt < 0.15 && done < total) /* about 6 updates a second */
		return 0;
	p->last = now;
	char a[32], b[32];
	fprintf(stderr, "\r%s: %s %s / %s (%3.0f%%)", cli_prog, phase, cli_bytes(done, a, sizeof a),
	        cli_bytes(total, b, sizeof b), 100.0 * (double)done / (double)total);
	p->shown = 1;
	return 0;
}

