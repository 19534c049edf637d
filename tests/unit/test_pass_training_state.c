/* test_pass_training_state.c - the training-state pass on the committed
 * fixtures and the shared real models with optimizer state: exactly the
 * optimizer / metric / save-counter keys go, the kept bytes are the model's
 * weights, the model verifies, is written and reopens with CRC checks; TF1
 * and state-free models are untouched; --keep-objects gives the same cut.
 * Also the saver API (saver.h) on a hand-made TF1 save/ subgraph and on a
 * traced restore function. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fsutil.h"
#include "graph.h"
#include "model_internal.h"
#include "pass.h"
#include "saver.h"
#include "tensorflow.pb-c.h"
#include "tfshrink.h"

extern const tfs_pass tfs_pass_training_state;

/* Training-state keys by name (independent of how the pass finds them). */

static int g_keep_metrics; /* --keep-objects with keras_metadata.pb: metrics stay */

static int is_training_key(const char *k, const char *opt_prefix)
{
	if (strstr(k, "keras_api/metrics/"))
		return !g_keep_metrics;
	if (strstr(k, ".OPTIMIZER_SLOT") || !strncmp(k, "optimizer/", 10) || !strncmp(k, "save_counter/", 13) ||
	    strstr(k, "/save_counter/.ATTRIBUTES"))
		return 1;
	return opt_prefix && !strncmp(k, opt_prefix, strlen(opt_prefix));
}

static int has_file(const char *dir, const char *name)
{
	char *p = tfs_path_join(dir, name);
	int r = tfs_is_file(p);
	free(p);
	return r;
}

static const uint8_t *entry_bytes(const tfs_bundle *b, const char *key, uint64_t *n)
{
	const tfs_bundle_entry *e = tfs_bundle_find(b, key, strlen(key));
	if (!e)
		fail_msg("key %s missing", key);
	const uint8_t *p = NULL;
	assert_int_equal(tfs_bundle_data(b, e, &p, n), 0);
	return p;
}

static uint64_t data_file_bytes(const char *dir)
{
	char *vd = tfs_path_join(dir, "variables");
	struct dirent **names;
	int n = scandir(vd, &names, NULL, alphasort);
	uint64_t total = 0;
	for (int i = 0; i < n; i++) {
		if (strstr(names[i]->d_name, ".data-")) {
			char *p = tfs_path_join(vd, names[i]->d_name);
			struct stat st;
			assert_int_equal(stat(p, &st), 0);
			total += (uint64_t)st.st_size;
			free(p);
		}
		free(names[i]);
	}
	free(names);
	free(vd);
	return total;
}

static size_t count_top_ops(const tfshrink_model *m, const char *op)
{
	const Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	size_t k = 0;
	for (size_t i = 0; i < g->n_node; i++)
		k += !strcmp(g->node[i]->op, op);
	return k;
}

static size_t count_objects(const tfshrink_model *m, int kind)
{
	const Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	size_t k = 0;
	for (size_t i = 0; og && i < og->n_nodes; i++)
		k += (int)og->nodes[i]->kind_case == kind;
	return k;
}

/* The restore function's RestoreV2 keys, as one '\n'-joined string. */
static void restore_keys(const tfshrink_model *m, char *out, size_t cap)
{
	tfs_traced_saver s;
	assert_int_equal(tfs_traced_saver_find(m, &s), 0);
	assert_non_null(s.restore_fn);
	out[0] = '\0';
	for (size_t i = 0; i < s.restore_fn->n_node_def; i++) {
		const Tensorflow__NodeDef *nd = s.restore_fn->node_def[i];
		if (strcmp(nd->op, "Const"))
			continue;
		const Tensorflow__AttrValue *v = tfs_node_attr(nd, "value");
		if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR || v->tensor->dtype != TENSORFLOW__DATA_TYPE__DT_STRING)
			continue;
		for (size_t k = 0; k < v->tensor->n_string_val; k++) {
			size_t l = strlen(out);
			snprintf(out + l, cap - l, "%.*s\n", (int)v->tensor->string_val[k].len,
			         (const char *)v->tensor->string_val[k].data);
		}
	}
}

typedef struct expect {
	const char *opt_prefix;   /* extra optimizer path of a tf.Module (e.g. "opt/") */
	int keras2_weights;       /* kept keys are exactly layer_with_weights-* */
	int handles_match;        /* top-level VarHandleOps == variable objects after */
} expect;

/* Runs the pass on dir and checks everything the pass promises. */
static void check_model(const char *dir, const expect *ex, int keep_objects)
{
	tfshrink_model *orig = tu_open(dir, 0);
	tfshrink_model *m = tu_open(dir, 0);
	g_keep_metrics = keep_objects && has_file(dir, "keras_metadata.pb");
	assert_non_null(m->bundle);
	size_t n = m->bundle->n, n_train = 0;
	uint64_t kept_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const char *k = (const char *)m->bundle->e[i].key;
		if (is_training_key(k, ex->opt_prefix))
			n_train++;
		else if (strcmp(k, TFS_OBJECT_GRAPH_KEY))
			kept_bytes += (uint64_t)m->bundle->e[i].proto->size;
	}
	assert_true(n_train > 0);
	uint64_t items = 0;
	char summary[256];
	if (tu_run_pass(&tfs_pass_training_state, m, keep_objects, &items, summary) != 0)
		fail_msg("%s: %s", dir, tfshrink_error_last()->message);
	assert_true(items >= n_train);
	assert_non_null(strstr(summary, "removed "));
	for (size_t i = 0; i < n; i++) {
		const char *k = (const char *)m->bundle->e[i].key;
		int gone = tfs_model_entry_removed(m, i);
		if (gone != is_training_key(k, ex->opt_prefix))
			fail_msg("%s: key %s %s", dir, k, gone ? "removed but is a weight" : "kept but is training state");
		if (ex->keras2_weights && !gone && strcmp(k, TFS_OBJECT_GRAPH_KEY) && strncmp(k, "layer_with_weights-", 19) &&
		    !(g_keep_metrics && strstr(k, "keras_api/metrics/")))
			fail_msg("%s: kept %s, which is not a layer weight", dir, k);
	}
	tu_assert_verifies(m);
	char keys[65536];
	restore_keys(m, keys, sizeof keys);
	char *save = NULL;
	for (char *k = strtok_r(keys, "\n", &save); k; k = strtok_r(NULL, "\n", &save))
		if (*k && is_training_key(k, ex->opt_prefix))
			fail_msg("%s: the traced restore function still restores %s", dir, k);

	/* Written and reopened with every checksum checked. */
	char *out;
	tfshrink_model *w = tu_write_reopen(m, keep_objects ? "out-keep" : "out", &out);
	tu_assert_verifies(w);
	for (size_t i = 0; i < w->bundle->n; i++) {
		const char *k = (const char *)w->bundle->e[i].key;
		assert_int_equal(tfs_bundle_verify(w->bundle, &w->bundle->e[i]), 0);
		assert_false(is_training_key(k, ex->opt_prefix));
		if (!strcmp(k, TFS_OBJECT_GRAPH_KEY))
			continue;
		uint64_t a, b;
		const uint8_t *pa = entry_bytes(orig->bundle, k, &a), *pb = entry_bytes(w->bundle, k, &b);
		assert_int_equal(a, b);
		assert_memory_equal(pa, pb, a);
	}
	assert_int_equal(w->bundle->n + n_train, orig->bundle->n);
	/* The data shards hold the weights and the new object graph, nothing else. */
	const tfs_bundle_entry *og = tfs_bundle_find(w->bundle, TFS_OBJECT_GRAPH_KEY, strlen(TFS_OBJECT_GRAPH_KEY));
	assert_non_null(og);
	assert_int_equal(data_file_bytes(out), kept_bytes + (uint64_t)og->proto->size);
	/* The checkpoint's object graph names only kept keys and has no slots. */
	assert_non_null(w->ckpt_graph);
	for (size_t i = 0; i < w->ckpt_graph->n_nodes; i++) {
		assert_int_equal(w->ckpt_graph->nodes[i]->n_slot_variables, 0);
		for (size_t k = 0; k < w->ckpt_graph->nodes[i]->n_attributes; k++)
			assert_false(is_training_key(w->ckpt_graph->nodes[i]->attributes[k]->checkpoint_key, ex->opt_prefix));
	}
	if (ex->handles_match)
		assert_int_equal(count_top_ops(w, "VarHandleOp"), count_objects(w, TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE));
	/* With keras_metadata.pb kept, object ids do not move. */
	if (g_keep_metrics)
		assert_int_equal(w->sm->meta_graphs[0]->object_graph_def->n_nodes,
		                 orig->sm->meta_graphs[0]->object_graph_def->n_nodes);
	tfshrink_model_free(w);
	tfs_remove_tree(out);
	free(out);
	tfshrink_model_free(m);
	tfshrink_model_free(orig);
}

static void test_keras2_mlp_adam(void **state)
{
	(void)state;
	char *d = tu_fixture("keras2_mlp_adam");
	expect ex = { NULL, 1, 1 };
	check_model(d, &ex, 0);
	check_model(d, &ex, 1);
	free(d);
}

static void test_keras2_cnn_bn_adam(void **state)
{
	(void)state;
	char *d = tu_fixture("keras2_cnn_bn_adam");
	expect ex = { NULL, 1, 1 };
	check_model(d, &ex, 0);
	check_model(d, &ex, 1);
	free(d);
}

static void test_tfmodule_multi_sig(void **state)
{
	(void)state;
	char *d = tu_fixture("tfmodule_multi_sig");
	expect ex = { "opt/", 0, 1 };
	check_model(d, &ex, 0);
	/* The signatures still capture the same variables. */
	tfshrink_model *m = tu_open(d, 0);
	assert_int_equal(tu_run_pass(&tfs_pass_training_state, m, 0, NULL, NULL), 0);
	const Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	assert_int_equal(count_objects(m, TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE), 5);
	for (size_t i = 0; i < og->n_nodes; i++)
		assert_int_equal(og->nodes[i]->n_slot_variables, 0);
	tfshrink_model_free(m);
	free(d);
}

/* A signature that captures an optimizer variable keeps it (and the path to
 * it), with a note; the rest of the optimizer still goes. */
static void test_signature_capture_keeps(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("tfmodule_multi_sig", 0);
	Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	int32_t opt = -1, iter = -1;
	for (size_t k = 0; k < og->nodes[0]->n_children; k++)
		if (!strcmp(og->nodes[0]->children[k]->local_name, "opt"))
			opt = og->nodes[0]->children[k]->node_id;
	assert_true(opt > 0);
	for (size_t k = 0; k < og->nodes[opt]->n_children; k++)
		if (!strcmp(og->nodes[opt]->children[k]->local_name, "iter"))
			iter = og->nodes[opt]->children[k]->node_id;
	assert_true(iter > 0);
	/* serving_default's wrapper now (also) captures opt/iter. */
	const char *fname = NULL;
	for (size_t i = 0; i < og->n_nodes && !fname; i++)
		if (og->nodes[i]->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_USER_OBJECT &&
		    !strcmp(og->nodes[i]->user_object->identifier, "signature_map"))
			for (size_t k = 0; k < og->nodes[i]->n_children; k++)
				if (!strcmp(og->nodes[i]->children[k]->local_name, "serving_default"))
					fname = og->nodes[og->nodes[i]->children[k]->node_id]->bare_concrete_function->concrete_function_name;
	assert_non_null(fname);
	Tensorflow__SavedConcreteFunction *cf = NULL;
	for (size_t i = 0; i < og->n_concrete_functions; i++)
		if (!strcmp(og->concrete_functions[i]->key, fname))
			cf = og->concrete_functions[i]->value;
	assert_non_null(cf);
	cf->bound_inputs = realloc(cf->bound_inputs, (cf->n_bound_inputs + 1) * sizeof *cf->bound_inputs);
	cf->bound_inputs[cf->n_bound_inputs++] = iter;
	size_t notes = m->n_notes;
	assert_int_equal(tu_run_pass(&tfs_pass_training_state, m, 0, NULL, NULL), 0);
	const tfs_bundle_entry *e = tfs_bundle_find(m->bundle, "opt/iter/.ATTRIBUTES/VARIABLE_VALUE", 35);
	assert_non_null(e);
	assert_false(tfs_model_entry_removed(m, (size_t)(e - m->bundle->e)));
	e = tfs_bundle_find(m->bundle, "opt/beta_1/.ATTRIBUTES/VARIABLE_VALUE", 37);
	assert_non_null(e);
	assert_true(tfs_model_entry_removed(m, (size_t)(e - m->bundle->e)));
	e = tfs_bundle_find(m->bundle, "w1/.OPTIMIZER_SLOT/opt/m/.ATTRIBUTES/VARIABLE_VALUE", 51);
	assert_non_null(e);
	assert_true(tfs_model_entry_removed(m, (size_t)(e - m->bundle->e)));
	assert_true(m->n_notes > notes);
	int noted = 0;
	for (size_t i = notes; i < m->n_notes; i++)
		noted |= strstr(m->notes[i], "'Adam/iter'") != NULL;
	assert_true(noted);
	tu_assert_verifies(m);
	char keys[65536];
	restore_keys(m, keys, sizeof keys);
	assert_non_null(strstr(keys, "opt/iter/.ATTRIBUTES/VARIABLE_VALUE\n"));
	assert_null(strstr(keys, "OPTIMIZER_SLOT"));
	tfshrink_model_free(m);
}

/* A save shard holding only training state would leave an empty SaveV2:
 * the pass then leaves the model alone, with a note. (Simulated by making
 * the SaveV2 key list name only optimizer keys.) */
static void test_save_shard_only_training_state(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("keras2_mlp_adam", 0);
	tfs_traced_saver s;
	assert_int_equal(tfs_traced_saver_find(m, &s), 0);
	Tensorflow__NodeDef *names = tfs_nodes_find(tfs_function_nodes(s.save_fn), "SaveV2/tensor_names");
	assert_non_null(names);
	Tensorflow__TensorProto *t = tfs_node_attr(names, "value")->tensor;
	for (size_t i = 0; i < t->n_string_val; i++) {
		free(t->string_val[i].data);
		t->string_val[i].data = (uint8_t *)tu_strdup("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE");
		t->string_val[i].len = strlen((const char *)t->string_val[i].data);
	}
	size_t before = protobuf_c_message_get_packed_size(&m->sm->base), notes = m->n_notes;
	uint64_t items = 99;
	char summary[256];
	assert_int_equal(tu_run_pass(&tfs_pass_training_state, m, 0, &items, summary), 0);
	assert_int_equal(items, 0);
	assert_non_null(strstr(summary, "left alone"));
	assert_true(m->n_notes > notes);
	assert_int_equal(protobuf_c_message_get_packed_size(&m->sm->base), before);
	for (size_t k = 0; k < m->bundle->n; k++)
		assert_false(tfs_model_entry_removed(m, k));
	tfshrink_model_free(m);
}

/* Models without training state, or TF1: nothing changes. */
static void test_untouched(void **state)
{
	(void)state;
	static const char *const names[] = { "keras3_export", "tf1_adam_builder", "tf2_hashtable_vocab",
	                                      "string_int64_vars", "sharded_bundle" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		tfshrink_model *m = tu_open_fixture(names[i], 0);
		size_t before = protobuf_c_message_get_packed_size(&m->sm->base);
		uint64_t items = 99;
		char summary[256];
		assert_int_equal(tu_run_pass(&tfs_pass_training_state, m, 0, &items, summary), 0);
		assert_int_equal(items, 0);
		assert_int_equal(protobuf_c_message_get_packed_size(&m->sm->base), before);
		for (size_t k = 0; m->bundle && k < m->bundle->n; k++)
			assert_false(tfs_model_entry_removed(m, k));
		assert_int_equal(m->ckpt_graph_dirty, 0);
		tfshrink_model_free(m);
	}
}

static void test_real_models(void **state)
{
	(void)state;
	static const char *const names[] = { "keras_ocr_sharded", "keras_genomic_gaps_sharded", "keras_rossmann_sharded",
	                                      "keras_tf24_serving_example_changhwanjoe", "rust_keras_multiple_inputs",
	                                      "rust_keras_single_input", "tfx_iris_keras_serving", "tfx_keras_serving",
	                                      "keras_kwon_tempmodel_sharded", "tfnet_simple_model_auto_compile" };
	char *root = tu_realmodel("");
	if (!root || !tfs_is_dir(root)) {
		free(root);
		skip();
	}
	free(root);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *d = tu_realmodel(names[i]);
		if (!tfs_is_dir(d)) {
			free(d);
			continue;
		}
		expect ex = { NULL, 0, 0 };
		check_model(d, &ex, 0);
		free(d);
	}
}

/* The whole pipeline reports the pass and stays loadable. */
static void test_shrink_reports_pass(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("keras2_mlp_adam", 0);
	tfshrink_shrink_report *r = tu_shrink(m, NULL);
	const tfshrink_pass_result *p = tu_pass_result(r, "training-state");
	assert_true(p->ran);
	assert_int_equal(p->items, 18); /* 14 optimizer + 4 metric variables */
	assert_true(p->bytes_saved > 60000);
	assert_non_null(strstr(p->summary, "optimizer 14, metrics 4"));
	assert_true(r->bytes_after < r->bytes_before);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

/* ------------------------------------------------------- saver.h, graphs */

static Tensorflow__NodeDef *mk(const char *name, const char *op, const char *const *inputs)
{
	Tensorflow__NodeDef *n = tu_node(name, op);
	for (size_t i = 0; inputs && inputs[i]; i++) {
		n->input = realloc(n->input, (n->n_input + 1) * sizeof *n->input);
		n->input[n->n_input++] = tu_strdup(inputs[i]);
	}
	return n;
}

static Tensorflow__NodeDef *mk_strings(const char *name, const char *const *vals)
{
	Tensorflow__NodeDef *n = mk(name, "Const", NULL);
	Tensorflow__AttrValue *v = malloc(sizeof *v);
	tensorflow__attr_value__init(v);
	Tensorflow__TensorProto *t = malloc(sizeof *t);
	tensorflow__tensor_proto__init(t);
	t->dtype = TENSORFLOW__DATA_TYPE__DT_STRING;
	size_t k = 0;
	while (vals[k])
		k++;
	t->string_val = malloc((k ? k : 1) * sizeof *t->string_val);
	for (size_t i = 0; i < k; i++) {
		t->string_val[i].data = (uint8_t *)tu_strdup(vals[i]);
		t->string_val[i].len = strlen(vals[i]);
	}
	t->n_string_val = k;
	Tensorflow__TensorShapeProto *sh = malloc(sizeof *sh);
	tensorflow__tensor_shape_proto__init(sh);
	sh->dim = malloc(sizeof *sh->dim);
	sh->dim[0] = malloc(sizeof **sh->dim);
	tensorflow__tensor_shape_proto__dim__init(sh->dim[0]);
	sh->dim[0]->size = (int64_t)k;
	sh->n_dim = 1;
	t->tensor_shape = sh;
	v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TENSOR;
	v->tensor = t;
	tu_add_attr(n, "value", v);
	return n;
}

static void add_types(Tensorflow__NodeDef *n, const char *key, size_t k)
{
	Tensorflow__AttrValue *v = malloc(sizeof *v);
	tensorflow__attr_value__init(v);
	Tensorflow__AttrValue__ListValue *l = malloc(sizeof *l);
	tensorflow__attr_value__list_value__init(l);
	l->type = malloc(k * sizeof *l->type);
	for (size_t i = 0; i < k; i++)
		l->type[i] = TENSORFLOW__DATA_TYPE__DT_FLOAT;
	l->n_type = k;
	v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
	v->list = l;
	tu_add_attr(n, key, v);
}

static size_t list_len(const Tensorflow__NodeDef *n, const char *key)
{
	const Tensorflow__AttrValue *v = tfs_node_attr(n, key);
	assert_non_null(v);
	return v->list->n_type;
}

/* String i of a string Const, copied to a static buffer (the values are
 * length-delimited, not NUL-terminated). */
static const char *str_at(const Tensorflow__NodeDef *c, size_t i)
{
	static char buf[256];
	const Tensorflow__AttrValue *v = tfs_node_attr(c, "value");
	assert_non_null(v);
	assert_true(i < v->tensor->n_string_val);
	snprintf(buf, sizeof buf, "%.*s", (int)v->tensor->string_val[i].len, (const char *)v->tensor->string_val[i].data);
	return buf;
}

static size_t n_strings(const Tensorflow__NodeDef *c)
{
	return tfs_node_attr(c, "value")->tensor->n_string_val;
}

#define IN(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A TF1 save/ subgraph: bulk RestoreV2 + save/Assign_k, an old-style
 * per-variable save/RestoreV2_1 + save/Assign_3, restore_shard/restore_all,
 * SaveV2; two more RestoreV2 sharing their key Consts. */
static void test_saver_tf1_graph(void **state)
{
	(void)state;
	Tensorflow__GraphDef *g = malloc(sizeof *g);
	tensorflow__graph_def__init(g);
	Tensorflow__NodeDef *nodes[] = {
		mk("v0", "VariableV2", NULL),
		mk("v1", "VariableV2", NULL),
		mk("v2", "VariableV2", NULL),
		mk("v3", "VariableV2", NULL),
		mk("save/Const", "Const", NULL),
		mk_strings("save/RestoreV2/tensor_names", IN("v0", "v1", "v2")),
		mk_strings("save/RestoreV2/shape_and_slices", IN("", "", "")),
		mk("save/RestoreV2", "RestoreV2", IN("save/Const", "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices")),
		mk("save/Assign", "Assign", IN("v0", "save/RestoreV2")),
		mk("save/Assign_1", "Assign", IN("v1", "save/RestoreV2:1")),
		mk("save/Assign_2", "Assign", IN("v2", "save/RestoreV2:2")),
		mk_strings("save/RestoreV2_1/tensor_names", IN("v3")),
		mk_strings("save/RestoreV2_1/shape_and_slices", IN("")),
		mk("save/RestoreV2_1", "RestoreV2", IN("save/Const", "save/RestoreV2_1/tensor_names", "save/RestoreV2_1/shape_and_slices")),
		mk("save/Assign_3", "Assign", IN("v3", "save/RestoreV2_1")),
		mk("save/restore_shard", "NoOp", IN("^save/Assign", "^save/Assign_1", "^save/Assign_2", "^save/Assign_3")),
		mk("save/restore_all", "NoOp", IN("^save/restore_shard")),
		mk_strings("save/SaveV2/tensor_names", IN("v0", "v1", "v2", "v3")),
		mk_strings("save/SaveV2/shape_and_slices", IN("", "", "", "")),
		mk("save/SaveV2", "SaveV2", IN("save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices", "v0", "v1", "v2", "v3", "^save/Const")),
		mk_strings("shared/names", IN("a", "b")),
		mk_strings("shared/slices", IN("", "")),
		mk("r/A", "RestoreV2", IN("save/Const", "shared/names", "shared/slices")),
		mk("r/B", "RestoreV2", IN("save/Const", "shared/names", "shared/slices")),
		mk("useA", "Identity", IN("r/A:1")),
		mk("useB", "Identity", IN("r/B:1")),
	};
	size_t nn = sizeof nodes / sizeof *nodes;
	g->node = malloc(nn * sizeof *g->node);
	memcpy(g->node, nodes, sizeof nodes);
	g->n_node = nn;
	add_types(tfs_nodes_find(tfs_graph_nodes(g), "save/RestoreV2"), "dtypes", 3);
	add_types(tfs_nodes_find(tfs_graph_nodes(g), "save/RestoreV2_1"), "dtypes", 1);
	add_types(tfs_nodes_find(tfs_graph_nodes(g), "save/SaveV2"), "dtypes", 4);
	add_types(tfs_nodes_find(tfs_graph_nodes(g), "r/A"), "dtypes", 2);
	add_types(tfs_nodes_find(tfs_graph_nodes(g), "r/B"), "dtypes", 2);

	tfs_keyset ks;
	tfs_keyset_init(&ks);
	assert_int_equal(tfs_keyset_add(&ks, "v3"), 0);
	assert_int_equal(tfs_keyset_add(&ks, "v1"), 0);
	assert_int_equal(tfs_keyset_add(&ks, "a"), 0);
	assert_true(tfs_keyset_has(&ks, "v1"));
	assert_false(tfs_keyset_has(&ks, "v2"));
	tfs_nodes l = tfs_graph_nodes(g);
	/* v1, v3 in RestoreV2/RestoreV2_1, v1, v3 in SaveV2, a in r/A and r/B. */
	assert_int_equal(tfs_saver_remove_keys(NULL, l, "graph", &ks), 6);

	assert_null(tfs_nodes_find(l, "save/Assign_1"));
	assert_null(tfs_nodes_find(l, "save/Assign_3"));
	assert_null(tfs_nodes_find(l, "save/RestoreV2_1"));
	assert_null(tfs_nodes_find(l, "save/RestoreV2_1/tensor_names"));
	assert_null(tfs_nodes_find(l, "save/RestoreV2_1/shape_and_slices"));
	assert_non_null(tfs_nodes_find(l, "v1")); /* graph producers stay for the caller */
	const Tensorflow__NodeDef *a0 = tfs_nodes_find(l, "save/Assign"), *a2 = tfs_nodes_find(l, "save/Assign_2");
	assert_string_equal(a0->input[1], "save/RestoreV2");
	assert_string_equal(a2->input[1], "save/RestoreV2:1");
	const Tensorflow__NodeDef *rs = tfs_nodes_find(l, "save/restore_shard");
	assert_int_equal(rs->n_input, 2);
	assert_string_equal(rs->input[0], "^save/Assign");
	assert_string_equal(rs->input[1], "^save/Assign_2");
	const Tensorflow__NodeDef *rn = tfs_nodes_find(l, "save/RestoreV2/tensor_names");
	assert_int_equal(n_strings(rn), 2);
	assert_string_equal(str_at(rn, 0), "v0");
	assert_string_equal(str_at(rn, 1), "v2");
	assert_int_equal(n_strings(tfs_nodes_find(l, "save/RestoreV2/shape_and_slices")), 2);
	assert_int_equal(list_len(tfs_nodes_find(l, "save/RestoreV2"), "dtypes"), 2);
	const Tensorflow__NodeDef *sv = tfs_nodes_find(l, "save/SaveV2");
	assert_int_equal(list_len(sv, "dtypes"), 2);
	assert_int_equal(sv->n_input, 6);
	assert_string_equal(sv->input[3], "v0");
	assert_string_equal(sv->input[4], "v2");
	assert_string_equal(sv->input[5], "^save/Const");
	assert_int_equal(n_strings(tfs_nodes_find(l, "save/SaveV2/tensor_names")), 2);
	/* Shared key Consts: each RestoreV2 ends up with its own one-key list. */
	const Tensorflow__NodeDef *ra = tfs_nodes_find(l, "r/A"), *rb = tfs_nodes_find(l, "r/B");
	assert_string_not_equal(ra->input[1], rb->input[1]);
	for (int k = 0; k < 2; k++) {
		const Tensorflow__NodeDef *r = k ? rb : ra;
		for (size_t s = 1; s <= 2; s++) {
			char nm[128];
			snprintf(nm, sizeof nm, "%.*s", (int)strcspn(r->input[s], ":"), r->input[s]);
			const Tensorflow__NodeDef *c = tfs_nodes_find(l, nm);
			assert_non_null(c);
			assert_int_equal(n_strings(c), 1);
			if (s == 1)
				assert_string_equal(str_at(c, 0), "b");
		}
		assert_int_equal(list_len(r, "dtypes"), 1);
	}
	assert_string_equal(tfs_nodes_find(l, "useA")->input[0], "r/A:0");
	assert_string_equal(tfs_nodes_find(l, "useB")->input[0], "r/B:0");

	/* Removing every key of a SaveV2 is refused. */
	tfs_keyset all;
	tfs_keyset_init(&all);
	assert_int_equal(tfs_keyset_add(&all, "v0"), 0);
	assert_int_equal(tfs_keyset_add(&all, "v2"), 0);
	tu_assert_error(tfs_saver_remove_keys(NULL, l, "graph", &all), TFSHRINK_EUNSUPPORTED, "nothing to save");
	tfs_keyset_free(&all);
	tfs_keyset_free(&ks);
	tensorflow__graph_def__free_unpacked(g, NULL);
}

/* Function naming, dead arguments and call sites on a real traced restore. */
static void test_saver_traced_restore(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("keras2_mlp_adam", 0);
	tfs_traced_saver s;
	assert_int_equal(tfs_traced_saver_find(m, &s), 0);
	assert_non_null(s.save_fn);
	assert_non_null(s.restore_fn);
	assert_non_null(s.save_call);
	assert_non_null(s.restore_call);
	Tensorflow__FunctionDef *f = s.restore_fn;
	size_t args = f->signature->n_input_arg, calls_in = s.restore_call->n_input;
	assert_int_equal(args, 25);
	tfs_keyset ks;
	tfs_keyset_init(&ks);
	assert_int_equal(tfs_keyset_add(&ks, "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"), 0);
	assert_int_equal(tfs_saver_remove_keys(m, tfs_function_nodes(f), f->signature->name, &ks), 1);
	tfs_nodes l = tfs_function_nodes(f);
	assert_null(tfs_nodes_find(l, "AssignVariableOp_6"));
	assert_null(tfs_nodes_find(l, "Identity_6"));
	assert_string_equal(tfs_nodes_find(l, "Identity_7")->input[0], "RestoreV2:tensors:6");
	assert_string_equal(tfs_nodes_find(l, "Identity_5")->input[0], "RestoreV2:tensors:5");
	assert_int_equal(list_len(tfs_nodes_find(l, "RestoreV2"), "dtypes"), 24);
	for (size_t i = 0; i < f->n_control_ret; i++)
		assert_string_not_equal(f->control_ret[i]->value, "AssignVariableOp_6");
	for (size_t i = 0; i < f->signature->n_control_output; i++)
		assert_string_not_equal(f->signature->control_output[i], "AssignVariableOp_6");
	assert_int_equal(f->n_control_ret, 23);
	assert_int_equal(f->signature->n_control_output, 23);

	uint8_t *gone = NULL;
	size_t n_args = 0;
	assert_int_equal(tfs_function_remove_dead_args(m, f, &gone, &n_args), 1);
	assert_int_equal(n_args, 25);
	assert_non_null(gone);
	for (size_t i = 0; i < n_args; i++)
		assert_int_equal(gone[i], i == 7); /* file_prefix, then 24 variables: iteration is the 7th */
	free(gone);
	assert_int_equal(f->signature->n_input_arg, args - 1);
	assert_int_equal(s.restore_call->n_input, calls_in - 1);
	assert_int_equal(list_len(s.restore_call, "Tin"), args - 1);
	const Tensorflow__AttrValue *is = NULL;
	for (size_t i = 0; i < f->n_attr; i++)
		if (!strcmp(f->attr[i]->key, "_input_shapes"))
			is = f->attr[i]->value;
	assert_non_null(is);
	assert_int_equal(is->list->n_shape, args - 1);
	for (size_t i = 0; i < f->n_arg_attr; i++)
		assert_true(f->arg_attr[i]->key < args - 1);
	/* Nothing left to remove: a second call is a no-op. */
	assert_int_equal(tfs_function_remove_dead_args(m, f, &gone, &n_args), 0);
	assert_null(gone);
	/* Object-graph concrete functions are bound by position: refused. */
	const Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	Tensorflow__FunctionDef *cf = tfs_model_function(m, og->concrete_functions[0]->key);
	assert_non_null(cf);
	tu_assert_error(tfs_function_remove_dead_args(m, cf, NULL, NULL), TFSHRINK_EUNSUPPORTED, "bound by position");
	tfs_keyset_free(&ks);
	tfshrink_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_keras2_mlp_adam),
		TU_TMP_TEST(test_keras2_cnn_bn_adam),
		TU_TMP_TEST(test_tfmodule_multi_sig),
		cmocka_unit_test(test_signature_capture_keeps),
		cmocka_unit_test(test_save_shard_only_training_state),
		cmocka_unit_test(test_untouched),
		TU_TMP_TEST(test_real_models),
		cmocka_unit_test(test_shrink_reports_pass),
		cmocka_unit_test(test_saver_tf1_graph),
		cmocka_unit_test(test_saver_traced_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
