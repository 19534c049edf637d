/*
 * quant_x86.c - x86 SIMD kernels, chosen at run time: F16C for float16, AVX2
 * for bfloat16 and int8. Each produces exactly the bytes of the scalar
 * reference in quant_ref.c (tests/unit/test_quant.c checks every length
 * 1..1023 at odd alignments). The file is compiled without -mavx*: only the
 * functions marked with a target attribute use the wider instructions, and
 * they run only after __builtin_cpu_supports said yes.
 *
 * Tails shorter than a vector go through a small zero-padded buffer, so
 * every element, tail included, takes the vector instruction path.
 */
#include "quant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#define TARGET_F16C __attribute__((target("avx,f16c")))
#define TARGET_AVX2 __attribute__((target("avx2")))

/* ---- float16 (F16C) ------------------------------------------------------ */

/* vcvtps2ph with an explicit round-to-nearest-even immediate: MXCSR.RC is
 * ignored. Its NaN and subnormal handling is the reference's definition. */
TARGET_F16C static void f16c_f32_to_f16(const float *x, size_t n, uint16_t *out)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m128i h0 = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
		__m128i h1 = _mm256_cvtps_ph(_mm256_loadu_ps(x + i + 8), _MM_FROUND_TO_NEAREST_INT);
		__m128i h2 = _mm256_cvtps_ph(_mm256_loadu_ps(x + i + 16), _MM_FROUND_TO_NEAREST_INT);
		__m128i h3 = _mm256_cvtps_ph(_mm256_loadu_ps(x + i + 24), _MM_FROUND_TO_NEAREST_INT);
		_mm_storeu_si128((__m128i *)(out + i), h0);
		_mm_storeu_si128((__m128i *)(out + i + 8), h1);
		_mm_storeu_si128((__m128i *)(out + i + 16), h2);
		_mm_storeu_si128((__m128i *)(out + i + 24), h3);
	}
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(out + i),
			_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
	if (i < n) {
		float buf[8] = { 0 };
		uint16_t hb[8];
		memcpy(buf, x + i, (n - i) * sizeof *x);
		_mm_storeu_si128((__m128i *)hb, _mm256_cvtps_ph(_mm256_loadu_ps(buf), _MM_FROUND_TO_NEAREST_INT));
		memcpy(out + i, hb, (n - i) * sizeof *out);
	}
}

TARGET_F16C static void f16c_f16_to_f32(const uint16_t *h, size_t n, float *out)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256 f0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i)));
		__m256 f1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 8)));
		__m256 f2 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 16)));
		__m256 f3 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 24)));
		_mm256_storeu_ps(out + i, f0);
		_mm256_storeu_ps(out + i + 8, f1);
		_mm256_storeu_ps(out + i + 16, f2);
		_mm256_storeu_ps(out + i + 24, f3);
	}
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
	if (i < n) {
		uint16_t hb[8] = { 0 };
		float fb[8];
		memcpy(hb, h + i, (n - i) * sizeof *h);
		_mm256_storeu_ps(fb, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)hb)));
		memcpy(out + i, fb, (n - i) * sizeof *out);
	}
}

/* ---- bfloat16 (AVX2) ----------------------------------------------------- */

/* Eight floats to eight bf16 in the low halves of 32-bit lanes: the
 * reference's integer round-to-nearest-even, and NaN -> sign | 0x7fc0. */
TARGET_AVX2 static inline __m256i bf16_round8(__m256i u)
{
	const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
	__m256i hi = _mm256_srli_epi32(u, 16);
	/* Signed compare is fine: |u| as bits is at most 0x7fffffff. */
	__m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), _mm256_set1_epi32(0x7f800000));
	__m256i lsb = _mm256_and_si256(hi, _mm256_set1_epi32(1));
	__m256i r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
	r = _mm256_srli_epi32(r, 16);
	__m256i qnan = _mm256_or_si256(_mm256_and_si256(hi, _mm256_set1_epi32(0x8000)),
		_mm256_set1_epi32(0x7fc0));
	return _mm256_blendv_epi8(r, qnan, nan);
}

/* Sixteen floats to sixteen bf16. packus works within 128-bit lanes, so the
 * 64-bit quarters come out as a0 b0 a1 b1 and are put back in order. */
TARGET_AVX2 static inline __m256i bf16_x16(const float *x)
{
	__m256i a = bf16_round8(_mm256_loadu_si256((const __m256i *)x));
	__m256i b = bf16_round8(_mm256_loadu_si256((const __m256i *)(x + 8)));
	return _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
}

TARGET_AVX2 static void avx2_f32_to_bf16(const float *x, size_t n, uint16_t *out)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256i h0 = bf16_x16(x + i);
		__m256i h1 = bf16_x16(x + i + 16);
		_mm256_storeu_si256((__m256i *)(out + i), h0);
		_mm256_storeu_si256((__m256i *)(out + i + 16), h1);
	}
	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(out + i), bf16_x16(x + i));
	if (i < n) {
		float buf[16] = { 0 };
		uint16_t hb[16];
		memcpy(buf, x + i, (n - i) * sizeof *x);
		_mm256_storeu_si256((__m256i *)hb, bf16_x16(buf));
		memcpy(out + i, hb, (n - i) * sizeof *out);
	}
}

TARGET_AVX2 static void avx2_bf16_to_f32(const uint16_t *h, size_t n, float *out)
{
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256i w = _mm256_loadu_si256((const __m256i *)(h + i));
		__m256i lo = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(w)), 16);
		__m256i hi = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(w, 1)), 16);
		_mm256_storeu_si256((__m256i *)(out + i), lo);
		_mm256_storeu_si256((__m256i *)(out + i + 8), hi);
	}
	for (; i + 8 <= n; i += 8) {
		__m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(h + i)));
		_mm256_storeu_si256((__m256i *)(out + i), _mm256_slli_epi32(v, 16));
	}
	for (; i < n; i++) /* a shift: no rounding, the scalar form is the same */
		out[i] = tfs_bf16_to_f32_ref(h[i]);
}

/* ---- int8 (AVX2) ---------------------------------------------------------- */

TARGET_AVX2 static uint32_t avx2_absmax_bits(const float *x, size_t n)
{
	const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
	__m256i m0 = _mm256_setzero_si256(), m1 = m0, m2 = m0, m3 = m0;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		m0 = _mm256_max_epu32(m0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), abs_mask));
		m1 = _mm256_max_epu32(m1, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 8)), abs_mask));
		m2 = _mm256_max_epu32(m2, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 16)), abs_mask));
		m3 = _mm256_max_epu32(m3, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 24)), abs_mask));
	}
	for (; i + 8 <= n; i += 8)
		m0 = _mm256_max_epu32(m0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), abs_mask));
	m0 = _mm256_max_epu32(_mm256_max_epu32(m0, m1), _mm256_max_epu32(m2, m3));
	__m128i m = _mm_max_epu32(_mm256_castsi256_si128(m0), _mm256_extracti128_si256(m0, 1));
	m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4e));
	m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xb1));
	uint32_t r = (uint32_t)_mm_cvtsi128_si32(m);
	for (; i < n; i++) {
		uint32_t a;
		memcpy(&a, x + i, sizeof a);
		a &= 0x7fffffffu;
		r = a > r ? a : r;
	}
	return r;
}

TARGET_AVX2 static void avx2_absmax_cols(const float *x, size_t n, uint32_t *acc)
{
	const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), abs_mask);
		__m256i m = _mm256_loadu_si256((const __m256i *)(acc + i));
		_mm256_storeu_si256((__m256i *)(acc + i), _mm256_max_epu32(a, m));
	}
	for (; i < n; i++) {
		uint32_t a;
		memcpy(&a, x + i, sizeof a);
		a &= 0x7fffffffu;
		acc[i] = a > acc[i] ? a : acc[i];
	}
}

/* Eight quotients x / s rounded half to even and clamped to +-127, as int32.
 * Division (not a reciprocal multiply) because the reference divides; vdivps
 * is correctly rounded, so the quotients are the same floats. */
TARGET_AVX2 static inline __m256i q8_round(__m256 x, __m256 s)
{
	__m256 v = _mm256_round_ps(_mm256_div_ps(x, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
	return _mm256_cvtps_epi32(v); /* already integral: exact */
}

/* Thirty-two int32 in [-127, 127] to thirty-two int8. The two packs work per
 * 128-bit lane, leaving 4-byte groups in the order a0 b0 c0 d0 a1 b1 c1 d1;
 * the permute restores a0 a1 b0 b1 c0 c1 d0 d1. */
TARGET_AVX2 static inline __m256i q8_pack(__m256i a, __m256i b, __m256i c, __m256i d)
{
	__m256i ab = _mm256_packs_epi32(a, b);
	__m256i cd = _mm256_packs_epi32(c, d);
	__m256i p = _mm256_packs_epi16(ab, cd);
	return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

TARGET_AVX2 static inline __m256i q8_x32_s(const float *x, __m256 s)
{
	return q8_pack(q8_round(_mm256_loadu_ps(x), s), q8_round(_mm256_loadu_ps(x + 8), s),
		q8_round(_mm256_loadu_ps(x + 16), s), q8_round(_mm256_loadu_ps(x + 24), s));
}

TARGET_AVX2 static inline __m256i q8_x32_v(const float *x, const float *s)
{
	return q8_pack(q8_round(_mm256_loadu_ps(x), _mm256_loadu_ps(s)),
		q8_round(_mm256_loadu_ps(x + 8), _mm256_loadu_ps(s + 8)),
		q8_round(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(s + 16)),
		q8_round(_mm256_loadu_ps(x + 24), _mm256_loadu_ps(s + 24)));
}

TARGET_AVX2 static void avx2_int8_quant_s(const float *x, size_t n, float scale, int8_t *q)
{
	__m256 s = _mm256_set1_ps(scale);
	size_t i = 0;
	for (; i + 32 <= n; i += 32)
		_mm256_storeu_si256((__m256i *)(q + i), q8_x32_s(x + i, s));
	if (i < n) {
		float buf[32] = { 0 };
		int8_t qb[32];
		memcpy(buf, x + i, (n - i) * sizeof *x);
		_mm256_storeu_si256((__m256i *)qb, q8_x32_s(buf, s));
		memcpy(q + i, qb, n - i);
	}
}

TARGET_AVX2 static void avx2_int8_quant_v(const float *x, size_t n, const float *scales, int8_t *q)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32)
		_mm256_storeu_si256((__m256i *)(q + i), q8_x32_v(x + i, scales + i));
	if (i < n) {
		float buf[32] = { 0 }, sb[32];
		int8_t qb[32];
		for (size_t k = 0; k < 32; k++) /* padding lanes divide 0 by 1 */
			sb[k] = 1.0f;
		memcpy(buf, x + i, (n - i) * sizeof *x);
		memcpy(sb, scales + i, (n - i) * sizeof *scales);
		_mm256_storeu_si256((__m256i *)qb, q8_x32_v(buf, sb));
		memcpy(q + i, qb, n - i);
	}
}

void tfs_quant_kernels_x86(tfs_quant_kernels *k)
{
	unsigned eax, ebx, ecx = 0, edx;
	__builtin_cpu_init();
	/* F16C is CPUID.1:ECX bit 29 (read directly: clang's
	 * __builtin_cpu_supports does not know "f16c"). The "avx" check also
	 * confirms that the OS saves the ymm registers, which the 256-bit F16C
	 * forms need. */
	int f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));
	if (f16c && __builtin_cpu_supports("avx")) {
		k->f16_isa = "f16c";
		k->f32_to_f16 = f16c_f32_to_f16;
		k->f16_to_f32 = f16c_f16_to_f32;
	}
	if (__builtin_cpu_supports("avx2")) {
		k->bf16_isa = "avx2";
		k->f32_to_bf16 = avx2_f32_to_bf16;
		k->bf16_to_f32 = avx2_bf16_to_f32;
		k->int8_isa = "avx2";
		k->absmax_bits = avx2_absmax_bits;
		k->absmax_cols = avx2_absmax_cols;
		k->int8_quant_s = avx2_int8_quant_s;
		k->int8_quant_v = avx2_int8_quant_v;
	}
}
#else
void tfs_quant_kernels_x86(tfs_quant_kernels *k)
{
	(void)k;
}
#endif
