/* test_pass_assets.c - the assets pass: files under assets/ that no
 * AssetFileDef names are dropped, named files and named directories are
 * kept, identical named files are stored once with every AssetFileDef
 * (asset_file_def and the saved_model_assets collection) pointed at the one
 * kept, and assets.extra/ stays unless drop_assets_extra. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "model_internal.h"
#include "tfshrink.h"

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
	char *dir = tu_pbtxt_model(name, model_txt);
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
	assert_true(tu_has_file(m, "assets/a.txt"));
	assert_false(tu_has_file(m, "assets/b.txt"));
	assert_true(tu_has_file(m, "assets/c.txt"));
	assert_true(tu_has_file(m, "assets/d.txt"));
	assert_false(tu_has_file(m, "assets/unused.txt"));
	assert_false(tu_has_file(m, "assets/sub/unused2.txt"));
	assert_false(tu_has_file(m, "assets/a.txt.bak"));
	assert_true(tu_has_file(m, "assets/dir/x.txt"));
	assert_true(tu_has_file(m, "assets/dir/y.txt"));
	assert_int_equal(tu_has_file(m, "assets.extra/tf_serving_warmup_requests"), extra);
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
	tfshrink_model *m = tu_open(dir, 0);
	tfshrink_shrink_options o = tu_only("assets");
	o.drop_assets_extra = drop_extra;
	tfshrink_shrink_report *r = tu_shrink(m, &o);
	const tfshrink_pass_result *p = tu_pass_result(r, "assets");
	assert_int_equal(p->items, 3 + 1 + drop_extra); /* unused.txt, unused2.txt, a.txt.bak; b.txt; assets.extra */
	assert_non_null(strstr(p->summary, "3 unreferenced asset file(s), 1 identical asset file(s) merged"));
	assert_true(p->bytes_saved >= 5 + 1 + 5 + 5 - 2);
	int noted = 0;
	for (size_t i = 0; i < r->n_notes; i++)
		noted |= strstr(r->notes[i], "3 file(s) under assets/") != NULL;
	assert_true(noted);
	tfshrink_model *o2 = tu_write_reopen(m, drop_extra ? "out-x" : "out", NULL);
	check_files(o2, !drop_extra);
	assert_int_equal(tu_model_bytes(o2), r->bytes_after);
	tfshrink_model_free(o2);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
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
	tfshrink_model *m = tu_open(dir, 0);
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	Tensorflow__Any *a = mg->collection_def[0]->value->any_list->value[0];
	free(a->value.data);
	a->value.data = malloc(2);
	memcpy(a->value.data, "\377\377", 2);
	a->value.len = 2;
	tfshrink_shrink_options o = tu_only("assets");
	tfshrink_shrink_report *r = NULL;
	tu_assert_error(tfshrink_model_shrink(m, &o, &r), TFSHRINK_ECORRUPT, "not an AssetFileDef");
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------- fixtures and real models */

static void check_run(const tu_pass_run *run)
{
	/* every AssetFileDef names a file of the output with the original's contents */
	char *before[64], *after[64];
	size_t nb = asset_names(run->in, before, 64), na = asset_names(run->w, after, 64);
	assert_int_equal(nb, na);
	for (size_t i = 0; i < na; i++) {
		char rel_a[4096], rel_b[4096];
		snprintf(rel_a, sizeof rel_a, "assets/%s", after[i]);
		snprintf(rel_b, sizeof rel_b, "assets/%s", before[i]);
		char *pa = tfs_path_join(run->out, rel_a), *pb = tfs_path_join(run->dir, rel_b);
		if (tfs_is_file(pb) && !tu_same_file(pa, pb))
			fail_msg("%s: %s does not hold what %s held", run->name, pa, pb);
		free(pa);
		free(pb);
	}
	free_names(before, nb);
	free_names(after, na);
	/* assets.extra/ and every file outside assets/ stays */
	const tfshrink_model *in = run->in;
	for (size_t i = 0; i < in->n_files; i++)
		if (strncmp(in->files[i].rel, "assets/", 7) && !tfs_model_is_core_file(in, in->files[i].rel) &&
		    strcmp(in->files[i].rel, "fingerprint.pb"))
			assert_true(tu_has_file(run->w, in->files[i].rel));
}

static void check_model(const char *dir, const char *name)
{
	tfshrink_shrink_options o = tu_only("assets");
	tu_check_pass(dir, name, &o, check_run);
}

static void test_fixtures(void **state)
{
	(void)state;
	tu_each_fixture(check_model);
}

static void test_realmodels(void **state)
{
	(void)state;
	if (!tu_each_realmodel(check_model))
		skip();
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
		tfshrink_model *m = tu_open(dir, 0);
		tfshrink_shrink_report *r = tu_shrink_only(m, "assets");
		assert_non_null(strstr(tu_pass_result(r, "assets")->summary, "1 identical asset file(s) merged"));
		tfshrink_model *w = tu_write_reopen(m, names[k], NULL);
		assert_true(tu_has_file(w, "assets/vocab_a.txt"));
		assert_false(tu_has_file(w, "assets/vocab_b.txt"));
		char *an[8];
		size_t n = asset_names(w, an, 8);
		assert_true(n >= 2);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(an[i], "vocab_a.txt");
		free_names(an, n);
		tfshrink_model_free(w);
		tfshrink_shrink_report_free(r);
		tfshrink_model_free(m);
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
