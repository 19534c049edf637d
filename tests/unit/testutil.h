/* testutil.h - shared helpers for the cmocka unit tests. */
#ifndef TFS_TESTUTIL_H
#define TFS_TESTUTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tensorflow.pb-c.h"
#include "tfshrink.h"

/* ------------------------------------------------------- files and paths */

/* New empty directory under $TMPDIR; caller frees the string and removes it. */
char *tu_mkdtemp(void);
/* Path of a committed fixture model (tests/fixtures/models/NAME). */
char *tu_fixture(const char *name);
/* Path of a shared real model, or NULL if ../shared/realmodels is absent. */
char *tu_realmodel(const char *name);
/* a/b; caller frees. */
char *tu_join(const char *a, const char *b);
/* The last component of a path. */
const char *tu_base(const char *path);
int tu_ends_with(const char *s, const char *suffix);
/* Writes bytes to dir/name (creating parents). */
void tu_write(const char *dir, const char *name, const void *data, size_t n);
/* Reads a file; aborts the test on failure. */
uint8_t *tu_read(const char *path, size_t *n);
/* Whether two files hold the same bytes. */
int tu_same_file(const char *a, const char *b);
/* Copies a directory tree (cp -r). */
void tu_copy_tree(const char *src, const char *dst);
/* Asserts the last error has this code and its message contains `needle`. */
void tu_assert_error(int rc, int code, const char *needle);

/* --------------------------------------------- the per-test scratch dir */

/* The running test's scratch directory, made and removed around each test
 * that TU_TMP_TEST registers. */
extern char *tu_tmp;
int tu_setup_tmp(void **state);
int tu_teardown_tmp(void **state);
#define TU_TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, tu_teardown_tmp)
/* tu_tmp/name; caller frees. */
char *tu_tmp_path(const char *name);
/* A writable copy of model directory src at tu_tmp/name (the shared models
 * are read-only); caller frees the path. */
char *tu_copy_model(const char *src, const char *name);
/* A model directory tu_tmp/name holding only saved_model.pbtxt = text;
 * caller frees the path. */
char *tu_pbtxt_model(const char *name, const char *text);

/* ------------------------------------------------------- model lists */

/* Model directories (holding saved_model.pb or .pbtxt), sorted by name. */
typedef struct tu_models {
	char **dir;
	size_t n;
} tu_models;
/* Every committed fixture, then every shared real model. */
tu_models tu_all_models(void);
void tu_models_free(tu_models *l);
typedef void (*tu_model_fn)(const char *dir, const char *name);
/* Calls fn on each model directory under root; returns how many. */
size_t tu_each_model(const char *root, tu_model_fn fn);
size_t tu_each_fixture(tu_model_fn fn);
/* 0 when the shared real models are absent. */
size_t tu_each_realmodel(tu_model_fn fn);

/* ------------------------------------------- open, shrink, write, reopen */

/* Opens a model, checking every checksum if verify_crc; fails the test if
 * it does not open. */
tfshrink_model *tu_open(const char *dir, int verify_crc);
tfshrink_model *tu_open_fixture(const char *name, int verify_crc);
/* Fails the test, naming the model, if tfs_model_verify refuses it. */
void tu_assert_verifies(tfshrink_model *m);
/* Shrink options that run only the named pass. */
tfshrink_shrink_options tu_only(const char *pass);
const tfshrink_pass_result *tu_pass_result(const tfshrink_shrink_report *r, const char *pass);
/* Shrinks with o (NULL: the defaults); fails the test on an error. */
tfshrink_shrink_report *tu_shrink(tfshrink_model *m, const tfshrink_shrink_options *o);
tfshrink_shrink_report *tu_shrink_only(tfshrink_model *m, const char *pass);
/* Shrinks m (opened from dir) with o into *r and returns 1. If that fails, a
 * shrink of dir running no pass must fail too (the verify step refuses the
 * model as it is: no pass's doing), and it returns 0. */
int tu_shrink_unless_refused(tfshrink_model *m, const char *dir, const tfshrink_shrink_options *o,
                             tfshrink_shrink_report **r);
/* Runs one pass by itself, outside the pipeline; items and summary (256
 * bytes) may be NULL. */
struct tfs_pass;
int tu_run_pass(const struct tfs_pass *p, tfshrink_model *m, int keep_objects, uint64_t *items, char *summary);
/* Writes m to tu_tmp/name and reopens it with every checksum verified; the
 * output's path goes to *out (caller frees) unless out is NULL. */
tfshrink_model *tu_write_reopen(tfshrink_model *m, const char *name, char **out);
/* Whether the model lists a file; the bytes of all its files. */
int tu_has_file(const tfshrink_model *m, const char *rel);
uint64_t tu_model_bytes(const tfshrink_model *m);

/* One model through tu_check_pass: as opened, after the passes, and written
 * to out and reopened. */
typedef struct tu_pass_run {
	const char *dir, *name, *out;
	const tfshrink_shrink_options *opts;
	tfshrink_model *in, *m, *w;
	tfshrink_shrink_report *r;
} tu_pass_run;
/* Shrinks the model in dir with o (a model refused as it is passes, see
 * tu_shrink_unless_refused), writes it to tu_tmp/name, checks the forecast
 * size and calls check; the output is removed afterwards. */
void tu_check_pass(const char *dir, const char *name, const tfshrink_shrink_options *o,
                   void (*check)(const tu_pass_run *run));

/* ------------------------------------------------ building in memory */

/* strdup, and realloc of arr (n elements) to hold one more; never NULL. */
char *tu_strdup(const char *s);
void *tu_grow(void *arr, size_t n, size_t elem);
/* Graphs: a new node; attr values naming a function and holding a string;
 * appending attr key (taking v over) to a node. */
Tensorflow__NodeDef *tu_node(const char *name, const char *op);
Tensorflow__AttrValue *tu_func_attr(const char *fname);
Tensorflow__AttrValue *tu_string_attr(const char *s);
void tu_add_attr(Tensorflow__NodeDef *n, const char *key, Tensorflow__AttrValue *v);
/* Byte-wise order of keys (the order of tables and bundles). */
int tu_key_cmp(const void *a, size_t an, const void *b, size_t bn);
/* Opens a bundle writer at prefix with a header of producer version 1. */
struct tfs_bundle_writer;
void tu_bundle_writer_open(struct tfs_bundle_writer *w, const char *prefix, int num_shards);
#endif
