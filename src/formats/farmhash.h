/* farmhash.h - the 64-bit fingerprint TensorFlow uses for fingerprint.pb. */
#ifndef TFS_FARMHASH_H
#define TFS_FARMHASH_H
#include <stddef.h>
#include <stdint.h>

/* FarmHash Fingerprint64 of n bytes (equal to farmhashna Hash64; stable
 * forever by FarmHash's definition). Little-endian hosts only, like the rest
 * of tfshrink. */
uint64_t tfs_fingerprint64(const void *p, size_t n);

/* Combines two fingerprints the way TensorFlow's FingerprintCat64 does
 * (order matters: cat(a, b) != cat(b, a)). */
uint64_t tfs_fingerprint_cat64(uint64_t a, uint64_t b);
#endif
