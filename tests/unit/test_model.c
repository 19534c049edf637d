/* test_model.c - the public model API: open, write and inspect round trips
 * over every fixture and shared real model, refusals, failures that leave
 * nothing behind, and open errors. */
#include "testutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "cursor.h"
#include "dtype.h"
#include "error.h"
#include "formats/bundle.h"
#include "formats/table.h"
#include "fsutil.h"
#include "model_internal.h"
#include "pbio.h"
#include "tensorflow.pb-c.h"
#include "tfshrink.h"

#define OG_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

static const char *errpath(void)
{
	const char *p = tfshrink_error_last()->path;
	return p ? p : "-";
}

/* ------------------------------------------------- an independent walk */

typedef struct flist {
	char **rel;
	uint64_t *size;
	size_t n, cap;
} flist;

static void fl_add(flist *f, const char *rel, uint64_t size)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 32;
		f->rel = realloc(f->rel, f->cap * sizeof *f->rel);
		f->size = realloc(f->size, f->cap * sizeof *f->size);
		assert_non_null(f->rel);
		assert_non_null(f->size);
	}
	f->rel[f->n] = strdup(rel);
	f->size[f->n] = size;
	f->n++;
}

static void walk_into(const char *root, const char *rel, flist *f)
{
	char *dir = rel[0] ? tu_join(root, rel) : strdup(root);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *r = rel[0] ? tu_join(rel, de->d_name) : strdup(de->d_name);
		char *abs = tu_join(root, r);
		struct stat st;
		assert_int_equal(stat(abs, &st), 0);
		if (S_ISDIR(st.st_mode))
			walk_into(root, r, f);
		else if (S_ISREG(st.st_mode))
			fl_add(f, r, (uint64_t)st.st_size);
		free(abs);
		free(r);
	}
	closedir(d);
	free(dir);
}

static flist walk(const char *root)
{
	flist f = { 0 };
	walk_into(root, "", &f);
	return f;
}

static void fl_free(flist *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->rel[i]);
	free(f->rel);
	free(f->size);
	memset(f, 0, sizeof *f);
}

static ssize_t fl_find(const flist *f, const char *rel)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->rel[i], rel))
			return (ssize_t)i;
	return -1;
}

/* Entries of a directory (not recursive), sorted, as one string. */
static char *listing(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(names[i]->d_name) + 1;
	char *s = calloc(1, len);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			strcat(s, names[i]->d_name);
			strcat(s, "\n");
		}
		free(names[i]);
	}
	free(names);
	return s;
}

static int has_temp_entries(const char *dir)
{
	char *l = listing(dir);
	int has = strstr(l, ".tfshrink-") != NULL;
	free(l);
	return has;
}

/* ------------------------------------------------------------ models */

static int has_object_graph(const char *dir)
{
	char *prefix = tu_join(dir, "variables/variables");
	char *index = tu_join(dir, "variables/variables.index");
	int has = 0;
	if (tfs_is_file(index)) {
		tfs_bundle *b = NULL;
		if (tfs_bundle_open(prefix, &b) == 0) {
			has = tfs_bundle_find(b, OG_KEY, strlen(OG_KEY)) != NULL;
			tfs_bundle_free(b);
		}
	}
	free(prefix);
	free(index);
	return has;
}

static int has_variables(const char *dir)
{
	char *idx = tu_join(dir, "variables/variables.index");
	int has = tfs_is_file(idx);
	free(idx);
	return has;
}

/* A writable copy, at tu_tmp/name, of the first model that `has`; NULL when
 * there is none. */
static char *copy_first(int (*has)(const char *dir), const char *name)
{
	tu_models ml = tu_all_models();
	char *out = NULL;
	for (size_t i = 0; i < ml.n && !out; i++)
		if (has(ml.dir[i]))
			out = tu_copy_model(ml.dir[i], name);
	tu_models_free(&ml);
	return out;
}

/* ----------------------------------------- helpers on the index format */

static uint64_t getv(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	for (int s = 0; s < 64; s += 7) {
		assert_true(*p < end);
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return v;
	}
	fail_msg("bad varint");
	return 0;
}

/* 1 if any block of a table file (already known to be valid) is compressed. */
static int index_has_compressed_blocks(const uint8_t *d, size_t n)
{
	assert_true(n >= 48);
	const uint8_t *end = d + n, *p = d + n - 48;
	(void)getv(&p, end);
	(void)getv(&p, end);
	uint64_t ioff = getv(&p, end), isize = getv(&p, end);
	assert_true(ioff + isize + 5 <= n);
	if (d[ioff + isize] != 0)
		return 1;
	const uint8_t *blk = d + ioff;
	assert_true(isize >= 4);
	uint32_t nr = tfs_get_u32le(blk + isize - 4);
	assert_true(4 + 4 * (uint64_t)nr <= isize);
	const uint8_t *bend = blk + isize - 4 - 4 * (size_t)nr;
	for (p = blk; p < bend;) {
		uint64_t shared = getv(&p, bend), ns = getv(&p, bend), vl = getv(&p, bend);
		(void)shared;
		p += ns;
		const uint8_t *v = p;
		uint64_t off = getv(&v, bend), size = getv(&v, bend);
		assert_true(off + size + 5 <= n);
		if (d[off + size] != 0)
			return 1;
		p += vl;
	}
	return 0;
}

static void assert_same_tables(const char *a, const char *b)
{
	size_t na, nb;
	uint8_t *x = tu_read(a, &na), *y = tu_read(b, &nb);
	tfs_table *ta = NULL, *tb = NULL;
	assert_int_equal(tfs_table_read(x, na, a, &ta), 0);
	assert_int_equal(tfs_table_read(y, nb, b, &tb), 0);
	assert_int_equal(ta->n, tb->n);
	for (size_t i = 0; i < ta->n; i++) {
		assert_int_equal(ta->kv[i].key_len, tb->kv[i].key_len);
		assert_int_equal(ta->kv[i].val_len, tb->kv[i].val_len);
		if (ta->kv[i].key_len)
			assert_memory_equal(ta->kv[i].key, tb->kv[i].key, ta->kv[i].key_len);
		if (ta->kv[i].val_len)
			assert_memory_equal(ta->kv[i].val, tb->kv[i].val, ta->kv[i].val_len);
	}
	tfs_table_free(ta);
	tfs_table_free(tb);
	free(x);
	free(y);
}

/* Serialized bytes of a SavedModel after a parse (protobuf-c writes fields
 * in field-number order). */
static uint8_t *repack_pb(const uint8_t *d, size_t n, const char *path, size_t *out_n)
{
	ProtobufCMessage *m = NULL;
	int rc = tfs_pb_unpack(&tensorflow__saved_model__descriptor, d, n, path, &m);
	if (rc)
		fail_msg("%s: %s", path, tfshrink_error_last()->message);
	uint8_t *out = NULL;
	assert_int_equal(tfs_pb_pack(m, &out, out_n), 0);
	protobuf_c_message_free_unpacked(m, NULL);
	return out;
}

/* -------------------------------------------------------- the checks */

typedef struct rt_stats {
	size_t models, pb_identical, pb_reordered, pb_text, index_identical, index_snappy, entries;
	size_t fingerprints_kept, fingerprints_dropped;
} rt_stats;

static void check_inspect(tfshrink_model *m, const char *dir)
{
	tfshrink_report *r = NULL;
	int rc = tfshrink_model_inspect(m, &r);
	if (rc)
		fail_msg("inspect %s: %s", dir, tfshrink_error_last()->message);
	uint64_t parts = 0;
	for (size_t i = 0; i < r->n_parts; i++)
		parts += r->parts[i].bytes;
	flist f = walk(dir);
	uint64_t files = 0;
	for (size_t i = 0; i < f.n; i++)
		files += f.size[i];
	if (parts != r->total_bytes || files != r->total_bytes) {
		for (size_t i = 0; i < r->n_parts; i++)
			print_message("  %-60s %" PRIu64 "\n", r->parts[i].name, r->parts[i].bytes);
		fail_msg("%s: parts sum to %" PRIu64 ", total_bytes %" PRIu64 ", files hold %" PRIu64, dir, parts,
		         r->total_bytes, files);
	}
	assert_int_equal(r->n_files, f.n);
	for (size_t i = 0; i < r->n_files; i++) {
		ssize_t k = fl_find(&f, r->files[i].name);
		if (k < 0)
			fail_msg("%s: report lists %s, which is not there", dir, r->files[i].name);
		assert_int_equal(r->files[i].bytes, f.size[k]);
	}
	fl_free(&f);
	tfshrink_report_free(r);
}

/* Core files of a model directory: the ones the writer regenerates. */
static int is_core(const char *rel, int num_shards)
{
	if (!strcmp(rel, "saved_model.pb") || !strcmp(rel, "saved_model.pbtxt"))
		return 1;
	if (num_shards <= 0)
		return 0;
	if (!strcmp(rel, "variables/variables.index"))
		return 1;
	for (int i = 0; i < num_shards; i++) {
		char want[64];
		snprintf(want, sizeof want, "variables/variables.data-%05d-of-%05d", i, num_shards);
		if (!strcmp(rel, want))
			return 1;
	}
	return 0;
}

/* (b): every entry's bytes equal, through the bundle readers. */
static int compare_bundles(const char *in, const char *out, rt_stats *st)
{
	char *pi = tu_join(in, "variables/variables"), *po = tu_join(out, "variables/variables");
	tfs_bundle *a = NULL, *b = NULL;
	int rc = tfs_bundle_open(pi, &a);
	if (rc)
		fail_msg("%s: %s", pi, tfshrink_error_last()->message);
	rc = tfs_bundle_open(po, &b);
	if (rc)
		fail_msg("%s: %s (%s)", po, tfshrink_error_last()->message, errpath());
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->num_shards, b->num_shards);
	for (size_t i = 0; i < a->n; i++) {
		const tfs_bundle_entry *x = &a->e[i], *y = &b->e[i];
		assert_int_equal(x->key_len, y->key_len);
		assert_memory_equal(x->key, y->key, x->key_len);
		const Tensorflow__BundleEntryProto *px = x->proto, *py = y->proto;
		assert_int_equal(px->dtype, py->dtype);
		assert_int_equal(px->shard_id, py->shard_id);
		assert_int_equal(px->size, py->size);
		assert_int_equal(px->crc32c, py->crc32c);
		assert_int_equal(px->n_slices, py->n_slices);
		assert_int_equal(x->elements, y->elements);
		const uint8_t *dx, *dy;
		uint64_t nx, ny;
		assert_int_equal(tfs_bundle_data(a, x, &dx, &nx), 0);
		assert_int_equal(tfs_bundle_data(b, y, &dy, &ny), 0);
		assert_int_equal(nx, ny);
		if (nx && memcmp(dx, dy, (size_t)nx))
			fail_msg("%s: tensor '%s' bytes differ after the rewrite", out, (const char *)x->key);
		st->entries++;
	}
	for (int s = 0; s < a->num_shards; s++)
		assert_true(b->shards[s].size <= a->shards[s].size);
	int shards = a->num_shards;
	tfs_bundle_free(a);
	tfs_bundle_free(b);
	free(pi);
	free(po);
	return shards;
}

static void roundtrip_one(const char *in, rt_stats *st)
{
	const char *name = tu_base(in);
	tfshrink_model *m = tu_open(in, 0);
	check_inspect(m, in); /* (d) on the input */
	char *out = tu_tmp_path(name);
	if (tfshrink_model_write(m, out, NULL))
		fail_msg("write %s: %s (%s)", in, tfshrink_error_last()->message, errpath());
	st->models++;

	/* (a) saved_model.pb */
	char *pb_in = tu_join(in, "saved_model.pb"), *pb_out = tu_join(out, "saved_model.pb");
	assert_true(tfs_is_file(pb_out));
	size_t n_out;
	uint8_t *out_bytes = tu_read(pb_out, &n_out);
	int pb_changed = 0;
	if (tfs_is_file(pb_in)) {
		size_t n_in;
		uint8_t *in_bytes = tu_read(pb_in, &n_in);
		if (n_in == n_out && !memcmp(in_bytes, out_bytes, n_in)) {
			st->pb_identical++;
		} else {
			/* only when the input is not in protobuf's canonical field order */
			size_t rn_in, rn_out;
			uint8_t *r_in = repack_pb(in_bytes, n_in, pb_in, &rn_in);
			uint8_t *r_out = repack_pb(out_bytes, n_out, pb_out, &rn_out);
			if (rn_in == n_in && !memcmp(r_in, in_bytes, n_in))
				fail_msg("%s: saved_model.pb changed though the input is canonical", name);
			assert_int_equal(rn_in, rn_out);
			assert_memory_equal(r_in, r_out, rn_in);
			/* and the output is the canonical form itself */
			assert_int_equal(rn_out, n_out);
			assert_memory_equal(r_out, out_bytes, n_out);
			free(r_in);
			free(r_out);
			st->pb_reordered++;
			pb_changed = 1;
		}
		free(in_bytes);
	} else {
		/* text input: the output is the binary form of what was parsed */
		uint8_t *packed = NULL;
		size_t pn;
		assert_int_equal(tfs_pb_pack(&m->sm->base, &packed, &pn), 0);
		assert_int_equal(pn, n_out);
		assert_memory_equal(packed, out_bytes, pn);
		free(packed);
		st->pb_text++;
		pb_changed = 1;
	}
	free(out_bytes);
	free(pb_in);
	free(pb_out);

	/* (a) variables.index, (b) data */
	char *idx_in = tu_join(in, "variables/variables.index"), *idx_out = tu_join(out, "variables/variables.index");
	int index_changed = 0, shards = 0;
	if (tfs_is_file(idx_in)) {
		assert_true(tfs_is_file(idx_out));
		if (tu_same_file(idx_in, idx_out)) {
			st->index_identical++;
		} else {
			size_t n;
			uint8_t *d = tu_read(idx_in, &n);
			if (!index_has_compressed_blocks(d, n))
				fail_msg("%s: variables.index changed though no block of it is compressed", name);
			free(d);
			assert_same_tables(idx_in, idx_out);
			st->index_snappy++;
			index_changed = 1;
		}
		shards = compare_bundles(in, out, st);
	} else {
		assert_false(tfs_path_exists(idx_out));
	}
	free(idx_in);
	free(idx_out);

	/* (c) every other file */
	flist fi = walk(in), fo = walk(out);
	for (size_t i = 0; i < fi.n; i++) {
		if (is_core(fi.rel[i], shards))
			continue;
		ssize_t k = fl_find(&fo, fi.rel[i]);
		if (k < 0) {
			if (!strcmp(fi.rel[i], "fingerprint.pb") && (pb_changed || index_changed)) {
				st->fingerprints_dropped++;
				continue;
			}
			fail_msg("%s: %s was not copied", name, fi.rel[i]);
		}
		if (!strcmp(fi.rel[i], "fingerprint.pb"))
			st->fingerprints_kept++;
		char *a = tu_join(in, fi.rel[i]), *b = tu_join(out, fi.rel[i]);
		if (!tu_same_file(a, b))
			fail_msg("%s: %s differs", name, fi.rel[i]);
		free(a);
		free(b);
	}
	for (size_t i = 0; i < fo.n; i++)
		if (!is_core(fo.rel[i], shards) && fl_find(&fi, fo.rel[i]) < 0)
			fail_msg("%s: unexpected output file %s", name, fo.rel[i]);
	fl_free(&fi);
	fl_free(&fo);

	/* (e) the output opens with every checksum verified; (d) on the output */
	tfshrink_model *m2 = tu_open(out, 1);
	check_inspect(m2, out);
	tfshrink_model_free(m2);
	tfshrink_model_free(m);
	tfs_remove_tree(out);
	free(out);
}

static void test_roundtrip_all(void **state)
{
	(void)state;
	tu_models ml = tu_all_models();
	if (ml.n == 0) {
		tu_models_free(&ml);
		skip();
	}
	rt_stats st = { 0 };
	for (size_t i = 0; i < ml.n; i++)
		roundtrip_one(ml.dir[i], &st);
	print_message("%zu models: saved_model.pb identical %zu, reordered %zu, text %zu; index identical %zu, "
	              "snappy %zu; %zu tensors; fingerprint kept %zu, dropped %zu\n",
	              st.models, st.pb_identical, st.pb_reordered, st.pb_text, st.index_identical, st.index_snappy,
	              st.entries, st.fingerprints_kept, st.fingerprints_dropped);
	assert_int_equal(st.models, ml.n);
	tu_models_free(&ml);
}

/* ========================================================== refusals */

static void test_refusals(void **state)
{
	(void)state;
	char *in = copy_first(has_variables, "in");
	if (!in)
		skip();
	tfshrink_model *m = tu_open(in, 0);
	char *in_list = listing(in);
	tfshrink_write_options wo = TFSHRINK_WRITE_OPTIONS_INIT;

	/* an existing output directory is left alone */
	char *out = tu_tmp_path("out");
	assert_int_equal(tfs_mkdir(out), 0);
	tu_write(out, "keep.txt", "mine", 4);
	char *before = listing(out);
	tu_assert_error(tfshrink_model_write(m, out, NULL), TFSHRINK_EEXIST, "exists");
	assert_string_equal(tfshrink_error_last()->path, out);
	char *after = listing(out);
	assert_string_equal(before, after);
	free(after);
	char *keep = tu_join(out, "keep.txt");
	assert_true(tfs_is_file(keep));
	assert_false(has_temp_entries(tu_tmp));
	/* and so is an existing file */
	char *file_out = tu_tmp_path("file_out");
	tu_write(tu_tmp, "file_out", "x", 1);
	tu_assert_error(tfshrink_model_write(m, file_out, NULL), TFSHRINK_EEXIST, NULL);
	assert_true(tfs_is_file(file_out));
	free(file_out);

	/* force replaces it */
	wo.force = 1;
	assert_int_equal(tfshrink_model_write(m, out, &wo), 0);
	assert_false(tfs_path_exists(keep));
	char *pb = tu_join(out, "saved_model.pb");
	assert_true(tfs_is_file(pb));
	free(pb);
	/* the output directory gets the permissions of a directory the writer
	 * makes inside it (not the 0700 of a private temporary directory) */
	char *vd = tu_join(out, "variables");
	struct stat st_out, st_var;
	assert_int_equal(stat(out, &st_out), 0);
	assert_int_equal(stat(vd, &st_var), 0);
	if ((st_out.st_mode & 07777) != (st_var.st_mode & 07777))
		fail_msg("output directory mode %o, but variables/ is %o", (unsigned)(st_out.st_mode & 07777),
		         (unsigned)(st_var.st_mode & 07777));
	free(vd);
	assert_false(has_temp_entries(tu_tmp));
	tfshrink_model_free(tu_open(out, 1));
	/* twice in a row */
	assert_int_equal(tfshrink_model_write(m, out, &wo), 0);
	assert_false(has_temp_entries(tu_tmp));
	free(keep);
	free(before);

	/* inside the input: refused, nothing created, even with force */
	char *inner = tu_join(in, "out");
	char *inner2 = tu_join(in, "variables/out");
	for (int f = 0; f < 2; f++) {
		wo.force = f;
		tu_assert_error(tfshrink_model_write(m, inner, &wo), TFSHRINK_EINVAL, NULL);
		assert_false(tfs_path_exists(inner));
		tu_assert_error(tfshrink_model_write(m, inner2, &wo), TFSHRINK_EINVAL, NULL);
		assert_false(tfs_path_exists(inner2));
		char *l = listing(in);
		assert_string_equal(l, in_list);
		free(l);
		assert_false(has_temp_entries(in));
	}
	free(inner);
	free(inner2);

	/* the input itself, however spelled: refused even with force */
	char *in_slash = NULL, *in_dot = NULL, *in_up = NULL;
	assert_true(asprintf(&in_slash, "%s/", in) > 0);
	assert_true(asprintf(&in_dot, "%s/.", in) > 0);
	assert_true(asprintf(&in_up, "%s/variables/..", in) > 0);
	const char *same[] = { in, in_slash, in_dot, in_up };
	for (int f = 0; f < 2; f++) {
		wo.force = f;
		for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
			int rc = tfshrink_model_write(m, same[i], &wo);
			if (rc != TFSHRINK_EINVAL)
				fail_msg("writing over the input as %s (force %d): %d %s", same[i], f, rc,
				         tfshrink_error_last()->message);
		}
		char *l = listing(in);
		assert_string_equal(l, in_list);
		free(l);
		assert_false(has_temp_entries(tu_tmp));
		assert_false(has_temp_entries(in));
	}
	free(in_slash);
	free(in_dot);
	free(in_up);

	/* a directory holding the input: refused even with force */
	wo.force = 1;
	tu_assert_error(tfshrink_model_write(m, tu_tmp, &wo), TFSHRINK_EINVAL, NULL);
	char *l = listing(in);
	assert_string_equal(l, in_list);
	free(l);

	/* an output whose parent does not exist */
	wo.force = 0;
	char *orphan = tu_tmp_path("no/such/parent/out");
	int rc = tfshrink_model_write(m, orphan, &wo);
	assert_true(rc < 0);
	assert_false(tfs_path_exists(orphan));
	char *no = tu_tmp_path("no");
	assert_false(tfs_path_exists(no));
	free(no);
	assert_false(has_temp_entries(tu_tmp));
	free(orphan);

	/* a missing model or output argument */
	tu_assert_error(tfshrink_model_write(m, NULL, NULL), TFSHRINK_EINVAL, NULL);
	tu_assert_error(tfshrink_model_write(m, "", NULL), TFSHRINK_EINVAL, NULL);
	tu_assert_error(tfshrink_model_write(NULL, out, NULL), TFSHRINK_EINVAL, NULL);

	tfshrink_model_free(m);
	free(in_list);
	free(out);
	free(in);
}

/* =================================================== failures leave nothing */

static int cancel_cb(const char *phase, uint64_t done, uint64_t total, void *payload)
{
	(void)phase;
	(void)done;
	(void)total;
	(*(int *)payload)++;
	return 1;
}

static void test_failure_leaves_nothing(void **state)
{
	(void)state;
	char *in = copy_first(has_variables, "in");
	if (!in)
		skip();

	/* flip a byte inside the largest numeric tensor */
	char *prefix = tu_join(in, "variables/variables");
	tfs_bundle *b = NULL;
	assert_int_equal(tfs_bundle_open(prefix, &b), 0);
	const tfs_bundle_entry *best = NULL;
	for (size_t i = 0; i < b->n; i++) {
		const Tensorflow__BundleEntryProto *p = b->e[i].proto;
		if (tfs_dtype_size((int)p->dtype) > 0 && !p->n_slices && (!best || p->size > best->proto->size))
			best = &b->e[i];
	}
	assert_non_null(best);
	assert_true(best->proto->size > 0);
	char *shard = tfs_bundle_shard_path(prefix, best->proto->shard_id, b->num_shards);
	uint64_t at = (uint64_t)best->proto->offset + (uint64_t)best->proto->size / 2;
	char *key = strdup((const char *)best->key);
	tfs_bundle_free(b);
	size_t n;
	uint8_t *d = tu_read(shard, &n);
	d[at] ^= 0x01;
	assert_int_equal(unlink(shard), 0);
	assert_int_equal(tfs_write_file(shard, d, n), 0);
	free(d);

	/* opening without checksums works; with them, it fails on that tensor */
	tfshrink_model *m = NULL;
	tfshrink_open_options oo = TFSHRINK_OPEN_OPTIONS_INIT;
	oo.verify_crc = 1;
	tu_assert_error(tfshrink_model_open(&m, in, &oo), TFSHRINK_ECORRUPT, "checksum");
	assert_null(m);
	assert_string_equal(tfshrink_error_last()->path, shard);
	assert_non_null(strstr(tfshrink_error_last()->message, key));
	assert_int_equal(tfshrink_model_open(&m, in, NULL), 0);

	char *out = tu_tmp_path("out");
	tu_assert_error(tfshrink_model_write(m, out, NULL), TFSHRINK_ECORRUPT, "checksum");
	assert_string_equal(tfshrink_error_last()->path, shard);
	assert_non_null(strstr(tfshrink_error_last()->message, key));
	assert_false(tfs_path_exists(out));
	assert_false(has_temp_entries(tu_tmp));

	/* with force over an existing output: the old output survives */
	assert_int_equal(tfs_mkdir(out), 0);
	tu_write(out, "old.txt", "old", 3);
	tfshrink_write_options wo = TFSHRINK_WRITE_OPTIONS_INIT;
	wo.force = 1;
	tu_assert_error(tfshrink_model_write(m, out, &wo), TFSHRINK_ECORRUPT, "checksum");
	char *old = tu_join(out, "old.txt");
	assert_true(tfs_is_file(old));
	free(old);
	char *l = listing(out);
	assert_string_equal(l, "old.txt\n");
	free(l);
	assert_false(has_temp_entries(tu_tmp));
	tfs_remove_tree(out);
	tfshrink_model_free(m);

	/* a cancelled write leaves nothing either */
	char *in2 = copy_first(has_variables, "in2");
	m = tu_open(in2, 0);
	int calls = 0;
	tfshrink_write_options wc = TFSHRINK_WRITE_OPTIONS_INIT;
	wc.progress = cancel_cb;
	wc.progress_payload = &calls;
	tu_assert_error(tfshrink_model_write(m, out, &wc), TFSHRINK_ERROR, "cancel");
	assert_true(calls >= 1);
	assert_false(tfs_path_exists(out));
	assert_false(has_temp_entries(tu_tmp));
	tfshrink_model_free(m);

	free(in2);
	free(out);
	free(key);
	free(shard);
	free(prefix);
	free(in);
}

/* ========================================================= open errors */

/* The error must name a path containing `path_has`. */
static void expect_open_error(const char *dir, int code, const char *needle, const char *path_has)
{
	tfshrink_model *m = (tfshrink_model *)0x1;
	int rc = tfshrink_model_open(&m, dir, NULL);
	tu_assert_error(rc, code, needle);
	assert_null(m);
	if (path_has) {
		const char *p = tfshrink_error_last()->path;
		if (!p || !strstr(p, path_has))
			fail_msg("error \"%s\" names %s, expected ...%s...", tfshrink_error_last()->message, p ? p : "-",
			         path_has);
	}
}

/* Rewrites dir's bundle with the object graph entry replaced. */
static void replace_object_graph(const char *dir, int dtype, const uint8_t *data, uint64_t len, uint32_t crc)
{
	char *prefix = tu_join(dir, "variables/variables");
	char *vnew = tu_join(dir, "variables.new");
	char *pnew = tu_join(vnew, "variables");
	char *vdir = tu_join(dir, "variables");
	tfs_bundle *b = NULL;
	assert_int_equal(tfs_bundle_open(prefix, &b), 0);
	assert_int_equal(tfs_mkdir(vnew), 0);
	tfs_bundle_writer w;
	assert_int_equal(tfs_bundle_writer_open(&w, pnew, b->num_shards, b->header), 0);
	int found = 0;
	for (size_t i = 0; i < b->n; i++) {
		const tfs_bundle_entry *e = &b->e[i];
		if (e->key_len == strlen(OG_KEY) && !memcmp(e->key, OG_KEY, e->key_len)) {
			Tensorflow__BundleEntryProto t = *e->proto;
			t.dtype = (Tensorflow__DataType)dtype;
			t.shape = NULL;
			t.crc32c = crc;
			assert_int_equal(tfs_bundle_writer_add_bytes(&w, e->key, e->key_len, &t, e->proto->shard_id, data, len,
			                                             NULL), 0);
			found = 1;
			continue;
		}
		const uint8_t *d;
		uint64_t n;
		assert_int_equal(tfs_bundle_data(b, e, &d, &n), 0);
		assert_int_equal(tfs_bundle_writer_add_bytes(&w, e->key, e->key_len, e->proto, e->proto->shard_id, d, n,
		                                             NULL), 0);
	}
	assert_true(found);
	assert_int_equal(tfs_bundle_writer_finish(&w), 0);
	tfs_bundle_writer_free(&w);
	tfs_bundle_free(b);
	tfs_remove_tree(vdir);
	assert_int_equal(rename(vnew, vdir), 0);
	free(prefix);
	free(vnew);
	free(pnew);
	free(vdir);
}

static void test_open_errors(void **state)
{
	(void)state;
	tfshrink_model *m = (tfshrink_model *)0x1;
	tu_assert_error(tfshrink_model_open(NULL, tu_tmp, NULL), TFSHRINK_EINVAL, NULL);
	tu_assert_error(tfshrink_model_open(&m, NULL, NULL), TFSHRINK_EINVAL, NULL);

	/* nonexistent directory */
	char *none = tu_tmp_path("does-not-exist");
	expect_open_error(none, TFSHRINK_ENOTFOUND, NULL, "does-not-exist");
	free(none);
	/* a file where a directory should be */
	tu_write(tu_tmp, "plain_file", "x", 1);
	char *file = tu_tmp_path("plain_file");
	expect_open_error(file, TFSHRINK_EINVAL, "not a directory", "plain_file");
	free(file);
	/* an empty directory */
	char *empty = tu_tmp_path("empty");
	assert_int_equal(tfs_mkdir(empty), 0);
	expect_open_error(empty, TFSHRINK_ENOTFOUND, "saved_model.pb", "empty");
	free(empty);

	/* truncated saved_model.pb */
	char *in = copy_first(has_variables, "trunc");
	if (!in)
		skip();
	char *pb = tu_join(in, "saved_model.pb");
	size_t n;
	uint8_t *d = tu_read(pb, &n);
	assert_true(n > 16);
	tu_write(in, "saved_model.pb", d, n / 2);
	expect_open_error(in, TFSHRINK_ECORRUPT, NULL, "/saved_model.pb");
	assert_true(tu_ends_with(tfshrink_error_last()->path, "/saved_model.pb"));
	assert_string_equal(tfshrink_error_last()->path, pb);
	tu_write(in, "saved_model.pb", d, n - 1);
	expect_open_error(in, TFSHRINK_ECORRUPT, NULL, "/saved_model.pb");
	assert_string_equal(tfshrink_error_last()->path, pb);
	/* an empty one holds no meta graph */
	tu_write(in, "saved_model.pb", d, 0);
	expect_open_error(in, TFSHRINK_ECORRUPT, "meta graph", "/saved_model.pb");
	free(d);
	free(pb);
	free(in);

	/* the checkpoint's object graph stored as int32 */
	char *og = copy_first(has_object_graph, "og_int32");
	if (!og)
		skip();
	static const uint8_t four[4] = { 1, 0, 0, 0 };
	replace_object_graph(og, TFS_DT_INT32, four, 4, 0);
	expect_open_error(og, TFSHRINK_ECORRUPT, OG_KEY, "variables/variables.index");
	free(og);

	/* a string that is not a TrackableObjectGraph */
	og = copy_first(has_object_graph, "og_junk");
	static const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01 }; /* nodes: 4 GiB promised */
	const uint8_t *sp = junk;
	uint64_t sl = sizeof junk;
	uint8_t *enc;
	uint64_t en;
	uint32_t crc;
	assert_int_equal(tfs_bundle_encode_strings(&sp, &sl, 1, &enc, &en, &crc), 0);
	replace_object_graph(og, TFS_DT_STRING, enc, en, crc);
	free(enc);
	expect_open_error(og, TFSHRINK_ECORRUPT, OG_KEY, "variables/variables.data-");
	free(og);

	/* ... and one whose string is stored with a bad checksum */
	og = copy_first(has_object_graph, "og_crc");
	static const uint8_t empty_graph[] = { 0 };
	sp = empty_graph;
	sl = 0;
	assert_int_equal(tfs_bundle_encode_strings(&sp, &sl, 1, &enc, &en, &crc), 0);
	replace_object_graph(og, TFS_DT_STRING, enc, en, crc ^ 0x100);
	free(enc);
	expect_open_error(og, TFSHRINK_ECORRUPT, "checksum", "variables/variables.data-");
	free(og);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_roundtrip_all),
		TU_TMP_TEST(test_refusals),
		TU_TMP_TEST(test_failure_leaves_nothing),
		TU_TMP_TEST(test_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
