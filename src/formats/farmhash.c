/*
 * farmhash.c - FarmHash Fingerprint64 and TensorFlow's FingerprintCat64.
 *
 * Hand-written in C: the only packaged FarmHash (Debian's libfarmhash-dev) is
 * a C++ library whose sole entry point is the mangled util::Fingerprint64,
 * with no C API, and tfshrink is a C-only build. Written from the algorithm's
 * description (FarmHash's "na" 64-bit hash, which Fingerprint64 is defined
 * as); the unit test checks it against values produced by TensorFlow itself
 * and against FarmHash's published self-test constants.
 *
 * Structure: inputs of up to 16, 17..32 and 33..64 bytes each get a short
 * mixing recipe; longer inputs run a 64-byte-block loop over a 56-byte state
 * and finish with the last 64 bytes of the input (which may overlap the last
 * block already consumed).
 */
#include "farmhash.h"

#include <string.h>

/* Three odd 64-bit primes from FarmHash. */
#define P0 0xc3a5c85c97cb3127ULL
#define P1 0xb492b66fbe98f273ULL
#define P2 0x9ae16a3b2f90404fULL

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* little-endian host */
	return v;
}

static inline uint64_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Right rotation; every call site uses a count in 1..63. */
static inline uint64_t ror(uint64_t v, unsigned r) { return (v >> r) | (v << (64 - r)); }

static inline uint64_t fold47(uint64_t v) { return v ^ (v >> 47); }

/* Mixes two words into one with multiplier k. */
static inline uint64_t mix2(uint64_t lo, uint64_t hi, uint64_t k)
{
	uint64_t t = fold47((lo ^ hi) * k);
	return fold47((hi ^ t) * k) * k;
}

static uint64_t short_0_16(const uint8_t *s, size_t n)
{
	if (n >= 8) {
		uint64_t k = P2 + 2 * (uint64_t)n;
		uint64_t head = ld64(s) + P2, tail = ld64(s + n - 8);
		return mix2(ror(tail, 37) * k + head, (ror(head, 25) + tail) * k, k);
	}
	if (n >= 4) {
		uint64_t k = P2 + 2 * (uint64_t)n;
		return mix2((uint64_t)n + (ld32(s) << 3), ld32(s + n - 4), k);
	}
	if (n == 0)
		return P2;
	uint32_t lowbytes = (uint32_t)s[0] | ((uint32_t)s[n / 2] << 8);
	uint32_t lenbyte = (uint32_t)n + ((uint32_t)s[n - 1] << 2);
	return fold47((uint64_t)lowbytes * P2 ^ (uint64_t)lenbyte * P0) * P2;
}

static uint64_t short_17_32(const uint8_t *s, size_t n)
{
	uint64_t k = P2 + 2 * (uint64_t)n;
	uint64_t a = ld64(s) * P1, b = ld64(s + 8);
	uint64_t c = ld64(s + n - 8) * k, d = ld64(s + n - 16) * P2;
	return mix2(ror(a + b, 43) + ror(c, 30) + d, a + ror(b + P2, 18) + c, k);
}

static uint64_t short_33_64(const uint8_t *s, size_t n)
{
	uint64_t k = P2 + 2 * (uint64_t)n;
	uint64_t a = ld64(s) * P2, b = ld64(s + 8);
	uint64_t c = ld64(s + n - 8) * k, d = ld64(s + n - 16) * P2;
	uint64_t y = ror(a + b, 43) + ror(c, 30) + d;
	uint64_t z = mix2(y, a + ror(b + P2, 18) + c, k);
	uint64_t e = ld64(s + 16) * k, f = ld64(s + 24);
	uint64_t g = (y + ld64(s + n - 32)) * k, h = (z + ld64(s + n - 24)) * k;
	return mix2(ror(e + f, 43) + ror(g, 30) + h, e + ror(f + a, 18) + g, k);
}

typedef struct pair64 {
	uint64_t a, b;
} pair64;

/* Folds the four words at s with seeds a and b into two words. */
static inline pair64 fold32(const uint8_t *s, uint64_t a, uint64_t b)
{
	uint64_t w = ld64(s), x = ld64(s + 8), y = ld64(s + 16), z = ld64(s + 24);
	a += w;
	b = ror(b + a + z, 21);
	uint64_t keep = a;
	a += x + y;
	b += ror(a, 44);
	return (pair64){ a + z, b + keep };
}

static uint64_t long_input(const uint8_t *s, size_t n)
{
	uint64_t x = 81, y = 81 * P1 + 113;
	uint64_t z = fold47(y * P2 + 113) * P2;
	pair64 v = { 0, 0 }, w = { 0, 0 };
	x = x * P2 + ld64(s);
	/* Whole 64-byte blocks, leaving 1..64 bytes for the finish. */
	const uint8_t *stop = s + ((n - 1) / 64) * 64;
	const uint8_t *last = s + n - 64;
	for (; s != stop; s += 64) {
		x = ror(x + y + v.a + ld64(s + 8), 37) * P1;
		y = ror(y + v.b + ld64(s + 48), 42) * P1;
		x ^= w.b;
		y += v.a + ld64(s + 40);
		z = ror(z + w.a, 33) * P1;
		v = fold32(s, v.b * P1, x + w.a);
		w = fold32(s + 32, z + w.b, y + ld64(s + 16));
		uint64_t t = z;
		z = x;
		x = t;
	}
	uint64_t k = P1 + ((z & 0xff) << 1);
	s = last;
	w.a += (uint64_t)((n - 1) & 63);
	v.a += w.a;
	w.a += v.a;
	x = ror(x + y + v.a + ld64(s + 8), 37) * k;
	y = ror(y + v.b + ld64(s + 48), 42) * k;
	x ^= w.b * 9;
	y += v.a * 9 + ld64(s + 40);
	z = ror(z + w.a, 33) * k;
	v = fold32(s, v.b * k, x + w.a);
	w = fold32(s + 32, z + w.b, y + ld64(s + 16));
	/* the block loop's final swap, applied once more */
	uint64_t t = z;
	z = x;
	x = t;
	return mix2(mix2(v.a, w.a, k) + fold47(y) * P0 + z, mix2(v.b, w.b, k) + x, k);
}

uint64_t tfs_fingerprint64(const void *p, size_t n)
{
	const uint8_t *s = p;
	if (n <= 16)
		return short_0_16(s, n);
	if (n <= 32)
		return short_17_32(s, n);
	if (n <= 64)
		return short_33_64(s, n);
	return long_input(s, n);
}

uint64_t tfs_fingerprint_cat64(uint64_t a, uint64_t b)
{
	const uint64_t m = 0xc6a4a7935bd1e995ULL;
	uint64_t r = a ^ m;
	r ^= fold47(b * m) * m;
	r *= m;
	r = fold47(r) * m;
	return fold47(r);
}
