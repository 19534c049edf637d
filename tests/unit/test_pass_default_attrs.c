/* test_pass_default_attrs.c - the default-attrs pass: attributes equal to
 * their op's default go, everything else stays; the op list keeps every op
 * still used; _output_shapes only with strip_shapes; on every fixture and
 * shared real model the output re-adds to exactly the input. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "graph.h"
#include "model_internal.h"
#include "tfshrink.h"

/* ------------------------------------------------------ hand-made model */

static const char model_txt[] =
	"saved_model_schema_version: 1\n"
	"meta_graphs {\n"
	"  meta_info_def {\n"
	"    tags: \"serve\"\n"
	"    stripped_op_list {\n"
	"      op { name: \"Sum\" input_arg { name: \"input\" type_attr: \"T\" } input_arg { name: \"axis\" type_attr: \"Tidx\" }\n"
	"           output_arg { name: \"output\" type_attr: \"T\" }\n"
	"           attr { name: \"keep_dims\" type: \"bool\" default_value { b: false } }\n"
	"           attr { name: \"T\" type: \"type\" }\n"
	"           attr { name: \"Tidx\" type: \"type\" default_value { type: DT_INT32 } } }\n"
	"      op { name: \"Placeholder\" output_arg { name: \"output\" type_attr: \"dtype\" }\n"
	"           attr { name: \"dtype\" type: \"type\" }\n"
	"           attr { name: \"shape\" type: \"shape\" default_value { shape { unknown_rank: true } } } }\n"
	"      op { name: \"ListOp\"\n"
	"           attr { name: \"l\" type: \"list(int)\" default_value { list { } } }\n"
	"           attr { name: \"Tin\" type: \"list(type)\" has_minimum: true }\n"
	"           attr { name: \"f\" type: \"float\" default_value { f: 0 } } }\n"
	"      op { name: \"fn\" attr { name: \"a\" type: \"bool\" default_value { b: false } } }\n"
	"      op { name: \"Unused\" attr { name: \"u\" type: \"int\" default_value { i: 3 } } }\n"
	"    }\n"
	"  }\n"
	"  graph_def {\n"
	"    node { name: \"x\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_FLOAT } }\n"
	"           attr { key: \"shape\" value { shape { unknown_rank: true } } }\n"
	"           attr { key: \"_output_shapes\" value { list { shape { unknown_rank: true } } } } }\n"
	"    node { name: \"y\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_FLOAT } }\n"
	"           attr { key: \"shape\" value { shape { dim { size: 2 } } } } }\n"
	"    node { name: \"s\" op: \"Sum\" input: \"x\" input: \"y\" attr { key: \"T\" value { type: DT_FLOAT } }\n"
	"           attr { key: \"Tidx\" value { type: DT_INT32 } } attr { key: \"keep_dims\" value { b: true } } }\n"
	"    node { name: \"s2\" op: \"Sum\" input: \"x\" input: \"y\" attr { key: \"T\" value { type: DT_FLOAT } }\n"
	"           attr { key: \"Tidx\" value { type: DT_INT64 } } attr { key: \"keep_dims\" value { b: false } } }\n"
	"    node { name: \"l\" op: \"ListOp\" attr { key: \"l\" value { list { } } } attr { key: \"f\" value { f: -0.0 } }\n"
	"           attr { key: \"Tin\" value { list { } } } }\n"
	"    node { name: \"l2\" op: \"ListOp\" attr { key: \"l\" value { list { i: 1 } } } attr { key: \"f\" value { f: 0 } }\n"
	"           attr { key: \"_l\" value { list { } } } }\n"
	"    node { name: \"l3\" op: \"ListOp\" attr { key: \"l\" value { i: 0 } } }\n"
	"    node { name: \"c\" op: \"fn\" input: \"x\" attr { key: \"a\" value { b: false } } }\n"
	"    library {\n"
	"      function {\n"
	"        signature { name: \"fn\" input_arg { name: \"a\" type: DT_FLOAT } }\n"
	"        node_def { name: \"inner\" op: \"Sum\" input: \"a\" input: \"a\" attr { key: \"T\" value { type: DT_FLOAT } }\n"
	"                   attr { key: \"Tidx\" value { type: DT_INT32 } } attr { key: \"keep_dims\" value { b: false } }\n"
	"                   attr { key: \"_output_shapes\" value { list { shape { } } } } }\n"
	"        arg_attr { key: 0 value { attr { key: \"_output_shapes\" value { list { shape { } } } } } }\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"}\n";

static tfshrink_model *open_handmade(const char *sub)
{
	char *dir = tu_pbtxt_model(sub, model_txt);
	tfshrink_model *m = tu_open(dir, 0);
	free(dir);
	return m;
}

static Tensorflow__NodeDef *node(Tensorflow__NodeDef **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->name, name))
			return v[i];
	fail_msg("no node %s", name);
	return NULL;
}

static int has_attr(const Tensorflow__NodeDef *n, const char *key)
{
	return tfs_node_attr(n, key) != NULL;
}

static int has_op(const Tensorflow__MetaGraphDef *mg, const char *name)
{
	const Tensorflow__OpList *ol = mg->meta_info_def->stripped_op_list;
	for (size_t i = 0; ol && i < ol->n_op; i++)
		if (!strcmp(ol->op[i]->name, name))
			return 1;
	return 0;
}

static void check_handmade(const Tensorflow__MetaGraphDef *mg, int strip_shapes)
{
	Tensorflow__GraphDef *g = mg->graph_def;
	Tensorflow__NodeDef *x = node(g->node, g->n_node, "x");
	assert_false(has_attr(x, "shape"));           /* equals the default */
	assert_true(has_attr(x, "dtype"));            /* no default */
	assert_int_equal(has_attr(x, "_output_shapes"), !strip_shapes);
	assert_true(has_attr(node(g->node, g->n_node, "y"), "shape")); /* differs */
	Tensorflow__NodeDef *s = node(g->node, g->n_node, "s");
	assert_true(has_attr(s, "T"));
	assert_false(has_attr(s, "Tidx"));
	assert_true(has_attr(s, "keep_dims"));
	Tensorflow__NodeDef *s2 = node(g->node, g->n_node, "s2");
	assert_true(has_attr(s2, "Tidx"));
	assert_false(has_attr(s2, "keep_dims"));
	Tensorflow__NodeDef *l = node(g->node, g->n_node, "l");
	assert_false(has_attr(l, "l"));               /* empty list equals the empty-list default */
	assert_true(has_attr(l, "f"));                /* -0.0 is not the default 0.0 */
	assert_true(has_attr(l, "Tin"));              /* empty list(type), no default: required */
	Tensorflow__NodeDef *l2 = node(g->node, g->n_node, "l2");
	assert_true(has_attr(l2, "l"));
	assert_false(has_attr(l2, "f"));
	assert_true(has_attr(l2, "_l"));              /* underscore attrs stay */
	assert_true(has_attr(node(g->node, g->n_node, "l3"), "l")); /* i: 0 is not list {} */
	assert_true(has_attr(node(g->node, g->n_node, "c"), "a"));  /* calls a library function */
	Tensorflow__FunctionDef *f = g->library->function[0];
	Tensorflow__NodeDef *inner = node(f->node_def, f->n_node_def, "inner");
	assert_true(has_attr(inner, "T"));
	assert_false(has_attr(inner, "Tidx"));
	assert_false(has_attr(inner, "keep_dims"));
	assert_int_equal(has_attr(inner, "_output_shapes"), !strip_shapes);
	/* arg_attr is never touched */
	assert_int_equal(f->n_arg_attr, 1);
	assert_int_equal(f->arg_attr[0]->value->n_attr, 1);
	assert_true(mg->meta_info_def->stripped_default_attrs);
	assert_true(has_op(mg, "Sum"));
	assert_true(has_op(mg, "Placeholder"));
	assert_true(has_op(mg, "ListOp"));
	assert_false(has_op(mg, "Unused"));
	assert_false(has_op(mg, "fn"));
}

static void test_handmade(void **state)
{
	(void)state;
	for (int shapes = 0; shapes < 2; shapes++) {
		tfshrink_model *m = open_handmade(shapes ? "in-shapes" : "in");
		assert_false(m->sm->meta_graphs[0]->meta_info_def->stripped_default_attrs);
		tfshrink_shrink_options o = tu_only("default-attrs");
		o.strip_shapes = shapes;
		tfshrink_shrink_report *r = tu_shrink(m, &o);
		const tfshrink_pass_result *p = tu_pass_result(r, "default-attrs");
		assert_true(p->ran);
		/* 7 attrs, 2 op defs, and the 2 _output_shapes with strip_shapes */
		assert_int_equal(p->items, 9 + 2 * shapes);
		assert_true(p->bytes_saved > 0);
		assert_non_null(strstr(p->summary, "op list 5 -> 3 ops"));
		check_handmade(m->sm->meta_graphs[0], shapes);
		/* the written output reads back with the same content */
		tfshrink_model *m2 = tu_write_reopen(m, shapes ? "out-shapes" : "out", NULL);
		check_handmade(m2->sm->meta_graphs[0], shapes);
		assert_int_equal(r->bytes_after, tu_model_bytes(m2));
		tfshrink_model_free(m2);
		tfshrink_shrink_report_free(r);
		tfshrink_model_free(m);
	}
}

/* Nothing default-valued: the flag stays as it was, nothing changes. */
static void test_nothing_to_strip(void **state)
{
	(void)state;
	static const char txt[] =
		"meta_graphs { meta_info_def { tags: \"serve\" stripped_op_list {\n"
		"  op { name: \"Placeholder\" attr { name: \"dtype\" type: \"type\" }\n"
		"       attr { name: \"shape\" type: \"shape\" default_value { shape { unknown_rank: true } } } } } }\n"
		"  graph_def { node { name: \"x\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_FLOAT } }\n"
		"    attr { key: \"shape\" value { shape { } } } } } }\n";
	char *dir = tu_pbtxt_model("plain", txt);
	tfshrink_model *m = tu_open(dir, 0);
	tfshrink_shrink_report *r = tu_shrink_only(m, "default-attrs");
	const tfshrink_pass_result *p = tu_pass_result(r, "default-attrs");
	assert_int_equal(p->items, 0);
	assert_int_equal(p->bytes_saved, 0);
	assert_false(m->sm->meta_graphs[0]->meta_info_def->stripped_default_attrs);
	assert_int_equal(m->sm->meta_graphs[0]->graph_def->node[0]->n_attr, 2);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------- every fixture and real model */

static int packed_eq(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = a ? protobuf_c_message_get_packed_size(a) : 0, nb = b ? protobuf_c_message_get_packed_size(b) : 0;
	if (na != nb)
		return 0;
	uint8_t *x = malloc(na + 1), *y = malloc(nb + 1);
	assert_non_null(x);
	assert_non_null(y);
	if (a)
		protobuf_c_message_pack(a, x);
	if (b)
		protobuf_c_message_pack(b, y);
	int r = !memcmp(x, y, na);
	free(x);
	free(y);
	return r;
}

static const Tensorflow__OpDef *op_def(const Tensorflow__OpList *ol, const char *name)
{
	for (size_t i = 0; ol && i < ol->n_op; i++)
		if (!strcmp(ol->op[i]->name, name))
			return ol->op[i];
	return NULL;
}

static int is_function(const Tensorflow__GraphDef *g, const char *name)
{
	for (size_t i = 0; g->library && i < g->library->n_function; i++)
		if (!strcmp(g->library->function[i]->signature->name, name))
			return 1;
	return 0;
}

/* Re-adding the original op list's defaults to each new node gives back the
 * original node; returns how many attrs were stripped. */
static uint64_t check_nodes(const Tensorflow__GraphDef *g, const Tensorflow__OpList *orig_ops,
                            const Tensorflow__OpList *new_ops, Tensorflow__NodeDef **o, size_t no,
                            Tensorflow__NodeDef **n, size_t nn, int strip_shapes, const char *model)
{
	uint64_t stripped = 0;
	assert_int_equal(no, nn);
	for (size_t i = 0; i < no; i++) {
		assert_string_equal(o[i]->name, n[i]->name);
		for (size_t a = 0; a < n[i]->n_attr; a++) {
			const Tensorflow__AttrValue *ov = tfs_node_attr(o[i], n[i]->attr[a]->key);
			assert_non_null(ov);
			assert_true(packed_eq(&ov->base, &n[i]->attr[a]->value->base));
		}
		int call = is_function(g, o[i]->op);
		if (!call && op_def(orig_ops, o[i]->op) && !op_def(new_ops, o[i]->op))
			fail_msg("%s: op %s of node %s was dropped from the op list", model, o[i]->op, o[i]->name);
		for (size_t a = 0; a < o[i]->n_attr; a++) {
			const char *key = o[i]->attr[a]->key;
			if (has_attr(n[i], key))
				continue;
			if (strip_shapes && !strcmp(key, "_output_shapes"))
				continue;
			assert_false(call);
			assert_true(key[0] != '_');
			const Tensorflow__OpDef *od = op_def(orig_ops, o[i]->op);
			assert_non_null(od);
			const Tensorflow__AttrValue *d = NULL;
			for (size_t k = 0; k < od->n_attr; k++)
				if (!strcmp(od->attr[k]->name, key))
					d = od->attr[k]->default_value;
			if (!d || !packed_eq(&d->base, &o[i]->attr[a]->value->base))
				fail_msg("%s: node %s lost attr %s, which is not its op's default", model, o[i]->name, key);
			stripped++;
		}
	}
	return stripped;
}

static void check_run(const tu_pass_run *run)
{
	const tfshrink_model *orig = run->in, *m = run->m;
	const char *name = run->name;
	int strip_shapes = run->opts->strip_shapes;
	uint64_t stripped = 0;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__MetaGraphDef *om = orig->sm->meta_graphs[g], *nm = m->sm->meta_graphs[g];
		if (!om->graph_def)
			continue;
		const Tensorflow__OpList *oo = om->meta_info_def ? om->meta_info_def->stripped_op_list : NULL;
		const Tensorflow__OpList *no = nm->meta_info_def ? nm->meta_info_def->stripped_op_list : NULL;
		uint64_t s = check_nodes(om->graph_def, oo, no, om->graph_def->node, om->graph_def->n_node,
		                         nm->graph_def->node, nm->graph_def->n_node, strip_shapes, name);
		const Tensorflow__FunctionDefLibrary *ol = om->graph_def->library, *nl = nm->graph_def->library;
		for (size_t f = 0; ol && f < ol->n_function; f++) {
			s += check_nodes(om->graph_def, oo, no, ol->function[f]->node_def, ol->function[f]->n_node_def,
			                 nl->function[f]->node_def, nl->function[f]->n_node_def, strip_shapes, name);
			assert_int_equal(ol->function[f]->n_arg_attr, nl->function[f]->n_arg_attr);
		}
		if (s)
			assert_true(nm->meta_info_def->stripped_default_attrs);
		else if (om->meta_info_def)
			assert_int_equal(!!om->meta_info_def->stripped_default_attrs, !!nm->meta_info_def->stripped_default_attrs);
		stripped += s;
	}
	const tfshrink_pass_result *p = tu_pass_result(run->r, "default-attrs");
	if (!strip_shapes && p->items < stripped)
		fail_msg("%s: the pass reports %llu items but stripped %llu attrs", name, (unsigned long long)p->items,
		         (unsigned long long)stripped);
}

static void check_model(const char *dir, const char *name, int strip_shapes)
{
	tfshrink_shrink_options o = tu_only("default-attrs");
	o.strip_shapes = strip_shapes;
	tu_check_pass(dir, name, &o, check_run);
}

static const char *const fixtures[] = { "keras2_mlp_adam", "keras2_cnn_bn_adam", "keras3_export",
	                                    "tfmodule_multi_sig", "tf1_adam_builder", "tf2_hashtable_vocab",
	                                    "sharded_bundle", "string_int64_vars" };

static void test_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
		char *dir = tu_fixture(fixtures[i]);
		if (tfs_is_dir(dir)) {
			check_model(dir, fixtures[i], 0);
			check_model(dir, fixtures[i], 1);
		}
		free(dir);
	}
}

static void check_model_as_is(const char *dir, const char *name)
{
	check_model(dir, name, 0);
}

static void test_realmodels(void **state)
{
	(void)state;
	char *root = tu_realmodel(".");
	if (!root)
		skip();
	free(root);
	assert_true(tu_each_realmodel(check_model_as_is) > 0);
}

/* A TF1 real model with defaults to strip: bytes are saved and counted. */
static void test_real_tf1_saves_bytes(void **state)
{
	(void)state;
	char *dir = tu_realmodel("tfcc_half_plus_two");
	if (!dir)
		skip();
	tfshrink_model *m = tu_open(dir, 0);
	tfshrink_shrink_report *r = tu_shrink_only(m, "default-attrs");
	const tfshrink_pass_result *p = tu_pass_result(r, "default-attrs");
	assert_true(p->items > 0);
	assert_true(p->bytes_saved > 0);
	assert_int_equal(r->bytes_before - r->bytes_after, p->bytes_saved);
	assert_true(m->sm->meta_graphs[0]->meta_info_def->stripped_default_attrs);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_handmade),
		TU_TMP_TEST(test_nothing_to_strip),
		TU_TMP_TEST(test_fixtures),
		TU_TMP_TEST(test_realmodels),
		TU_TMP_TEST(test_real_tf1_saves_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
