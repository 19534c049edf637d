/* test_quant.c - float16 / bfloat16 / int8 kernels: exhaustive 16-bit round
 * trips, float32 conversions against independent double-precision references,
 * SIMD == reference bytes on every tail length, int8 rounding and error
 * bounds, thread-count invariance, error statistics. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

static uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float rnd_unit(void)
{
	return (float)((double)(rnd() >> 11) * 0x1p-52 - 1.0);
}

static int is_f16_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu); }
static int is_bf16_nan(uint16_t h) { return (h & 0x7f80u) == 0x7f80u && (h & 0x7fu); }

/* ---- independent references: from the definition, in double -------------- */

/* Rounds |f| to a multiple of 2^ulp_exp(|f|) with nearbyint (ties to even in
 * the default rounding mode) and re-encodes with frexp: a different route
 * from the reference's integer bit arithmetic. */
static uint16_t indep_f16(float f)
{
	uint16_t sign = signbit(f) ? 0x8000u : 0;
	if (isnan(f))
		return (uint16_t)(sign | 0x7e00u | ((f2u(f) >> 13) & 0x3ffu));
	if (isinf(f))
		return (uint16_t)(sign | 0x7c00u);
	double a = fabs((double)f);
	if (a == 0)
		return sign;
	int e;
	frexp(a, &e); /* a in [2^(e-1), 2^e) */
	int ulp_exp = e - 1 >= -14 ? e - 1 - 10 : -24;
	double v = ldexp(nearbyint(ldexp(a, -ulp_exp)), ulp_exp);
	if (v > 65504.0)
		return (uint16_t)(sign | 0x7c00u);
	if (v < 0x1p-14)
		return (uint16_t)(sign | (uint16_t)ldexp(v, 24));
	int e2;
	double m = frexp(v, &e2);
	return (uint16_t)(sign | (uint16_t)((e2 - 1 + 15) << 10) | (uint16_t)((m * 2.0 - 1.0) * 1024.0));
}

static uint16_t indep_bf16(float f)
{
	uint16_t sign = signbit(f) ? 0x8000u : 0;
	if (isnan(f))
		return (uint16_t)(sign | 0x7fc0u);
	if (isinf(f))
		return (uint16_t)(sign | 0x7f80u);
	double a = fabs((double)f);
	if (a == 0)
		return sign;
	int e;
	frexp(a, &e);
	int ulp_exp = e - 1 >= -126 ? e - 1 - 7 : -133;
	double v = ldexp(nearbyint(ldexp(a, -ulp_exp)), ulp_exp);
	if (v >= 0x1p128)
		return (uint16_t)(sign | 0x7f80u);
	if (v < 0x1p-126)
		return (uint16_t)(sign | (uint16_t)ldexp(v, 133));
	int e2;
	double m = frexp(v, &e2);
	return (uint16_t)(sign | (uint16_t)((e2 - 1 + 127) << 7) | (uint16_t)((m * 2.0 - 1.0) * 128.0));
}

/* Value of a half from its fields, in double. */
static double indep_f16_value(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double s = (h & 0x8000u) ? -1.0 : 1.0;
	if (e == 0)
		return s * ldexp(m, -24);
	return s * ldexp(1024 + m, e - 25);
}

/* ---- exhaustive 16-bit ----------------------------------------------------- */

static void check_f16_all(const float *f, const uint16_t *back)
{
	for (uint32_t i = 0; i < 65536; i++) {
		uint16_t h = (uint16_t)i;
		if (is_f16_nan(h)) {
			/* NaN stays NaN, keeps sign and payload, gains the quiet bit. */
			assert_true(isnan(f[i]));
			assert_int_equal(signbit(f[i]) != 0, (h & 0x8000u) != 0);
			assert_int_equal(f2u(f[i]), ((uint32_t)(h & 0x8000u) << 16) | 0x7fc00000u | ((uint32_t)(h & 0x3ffu) << 13));
			assert_int_equal(back[i], h | 0x200u);
			continue;
		}
		if ((h & 0x7fffu) == 0x7c00u)
			assert_true(isinf(f[i]) && (signbit(f[i]) != 0) == ((h & 0x8000u) != 0));
		else
			assert_true((double)f[i] == indep_f16_value(h));
		assert_int_equal(signbit(f[i]) != 0, (h & 0x8000u) != 0); /* -0 too */
		if (back[i] != h)
			fail_msg("f16 %04x -> %08x -> %04x", h, f2u(f[i]), back[i]);
	}
}

static void check_bf16_all(const float *f, const uint16_t *back)
{
	for (uint32_t i = 0; i < 65536; i++) {
		uint16_t h = (uint16_t)i;
		assert_int_equal(f2u(f[i]), (uint32_t)h << 16); /* exact, NaNs untouched */
		if (is_bf16_nan(h)) {
			assert_true(isnan(f[i]));
			assert_int_equal(back[i], (h & 0x8000u) | 0x7fc0u);
		} else if (back[i] != h) {
			fail_msg("bf16 %04x -> %08x -> %04x", h, f2u(f[i]), back[i]);
		}
	}
}

/* float16 and bfloat16 go through the same checks. */
typedef void (*from_f32_fn)(const float *x, size_t n, uint16_t *out);
typedef void (*to_f32_fn)(const uint16_t *h, size_t n, float *out);

typedef struct half_fmt {
	const char *name;
	int bf16; /* picks the kernels' bf16 entries */
	float (*to_f32_ref)(uint16_t h);
	uint16_t (*from_f32_ref)(float x);
	uint16_t (*indep)(float x);
	void (*check_all)(const float *f, const uint16_t *back);
	int (*to_f32)(const uint16_t *h, size_t n, float *out, const tfs_quant_opts *opts);
	int (*from_f32)(const float *x, size_t n, uint16_t *out, const tfs_quant_opts *opts);
} half_fmt;

static const half_fmt F16 = { "f16", 0, tfs_f16_to_f32_ref, tfs_f32_to_f16_ref, indep_f16, check_f16_all,
	                      tfs_quant_f16_to_f32, tfs_quant_f32_to_f16 };
static const half_fmt BF16 = { "bf16", 1, tfs_bf16_to_f32_ref, tfs_f32_to_bf16_ref, indep_bf16, check_bf16_all,
	                       tfs_quant_bf16_to_f32, tfs_quant_f32_to_bf16 };

static from_f32_fn kernel_from(const tfs_quant_kernels *k, const half_fmt *fmt)
{
	return fmt->bf16 ? k->f32_to_bf16 : k->f32_to_f16;
}

static to_f32_fn kernel_to(const tfs_quant_kernels *k, const half_fmt *fmt)
{
	return fmt->bf16 ? k->bf16_to_f32 : k->f16_to_f32;
}

static const char *kernel_isa(const tfs_quant_kernels *k, const half_fmt *fmt)
{
	return fmt->bf16 ? k->bf16_isa : k->f16_isa;
}

/* Every 16-bit pattern to float32 and back: the reference, both kernel
 * sets, and the threaded entry points. */
static void exhaustive(const half_fmt *fmt)
{
	uint16_t *h = malloc(65536 * sizeof *h), *back = malloc(65536 * sizeof *back);
	float *f = malloc(65536 * sizeof *f);
	assert_non_null(h);
	assert_non_null(back);
	assert_non_null(f);
	for (uint32_t i = 0; i < 65536; i++) {
		h[i] = (uint16_t)i;
		f[i] = fmt->to_f32_ref(h[i]);
		back[i] = fmt->from_f32_ref(f[i]);
	}
	fmt->check_all(f, back);

	const tfs_quant_kernels *ks[2] = { tfs_quant_kernels_ref(), tfs_quant_kernels_best() };
	for (int k = 0; k < 2; k++) {
		memset(f, 0, 65536 * sizeof *f);
		kernel_to(ks[k], fmt)(h, 65536, f);
		kernel_from(ks[k], fmt)(f, 65536, back);
		fmt->check_all(f, back);
	}
	tfs_quant_opts o = { .threads = 3 };
	assert_int_equal(fmt->to_f32(h, 65536, f, &o), 0);
	assert_int_equal(fmt->from_f32(f, 65536, back, &o), 0);
	fmt->check_all(f, back);
	free(h);
	free(back);
	free(f);
}

static void test_f16_exhaustive(void **state)
{
	(void)state;
	exhaustive(&F16);
}

static void test_bf16_exhaustive(void **state)
{
	(void)state;
	exhaustive(&BF16);
}

/* ---- float32 -> 16-bit on edge sets ---------------------------------------- */

struct edge {
	uint32_t f;
	uint16_t want;
};

/* Checks one value through the reference, the independent reference and the
 * fastest kernel. */
static void check_one(const half_fmt *fmt, uint32_t u, const tfs_quant_kernels *kb)
{
	float x = u2f(u);
	uint16_t r = fmt->from_f32_ref(x), s;
	kernel_from(kb, fmt)(&x, 1, &s);
	if (r != fmt->indep(x) || r != s)
		fail_msg("f32 %08x -> %s ref %04x, independent %04x, %s %04x", u, fmt->name, r, fmt->indep(x),
		         kernel_isa(kb, fmt), s);
}

/* The fixed cases, through the reference (which must give `want`) and check_one. */
static const half_fmt *const halves[2] = { &F16, &BF16 };

static void check_edges(const half_fmt *fmt, const struct edge *edges, size_t n, const tfs_quant_kernels *kb)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t r = fmt->from_f32_ref(u2f(edges[i].f));
		if (r != edges[i].want)
			fail_msg("f32 %08x -> %s %04x, want %04x", edges[i].f, fmt->name, r, edges[i].want);
		check_one(fmt, edges[i].f, kb);
	}
}

static void test_f16_edges(void **state)
{
	(void)state;
	static const struct edge edges[] = {
		{ 0x00000000, 0x0000 }, { 0x80000000, 0x8000 },          /* +-0 */
		{ 0x00000001, 0x0000 }, { 0x80000001, 0x8000 },          /* float subnormals */
		{ 0x33000000, 0x0000 },                                  /* 2^-25: tie -> even 0 */
		{ 0x33000001, 0x0001 },                                  /* just above: 2^-24 */
		{ 0x32ffffff, 0x0000 },                                  /* just below */
		{ 0x33800000, 0x0001 },                                  /* 2^-24, smallest subnormal */
		{ 0x33c00000, 0x0002 },                                  /* 1.5 * 2^-24: tie -> 2 */
		{ 0x34200000, 0x0002 },                                  /* 2.5 * 2^-24: tie -> 2 */
		{ 0x34600000, 0x0004 },                                  /* 3.5 * 2^-24: tie -> 4 */
		{ 0x387fc000, 0x03ff },                                  /* largest subnormal */
		{ 0x387fe000, 0x0400 },                                  /* tie with 2^-14: -> even 0x400 */
		{ 0x387fdfff, 0x03ff },
		{ 0x38800000, 0x0400 },                                  /* 2^-14, smallest normal */
		{ 0x3f800000, 0x3c00 },                                  /* 1 */
		{ 0x3f801000, 0x3c00 },                                  /* 1 + 2^-11: tie -> 1 */
		{ 0x3f801001, 0x3c01 },
		{ 0x3f803000, 0x3c02 },                                  /* 1 + 3*2^-11: tie -> even 0x3c02 */
		{ 0xbf803000, 0xbc02 },
		{ 0x477fe000, 0x7bff },                                  /* 65504, max finite */
		{ 0xc77fe000, 0xfbff },
		{ 0x477fefff, 0x7bff },                                  /* 65519.996: still finite */
		{ 0x477ff000, 0x7c00 },                                  /* 65520: tie -> even = Inf */
		{ 0xc77ff000, 0xfc00 },
		{ 0x47800000, 0x7c00 },                                  /* 65536 */
		{ 0x7f7fffff, 0x7c00 },                                  /* FLT_MAX */
		{ 0x7f800000, 0x7c00 }, { 0xff800000, 0xfc00 },          /* +-Inf */
		{ 0x7fc00000, 0x7e00 }, { 0xffc00000, 0xfe00 },          /* quiet NaN */
		{ 0x7f800001, 0x7e00 },                                  /* signalling NaN: quieted */
		{ 0x7fa00000, 0x7f00 },                                  /* payload top bits kept */
		{ 0xff802000, 0xfe01 },
		{ 0x7fffffff, 0x7fff },
	};
	const tfs_quant_kernels *kb = tfs_quant_kernels_best();
	check_edges(&F16, edges, sizeof edges / sizeof *edges, kb);
	/* Every tie between adjacent halves, and one float either side of it. */
	for (uint32_t h = 0; h < 0x7c00; h++) {
		double lo = indep_f16_value((uint16_t)h);
		double hi = h + 1 < 0x7c00 ? indep_f16_value((uint16_t)(h + 1)) : 65536.0;
		float mid = (float)((lo + hi) / 2); /* exact: needs 12 significant bits */
		assert_true((double)mid == (lo + hi) / 2);
		for (int sgn = 0; sgn < 2; sgn++) {
			uint32_t u = f2u(mid) | (sgn ? 0x80000000u : 0);
			check_one(&F16, u, kb);
			check_one(&F16, u + 1, kb);
			if ((u & 0x7fffffffu) != 0)
				check_one(&F16, u - 1, kb);
		}
		uint16_t want = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
		assert_int_equal(tfs_f32_to_f16_ref(mid), want);
	}
}

static void test_bf16_edges(void **state)
{
	(void)state;
	static const struct edge edges[] = {
		{ 0x00000000, 0x0000 }, { 0x80000000, 0x8000 },
		{ 0x00000001, 0x0000 },                                  /* smallest subnormal: -> 0 */
		{ 0x00008000, 0x0000 },                                  /* tie -> even 0 */
		{ 0x00008001, 0x0001 },
		{ 0x00018000, 0x0002 },                                  /* tie -> even 2 */
		{ 0x007f8000, 0x0080 },                                  /* largest subnormal tie -> FLT_MIN */
		{ 0x3f808000, 0x3f80 },                                  /* 1 + 2^-8: tie -> 1 */
		{ 0x3f818000, 0x3f82 },                                  /* tie -> even */
		{ 0x3f80ffff, 0x3f81 },
		{ 0x7f7f7fff, 0x7f7f },                                  /* largest finite bf16 region */
		{ 0x7f7f8000, 0x7f80 },                                  /* tie past max finite -> Inf */
		{ 0x7f7fffff, 0x7f80 },                                  /* FLT_MAX -> Inf */
		{ 0xff7fffff, 0xff80 },
		{ 0x7f800000, 0x7f80 }, { 0xff800000, 0xff80 },
		{ 0x7fc00000, 0x7fc0 }, { 0xffc00000, 0xffc0 },
		{ 0x7f800001, 0x7fc0 },                                  /* would truncate to Inf */
		{ 0x7fffffff, 0x7fc0 }, { 0xff812345, 0xffc0 },          /* payload dropped (as Eigen) */
	};
	const tfs_quant_kernels *kb = tfs_quant_kernels_best();
	check_edges(&BF16, edges, sizeof edges / sizeof *edges, kb);
	/* Every tie (low half 0x8000) for every upper half, one either side. */
	for (uint32_t hi = 0; hi < 0x10000; hi++) {
		uint32_t u = (hi << 16) | 0x8000u;
		if ((u & 0x7fffffffu) >= 0x7f800000u)
			continue;
		check_one(&BF16, u, kb);
		check_one(&BF16, u - 1, kb);
		check_one(&BF16, u + 1, kb);
	}
}

/* 2^24 random bit patterns, then every 257th pattern of all 2^32 (every
 * exponent, both signs, NaNs included), in blocks: ref == independent for
 * each value, fastest kernel == ref for each block. */
static void test_f32_random_and_strided(void **state)
{
	(void)state;
	enum { B = 1 << 16 };
	const tfs_quant_kernels *kr = tfs_quant_kernels_ref(), *kb = tfs_quant_kernels_best();
	float *x = malloc(B * sizeof *x);
	uint16_t *r = malloc(B * sizeof *r), *s = malloc(B * sizeof *s);
	assert_non_null(x);
	assert_non_null(r);
	assert_non_null(s);
	uint64_t total = 0, next = 0;
	const uint64_t n_random = (uint64_t)1 << 24, stride = 257;
	const uint64_t n_total = n_random + ((uint64_t)1 << 32) / stride + 1;
	while (total < n_total) {
		size_t n = 0;
		for (; n < B && total < n_total; n++, total++) {
			uint32_t u = total < n_random ? (uint32_t)rnd() : (uint32_t)(next++ * stride);
			x[n] = u2f(u);
		}
		for (int k = 0; k < 2; k++) {
			const half_fmt *fmt = halves[k];
			kernel_from(kr, fmt)(x, n, r);
			kernel_from(kb, fmt)(x, n, s);
			assert_memory_equal(r, s, n * sizeof *r);
			for (size_t i = 0; i < n; i++)
				if (r[i] != fmt->indep(x[i]))
					fail_msg("f32 %08x -> %s %04x, independent %04x", f2u(x[i]), fmt->name, r[i],
					         fmt->indep(x[i]));
		}
	}
	free(x);
	free(r);
	free(s);
}

/* ---- SIMD == reference on every length and alignment -------------------- */

/* A mix that exercises every path: specials, ties, subnormals, overflow,
 * ordinary values of all magnitudes. */
static float tail_value(size_t i)
{
	static const uint32_t specials[] = {
		0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xff800001, 0x7fa00000,
		0x33000000, 0x33c00000, 0x387fe000, 0x477fe000, 0x477ff000, 0x7f7fffff, 0x3f801000,
		0x3f808000, 0x00008000, 0x7f7f8000, 0x00000001,
	};
	uint64_t v = rnd();
	switch (v % 4) {
	case 0: return u2f(specials[(v >> 8) % (sizeof specials / sizeof *specials)]);
	case 1: return u2f((uint32_t)(v >> 16)); /* any pattern */
	default: return ldexpf(rnd_unit(), (int)((v >> 8) % 40) - 20) + (float)(i % 3);
	}
}

static void require_simd(const char *isa)
{
	if (strcmp(isa, "ref") == 0) {
		print_message("no SIMD kernels on this CPU: skipped\n");
		skip();
	}
}

static void test_simd_tails_f16_bf16(void **state)
{
	(void)state;
	const tfs_quant_kernels *kr = tfs_quant_kernels_ref(), *kb = tfs_quant_kernels_best();
	int f16 = strcmp(kb->f16_isa, "ref") != 0, bf16 = strcmp(kb->bf16_isa, "ref") != 0;
	if (!f16 && !bf16)
		require_simd("ref");
	enum { N = 1023, PAD = 40 };
	float src[N + 8], fr[N + PAD], fs[N + PAD];
	uint16_t hsrc[N + 8], hr[N + PAD], hs[N + PAD];
	for (size_t n = 1; n <= N; n++) {
		size_t in_off = n % 8, out_off = (n * 3) % 8;
		for (size_t i = 0; i < n; i++) {
			src[in_off + i] = tail_value(i);
			hsrc[in_off + i] = (uint16_t)rnd();
		}
		const float *x = src + in_off;
		const uint16_t *h = hsrc + in_off;
		/* Guards after n: a kernel must not write past its end. */
		for (int pass = 0; pass < 2; pass++) {
			if (!(pass == 0 ? f16 : bf16))
				continue;
			const half_fmt *fmt = halves[pass];
			memset(hr, 0xa5, sizeof hr);
			memset(hs, 0xa5, sizeof hs);
			kernel_from(kr, fmt)(x, n, hr + out_off);
			kernel_from(kb, fmt)(x, n, hs + out_off);
			if (memcmp(hr, hs, sizeof hr) != 0) {
				for (size_t i = 0; i < N + PAD; i++)
					if (hr[i] != hs[i])
						fail_msg("%s n=%zu at %zu: ref %04x simd %04x (input %08x)",
							fmt->name, n, i, hr[i], hs[i],
							i >= out_off && i - out_off < n ? f2u(x[i - out_off]) : 0);
			}
			memset(fr, 0xa5, sizeof fr);
			memset(fs, 0xa5, sizeof fs);
			kernel_to(kr, fmt)(h, n, fr + out_off);
			kernel_to(kb, fmt)(h, n, fs + out_off);
			assert_memory_equal(fr, fs, sizeof fr);
		}
	}
}

enum { TAIL_N = 1023, TAIL_PAD = 40 };

/* Both kernels' int8 codes for x[0..n), by one scale (scales NULL) or by
 * one scale each, written at out_off between guards: the same bytes. */
static void same_int8_codes(const float *x, size_t n, float scale, const float *scales, size_t out_off)
{
	const tfs_quant_kernels *kr = tfs_quant_kernels_ref(), *kb = tfs_quant_kernels_best();
	int8_t qr[TAIL_N + TAIL_PAD], qs[TAIL_N + TAIL_PAD];
	memset(qr, 0x5a, sizeof qr);
	memset(qs, 0x5a, sizeof qs);
	if (scales) {
		kr->int8_quant_v(x, n, scales, qr + out_off);
		kb->int8_quant_v(x, n, scales, qs + out_off);
	} else {
		kr->int8_quant_s(x, n, scale, qr + out_off);
		kb->int8_quant_s(x, n, scale, qs + out_off);
	}
	assert_memory_equal(qr, qs, sizeof qr);
}

static void test_simd_tails_int8(void **state)
{
	(void)state;
	const tfs_quant_kernels *kr = tfs_quant_kernels_ref(), *kb = tfs_quant_kernels_best();
	require_simd(kb->int8_isa);
	enum { N = TAIL_N, PAD = TAIL_PAD };
	float src[N + 8], sc[N + 8];
	uint32_t ar[N + PAD], as[N + PAD];
	for (size_t n = 1; n <= N; n++) {
		size_t in_off = n % 8, out_off = (n * 5) % 8;
		float scale = ldexpf(1.0f + rnd_unit() * 0.5f, (int)(rnd() % 20) - 10);
		for (size_t i = 0; i < n; i++) {
			sc[in_off + i] = ldexpf(1.0f + rnd_unit() * 0.5f, (int)(rnd() % 20) - 10);
			/* In range for both scales, with exact ties sprinkled in. */
			float m = fminf(scale, sc[in_off + i]) * 127.0f;
			float v = rnd_unit() * m;
			if (rnd() % 4 == 0)
				v = (float)((int)(rnd() % 254) - 127) + 0.5f;
			src[in_off + i] = fmaxf(-m, fminf(m, v));
		}
		const float *x = src + in_off, *s = sc + in_off;
		same_int8_codes(x, n, scale, NULL, out_off);
		same_int8_codes(x, n, 0, s, out_off);
		/* Ties at scale 1 (x = k + 0.5 exactly). */
		same_int8_codes(x, n, 1.0f, NULL, out_off);

		for (size_t i = 0; i < n; i++)
			src[in_off + i] = tail_value(i); /* NaN and Inf too: maxima are bit patterns */
		assert_int_equal(kr->absmax_bits(x, n), kb->absmax_bits(x, n));
		/* Outside the contract (NaN, Inf, quotients far past 127) the codes
		 * still agree, so no input can make the two kernels differ. */
		same_int8_codes(x, n, scale, NULL, out_off);
		for (size_t i = 0; i < N + PAD; i++)
			ar[i] = as[i] = (uint32_t)rnd() >> (rnd() % 32);
		kr->absmax_cols(x, n, ar + out_off);
		kb->absmax_cols(x, n, as + out_off);
		assert_memory_equal(ar, as, sizeof ar);
	}
}

/* The threaded entry points give the kernels' bytes whatever the thread
 * count, including ranges that do not fall on vector boundaries. */
static void test_threaded_conversions(void **state)
{
	(void)state;
	const size_t n = ((size_t)3 << 20) + 13; /* 12 MiB: three threads' worth */
	float *x = malloc(n * sizeof *x), *f1 = malloc(n * sizeof *f1), *f2 = malloc(n * sizeof *f2);
	uint16_t *h1 = malloc(n * sizeof *h1), *h2 = malloc(n * sizeof *h2);
	assert_true(x && f1 && f2 && h1 && h2);
	for (size_t i = 0; i < n; i++)
		x[i] = tail_value(i);
	tfs_quant_opts one = { .threads = 1 }, many = { .threads = 5 }, ref = { .threads = 2, .impl = TFS_QUANT_IMPL_REF };
	assert_int_equal(tfs_quant_threads(&many), 5);
	assert_int_equal(tfs_quant_threads(&(tfs_quant_opts){ .threads = 1000 }), TFS_QUANT_MAX_THREADS);
	assert_true(tfs_quant_threads(NULL) >= 1);

	for (int k = 0; k < 2; k++) {
		const half_fmt *fmt = halves[k];
		assert_int_equal(fmt->from_f32(x, n, h1, &one), 0);
		assert_int_equal(fmt->from_f32(x, n, h2, &many), 0);
		assert_memory_equal(h1, h2, n * sizeof *h1);
		assert_int_equal(fmt->from_f32(x, n, h2, &ref), 0);
		assert_memory_equal(h1, h2, n * sizeof *h1);
		assert_int_equal(fmt->to_f32(h1, n, f1, &one), 0);
		assert_int_equal(fmt->to_f32(h1, n, f2, &many), 0);
		assert_memory_equal(f1, f2, n * sizeof *f1);
	}

	/* Empty input and argument checks. */
	assert_int_equal(tfs_quant_f32_to_f16(NULL, 0, NULL, NULL), 0);
	tu_assert_error(tfs_quant_f32_to_f16(NULL, 4, h1, NULL), TFSHRINK_EINVAL, "NULL");
	tu_assert_error(tfs_quant_bf16_to_f32(h1, 4, NULL, NULL), TFSHRINK_EINVAL, "NULL");
	free(x);
	free(f1);
	free(f2);
	free(h1);
	free(h2);
}

static void test_f16_range_guard(void **state)
{
	(void)state;
	float x[] = { 65504.0f, -65504.0f, u2f(0x477fe001), 65520.0f, INFINITY, -INFINITY, NAN,
		1e10f, -1e10f, FLT_MAX, 0.0f, 1e-30f, -u2f(0x477fe001) };
	/* 65504.004, 65520, 1e10, -1e10, FLT_MAX, -65504.004 */
	assert_int_equal(tfs_quant_f16_out_of_range(x, sizeof x / sizeof *x), 6);
	assert_int_equal(tfs_quant_f16_out_of_range(x, 2), 0);
	assert_int_equal(tfs_quant_f16_out_of_range(NULL, 0), 0);
}

/* ---- int8 ------------------------------------------------------------------ */

/* Group index of element i of a rows x cols tensor. */
static size_t group_of(tfs_int8_axis axis, size_t cols, size_t i)
{
	return axis == TFS_INT8_PER_CHANNEL ? i % cols : axis == TFS_INT8_PER_ROW ? i / cols : 0;
}

/* Checks q and scales against the contract, computed independently: group
 * maxima with fabsf, rounding with nearbyintf, the error bound in double. */
static void check_int8(const float *x, size_t rows, size_t cols, tfs_int8_axis axis,
	const int8_t *q, const float *scales)
{
	size_t n = rows * cols, ns = tfs_int8_num_scales(axis, rows, cols);
	float *gmax = calloc(ns ? ns : 1, sizeof *gmax);
	int *gqmax = calloc(ns ? ns : 1, sizeof *gqmax);
	float *y = malloc((n ? n : 1) * sizeof *y);
	assert_true(gmax && gqmax && y);
	for (size_t i = 0; i < n; i++) {
		size_t g = group_of(axis, cols, i);
		gmax[g] = fmaxf(gmax[g], fabsf(x[i]));
	}
	for (size_t g = 0; g < ns; g++) {
		float want = gmax[g] == 0 ? 1.0f : fmaxf(gmax[g] / 127.0f, FLT_MIN);
		if (f2u(scales[g]) != f2u(want))
			fail_msg("scale %zu: %a, want %a (max %a)", g, scales[g], want, gmax[g]);
	}
	assert_int_equal(tfs_quant_int8_to_f32(q, rows, cols, axis, scales, y, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		size_t g = group_of(axis, cols, i);
		float s = scales[g];
		float r = nearbyintf(x[i] / s);
		int want = r > 127 ? 127 : r < -127 ? -127 : (int)r;
		if (q[i] != want)
			fail_msg("q[%zu] = %d, want %d (x %a, scale %a)", i, q[i], want, x[i], s);
		assert_true(f2u(y[i]) == f2u((float)q[i] * s));
		double err = fabs((double)x[i] - (double)y[i]);
		if (err > (double)s * (0.5 + 0x1p-16))
			fail_msg("x[%zu] = %a: error %g > scale/2 = %g", i, x[i], err, s * 0.5);
		if (abs(q[i]) > gqmax[g])
			gqmax[g] = abs(q[i]);
	}
	/* The group maximum maps to +-127 unless the scale was clamped to FLT_MIN. */
	for (size_t g = 0; g < ns; g++)
		if (gmax[g] != 0 && gmax[g] / 127.0f >= FLT_MIN)
			assert_int_equal(gqmax[g], 127);
	free(gmax);
	free(gqmax);
	free(y);
}

/* Random tensor whose groups span many magnitudes, with zeros, exact ties and
 * one all-zero column. */
static float *int8_input(size_t rows, size_t cols)
{
	size_t n = rows * cols;
	float *x = malloc((n ? n : 1) * sizeof *x);
	assert_non_null(x);
	for (size_t i = 0; i < n; i++) {
		size_t r = i / cols, c = i % cols;
		int e = (int)((r * 7 + c * 13) % 30) - 15;
		uint64_t v = rnd();
		x[i] = v % 9 == 0 ? 0.0f : ldexpf(rnd_unit(), e);
		if (cols > 2 && c == cols - 2)
			x[i] = 0.0f;
	}
	return x;
}

static const tfs_int8_axis all_axes[] = { TFS_INT8_PER_TENSOR, TFS_INT8_PER_CHANNEL, TFS_INT8_PER_ROW };

static void test_int8_contract(void **state)
{
	(void)state;
	static const size_t shapes[][2] = { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 37, 45 }, { 3, 300 }, { 200, 33 },
		{ 64, 64 }, { 5, 1000 }, { 1000, 3 } };
	tfs_quant_opts ref = { .impl = TFS_QUANT_IMPL_REF };
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		size_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
		float *x = int8_input(rows, cols);
		int8_t *q = malloc(n), *q2 = malloc(n);
		size_t ns = rows > cols ? rows : cols;
		float *sc = malloc(ns * sizeof *sc), *sc2 = malloc(ns * sizeof *sc2);
		assert_true(q && q2 && sc && sc2);
		for (size_t a = 0; a < 3; a++) {
			tfs_int8_axis axis = all_axes[a];
			assert_int_equal(tfs_quant_f32_to_int8(x, rows, cols, axis, q, sc, NULL), 0);
			check_int8(x, rows, cols, axis, q, sc);
			assert_int_equal(tfs_quant_f32_to_int8(x, rows, cols, axis, q2, sc2, &ref), 0);
			assert_memory_equal(q, q2, n);
			assert_memory_equal(sc, sc2, tfs_int8_num_scales(axis, rows, cols) * sizeof *sc);
		}
		free(x);
		free(q);
		free(q2);
		free(sc);
		free(sc2);
	}
}

/* Any axis: checked element by element against the contract (group maxima
 * with fabsf, nearbyintf rounding), SIMD against the reference, and the
 * [outer, d, 1] / [1, d, inner] views against PER_CHANNEL / PER_ROW. */
static void test_int8_any_axis(void **state)
{
	(void)state;
	static const size_t shapes[][3] = { { 10, 2, 2048 }, { 3, 7, 9 }, { 2, 1, 5 }, { 5, 40, 1 }, { 1, 33, 17 },
		{ 9, 192, 1 }, { 4, 3, 300 }, { 0, 3, 4 } };
	tfs_quant_opts ref = { .impl = TFS_QUANT_IMPL_REF };
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		size_t o = shapes[s][0], d = shapes[s][1], in = shapes[s][2], n = o * d * in;
		float *x = int8_input(o * d, in);
		int8_t *q = malloc(n + 1), *q2 = malloc(n + 1);
		float *sc = malloc(d * sizeof *sc), *sc2 = malloc(d * sizeof *sc2), *y = malloc((n + 1) * sizeof *y);
		float *gmax = calloc(d, sizeof *gmax);
		assert_true(q && q2 && sc && sc2 && y && gmax);
		assert_int_equal(tfs_quant_f32_to_int8_axis(x, o, d, in, q, sc, NULL), 0);
		assert_int_equal(tfs_quant_f32_to_int8_axis(x, o, d, in, q2, sc2, &ref), 0);
		assert_memory_equal(q, q2, n);
		assert_memory_equal(sc, sc2, d * sizeof *sc);
		for (size_t i = 0; i < n; i++)
			gmax[(i / in) % d] = fmaxf(gmax[(i / in) % d], fabsf(x[i]));
		for (size_t c = 0; c < d; c++) {
			float want = gmax[c] == 0 ? 1.0f : fmaxf(gmax[c] / 127.0f, FLT_MIN);
			assert_true(f2u(sc[c]) == f2u(want));
		}
		assert_int_equal(tfs_quant_int8_axis_to_f32(q, o, d, in, sc, y, NULL), 0);
		for (size_t i = 0; i < n; i++) {
			float sv = sc[(i / in) % d], r = nearbyintf(x[i] / sv);
			int want = r > 127 ? 127 : r < -127 ? -127 : (int)r;
			if (q[i] != want)
				fail_msg("shape %zu: q[%zu] = %d, want %d", s, i, q[i], want);
			assert_true(f2u(y[i]) == f2u((float)q[i] * sv));
		}
		if (in == 1 || o == 1) {
			int ch = in == 1;
			assert_int_equal(tfs_quant_f32_to_int8(x, ch ? o : d, ch ? d : in,
			                                       ch ? TFS_INT8_PER_CHANNEL : TFS_INT8_PER_ROW, q2, sc2, NULL), 0);
			assert_memory_equal(q, q2, n);
			assert_memory_equal(sc, sc2, d * sizeof *sc);
		}
		if (n > 5) {
			x[n - 3] = NAN;
			tu_assert_error(tfs_quant_f32_to_int8_axis(x, o, d, in, q, sc, NULL), TFS_QUANT_NONFINITE, "is NaN");
		}
		free(x);
		free(q);
		free(q2);
		free(sc);
		free(sc2);
		free(y);
		free(gmax);
	}
	size_t big = (size_t)1 << (sizeof(size_t) * 4);
	tu_assert_error(tfs_quant_f32_to_int8_axis(NULL, big, big, 2, NULL, NULL, NULL), TFSHRINK_EINVAL, "overflow");
}

static void test_int8_zero_and_single(void **state)
{
	(void)state;
	/* All-zero channel: scale 1.0, codes 0. Column 1 of a 3x2 tensor. */
	float x[6] = { 1.0f, 0.0f, -2.0f, 0.0f, 0.5f, -0.0f };
	int8_t q[6];
	float sc[3];
	assert_int_equal(tfs_quant_f32_to_int8(x, 3, 2, TFS_INT8_PER_CHANNEL, q, sc, NULL), 0);
	assert_true(sc[1] == 1.0f);
	assert_true(sc[0] == 2.0f / 127.0f);
	assert_int_equal(q[1], 0);
	assert_int_equal(q[3], 0);
	assert_int_equal(q[5], 0);
	assert_int_equal(q[2], -127);
	check_int8(x, 3, 2, TFS_INT8_PER_CHANNEL, q, sc);
	/* All-zero tensor. */
	float z[4] = { 0.0f, -0.0f, 0.0f, 0.0f };
	assert_int_equal(tfs_quant_f32_to_int8(z, 1, 4, TFS_INT8_PER_TENSOR, q, sc, NULL), 0);
	assert_true(sc[0] == 1.0f);
	for (int i = 0; i < 4; i++)
		assert_int_equal(q[i], 0);
	/* Empty tensors: nothing to quantize, every scale 1.0. */
	float sce[4] = { 0 };
	assert_int_equal(tfs_quant_f32_to_int8(NULL, 0, 4, TFS_INT8_PER_CHANNEL, NULL, sce, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_true(sce[i] == 1.0f);
	assert_int_equal(tfs_quant_f32_to_int8(NULL, 0, 0, TFS_INT8_PER_TENSOR, NULL, sce, NULL), 0);
	assert_true(sce[0] == 1.0f);
	/* Single element, every axis: it is its group's maximum. */
	float one = -3.0f;
	for (size_t a = 0; a < 3; a++) {
		assert_int_equal(tfs_quant_f32_to_int8(&one, 1, 1, all_axes[a], q, sc, NULL), 0);
		assert_int_equal(q[0], -127);
		assert_true(sc[0] == 3.0f / 127.0f);
		assert_true(fabsf((float)q[0] * sc[0] - one) <= sc[0] * 0.5f);
	}
	/* Values so small that max/127 is subnormal: the scale stays FLT_MIN. */
	float tiny[3] = { 1e-40f, -3e-41f, u2f(1) };
	assert_int_equal(tfs_quant_f32_to_int8(tiny, 1, 3, TFS_INT8_PER_TENSOR, q, sc, NULL), 0);
	assert_true(sc[0] == FLT_MIN);
	check_int8(tiny, 1, 3, TFS_INT8_PER_TENSOR, q, sc);
}

static void test_int8_ties_to_even(void **state)
{
	(void)state;
	/* max 127 gives scale exactly 1, so x / scale = x. */
	float x[] = { 127.0f, 0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, 126.5f, -126.5f, 0.49999997f, 2.5000002f };
	int8_t want[] = { 127, 0, 2, 2, 4, 0, -2, -2, 126, -126, 0, 3 };
	size_t n = sizeof x / sizeof *x;
	int8_t q[sizeof x / sizeof *x];
	float sc[1];
	tfs_quant_opts ref = { .impl = TFS_QUANT_IMPL_REF };
	for (int k = 0; k < 2; k++) {
		assert_int_equal(tfs_quant_f32_to_int8(x, 1, n, TFS_INT8_PER_TENSOR, q, sc, k ? &ref : NULL), 0);
		assert_true(sc[0] == 1.0f);
		assert_memory_equal(q, want, n);
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tfs_int8_quant_ref(x[i], 1.0f), want[i]);
	/* Clamping: a quotient past 127.5 (only reachable with a given scale). */
	assert_int_equal(tfs_int8_quant_ref(1000.0f, 1.0f), 127);
	assert_int_equal(tfs_int8_quant_ref(-1000.0f, 1.0f), -127);
	assert_int_equal(tfs_int8_quant_ref(-0.0f, 1.0f), 0);
}

static void test_int8_nonfinite(void **state)
{
	(void)state;
	enum { R = 40, C = 50 };
	float *x = int8_input(R, C);
	int8_t q[R * C];
	float sc[R > C ? R : C];
	static const float bad[] = { NAN, INFINITY, -INFINITY };
	static const char *name[] = { "NaN", "Inf", "Inf" };
	for (size_t b = 0; b < 3; b++) {
		for (size_t a = 0; a < 3; a++) {
			for (int k = 0; k < 2; k++) {
				size_t at = k ? R * C - 1 : 777;
				float keep = x[at];
				x[at] = bad[b];
				char needle[64];
				snprintf(needle, sizeof needle, "element %zu is %s", at, name[b]);
				tu_assert_error(tfs_quant_f32_to_int8(x, R, C, all_axes[a], q, sc, NULL),
					TFS_QUANT_NONFINITE, needle);
				x[at] = keep;
			}
		}
	}
	/* A negative NaN (sign bit set) too. */
	x[5] = -NAN;
	tu_assert_error(tfs_quant_f32_to_int8(x, R, C, TFS_INT8_PER_ROW, q, sc, NULL), TFS_QUANT_NONFINITE, "element 5 is NaN");
	free(x);
}

static void test_int8_channel_vs_tensor(void **state)
{
	(void)state;
	/* Channel 0 holds values near 100, channel 1 values near 0.01. */
	enum { R = 64, C = 2 };
	float x[R * C];
	for (int r = 0; r < R; r++) {
		x[r * C] = 100.0f * rnd_unit();
		x[r * C + 1] = 0.01f * rnd_unit();
	}
	int8_t qc[R * C], qt[R * C];
	float sc[C], st[1], yc[R * C], yt[R * C];
	assert_int_equal(tfs_quant_f32_to_int8(x, R, C, TFS_INT8_PER_CHANNEL, qc, sc, NULL), 0);
	assert_int_equal(tfs_quant_f32_to_int8(x, R, C, TFS_INT8_PER_TENSOR, qt, st, NULL), 0);
	check_int8(x, R, C, TFS_INT8_PER_CHANNEL, qc, sc);
	check_int8(x, R, C, TFS_INT8_PER_TENSOR, qt, st);
	assert_true(st[0] == sc[0]); /* the tensor maximum lies in channel 0 */
	assert_true(sc[1] < sc[0] / 1000.0f);
	assert_int_equal(tfs_quant_int8_to_f32(qc, R, C, TFS_INT8_PER_CHANNEL, sc, yc, NULL), 0);
	assert_int_equal(tfs_quant_int8_to_f32(qt, R, C, TFS_INT8_PER_TENSOR, st, yt, NULL), 0);
	/* Channel 1 collapses to 0 per tensor; per channel it keeps ~40 dB. */
	float x1[R], yc1[R], yt1[R];
	for (int r = 0; r < R; r++) {
		x1[r] = x[r * C + 1];
		yc1[r] = yc[r * C + 1];
		yt1[r] = yt[r * C + 1];
		assert_int_equal(qt[r * C + 1], 0);
	}
	tfs_quant_stats s_c, s_t;
	assert_int_equal(tfs_quant_error_stats(x1, yc1, R, 0.0, &s_c, NULL), 0);
	assert_int_equal(tfs_quant_error_stats(x1, yt1, R, 0.0, &s_t, NULL), 0);
	assert_true(s_c.sqnr_db > 35.0);
	assert_true(s_t.sqnr_db == 0.0); /* y = 0: error energy = signal energy */
	assert_true(s_t.rel_rms == 1.0);
}

/* Bytes do not depend on the thread count or on the kernels, including the
 * per-channel scale repetition for narrow tensors and ranges ending mid-row. */
static void test_int8_threads(void **state)
{
	(void)state;
	static const size_t shapes[][2] = { { 393241, 3 }, { 4099, 257 }, { 1031, 1031 }, { 3, 393241 } };
	tfs_quant_opts one = { .threads = 1 }, many = { .threads = 4 }, ref = { .threads = 3, .impl = TFS_QUANT_IMPL_REF };
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		size_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
		size_t ns = rows > cols ? rows : cols;
		float *x = int8_input(rows, cols);
		int8_t *q1 = malloc(n), *q2 = malloc(n);
		float *s1 = malloc(ns * sizeof *s1), *s2 = malloc(ns * sizeof *s2);
		float *y1 = malloc(n * sizeof *y1), *y2 = malloc(n * sizeof *y2);
		assert_true(q1 && q2 && s1 && s2 && y1 && y2);
		for (size_t a = 0; a < 3; a++) {
			tfs_int8_axis axis = all_axes[a];
			size_t nsc = tfs_int8_num_scales(axis, rows, cols);
			assert_int_equal(tfs_quant_f32_to_int8(x, rows, cols, axis, q1, s1, &one), 0);
			assert_int_equal(tfs_quant_f32_to_int8(x, rows, cols, axis, q2, s2, &many), 0);
			assert_memory_equal(q1, q2, n);
			assert_memory_equal(s1, s2, nsc * sizeof *s1);
			assert_int_equal(tfs_quant_f32_to_int8(x, rows, cols, axis, q2, s2, &ref), 0);
			assert_memory_equal(q1, q2, n);
			assert_memory_equal(s1, s2, nsc * sizeof *s1);
			assert_int_equal(tfs_quant_int8_to_f32(q1, rows, cols, axis, s1, y1, &one), 0);
			assert_int_equal(tfs_quant_int8_to_f32(q1, rows, cols, axis, s1, y2, &many), 0);
			assert_memory_equal(y1, y2, n * sizeof *y1);
			if (s == 0)
				check_int8(x, rows, cols, axis, q1, s1);
		}
		free(x);
		free(q1);
		free(q2);
		free(s1);
		free(s2);
		free(y1);
		free(y2);
	}
}

static void test_int8_args(void **state)
{
	(void)state;
	float x[4] = { 1, 2, 3, 4 }, sc[4];
	int8_t q[4];
	tu_assert_error(tfs_quant_f32_to_int8(x, 2, 2, (tfs_int8_axis)7, q, sc, NULL), TFSHRINK_EINVAL, "axis");
	tu_assert_error(tfs_quant_f32_to_int8(x, SIZE_MAX / 2, 3, TFS_INT8_PER_TENSOR, q, sc, NULL),
		TFSHRINK_EINVAL, "overflow");
	tu_assert_error(tfs_quant_f32_to_int8(NULL, 2, 2, TFS_INT8_PER_TENSOR, q, sc, NULL), TFSHRINK_EINVAL, "NULL");
	tu_assert_error(tfs_quant_f32_to_int8(x, 2, 2, TFS_INT8_PER_ROW, q, NULL, NULL), TFSHRINK_EINVAL, "scales");
	tu_assert_error(tfs_quant_int8_to_f32(q, 2, 2, TFS_INT8_PER_ROW, sc, NULL, NULL), TFSHRINK_EINVAL, "NULL");
	assert_int_equal(tfs_int8_num_scales(TFS_INT8_PER_TENSOR, 5, 6), 1);
	assert_int_equal(tfs_int8_num_scales(TFS_INT8_PER_CHANNEL, 5, 6), 6);
	assert_int_equal(tfs_int8_num_scales(TFS_INT8_PER_ROW, 5, 6), 5);
	assert_int_equal(tfs_int8_num_scales((tfs_int8_axis)9, 5, 6), 0);
}

/* ---- error statistics ------------------------------------------------------ */

static void test_stats(void **state)
{
	(void)state;
	tfs_quant_stats s;
	float x[] = { 1.0f, 2.0f, 0.0f, NAN, -4.0f };
	float y[] = { 1.5f, 2.0f, 0.001f, 7.0f, -4.0f };
	assert_int_equal(tfs_quant_error_stats(x, x, 5, 0.0, &s, NULL), 0);
	assert_true(isinf(s.sqnr_db) && s.sqnr_db > 0);
	assert_true(s.rel_rms == 0.0 && s.max_abs_err == 0.0 && s.max_rel_err == 0.0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.skipped, 1);

	assert_int_equal(tfs_quant_error_stats(x, y, 5, 1e-6, &s, NULL), 0);
	double e3 = (double)0.001f;
	assert_true(s.sum_x2 == 21.0);
	assert_true(s.sum_err2 == 0.25 + e3 * e3);
	assert_true(fabs(s.sqnr_db - 10.0 * log10(21.0 / (0.25 + e3 * e3))) < 1e-12);
	assert_true(s.max_abs_err == 0.5);
	assert_true(fabs(s.rel_rms - sqrt((0.25 + e3 * e3) / 21.0)) < 1e-15);
	assert_true(s.max_rel_err == 0.5); /* x = 0 is not above tiny */

	/* A finite value that became Inf or NaN is an unbounded error. */
	float yi[] = { 1.0f, INFINITY, 0.0f, 0.0f, NAN };
	assert_int_equal(tfs_quant_error_stats(x, yi, 5, 0.0, &s, NULL), 0);
	assert_true(isinf(s.max_abs_err) && isinf(s.rel_rms));
	assert_true(isinf(s.sqnr_db) && s.sqnr_db < 0);

	/* All-zero signal with an error. */
	float z[2] = { 0, 0 }, zy[2] = { 0, 1e-3f };
	assert_int_equal(tfs_quant_error_stats(z, zy, 2, 0.0, &s, NULL), 0);
	assert_true(isinf(s.sqnr_db) && s.sqnr_db < 0);
	assert_true(isinf(s.rel_rms));
	assert_true(s.max_rel_err == 0.0);

	assert_int_equal(tfs_quant_error_stats(NULL, NULL, 0, 0.0, &s, NULL), 0);
	assert_int_equal(s.n, 0);
	tu_assert_error(tfs_quant_error_stats(x, y, 5, -1.0, &s, NULL), TFSHRINK_EINVAL, ">= 0");
	tu_assert_error(tfs_quant_error_stats(x, y, 5, NAN, &s, NULL), TFSHRINK_EINVAL, ">= 0");
	tu_assert_error(tfs_quant_error_stats(x, NULL, 5, 0.0, &s, NULL), TFSHRINK_EINVAL, "NULL");
}

/* fp16 of Gaussian-ish data: about 11 bits kept, so SQNR near 6 dB per bit;
 * and the sums are identical for any thread count. */
static void test_stats_threads(void **state)
{
	(void)state;
	const size_t n = ((size_t)1 << 21) + 12345;
	float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	uint16_t *h = malloc(n * sizeof *h);
	assert_true(x && y && h);
	for (size_t i = 0; i < n; i++)
		x[i] = rnd_unit() + rnd_unit() + rnd_unit();
	assert_int_equal(tfs_quant_f32_to_f16(x, n, h, NULL), 0);
	assert_int_equal(tfs_quant_f16_to_f32(h, n, y, NULL), 0);
	tfs_quant_stats s1, s4;
	assert_int_equal(tfs_quant_error_stats(x, y, n, 1e-3, &s1, &(tfs_quant_opts){ .threads = 1 }), 0);
	assert_int_equal(tfs_quant_error_stats(x, y, n, 1e-3, &s4, &(tfs_quant_opts){ .threads = 4 }), 0);
	assert_memory_equal(&s1, &s4, sizeof s1);
	print_message("fp16 on sum of 3 uniforms: SQNR %.2f dB, rel RMS %.3g, max rel %.3g\n",
		s1.sqnr_db, s1.rel_rms, s1.max_rel_err);
	assert_true(s1.sqnr_db > 65.0 && s1.sqnr_db < 80.0);
	assert_true(s1.max_rel_err <= 0x1p-11 * 1.0000001);
	free(x);
	free(y);
	free(h);
}

int main(void)
{
	const tfs_quant_kernels *kb = tfs_quant_kernels_best();
	print_message("kernels: f16 %s, bf16 %s, int8 %s; threads %d\n", kb->f16_isa, kb->bf16_isa,
		kb->int8_isa, tfs_quant_threads(NULL));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_f16_exhaustive),
		cmocka_unit_test(test_bf16_exhaustive),
		cmocka_unit_test(test_f16_edges),
		cmocka_unit_test(test_bf16_edges),
		cmocka_unit_test(test_f32_random_and_strided),
		cmocka_unit_test(test_simd_tails_f16_bf16),
		cmocka_unit_test(test_simd_tails_int8),
		cmocka_unit_test(test_threaded_conversions),
		cmocka_unit_test(test_f16_range_guard),
		cmocka_unit_test(test_int8_contract),
		cmocka_unit_test(test_int8_any_axis),
		cmocka_unit_test(test_int8_zero_and_single),
		cmocka_unit_test(test_int8_ties_to_even),
		cmocka_unit_test(test_int8_nonfinite),
		cmocka_unit_test(test_int8_channel_vs_tensor),
		cmocka_unit_test(test_int8_threads),
		cmocka_unit_test(test_int8_args),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
