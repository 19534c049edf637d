/*
 * quant.c - entry points: kernel dispatch and threading.
 *
 * Each call splits its input into contiguous ranges, one per thread, runs the
 * first on the calling thread and joins the rest before returning (no pool:
 * a thread is started only for at least MIN_BYTES_PER_THREAD of input, which
 * keeps the start-up cost under a few percent). Every output element depends
 * only on its input element and, for int8, on its group's maximum, which is
 * exact; so the bytes never depend on the thread count. Error statistics are
 * summed over fixed blocks in a fixed order for the same reason.
 */
#include "quant.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckd.h"
#include "error.h"

/* Input bytes below which another thread is not worth its start-up. */
#define MIN_BYTES_PER_THREAD ((size_t)1 << 20)
/* Range boundaries fall on multiples of this many elements, so threads never
 * write the same cache line (64 bytes of int8, 128 of float16). */
#define RANGE_ALIGN 64
/* Error statistics are summed per block of this many elements. */
#define STATS_BLOCK ((size_t)1 << 16)
/* Per-channel int8 with fewer columns than this repeats the scale vector to
 * about REPEAT_MIN elements so the kernel sees long runs, not short rows. */
#define REPEAT_COLS 256
#define REPEAT_MIN 2048

static inline uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static inline float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* ---- kernel selection ---------------------------------------------------- */

static tfs_quant_kernels best_kernels;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void init_best(void)
{
	best_kernels = *tfs_quant_kernels_ref();
	tfs_quant_kernels_x86(&best_kernels);
}

const tfs_quant_kernels *tfs_quant_kernels_best(void)
{
	pthread_once(&best_once, init_best);
	return &best_kernels;
}

static const tfs_quant_kernels *kernels_for(const tfs_quant_opts *opts)
{
	if (opts && opts->impl == TFS_QUANT_IMPL_REF)
		return tfs_quant_kernels_ref();
	return tfs_quant_kernels_best();
}

/* ---- threads ------------------------------------------------------------- */

static int online_cpus(void)
{
	static int cached;
	int n = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c < 1 ? 1 : c > TFS_QUANT_MAX_THREADS ? TFS_QUANT_MAX_THREADS : (int)c;
		__atomic_store_n(&cached, n, __ATOMIC_RELAXED);
	}
	return n;
}

int tfs_quant_threads(const tfs_quant_opts *opts)
{
	if (!opts || opts->threads <= 0)
		return online_cpus();
	return opts->threads > TFS_QUANT_MAX_THREADS ? TFS_QUANT_MAX_THREADS : opts->threads;
}

/* Threads for `bytes` of input: at least 1, at most the option. */
static int threads_for(const tfs_quant_opts *opts, size_t bytes)
{
	int nt = tfs_quant_threads(opts);
	size_t useful = bytes / MIN_BYTES_PER_THREAD;
	if (useful < 1)
		useful = 1;
	return (size_t)nt > useful ? (int)useful : nt;
}

/* Works on items [begin, end); tid in [0, threads) indexes per-thread state. */
typedef void (*range_fn)(void *ctx, size_t begin, size_t end, int tid);

struct worker {
	pthread_t th;
	range_fn fn;
	void *ctx;
	size_t begin, end;
	int tid;
	int started;
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	w->fn(w->ctx, w->begin, w->end, w->tid);
	return NULL;
}

/* Start of range t of nt over n items, rounded down to `align` (computed
 * without forming n * t, which could overflow). */
static size_t range_start(size_t n, int nt, int t, size_t align)
{
	if (t >= nt)
		return n;
	size_t b = (n / (size_t)nt) * (size_t)t + ((n % (size_t)nt) * (size_t)t) / (size_t)nt;
	return b - b % align;
}

/* Runs fn over [0, n) split into nt contiguous ranges. A thread that cannot be
 * started has its range run on the calling thread instead, so this never fails. */
static void run_parallel(size_t n, int nt, size_t align, range_fn fn, void *ctx)
{
	if (nt > TFS_QUANT_MAX_THREADS)
		nt = TFS_QUANT_MAX_THREADS;
	if (nt <= 1 || n == 0) {
		fn(ctx, 0, n, 0);
		return;
	}
	struct worker w[TFS_QUANT_MAX_THREADS];
	for (int t = 0; t < nt; t++) {
		w[t] = (struct worker){ .fn = fn, .ctx = ctx, .tid = t,
			.begin = range_start(n, nt, t, align), .end = range_start(n, nt, t + 1, align) };
	}
	for (int t = 1; t < nt; t++)
		w[t].started = w[t].begin < w[t].end && pthread_create(&w[t].th, NULL, worker_main, &w[t]) == 0;
	fn(ctx, w[0].begin, w[0].end, 0);
	for (int t = 1; t < nt; t++) {
		if (w[t].started)
			pthread_join(w[t].th, NULL);
		else if (w[t].begin < w[t].end)
			fn(ctx, w[t].begin, w[t].end, t);
	}
}

/* ---- float16 / bfloat16 -------------------------------------------------- */

struct conv_ctx {
	void (*from_f32)(const float *x, size_t n, uint16_t *out);
	void (*to_f32)(const uint16_t *h, size_t n, float *out);
	const float *f;
	const uint16_t *h;
	float *fo;
	uint16_t *ho;
};

static void conv_from_f32_range(void *p, size_t b, size_t e, int tid)
{
	struct conv_ctx *c = p;
	(void)tid;
	c->from_f32(c->f + b, e - b, c->ho + b);
}

static void conv_to_f32_range(void *p, size_t b, size_t e, int tid)
{
	struct conv_ctx *c = p;
	(void)tid;
	c->to_f32(c->h + b, e - b, c->fo + b);
}

static int from_f32(void (*k)(const float *, size_t, uint16_t *), const float *x, size_t n,
	uint16_t *out, const tfs_quant_opts *opts)
{
	if (n && (!x || !out))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL array for %zu elements", n);
	if (n == 0)
		return TFSHRINK_OK;
	struct conv_ctx c = { .from_f32 = k, .f = x, .ho = out };
	run_parallel(n, threads_for(opts, n * sizeof *x), RANGE_ALIGN, conv_from_f32_range, &c);
	return TFSHRINK_OK;
}

static int to_f32(void (*k)(const uint16_t *, size_t, float *), const uint16_t *h, size_t n,
	float *out, const tfs_quant_opts *opts)
{
	if (n && (!h || !out))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL array for %zu elements", n);
	if (n == 0)
		return TFSHRINK_OK;
	struct conv_ctx c = { .to_f32 = k, .h = h, .fo = out };
	/* Sized by the float32 output: the work per element is the same. */
	run_parallel(n, threads_for(opts, n * sizeof *out), RANGE_ALIGN, conv_to_f32_range, &c);
	return TFSHRINK_OK;
}

int tfs_quant_f32_to_f16(const float *x, size_t n, uint16_t *out, const tfs_quant_opts *opts)
{
	return from_f32(kernels_for(opts)->f32_to_f16, x, n, out, opts);
}

int tfs_quant_f16_to_f32(const uint16_t *h, size_t n, float *out, const tfs_quant_opts *opts)
{
	return to_f32(kernels_for(opts)->f16_to_f32, h, n, out, opts);
}

int tfs_quant_f32_to_bf16(const float *x, size_t n, uint16_t *out, const tfs_quant_opts *opts)
{
	return from_f32(kernels_for(opts)->f32_to_bf16, x, n, out, opts);
}

int tfs_quant_bf16_to_f32(const uint16_t *h, size_t n, float *out, const tfs_quant_opts *opts)
{
	return to_f32(kernels_for(opts)->bf16_to_f32, h, n, out, opts);
}

/* ---- int8 ---------------------------------------------------------------- */

size_t tfs_int8_num_scales(tfs_int8_axis axis, size_t rows, size_t cols)
{
	switch (axis) {
	case TFS_INT8_PER_TENSOR: return 1;
	case TFS_INT8_PER_CHANNEL: return cols;
	case TFS_INT8_PER_ROW: return rows;
	}
	return 0;
}

static int check_int8_args(const void *x, size_t rows, size_t cols, tfs_int8_axis axis,
	const void *q, const float *scales, size_t *n_out)
{
	size_t n;
	if (axis != TFS_INT8_PER_TENSOR && axis != TFS_INT8_PER_CHANNEL && axis != TFS_INT8_PER_ROW)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: unknown int8 axis %d", (int)axis);
	if (tfs_ckd_mul(&n, rows, cols) || n > SIZE_MAX / sizeof(float))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: %zu x %zu elements overflow", rows, cols);
	if (n && (!x || !q))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL array for %zu elements", n);
	if (!scales && tfs_int8_num_scales(axis, rows, cols))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL scales");
	*n_out = n;
	return TFSHRINK_OK;
}

/* Records which element made the tensor unquantizable. Only reached on the
 * refusal path, so a plain scan is fine. */
static int nonfinite_error(const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t a = f2u(x[i]) & 0x7fffffffu;
		if (a >= 0x7f800000u)
			return tfs_err(TFS_QUANT_NONFINITE, NULL, -1,
				"int8: element %zu is %s; keep the tensor as float32", i,
				a == 0x7f800000u ? "Inf" : "NaN");
	}
	return tfs_err(TFS_QUANT_NONFINITE, NULL, -1, "int8: tensor holds NaN or Inf");
}

struct int8_ctx {
	const tfs_quant_kernels *k;
	const float *x;
	int8_t *q;
	float *scales;
	size_t cols;
	/* per-tensor: one maximum per thread */
	uint32_t tmax[TFS_QUANT_MAX_THREADS];
	/* per-channel: one cols-long maximum per thread */
	uint32_t *acc;
	/* per-channel, few columns: scales repeated; rep_len is a multiple of cols */
	const float *rep;
	size_t rep_len;
	/* per-row: set by a thread that met a NaN or Inf */
	int bad[TFS_QUANT_MAX_THREADS];
};

static void tensor_max_range(void *p, size_t b, size_t e, int tid)
{
	struct int8_ctx *c = p;
	c->tmax[tid] = c->k->absmax_bits(c->x + b, e - b);
}

static void tensor_quant_range(void *p, size_t b, size_t e, int tid)
{
	struct int8_ctx *c = p;
	(void)tid;
	c->k->int8_quant_s(c->x + b, e - b, c->scales[0], c->q + b);
}

/* Rows [b, e) into this thread's column maxima. */
static void channel_max_range(void *p, size_t b, size_t e, int tid)
{
	struct int8_ctx *c = p;
	uint32_t *acc = c->acc + (size_t)tid * c->cols;
	for (size_t r = b; r < e; r++)
		c->k->absmax_cols(c->x + r * c->cols, c->cols, acc);
}

/* Elements [b, e) of the flat tensor, which may start and end mid-row. */
static void channel_quant_range(void *p, size_t b, size_t e, int tid)
{
	struct int8_ctx *c = p;
	(void)tid;
	size_t i = b, col = b % c->cols;
	if (c->rep) {
		/* rep holds rep_len + cols scales, so rep + col covers rep_len of them;
		 * advancing by rep_len (a multiple of cols) keeps col unchanged. */
		while (i < e) {
			size_t len = e - i < c->rep_len ? e - i : c->rep_len;
			c->k->int8_quant_v(c->x + i, len, c->rep + col, c->q + i);
			i += len;
		}
		return;
	}
	while (i < e) {
		size_t len = c->cols - col;
		if (len > e - i)
			len = e - i;
		c->k->int8_quant_v(c->x + i, len, c->scales + col, c->q + i);
		i += len;
		col = 0;
	}
}

/* Rows [b, e): each row's maximum, scale and codes, while it is in cache. */
static void row_range(void *p, size_t b, size_t e, int tid)
{
	struct int8_ctx *c = p;
	for (size_t r = b; r < e; r++) {
		const float *x = c->x + r * c->cols;
		uint32_t m = c->k->absmax_bits(x, c->cols);
		if (m >= 0x7f800000u) {
			c->bad[tid] = 1;
			c->scales[r] = 1.0f;
			continue;
		}
		c->scales[r] = tfs_int8_scale_ref(u2f(m));
		c->k->int8_quant_s(x, c->cols, c->scales[r], c->q + r * c->cols);
	}
}

static int quant_per_tensor(struct int8_ctx *c, size_t n, int nt)
{
	run_parallel(n, nt, RANGE_ALIGN, tensor_max_range, c);
	uint32_t m = 0;
	for (int t = 0; t < nt; t++)
		m = c->tmax[t] > m ? c->tmax[t] : m;
	if (m >= 0x7f800000u)
		return nonfinite_error(c->x, n);
	c->scales[0] = tfs_int8_scale_ref(u2f(m));
	run_parallel(n, nt, RANGE_ALIGN, tensor_quant_range, c);
	return TFSHRINK_OK;
}

static int quant_per_channel(struct int8_ctx *c, size_t rows, size_t n, int nt)
{
	size_t cols = c->cols, acc_bytes;
	/* Per-thread maxima cost nt1 * cols * 4 bytes; at most 1/16 of the input. */
	int nt1 = nt;
	if ((size_t)nt1 > rows / 16)
		nt1 = rows / 16 < 1 ? 1 : (int)(rows / 16);
	if (tfs_ckd_mul(&acc_bytes, (size_t)nt1 * cols, sizeof(uint32_t)))
		return tfs_nomem();
	c->acc = calloc(1, acc_bytes ? acc_bytes : 1);
	if (!c->acc)
		return tfs_nomem();
	run_parallel(rows, nt1, 1, channel_max_range, c);
	for (int t = 1; t < nt1; t++) {
		const uint32_t *a = c->acc + (size_t)t * cols;
		for (size_t j = 0; j < cols; j++)
			c->acc[j] = a[j] > c->acc[j] ? a[j] : c->acc[j];
	}
	int bad = 0;
	for (size_t j = 0; j < cols; j++) {
		if (c->acc[j] >= 0x7f800000u) {
			bad = 1;
			break;
		}
		c->scales[j] = tfs_int8_scale_ref(u2f(c->acc[j]));
	}
	free(c->acc);
	c->acc = NULL;
	if (bad)
		return nonfinite_error(c->x, n);

	float rep[REPEAT_MIN + 2 * REPEAT_COLS];
	if (cols < REPEAT_COLS) {
		size_t k = (REPEAT_MIN + cols - 1) / cols;
		c->rep_len = k * cols;
		for (size_t i = 0; i < c->rep_len + cols; i++)
			rep[i] = c->scales[i % cols];
		c->rep = rep;
	}
	run_parallel(n, nt, RANGE_ALIGN, channel_quant_range, c);
	c->rep = NULL;
	return TFSHRINK_OK;
}

static int quant_per_row(struct int8_ctx *c, size_t rows, size_t n, int nt)
{
	if ((size_t)nt > rows)
		nt = rows < 1 ? 1 : (int)rows;
	run_parallel(rows, nt, 1, row_range, c);
	for (int t = 0; t < nt; t++)
		if (c->bad[t])
			return nonfinite_error(c->x, n);
	return TFSHRINK_OK;
}

int tfs_quant_f32_to_int8(const float *x, size_t rows, size_t cols, tfs_int8_axis axis,
	int8_t *q, float *scales, const tfs_quant_opts *opts)
{
	size_t n = 0;
	TFS_TRY(check_int8_args(x, rows, cols, axis, q, scales, &n));
	if (n == 0) { /* empty groups: maximum 0, so scale 1 */
		for (size_t g = 0; g < tfs_int8_num_scales(axis, rows, cols); g++)
			scales[g] = 1.0f;
		return TFSHRINK_OK;
	}
	int nt = threads_for(opts, n * sizeof *x);
	struct int8_ctx c = { .k = kernels_for(opts), .x = x, .q = q, .scales = scales, .cols = cols };
	switch (axis) {
	case TFS_INT8_PER_TENSOR: return quant_per_tensor(&c, n, nt);
	case TFS_INT8_PER_CHANNEL: return quant_per_channel(&c, rows, n, nt);
	case TFS_INT8_PER_ROW: return quant_per_row(&c, rows, n, nt);
	}
	return TFSHRINK_EINVAL; /* unreachable: checked above */
}

struct deq_ctx {
	const int8_t *q;
	float *y;
	const float *scales;
	size_t cols;
	tfs_int8_axis axis;
};

/* Plain float32 multiplies: any vectorisation the compiler picks gives the
 * same products. */
static void deq_range(void *p, size_t b, size_t e, int tid)
{
	struct deq_ctx *c = p;
	(void)tid;
	size_t i = b;
	while (i < e) {
		size_t col = i % c->cols, row = i / c->cols;
		size_t len = c->cols - col;
		if (len > e - i)
			len = e - i;
		const int8_t *q = c->q + i;
		float *y = c->y + i;
		if (c->axis == TFS_INT8_PER_CHANNEL) {
			const float *s = c->scales + col;
			for (size_t j = 0; j < len; j++)
				y[j] = (float)q[j] * s[j];
		} else {
			float s = c->scales[c->axis == TFS_INT8_PER_ROW ? row : 0];
			for (size_t j = 0; j < len; j++)
				y[j] = (float)q[j] * s;
		}
		i += len;
	}
}

int tfs_quant_int8_to_f32(const int8_t *q, size_t rows, size_t cols, tfs_int8_axis axis,
	const float *scales, float *y, const tfs_quant_opts *opts)
{
	size_t n = 0;
	TFS_TRY(check_int8_args(q, rows, cols, axis, y, scales, &n));
	if (n == 0)
		return TFSHRINK_OK;
	struct deq_ctx c = { .q = q, .y = y, .scales = scales, .cols = cols, .axis = axis };
	run_parallel(n, threads_for(opts, n * sizeof *y), RANGE_ALIGN, deq_range, &c);
	return TFSHRINK_OK;
}

/* ---- int8 along any axis ------------------------------------------------- */

struct axis_ctx {
	const tfs_quant_kernels *k;
	const float *x;
	const int8_t *qi;
	int8_t *q;
	float *y;
	const float *scales;
	size_t d, inner;
};

/* Runs [b, e) of the outer * d runs of `inner` elements, each with its
 * channel's scale. */
static void axis_quant_range(void *p, size_t b, size_t e, int tid)
{
	struct axis_ctx *c = p;
	(void)tid;
	for (size_t r = b; r < e; r++)
		c->k->int8_quant_s(c->x + r * c->inner, c->inner, c->scales[r % c->d], c->q + r * c->inner);
}

static void axis_deq_range(void *p, size_t b, size_t e, int tid)
{
	struct axis_ctx *c = p;
	(void)tid;
	for (size_t r = b; r < e; r++) {
		float s = c->scales[r % c->d];
		const int8_t *q = c->qi + r * c->inner;
		float *y = c->y + r * c->inner;
		for (size_t j = 0; j < c->inner; j++)
			y[j] = (float)q[j] * s;
	}
}

/* Element and run counts of an [outer, d, inner] view, overflow-checked. */
static int axis_sizes(size_t outer, size_t d, size_t inner, size_t *runs, size_t *n)
{
	if (tfs_ckd_mul(runs, outer, d) || tfs_ckd_mul(n, *runs, inner) || *n > SIZE_MAX / sizeof(float))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: %zu x %zu x %zu elements overflow", outer, d, inner);
	return TFSHRINK_OK;
}

int tfs_quant_f32_to_int8_axis(const float *x, size_t outer, size_t d, size_t inner,
	int8_t *q, float *scales, const tfs_quant_opts *opts)
{
	size_t runs = 0, n = 0;
	TFS_TRY(axis_sizes(outer, d, inner, &runs, &n));
	if (inner == 1)
		return tfs_quant_f32_to_int8(x, outer, d, TFS_INT8_PER_CHANNEL, q, scales, opts);
	if (outer == 1)
		return tfs_quant_f32_to_int8(x, d, inner, TFS_INT8_PER_ROW, q, scales, opts);
	if (d && !scales)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL scales");
	if (n && (!x || !q))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL array for %zu elements", n);
	const tfs_quant_kernels *k = kernels_for(opts);
	uint32_t *acc = calloc(d ? d : 1, sizeof *acc);
	if (!acc)
		return tfs_nomem();
	for (size_t r = 0; r < runs; r++) {
		uint32_t m = k->absmax_bits(x + r * inner, inner);
		if (m > acc[r % d])
			acc[r % d] = m;
	}
	for (size_t c = 0; c < d; c++) {
		if (acc[c] >= 0x7f800000u) {
			free(acc);
			return nonfinite_error(x, n);
		}
		scales[c] = tfs_int8_scale_ref(u2f(acc[c]));
	}
	free(acc);
	struct axis_ctx c = { .k = k, .x = x, .q = q, .scales = scales, .d = d, .inner = inner };
	run_parallel(runs, threads_for(opts, n * sizeof *x), 1, axis_quant_range, &c);
	return TFSHRINK_OK;
}

int tfs_quant_int8_axis_to_f32(const int8_t *q, size_t outer, size_t d, size_t inner,
	const float *scales, float *y, const tfs_quant_opts *opts)
{
	size_t runs = 0, n = 0;
	TFS_TRY(axis_sizes(outer, d, inner, &runs, &n));
	if (inner == 1)
		return tfs_quant_int8_to_f32(q, outer, d, TFS_INT8_PER_CHANNEL, scales, y, opts);
	if (outer == 1)
		return tfs_quant_int8_to_f32(q, d, inner, TFS_INT8_PER_ROW, scales, y, opts);
	if ((d && !scales) || (n && (!q || !y)))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL array for %zu elements", n);
	struct axis_ctx c = { .qi = q, .y = y, .scales = scales, .d = d, .inner = inner };
	run_parallel(runs, threads_for(opts, n * sizeof *y), 1, axis_deq_range, &c);
	return TFSHRINK_OK;
}

/* ---- error statistics ---------------------------------------------------- */

struct stats_part {
	size_t n, skipped;
	double sum_x2, sum_err2, max_abs_err, max_rel_err;
};

static void stats_block(const float *x, const float *y, size_t n, double tiny, struct stats_part *p)
{
	*p = (struct stats_part){ 0 };
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i])) {
			p->skipped++;
			continue;
		}
		double xd = x[i];
		double d = fabs(xd - (double)y[i]);
		if (isnan(d)) /* a finite value that became NaN: unbounded error */
			d = INFINITY;
		p->n++;
		p->sum_x2 += xd * xd;
		p->sum_err2 += d * d;
		if (d > p->max_abs_err)
			p->max_abs_err = d;
		if (fabs(xd) > tiny && d / fabs(xd) > p->max_rel_err)
			p->max_rel_err = d / fabs(xd);
	}
}

struct stats_ctx {
	const float *x, *y;
	size_t n;
	double tiny;
	struct stats_part *parts;
};

static void stats_range(void *p, size_t b, size_t e, int tid)
{
	struct stats_ctx *c = p;
	(void)tid;
	for (size_t blk = b; blk < e; blk++) {
		size_t off = blk * STATS_BLOCK;
		size_t len = c->n - off < STATS_BLOCK ? c->n - off : STATS_BLOCK;
		stats_block(c->x + off, c->y + off, len, c->tiny, &c->parts[blk]);
	}
}

static void stats_add(struct stats_part *acc, const struct stats_part *p)
{
	acc->n += p->n;
	acc->skipped += p->skipped;
	acc->sum_x2 += p->sum_x2;
	acc->sum_err2 += p->sum_err2;
	if (p->max_abs_err > acc->max_abs_err)
		acc->max_abs_err = p->max_abs_err;
	if (p->max_rel_err > acc->max_rel_err)
		acc->max_rel_err = p->max_rel_err;
}

int tfs_quant_error_stats(const float *x, const float *y, size_t n, double tiny,
	tfs_quant_stats *out, const tfs_quant_opts *opts)
{
	if (!out || (n && (!x || !y)))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: NULL array for error statistics");
	if (!(tiny >= 0.0))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "quant: the relative-error threshold must be >= 0");
	size_t nblocks = n / STATS_BLOCK + (n % STATS_BLOCK != 0);
	struct stats_part total = { 0 };
	struct stats_ctx c = { .x = x, .y = y, .n = n, .tiny = tiny };
	int nt = threads_for(opts, n * 2 * sizeof *x);
	c.parts = nt > 1 ? malloc(nblocks * sizeof *c.parts) : NULL;
	if (c.parts) {
		run_parallel(nblocks, nt, 1, stats_range, &c);
		for (size_t b = 0; b < nblocks; b++)
			stats_add(&total, &c.parts[b]);
		free(c.parts);
	} else {
		/* One thread (or no memory for the partial sums): the same blocks
		 * added in the same order, so the same result. */
		for (size_t b = 0; b < nblocks; b++) {
			struct stats_part part;
			size_t off = b * STATS_BLOCK;
			stats_block(x + off, y + off, n - off < STATS_BLOCK ? n - off : STATS_BLOCK, tiny, &part);
			stats_add(&total, &part);
		}
	}
	*out = (tfs_quant_stats){
		.n = total.n,
		.skipped = total.skipped,
		.sum_x2 = total.sum_x2,
		.sum_err2 = total.sum_err2,
		.max_abs_err = total.max_abs_err,
		.max_rel_err = total.max_rel_err,
	};
	if (total.sum_err2 == 0.0) {
		out->sqnr_db = INFINITY;
		out->rel_rms = 0.0;
	} else if (total.sum_x2 == 0.0) {
		out->sqnr_db = -INFINITY;
		out->rel_rms = INFINITY;
	} else {
		out->sqnr_db = 10.0 * log10(total.sum_x2 / total.sum_err2);
		out->rel_rms = sqrt(total.sum_err2 / total.sum_x2);
	}
	return TFSHRINK_OK;
}
