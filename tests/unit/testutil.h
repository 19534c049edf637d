/* testutil.h - shared helpers for the cmocka unit tests. */
#ifndef TFS_TESTUTIL_H
#define TFS_TESTUTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* New empty directory under $TMPDIR; caller frees the string and removes it. */
char *tu_mkdtemp(void);
/* Path of a committed fixture model (tests/fixtures/models/NAME). */
char *tu_fixture(const char *name);
/* Path of a shared real model, or NULL if ../shared/realmodels is absent. */
char *tu_realmodel(const char *name);
/* Writes bytes to dir/name (creating parents). */
void tu_write(const char *dir, const char *name, const void *data, size_t n);
/* Reads a file; aborts the test on failure. */
uint8_t *tu_read(const char *path, size_t *n);
/* Copies a directory tree (cp -r). */
void tu_copy_tree(const char *src, const char *dst);
/* Asserts the last error has this code and its message contains `needle`. */
void tu_assert_error(int rc, int code, const char *needle);

/* The running test's scratch directory, made and removed around each test
 * that TU_TMP_TEST registers. */
extern char *tu_tmp;
int tu_setup_tmp(void **state);
int tu_teardown_tmp(void **state);
#define TU_TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, tu_teardown_tmp)
/* a/b; caller frees. */
char *tu_join(const char *a, const char *b);
/* tu_tmp/name; caller frees. */
char *tu_tmp_path(const char *name);
/* A writable copy of model directory src at tu_tmp/name (the shared models
 * are read-only); caller frees the path. */
char *tu_copy_model(const char *src, const char *name);
#endif
