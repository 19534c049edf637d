/*
 * fuzz.h - shared by the fuzz targets in fuzz/.
 *
 * Each fuzz_<name>.c defines only LLVMFuzzerTestOneInput (and at most an
 * init hook through fuzz_once). It is linked either with libFuzzer
 * (clang -fsanitize=fuzzer; fuzz/CMakeLists.txt, -DTFSHRINK_FUZZ=ON) or with
 * fuzz/replay.c, a plain main() that feeds it every file of a corpus
 * directory (CTest label fuzz-replay, any compiler).
 *
 * Both link a copy of the library built with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which accepts every stored CRC32C
 * (tfs_crc_ok in src/common/crc32c.h) so mutated inputs get past checksums.
 *
 * A target may return only 0; a broken invariant calls FUZZ_ASSERT, which
 * aborts (libFuzzer and replay both report it as a crash).
 */
#ifndef TFS_FUZZ_H
#define TFS_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                         \
	do {                                                                                          \
		if (!(cond)) {                                                                            \
			fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                          \
		}                                                                                         \
	} while (0)

/* A private directory for this process, created on first use under $TMPDIR
 * (or /tmp) and removed at exit. Never NULL (aborts if it cannot be made). */
const char *fuzz_tmpdir(void);
/* malloc'd "fuzz_tmpdir()/rel"; aborts on ENOMEM. */
char *fuzz_path(const char *rel);
/* Replaces the file at path with n bytes (parents must exist); aborts on failure. */
void fuzz_write_file(const char *path, const void *p, size_t n);
/* Reads a whole file into a malloc'd buffer; aborts on failure. */
uint8_t *fuzz_read_file(const char *path, size_t *n);
/* Path of a committed fixture model: $TFSHRINK_SOURCE_DIR (else the source
 * dir compiled in) /tests/fixtures/models/name. malloc'd. */
char *fuzz_fixture(const char *name);

/* Reads a little-endian u32 from the front of the input, or 0 if too short;
 * advances *p and *n past what it consumed. */
uint32_t fuzz_take_u32(const uint8_t **p, size_t *n);
uint8_t fuzz_take_u8(const uint8_t **p, size_t *n);

/* With FUZZ_VERBOSE set in the environment, prints "stage: rc <last error>"
 * to stderr (to see how far an input gets); returns rc. */
int fuzz_note(const char *stage, int rc);
#endif
