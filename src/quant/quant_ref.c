/*
 * quant_ref.c - scalar reference kernels. These define the output bytes of
 * every conversion (see the contract in quant.h); the SIMD kernels must match
 * them bit for bit. Written on the bit patterns with integer arithmetic so the
 * result does not depend on the compiler, the FPU or the rounding mode, except
 * for the two float32 operations the int8 contract names (x / scale, and the
 * max / 127 of the scale), which IEEE 754 defines exactly.
 */
#include "quant.h"

#include <float.h>
#include <string.h>

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

/* ---- float16 ------------------------------------------------------------ */

uint16_t tfs_f32_to_f16_ref(float x)
{
	uint32_t u = f2u(x);
	uint32_t sign = (u >> 16) & 0x8000u;
	uint32_t a = u & 0x7fffffffu;

	if (a > 0x7f800000u) /* NaN: quiet it, keep the top 10 payload bits */
		return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
	if (a >= 0x477ff000u) /* >= 65520 (half-way to 2^16): Inf, and Inf itself */
		return (uint16_t)(sign | 0x7c00u);
	if (a >= 0x38800000u) {
		/* Normal half (>= 2^-14): rebias the exponent from 127 to 15, then
		 * round the 13 dropped mantissa bits to nearest even. A carry out of
		 * the mantissa bumps the exponent, which is the right result (up to
		 * 0x7c00 = Inf for 65520 itself, handled above anyway). */
		uint32_t r = a - ((127u - 15u) << 23);
		r += 0x0fffu + ((r >> 13) & 1u);
		return (uint16_t)(sign | (r >> 13));
	}
	if (a < 0x33000000u) /* < 2^-25, at most half the smallest subnormal: 0 */
		return (uint16_t)sign;
	/* Half subnormal: value / 2^-24 with the implicit bit made explicit.
	 * a in [2^-25, 2^-14): exponent field e in [102, 112], so the shift to
	 * units of 2^-24 is 126 - e in [14, 24]. Rounding up out of the largest
	 * subnormal yields 0x400, the smallest normal, as it should. */
	uint32_t e = a >> 23;
	uint32_t m = (a & 0x7fffffu) | 0x800000u;
	uint32_t shift = 126u - e;
	uint32_t q = m >> shift;
	uint32_t rem = m & ((1u << shift) - 1u);
	uint32_t half = 1u << (shift - 1u);
	if (rem > half || (rem == half && (q & 1u)))
		q++;
	return (uint16_t)(sign | q);
}

float tfs_f16_to_f32_ref(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t e = (h >> 10) & 0x1fu;
	uint32_t m = h & 0x3ffu;

	if (e == 0x1f) /* Inf, or NaN made quiet (as vcvtph2ps does) */
		return u2f(sign | 0x7f800000u | (m << 13) | (m ? 0x00400000u : 0u));
	if (e != 0) /* normal: rebias 15 -> 127 */
		return u2f(sign | ((e + 127u - 15u) << 23) | (m << 13));
	if (m == 0)
		return u2f(sign);
	/* Subnormal half m * 2^-24: normalise. With the top set bit of m at
	 * position p (0..9) the value is 1.f * 2^(p - 24). */
	int p = 31 - __builtin_clz(m);
	uint32_t frac = (m << (23 - p)) & 0x7fffffu;
	return u2f(sign | ((uint32_t)(p - 24 + 127) << 23) | frac);
}

/* ---- bfloat16 ----------------------------------------------------------- */

uint16_t tfs_f32_to_bf16_ref(float x)
{
	uint32_t u = f2u(x);
	if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: canonical quiet NaN, sign kept */
		return (uint16_t)(((u >> 16) & 0x8000u) | 0x7fc0u);
	/* Round the low 16 bits to nearest even. The carry runs into the exponent
	 * when it must: the largest finite float rounds to Inf, and Inf stays Inf
	 * (0x7f800000 + 0x7fff does not reach the next bf16). */
	u += 0x7fffu + ((u >> 16) & 1u);
	return (uint16_t)(u >> 16);
}

float tfs_bf16_to_f32_ref(uint16_t h)
{
	return u2f((uint32_t)h << 16);
}

/* ---- int8 --------------------------------------------------------------- */

float tfs_int8_scale_ref(float m)
{
	if (m == 0.0f)
		return 1.0f;
	float s = m / 127.0f;
	return s < FLT_MIN ? FLT_MIN : s;
}

int8_t tfs_int8_quant_ref(float x, float scale)
{
	float v = x / scale;
	/* Only reachable with x non-finite, which the entry points refuse; the
	 * answer mirrors the SIMD kernel's max(NaN, -127) so the two agree even here. */
	if (v != v)
		return -127;
	/* Clamping to +-128 before rounding gives the same code as clamping the
	 * rounded value to +-127, and keeps the integer conversion in range. */
	if (v > 128.0f)
		v = 128.0f;
	if (v < -128.0f)
		v = -128.0f;
	/* Round half to even without reading the rounding mode: t is v truncated
	 * toward zero and d = v - t is exact, with the sign of v and |d| < 1. */
	int t = (int)v;
	float d = v - (float)t;
	if (d > 0.5f || (d == 0.5f && t % 2 != 0))
		t++;
	else if (d < -0.5f || (d == -0.5f && t % 2 != 0))
		t--;
	return (int8_t)(t > 127 ? 127 : t < -127 ? -127 : t);
}

/* ---- reference kernels -------------------------------------------------- */

static void ref_f32_to_f16(const float *x, size_t n, uint16_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = tfs_f32_to_f16_ref(x[i]);
}

static void ref_f16_to_f32(const uint16_t *h, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = tfs_f16_to_f32_ref(h[i]);
}

static void ref_f32_to_bf16(const float *x, size_t n, uint16_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = tfs_f32_to_bf16_ref(x[i]);
}

static void ref_bf16_to_f32(const uint16_t *h, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = tfs_bf16_to_f32_ref(h[i]);
}

static uint32_t ref_absmax_bits(const float *x, size_t n)
{
	uint32_t m = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = f2u(x[i]) & 0x7fffffffu;
		m = a > m ? a : m;
	}
	return m;
}

static void ref_absmax_cols(const float *x, size_t n, uint32_t *acc)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t a = f2u(x[i]) & 0x7fffffffu;
		acc[i] = a > acc[i] ? a : acc[i];
	}
}

static void ref_int8_quant_s(const float *x, size_t n, float scale, int8_t *q)
{
	for (size_t i = 0; i < n; i++)
		q[i] = tfs_int8_quant_ref(x[i], scale);
}

static void ref_int8_quant_v(const float *x, size_t n, const float *scales, int8_t *q)
{
	for (size_t i = 0; i < n; i++)
		q[i] = tfs_int8_quant_ref(x[i], scales[i]);
}

static const tfs_quant_kernels ref_kernels = {
	.f16_isa = "ref",
	.bf16_isa = "ref",
	.int8_isa = "ref",
	.f32_to_f16 = ref_f32_to_f16,
	.f16_to_f32 = ref_f16_to_f32,
	.f32_to_bf16 = ref_f32_to_bf16,
	.bf16_to_f32 = ref_bf16_to_f32,
	.absmax_bits = ref_absmax_bits,
	.absmax_cols = ref_absmax_cols,
	.int8_quant_s = ref_int8_quant_s,
	.int8_quant_v = ref_int8_quant_v,
};

const tfs_quant_kernels *tfs_quant_kernels_ref(void)
{
	return &ref_kernels;
}

/* ---- float16 range guard ------------------------------------------------ */

size_t tfs_quant_f16_out_of_range(const float *x, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = f2u(x[i]) & 0x7fffffffu;
		/* 0x477fe000 is 65504; 0x7f800000 and above are Inf and NaN. */
		count += (a > 0x477fe000u) & (a < 0x7f800000u);
	}
	return count;
}
