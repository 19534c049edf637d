/* test_pass_assets.c - the assets pass: files under assets/ that no
 * AssetFileDef names are dropped, named files and named directories are
 * kept, identical named files are stored once with every AssetFileDef
 * (asset_file_def and the saved_model_assets collection) pointed at the one
 * kept, and assets.extra/ stays unless drop_assets_extra. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "model_internal.h"
#include "tfshrink.h"

static tfshrink_shrink_options only(const char *name)
{
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	int found = 0;
	for (size_t i = 0; i < tfshrink_pass_count(); i++) {
		if (strcmp(tfshrink_pass_name(i), name))
			o.skip |= (uint64_t)1 << i;
		else
			found = 1;
	}
	assert_true(found);
	return o;
}

static const tfshrink_pass_result *result_of(const tfshrink_shrink_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_passes; i++)
		if (!strcmp(r->passes[i].name, name))
			return &r->passes[i];
	fail_msg("no pass %s in the report", name);
	return NULL;
}

static tfshrink_model *open_dir(const char *dir)
{
	tfshrink_model *m = NULL;
	if (tfshrink_model_open(&m, dir, NULL) < 0)
		fail_msg("open %s: %s", dir, tfshrink_error_last()->message);
	return m;
}

static int has_file(const tfshrink_model *m, const char *rel)
{
	for (size_t i = 0; i < m->n_files; i++)
		if (!strcmp(m->files[i].rel, rel))
			return 1;
	return 0;
}

/* Filenames of every AssetFileDef: asset_file_def first, then the collection's. */
static size_t asset_names(const tfshrink_model *m, char **out, size_t cap)
{
	size_t n = 0;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		for (size_t i = 0; i < mg->n_asset_file_def && n < cap; i++)
			out[n++] = strdup(mg->asset_file_def[i]->filename);
		for (size_t c = 0; c < mg->n_collection_def; c++) {
			const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
			if (strcmp(mg->collection_def[c]->key, "saved_model_assets") ||
			    cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST)
				continue;
			for (size_t k = 0; k < cd->any_list->n_value && n < cap; k++) {
				const Tensorflow__Any *a = cd->any_list->value[k];
				Tensorflow__AssetFileDef *af = tensorflow__asset_file_def__unpack(NULL, a->value.len, a->value.data);
				assert_non_null(af);
				out[n++] = strdup(af->filename);
				tensorflow__asset_file_def__free_unpacked(af, NULL);
			}
		}
	}
	return n;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

/* ----------------------------------------------------- hand-made model */

static const char model_txt[] =
	"meta_graphs {\n"
	"  meta_info_def { tags: \"serve\" }\n"
	"  graph_def {\n"
	"    node { name: \"pa\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_STRING } } }\n"
	"    node { name: \"pb\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_STRING } } }\n"
	"    node { name: \"pc\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_STRING } } }\n"
	"  }\n"
	"  asset_file_def { tensor_info { name: \"pa:0\" } filename: \"a.txt\" }\n"
	"  asset_file_def { tensor_info { name: \"pb:0\" } filename: \"b.txt\" }\n"
	"  asset_file_def { tensor_info { name: \"pc:0\" } filename: \"c.txt\" }\n"
	"  collection_def { key: \"saved_model_assets\" value { any_list {\n"
	"    value { [type.googleapis.com/tensorflow.AssetFileDef] { tensor_info { name: \"pb:0\" } filename: \"b.txt\" } }\n"
	"    value { [type.googleapis.com/tensorflow.AssetFileDef] { tensor_info { name: \"pd:0\" } filename: \"d.txt\" } }\n"
	"    value { [type.googleapis.com/tensorflow.AssetFileDef] { tensor_info { name: \"pe:0\" } filename: \"dir\" } }\n"
	"  } } }\n"
	"}\n";

static char *make_model(const char *name)
{
	char *dir = tu_tmp_path(name);
	assert_int_equal(tfs_mkdir(dir), 0);
	tu_write(dir, "saved_model.pbtxt", model_txt, sizeof model_txt - 1);
	tu_write(dir, "assets/a.txt", "same\n", 5);
	tu_write(dir, "assets/b.txt", "same\n", 5);       /* identical to a.txt */
	tu_write(dir, "assets/c.txt", "other\n", 6);
	tu_write(dir, "assets/d.txt", "samf\n", 5);       /* same size, other bytes */
	tu_write(dir, "assets/unused.txt", "same\n", 5);  /* nobody names it */
	tu_write(dir, "assets/sub/unused2.txt", "x", 1);
	tu_write(dir, "assets/dir/x.txt", "same\n", 5);   /* inside a named directory */
	tu_write(dir, "assets/dir/y.txt", "y", 1);
	tu_write(dir, "assets/a.txt.bak", "same\n", 5);   /* a longer name is not a.txt */
	tu_write(dir, "assets.extra/tf_serving_warmup_requests", "warm", 4);
	return dir;
}

static void check_files(const tfshrink_model *m, int extra)
{
	assert_true(has_file(m, "assets/a.txt"));
	assert_false(has_file(m, "assets/b.txt"));
	assert_true(has_file(m, "assets/c.txt"));
	assert_true(has_file(m, "assets/d.txt"));
	assert_false(has_file(m, "assets/unused.txt"));
	assert_false(has_file(m, "assets/sub/unused2.txt"));
	assert_false(has_file(m, "assets/a.txt.bak"));
	assert_true(has_file(m, "assets/dir/x.txt"));
	assert_true(has_file(m, "assets/dir/y.txt"));
	assert_int_equal(has_file(m, "assets.extra/tf_serving_warmup_requests"), extra);
	char *names[16];
	size_t n = asset_names(m, names, 16);
	assert_int_equal(n, 6);
	assert_string_equal(names[0], "a.txt");
	assert_string_equal(names[1], "a.txt"); /* was b.txt */
	assert_string_equal(names[2], "c.txt");
	assert_string_equal(names[3], "a.txt"); /* was b.txt, in the collection */
	assert_string_equal(names[4], "d.txt");
	assert_string_equal(names[5], "dir");
	free_names(names, n);
}

static void run_handmade(int drop_extra)
{
	char *dir = make_model(drop_extra ? "in-x" : "in");
	tfshrink_model *m = open_dir(dir);
	tfshrink_shrink_options o = only("assets");
	o.drop_assets_extra = drop_extra;
	tfshrink_shrink_report *r = NULL;
	if (tfshrink_model_shrink(m, &o, &r) < 0)
		fail_msg("shrink: %s", tfshrink_error_last()->message);
	const tfshrink_pass_result *p = result_of(r, "assets");
	assert_int_equal(p->items, 3 + 1 + drop_extra); /* unused.txt, unused2.txt, a.txt.bak; b.txt; assets.extra */
	assert_non_null(strstr(p->summary, "3 unreferenced asset file(s), 1 identical asset file(s) merged"));
	assert_true(p->bytes_saved >= 5 + 1 + 5 + 5 - 2);
	int noted = 0;
	for (size_t i = 0; i < r->n_notes; i++)
		noted |= strstr(r->notes[i], "3 file(s) under assets/") != NULL;
	assert_true(noted);
	char *out = tu_tmp_path(drop_extra ? "out-x" : "out");
	assert_int_equal(tfshrink_model_write(m, out, NULL), 0);
	tfshrink_model *o2 = open_dir(out);
	check_files(o2, !drop_extra);
	uint64_t bytes = 0;
	for (size_t i = 0; i < o2->n_files; i++)
		bytes += o2->files[i].size;
	assert_int_equal(bytes, r->bytes_after);
	tfshrink_model_free(o2);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	free(out);
	free(dir);
}

static void test_handmade(void **state)
{
	(void)state;
	run_handmade(0);
}

static void test_handmade_drop_extra(void **state)
{
	(void)state;
	run_handmade(1);
}

/* A collection entry that is not an AssetFileDef (the open checks them; here
 * one is broken in memory) makes the pass refuse rather than guess. */
static void test_bad_collection(void **state)
{
	(void)state;
	char *dir = make_model("bad");
	tfshrink_model *m = open_dir(dir);
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	Tensorflow__Any *a = mg->collection_def[0]->value->any_list->value[0];
	free(a->value.data);
	a->value.data = malloc(2);
	memcpy(a->value.data, "\377\377", 2);
	a->value.len = 2;
	tfshrink_shrink_options o = only("assets");
	tfshrink_shrink_report *r = NULL;
	tu_assert_error(tfshrink_model_shrink(m, &o, &r), TFSHRINK_ECORRUPT, "not an AssetFileDef");
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------- fixtures and real models */

static void check_model(const char *dir, const char *name)
{
	tfshrink_model *in = open_dir(dir), *m = open_dir(dir);
	tfshrink_shrink_options o = only("assets");
	tfshrink_shrink_report *r = NULL;
	if (tfshrink_model_shrink(m, &o, &r) < 0) {
		tfshrink_model *plain = open_dir(dir);
		tfshrink_shrink_options none = TFSHRINK_SHRINK_OPTIONS_INIT;
		none.skip = ~(uint64_t)0;
		tfshrink_shrink_report *r0 = NULL;
		if (tfshrink_model_shrink(plain, &none, &r0) == 0)
			fail_msg("%s: shrink failed: %s", name, tfshrink_error_last()->message);
		tfshrink_model_free(plain);
		tfshrink_model_free(in);
		tfshrink_model_free(m);
		return;
	}
	char *out = tu_tmp_path(name);
	assert_int_equal(tfshrink_model_write(m, out, NULL), 0);
	tfshrink_model *w = open_dir(out);
	/* every AssetFileDef names a file of the output with the original's contents */
	char *before[64], *after[64];
	size_t nb = asset_names(in, before, 64), na = asset_names(w, after, 64);
	assert_int_equal(nb, na);
	for (size_t i = 0; i < na; i++) {
		char rel_a[4096], rel_b[4096];
		snprintf(rel_a, sizeof rel_a, "assets/%s", after[i]);
		snprintf(rel_b, sizeof rel_b, "assets/%s", before[i]);
		char *pa = tfs_path_join(out, rel_a), *pb = tfs_path_join(dir, rel_b);
		if (tfs_is_file(pb)) {
			size_t la, lb;
			uint8_t *da = tu_read(pa, &la), *db = tu_read(pb, &lb);
			assert_int_equal(la, lb);
			assert_memory_equal(da, db, la);
			free(da);
			free(db);
		}
		free(pa);
		free(pb);
	}
	free_names(before, nb);
	free_names(after, na);
	/* assets.extra/ and every file outside assets/ stays */
	for (size_t i = 0; i < in->n_files; i++)
		if (strncmp(in->files[i].rel, "assets/", 7) && !tfs_model_is_core_file(in, in->files[i].rel) &&
		    strcmp(in->files[i].rel, "fingerprint.pb"))
			assert_true(has_file(w, in->files[i].rel));
	tfshrink_model_free(w);
	tfs_remove_tree(out);
	free(out);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(in);
	tfshrink_model_free(m);
}

static void check_all_in(const char *root)
{
	DIR *d = opendir(root);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *dir = tfs_path_join(root, e->d_name);
		char *pb = tfs_path_join(dir, "saved_model.pb"), *pbtxt = tfs_path_join(dir, "saved_model.pbtxt");
		if (tfs_path_exists(pb) || tfs_path_exists(pbtxt))
			check_model(dir, e->d_name);
		free(pb);
		free(pbtxt);
		free(dir);
	}
	closedir(d);
}

static void test_fixtures(void **state)
{
	(void)state;
	char *root = tu_fixture("");
	check_all_in(root);
	free(root);
}

static void test_realmodels(void **state)
{
	(void)state;
	char *root = tu_realmodel(".");
	if (!root)
		skip();
	check_all_in(root);
	free(root);
}

/* The TF-written fixtures with two vocab files of identical contents. */
static void test_dupes_fixtures(void **state)
{
	(void)state;
	static const char *const names[] = { "dupes", "dupes_tf1" };
	for (size_t k = 0; k < 2; k++) {
		char *dir = tu_fixture(names[k]);
		if (!tfs_is_dir(dir)) {
			free(dir);
			continue;
		}
		tfshrink_model *m = open_dir(dir);
		tfshrink_shrink_options o = only("assets");
		tfshrink_shrink_report *r = NULL;
		assert_int_equal(tfshrink_model_shrink(m, &o, &r), 0);
		assert_non_null(strstr(result_of(r, "assets")->summary, "1 identical asset file(s) merged"));
		char *out = tu_tmp_path(names[k]);
		assert_int_equal(tfshrink_model_write(m, out, NULL), 0);
		tfshrink_model *w = open_dir(out);
		assert_true(has_file(w, "assets/vocab_a.txt"));
		assert_false(has_file(w, "assets/vocab_b.txt"));
		char *an[8];
		size_t n = asset_names(w, an, 8);
		assert_true(n >= 2);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(an[i], "vocab_a.txt");
		free_names(an, n);
		tfshrink_model_free(w);
		tfshrink_shrink_report_free(r);
		tfshrink_model_free(m);
		free(out);
		free(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_handmade),
		TU_TMP_TEST(test_handmade_drop_extra),
		TU_TMP_TEST(test_bad_collection),
		TU_TMP_TEST(test_fixtures),
		TU_TMP_TEST(test_realmodels),
		TU_TMP_TEST(test_dupes_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
