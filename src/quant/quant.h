/*
 * quant.h - numeric kernels for storing float32 weights at lower precision:
 * float16, bfloat16 and symmetric int8, plus error statistics.
 *
 * The scalar reference kernels (quant_ref.c) define the output bytes. The
 * SIMD kernels (quant_x86.c: F16C for float16, AVX2 for bfloat16 and int8,
 * chosen at run time) produce the same bytes for every input, so a model
 * shrunk on one machine is byte-identical to one shrunk on another. The
 * threaded entry points (quant.c) split work into contiguous ranges; their
 * results do not depend on the thread count either.
 *
 * Numeric contract (tested exhaustively or against independent references in
 * tests/unit/test_quant.c and against numpy in tests/e2e/test_quant_numpy.py):
 *
 * float32 -> float16: IEEE round to nearest, ties to even. |x| >= 65520
 *   becomes +-Inf (65504 is the largest finite half; values in (65504, 65520)
 *   round down to it). Half subnormals are produced exactly (no flush to
 *   zero); float32 values with |x| <= 2^-25 become +-0. NaN becomes a quiet NaN with
 *   the same sign and the top 10 payload bits: sign | 0x7e00 | (mantissa >> 13).
 *   This is what F16C's vcvtps2ph does. numpy's astype(float16) and
 *   TensorFlow's Cast agree on every non-NaN input, numpy also on quiet NaNs;
 *   for signalling NaNs numpy keeps the payload without setting the quiet bit.
 * float16 -> float32: exact. A NaN keeps its sign and payload and gets the
 *   quiet bit (0x00400000), as vcvtph2ps does; numpy leaves signalling NaNs
 *   signalling. Every non-NaN half survives half -> float -> half unchanged.
 * float32 -> bfloat16: round to nearest, ties to even, on the top 16 bits;
 *   overflow becomes +-Inf; subnormals are kept (no flush to zero, unlike
 *   AVX512-BF16's vcvtneps2bf16). NaN becomes sign | 0x7fc0, the canonical
 *   quiet NaN with the sign kept and the payload dropped. That is what
 *   TensorFlow's own Cast (Eigen) and ml_dtypes do, so the conversion matches
 *   ml_dtypes bit for bit on every input.
 * bfloat16 -> float32: exact (the 16 bits become the top half; NaNs unchanged).
 *
 * int8 (symmetric, zero point 0, TFLite's weight scheme): for each group of
 * values sharing a scale (the whole tensor, or one index of an axis: a
 * last-axis channel, a first-axis row, or any axis in between):
 *   m     = max |x| over the group (exact)
 *   scale = m / 127.0f                  (float32 division)
 *           1.0f if m == 0 (an all-zero group: every q is 0, and 1.0 is a
 *                 harmless, finite, non-zero scale for the graph's Mul)
 *           FLT_MIN if m / 127 < FLT_MIN (a group of values below about
 *                 1.5e-36: keeps the scale normal so x / scale stays exact
 *                 and q within +-127)
 *   q     = round_half_to_even(x / scale), clamped to [-127, 127]
 *           (x / scale is a float32 division; -128 is never produced, so the
 *           range is symmetric as TFLite requires for weights)
 *   y     = (float)q * scale   (float32 multiply: exactly what the rewritten
 *           graph's Cast(int8 -> float) followed by Mul computes)
 * Then |x - y| <= scale * (0.5 + 2^-16) for every element: 0.5 from the
 * rounding to an integer, the rest from rounding x / scale and q * scale to
 * float32. A NaN or +-Inf anywhere makes the quantizer refuse the tensor
 * (TFS_QUANT_NONFINITE) so the caller can keep it as float32.
 *
 * All kernels assume the default floating-point environment (round to
 * nearest, no flush-to-zero / denormals-are-zero), which tfshrink never
 * changes.
 */
#ifndef TFS_QUANT_H
#define TFS_QUANT_H
#include <stddef.h>
#include <stdint.h>

#include "tfshrink.h"

/* Upper bound on worker threads for one call, whatever the CPU count. */
#define TFS_QUANT_MAX_THREADS 64
/* Largest finite float16. */
#define TFS_QUANT_F16_MAX 65504.0f
/* int8 codes lie in [-TFS_QUANT_INT8_QMAX, TFS_QUANT_INT8_QMAX]. */
#define TFS_QUANT_INT8_QMAX 127
/* Returned by the int8 quantizer when the input holds a NaN or an Inf. */
#define TFS_QUANT_NONFINITE TFSHRINK_EUNSUPPORTED

/* ---------------------------------------------------------------------------
 * Options shared by the threaded entry points. NULL means all defaults.
 */
typedef enum tfs_quant_impl {
	TFS_QUANT_IMPL_AUTO = 0, /* fastest kernels this CPU supports */
	TFS_QUANT_IMPL_REF = 1   /* scalar reference kernels only */
} tfs_quant_impl;

typedef struct tfs_quant_opts {
	/* Worker threads, the calling thread included. 0: the number of online
	 * CPUs. Capped at TFS_QUANT_MAX_THREADS. Small inputs use fewer threads
	 * than asked (a thread is started only for about 1 MiB of input or more). */
	int threads;
	tfs_quant_impl impl;
} tfs_quant_opts;

/* Thread count a call with these options would use on a large input. */
int tfs_quant_threads(const tfs_quant_opts *opts);

/* ---------------------------------------------------------------------------
 * Whole-array conversions. Output arrays must not overlap the input. Each
 * returns TFSHRINK_OK, or TFSHRINK_EINVAL when an array is NULL with n > 0.
 * Thread start-up failures are not errors: the work then runs on fewer threads.
 */
int tfs_quant_f32_to_f16(const float *x, size_t n, uint16_t *out, const tfs_quant_opts *opts);
int tfs_quant_f16_to_f32(const uint16_t *h, size_t n, float *out, const tfs_quant_opts *opts);
int tfs_quant_f32_to_bf16(const float *x, size_t n, uint16_t *out, const tfs_quant_opts *opts);
int tfs_quant_bf16_to_f32(const uint16_t *h, size_t n, float *out, const tfs_quant_opts *opts);

/* Float16 range guard: the number of finite x[i] with |x[i]| > 65504. Any
 * such value makes the tensor unfit for float16 (values up to 65519.99...
 * would still round to 65504, but the guard is deliberately conservative).
 * NaN and Inf are not counted: they convert to NaN and Inf. */
size_t tfs_quant_f16_out_of_range(const float *x, size_t n);

/* ---------------------------------------------------------------------------
 * Symmetric int8. The tensor is viewed as a row-major matrix [rows, cols]:
 *   PER_TENSOR   one scale;                    any rows x cols = element count
 *   PER_CHANNEL  scales[cols]: one per index of the last axis
 *                (rows = product of the leading dimensions, cols = last dim;
 *                Conv2D [kh, kw, in, out] and MatMul [in, out] kernels)
 *   PER_ROW      scales[rows]: one per index of the first axis
 *                (rows = first dim, cols = product of the rest; embedding
 *                tables read through Gather, where a row is one token)
 */
typedef enum tfs_int8_axis {
	TFS_INT8_PER_TENSOR = 0,
	TFS_INT8_PER_CHANNEL = 1,
	TFS_INT8_PER_ROW = 2
} tfs_int8_axis;

/* Number of scales the axis needs: 1, cols or rows (0 for an unknown axis). */
size_t tfs_int8_num_scales(tfs_int8_axis axis, size_t rows, size_t cols);

/*
 * Quantizes x[rows * cols] into q[rows * cols] and
 * scales[tfs_int8_num_scales(axis, rows, cols)] (see the contract above).
 * Returns:
 *   TFSHRINK_OK
 *   TFS_QUANT_NONFINITE  x holds a NaN or +-Inf (the error message names the
 *                        first such element); q and scales are then unspecified
 *                        and the caller should keep the tensor as float32
 *   TFSHRINK_EINVAL      NULL array with elements, unknown axis, rows * cols
 *                        overflowing size_t
 *   TFSHRINK_ENOMEM      no memory for the per-thread channel maxima
 */
int tfs_quant_f32_to_int8(const float *x, size_t rows, size_t cols, tfs_int8_axis axis,
	int8_t *q, float *scales, const tfs_quant_opts *opts);

/* y[i] = (float)q[i] * scale of its group: exactly what the graph computes.
 * Returns TFSHRINK_OK or TFSHRINK_EINVAL (as above). */
int tfs_quant_int8_to_f32(const int8_t *q, size_t rows, size_t cols, tfs_int8_axis axis,
	const float *scales, float *y, const tfs_quant_opts *opts);

/*
 * Symmetric int8 with one scale per index of any axis: the tensor viewed as
 * [outer, d, inner] (outer = product of the dimensions before the axis,
 * inner = product of those after it) gets scales[d]; element (o, c, i) uses
 * scales[c]. Weight-only quantization dequantizes before any arithmetic, so
 * every axis is valid; the caller picks the one with the least error.
 * inner == 1 is PER_CHANNEL over [outer, d], outer == 1 PER_ROW over
 * [d, inner]; the bytes follow the same contract. Returns as above.
 */
int tfs_quant_f32_to_int8_axis(const float *x, size_t outer, size_t d, size_t inner,
	int8_t *q, float *scales, const tfs_quant_opts *opts);
int tfs_quant_int8_axis_to_f32(const int8_t *q, size_t outer, size_t d, size_t inner,
	const float *scales, float *y, const tfs_quant_opts *opts);

/* ---------------------------------------------------------------------------
 * Error statistics of a dequantized copy y of x, accumulated in double. The
 * sums are taken over fixed 65,536-element blocks added in order, so the
 * result does not depend on the thread count.
 */
typedef struct tfs_quant_stats {
	size_t n;           /* elements compared (finite x) */
	size_t skipped;     /* elements whose x is NaN or Inf (left out of everything) */
	double sum_x2;      /* sum x^2 */
	double sum_err2;    /* sum (x - y)^2 */
	double sqnr_db;     /* 10 log10(sum_x2 / sum_err2); +inf when y == x exactly,
	                     * -inf when sum_x2 == 0 but y differs */
	double max_abs_err; /* max |x - y| (+inf if a finite x became +-Inf or NaN) */
	double rel_rms;     /* sqrt(sum_err2 / sum_x2); 0 when exact, +inf when sum_x2 == 0 but y differs */
	double max_rel_err; /* max |x - y| / |x| over |x| > tiny; 0 when no such x */
} tfs_quant_stats;

/* Fills *out for x[n] against y[n]. tiny (>= 0) excludes near-zero x from
 * max_rel_err. Returns TFSHRINK_OK, or TFSHRINK_EINVAL for NULL arrays with
 * n > 0, a NULL out or a negative or NaN tiny. */
int tfs_quant_error_stats(const float *x, const float *y, size_t n, double tiny,
	tfs_quant_stats *out, const tfs_quant_opts *opts);

/* ---------------------------------------------------------------------------
 * Kernels: single-threaded, contiguous, any alignment, any length. Tests and
 * benchmarks compare tables directly; library code uses the entry points above.
 */
typedef struct tfs_quant_kernels {
	const char *f16_isa;  /* "ref" or "f16c" */
	const char *bf16_isa; /* "ref" or "avx2" */
	const char *int8_isa; /* "ref" or "avx2" */
	void (*f32_to_f16)(const float *x, size_t n, uint16_t *out);
	void (*f16_to_f32)(const uint16_t *h, size_t n, float *out);
	void (*f32_to_bf16)(const float *x, size_t n, uint16_t *out);
	void (*bf16_to_f32)(const uint16_t *h, size_t n, float *out);
	/* max over i of the bit pattern of |x[i]| (0 for n == 0). As unsigned
	 * integers these order like the magnitudes, and a result >= 0x7f800000
	 * means a NaN or an Inf is present. */
	uint32_t (*absmax_bits)(const float *x, size_t n);
	/* acc[i] = max(acc[i], bits of |x[i]|): one row of a per-channel maximum. */
	void (*absmax_cols)(const float *x, size_t n, uint32_t *acc);
	/* q[i] = clamp(round_half_even(x[i] / scale)): one scale for all ... */
	void (*int8_quant_s)(const float *x, size_t n, float scale, int8_t *q);
	/* ... or x[i] / scales[i]. x must be finite and scales normal. */
	void (*int8_quant_v)(const float *x, size_t n, const float *scales, int8_t *q);
} tfs_quant_kernels;

/* The scalar reference kernels. */
const tfs_quant_kernels *tfs_quant_kernels_ref(void);
/* The fastest kernels this CPU runs (F16C / AVX2 where present, the
 * reference otherwise, chosen per format). */
const tfs_quant_kernels *tfs_quant_kernels_best(void);
/* Fills in the x86 SIMD kernels the CPU supports, leaving other entries as
 * they are (quant_x86.c; a no-op elsewhere). */
void tfs_quant_kernels_x86(tfs_quant_kernels *k);

/* ---------------------------------------------------------------------------
 * Scalar reference conversions of one value (quant_ref.c): the definition of
 * every kernel above.
 */
uint16_t tfs_f32_to_f16_ref(float x);
float tfs_f16_to_f32_ref(uint16_t h);
uint16_t tfs_f32_to_bf16_ref(float x);
float tfs_bf16_to_f32_ref(uint16_t h);
/* Scale for a group whose max |x| is m (finite, >= 0). */
float tfs_int8_scale_ref(float m);
/* clamp(round_half_even(x / scale), -127, 127) for finite x and normal scale. */
int8_t tfs_int8_quant_ref(float x, float scale);
#endif
