/*
 * crc32c.c - CRC-32C, hand-written because Debian packages no C library for
 * it (only a Python module). Table-driven slicing-by-8, plus the SSE4.2 crc32
 * instruction chosen at run time on x86-64; both give identical results.
 */
#include "crc32c.h"

#include <string.h>

#define POLY 0x82f63b78u /* Castagnoli, reflected */

static uint32_t table[8][256];
static int table_ready;

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	__atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t tfs_crc32c_extend_sw(uint32_t crc, const void *data, size_t n)
{
	const uint8_t *p = data;
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		build_table(); /* idempotent: racing threads write the same values */
	uint32_t c = ~crc;
	while (n && ((uintptr_t)p & 7)) {
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
		n--;
	}
	while (n >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c; /* little-endian hosts only; see CMake check */
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
		    table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
	return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;
	while (n && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		n--;
	}
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

int tfs_crc32c_hw(void)
{
	static int hw = -1;
	int v = __atomic_load_n(&hw, __ATOMIC_RELAXED);
	if (v < 0) {
		__builtin_cpu_init();
		v = __builtin_cpu_supports("sse4.2") ? 1 : 0;
		__atomic_store_n(&hw, v, __ATOMIC_RELAXED);
	}
	return v;
}

uint32_t tfs_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
	return tfs_crc32c_hw() ? crc_hw(crc, data, n) : tfs_crc32c_extend_sw(crc, data, n);
}
#else
int tfs_crc32c_hw(void) { return 0; }
uint32_t tfs_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
	return tfs_crc32c_extend_sw(crc, data, n);
}
#endif
