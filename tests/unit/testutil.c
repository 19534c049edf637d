#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "error.h"
#include "fsutil.h"
#include "model_internal.h"
#include "pass.h"

/* ------------------------------------------------------- files and paths */

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

char *tu_join(const char *a, const char *b)
{
	char *p = tfs_path_join(a, b);
	assert_non_null(p);
	return p;
}

const char *tu_base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int tu_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
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

int tu_same_file(const char *a, const char *b)
{
	size_t na, nb;
	uint8_t *x = tu_read(a, &na), *y = tu_read(b, &nb);
	int same = na == nb && (na == 0 || !memcmp(x, y, na));
	free(x);
	free(y);
	return same;
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

/* --------------------------------------------- the per-test scratch dir */

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

char *tu_pbtxt_model(const char *name, const char *text)
{
	char *dir = tu_tmp_path(name);
	assert_int_equal(tfs_mkdir(dir), 0);
	tu_write(dir, "saved_model.pbtxt", text, strlen(text));
	return dir;
}

/* ------------------------------------------------------- model lists */

static void models_under(tu_models *l, const char *root)
{
	struct dirent **names;
	int n = scandir(root, &names, NULL, alphasort);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		char *p = tu_join(root, names[i]->d_name);
		char *pb = tu_join(p, "saved_model.pb"), *pbt = tu_join(p, "saved_model.pbtxt");
		if (names[i]->d_name[0] != '.' && tfs_is_dir(p) && (tfs_is_file(pb) || tfs_is_file(pbt))) {
			l->dir = realloc(l->dir, (l->n + 1) * sizeof *l->dir);
			assert_non_null(l->dir);
			l->dir[l->n++] = p;
		} else {
			free(p);
		}
		free(pb);
		free(pbt);
		free(names[i]);
	}
	free(names);
}

tu_models tu_all_models(void)
{
	tu_models l = { 0 };
	char *fx = tu_fixture("");
	models_under(&l, fx);
	free(fx);
	char *real = tu_realmodel("");
	if (real)
		models_under(&l, real);
	free(real);
	return l;
}

void tu_models_free(tu_models *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->dir[i]);
	free(l->dir);
	l->dir = NULL;
	l->n = 0;
}

size_t tu_each_model(const char *root, tu_model_fn fn)
{
	tu_models l = { 0 };
	models_under(&l, root);
	for (size_t i = 0; i < l.n; i++)
		fn(l.dir[i], tu_base(l.dir[i]));
	size_t n = l.n;
	tu_models_free(&l);
	return n;
}

size_t tu_each_fixture(tu_model_fn fn)
{
	char *root = tu_fixture("");
	size_t n = tu_each_model(root, fn);
	free(root);
	assert_true(n > 0); /* the committed fixtures are always there */
	return n;
}

size_t tu_each_realmodel(tu_model_fn fn)
{
	char *root = tu_realmodel("");
	size_t n = root ? tu_each_model(root, fn) : 0;
	free(root);
	return n;
}

/* ------------------------------------------- open, shrink, write, reopen */

tfshrink_model *tu_open(const char *dir, int verify_crc)
{
	tfshrink_open_options o = TFSHRINK_OPEN_OPTIONS_INIT;
	o.verify_crc = verify_crc;
	tfshrink_model *m = NULL;
	if (tfshrink_model_open(&m, dir, &o) != 0)
		fail_msg("open %s: %s (%s)", dir, tfshrink_error_last()->message,
		         tfshrink_error_last()->path ? tfshrink_error_last()->path : "-");
	return m;
}

tfshrink_model *tu_open_fixture(const char *name, int verify_crc)
{
	char *dir = tu_fixture(name);
	tfshrink_model *m = tu_open(dir, verify_crc);
	free(dir);
	return m;
}

void tu_assert_verifies(tfshrink_model *m)
{
	if (tfs_model_verify(m) != 0)
		fail_msg("verify %s: %s", m->dir, tfshrink_error_last()->message);
}

tfshrink_shrink_options tu_only(const char *pass)
{
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	int found = 0;
	for (size_t i = 0; i < tfshrink_pass_count(); i++) {
		if (strcmp(tfshrink_pass_name(i), pass))
			o.skip |= (uint64_t)1 << i;
		else
			found = 1;
	}
	assert_true(found);
	return o;
}

const tfshrink_pass_result *tu_pass_result(const tfshrink_shrink_report *r, const char *pass)
{
	for (size_t i = 0; i < r->n_passes; i++)
		if (!strcmp(r->passes[i].name, pass))
			return &r->passes[i];
	fail_msg("no pass %s in the report", pass);
	return NULL;
}

tfshrink_shrink_report *tu_shrink(tfshrink_model *m, const tfshrink_shrink_options *o)
{
	tfshrink_shrink_report *r = NULL;
	if (tfshrink_model_shrink(m, o, &r) != 0)
		fail_msg("shrink %s: %s", m->dir, tfshrink_error_last()->message);
	return r;
}

tfshrink_shrink_report *tu_shrink_only(tfshrink_model *m, const char *pass)
{
	tfshrink_shrink_options o = tu_only(pass);
	return tu_shrink(m, &o);
}

int tu_shrink_unless_refused(tfshrink_model *m, const char *dir, const tfshrink_shrink_options *o,
                             tfshrink_shrink_report **r)
{
	*r = NULL;
	if (tfshrink_model_shrink(m, o, r) == 0)
		return 1;
	tfshrink_model *plain = tu_open(dir, 0);
	tfshrink_shrink_options none = TFSHRINK_SHRINK_OPTIONS_INIT;
	none.skip = ~(uint64_t)0;
	tfshrink_shrink_report *r0 = NULL;
	if (tfshrink_model_shrink(plain, &none, &r0) == 0)
		fail_msg("%s: shrink failed: %s", tu_base(dir), tfshrink_error_last()->message);
	tfshrink_model_free(plain);
	return 0;
}

int tu_run_pass(const struct tfs_pass *p, tfshrink_model *m, int keep_objects, uint64_t *items, char *summary)
{
	tfshrink_shrink_options so = TFSHRINK_SHRINK_OPTIONS_INIT;
	so.keep_objects = keep_objects;
	tfs_pass_ctx ctx = { &so, 0, "" };
	int rc = p->run(m, &ctx);
	if (items)
		*items = ctx.items;
	if (summary)
		memcpy(summary, ctx.summary, sizeof ctx.summary);
	return rc;
}

tfshrink_model *tu_write_reopen(tfshrink_model *m, const char *name, char **out)
{
	char *path = tu_tmp_path(name);
	if (tfshrink_model_write(m, path, NULL) != 0)
		fail_msg("write %s: %s", path, tfshrink_error_last()->message);
	tfshrink_model *w = tu_open(path, 1);
	if (out)
		*out = path;
	else
		free(path);
	return w;
}

int tu_has_file(const tfshrink_model *m, const char *rel)
{
	for (size_t i = 0; i < m->n_files; i++)
		if (!strcmp(m->files[i].rel, rel))
			return 1;
	return 0;
}

uint64_t tu_model_bytes(const tfshrink_model *m)
{
	uint64_t n = 0;
	for (size_t i = 0; i < m->n_files; i++)
		n += m->files[i].size;
	return n;
}

void tu_check_pass(const char *dir, const char *name, const tfshrink_shrink_options *o,
                   void (*check)(const tu_pass_run *run))
{
	tu_pass_run run = { dir, name, NULL, o, tu_open(dir, 0), tu_open(dir, 0), NULL, NULL };
	if (tu_shrink_unless_refused(run.m, dir, o, &run.r)) {
		char *out;
		run.w = tu_write_reopen(run.m, name, &out);
		run.out = out;
		/* fingerprint.pb is recomputed or dropped: only the rest is forecast exactly */
		if (!tu_has_file(run.m, "fingerprint.pb"))
			assert_int_equal(tu_model_bytes(run.w), run.r->bytes_after);
		check(&run);
		tfshrink_model_free(run.w);
		tfs_remove_tree(out);
		free(out);
		tfshrink_shrink_report_free(run.r);
	}
	tfshrink_model_free(run.in);
	tfshrink_model_free(run.m);
}

/* ------------------------------------------------ building in memory */

char *tu_strdup(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

void *tu_grow(void *arr, size_t n, size_t elem)
{
	void *p = realloc(arr, (n + 1) * elem);
	assert_non_null(p);
	return p;
}

Tensorflow__NodeDef *tu_node(const char *name, const char *op)
{
	Tensorflow__NodeDef *n = malloc(sizeof *n);
	assert_non_null(n);
	tensorflow__node_def__init(n);
	n->name = tu_strdup(name);
	n->op = tu_strdup(op);
	return n;
}

static Tensorflow__AttrValue *new_attr(Tensorflow__AttrValue__ValueCase value_case)
{
	Tensorflow__AttrValue *v = malloc(sizeof *v);
	assert_non_null(v);
	tensorflow__attr_value__init(v);
	v->value_case = value_case;
	return v;
}

Tensorflow__AttrValue *tu_func_attr(const char *fname)
{
	Tensorflow__AttrValue *v = new_attr(TENSORFLOW__ATTR_VALUE__VALUE_FUNC);
	v->func = malloc(sizeof *v->func);
	assert_non_null(v->func);
	tensorflow__name_attr_list__init(v->func);
	v->func->name = tu_strdup(fname);
	return v;
}

Tensorflow__AttrValue *tu_string_attr(const char *s)
{
	Tensorflow__AttrValue *v = new_attr(TENSORFLOW__ATTR_VALUE__VALUE_S);
	v->s.len = strlen(s);
	v->s.data = (uint8_t *)tu_strdup(s);
	return v;
}

void tu_add_attr(Tensorflow__NodeDef *n, const char *key, Tensorflow__AttrValue *v)
{
	Tensorflow__NodeDef__AttrEntry *e = malloc(sizeof *e);
	assert_non_null(e);
	tensorflow__node_def__attr_entry__init(e);
	e->key = tu_strdup(key);
	e->value = v;
	n->attr = tu_grow(n->attr, n->n_attr, sizeof *n->attr);
	n->attr[n->n_attr++] = e;
}

int tu_key_cmp(const void *a, size_t an, const void *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int c = m ? memcmp(a, b, m) : 0;
	return c ? c : (an < bn ? -1 : an > bn);
}

void tu_bundle_writer_open(struct tfs_bundle_writer *w, const char *prefix, int num_shards)
{
	/* the writer keeps a shallow copy of the header: the version must outlive it */
	static Tensorflow__VersionDef ver = TENSORFLOW__VERSION_DEF__INIT;
	ver.producer = 1;
	Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
	h.version = &ver;
	assert_int_equal(tfs_bundle_writer_open(w, prefix, num_shards, &h), 0);
}
