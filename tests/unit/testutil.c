#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"

char *tu_mkdtemp(void)
{
	const char *t = getenv("TMPDIR");
	char *p = NULL;
	assert_true(asprintf(&p, "%s/tfshrink-test-XXXXXX", t ? t : "/tmp") > 0);
	assert_non_null(mkdtemp(p));
	return p;
}

char *tu_fixture(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/tests/fixtures/models/%s", TFS_SOURCE_DIR, name) > 0);
	return p;
}

char *tu_realmodel(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/realmodels/%s", TFS_SHARED_DIR, name) > 0);
	if (!tfs_is_dir(p)) {
		free(p);
		return NULL;
	}
	return p;
}

void tu_write(const char *dir, const char *name, const void *data, size_t n)
{
	assert_int_equal(tfs_mkdirs_for(dir, name), 0);
	char *p = tfs_path_join(dir, name);
	unlink(p);
	assert_int_equal(tfs_write_file(p, data, n), 0);
	free(p);
}

uint8_t *tu_read(const char *path, size_t *n)
{
	uint8_t *d = NULL;
	assert_int_equal(tfs_read_file(path, (uint64_t)1 << 40, &d, n), 0);
	return d;
}

void tu_copy_tree(const char *src, const char *dst)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "cp -r '%s' '%s'", src, dst) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

void tu_assert_error(int rc, int code, const char *needle)
{
	const tfshrink_error *e = tfshrink_error_last();
	if (rc != code || (needle && !strstr(e->message, needle)))
		fail_msg("expected code %d with \"%s\", got %d: %s (%s)", code, needle ? needle : "",
		         rc, e->message, e->path ? e->path : "-");
}

char *tu_tmp;

int tu_setup_tmp(void **state)
{
	(void)state;
	tu_tmp = tu_mkdtemp();
	return 0;
}

int tu_teardown_tmp(void **state)
{
	(void)state;
	tfs_remove_tree(tu_tmp);
	free(tu_tmp);
	tu_tmp = NULL;
	return 0;
}

char *tu_join(const char *a, const char *b)
{
	char *p = tfs_path_join(a, b);
	assert_non_null(p);
	return p;
}

char *tu_tmp_path(const char *name)
{
	assert_non_null(tu_tmp);
	return tu_join(tu_tmp, name);
}

char *tu_copy_model(const char *src, const char *name)
{
	char *out = tu_tmp_path(name);
	tu_copy_tree(src, out);
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "chmod -R u+w '%s'", out) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return out;
}
