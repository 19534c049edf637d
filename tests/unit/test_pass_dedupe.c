/* test_pass_dedupe.c - the dedupe pass: identical bundle tensors are stored
 * once (and the output reopens with verified checksums and the same bytes
 * under every key), the writer falls back to separate copies when a shared
 * entry is removed or replaced later, identical large Consts are merged with
 * their consumers rewired, and nodes named from outside are never merged. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "fsutil.h"
#include "graph.h"
#include "model_internal.h"
#include "tfshrink.h"

/* ------------------------------------------------------- bundle tensors */

typedef struct tdef {
	const char *key;
	int dtype;
	int shard;
	const void *data;
	uint64_t n;      /* bytes */
	int64_t elems;
	uint32_t crc;    /* strings only */
} tdef;

static const char model_pbtxt[] = "meta_graphs { meta_info_def { tags: \"serve\" } graph_def { } }\n";

/* A SavedModel holding only a bundle of these tensors (keys sorted by the writer). */
static char *make_bundle_model(const char *name, const tdef *v, size_t n, int shards)
{
	char *dir = tu_pbtxt_model(name, model_pbtxt);
	char *vdir = tfs_path_join(dir, "variables"), *prefix = tfs_path_join(dir, "variables/variables");
	assert_int_equal(tfs_mkdir(vdir), 0);
	tfs_bundle_writer w;
	tu_bundle_writer_open(&w, prefix, shards);
	for (size_t i = 0; i < n; i++) {
		Tensorflow__TensorShapeProto__Dim d = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT;
		Tensorflow__TensorShapeProto__Dim *dp = &d;
		Tensorflow__TensorShapeProto sh = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
		d.size = v[i].elems;
		sh.n_dim = 1;
		sh.dim = &dp;
		Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
		e.dtype = (Tensorflow__DataType)v[i].dtype;
		e.shape = &sh;
		e.crc32c = v[i].crc;
		if (tfs_bundle_writer_add_bytes(&w, v[i].key, strlen(v[i].key), &e, v[i].shard, v[i].data, v[i].n, NULL))
			fail_msg("add %s: %s", v[i].key, tfshrink_error_last()->message);
	}
	assert_int_equal(tfs_bundle_writer_finish(&w), 0);
	tfs_bundle_writer_free(&w);
	free(vdir);
	free(prefix);
	return dir;
}

static const tfs_bundle_entry *entry(const tfshrink_model *m, const char *key)
{
	const tfs_bundle_entry *e = tfs_bundle_find(m->bundle, key, strlen(key));
	if (!e)
		fail_msg("no entry %s", key);
	return e;
}

static size_t idx_of(const tfshrink_model *m, const char *key)
{
	return (size_t)(entry(m, key) - m->bundle->e);
}

/* Every key of `in` has the same dtype, shape and stored bytes in `out`. */
static void assert_same_tensors(const tfshrink_model *in, const tfshrink_model *out, const char *model)
{
	if (!in->bundle)
		return;
	assert_non_null(out->bundle);
	assert_int_equal(in->bundle->n, out->bundle->n);
	for (size_t i = 0; i < in->bundle->n; i++) {
		const tfs_bundle_entry *a = &in->bundle->e[i];
		const tfs_bundle_entry *b = tfs_bundle_find(out->bundle, a->key, a->key_len);
		if (!b)
			fail_msg("%s: key %s lost", model, (const char *)a->key);
		assert_int_equal(a->proto->dtype, b->proto->dtype);
		assert_int_equal(a->elements, b->elements);
		if (a->proto->n_slices)
			continue;
		const uint8_t *pa, *pb;
		uint64_t na, nb;
		assert_int_equal(tfs_bundle_data(in->bundle, a, &pa, &na), 0);
		assert_int_equal(tfs_bundle_data(out->bundle, b, &pb, &nb), 0);
		if (na != nb || (na && memcmp(pa, pb, na)))
			fail_msg("%s: the bytes of %s changed", model, (const char *)a->key);
		assert_int_equal(a->proto->crc32c, b->proto->crc32c);
	}
}

static const float f4[4] = { 1, 2, 3, 4 }, f4b[4] = { 1, 2, 3, 5 };
static const float f8[8] = { 1, 2, 3, 4, 1, 2, 3, 4 };

static void test_tensors_shared(void **state)
{
	(void)state;
	uint8_t *s1 = NULL, *s2 = NULL;
	uint64_t l1, l2;
	uint32_t c1, c2;
	const uint8_t *strs[2] = { (const uint8_t *)"ab", (const uint8_t *)"" };
	const uint64_t lens[2] = { 2, 0 };
	assert_int_equal(tfs_bundle_encode_strings(strs, lens, 2, &s1, &l1, &c1), 0);
	assert_int_equal(tfs_bundle_encode_strings(strs, lens, 2, &s2, &l2, &c2), 0);
	const tdef v[] = {
		{ "a", 1, 0, f4, 16, 4, 0 },     /* first of a, b, g: kept */
		{ "b", 1, 0, f4, 16, 4, 0 },     /* same bytes: shares a */
		{ "c", 1, 0, f4b, 16, 4, 0 },    /* same size, other bytes */
		{ "d", 3, 0, f4, 16, 4, 0 },     /* same bytes, other dtype (int32) */
		{ "e", 7, 0, s1, l1, 2, c1 },    /* strings */
		{ "f", 7, 0, s2, l2, 2, c2 },    /* same strings: shares e */
		{ "g", 1, 0, f4, 16, 4, 0 },     /* shares a */
		{ "h", 1, 0, f8, 32, 8, 0 },     /* other size */
	};
	char *dir = make_bundle_model("bundle", v, sizeof v / sizeof *v, 1);
	tfshrink_model *in = tu_open(dir, 1), *m = tu_open(dir, 1);
	tfshrink_shrink_report *r = tu_shrink_only(m, "dedupe");
	const tfshrink_pass_result *p = tu_pass_result(r, "dedupe");
	assert_int_equal(p->items, 3);
	assert_true(p->bytes_saved >= 16 + l2 + 16); /* data, and the index may shrink too */
	assert_non_null(strstr(p->summary, "3 tensor(s) stored once"));
	assert_int_equal(m->edits[idx_of(m, "b")].share_with, idx_of(m, "a") + 1);
	assert_int_equal(m->edits[idx_of(m, "g")].share_with, idx_of(m, "a") + 1);
	assert_int_equal(m->edits[idx_of(m, "f")].share_with, idx_of(m, "e") + 1);
	assert_int_equal(m->edits[idx_of(m, "c")].share_with, 0);
	assert_int_equal(m->edits[idx_of(m, "d")].share_with, 0);
	assert_int_equal(m->edits[idx_of(m, "h")].share_with, 0);
	tfshrink_model *o = tu_write_reopen(m, "bundle-out", NULL);
	assert_same_tensors(in, o, "bundle");
	assert_int_equal(entry(o, "a")->proto->offset, entry(o, "b")->proto->offset);
	assert_int_equal(entry(o, "a")->proto->offset, entry(o, "g")->proto->offset);
	assert_int_equal(entry(o, "e")->proto->offset, entry(o, "f")->proto->offset);
	assert_true(entry(o, "a")->proto->offset != entry(o, "c")->proto->offset);
	assert_true(entry(o, "a")->proto->offset != entry(o, "d")->proto->offset);
	assert_int_equal(o->bundle->shards[0].size, 16 * 3 + l1 + 32); /* a, c, d, e, h */
	assert_int_equal(tu_model_bytes(o), r->bytes_after);
	/* a second run finds nothing more: the output already stores them once */
	tfshrink_shrink_report *r2 = tu_shrink_only(o, "dedupe");
	assert_int_equal(tu_pass_result(r2, "dedupe")->items, 0);
	tfshrink_shrink_report_free(r2);
	tfshrink_model_free(o);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	tfshrink_model_free(in);
	free(dir);
	free(s1);
	free(s2);
}

/* Equal tensors in different shards: the later entry moves to the first's shard. */
static void test_tensors_across_shards(void **state)
{
	(void)state;
	const tdef v[] = {
		{ "a", 1, 0, f4, 16, 4, 0 },
		{ "b", 1, 1, f4, 16, 4, 0 },
		{ "c", 1, 1, f8, 32, 8, 0 },
	};
	char *dir = make_bundle_model("sharded", v, 3, 2);
	tfshrink_model *in = tu_open(dir, 1), *m = tu_open(dir, 1);
	tfshrink_shrink_report *r = tu_shrink_only(m, "dedupe");
	assert_int_equal(tu_pass_result(r, "dedupe")->items, 1);
	tfshrink_model *o = tu_write_reopen(m, "sharded-out", NULL);
	assert_same_tensors(in, o, "sharded");
	assert_int_equal(o->bundle->num_shards, 2);
	assert_int_equal(entry(o, "b")->proto->shard_id, entry(o, "a")->proto->shard_id);
	assert_int_equal(entry(o, "b")->proto->offset, entry(o, "a")->proto->offset);
	assert_int_equal(o->bundle->shards[0].size + o->bundle->shards[1].size, 16 + 32);
	tfshrink_model_free(o);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	tfshrink_model_free(in);
	free(dir);
}

/* A pass that later removes or replaces the entry others share: each keeps its own bytes. */
static void test_share_fallback(void **state)
{
	(void)state;
	const tdef v[] = {
		{ "a", 1, 0, f4, 16, 4, 0 },
		{ "b", 1, 0, f4, 16, 4, 0 },
		{ "c", 1, 0, f4, 16, 4, 0 },
	};
	char *dir = make_bundle_model("fallback", v, 3, 1);
	for (int mode = 0; mode < 2; mode++) {
		tfshrink_model *in = tu_open(dir, 1), *m = tu_open(dir, 1);
		tfshrink_shrink_report *r = tu_shrink_only(m, "dedupe");
		assert_int_equal(tu_pass_result(r, "dedupe")->items, 2);
		size_t a = idx_of(m, "a");
		if (mode == 0) {
			assert_int_equal(tfs_model_remove_entry(m, a), 0);
		} else {
			uint8_t *d = malloc(16);
			memcpy(d, f4b, 16);
			Tensorflow__BundleEntryProto *e = tensorflow__bundle_entry_proto__unpack(
				NULL, 0, (const uint8_t *)""); /* an empty entry, filled below */
			assert_non_null(e);
			e->dtype = TENSORFLOW__DATA_TYPE__DT_FLOAT;
			e->shape = malloc(sizeof *e->shape);
			tensorflow__tensor_shape_proto__init(e->shape);
			e->shape->dim = malloc(sizeof *e->shape->dim);
			e->shape->dim[0] = malloc(sizeof **e->shape->dim);
			tensorflow__tensor_shape_proto__dim__init(e->shape->dim[0]);
			e->shape->dim[0]->size = 4;
			e->shape->n_dim = 1;
			assert_int_equal(tfs_model_replace_entry(m, a, d, 16, e), 0);
		}
		tfshrink_model *o = tu_write_reopen(m, mode ? "fallback-replaced" : "fallback-removed", NULL);
		const uint8_t *pb, *pc;
		uint64_t nb, nc;
		assert_int_equal(tfs_bundle_data(o->bundle, entry(o, "b"), &pb, &nb), 0);
		assert_int_equal(tfs_bundle_data(o->bundle, entry(o, "c"), &pc, &nc), 0);
		assert_int_equal(nb, 16);
		assert_memory_equal(pb, f4, 16);
		assert_memory_equal(pc, f4, 16);
		if (mode == 1) {
			const uint8_t *pa;
			uint64_t na;
			assert_int_equal(tfs_bundle_data(o->bundle, entry(o, "a"), &pa, &na), 0);
			assert_memory_equal(pa, f4b, 16);
		} else {
			assert_null(tfs_bundle_find(o->bundle, "a", 1));
		}
		tfshrink_model_free(o);
		tfshrink_shrink_report_free(r);
		tfshrink_model_free(m);
		tfshrink_model_free(in);
	}
	free(dir);
}

/* ------------------------------------------------------------ Const nodes */

/* A Const node of 1100 bytes of `fill` (int8). */
static void add_const_as(char **buf, const char *field, const char *name, char fill, const char *extra)
{
	char big[1101];
	memset(big, fill, 1100);
	big[1100] = '\0';
	char *s = NULL;
	assert_true(asprintf(&s,
	                     "%s    %s { name: \"%s\" op: \"Const\" %s\n"
	                     "      attr { key: \"dtype\" value { type: DT_INT8 } }\n"
	                     "      attr { key: \"value\" value { tensor { dtype: DT_INT8 tensor_shape { dim { size: 1100 } }"
	                     " tensor_content: \"%s\" } } } }\n",
	                     *buf, field, name, extra ? extra : "", big) > 0);
	free(*buf);
	*buf = s;
}

static void add_const(char **buf, const char *name, char fill, const char *extra)
{
	add_const_as(buf, "node", name, fill, extra);
}

static void add_text(char **buf, const char *text)
{
	char *s = NULL;
	assert_true(asprintf(&s, "%s%s", *buf, text) > 0);
	free(*buf);
	*buf = s;
}

static char *consts_model_text(void)
{
	char *t = strdup("meta_graphs {\n"
	                 "  meta_info_def { tags: \"serve\" }\n"
	                 "  graph_def {\n"
	                 "    node { name: \"x\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_INT8 } } }\n");
	add_const(&t, "c1", 'a', NULL);
	add_const(&t, "c2", 'a', NULL);                                    /* merged into c1 */
	add_const(&t, "c3", 'a', "device: \"/CPU:1\"");                    /* other device */
	add_const(&t, "c4", 'a', "input: \"^x\"");                         /* has a control input */
	add_const(&t, "c5", 'a', "attr { key: \"_class\" value { list { s: \"loc:@x\" } } }"); /* other attrs */
	add_const(&t, "c6", 'a', "attr { key: \"_output_shapes\" value { list { shape { dim { size: 1100 } } } } }");
	add_const(&t, "sig", 'p', NULL);                                   /* a signature output */
	add_const(&t, "coll", 'q', NULL);                                  /* named in a collection */
	add_const(&t, "colo", 'q', NULL);                                  /* a colocation target */
	add_const(&t, "small", 'b', NULL);                                 /* no twin */
	add_text(&t,
	         "    node { name: \"u1\" op: \"Identity\" input: \"c2\" attr { key: \"T\" value { type: DT_INT8 } } }\n"
	         "    node { name: \"u2\" op: \"AddV2\" input: \"c2:0\" input: \"c6\" input: \"^c1\" input: \"^c2\"\n"
	         "           attr { key: \"T\" value { type: DT_INT8 } } }\n"
	         "    node { name: \"u3\" op: \"Identity\" input: \"x\" input: \"^c2\" input: \"^c6\"\n"
	         "           attr { key: \"T\" value { type: DT_INT8 } }\n"
	         "           attr { key: \"_class\" value { list { s: \"loc:@colo\" } } } }\n"
	         "    library { function {\n"
	         "      signature { name: \"fn\" output_arg { name: \"y\" type: DT_INT8 } }\n");
	/* function body: Const nodes use function naming */
	char *f = strdup("");
	add_const_as(&f, "node_def", "f1", 'a', NULL);
	add_const_as(&f, "node_def", "f2", 'a', NULL);
	add_const_as(&f, "node_def", "f3", 'r', NULL);
	add_const_as(&f, "node_def", "f4", 'r', NULL);                                    /* a control output: kept */
	add_text(&t, f);
	free(f);
	add_text(&t,
	         "      node_def { name: \"fu\" op: \"AddV2\" input: \"f2:output:0\" input: \"f1:output:0\" input: \"^f3\"\n"
	         "                 attr { key: \"T\" value { type: DT_INT8 } } }\n"
	         "      ret { key: \"y\" value: \"f2:output:0\" }\n"
	         "      control_ret { key: \"done\" value: \"f4\" }\n"
	         "    } }\n"
	         "  }\n"
	         "  signature_def { key: \"serving_default\" value {\n"
	         "    outputs { key: \"s\" value { name: \"sig:0\" dtype: DT_INT8 } } } }\n"
	         "  collection_def { key: \"variables\" value { bytes_list { value: \"\\n\\004coll:0\" } } }\n"
	         "}\n");
	return t;
}

static Tensorflow__NodeDef *find(tfs_nodes l, const char *name)
{
	return tfs_nodes_find(l, name);
}

static void assert_inputs(const Tensorflow__NodeDef *n, const char *const *want, size_t k)
{
	if (n->n_input != k)
		fail_msg("%s has %zu inputs, expected %zu", n->name, n->n_input, k);
	for (size_t i = 0; i < k; i++)
		assert_string_equal(n->input[i], want[i]);
}

static void check_consts(tfshrink_model *m)
{
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	tfs_nodes l = tfs_graph_nodes(g);
	assert_non_null(find(l, "c1"));
	assert_null(find(l, "c2"));
	assert_null(find(l, "c6"));   /* differs only in _output_shapes */
	assert_non_null(find(l, "c3"));
	assert_non_null(find(l, "c4"));
	assert_non_null(find(l, "c5"));
	assert_non_null(find(l, "sig"));
	assert_non_null(find(l, "coll")); /* equal, but both named from outside */
	assert_non_null(find(l, "colo"));
	assert_non_null(find(l, "small"));
	static const char *const u1[] = { "c1" };
	static const char *const u2[] = { "c1:0", "c1", "^c1" };
	static const char *const u3[] = { "x", "^c1" };
	assert_inputs(find(l, "u1"), u1, 1);
	assert_inputs(find(l, "u2"), u2, 3);
	assert_inputs(find(l, "u3"), u3, 2);
	Tensorflow__FunctionDef *f = g->library->function[0];
	tfs_nodes fl = tfs_function_nodes(f);
	assert_non_null(find(fl, "f1"));
	assert_null(find(fl, "f2"));
	assert_null(find(fl, "f3"));
	assert_non_null(find(fl, "f4")); /* a control output: the one kept */
	static const char *const fu[] = { "f1:output:0", "f1:output:0", "^f4" };
	assert_inputs(find(fl, "fu"), fu, 3);
	assert_string_equal(f->ret[0]->value, "f1:output:0");
	assert_string_equal(f->control_ret[0]->value, "f4");
}

static void test_consts_merged(void **state)
{
	(void)state;
	char *t = consts_model_text(), *dir = tu_pbtxt_model("consts", t);
	free(t);
	tfshrink_model *m = tu_open(dir, 0);
	size_t nodes_before = m->sm->meta_graphs[0]->graph_def->n_node;
	tfshrink_shrink_report *r = tu_shrink_only(m, "dedupe");
	const tfshrink_pass_result *p = tu_pass_result(r, "dedupe");
	assert_int_equal(p->items, 4);
	assert_true(p->bytes_saved > 4 * 1100);
	assert_non_null(strstr(p->summary, "4 Const node(s) merged"));
	assert_int_equal(m->sm->meta_graphs[0]->graph_def->n_node, nodes_before - 2);
	check_consts(m);
	tfshrink_model *o = tu_write_reopen(m, "consts-out", NULL);
	check_consts(o);
	assert_int_equal(tu_model_bytes(o), r->bytes_after);
	tfshrink_model_free(o);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	free(dir);
}

/* Of two equal Consts, the one a signature names is kept, whichever comes first. */
static void test_const_named_from_outside_is_kept(void **state)
{
	(void)state;
	char *t = strdup("meta_graphs { meta_info_def { tags: \"serve\" } graph_def {\n");
	add_const(&t, "first", 'z', NULL);
	add_const(&t, "named", 'z', NULL);
	add_text(&t, "    node { name: \"u\" op: \"Identity\" input: \"first\" attr { key: \"T\" value { type: DT_INT8 } } }\n"
	             "  }\n"
	             "  signature_def { key: \"s\" value { outputs { key: \"o\" value { name: \"named:0\" } } } }\n"
	             "}\n");
	char *dir = tu_pbtxt_model("named", t);
	free(t);
	tfshrink_model *m = tu_open(dir, 0);
	tfshrink_shrink_report *r = tu_shrink_only(m, "dedupe");
	assert_int_equal(tu_pass_result(r, "dedupe")->items, 1);
	tfs_nodes l = tfs_graph_nodes(m->sm->meta_graphs[0]->graph_def);
	assert_null(find(l, "first"));
	assert_non_null(find(l, "named"));
	static const char *const u[] = { "named" };
	assert_inputs(find(l, "u"), u, 1);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------- every fixture and real model */

/* Every input names a node of its list (graph naming or function naming). */
static void assert_inputs_resolve(tfs_nodes l, const Tensorflow__FunctionDef *f, const char *model)
{
	for (size_t i = 0; i < *l.n; i++) {
		const Tensorflow__NodeDef *n = (*l.v)[i];
		for (size_t k = 0; k < n->n_input; k++) {
			tfs_ref r;
			tfs_ref_parse(n->input[k], &r);
			int ok = 0;
			for (size_t j = 0; j < *l.n && !ok; j++)
				ok = tfs_ref_is(&r, (*l.v)[j]->name);
			for (size_t a = 0; f && !ok && a < f->signature->n_input_arg; a++)
				ok = tfs_ref_is(&r, f->signature->input_arg[a]->name);
			if (!ok)
				fail_msg("%s: %s reads %s, which does not exist", model, n->name, n->input[k]);
		}
	}
}

static void check_run(const tu_pass_run *run)
{
	const tfshrink_model *m = run->m;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		Tensorflow__GraphDef *gd = m->sm->meta_graphs[g]->graph_def;
		if (!gd)
			continue;
		assert_inputs_resolve(tfs_graph_nodes(gd), NULL, run->name);
		for (size_t f = 0; gd->library && f < gd->library->n_function; f++)
			assert_inputs_resolve(tfs_function_nodes(gd->library->function[f]), gd->library->function[f],
			                      run->name);
	}
	assert_same_tensors(run->in, run->w, run->name);
}

static void check_model(const char *dir, const char *name)
{
	tfshrink_shrink_options o = tu_only("dedupe");
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

/* The committed TF fixture with duplicates: two variables, two strings, two Consts. */
static void test_dupes_fixture(void **state)
{
	(void)state;
	char *dir = tu_fixture("dupes");
	if (!tfs_is_dir(dir)) {
		free(dir);
		skip();
	}
	tfshrink_model *in = tu_open(dir, 1), *m = tu_open(dir, 1);
	tfshrink_shrink_report *r = tu_shrink_only(m, "dedupe");
	const tfshrink_pass_result *p = tu_pass_result(r, "dedupe");
	/* the Consts pair up in each traced copy of the function */
	assert_non_null(strstr(p->summary, "2 tensor(s) stored once"));
	assert_null(strstr(p->summary, " 0 Const node(s) merged"));
	assert_int_equal(m->edits[idx_of(m, "w2/.ATTRIBUTES/VARIABLE_VALUE")].share_with,
	                 idx_of(m, "w1/.ATTRIBUTES/VARIABLE_VALUE") + 1);
	assert_int_equal(m->edits[idx_of(m, "s2/.ATTRIBUTES/VARIABLE_VALUE")].share_with,
	                 idx_of(m, "s1/.ATTRIBUTES/VARIABLE_VALUE") + 1);
	tfshrink_model *o = tu_write_reopen(m, "dupes-out", NULL);
	assert_same_tensors(in, o, "dupes");
	assert_int_equal(entry(o, "w1/.ATTRIBUTES/VARIABLE_VALUE")->proto->offset,
	                 entry(o, "w2/.ATTRIBUTES/VARIABLE_VALUE")->proto->offset);
	assert_true(o->bundle->shards[0].size < in->bundle->shards[0].size);
	tfshrink_model_free(o);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	tfshrink_model_free(in);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_tensors_shared),
		TU_TMP_TEST(test_tensors_across_shards),
		TU_TMP_TEST(test_share_fallback),
		TU_TMP_TEST(test_consts_merged),
		TU_TMP_TEST(test_const_named_from_outside_is_kept),
		TU_TMP_TEST(test_fixtures),
		TU_TMP_TEST(test_realmodels),
		TU_TMP_TEST(test_dupes_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
