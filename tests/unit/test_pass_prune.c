/* test_pass_prune.c - the prune pass (serving profile) on every committed
 * fixture and shared real model: what stays resolves, loads (verify) and
 * round-trips with CRC checks; signature functions are untouched; no
 * checkpoint value is lost; Keras fixtures lose their Keras-only functions
 * and keras_metadata.pb; --keep-objects keeps everything; the TF1 rule and
 * gradient bookkeeping on hand-made libraries. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fsutil.h"
#include "graph.h"
#include "model_internal.h"
#include "pass.h"
#include "tensorflow.pb-c.h"
#include "tfshrink.h"

extern const tfs_pass tfs_pass_prune;

/* ------------------------------------------------------------- models */

static Tensorflow__MetaGraphDef *mg0(const tfshrink_model *m)
{
	return m->sm->meta_graphs[0];
}

static size_t n_functions(const tfshrink_model *m)
{
	size_t n = 0;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__GraphDef *gd = m->sm->meta_graphs[g]->graph_def;
		n += gd && gd->library ? gd->library->n_function : 0;
	}
	return n;
}

static size_t n_objects(const tfshrink_model *m)
{
	return mg0(m)->object_graph_def ? mg0(m)->object_graph_def->n_nodes : 0;
}

static int file_removed(const tfshrink_model *m, const char *rel)
{
	for (size_t i = 0; i < m->n_files; i++)
		if (!strcmp(m->files[i].rel, rel))
			return tfs_model_file_removed(m, i);
	return -1; /* absent */
}

static const Tensorflow__FunctionDef *find_fn(const Tensorflow__GraphDef *gd, const char *name)
{
	for (size_t i = 0; gd && gd->library && i < gd->library->n_function; i++)
		if (!strcmp(gd->library->function[i]->signature->name, name))
			return gd->library->function[i];
	return NULL;
}

/* ------------------------------------------- independent reference checks */

static void check_attr_refs(const Tensorflow__GraphDef *gd, const Tensorflow__AttrValue *v, const char *where);

static void check_func_ref(const Tensorflow__GraphDef *gd, const Tensorflow__NameAttrList *f, const char *where)
{
	if (!find_fn(gd, f->name))
		fail_msg("%s refers to function '%s', which is gone", where, f->name);
	for (size_t k = 0; k < f->n_attr; k++)
		check_attr_refs(gd, f->attr[k]->value, where);
}

static void check_attr_refs(const Tensorflow__GraphDef *gd, const Tensorflow__AttrValue *v, const char *where)
{
	if (!v)
		return;
	if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && v->func)
		check_func_ref(gd, v->func, where);
	if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list)
		for (size_t k = 0; k < v->list->n_func; k++)
			check_func_ref(gd, v->list->func[k], where);
}

static void check_nodes_refs(const Tensorflow__GraphDef *gd, Tensorflow__NodeDef **nodes, size_t n, const char *where)
{
	for (size_t i = 0; i < n; i++)
		for (size_t a = 0; a < nodes[i]->n_attr; a++)
			check_attr_refs(gd, nodes[i]->attr[a]->value, where);
}

/* Every reference that names a function resolves; every object id is in range. */
static void check_refs(const tfshrink_model *m)
{
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		const Tensorflow__GraphDef *gd = mg->graph_def;
		if (!gd)
			continue;
		check_nodes_refs(gd, gd->node, gd->n_node, "a top-level node");
		const Tensorflow__FunctionDefLibrary *lib = gd->library;
		for (size_t f = 0; lib && f < lib->n_function; f++)
			check_nodes_refs(gd, lib->function[f]->node_def, lib->function[f]->n_node_def,
			                 lib->function[f]->signature->name);
		for (size_t k = 0; lib && k < lib->n_gradient; k++) {
			assert_non_null(find_fn(gd, lib->gradient[k]->function_name));
			assert_non_null(find_fn(gd, lib->gradient[k]->gradient_func));
		}
		for (size_t k = 0; lib && k < lib->n_registered_gradients; k++)
			assert_non_null(find_fn(gd, lib->registered_gradients[k]->gradient_func));
		const Tensorflow__SavedObjectGraph *og = mg->object_graph_def;
		if (!og)
			continue;
		int32_t n = (int32_t)og->n_nodes;
		for (size_t k = 0; k < og->n_concrete_functions; k++) {
			const char *name = og->concrete_functions[k]->key;
			if (!find_fn(gd, name))
				fail_msg("concrete function entry '%s' has no function", name);
			const Tensorflow__SavedConcreteFunction *cf = og->concrete_functions[k]->value;
			for (size_t b = 0; cf && b < cf->n_bound_inputs; b++)
				assert_true(cf->bound_inputs[b] >= 0 && cf->bound_inputs[b] < n);
		}
		for (int32_t i = 0; i < n; i++) {
			const Tensorflow__SavedObject *o = og->nodes[i];
			for (size_t k = 0; k < o->n_children; k++)
				assert_true(o->children[k]->node_id >= 0 && o->children[k]->node_id < n);
			for (size_t k = 0; k < o->n_dependencies; k++)
				assert_true(o->dependencies[k]->node_id >= 0 && o->dependencies[k]->node_id < n);
			if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION)
				for (size_t k = 0; k < o->function->n_concrete_functions; k++)
					assert_non_null(find_fn(gd, o->function->concrete_functions[k]));
			if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION)
				assert_non_null(find_fn(gd, o->bare_concrete_function->concrete_function_name));
			if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_CAPTURED_TENSOR)
				assert_non_null(find_fn(gd, o->captured_tensor->concrete_function));
		}
	}
}

/* Packed bytes of a message (caller frees). */
static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(msg);
	uint8_t *b = malloc(*len ? *len : 1);
	assert_non_null(b);
	protobuf_c_message_pack(msg, b);
	return b;
}

static int same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t la, lb;
	uint8_t *x = pack(a, &la), *y = pack(b, &lb);
	int same = la == lb && !memcmp(x, y, la);
	free(x);
	free(y);
	return same;
}

/* Count of the top-level nodes of all meta graphs. */
static size_t n_nodes(const tfshrink_model *m)
{
	size_t n = 0;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++)
		n += m->sm->meta_graphs[g]->graph_def ? m->sm->meta_graphs[g]->graph_def->n_node : 0;
	return n;
}

static int names_node(const Tensorflow__GraphDef *gd, const char *ref)
{
	char node[1024];
	snprintf(node, sizeof node, "%.*s", (int)strcspn(ref + (ref[0] == '^'), ":"), ref + (ref[0] == '^'));
	return tfs_nodes_find(tfs_graph_nodes((Tensorflow__GraphDef *)gd), node) != NULL;
}

/* A pruned TF1 graph: every node it keeps is the input's node unchanged but
 * for colocations; every input, signature tensor, saver name and node_list
 * entry still names a node; every VariableDef's names resolve. */
static void check_tf1_nodes(const Tensorflow__MetaGraphDef *mg, const Tensorflow__GraphDef *go)
{
	const Tensorflow__GraphDef *gd = mg->graph_def;
	assert_true(gd->n_node <= go->n_node);
	for (size_t i = 0; i < gd->n_node; i++) {
		const Tensorflow__NodeDef *nd = gd->node[i];
		const Tensorflow__NodeDef *o = tfs_nodes_find(tfs_graph_nodes((Tensorflow__GraphDef *)go), nd->name);
		assert_non_null(o);
		assert_string_equal(nd->op, o->op);
		assert_int_equal(nd->n_input, o->n_input);
		for (size_t k = 0; k < nd->n_input; k++)
			if (!names_node(gd, nd->input[k]))
				fail_msg("node '%s' reads '%s', which is gone", nd->name, nd->input[k]);
	}
	for (size_t s = 0; s < mg->n_signature_def; s++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
		for (size_t k = 0; sd && k < sd->n_inputs + sd->n_outputs; k++) {
			const Tensorflow__TensorInfo *t =
				k < sd->n_inputs ? sd->inputs[k]->value : sd->outputs[k - sd->n_inputs]->value;
			if (t->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME && t->name[0] && !names_node(gd, t->name))
				fail_msg("signature '%s' names '%s', which is gone", mg->signature_def[s]->key, t->name);
		}
	}
	if (mg->saver_def) {
		assert_true(names_node(gd, mg->saver_def->restore_op_name));
		assert_true(names_node(gd, mg->saver_def->filename_tensor_name));
	}
	for (size_t c = 0; c < mg->n_collection_def; c++) {
		const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST)
			for (size_t k = 0; k < cd->node_list->n_value; k++)
				assert_true(names_node(gd, cd->node_list->value[k]));
		if (cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST || strstr(mg->collection_def[c]->key, "context"))
			continue;
		for (size_t k = 0; k < cd->bytes_list->n_value; k++) {
			Tensorflow__VariableDef *vd =
				tensorflow__variable_def__unpack(NULL, cd->bytes_list->value[k].len, cd->bytes_list->value[k].data);
			if (!vd)
				continue;
			const char *names[3] = { vd->variable_name, vd->initializer_name, vd->snapshot_name };
			for (int j = 0; j < 3; j++)
				if (names[j] && names[j][0] && !names_node(gd, names[j]))
					fail_msg("VariableDef names '%s', which is gone", names[j]);
			tensorflow__variable_def__free_unpacked(vd, NULL);
		}
	}
}

/* Kept functions are untouched; every signature's call node still calls the
 * function it called. */
static void check_functions_untouched(const tfshrink_model *orig, const tfshrink_model *m)
{
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__GraphDef *gd = m->sm->meta_graphs[g]->graph_def;
		const Tensorflow__GraphDef *go = orig->sm->meta_graphs[g]->graph_def;
		for (size_t f = 0; gd && gd->library && f < gd->library->n_function; f++) {
			const Tensorflow__FunctionDef *fd = gd->library->function[f];
			const Tensorflow__FunctionDef *fo = find_fn(go, fd->signature->name);
			assert_non_null(fo);
			if (!same_message(&fd->base, &fo->base))
				fail_msg("function '%s' changed", fd->signature->name);
		}
		if (!gd)
			continue;
		const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		if (mg->object_graph_def)
			assert_int_equal(gd->n_node, go->n_node);
		else
			check_tf1_nodes(mg, go);
		for (size_t s = 0; s < mg->n_signature_def; s++) {
			const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
			for (size_t k = 0; sd && k < sd->n_outputs; k++) {
				const char *t = sd->outputs[k]->value->name;
				if (!t || !t[0])
					continue;
				char node[512];
				snprintf(node, sizeof node, "%.*s", (int)strcspn(t, ":"), t);
				const Tensorflow__NodeDef *nd = tfs_nodes_find(tfs_graph_nodes((Tensorflow__GraphDef *)gd), node);
				if (!nd)
					continue; /* outputs inside a TF1 graph may be named by a tensor of another op */
				const char *callee = tfs_node_callee(nd);
				if (callee && tfs_model_function(orig, callee) && g == 0)
					assert_non_null(find_fn(gd, callee));
			}
		}
	}
}

/* Checkpoint nodes that hold values, and bundle entries: prune removes none. */
static size_t ckpt_value_nodes(const tfshrink_model *m)
{
	size_t k = 0;
	for (size_t i = 0; m->ckpt_graph && i < m->ckpt_graph->n_nodes; i++)
		k += m->ckpt_graph->nodes[i]->n_attributes > 0;
	return k;
}

static void check_no_values_lost(const tfshrink_model *m, size_t value_nodes_before)
{
	for (size_t i = 0; m->bundle && i < m->bundle->n; i++)
		if (tfs_model_entry_removed(m, i))
			fail_msg("bundle entry '%s' was removed", (const char *)m->bundle->e[i].key);
	assert_int_equal(ckpt_value_nodes(m), value_nodes_before);
}

/* Every variable object is reachable from the root (children and slots). */
static void check_variables_reachable(const tfshrink_model *m)
{
	const Tensorflow__SavedObjectGraph *og = mg0(m)->object_graph_def;
	if (!og || og->n_nodes == 0)
		return;
	size_t n = og->n_nodes;
	uint8_t *seen = calloc(n, 1);
	size_t *q = malloc(n * sizeof *q);
	size_t h = 0, t = 0;
	seen[0] = 1;
	q[t++] = 0;
	while (h < t) {
		const Tensorflow__SavedObject *o = og->nodes[q[h++]];
		for (size_t k = 0; k < o->n_children + o->n_slot_variables; k++) {
			int32_t c = k < o->n_children ? o->children[k]->node_id
			                              : o->slot_variables[k - o->n_children]->slot_variable_node_id;
			if (!seen[c]) {
				seen[c] = 1;
				q[t++] = (size_t)c;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (og->nodes[i]->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE && !seen[i])
			fail_msg("variable object %zu (%s) is not reachable from the root", i, og->nodes[i]->variable->name);
	free(seen);
	free(q);
}

/* The root's "signatures" map keeps its children. */
static size_t signature_children(const tfshrink_model *m)
{
	const Tensorflow__SavedObjectGraph *og = mg0(m)->object_graph_def;
	if (!og || og->n_nodes == 0)
		return 0;
	const Tensorflow__SavedObject *root = og->nodes[0];
	for (size_t k = 0; k < root->n_children; k++)
		if (!strcmp(root->children[k]->local_name, "signatures"))
			return og->nodes[root->children[k]->node_id]->n_children;
	return 0;
}

/* ------------------------------------------------------------- tests */

typedef struct totals {
	size_t models, fns_before, fns_after, objs_before, objs_after, nodes_before, nodes_after;
} totals;

static void prune_one(const char *dir, totals *tt)
{
	tfshrink_model *orig = tu_open(dir, 0);
	tfshrink_model *m = tu_open(dir, 0);
	size_t fb = n_functions(m), ob = n_objects(m), nb = n_nodes(m), vb = ckpt_value_nodes(m), sb = signature_children(m);
	/* A few real models fail the loader checks as they are (e.g. a graph that
	 * restores variables the model does not ship): prune them, check what
	 * does not need a loadable model, and write nothing. */
	int loadable = tfs_model_verify(m) == 0;
	char pre[512] = "";
	if (!loadable) {
		snprintf(pre, sizeof pre, "%s", tfshrink_error_last()->message);
		print_message("%s: input fails verify (%s); not written\n", tu_base(dir), pre);
	}
	uint64_t items = 0;
	char summary[256];
	if (tu_run_pass(&tfs_pass_prune, m, 0, &items, summary) != 0)
		fail_msg("%s: prune: %s", tu_base(dir), tfshrink_error_last()->message);
	if (loadable && tfs_model_verify(m) != 0)
		fail_msg("%s: verify after prune: %s", tu_base(dir), tfshrink_error_last()->message);
	/* (Dropping an unused broken function may also cure the defect.) */
	if (!loadable && tfs_model_verify(m) != 0 && strcmp(pre, tfshrink_error_last()->message))
		fail_msg("%s: prune changed the input's defect [%s] into [%s]", tu_base(dir), pre, tfshrink_error_last()->message);
	check_refs(m);
	check_functions_untouched(orig, m);
	check_no_values_lost(m, vb);
	check_variables_reachable(m);
	assert_int_equal(signature_children(m), sb);
	size_t fa = n_functions(m), oa = n_objects(m), na = n_nodes(m);
	assert_true(fa <= fb && oa <= ob && na <= nb);
	assert_int_equal(items, (fb - fa) + (ob - oa) + (nb - na) + (file_removed(m, "keras_metadata.pb") == 1));
	if (!strncmp(tu_base(dir), "keras2_", 7)) {
		if (fa >= fb || oa >= ob)
			fail_msg("%s: the Keras fixture did not shrink (%zu -> %zu functions, %zu -> %zu objects)", tu_base(dir), fb,
			         fa, ob, oa);
		assert_int_equal(file_removed(m, "keras_metadata.pb"), 1);
		assert_non_null(strstr(summary, "keras_metadata.pb"));
	}
	if (file_removed(m, "keras_metadata.pb") == 0)
		fail_msg("%s: keras_metadata.pb kept", tu_base(dir));

	tt->models++;
	tt->fns_before += fb;
	tt->fns_after += fa;
	tt->objs_before += ob;
	tt->objs_after += oa;
	tt->nodes_before += nb;
	tt->nodes_after += na;
	if (!loadable) {
		tfshrink_model_free(m);
		tfshrink_model_free(orig);
		return;
	}
	/* Write, reopen with checksums, and find the same model. */
	char *out;
	tfshrink_model *r = tu_write_reopen(m, tu_base(dir), &out);
	if (tfs_model_verify(r) != 0)
		fail_msg("%s: verify after reopening: %s", tu_base(dir), tfshrink_error_last()->message);
	assert_int_equal(n_functions(r), fa);
	assert_int_equal(n_objects(r), oa);
	assert_int_equal(n_nodes(r), na);
	assert_int_equal(ckpt_value_nodes(r), vb);
	check_refs(r);
	/* A second prune finds nothing. */
	if (tu_run_pass(&tfs_pass_prune, r, 0, &items, summary) != 0)
		fail_msg("%s: second prune: %s", tu_base(dir), tfshrink_error_last()->message);
	if (items != 0)
		fail_msg("%s: a second prune still dropped %llu items: %s", tu_base(dir), (unsigned long long)items, summary);
	tfshrink_model_free(r);
	tfs_remove_tree(out);
	free(out);
	tfshrink_model_free(m);
	tfshrink_model_free(orig);
}

static void test_prune_all_models(void **state)
{
	(void)state;
	tu_models ml = tu_all_models();
	if (ml.n == 0) {
		tu_models_free(&ml);
		skip();
	}
	totals tt = { 0 };
	for (size_t i = 0; i < ml.n; i++)
		prune_one(ml.dir[i], &tt);
	print_message("%zu models: functions %zu -> %zu, objects %zu -> %zu, graph nodes %zu -> %zu\n", tt.models,
	              tt.fns_before, tt.fns_after, tt.objs_before, tt.objs_after, tt.nodes_before, tt.nodes_after);
	assert_true(tt.fns_after < tt.fns_before);
	tu_models_free(&ml);
}

static void test_keep_objects(void **state)
{
	(void)state;
	static const char *const names[] = { "keras2_mlp_adam", "keras2_cnn_bn_adam", "tf2_hashtable_vocab",
		                                 "tfmodule_multi_sig" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *dir = tu_fixture(names[i]);
		tfshrink_model *orig = tu_open(dir, 0);
		tfshrink_model *m = tu_open(dir, 0);
		uint64_t items = 1;
		char summary[256];
		assert_int_equal(tu_run_pass(&tfs_pass_prune, m, 1, &items, summary), 0);
		assert_int_equal(items, 0);
		assert_non_null(strstr(summary, "--keep-objects"));
		assert_int_equal(n_functions(m), n_functions(orig));
		assert_int_equal(n_objects(m), n_objects(orig));
		assert_true(same_message(&mg0(m)->object_graph_def->base, &mg0(orig)->object_graph_def->base));
		assert_true(same_message(&mg0(m)->graph_def->base, &mg0(orig)->graph_def->base));
		assert_int_not_equal(file_removed(m, "keras_metadata.pb"), 1);
		if (!strncmp(names[i], "keras2_", 7))
			assert_int_equal(file_removed(m, "keras_metadata.pb"), 0);
		tu_assert_verifies(m);
		tfshrink_model_free(m);
		tfshrink_model_free(orig);
		free(dir);
	}
}

/* The whole pipeline runs prune by default and reports it. */
static void test_shrink_reports_prune(void **state)
{
	(void)state;
	char *dir = tu_fixture("keras2_mlp_adam");
	tfshrink_model *m = tu_open(dir, 0);
	tfshrink_shrink_report *rep = tu_shrink(m, NULL);
	const tfshrink_pass_result *p = tu_pass_result(rep, "prune");
	assert_true(p->ran);
	assert_true(p->items > 0);
	assert_true(p->bytes_saved > 0);
	assert_non_null(strstr(p->summary, "keras_metadata.pb"));
	/* --no-prune maps to skipping the pass by name. */
	int idx = tfshrink_pass_find("prune");
	assert_true(idx >= 0);
	tfshrink_shrink_report_free(rep);
	tfshrink_model_free(m);
	m = tu_open(dir, 0);
	tfshrink_shrink_options so = TFSHRINK_SHRINK_OPTIONS_INIT;
	so.skip = (uint64_t)1 << idx;
	assert_int_equal(tfshrink_model_shrink(m, &so, &rep), 0);
	assert_int_equal(file_removed(m, "keras_metadata.pb"), 0);
	tfshrink_shrink_report_free(rep);
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------- hand-made library functions */

/* A function whose body is one node of op `op` (NULL: empty body). */
static Tensorflow__FunctionDef *mk_fn(const char *name, Tensorflow__NodeDef *body)
{
	Tensorflow__FunctionDef *f = malloc(sizeof *f);
	tensorflow__function_def__init(f);
	f->signature = malloc(sizeof *f->signature);
	tensorflow__op_def__init(f->signature);
	f->signature->name = strdup(name);
	if (body) {
		f->node_def = malloc(sizeof *f->node_def);
		f->node_def[f->n_node_def++] = body;
	}
	return f;
}

static Tensorflow__FunctionDefLibrary *ensure_lib(Tensorflow__GraphDef *gd)
{
	if (!gd->library) {
		gd->library = malloc(sizeof *gd->library);
		tensorflow__function_def_library__init(gd->library);
	}
	return gd->library;
}

static void lib_add(Tensorflow__FunctionDefLibrary *lib, Tensorflow__FunctionDef *f)
{
	lib->function = realloc(lib->function, (lib->n_function + 1) * sizeof *lib->function);
	lib->function[lib->n_function++] = f;
}

static void lib_add_gradient(Tensorflow__FunctionDefLibrary *lib, const char *fn, const char *grad)
{
	Tensorflow__GradientDef *g = malloc(sizeof *g);
	tensorflow__gradient_def__init(g);
	g->function_name = strdup(fn);
	g->gradient_func = strdup(grad);
	lib->gradient = realloc(lib->gradient, (lib->n_gradient + 1) * sizeof *lib->gradient);
	lib->gradient[lib->n_gradient++] = g;
}

static void lib_add_registered(Tensorflow__FunctionDefLibrary *lib, const char *op_type, const char *grad)
{
	Tensorflow__RegisteredGradient *g = malloc(sizeof *g);
	tensorflow__registered_gradient__init(g);
	g->registered_op_type = strdup(op_type);
	g->gradient_func = strdup(grad);
	lib->registered_gradients =
		realloc(lib->registered_gradients, (lib->n_registered_gradients + 1) * sizeof *lib->registered_gradients);
	lib->registered_gradients[lib->n_registered_gradients++] = g;
}

/* Adds to a model's first graph: a top-level node calling "kept_fn" through
 * attr f, a call chain kept_fn -> (op) inner_fn -> (While body, nested in a
 * list of funcs) deep_fn, gradients for kept and orphan functions, a
 * registered gradient used by inner_fn's node and one used by nobody. */
static void add_synthetic(tfshrink_model *m)
{
	Tensorflow__GraphDef *gd = mg0(m)->graph_def;
	Tensorflow__FunctionDefLibrary *lib = ensure_lib(gd);
	Tensorflow__NodeDef *caller = tu_node("synthetic_caller", "PartitionedCall");
	tu_add_attr(caller, "f", tu_func_attr("kept_fn"));
	gd->node = realloc(gd->node, (gd->n_node + 1) * sizeof *gd->node);
	gd->node[gd->n_node++] = caller;
	lib_add(lib, mk_fn("kept_fn", tu_node("call_inner", "inner_fn")));
	Tensorflow__NodeDef *loop = tu_node("loop", "While");
	Tensorflow__AttrValue *lst = malloc(sizeof *lst);
	tensorflow__attr_value__init(lst);
	lst->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
	lst->list = malloc(sizeof *lst->list);
	tensorflow__attr_value__list_value__init(lst->list);
	Tensorflow__AttrValue *outer = tu_func_attr("deep_fn");
	lst->list->func = malloc(sizeof *lst->list->func);
	lst->list->func[lst->list->n_func++] = outer->func; /* a list(func) holding deep_fn */
	outer->func = NULL;
	outer->value_case = TENSORFLOW__ATTR_VALUE__VALUE__NOT_SET;
	protobuf_c_message_free_unpacked(&outer->base, NULL);
	tu_add_attr(loop, "branches", lst);
	tu_add_attr(loop, "_gradient_op_type", tu_string_attr("CustomGradient-1"));
	lib_add(lib, mk_fn("inner_fn", loop));
	/* deep_fn's body names a function through a func attr nested in a func attr. */
	Tensorflow__NodeDef *nest = tu_node("nest", "StatefulPartitionedCall");
	Tensorflow__AttrValue *fa = tu_func_attr("leaf_caller_fn");
	Tensorflow__NameAttrList__AttrEntry *e = malloc(sizeof *e);
	tensorflow__name_attr_list__attr_entry__init(e);
	e->key = strdup("inner");
	e->value = tu_func_attr("leaf_fn");
	fa->func->attr = malloc(sizeof *fa->func->attr);
	fa->func->attr[fa->func->n_attr++] = e;
	tu_add_attr(nest, "f", fa);
	lib_add(lib, mk_fn("deep_fn", nest));
	lib_add(lib, mk_fn("leaf_caller_fn", NULL));
	lib_add(lib, mk_fn("leaf_fn", NULL));
	lib_add(lib, mk_fn("kept_grad_fn", NULL));
	lib_add_gradient(lib, "kept_fn", "kept_grad_fn");
	lib_add(lib, mk_fn("custom_grad_fn", NULL));
	lib_add_registered(lib, "CustomGradient-1", "custom_grad_fn");
	lib_add(lib, mk_fn("orphan_fn", tu_node("x", "orphan_callee_fn")));
	lib_add(lib, mk_fn("orphan_callee_fn", NULL));
	lib_add(lib, mk_fn("orphan_grad_fn", NULL));
	lib_add_gradient(lib, "orphan_fn", "orphan_grad_fn");
	lib_add(lib, mk_fn("unused_custom_grad_fn", NULL));
	lib_add_registered(lib, "CustomGradient-2", "unused_custom_grad_fn");
}

static void check_synthetic(const tfshrink_model *m)
{
	const Tensorflow__GraphDef *gd = mg0(m)->graph_def;
	static const char *const kept[] = { "kept_fn", "inner_fn", "deep_fn", "leaf_caller_fn", "leaf_fn", "kept_grad_fn",
		                                "custom_grad_fn" };
	static const char *const gone[] = { "orphan_fn", "orphan_callee_fn", "orphan_grad_fn", "unused_custom_grad_fn" };
	for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
		if (!find_fn(gd, kept[i]))
			fail_msg("'%s' was dropped", kept[i]);
	for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
		if (find_fn(gd, gone[i]))
			fail_msg("'%s' was kept", gone[i]);
	const Tensorflow__FunctionDefLibrary *lib = gd->library;
	assert_int_equal(lib->n_registered_gradients, 1);
	assert_string_equal(lib->registered_gradients[0]->gradient_func, "custom_grad_fn");
	size_t grads = 0;
	for (size_t k = 0; k < lib->n_gradient; k++)
		grads += !strcmp(lib->gradient[k]->function_name, "kept_fn");
	assert_int_equal(lib->n_gradient, 1);
	assert_int_equal(grads, 1);
	check_refs(m);
}

/* TF1 rule: functions nothing names go, and graph nodes nothing a loader or
 * a serving call runs needs (here with the training state still in:
 * the train_op collection keeps the training graph). */
static void test_tf1_library(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("tf1_adam_builder", 0);
	assert_null(mg0(m)->object_graph_def);
	add_synthetic(m);
	/* its caller is a root as an entry of a collection prune does not know */
	Tensorflow__MetaGraphDef *mg = mg0(m);
	Tensorflow__MetaGraphDef__CollectionDefEntry *e = malloc(sizeof *e);
	Tensorflow__CollectionDef *cd = malloc(sizeof *cd);
	Tensorflow__CollectionDef__NodeList *nl = malloc(sizeof *nl);
	assert_true(e && cd && nl);
	tensorflow__meta_graph_def__collection_def_entry__init(e);
	tensorflow__collection_def__init(cd);
	tensorflow__collection_def__node_list__init(nl);
	nl->n_value = 1;
	nl->value = malloc(sizeof *nl->value);
	assert_non_null(nl->value);
	nl->value[0] = tfs_strdup("synthetic_caller");
	cd->kind_case = TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST;
	cd->node_list = nl;
	e->key = tfs_strdup("my_roots");
	e->value = cd;
	mg->collection_def = realloc(mg->collection_def, (mg->n_collection_def + 1) * sizeof *mg->collection_def);
	assert_non_null(mg->collection_def);
	mg->collection_def[mg->n_collection_def++] = e;
	size_t nodes = mg0(m)->graph_def->n_node;
	uint64_t items = 0;
	char summary[256];
	assert_int_equal(tu_run_pass(&tfs_pass_prune, m, 0, &items, summary), 0);
	size_t gone = nodes - mg0(m)->graph_def->n_node;
	assert_int_equal(gone, 27);
	assert_int_equal(items, 4 + gone);
	assert_string_equal(summary, "dropped 27 graph nodes, 4 functions");
	check_synthetic(m);
	tfs_nodes top = tfs_graph_nodes(mg0(m)->graph_def);
	const char *dropped[] = { "init", "init_all_tables_1", "gradients/add_grad/Shape",
		                  "model/emb/IsInitialized/VarIsInitializedOp" };
	for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++)
		if (tfs_nodes_find(top, dropped[i]))
			fail_msg("'%s' was kept", dropped[i]);
	const char *kept[] = { "save/restore_all", "model/w/Adam", "model/w/Assign", "model/w/read", "train",
		               "text_file_init/InitializeTableFromTextFileV2" };
	for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
		if (!tfs_nodes_find(top, kept[i]))
			fail_msg("'%s' was dropped", kept[i]);
	tfshrink_model_free(m);
}

/* A TF1 meta graph without a serving signature is used by tensor names:
 * its nodes stay. */
static void test_tf1_without_signature(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("tf1_ref_mlp", 0);
	Tensorflow__MetaGraphDef *mg = mg0(m);
	size_t nodes = mg->graph_def->n_node;
	for (size_t s = 0; s < mg->n_signature_def; s++)
		protobuf_c_message_free_unpacked(&mg->signature_def[s]->base, NULL);
	mg->n_signature_def = 0;
	uint64_t items = 0;
	char summary[256];
	assert_int_equal(tu_run_pass(&tfs_pass_prune, m, 0, &items, summary), 0);
	assert_int_equal(mg->graph_def->n_node, nodes);
	int noted = 0;
	for (size_t i = 0; i < m->n_notes; i++)
		noted |= strstr(m->notes[i], "keeps every node: it has no serving signature") != NULL;
	assert_true(noted);
	tfshrink_model_free(m);
}

/* TF2: the same bookkeeping, and --keep-objects still drops only what nothing names. */
static void test_tf2_library(void **state)
{
	(void)state;
	for (int keep = 0; keep < 2; keep++) {
		tfshrink_model *m = tu_open_fixture("keras3_export", 0);
		size_t objs = n_objects(m);
		add_synthetic(m);
		uint64_t items = 0;
		assert_int_equal(tu_run_pass(&tfs_pass_prune, m, keep, &items, NULL), 0);
		check_synthetic(m);
		if (keep)
			assert_int_equal(n_objects(m), objs);
		else
			assert_true(n_objects(m) < objs);
		tu_assert_verifies(m);
		tfshrink_model_free(m);
	}
}

/* keras3_export: the variables tracked a second time under `_all_variables`
 * hold checkpoint values, so they stay; the `serve` function object goes. */
static void test_keras3_keeps_values(void **state)
{
	(void)state;
	char *dir = tu_fixture("keras3_export");
	tfshrink_model *m = tu_open(dir, 0);
	assert_int_equal(tu_run_pass(&tfs_pass_prune, m, 0, NULL, NULL), 0);
	const Tensorflow__SavedObjectGraph *og = mg0(m)->object_graph_def;
	size_t vars = 0, fns = 0;
	for (size_t i = 0; i < og->n_nodes; i++) {
		vars += og->nodes[i]->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE;
		fns += og->nodes[i]->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION;
	}
	assert_int_equal(vars, 12);
	assert_int_equal(fns, 0);
	const Tensorflow__SavedObject *root = og->nodes[0];
	for (size_t k = 0; k < root->n_children; k++)
		assert_string_not_equal(root->children[k]->local_name, "serve");
	assert_true(tu_ends_with(dir, "keras3_export"));
	tfshrink_model_free(m);
	free(dir);
}

/* tf2_hashtable_vocab: the table resource with its init functions, the asset
 * and the captured constant stay; the `lookup` method object goes. */
static void test_hashtable_keeps_resource(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("tf2_hashtable_vocab", 0);
	assert_int_equal(tu_run_pass(&tfs_pass_prune, m, 0, NULL, NULL), 0);
	const Tensorflow__SavedObjectGraph *og = mg0(m)->object_graph_def;
	size_t res = 0, assets = 0, consts = 0;
	for (size_t i = 0; i < og->n_nodes; i++) {
		const Tensorflow__SavedObject *o = og->nodes[i];
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_RESOURCE) {
			res++;
			size_t found = 0;
			for (size_t k = 0; k < o->n_children; k++)
				found += !strcmp(o->children[k]->local_name, "_create_resource") ||
				         !strcmp(o->children[k]->local_name, "_initialize") ||
				         !strcmp(o->children[k]->local_name, "_destroy_resource");
			assert_int_equal(found, 3);
		}
		assets += o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_ASSET;
		consts += o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_CONSTANT;
	}
	assert_int_equal(res, 1);
	assert_int_equal(assets, 1);
	assert_int_equal(consts, 1);
	assert_non_null(tfs_model_function(m, "__inference__initializer_67"));
	assert_non_null(tfs_model_function(m, "__inference__creator_61"));
	assert_non_null(tfs_model_function(m, "__inference__destroyer_71"));
	assert_null(tfs_model_function(m, "__inference_lookup_57"));
	tfshrink_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_prune_all_models),
		cmocka_unit_test(test_keep_objects),
		cmocka_unit_test(test_shrink_reports_prune),
		cmocka_unit_test(test_tf1_library),
		cmocka_unit_test(test_tf1_without_signature),
		cmocka_unit_test(test_tf2_library),
		cmocka_unit_test(test_keras3_keeps_values),
		cmocka_unit_test(test_hashtable_keeps_resource),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
