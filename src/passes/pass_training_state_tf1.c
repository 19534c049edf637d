/*
 * pass_training_state_tf1.c - removes training state from TF1-layout
 * SavedModels (no object graph: SavedModelBuilder and Estimator exports):
 * optimizer slots and accumulators (Adam, Momentum, Adagrad, RMSProp,
 * Ftrl...), beta powers, an unused global_step, EMA shadows nothing serving
 * reads, the gradient and apply ops, summary ops and what only they read,
 * their saver entries, collection entries and the training signatures.
 *
 * It is data-flow based; per meta graph:
 *  1. KEEP = backward closure (data and control inputs) of what a loader or
 *     a serving call runs: the tensors of every signature except the training
 *     ones, the init ops (__saved_model_init_op, saved_model_main_op,
 *     legacy_init_op, table_initializer), the asset tensors, the entries of
 *     node_list collections this pass does not know, every node a
 *     control-flow context names (contexts are kept whole), and, for every
 *     kept variable, its initializer, snapshot and initial value and the
 *     tensor its SaveV2 saves. The saver is not a root: a variable that only
 *     the saver reads is not needed.
 *  2. Seeds: every variable op outside KEEP, every summary op outside KEEP
 *     (TensorBoard output: ScalarSummary, HistogramSummary, MergeSummary,
 *     summary writers), and what only the train op(s) need (closure of
 *     train_op / saved_model_train_op, minus KEEP).
 *  3. Forward: a node reading a removed node through a data edge goes too
 *     (v/Assign, v/read, ApplyAdam, save/Assign_k...), except SaveV2, which
 *     loses that tensor instead.
 *  4. Dead code: a node outside KEEP goes when every consumer went (and it
 *     had one), or when nothing uses it and it lost all its inputs, or any
 *     input unless it is a NoOp (init groups stay with what is left).
 *  5. Vetoes, then again from 1: partitioned variables (slices) stay; a
 *     SaveV2 that would lose every tensor keeps its smallest variable
 *     (SaveV2/RestoreV2 need at least one).
 *  6. Edits: SaveV2/RestoreV2 entries (tensor_names, shape_and_slices,
 *     dtypes, _output_shapes; RestoreV2 outputs renumbered), the nodes,
 *     control inputs and _class colocations naming them, collection entries
 *     (node names, VariableDef protos), the training signatures.
 * A bundle key dropped from a saver goes when no meta graph restores it any
 * more. Anything unexpected (V1 checkpoint ops, a saver that is not plain
 * Consts, a kept node reading a removed one) leaves that meta graph as it is,
 * with a note.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gindex.h"
#include "graph.h"
#include "pass.h"
#include "sort.h"

#define TRAIN_SIG "__saved_model_train_op"
#define TRAIN_COLL "saved_model_train_op"

enum { F_KEEP = 1, F_PROT = 2, F_RM = 4, F_TRAIN = 8, F_VETO = 16, F_QUEUED = 32 };

/* node_list collections whose entries may go (training, summaries, session
 * scaffolding); a node_list collection not listed here keeps its nodes. */
static const char *const prunable_lists[] = {
	"train_op", TRAIN_COLL, "update_ops", "losses", "regularization_losses", "summaries",
	"global_step", "init_op", "local_init_op", "ready_op", "ready_for_local_init_op",
	"summary_op", "eval_step", "global_step_read_op_cache", NULL,
};
/* Collections dropped when this pass empties them. */
static const char *const training_only[] = {
	"train_op", TRAIN_COLL, "update_ops", "losses", "regularization_losses", "summaries",
	"global_step", "init_op", "local_init_op", "ready_op", "ready_for_local_init_op",
	"summary_op", "eval_step", "global_step_read_op_cache", "variables", "trainable_variables",
	"model_variables", "moving_average_variables", "metric_variables", "local_variables", NULL,
};

static int in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return 1;
	return 0;
}

static int is_var_op(const char *op)
{
	return !strcmp(op, "VariableV2") || !strcmp(op, "Variable") || !strcmp(op, "VarHandleOp");
}

/* Summary ops only feed TensorBoard during training; a serving call never
 * runs them unless a signature names them (then they are in KEEP). */
static int is_summary_op(const char *op)
{
	/* ScalarSummary, HistogramSummary, MergeSummary, TensorSummaryV2,
	 * WriteScalarSummary, SummaryWriter, CreateSummaryFileWriter... */
	return strstr(op, "Summary") != NULL;
}

static int is_train_key(const char *k)
{
	return !strcmp(k, TRAIN_SIG) || !strcmp(k, TRAIN_COLL);
}

/* Variable op feeding a tensor through reads/identities, or -1. */
static int32_t backing_var(const tfs_gix *g, int32_t i)
{
	for (int step = 0; i >= 0 && step < 64; step++) {
		if (is_var_op(g->nodes[i]->op))
			return i;
		int32_t next = -1;
		for (size_t k = g->in_off[i]; k < g->in_off[i + 1] && next < 0; k++)
			if (g->in_port[k] >= 0)
				next = g->in_src[k];
		i = next;
	}
	return -1;
}

static Tensorflow__CollectionDef *collection(const Tensorflow__MetaGraphDef *mg, const char *key)
{
	for (size_t i = 0; i < mg->n_collection_def; i++)
		if (!strcmp(mg->collection_def[i]->key, key))
			return mg->collection_def[i]->value;
	return NULL;
}

/* The value tensor of a Const holding k strings, or NULL. */
static Tensorflow__TensorProto *string_const(const Tensorflow__NodeDef *nd, size_t k)
{
	if (!nd || strcmp(nd->op, "Const"))
		return NULL;
	Tensorflow__AttrValue *v = tfs_node_attr(nd, "value");
	if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR || !v->tensor)
		return NULL;
	Tensorflow__TensorProto *t = v->tensor;
	if (t->dtype != TENSORFLOW__DATA_TYPE__DT_STRING || t->n_string_val != k)
		return NULL;
	return t;
}

static Tensorflow__AttrValue__ListValue *dtypes_of(const Tensorflow__NodeDef *nd)
{
	Tensorflow__AttrValue *v = tfs_node_attr(nd, "dtypes");
	return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST ? v->list : NULL;
}

/* ------------------------------------------------------------- key lists */

typedef struct strv {
	char **v;
	size_t n, cap;
} strv;

static int strv_add(strv *s, const char *p, size_t l)
{
	if (s->n == s->cap) {
		size_t c = s->cap ? 2 * s->cap : 16;
		char **v = realloc(s->v, c * sizeof *v);
		if (!v)
			return tfs_nomem();
		s->v = v;
		s->cap = c;
	}
	char *d = malloc(l + 1);
	if (!d)
		return tfs_nomem();
	memcpy(d, p, l);
	d[l] = '\0';
	s->v[s->n++] = d;
	return 0;
}

static void strv_free(strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int strv_has(const strv *s, const char *k)
{
	return tfs_bsearch(&k, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

/* ------------------------------------------------------------- analysis */

typedef struct stats {
	uint64_t vars, nodes, entries, sigs, colls, graphs_skipped;
	strv dropped; /* checkpoint keys dropped from some saver */
} stats;

/* Outcome of an analysis: 0 done, 1 a veto was added (run again),
 * 2 leave this meta graph alone (a note says why). */
enum { A_DONE = 0, A_AGAIN = 1, A_SKIP = 2 };

static int skip_note(tfshrink_model *m, size_t gi, const char *fmt, const char *a)
{
	char why[512];
	snprintf(why, sizeof why, fmt, a);
	TFS_TRY(tfs_model_note(m, "training-state-tf1: meta graph %zu left as it is: %s", gi, why));
	return A_SKIP;
}

static uint64_t key_bytes(const tfshrink_model *m, const ProtobufCBinaryData *k)
{
	const tfs_bundle_entry *e = m->bundle ? tfs_bundle_find(m->bundle, k->data, k->len) : NULL;
	return e ? e->proto->size : 0;
}

static int analyze(tfshrink_model *m, size_t gi, tfs_gix *g)
{
	const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[gi];
	size_t n = g->n;
	for (size_t i = 0; i < n; i++)
		g->flag[i] &= F_VETO;

	/* Saver roots: protected, but not a reason to keep what they read. */
	if (mg->saver_def) {
		int32_t r[3] = { tfs_gix_ref(g, mg->saver_def->restore_op_name), tfs_gix_ref(g, mg->saver_def->save_tensor_name),
		                 tfs_gix_ref(g, mg->saver_def->filename_tensor_name) };
		for (int k = 0; k < 3; k++)
			if (r[k] >= 0)
				g->flag[r[k]] |= F_PROT;
	}

	/* 1. Fixed roots. */
	for (size_t s = 0; s < mg->n_signature_def; s++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
		if (!sd || is_train_key(mg->signature_def[s]->key))
			continue;
		for (size_t k = 0; k < sd->n_inputs; k++)
			tfs_gix_closure_tensor_info(g, sd->inputs[k]->value, F_KEEP, 0);
		for (size_t k = 0; k < sd->n_outputs; k++)
			tfs_gix_closure_tensor_info(g, sd->outputs[k]->value, F_KEEP, 0);
	}
	for (size_t a = 0; a < mg->n_asset_file_def; a++)
		tfs_gix_closure_tensor_info(g, mg->asset_file_def[a]->tensor_info, F_KEEP, 0);
	for (size_t c = 0; c < mg->n_collection_def; c++) {
		const char *key = mg->collection_def[c]->key;
		const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		if (!cd)
			continue;
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && cd->node_list &&
		    !in_list(prunable_lists, key))
			for (size_t k = 0; k < cd->node_list->n_value; k++)
				tfs_gix_closure(g, tfs_gix_ref(g, cd->node_list->value[k]), F_KEEP, 0);
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST && cd->any_list)
			for (size_t k = 0; k < cd->any_list->n_value; k++) {
				const Tensorflow__Any *any = cd->any_list->value[k];
				const char *u = any->type_url ? strrchr(any->type_url, '/') : NULL;
				if (!u || strcmp(u, "/tensorflow.AssetFileDef"))
					continue;
				Tensorflow__AssetFileDef *af =
					tensorflow__asset_file_def__unpack(NULL, any->value.len, any->value.data);
				if (af) {
					tfs_gix_closure_tensor_info(g, af->tensor_info, F_KEEP, 0);
					tensorflow__asset_file_def__free_unpacked(af, NULL);
				}
			}
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST && cd->bytes_list) {
			if (!strcmp(key, "cond_context") || !strcmp(key, "while_context"))
				for (size_t k = 0; k < cd->bytes_list->n_value; k++)
					tfs_gix_closure_named_in(g, cd->bytes_list->value[k].data, cd->bytes_list->value[k].len, F_KEEP);
			if (!strcmp(key, "savers"))
				for (size_t k = 0; k < cd->bytes_list->n_value; k++) {
					Tensorflow__SaverDef *sv = tensorflow__saver_def__unpack(
						NULL, cd->bytes_list->value[k].len, cd->bytes_list->value[k].data);
					if (!sv)
						continue;
					int32_t r[3] = { tfs_gix_ref(g, sv->restore_op_name), tfs_gix_ref(g, sv->save_tensor_name),
					                 tfs_gix_ref(g, sv->filename_tensor_name) };
					for (int j = 0; j < 3; j++)
						if (r[j] >= 0)
							g->flag[r[j]] |= F_PROT;
					tensorflow__saver_def__free_unpacked(sv, NULL);
				}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (g->flag[i] & F_VETO)
			tfs_gix_closure(g, (int32_t)i, F_KEEP, 0);

	/* Roots that follow from kept variables, to a fixed point. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t c = 0; c < mg->n_collection_def; c++) {
			const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
			const char *key = mg->collection_def[c]->key;
			if (!cd || cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST || !cd->bytes_list ||
			    !strcmp(key, "cond_context") || !strcmp(key, "while_context"))
				continue;
			for (size_t k = 0; k < cd->bytes_list->n_value; k++) {
				Tensorflow__VariableDef *vd = tensorflow__variable_def__unpack(
					NULL, cd->bytes_list->value[k].len, cd->bytes_list->value[k].data);
				if (!vd)
					continue;
				int32_t v = tfs_gix_ref(g, vd->variable_name);
				if (v >= 0 && (g->flag[v] & F_KEEP)) {
					const char *names[3] = { vd->initializer_name, vd->snapshot_name, vd->initial_value_name };
					for (int j = 0; j < 3; j++) {
						int32_t x = tfs_gix_ref(g, names[j]);
						if (x >= 0 && !(g->flag[x] & F_KEEP)) {
							tfs_gix_closure(g, x, F_KEEP, 0);
							changed = 1;
						}
					}
				}
				tensorflow__variable_def__free_unpacked(vd, NULL);
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(g->nodes[i]->op, "SaveV2"))
				continue;
			for (size_t k = g->in_off[i] + 3; k < g->in_off[i + 1]; k++) {
				int32_t s = g->in_src[k];
				if (s < 0 || g->in_port[k] < 0 || (g->flag[s] & F_KEEP))
					continue;
				int32_t v = backing_var(g, s);
				if (v >= 0 && (g->flag[v] & F_KEEP)) {
					tfs_gix_closure(g, s, F_KEEP, 0);
					changed = 1;
				}
			}
		}
	}

	/* 2. What only the train op(s) need. */
	for (size_t s = 0; s < mg->n_signature_def; s++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
		if (!sd || !is_train_key(mg->signature_def[s]->key))
			continue;
		for (size_t k = 0; k < sd->n_inputs; k++)
			tfs_gix_closure_tensor_info(g, sd->inputs[k]->value, F_TRAIN, F_KEEP);
		for (size_t k = 0; k < sd->n_outputs; k++)
			tfs_gix_closure_tensor_info(g, sd->outputs[k]->value, F_TRAIN, F_KEEP);
	}
	const char *train_colls[] = { "train_op", TRAIN_COLL };
	for (int t = 0; t < 2; t++) {
		const Tensorflow__CollectionDef *cd = collection(mg, train_colls[t]);
		if (cd && cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && cd->node_list)
			for (size_t k = 0; k < cd->node_list->n_value; k++)
				tfs_gix_closure(g, tfs_gix_ref(g, cd->node_list->value[k]), F_TRAIN, F_KEEP);
	}

	/* 2-3. Seeds, then forward along data edges. */
	size_t top = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t f = g->flag[i];
		if (f & (F_KEEP | F_PROT))
			continue;
		if (is_var_op(g->nodes[i]->op) || is_summary_op(g->nodes[i]->op) || (f & F_TRAIN)) {
			g->flag[i] |= F_RM;
			g->work[top++] = (int32_t)i;
		}
	}
	while (top) {
		int32_t i = g->work[--top];
		for (size_t k = g->out_off[i]; k < g->out_off[i + 1]; k++) {
			int32_t d = g->out_dst[k], slot = g->out_slot[k];
			if (g->in_port[g->in_off[d] + (size_t)slot] < 0 || (g->flag[d] & F_RM))
				continue;
			const char *op = g->nodes[d]->op;
			if (!strcmp(op, "SaveV2") && slot >= 3)
				continue;
			if ((g->flag[d] & (F_KEEP | F_PROT)) || !strcmp(op, "SaveV2") || !strcmp(op, "RestoreV2"))
				return skip_note(m, gi, "'%s', which stays, reads a node that would go", g->nodes[d]->name);
			g->flag[d] |= F_RM;
			g->work[top++] = d;
		}
	}

	/* 4. Dead code, with a queue over every node. */
	size_t head = 0, tail = 0, queued = 0;
	for (size_t i = 0; i < n; i++) {
		g->work[tail] = (int32_t)i;
		tail = (tail + 1) % (n ? n : 1);
		g->flag[i] |= F_QUEUED;
		queued++;
	}
	while (queued) {
		int32_t i = g->work[head];
		head = (head + 1) % n;
		queued--;
		g->flag[i] &= (uint8_t)~F_QUEUED;
		if (g->flag[i] & (F_KEEP | F_PROT | F_RM))
			continue;
		size_t n_out = g->out_off[i + 1] - g->out_off[i], out_rm = 0, n_in = 0, in_rm = 0;
		for (size_t k = g->out_off[i]; k < g->out_off[i + 1]; k++)
			out_rm += (g->flag[g->out_dst[k]] & F_RM) != 0;
		if (out_rm != n_out)
			continue;
		for (size_t k = g->in_off[i]; k < g->in_off[i + 1]; k++)
			if (g->in_src[k] >= 0) {
				n_in++;
				in_rm += (g->flag[g->in_src[k]] & F_RM) != 0;
			}
		if (!(n_out > 0 || (n_in > 0 && in_rm == n_in) || (n_out == 0 && in_rm > 0 && strcmp(g->nodes[i]->op, "NoOp"))))
			continue;
		g->flag[i] |= F_RM;
		for (size_t k = g->in_off[i]; k < g->in_off[i + 1]; k++) {
			int32_t s = g->in_src[k];
			if (s >= 0 && !(g->flag[s] & (F_QUEUED | F_RM))) {
				g->flag[s] |= F_QUEUED;
				g->work[tail] = s;
				tail = (tail + 1) % n;
				queued++;
			}
		}
		for (size_t k = g->out_off[i]; k < g->out_off[i + 1]; k++) {
			int32_t d = g->out_dst[k];
			if (!(g->flag[d] & (F_QUEUED | F_RM))) {
				g->flag[d] |= F_QUEUED;
				g->work[tail] = d;
				tail = (tail + 1) % n;
				queued++;
			}
		}
	}

	/* 5. Vetoes. Partitioned variables (VariableDef slices) stay. */
	int again = 0;
	for (size_t c = 0; c < mg->n_collection_def; c++) {
		const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		const char *key = mg->collection_def[c]->key;
		if (!cd || cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST || !cd->bytes_list ||
		    !strcmp(key, "cond_context") || !strcmp(key, "while_context"))
			continue;
		for (size_t k = 0; k < cd->bytes_list->n_value; k++) {
			Tensorflow__VariableDef *vd = tensorflow__variable_def__unpack(NULL, cd->bytes_list->value[k].len,
			                                                               cd->bytes_list->value[k].data);
			if (!vd)
				continue;
			int32_t v = tfs_gix_ref(g, vd->variable_name);
			if (v >= 0 && vd->save_slice_info_def && (g->flag[v] & F_RM) && !(g->flag[v] & F_VETO)) {
				g->flag[v] |= F_VETO;
				again = 1;
				TFS_TRY(tfs_model_note(m, "training-state-tf1: kept partitioned variable '%s' (slices are left alone)",
				                       g->nodes[v]->name));
			}
			tensorflow__variable_def__free_unpacked(vd, NULL);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__NodeDef *nd = g->nodes[i];
		if (!strcmp(nd->op, "Save") || !strcmp(nd->op, "SaveSlices") || !strcmp(nd->op, "Restore") ||
		    !strcmp(nd->op, "RestoreSlice"))
			return skip_note(m, gi, "it uses the V1 checkpoint op '%s'", nd->op);
		int save = !strcmp(nd->op, "SaveV2"), restore = !strcmp(nd->op, "RestoreV2");
		if ((!save && !restore) || (g->flag[i] & F_RM))
			continue;
		Tensorflow__AttrValue__ListValue *dt = dtypes_of(nd);
		size_t K = dt ? dt->n_type : 0, dropped = 0;
		if (save) {
			for (size_t k = g->in_off[i] + 3; k < g->in_off[i + 1]; k++)
				dropped += g->in_port[k] >= 0 && g->in_src[k] >= 0 && (g->flag[g->in_src[k]] & F_RM);
		} else {
			for (size_t k = g->out_off[i]; k < g->out_off[i + 1]; k++)
				dropped += (g->flag[g->out_dst[k]] & F_RM) != 0;
		}
		if (!dropped)
			continue;
		if (!dt)
			return skip_note(m, gi, "'%s' has no dtypes list", nd->name);
		if (nd->n_input < 3 || (save && nd->n_input < 3 + K))
			return skip_note(m, gi, "'%s' does not have the inputs its dtypes list", nd->name);
		int32_t cn = g->in_src[g->in_off[i] + 1], cs = g->in_src[g->in_off[i] + 2];
		const Tensorflow__TensorProto *names = cn >= 0 ? string_const(g->nodes[cn], K) : NULL;
		const Tensorflow__TensorProto *slices = cs >= 0 ? string_const(g->nodes[cs], K) : NULL;
		if (!names || !slices || cn == cs)
			return skip_note(m, gi, "the tensor names or slices of '%s' are not two string constants", nd->name);
		if (restore)
			continue;
		size_t best = K, sliced = 0;
		uint64_t best_bytes = UINT64_MAX;
		dropped = 0;
		for (size_t j = 0; j < K; j++) {
			int32_t s = g->in_src[g->in_off[i] + 3 + j];
			if (s < 0 || !(g->flag[s] & F_RM))
				continue;
			dropped++;
			int32_t v = backing_var(g, s);
			if (slices->string_val[j].len) {
				if (v < 0)
					return skip_note(m, gi, "'%s' saves a slice of a tensor that would go", nd->name);
				sliced++;
				if (!(g->flag[v] & F_VETO)) {
					g->flag[v] |= F_VETO;
					again = 1;
					TFS_TRY(tfs_model_note(m, "training-state-tf1: kept partitioned variable '%s' (slices are left alone)",
					                       g->nodes[v]->name));
				}
				continue;
			}
			uint64_t b = key_bytes(m, &names->string_val[j]);
			if (v >= 0 && b < best_bytes) {
				best = j;
				best_bytes = b;
			}
		}
		if (K > 0 && dropped == K && !sliced) {
			if (best == K)
				return skip_note(m, gi, "every tensor '%s' saves would go", nd->name);
			int32_t v = backing_var(g, g->in_src[g->in_off[i] + 3 + best]);
			if (g->flag[v] & F_VETO)
				continue; /* already kept: the next round sees it */
			g->flag[v] |= F_VETO;
			again = 1;
			TFS_TRY(tfs_model_note(m, "training-state-tf1: kept variable '%s' so that '%s' still saves a tensor",
			                       g->nodes[v]->name, nd->name));
		}
	}
	return again ? A_AGAIN : A_DONE;
}

/* ----------------------------------------------------------------- edits */

/* A copy of node i named uniquely, appended to the graph; returns its name. */
static int clone_const(Tensorflow__GraphDef *gd, tfs_gix *g, int32_t i, const char **out_name)
{
	const Tensorflow__NodeDef *src = g->nodes[i];
	size_t len = tensorflow__node_def__get_packed_size(src);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return tfs_nomem();
	tensorflow__node_def__pack(src, buf);
	Tensorflow__NodeDef *c = tensorflow__node_def__unpack(NULL, len, buf);
	free(buf);
	if (!c)
		return tfs_nomem();
	char *name = NULL;
	for (int k = 1; !name; k++) {
		char *cand = NULL;
		if (asprintf(&cand, "%s_tfs%d", src->name, k) < 0) {
			tensorflow__node_def__free_unpacked(c, NULL);
			return tfs_nomem();
		}
		int taken = tfs_gix_find(g, cand, strlen(cand)) >= 0;
		for (size_t j = g->n; j < gd->n_node && !taken; j++)
			taken = !strcmp(gd->node[j]->name, cand);
		if (taken)
			free(cand);
		else
			name = cand;
	}
	if (c->name != protobuf_c_empty_string)
		free(c->name);
	c->name = name;
	Tensorflow__NodeDef **v = realloc(gd->node, (gd->n_node + 1) * sizeof *v);
	if (!v) {
		tensorflow__node_def__free_unpacked(c, NULL);
		return tfs_nomem();
	}
	gd->node = v;
	g->nodes = v; /* the first g->n entries are unchanged */
	gd->node[gd->n_node++] = c;
	*out_name = name;
	return 0;
}

static void fix_const_shape(Tensorflow__NodeDef *nd, size_t k)
{
	Tensorflow__AttrValue *os = tfs_node_attr(nd, "_output_shapes");
	if (os && os->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && os->list && os->list->n_shape == 1 &&
	    os->list->shape[0]->n_dim == 1)
		os->list->shape[0]->dim[0]->size = (int64_t)k;
}

/* Filters the tensor_names (input 1) and shape_and_slices (input 2) Consts
 * of save/restore node i with keep[K]; clones a Const that others read. */
static int filter_name_consts(Tensorflow__GraphDef *gd, tfs_gix *g, int32_t i, const uint8_t *keep, size_t K,
                              size_t kept, stats *st)
{
	for (int which = 1; which <= 2; which++) {
		size_t e = g->in_off[i] + (size_t)which;
		int32_t c = g->in_src[e];
		/* Other live readers (an earlier edit may have moved one to a clone). */
		size_t others = 0;
		for (size_t k = g->out_off[c]; k < g->out_off[c + 1]; k++) {
			int32_t d = g->out_dst[k];
			if (d == i || (g->flag[d] & F_RM))
				continue;
			tfs_ref r;
			tfs_ref_parse(g->nodes[d]->input[g->out_slot[k]], &r);
			others += tfs_ref_is(&r, g->nodes[c]->name);
		}
		Tensorflow__NodeDef *cn = g->nodes[c];
		if (others) {
			const char *nm = NULL;
			TFS_TRY(clone_const(gd, g, c, &nm));
			cn = gd->node[gd->n_node - 1];
			char *in = NULL;
			if (asprintf(&in, "%s", nm) < 0)
				return tfs_nomem();
			Tensorflow__NodeDef *nd = g->nodes[i];
			free(nd->input[which]);
			nd->input[which] = in;
		}
		Tensorflow__TensorProto *t = string_const(cn, K);
		if (!t)
			return tfs_err(TFSHRINK_EVERIFY, NULL, -1, "'%s' changed under the pass", cn->name);
		if (which == 1)
			for (size_t j = 0; j < K; j++)
				if (!keep[j]) {
					TFS_TRY(strv_add(&st->dropped, (const char *)t->string_val[j].data, t->string_val[j].len));
					st->entries++;
				}
		TFS_TRY(tfs_tensor_strings_filter(t, keep, K));
		fix_const_shape(cn, kept);
	}
	Tensorflow__AttrValue__ListValue *dt = dtypes_of(g->nodes[i]);
	tfs_list_filter(dt, keep, K);
	return 0;
}

static int edit_save(Tensorflow__GraphDef *gd, tfs_gix *g, int32_t i, stats *st)
{
	Tensorflow__NodeDef *nd = g->nodes[i];
	const Tensorflow__AttrValue__ListValue *dt = dtypes_of(nd);
	size_t K = dt ? dt->n_type : 0, kept = 0;
	uint8_t *keep = malloc(K ? K : 1);
	if (!keep)
		return tfs_nomem();
	for (size_t j = 0; j < K; j++) {
		int32_t s = g->in_src[g->in_off[i] + 3 + j];
		keep[j] = !(s >= 0 && (g->flag[s] & F_RM));
		kept += keep[j];
	}
	int rc = 0;
	if (kept < K) {
		rc = filter_name_consts(gd, g, i, keep, K, kept, st);
		for (size_t j = K; rc == 0 && j-- > 0;)
			if (!keep[j])
				tfs_node_remove_input(nd, 3 + j);
	}
	free(keep);
	return rc;
}

static int edit_restore(Tensorflow__GraphDef *gd, tfs_gix *g, int32_t i, stats *st)
{
	Tensorflow__NodeDef *nd = g->nodes[i];
	const Tensorflow__AttrValue__ListValue *dt = dtypes_of(nd);
	size_t K = dt ? dt->n_type : 0, kept = 0;
	uint8_t *keep = malloc(K ? K : 1);
	int32_t *map = malloc((K ? K : 1) * sizeof *map);
	int rc = 0;
	if (!keep || !map) {
		rc = tfs_nomem();
		goto done;
	}
	for (size_t j = 0; j < K; j++) {
		size_t uses = 0, gone = 0;
		for (size_t k = g->out_off[i]; k < g->out_off[i + 1]; k++) {
			int32_t d = g->out_dst[k];
			if (g->in_port[g->in_off[d] + (size_t)g->out_slot[k]] != (int32_t)j)
				continue;
			uses++;
			gone += (g->flag[d] & F_RM) != 0;
		}
		keep[j] = !(uses > 0 && uses == gone);
		map[j] = keep[j] ? (int32_t)kept : -1;
		kept += keep[j];
	}
	if (kept == K)
		goto done;
	if ((rc = filter_name_consts(gd, g, i, keep, K, kept, st)) < 0)
		goto done;
	Tensorflow__AttrValue *os = tfs_node_attr(nd, "_output_shapes");
	if (os && os->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST)
		tfs_list_filter(os->list, keep, K);
	for (size_t k = g->out_off[i]; k < g->out_off[i + 1]; k++) {
		int32_t d = g->out_dst[k];
		size_t slot = (size_t)g->out_slot[k];
		int32_t p = g->in_port[g->in_off[d] + slot];
		if ((g->flag[d] & F_RM) || p < 0 || (size_t)p >= K || map[p] == p)
			continue;
		char *in = NULL;
		if ((map[p] ? asprintf(&in, "%s:%d", nd->name, map[p]) : asprintf(&in, "%s", nd->name)) < 0) {
			rc = tfs_nomem();
			goto done;
		}
		free(g->nodes[d]->input[slot]);
		g->nodes[d]->input[slot] = in;
	}
done:
	free(keep);
	free(map);
	return rc;
}

/* Drops _class "loc:@x" entries naming removed nodes. */
static int remove_nodes(Tensorflow__GraphDef *gd, tfs_gix *g, stats *st)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->flag[i] & F_RM) {
			st->vars += is_var_op(gd->node[i]->op) != 0;
			st->nodes++;
		}
	return tfs_gix_remove(gd, g, F_RM);
}

static void edit_collections(Tensorflow__MetaGraphDef *mg, tfs_gix *g, stats *st)
{
	for (size_t c = 0; c < mg->n_collection_def;) {
		const char *key = mg->collection_def[c]->key;
		Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		size_t before = 0, after = 0;
		if (cd && cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && cd->node_list) {
			Tensorflow__CollectionDef__NodeList *l = cd->node_list;
			before = l->n_value;
			for (size_t k = 0; k < l->n_value; k++) {
				int32_t x = tfs_gix_ref(g, l->value[k]);
				if (x >= 0 && (g->flag[x] & F_RM))
					free(l->value[k]);
				else
					l->value[after++] = l->value[k];
			}
			l->n_value = after;
		} else if (cd && cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST && cd->bytes_list &&
		           strcmp(key, "cond_context") && strcmp(key, "while_context")) {
			Tensorflow__CollectionDef__BytesList *l = cd->bytes_list;
			before = l->n_value;
			for (size_t k = 0; k < l->n_value; k++) {
				Tensorflow__VariableDef *vd = tensorflow__variable_def__unpack(NULL, l->value[k].len, l->value[k].data);
				int gone = 0;
				if (vd) {
					int32_t x = tfs_gix_ref(g, vd->variable_name);
					gone = x >= 0 && (g->flag[x] & F_RM);
					tensorflow__variable_def__free_unpacked(vd, NULL);
				}
				if (gone)
					free(l->value[k].data);
				else
					l->value[after++] = l->value[k];
			}
			l->n_value = after;
		} else {
			c++;
			continue;
		}
		st->entries += before - after;
		if (before > 0 && after == 0 && in_list(training_only, key)) {
			tfs_meta_remove_collection(mg, c);
			st->colls++;
		} else {
			c++;
		}
	}
	/* The training op collection goes with the training signatures. */
	for (size_t c = 0; c < mg->n_collection_def;) {
		const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		if (!strcmp(mg->collection_def[c]->key, TRAIN_COLL) && cd &&
		    cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && cd->node_list && cd->node_list->n_value == 0) {
			tfs_meta_remove_collection(mg, c);
			st->colls++;
		} else {
			c++;
		}
	}
}

static void edit_signatures(Tensorflow__MetaGraphDef *mg, stats *st)
{
	size_t w = 0;
	for (size_t s = 0; s < mg->n_signature_def; s++) {
		Tensorflow__MetaGraphDef__SignatureDefEntry *e = mg->signature_def[s];
		if (is_train_key(e->key)) {
			protobuf_c_message_free_unpacked(&e->base, NULL);
			st->sigs++;
		} else {
			mg->signature_def[w++] = e;
		}
	}
	mg->n_signature_def = w;
}

static int run_graph(tfshrink_model *m, size_t gi, stats *st)
{
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[gi];
	Tensorflow__GraphDef *gd = mg->graph_def;
	if (!gd || gd->n_node == 0)
		return 0;
	tfs_gix g;
	TFS_TRY(tfs_gix_build(&g, gd));
	int a;
	for (size_t round = 0;; round++) {
		a = analyze(m, gi, &g);
		if (a != A_AGAIN || round > g.n)
			break;
	}
	if (a < 0 || a == A_SKIP || a == A_AGAIN) {
		if (a == A_AGAIN)
			a = skip_note(m, gi, "%s", "its vetoes did not settle");
		tfs_gix_free(&g);
		if (a == A_SKIP)
			st->graphs_skipped++;
		return a < 0 ? a : 0;
	}
	int rc = 0;
	size_t n0 = g.n;
	for (size_t i = 0; i < n0 && rc == 0; i++) {
		if (g.flag[i] & F_RM)
			continue;
		if (!strcmp(g.nodes[i]->op, "SaveV2"))
			rc = edit_save(gd, &g, (int32_t)i, st);
		else if (!strcmp(g.nodes[i]->op, "RestoreV2"))
			rc = edit_restore(gd, &g, (int32_t)i, st);
	}
	/* Keys of whole RestoreV2 nodes that go. */
	for (size_t i = 0; i < n0 && rc == 0; i++) {
		if (!(g.flag[i] & F_RM) || strcmp(g.nodes[i]->op, "RestoreV2") || g.nodes[i]->n_input < 2)
			continue;
		Tensorflow__AttrValue__ListValue *dt = dtypes_of(g.nodes[i]);
		int32_t c = g.in_src[g.in_off[i] + 1];
		const Tensorflow__TensorProto *t = c >= 0 && dt ? string_const(g.nodes[c], dt->n_type) : NULL;
		for (size_t j = 0; t && j < t->n_string_val && rc == 0; j++) {
			rc = strv_add(&st->dropped, (const char *)t->string_val[j].data, t->string_val[j].len);
			st->entries++;
		}
	}
	if (rc == 0) {
		/* Collections and signatures resolve names through the index, so
		 * edit them before the nodes go. */
		edit_collections(mg, &g, st);
		edit_signatures(mg, st);
		rc = remove_nodes(gd, &g, st);
	}
	tfs_gix_free(&g);
	return rc;
}

/* Keys some RestoreV2 still reads, in any meta graph or function. */
static int restored_keys(const tfshrink_model *m, strv *out)
{
	for (size_t gi = 0; gi < m->sm->n_meta_graphs; gi++) {
		Tensorflow__GraphDef *gd = m->sm->meta_graphs[gi]->graph_def;
		if (!gd)
			continue;
		size_t n_lists = 1 + (gd->library ? gd->library->n_function : 0);
		for (size_t li = 0; li < n_lists; li++) {
			tfs_nodes l = li == 0 ? tfs_graph_nodes(gd) : tfs_function_nodes(gd->library->function[li - 1]);
			for (size_t i = 0; i < *l.n; i++) {
				const Tensorflow__NodeDef *nd = (*l.v)[i];
				if (strcmp(nd->op, "RestoreV2") || nd->n_input < 2)
					continue;
				tfs_ref r;
				tfs_ref_parse(nd->input[1], &r);
				const Tensorflow__NodeDef *c = NULL;
				for (size_t k = 0; k < *l.n && !c; k++)
					if (tfs_ref_is(&r, (*l.v)[k]->name))
						c = (*l.v)[k];
				Tensorflow__AttrValue *v = c ? tfs_node_attr(c, "value") : NULL;
				const Tensorflow__TensorProto *t =
					v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TENSOR ? v->tensor : NULL;
				for (size_t j = 0; t && j < t->n_string_val; j++)
					TFS_TRY(strv_add(out, (const char *)t->string_val[j].data, t->string_val[j].len));
			}
		}
	}
	tfs_qsort(out->v, out->n, sizeof *out->v, cmp_str);
	return 0;
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	for (size_t gi = 0; gi < m->sm->n_meta_graphs; gi++)
		if (m->sm->meta_graphs[gi]->object_graph_def) {
			snprintf(ctx->summary, sizeof ctx->summary, "not a TF1 model (it has an object graph)");
			return 0;
		}
	stats st;
	memset(&st, 0, sizeof st);
	int rc = 0;
	for (size_t gi = 0; gi < m->sm->n_meta_graphs && rc == 0; gi++)
		rc = run_graph(m, gi, &st);
	uint64_t keys = 0, kept_ckpt = 0;
	strv still = { 0 };
	if (rc == 0 && st.dropped.n)
		rc = restored_keys(m, &still);
	if (rc == 0 && st.dropped.n) {
		tfs_qsort(st.dropped.v, st.dropped.n, sizeof *st.dropped.v, cmp_str);
		for (size_t i = 0; i < st.dropped.n && rc == 0; i++) {
			const char *k = st.dropped.v[i];
			if ((i > 0 && !strcmp(k, st.dropped.v[i - 1])) || strv_has(&still, k))
				continue;
			int named = 0;
			for (size_t j = 0; m->ckpt_graph && j < m->ckpt_graph->n_nodes && !named; j++)
				for (size_t a = 0; a < m->ckpt_graph->nodes[j]->n_attributes && !named; a++)
					named = !strcmp(m->ckpt_graph->nodes[j]->attributes[a]->checkpoint_key, k);
			if (named) {
				kept_ckpt++;
				continue;
			}
			int r = tfs_model_remove_key(m, k);
			if (r < 0)
				rc = r;
			keys += r > 0;
		}
	}
	if (rc == 0 && kept_ckpt)
		rc = tfs_model_note(m, "training-state-tf1: kept %" PRIu64 " checkpoint key(s) the checkpoint's object graph names",
		                    kept_ckpt);
	strv_free(&still);
	strv_free(&st.dropped);
	if (rc < 0)
		return rc;
	ctx->items = st.vars;
	snprintf(ctx->summary, sizeof ctx->summary,
	         "%" PRIu64 " variables, %" PRIu64 " keys, %" PRIu64 " nodes, %" PRIu64 " entries, %" PRIu64
	         " signatures%s",
	         st.vars, keys, st.nodes, st.entries, st.sigs, st.graphs_skipped ? " (meta graphs skipped: see notes)" : "");
	return 0;
}

TFS_PASS_DEFINE(training_state_tf1, "training-state-tf1", 11,
                "TF1 graphs: drop optimizer variables, unused global_step, the training subgraph, summary ops and their saver entries",
                run);
