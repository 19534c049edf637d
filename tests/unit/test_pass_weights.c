/* test_pass_weights.c - the weights pass: on a Keras fixture every selected
 * variable changes dtype everywhere it lives (bundle entry, SavedVariable,
 * VarHandleOp and its top-level read, function handle data, reads in the
 * layer functions, the traced save/restore functions), each read is followed
 * by a Cast to float32 (and a Mul by a scale Const for int8) that takes over
 * all its consumers, the output reopens with verified checksums; selection
 * (regexes, minimum size), the float16 range guard, NaN/Inf for int8,
 * all-zero tensors, --min-sqnr, TF1 resource and reference variables,
 * handles passed into If / While (top level and in functions), the graph's
 * type consistency after the rewrite, refusal reasons and version-1
 * options. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "dtype.h"
#include "fsutil.h"
#include "graph.h"
#include "model_internal.h"
#include "saver.h"
#include "tfshrink.h"

static char *g_tmp;

static int setup(void **state)
{
	(void)state;
	g_tmp = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tfs_remove_tree(g_tmp);
	free(g_tmp);
	g_tmp = NULL;
	return 0;
}

static tfshrink_model *open_fixture(const char *name, int verify)
{
	char *dir = tu_fixture(name);
	tfshrink_open_options o = TFSHRINK_OPEN_OPTIONS_INIT;
	o.verify_crc = verify;
	tfshrink_model *m = NULL;
	if (tfshrink_model_open(&m, dir, &o) < 0)
		fail_msg("open %s: %s", dir, tfshrink_error_last()->message);
	free(dir);
	return m;
}

static tfshrink_shrink_report *shrink(tfshrink_model *m, const tfshrink_shrink_options *o)
{
	tfshrink_shrink_report *r = NULL;
	if (tfshrink_model_shrink(m, o, &r) < 0)
		fail_msg("shrink: %s", tfshrink_error_last()->message);
	return r;
}

static const tfshrink_weight_result *result(const tfshrink_shrink_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_weights; i++)
		if (!strcmp(r->weights[i].name, name) || !strcmp(r->weights[i].key, name))
			return &r->weights[i];
	fail_msg("no weight result for %s", name);
	return NULL;
}

static int type_attr(const Tensorflow__NodeDef *n, const char *key)
{
	const Tensorflow__AttrValue *a = tfs_node_attr(n, key);
	return a && a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE ? (int)a->type : -1;
}

static int count_dtype_in_list(const Tensorflow__AttrValue *a, int dt)
{
	int n = 0;
	for (size_t i = 0; a && a->list && i < a->list->n_type; i++)
		n += (int)a->list->type[i] == dt;
	return n;
}

/* Checks the rewritten graph of a model whose weights went to dtype dt;
 * returns the number of dequantizing Casts found. */
static int check_graph(tfshrink_model *m, const tfshrink_shrink_report *r, int dt, int int8)
{
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	Tensorflow__GraphDef *g = mg->graph_def;
	size_t nq = 0;
	for (size_t i = 0; i < r->n_weights; i++) {
		const tfshrink_weight_result *w = &r->weights[i];
		if (!w->quantized)
			continue;
		nq++;
		assert_int_equal(w->dtype, dt);
		/* bundle entry */
		const tfs_bundle_entry *e = tfs_bundle_find(m->bundle, w->key, strlen(w->key));
		assert_non_null(e);
		const tfs_entry_edit *ed = &m->edits[e - m->bundle->e];
		assert_non_null(ed->entry);
		assert_int_equal((int)ed->entry->dtype, dt);
		assert_int_equal(ed->data_len, w->elements * (int8 ? 1 : 2));
		/* top-level handle and its read */
		Tensorflow__NodeDef *h = tfs_nodes_find(tfs_graph_nodes(g), w->name);
		assert_non_null(h);
		assert_string_equal(h->op, "VarHandleOp");
		assert_int_equal(type_attr(h, "dtype"), dt);
		char rd[512];
		snprintf(rd, sizeof rd, "%s/Read/ReadVariableOp", w->name);
		Tensorflow__NodeDef *rn = tfs_nodes_find(tfs_graph_nodes(g), rd);
		if (rn)
			assert_int_equal(type_attr(rn, "dtype"), dt);
	}
	assert_true(nq > 0);
	/* SavedVariable dtypes */
	size_t nvar = 0;
	for (size_t i = 0; i < mg->object_graph_def->n_nodes; i++) {
		const Tensorflow__SavedObject *o = mg->object_graph_def->nodes[i];
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE && (int)o->variable->dtype == dt)
			nvar++;
	}
	assert_int_equal(nvar, nq);
	/* traced saver */
	tfs_traced_saver sv;
	assert_int_equal(tfs_traced_saver_find(m, &sv), 0);
	assert_non_null(sv.save_fn);
	assert_non_null(sv.restore_fn);
	int restores = 0, saves = 0, assigns = 0;
	for (size_t i = 0; i < sv.restore_fn->n_node_def; i++) {
		const Tensorflow__NodeDef *n = sv.restore_fn->node_def[i];
		if (!strcmp(n->op, "RestoreV2"))
			restores += count_dtype_in_list(tfs_node_attr(n, "dtypes"), dt);
		if (!strcmp(n->op, "AssignVariableOp"))
			assigns += type_attr(n, "dtype") == dt;
	}
	for (size_t i = 0; i < sv.save_fn->n_node_def; i++) {
		const Tensorflow__NodeDef *n = sv.save_fn->node_def[i];
		if (!strcmp(n->op, "SaveV2"))
			saves += count_dtype_in_list(tfs_node_attr(n, "dtypes"), dt);
	}
	assert_int_equal(restores, (int)nq);
	assert_int_equal(assigns, (int)nq);
	assert_int_equal(saves, (int)nq);
	/* every read of a quantized variable outside the saver is converted back */
	int casts = 0;
	for (size_t f = 0; f < g->library->n_function; f++) {
		Tensorflow__FunctionDef *fd = g->library->function[f];
		if (fd == sv.save_fn || fd == sv.restore_fn)
			continue;
		for (size_t a = 0; a < fd->signature->n_input_arg; a++) {
			const Tensorflow__OpDef__ArgDef *arg = fd->signature->input_arg[a];
			if (arg->type == TENSORFLOW__DATA_TYPE__DT_RESOURCE && arg->n_handle_data)
				assert_true((int)arg->handle_data[0]->dtype == dt || (int)arg->handle_data[0]->dtype == TFS_DT_FLOAT);
		}
		tfs_nodes l = tfs_function_nodes(fd);
		for (size_t i = 0; i < fd->n_node_def; i++) {
			const Tensorflow__NodeDef *n = fd->node_def[i];
			if (strcmp(n->op, "ReadVariableOp") || type_attr(n, "dtype") != dt)
				continue;
			char out[512];
			snprintf(out, sizeof out, "%s:value:0", n->name);
			int users = 0;
			const Tensorflow__NodeDef *cast = NULL;
			for (size_t k = 0; k < *l.n; k++)
				for (size_t q = 0; q < (*l.v)[k]->n_input; q++)
					if (!strcmp((*l.v)[k]->input[q], out)) {
						users++;
						cast = (*l.v)[k];
					}
			for (size_t k = 0; k < fd->n_ret; k++)
				assert_string_not_equal(fd->ret[k]->value, out);
			assert_int_equal(users, 1);
			assert_string_equal(cast->op, "Cast");
			assert_int_equal(type_attr(cast, "SrcT"), dt);
			assert_int_equal(type_attr(cast, "DstT"), TFS_DT_FLOAT);
			const Tensorflow__AttrValue *tr = tfs_node_attr(cast, "Truncate");
			assert_non_null(tr);
			assert_false(tr->b);
			assert_non_null(tfs_node_attr(cast, "_output_shapes"));
			casts++;
			if (int8) {
				/* Cast -> Mul(cast, scale Const) */
				char cy[512];
				snprintf(cy, sizeof cy, "%s:y:0", cast->name);
				const Tensorflow__NodeDef *mul = NULL;
				for (size_t k = 0; k < *l.n; k++)
					for (size_t q = 0; q < (*l.v)[k]->n_input; q++)
						if (!strcmp((*l.v)[k]->input[q], cy))
							mul = (*l.v)[k];
				assert_non_null(mul);
				assert_string_equal(mul->op, "Mul");
				assert_int_equal(mul->n_input, 2);
				char sname[512];
				snprintf(sname, sizeof sname, "%.*s", (int)strcspn(mul->input[1], ":"), mul->input[1]);
				const Tensorflow__NodeDef *sc = tfs_nodes_find(l, sname);
				assert_non_null(sc);
				assert_string_equal(sc->op, "Const");
				const Tensorflow__AttrValue *v = tfs_node_attr(sc, "value");
				assert_non_null(v);
				assert_int_equal((int)v->tensor->dtype, TFS_DT_FLOAT);
				/* one scale per index of one axis k of the kernel: shape
				 * [d_k, 1, ...] with a 1 per later axis, so Mul broadcasts */
				const Tensorflow__AttrValue *os = tfs_node_attr(n, "_output_shapes");
				assert_non_null(os);
				const Tensorflow__TensorShapeProto *shp = os->list->shape[0];
				size_t rs = v->tensor->tensor_shape->n_dim;
				assert_true(rs >= 1 && rs <= shp->n_dim);
				int64_t d = shp->dim[shp->n_dim - rs]->size;
				assert_int_equal(v->tensor->tensor_shape->dim[0]->size, d);
				for (size_t k = 1; k < rs; k++)
					assert_int_equal(v->tensor->tensor_shape->dim[k]->size, 1);
				assert_int_equal(v->tensor->tensor_content.len, 4 * (size_t)d);
				const float *s = (const float *)v->tensor->tensor_content.data;
				for (int64_t k = 0; k < d; k++)
					assert_true(s[k] > 0 && isfinite(s[k]));
			}
		}
	}
	return casts;
}

/* Dtype of the tensor a data input names in l, or -1 when this check does
 * not know the producer (function arguments, other ops). */
static int out_type(tfs_nodes l, const char *in)
{
	tfs_ref r;
	tfs_ref_parse(in, &r);
	char name[512];
	snprintf(name, sizeof name, "%.*s", (int)r.name_len, r.name);
	const Tensorflow__NodeDef *n = tfs_nodes_find(l, name);
	if (!n)
		return -1;
	if (!strcmp(n->op, "VariableV2") || !strcmp(n->op, "ReadVariableOp") || !strcmp(n->op, "ResourceGather") ||
	    !strcmp(n->op, "Const"))
		return type_attr(n, "dtype");
	if (!strcmp(n->op, "Identity") || !strcmp(n->op, "Mul"))
		return type_attr(n, "T");
	if (!strcmp(n->op, "Cast"))
		return type_attr(n, "DstT");
	if (!strcmp(n->op, "RestoreV2")) {
		const char *colon = strrchr(r.port, ':');
		size_t k = colon ? (size_t)atoi(colon + 1) : 0;
		const Tensorflow__AttrValue *d = tfs_node_attr(n, "dtypes");
		return d && d->list && k < d->list->n_type ? (int)d->list->type[k] : -1;
	}
	return -1;
}

/* Dtype input q of n must have, or -1 when this check does not know n. */
static int in_type(const Tensorflow__NodeDef *n, size_t q)
{
	if (!strcmp(n->op, "Cast"))
		return type_attr(n, "SrcT");
	if (!strcmp(n->op, "Identity") || !strcmp(n->op, "Assign") || !strcmp(n->op, "Mul") || !strcmp(n->op, "MatMul") ||
	    !strcmp(n->op, "AddV2"))
		return type_attr(n, "T");
	if (!strcmp(n->op, "IsVariableInitialized"))
		return type_attr(n, "dtype");
	if (!strcmp(n->op, "AssignVariableOp") && q == 1)
		return type_attr(n, "dtype");
	if (!strcmp(n->op, "GatherV2") && q == 0)
		return type_attr(n, "Tparams");
	if (!strcmp(n->op, "SaveV2") && q >= 3) {
		const Tensorflow__AttrValue *d = tfs_node_attr(n, "dtypes");
		return d && d->list && q - 3 < d->list->n_type ? (int)d->list->type[q - 3] : -1;
	}
	return -1;
}

/* Every data edge of l that carries dtype dt, or feeds an input that wants
 * it, joins an output and an input of that same dtype (TensorFlow's import
 * check; a ref output feeds a ref or plain input of its base type). Returns
 * how many such edges there are. */
static int check_types(tfs_nodes l, int dt)
{
	int edges = 0;
	for (size_t i = 0; i < *l.n; i++) {
		const Tensorflow__NodeDef *n = (*l.v)[i];
		for (size_t q = 0; q < n->n_input && n->input[q][0] != '^'; q++) {
			int src = out_type(l, n->input[q]), dst = in_type(n, q);
			if (src != dt && dst != dt)
				continue;
			if (src != dst)
				fail_msg("%s input %zu (%s): %d feeds %d", n->name, q, n->input[q], src, dst);
			edges++;
		}
	}
	return edges;
}

static void write_and_reopen(tfshrink_model *m, const tfshrink_shrink_report *r, const char *name, int dt)
{
	char *out = tfs_path_join(g_tmp, name);
	if (tfshrink_model_write(m, out, NULL) < 0)
		fail_msg("write: %s", tfshrink_error_last()->message);
	tfshrink_open_options o = TFSHRINK_OPEN_OPTIONS_INIT;
	o.verify_crc = 1;
	tfshrink_model *m2 = NULL;
	if (tfshrink_model_open(&m2, out, &o) < 0)
		fail_msg("reopen: %s", tfshrink_error_last()->message);
	for (size_t i = 0; i < r->n_weights; i++) {
		const tfshrink_weight_result *w = &r->weights[i];
		const tfs_bundle_entry *e = tfs_bundle_find(m2->bundle, w->key, strlen(w->key));
		assert_non_null(e);
		assert_int_equal((int)e->proto->dtype, w->quantized ? dt : TFS_DT_FLOAT);
		assert_int_equal((uint64_t)e->proto->size, w->quantized ? w->elements * (uint64_t)tfs_dtype_size(dt) : w->elements * 4);
		assert_int_equal(tfs_bundle_verify(m2->bundle, e), 0);
	}
	assert_int_equal(tfs_model_verify(m2), 0);
	tfshrink_model_free(m2);
	free(out);
}

static void test_fp16_everywhere(void **state)
{
	(void)state;
	tfshrink_model *m = open_fixture("keras2_mlp_adam", 1);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_FP16;
	o.min_elements = 100;
	tfshrink_shrink_report *r = shrink(m, &o);
	assert_int_equal(r->n_weights, 3); /* the three kernels; biases are smaller */
	for (size_t i = 0; i < r->n_weights; i++) {
		assert_true(r->weights[i].quantized);
		assert_string_equal(r->weights[i].scheme, "fp16");
		assert_int_equal(r->weights[i].bytes_after * 2, r->weights[i].bytes_before);
		assert_true(r->weights[i].sqnr_db > 60 && r->weights[i].rel_rms_err < 1e-3);
	}
	assert_true(check_graph(m, r, TFS_DT_HALF, 0) >= 3);
	write_and_reopen(m, r, "fp16", TFS_DT_HALF);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_bf16(void **state)
{
	(void)state;
	tfshrink_model *m = open_fixture("keras2_cnn_bn_adam", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_BF16;
	o.min_elements = 64;
	tfshrink_shrink_report *r = shrink(m, &o);
	assert_true(r->n_weights >= 2);
	assert_true(check_graph(m, r, TFS_DT_BFLOAT16, 0) >= 2);
	write_and_reopen(m, r, "bf16", TFS_DT_BFLOAT16);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_int8_per_channel(void **state)
{
	(void)state;
	tfshrink_model *m = open_fixture("keras2_mlp_adam", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_elements = 100;
	o.channel_axis = TFSHRINK_AXIS_LAST;
	tfshrink_shrink_report *r = shrink(m, &o);
	assert_int_equal(r->n_weights, 3);
	const tfshrink_weight_result *w = result(r, "dense_2/kernel"); /* [64, 64] */
	assert_true(w->quantized);
	assert_string_equal(w->scheme, "int8/channel");
	assert_int_equal(w->axis, 1);
	assert_int_equal(w->bytes_after, 4096 + 64 * 4);
	assert_true(w->sqnr_db > 35 && w->sqnr_db < 60);
	assert_true(w->rel_rms_err > 0 && w->rel_rms_err < 0.02);
	assert_true(check_graph(m, r, TFS_DT_INT8, 1) >= 3);
	write_and_reopen(m, r, "int8", TFS_DT_INT8);

	/* The default picks, per tensor, the axis with the least error: never
	 * worse than the last axis, and its scales broadcast along that axis
	 * (check_graph). */
	tfshrink_model *m2 = open_fixture("keras2_mlp_adam", 0);
	o.channel_axis = TFSHRINK_AXIS_BEST;
	tfshrink_shrink_report *r2 = shrink(m2, &o);
	assert_int_equal(r2->n_weights, r->n_weights);
	int other_axis = 0;
	for (size_t i = 0; i < r->n_weights; i++) {
		const tfshrink_weight_result *a = &r->weights[i], *b = result(r2, a->name);
		assert_true(b->quantized);
		assert_true(b->axis >= 0);
		assert_true(b->sqnr_db >= a->sqnr_db);
		other_axis += b->axis != a->axis;
	}
	assert_true(other_axis > 0); /* else this test would not tell the two apart */
	assert_true(check_graph(m2, r2, TFS_DT_INT8, 1) >= 3);
	write_and_reopen(m2, r2, "int8-best", TFS_DT_INT8);
	tfshrink_shrink_report_free(r2);
	tfshrink_model_free(m2);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_int8_gather_per_row(void **state)
{
	(void)state;
	/* tfmodule_multi_sig reads w1 through ResourceGather: scales per row,
	 * gathered with the same indices before the Mul. */
	tfshrink_model *m = open_fixture("tfmodule_multi_sig", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_elements = 100;
	tfshrink_shrink_report *r = shrink(m, &o);
	const tfshrink_weight_result *w = result(r, "w1");
	assert_true(w->quantized);
	assert_string_equal(w->scheme, "int8/row");
	int gathers = 0;
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	for (size_t f = 0; f < g->library->n_function; f++)
		for (size_t i = 0; i < g->library->function[f]->n_node_def; i++) {
			const Tensorflow__NodeDef *n = g->library->function[f]->node_def[i];
			if (!strcmp(n->op, "ResourceGather") && type_attr(n, "dtype") == TFS_DT_INT8)
				gathers++;
			if (!strcmp(n->op, "GatherV2") && strstr(n->name, "dequantize"))
				assert_int_equal(type_attr(n, "Tparams"), TFS_DT_FLOAT);
		}
	assert_true(gathers >= 1);
	write_and_reopen(m, r, "int8row", TFS_DT_INT8);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_selection(void **state)
{
	(void)state;
	tfshrink_model *m = open_fixture("keras2_mlp_adam", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_FP16;
	o.min_elements = 100;
	o.exclude = "^dense_1/";
	o.include = "kernel";
	tfshrink_shrink_report *r = shrink(m, &o);
	const tfshrink_weight_result *w = result(r, "dense_1/kernel");
	assert_false(w->quantized);
	assert_int_equal(w->dtype, TFS_DT_FLOAT);
	assert_non_null(strstr(w->reason, "--exclude"));
	assert_true(result(r, "dense_2/kernel")->quantized);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);

	/* default minimum: 1024 elements (probs/kernel has 640) */
	m = open_fixture("keras2_mlp_adam", 0);
	tfshrink_shrink_options d = TFSHRINK_SHRINK_OPTIONS_INIT;
	d.weights = TFSHRINK_WEIGHTS_FP16;
	r = shrink(m, &d);
	assert_int_equal(r->n_weights, 2);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);

	/* a bad regex */
	m = open_fixture("keras2_mlp_adam", 0);
	o.include = "(";
	tfshrink_shrink_report *bad = NULL;
	tu_assert_error(tfshrink_model_shrink(m, &o, &bad), TFSHRINK_EINVAL, "--include");
	tfshrink_model_free(m);

	/* --min-sqnr above what int8 reaches keeps everything float32 */
	m = open_fixture("keras2_mlp_adam", 0);
	o.include = NULL;
	o.exclude = NULL;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_sqnr = 90;
	r = shrink(m, &o);
	for (size_t i = 0; i < r->n_weights; i++) {
		assert_false(r->weights[i].quantized);
		assert_non_null(strstr(r->weights[i].reason, "--min-sqnr"));
		assert_true(isfinite(r->weights[i].sqnr_db));
	}
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

/* Replaces the float32 bytes of the entry with key ending in `suffix`. */
static void poke(tfshrink_model *m, const char *suffix, float v0, float fill)
{
	for (size_t i = 0; i < m->bundle->n; i++) {
		const tfs_bundle_entry *e = &m->bundle->e[i];
		size_t kl = strlen((const char *)e->key), sl = strlen(suffix);
		if (kl < sl || strcmp((const char *)e->key + kl - sl, suffix))
			continue;
		uint64_t n = (uint64_t)e->elements;
		float *d = malloc(n * 4);
		assert_non_null(d);
		for (uint64_t k = 0; k < n; k++)
			d[k] = fill;
		d[0] = v0;
		size_t pn = tensorflow__bundle_entry_proto__get_packed_size(e->proto);
		uint8_t *buf = malloc(pn);
		tensorflow__bundle_entry_proto__pack(e->proto, buf);
		Tensorflow__BundleEntryProto *copy = tensorflow__bundle_entry_proto__unpack(NULL, pn, buf);
		free(buf);
		assert_int_equal(tfs_model_replace_entry(m, i, (uint8_t *)d, n * 4, copy), 0);
		return;
	}
	fail_msg("no key ending in %s", suffix);
}

static void test_guards(void **state)
{
	(void)state;
	/* fp16: a finite value beyond 65504 keeps the tensor float32; NaN/Inf are fine */
	tfshrink_model *m = open_fixture("keras2_mlp_adam", 0);
	poke(m, "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", 1e6f, 0.5f);
	poke(m, "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", NAN, 0.25f);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_FP16;
	tfshrink_shrink_report *r = shrink(m, &o);
	const tfshrink_weight_result *w = result(r, "dense_1/kernel");
	assert_false(w->quantized);
	assert_non_null(strstr(w->reason, "float16's range"));
	w = result(r, "dense_2/kernel");
	assert_true(w->quantized);
	assert_true(isinf(w->sqnr_db)); /* 0.25 and NaN are exact in float16 */
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);

	/* int8: NaN keeps float32; an all-zero tensor gets scale 1 and is exact */
	m = open_fixture("keras2_mlp_adam", 0);
	poke(m, "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", INFINITY, 0.5f);
	poke(m, "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", 0.0f, 0.0f);
	o.weights = TFSHRINK_WEIGHTS_INT8;
	r = shrink(m, &o);
	w = result(r, "dense_1/kernel");
	assert_false(w->quantized);
	assert_non_null(strstr(w->reason, "NaN or Inf"));
	w = result(r, "dense_2/kernel");
	assert_true(w->quantized);
	assert_true(w->max_abs_err == 0);
	int ones = 0;
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	for (size_t f = 0; f < g->library->n_function; f++)
		for (size_t i = 0; i < g->library->function[f]->n_node_def; i++) {
			const Tensorflow__NodeDef *n = g->library->function[f]->node_def[i];
			if (strcmp(n->op, "Const") || !strstr(n->name, "dequantize"))
				continue;
			const Tensorflow__AttrValue *v = tfs_node_attr(n, "value");
			const float *s = (const float *)v->tensor->tensor_content.data;
			size_t ns = v->tensor->tensor_content.len / 4;
			int all_one = ns > 0;
			for (size_t k = 0; k < ns; k++)
				all_one &= s[k] == 1.0f;
			ones += all_one;
		}
	assert_true(ones >= 1);
	write_and_reopen(m, r, "guards", TFS_DT_INT8);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_tf1_and_v1_options(void **state)
{
	(void)state;
	/* TF1: the resource variable (an embedding read through a top-level
	 * ResourceGather) is converted, and so are the reference variables once
	 * training-state-tf1 has removed Adam's updates. */
	tfshrink_model *m = open_fixture("tf1_adam_builder", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_elements = 2;
	tfshrink_shrink_report *r = shrink(m, &o);
	const tfshrink_weight_result *w = result(r, "model/emb");
	assert_true(w->quantized);
	assert_string_equal(w->scheme, "int8/row");
	w = result(r, "model/w");
	assert_true(w->quantized);
	assert_string_equal(w->scheme, "int8/channel");
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	int gather = 0, assign = 0, restore = 0;
	for (size_t i = 0; i < g->n_node; i++) {
		const Tensorflow__NodeDef *n = g->node[i];
		if (n->n_input < 1 || strcmp(n->input[0], "model/emb"))
			continue;
		gather += !strcmp(n->op, "ResourceGather") && type_attr(n, "dtype") == TFS_DT_INT8;
		assign += !strcmp(n->op, "AssignVariableOp") && type_attr(n, "dtype") == TFS_DT_INT8;
	}
	for (size_t i = 0; i < g->n_node; i++)
		if (!strcmp(g->node[i]->op, "RestoreV2"))
			restore += count_dtype_in_list(tfs_node_attr(g->node[i], "dtypes"), TFS_DT_INT8);
	assert_true(gather >= 1);
	assert_true(assign >= 2); /* the initializer (its value cast) and the saver's */
	assert_int_equal(restore, 3); /* emb, w and b */
	assert_true(check_types(tfs_graph_nodes(g), TFS_DT_INT8) > 0);
	write_and_reopen(m, r, "tf1", TFS_DT_INT8);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);

	/* A version-1 caller: no weights field is read, nothing is quantized. */
	m = open_fixture("keras2_mlp_adam", 0);
	tfshrink_shrink_options v1;
	memset(&v1, 0xff, sizeof v1);
	v1.version = 1;
	v1.skip = 0;
	v1.keep_objects = 0;
	v1.strip_shapes = 0;
	v1.drop_assets_extra = 0;
	r = shrink(m, &v1);
	assert_int_equal(r->n_weights, 0);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

/* Appends a node op(input) named name to l (enough for the pass to see a use). */
static void add_user(tfs_nodes l, const char *name, const char *op, const char *input)
{
	Tensorflow__NodeDef *n = malloc(sizeof *n);
	assert_non_null(n);
	tensorflow__node_def__init(n);
	n->name = strdup(name);
	n->op = strdup(op);
	n->input = malloc(sizeof *n->input);
	n->input[0] = strdup(input);
	n->n_input = 1;
	Tensorflow__NodeDef **v = realloc(*l.v, (*l.n + 1) * sizeof *v);
	assert_non_null(v);
	*l.v = v;
	v[(*l.n)++] = n;
}

static int count_ops(tfs_nodes l, const char *op, const char *attr, int dt)
{
	int k = 0;
	for (size_t i = 0; i < *l.n; i++)
		k += !strcmp((*l.v)[i]->op, op) && type_attr((*l.v)[i], attr) == dt;
	return k;
}

static void test_tf1_reference_variables(void **state)
{
	(void)state;
	/* tf1_ref_mlp: six VariableV2 (read through name/read, one also
	 * gathered straight from its ref output) and one resource variable read
	 * only in the then-branch of a top-level If. fp16 runs without prune,
	 * which would drop the IsVariableInitialized checks (ready_op). */
	const int modes[] = {TFSHRINK_WEIGHTS_FP16, TFSHRINK_WEIGHTS_INT8};
	const int dts[] = {TFS_DT_HALF, TFS_DT_INT8};
	for (int mi = 0; mi < 2; mi++) {
		int dt = dts[mi];
		tfshrink_model *m = open_fixture("tf1_ref_mlp", 0);
		tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
		o.weights = modes[mi];
		o.min_elements = 1;
		if (mi == 0)
			o.skip = (uint64_t)1 << tfshrink_pass_find("prune");
		tfshrink_shrink_report *r = shrink(m, &o);
		assert_int_equal(r->n_weights, 7);
		Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
		tfs_nodes top = tfs_graph_nodes(g);
		int refs = 0;
		for (size_t i = 0; i < r->n_weights; i++) {
			const tfshrink_weight_result *w = &r->weights[i];
			assert_true(w->quantized);
			assert_int_equal(w->dtype, dt);
			const Tensorflow__NodeDef *v = tfs_nodes_find(top, w->name);
			assert_non_null(v);
			assert_int_equal(type_attr(v, "dtype"), dt);
			if (strcmp(v->op, "VariableV2"))
				continue;
			refs++;
			if (dt == TFS_DT_INT8)
				assert_string_equal(w->scheme, strstr(w->name, "bias") ? "int8/tensor" : "int8/channel");
			char nm[512];
			snprintf(nm, sizeof nm, "%s/read", w->name);
			assert_int_equal(type_attr(tfs_nodes_find(top, nm), "T"), dt);
			/* the initializer stores a Cast of its value */
			snprintf(nm, sizeof nm, "%s/Assign", w->name);
			const Tensorflow__NodeDef *init = tfs_nodes_find(top, nm);
			assert_non_null(init);
			assert_int_equal(type_attr(init, "T"), dt);
			const Tensorflow__NodeDef *cast = tfs_nodes_find(top, init->input[1]);
			assert_non_null(cast);
			assert_string_equal(cast->op, "Cast");
			assert_int_equal(type_attr(cast, "SrcT"), TFS_DT_FLOAT);
			assert_int_equal(type_attr(cast, "DstT"), dt);
		}
		assert_int_equal(refs, 6);
		/* the saver: every key's dtype, the six restoring Assigns, the
		 * resource variable's AssignVariableOp; IsVariableInitialized */
		int restores = 0, saves = 0;
		for (size_t i = 0; i < *top.n; i++) {
			if (!strcmp((*top.v)[i]->op, "RestoreV2"))
				restores += count_dtype_in_list(tfs_node_attr((*top.v)[i], "dtypes"), dt);
			if (!strcmp((*top.v)[i]->op, "SaveV2"))
				saves += count_dtype_in_list(tfs_node_attr((*top.v)[i], "dtypes"), dt);
		}
		assert_int_equal(restores, 7);
		assert_int_equal(saves, 7);
		assert_int_equal(count_ops(top, "Assign", "T", dt), 12);
		assert_int_equal(count_ops(top, "Assign", "T", TFS_DT_FLOAT), 0);
		assert_int_equal(count_ops(top, "AssignVariableOp", "dtype", dt), 2);
		assert_int_equal(count_ops(top, "IsVariableInitialized", "dtype", dt), mi == 0 ? 6 : 0);
		/* the gather that read emb's ref directly reads a converted value */
		const Tensorflow__NodeDef *gather = tfs_nodes_find(top, "GatherV2");
		assert_non_null(gather);
		assert_int_equal(out_type(top, gather->input[0]), TFS_DT_FLOAT);
		const Tensorflow__NodeDef *direct = tfs_nodes_find(top, "emb/read_stored");
		assert_non_null(direct);
		assert_string_equal(direct->input[0], "emb");
		assert_int_equal(type_attr(direct, "T"), dt);
		/* every edge of the stored dtype type-checks */
		assert_true(check_types(top, dt) >= 6 * 5);
		/* the If's then-branch reads gate/kernel and converts the value */
		int branch_reads = 0;
		for (size_t f = 0; f < g->library->n_function; f++) {
			Tensorflow__FunctionDef *fd = g->library->function[f];
			tfs_nodes l = tfs_function_nodes(fd);
			check_types(l, dt);
			int reads = count_ops(l, "ReadVariableOp", "dtype", dt);
			if (reads) {
				assert_int_equal(count_ops(l, "Cast", "SrcT", dt), reads);
				assert_int_equal((int)fd->signature->input_arg[0]->handle_data[0]->dtype, dt);
			}
			branch_reads += reads;
		}
		assert_int_equal(branch_reads, 1);
		write_and_reopen(m, r, dt == TFS_DT_HALF ? "ref_fp16" : "ref_int8", dt);
		tfshrink_shrink_report_free(r);
		tfshrink_model_free(m);
	}
}

static void test_tf1_reference_refused(void **state)
{
	(void)state;
	/* Training ops need the ref itself: with the TF1 training state kept,
	 * ApplyAdam holds model/w, which stays float32 with the reason. */
	tfshrink_model *m = open_fixture("tf1_adam_builder", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_elements = 2;
	o.skip = (uint64_t)1 << tfshrink_pass_find("training-state-tf1");
	tfshrink_shrink_report *r = shrink(m, &o);
	const tfshrink_weight_result *w = result(r, "model/w");
	assert_false(w->quantized);
	assert_non_null(strstr(w->reason, "used at the top level by ApplyAdam"));
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	assert_int_equal(type_attr(tfs_nodes_find(tfs_graph_nodes(g), "model/w"), "dtype"), TFS_DT_FLOAT);
	assert_int_equal(type_attr(tfs_nodes_find(tfs_graph_nodes(g), "model/w/read"), "T"), TFS_DT_FLOAT);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);

	/* An Assign whose output (the ref again) feeds another op; an
	 * AssignAdd; a Ref* control-flow op. Others stay selected. */
	m = open_fixture("tf1_ref_mlp", 0);
	tfs_nodes top = tfs_graph_nodes(m->sm->meta_graphs[0]->graph_def);
	add_user(top, "probe/uses_assign", "Identity", "dense_1/kernel/Assign");
	add_user(top, "probe/assign_add", "AssignAdd", "dense_2/kernel");
	add_user(top, "probe/ref_switch", "RefSwitch", "emb:0");
	o = (tfshrink_shrink_options)TFSHRINK_SHRINK_OPTIONS_INIT;
	o.skip = (uint64_t)1 << tfshrink_pass_find("prune"); /* the probes feed nothing */
	o.weights = TFSHRINK_WEIGHTS_FP16;
	o.min_elements = 1;
	r = shrink(m, &o);
	w = result(r, "dense_1/kernel");
	assert_false(w->quantized);
	assert_non_null(strstr(w->reason, "the output of its Assign 'dense_1/kernel/Assign' is used"));
	w = result(r, "dense_2/kernel");
	assert_false(w->quantized);
	assert_string_equal(w->reason, "used at the top level by AssignAdd 'probe/assign_add'");
	w = result(r, "emb");
	assert_false(w->quantized);
	assert_string_equal(w->reason, "used at the top level by RefSwitch 'probe/ref_switch'");
	assert_true(result(r, "logits/kernel")->quantized);
	assert_true(result(r, "gate/kernel")->quantized);
	assert_int_equal(type_attr(tfs_nodes_find(top, "dense_1/kernel/read"), "T"), TFS_DT_FLOAT);
	assert_int_equal(type_attr(tfs_nodes_find(top, "GatherV2"), "Tparams"), TFS_DT_FLOAT);
	assert_string_equal(tfs_nodes_find(top, "GatherV2")->input[0], "emb");
	check_types(top, TFS_DT_HALF);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

/* Adds collection key = [node] to the first meta graph. */
static void add_node_collection(tfshrink_model *m, const char *key, const char *node)
{
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	Tensorflow__MetaGraphDef__CollectionDefEntry *e = malloc(sizeof *e);
	Tensorflow__CollectionDef *cd = malloc(sizeof *cd);
	Tensorflow__CollectionDef__NodeList *nl = malloc(sizeof *nl);
	Tensorflow__MetaGraphDef__CollectionDefEntry **v =
	    realloc(mg->collection_def, (mg->n_collection_def + 1) * sizeof *v);
	assert_true(e && cd && nl && v);
	tensorflow__meta_graph_def__collection_def_entry__init(e);
	tensorflow__collection_def__init(cd);
	tensorflow__collection_def__node_list__init(nl);
	nl->value = malloc(sizeof *nl->value);
	nl->value[0] = strdup(node);
	nl->n_value = 1;
	cd->kind_case = TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST;
	cd->node_list = nl;
	e->key = strdup(key);
	e->value = cd;
	mg->collection_def = v;
	v[mg->n_collection_def++] = e;
}

static void test_init_op_initializers(void **state)
{
	(void)state;
	/* An init op that re-runs initializers overwrites the restored values
	 * (serving_half_plus_two_gpu does): for int8 such an initializer stores
	 * Cast(ClipByValue(Round(value / scales), -127, 127)); the others (not
	 * run by any loader) a plain Cast. */
	tfshrink_model *m = open_fixture("tf1_ref_mlp", 0);
	tfs_nodes top = tfs_graph_nodes(m->sm->meta_graphs[0]->graph_def);
	add_user(top, "probe/init", "NoOp", "^dense_1/kernel/Assign");
	Tensorflow__NodeDef *init = tfs_nodes_find(top, "probe/init");
	init->input = realloc(init->input, 2 * sizeof *init->input);
	init->input[init->n_input++] = strdup("^gate/kernel/Assign");
	add_node_collection(m, "legacy_init_op", "probe/init");
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_elements = 1;
	tfshrink_shrink_report *r = shrink(m, &o);
	const char *run[] = {"dense_1/kernel/Assign", "gate/kernel/Assign"};
	for (int k = 0; k < 2; k++) {
		const Tensorflow__NodeDef *a = tfs_nodes_find(top, run[k]);
		const Tensorflow__NodeDef *cast = tfs_nodes_find(top, a->input[1]);
		assert_string_equal(cast->op, "Cast");
		assert_int_equal(type_attr(cast, "DstT"), TFS_DT_INT8);
		const Tensorflow__NodeDef *clip = tfs_nodes_find(top, cast->input[0]);
		assert_string_equal(clip->op, "ClipByValue");
		const Tensorflow__NodeDef *rnd = tfs_nodes_find(top, clip->input[0]);
		assert_string_equal(rnd->op, "Round");
		const Tensorflow__NodeDef *div = tfs_nodes_find(top, rnd->input[0]);
		assert_string_equal(div->op, "RealDiv");
		assert_string_equal(tfs_nodes_find(top, div->input[0])->op, "AddV2"); /* the initial value */
		const Tensorflow__NodeDef *sc = tfs_nodes_find(top, div->input[1]);
		assert_string_equal(sc->op, "Const");
		const Tensorflow__TensorProto *t = tfs_node_attr(sc, "value")->tensor;
		assert_int_equal(t->tensor_content.len, k == 0 ? 64 * 4 : 32 * 4); /* per output channel */
		const float *lo = (const float *)tfs_node_attr(tfs_nodes_find(top, clip->input[1]), "value")->tensor->tensor_content.data;
		const float *hi = (const float *)tfs_node_attr(tfs_nodes_find(top, clip->input[2]), "value")->tensor->tensor_content.data;
		assert_true(*lo == -127.0f && *hi == 127.0f);
	}
	const Tensorflow__NodeDef *other = tfs_nodes_find(top, "dense_2/kernel/Assign");
	const Tensorflow__NodeDef *cast = tfs_nodes_find(top, other->input[1]);
	assert_string_equal(cast->op, "Cast");
	assert_string_not_equal(tfs_nodes_find(top, cast->input[0])->op, "ClipByValue");
	check_types(top, TFS_DT_INT8);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_control_flow(void **state)
{
	(void)state;
	/* tf2_cond_while: w_pos and w_neg are read in the branches of two Ifs,
	 * w_loop in a While body that hands its handle back unchanged. */
	tfshrink_model *m = open_fixture("tf2_cond_while", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_elements = 100;
	tfshrink_shrink_report *r = shrink(m, &o);
	assert_int_equal(r->n_weights, 3);
	assert_true(check_graph(m, r, TFS_DT_INT8, 1) >= 3);
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	int loops = 0, branches = 0;
	for (size_t f = 0; f < g->library->n_function; f++) {
		Tensorflow__FunctionDef *fd = g->library->function[f];
		tfs_nodes l = tfs_function_nodes(fd);
		check_types(l, TFS_DT_INT8);
		int reads = count_ops(l, "ReadVariableOp", "dtype", TFS_DT_INT8);
		if (!strncmp(fd->signature->name, "while_body", 10)) {
			assert_int_equal(reads, 1); /* w_loop; bias is below 100 elements */
			/* the handle goes back out as the same output, retyped too */
			int out_int8 = 0;
			for (size_t a = 0; a < fd->signature->n_output_arg; a++)
				if (fd->signature->output_arg[a]->n_handle_data)
					out_int8 += (int)fd->signature->output_arg[a]->handle_data[0]->dtype == TFS_DT_INT8;
			assert_int_equal(out_int8, 1);
			loops++;
		}
		if (!strncmp(fd->signature->name, "cond_", 5)) {
			assert_int_equal(reads, 1);
			branches++;
		}
	}
	assert_true(loops >= 1);
	assert_int_equal(branches, 4 * loops); /* two Ifs of two branches per While */
	write_and_reopen(m, r, "cond_while", TFS_DT_INT8);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);

	/* A handle that leaves the While (its output is used) is not
	 * followed: w_loop and bias stay float32, the If reads are converted. */
	m = open_fixture("tf2_cond_while", 0);
	g = m->sm->meta_graphs[0]->graph_def;
	for (size_t f = 0; f < g->library->n_function; f++) {
		tfs_nodes l = tfs_function_nodes(g->library->function[f]);
		if (tfs_nodes_find(l, "while") && !strcmp(tfs_nodes_find(l, "while")->op, "While")) {
			add_user(l, "probe_4", "Identity", "while:output:4");
			add_user(l, "probe_5", "Identity", "while:output:5");
		}
	}
	o.min_elements = 1;
	o.weights = TFSHRINK_WEIGHTS_FP16;
	r = shrink(m, &o);
	assert_false(result(r, "w_loop")->quantized);
	assert_false(result(r, "bias")->quantized);
	assert_non_null(strstr(result(r, "w_loop")->reason, "does not follow"));
	assert_true(result(r, "w_pos")->quantized);
	assert_true(result(r, "w_neg")->quantized);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_switch_case(void **state)
{
	(void)state;
	/* tf2_switch_case: three Case ops of three branches; w0 is read in two
	 * branches of each, w1 and w2 in one. */
	tfshrink_model *m = open_fixture("tf2_switch_case", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_INT8;
	o.min_elements = 100;
	tfshrink_shrink_report *r = shrink(m, &o);
	assert_int_equal(r->n_weights, 3);
	assert_true(check_graph(m, r, TFS_DT_INT8, 1) >= 3);
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	int reads = 0, cases = 0;
	for (size_t f = 0; f < g->library->n_function; f++) {
		tfs_nodes l = tfs_function_nodes(g->library->function[f]);
		check_types(l, TFS_DT_INT8);
		reads += count_ops(l, "ReadVariableOp", "dtype", TFS_DT_INT8);
		for (size_t i = 0; i < *l.n; i++)
			cases += !strcmp((*l.v)[i]->op, "Case");
	}
	assert_int_equal(cases, 3);
	assert_int_equal(reads, 3 * 4 + 3); /* the branches, and the traced save */
	write_and_reopen(m, r, "switch_case", TFS_DT_INT8);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);

	/* A Case naming a branch that is not in the library is not followed:
	 * what it is passed stays float32. */
	m = open_fixture("tf2_switch_case", 0);
	g = m->sm->meta_graphs[0]->graph_def;
	for (size_t f = 0; f < g->library->n_function; f++) {
		tfs_nodes l = tfs_function_nodes(g->library->function[f]);
		for (size_t i = 0; i < *l.n; i++)
			if (!strcmp((*l.v)[i]->op, "Case")) {
				Tensorflow__AttrValue *b = (Tensorflow__AttrValue *)tfs_node_attr((*l.v)[i], "branches");
				assert_true(b && b->list && b->list->n_func == 3);
				b->list->func[2]->name[0] = '#';
			}
	}
	o.weights = TFSHRINK_WEIGHTS_FP16;
	r = shrink(m, &o);
	assert_false(result(r, "w0")->quantized);
	assert_false(result(r, "w2")->quantized);
	assert_non_null(strstr(result(r, "w0")->reason, "does not follow"));
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

static void test_dedupe_kept(void **state)
{
	(void)state;
	/* dupes: w1 and w2 hold the same values and dedupe stores them once;
	 * quantized, their new bytes are equal too and stay stored once. */
	tfshrink_model *m = open_fixture("dupes", 0);
	tfshrink_shrink_options o = TFSHRINK_SHRINK_OPTIONS_INIT;
	o.weights = TFSHRINK_WEIGHTS_FP16;
	o.min_elements = 100;
	tfshrink_shrink_report *r = shrink(m, &o);
	assert_true(result(r, "w1")->quantized);
	assert_true(result(r, "w2")->quantized);
	char *out = tfs_path_join(g_tmp, "dupes");
	if (tfshrink_model_write(m, out, NULL) < 0)
		fail_msg("write: %s", tfshrink_error_last()->message);
	tfshrink_open_options oo = TFSHRINK_OPEN_OPTIONS_INIT;
	oo.verify_crc = 1;
	tfshrink_model *m2 = NULL;
	if (tfshrink_model_open(&m2, out, &oo) < 0)
		fail_msg("reopen: %s", tfshrink_error_last()->message);
	const tfs_bundle_entry *a = tfs_bundle_find(m2->bundle, result(r, "w1")->key, strlen(result(r, "w1")->key));
	const tfs_bundle_entry *b = tfs_bundle_find(m2->bundle, result(r, "w2")->key, strlen(result(r, "w2")->key));
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal((int)a->proto->dtype, TFS_DT_HALF);
	assert_int_equal(a->proto->offset, b->proto->offset);
	assert_int_equal(a->proto->shard_id, b->proto->shard_id);
	assert_int_equal(a->proto->crc32c, b->proto->crc32c);
	assert_int_equal(tfs_bundle_verify(m2->bundle, a), 0);
	assert_int_equal(tfs_bundle_verify(m2->bundle, b), 0);
	tfshrink_model_free(m2);
	free(out);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fp16_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bf16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int8_per_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int8_gather_per_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tf1_and_v1_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tf1_reference_variables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tf1_reference_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_op_initializers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedupe_kept, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
