/* crc32c.h - CRC-32C (Castagnoli) and TensorFlow's masking of stored CRCs. */
#ifndef TFS_CRC32C_H
#define TFS_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over n bytes. */
uint32_t tfs_crc32c_extend(uint32_t crc, const void *data, size_t n);
static inline uint32_t tfs_crc32c(const void *data, size_t n) { return tfs_crc32c_extend(0, data, n); }
/* Portable path only (for tests comparing it with the hardware path). */
uint32_t tfs_crc32c_extend_sw(uint32_t crc, const void *data, size_t n);
/* 1 if the CPU's crc32 instruction is used. */
int tfs_crc32c_hw(void);

/* TensorFlow stores CRCs masked so that a CRC of data containing CRCs stays useful. */
static inline uint32_t tfs_crc_mask(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }
static inline uint32_t tfs_crc_unmask(uint32_t m)
{
	uint32_t r = m - 0xa282ead8u;
	return (r >> 17) | (r << 15);
}

/* 1 if a stored checksum equals the computed one. Every check of a stored
 * CRC goes through here so that fuzzing builds can bypass them:
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (defined only for the fuzz and
 * corpus-replay copies of the library, fuzz/fuzzlib.cmake) accepts every
 * checksum, so mutated inputs reach the parsing behind it. */
static inline int tfs_crc_ok(uint32_t stored, uint32_t computed)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)stored;
	(void)computed;
	return 1; /* FUZZING ONLY: checksums are not checked */
#else
	return stored == computed;
#endif
}
#endif
