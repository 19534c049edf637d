/*
 * fuzz_shrink.c - the whole pipeline on a real model directory: the
 * keras2_mlp_adam (TF2) and tf1_ref_mlp (TF1, reference variables) fixtures
 * are copied into this process's temp dir once; each input mutates one file
 * of one of them, then runs open -> inspect -> shrink -> write (to a fresh
 * output directory) -> cleanup, and restores the file.
 *
 * Input: u8 file | u8 mode | u32 LE offset | payload
 *   file   bit 7: the TF1 fixture; bits 0-6: index into that fixture's
 *          files (sorted paths), modulo their count
 *   mode   bits 0-1: 0 overwrite the payload at offset (growing the file if
 *                    needed), 1 insert it at offset, 2 truncate at offset and
 *                    append it, 3 xor it into the bytes at offset
 *          bit 2: verify every checksum while opening
 *          bit 3: skip shrink (a plain rewrite)
 *          bit 4: keep_objects; bit 5: strip_shapes; bit 6: drop_assets_extra
 *          bit 7: weights to int8, every float tensor (min_elements 1)
 *   offset modulo (file size + 1)
 *
 * Invariants: a failed write leaves neither the output nor a temp dir beside
 * it; a written model opens again.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "fuzz.h"
#include "tfshrink.h"

typedef struct file { char *rel, *path; uint8_t *data; size_t len; } file;
typedef struct fixture { file *files; size_t n_files; char *dir; } fixture;
static const char *const fixture_names[2] = { "keras2_mlp_adam", "tf1_ref_mlp" };
static fixture fx[2];
static char *out_dir;

static void load_fixture(fixture *x, const char *name)
{
	char *src = fuzz_fixture(name);
	tfs_file_entry *fe;
	FUZZ_ASSERT(tfs_walk_files(src, &fe, &x->n_files) == 0 && x->n_files > 0);
	x->files = calloc(x->n_files, sizeof *x->files);
	FUZZ_ASSERT(x->files);
	x->dir = fuzz_path(name);
	FUZZ_ASSERT(tfs_mkdir(x->dir) == 0);
	for (size_t i = 0; i < x->n_files; i++) {
		file *f = &x->files[i];
		char *from = tfs_path_join(src, fe[i].rel);
		FUZZ_ASSERT(from);
		f->rel = strdup(fe[i].rel);
		f->path = tfs_path_join(x->dir, fe[i].rel);
		FUZZ_ASSERT(f->rel && f->path);
		f->data = fuzz_read_file(from, &f->len);
		FUZZ_ASSERT(tfs_mkdirs_for(x->dir, fe[i].rel) == 0);
		fuzz_write_file(f->path, f->data, f->len);
		free(from);
	}
	tfs_walk_free(fe, x->n_files);
	free(src);
}

static void init(void)
{
	for (int i = 0; i < 2; i++)
		load_fixture(&fx[i], fixture_names[i]);
	out_dir = fuzz_path("out");
}

/* Applies the mutation to a copy of f's bytes. */
static uint8_t *mutate(const file *f, int mode, uint32_t off, const uint8_t *pl, size_t pn, size_t *out_len)
{
	size_t o = off % (f->len + 1);
	size_t cap = f->len + pn + 1;
	uint8_t *b = malloc(cap);
	FUZZ_ASSERT(b);
	memcpy(b, f->data, f->len);
	size_t n = f->len;
	switch (mode & 3) {
	case 0:
		memcpy(b + o, pl, pn);
		if (o + pn > n)
			n = o + pn;
		break;
	case 1:
		memmove(b + o + pn, b + o, n - o);
		memcpy(b + o, pl, pn);
		n += pn;
		break;
	case 2:
		memcpy(b + o, pl, pn);
		n = o + pn;
		break;
	default:
		for (size_t i = 0; i < pn && o + i < n; i++)
			b[o + i] ^= pl[i];
		break;
	}
	*out_len = n;
	return b;
}

/* No ".out.tfshrink-*" directory may survive a write, failed or not. */
static void assert_no_temp_dirs(void)
{
	DIR *d = opendir(fuzz_tmpdir());
	FUZZ_ASSERT(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		FUZZ_ASSERT(strncmp(e->d_name, ".out.tfshrink-", 14) != 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!out_dir)
		init();
	int which = fuzz_take_u8(&data, &size);
	const fixture *x = &fx[which >> 7];
	const file *f = &x->files[(size_t)(which & 0x7f) % x->n_files];
	int mode = fuzz_take_u8(&data, &size);
	uint32_t off = fuzz_take_u32(&data, &size);
	size_t n;
	uint8_t *mutated = mutate(f, mode, off, data, size, &n);
	fuzz_write_file(f->path, mutated, n);
	free(mutated);

	tfshrink_model *m = NULL;
	tfshrink_open_options oo = TFSHRINK_OPEN_OPTIONS_INIT;
	oo.verify_crc = (mode >> 2) & 1;
	if (fuzz_note("open", tfshrink_model_open(&m, x->dir, &oo)) == 0) {
		tfshrink_report *r = NULL;
		if (fuzz_note("inspect", tfshrink_model_inspect(m, &r)) == 0)
			tfshrink_report_free(r);
		int ok = 1;
		if (!((mode >> 3) & 1)) {
			tfshrink_shrink_options so = TFSHRINK_SHRINK_OPTIONS_INIT;
			so.keep_objects = (mode >> 4) & 1;
			so.strip_shapes = (mode >> 5) & 1;
			so.drop_assets_extra = (mode >> 6) & 1;
			if ((mode >> 7) & 1) {
				so.weights = TFSHRINK_WEIGHTS_INT8;
				so.min_elements = 1;
			}
			tfshrink_shrink_report *sr = NULL;
			ok = fuzz_note("shrink", tfshrink_model_shrink(m, &so, &sr)) == 0;
			tfshrink_shrink_report_free(sr);
		}
		if (ok) {
			int rc = fuzz_note("write", tfshrink_model_write(m, out_dir, NULL));
			if (rc == 0) {
				tfshrink_model *back = NULL;
				if (tfshrink_model_open(&back, out_dir, &oo) != 0) {
					const tfshrink_error *e = tfshrink_error_last();
					fprintf(stderr, "written model does not open: %s (%s)\n", e->message,
					        e->path ? e->path : "-");
					FUZZ_ASSERT(0);
				}
				tfshrink_model_free(back);
			} else {
				FUZZ_ASSERT(!tfs_path_exists(out_dir));
			}
			assert_no_temp_dirs();
			tfs_remove_tree(out_dir);
		}
		tfshrink_model_free(m);
	}
	fuzz_write_file(f->path, f->data, f->len);
	return 0;
}
