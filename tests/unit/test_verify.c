/* Checks of tfs_model_verify on edited copies of a fixture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "model_internal.h"

static tfshrink_model *open_copy(char **dir)
{
	char *src = tu_fixture("tf2_hashtable_vocab");
	*dir = tu_mkdtemp();
	char *dst = NULL;
	assert_true(asprintf(&dst, "%s/m", *dir) > 0);
	tu_copy_tree(src, dst);
	free(src);
	return (tfshrink_model *)dst;
}

/* Regression: an AssetFileDef naming a directory of files is valid. */
static void asset_directory_is_valid(void **state)
{
	(void)state;
	char *tmp;
	char *dst = (char *)open_copy(&tmp);
	tu_write(dst, "assets/vocabdir/part-0.txt", "a\nb\n", 4);
	tfshrink_model *m = NULL;
	assert_int_equal(tfshrink_model_open(&m, dst, NULL), 0);
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	assert_true(mg->n_asset_file_def > 0);
	free(mg->asset_file_def[0]->filename);
	mg->asset_file_def[0]->filename = strdup("vocabdir");
	/* The directory exists: fine. */
	tu_assert_verifies(m);
	free(mg->asset_file_def[0]->filename);
	mg->asset_file_def[0]->filename = strdup("nodir");
	tu_assert_error(tfs_model_verify(m), TFSHRINK_EVERIFY, "is missing");
	free(mg->asset_file_def[0]->filename);
	/* A file whose name only starts like the directory does not count. */
	tu_write(dst, "assets/vocabdirX", "x", 1);
	mg->asset_file_def[0]->filename = strdup("vocabdi");
	tu_assert_error(tfs_model_verify(m), TFSHRINK_EVERIFY, "is missing");
	tfshrink_model_free(m);
	free(dst);
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", tmp) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(asset_directory_is_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
