/* pass_training_state.c - removes training state from TF2 (object-graph)
 * SavedModels: optimizers (any kind and layout) with their slot variables,
 * iteration counters and hyperparameter variables, Keras metrics, the
 * checkpoint's save counter, and the functions that capture them (training
 * steps). Everything goes consistently from the SavedObjectGraph, the
 * checkpoint's object graph, the bundle, the traced save/restore functions
 * and their call sites, and the top-level variable handles.
 *
 * Training state is found from structure: the objects owning slot
 * variables, optimizer identifiers and shapes (an object with an iteration
 * counter variable and a learning rate or variable list), a model's child
 * named "optimizer", Keras metric objects and keras_api/metrics, a
 * "save_counter" variable. What goes is what is reachable only through them.
 * Whatever a signature or the init op uses is kept (with a note). TF1 models
 * (no object graph) are left alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "pass.h"
#include "saver.h"
#include "sort.h"

enum { CAT_NONE = 0, CAT_OPTIMIZER, CAT_METRICS, CAT_COUNTER, CAT_FUNCTION, N_CAT };

typedef Tensorflow__SavedObject SObj;

typedef struct ts {
	tfshrink_model *m;
	Tensorflow__MetaGraphDef *mg;
	Tensorflow__SavedObjectGraph *og;
	Tensorflow__FunctionDefLibrary *lib;
	size_t n;            /* objects */
	size_t nf;           /* library functions */
	uint8_t *seed;       /* CAT_* of each seed object */
	uint8_t *keep;       /* objects that must stay (and their ancestors) */
	uint8_t *del;        /* objects to remove */
	uint8_t *cat;        /* category of each removed object */
	uint8_t *kept;       /* scratch: reachable avoiding seeds */
	int32_t *parent;     /* first parent from the root, -1 */
	size_t *queue;
	uint8_t *fn_in_c;    /* library functions that go (captures / removed objects) */
	uint8_t *fn_reach;   /* scratch for call-graph walks */
	uint8_t *fn_del;     /* library functions to remove */
	const char **fnames; /* library function names, sorted, with their index */
	size_t *fidx;
	uint8_t *protect;    /* objects used by signatures / the init op / kept functions */
	int keras_meta;      /* keras_metadata.pb stays in the output */
} ts;

/* ------------------------------------------------------------ small utils */

static int is_user(const SObj *o, const char *id)
{
	return o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_USER_OBJECT && o->user_object &&
	       o->user_object->identifier && (!id || !strcmp(o->user_object->identifier, id));
}

static int is_var(const SObj *o)
{
	return o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE;
}

static int id_ok(const ts *t, int64_t id)
{
	return id >= 0 && (size_t)id < t->n;
}

/* Child of object i named name, or -1. */
static int32_t child(const ts *t, size_t i, const char *name)
{
	const SObj *o = t->og->nodes[i];
	for (size_t k = 0; k < o->n_children; k++)
		if (!strcmp(o->children[k]->local_name, name) && id_ok(t, o->children[k]->node_id))
			return o->children[k]->node_id;
	return -1;
}

static int is_keras_model_or_root(const ts *t, size_t i)
{
	const SObj *o = t->og->nodes[i];
	if (i == 0)
		return 1;
	if (!is_user(o, NULL))
		return 0;
	const char *id = o->user_object->identifier;
	return !strcmp(id, "_tf_keras_model") || !strcmp(id, "_tf_keras_network") ||
	       !strcmp(id, "_tf_keras_sequential");
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
	const char *const *names = ctx;
	return strcmp(names[*(const size_t *)a], names[*(const size_t *)b]);
}

/* Library index of function name, or -1. */
static int64_t fn_index(const ts *t, const char *name)
{
	size_t lo = 0, hi = t->nf;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->fnames[t->fidx[mid]], name);
		if (c == 0)
			return (int64_t)t->fidx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static const Tensorflow__SavedConcreteFunction *concrete(const ts *t, const char *name)
{
	for (size_t i = 0; i < t->og->n_concrete_functions; i++)
		if (!strcmp(t->og->concrete_functions[i]->key, name))
			return t->og->concrete_functions[i]->value;
	return NULL;
}

/* ------------------------------------------------------------ seeds */

static int optimizer_identifier(const char *id)
{
	static const char *const ids[] = { "optimizer", "_tf_keras_optimizer", "experimentalOptimizer",
	                                   "_tf_keras_optimizer_v2", "_tf_keras_loss_scale_optimizer" };
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		if (!strcmp(id, ids[i]))
			return 1;
	return 0;
}

/* An object shaped like an optimizer: an iteration-counter variable and a
 * learning rate or a variable list (Keras 3, tf_keras, Keras 2 legacy). */
static int optimizer_shape(const ts *t, size_t i)
{
	static const char *const iters[] = { "_iterations", "iterations", "iter" };
	static const char *const rest[] = { "_learning_rate", "learning_rate", "lr", "_variables" };
	int it = 0, lr = 0;
	for (size_t k = 0; k < sizeof iters / sizeof *iters && !it; k++) {
		int32_t c = child(t, i, iters[k]);
		it = c >= 0 && is_var(t->og->nodes[c]);
	}
	for (size_t k = 0; k < sizeof rest / sizeof *rest && !lr; k++)
		lr = child(t, i, rest[k]) >= 0;
	return it && lr;
}

static void find_seeds(ts *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const SObj *o = t->og->nodes[i];
		if (o->n_slot_variables > 0)
			t->seed[i] = CAT_OPTIMIZER;
		if (is_user(o, NULL)) {
			const char *id = o->user_object->identifier;
			if (optimizer_identifier(id))
				t->seed[i] = CAT_OPTIMIZER;
			else if (!strcmp(id, "_tf_keras_metric"))
				t->seed[i] = CAT_METRICS;
			else if (i != 0 && optimizer_shape(t, i))
				t->seed[i] = CAT_OPTIMIZER;
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		const SObj *o = t->og->nodes[i];
		if (!is_user(o, NULL))
			continue;
		for (size_t k = 0; k < o->n_children; k++) {
			const char *nm = o->children[k]->local_name;
			int32_t c = o->children[k]->node_id;
			if (!id_ok(t, c) || c == 0 || t->seed[c])
				continue;
			const SObj *co = t->og->nodes[c];
			if (!strcmp(nm, "save_counter") && is_var(co))
				t->seed[c] = CAT_COUNTER;
			else if (is_keras_model_or_root(t, i) && is_user(co, NULL) &&
			         (!strcmp(nm, "optimizer") || !strcmp(nm, "_optimizer")))
				t->seed[c] = CAT_OPTIMIZER;
			else if (is_keras_model_or_root(t, i) && is_user(co, NULL) &&
			         (!strcmp(nm, "_loss_tracker") || !strcmp(nm, "_compile_metrics") ||
			          !strcmp(nm, "_metrics_tracker")))
				t->seed[c] = CAT_METRICS;
		}
		/* keras_api/metrics/N of a Keras model. */
		int32_t api = child(t, i, "keras_api");
		if (api >= 0 && is_keras_model_or_root(t, i)) {
			int32_t ms = child(t, (size_t)api, "metrics");
			const SObj *mo = ms >= 0 ? t->og->nodes[ms] : NULL;
			for (size_t k = 0; mo && k < mo->n_children; k++) {
				int32_t c = mo->children[k]->node_id;
				if (id_ok(t, c) && c != 0 && !t->seed[c] && is_user(t->og->nodes[c], NULL))
					t->seed[c] = CAT_METRICS;
			}
		}
	}
}

/* ------------------------------------------------------- object reachability */

/* Calls visit(t, j) for every object i leads to. */
#define FOR_EDGES(t, i, j, body)                                                                       \
	do {                                                                                               \
		const SObj *o_ = (t)->og->nodes[i];                                                            \
		for (size_t k_ = 0; k_ < o_->n_children; k_++) {                                               \
			int32_t j = o_->children[k_]->node_id;                                                     \
			if (id_ok(t, j)) { body; }                                                                 \
		}                                                                                              \
		for (size_t k_ = 0; k_ < o_->n_dependencies; k_++) {                                           \
			int32_t j = o_->dependencies[k_]->node_id;                                                 \
			if (id_ok(t, j)) { body; }                                                                 \
		}                                                                                              \
		for (size_t k_ = 0; k_ < o_->n_slot_variables; k_++) {                                         \
			int32_t j = o_->slot_variables[k_]->slot_variable_node_id;                                 \
			if (id_ok(t, j)) { body; }                                                                 \
		}                                                                                              \
		for (size_t k_ = 0; k_ < o_->n_saveable_objects; k_++) {                                       \
			const Tensorflow__SaveableObject *s_ = o_->saveable_objects[k_]->value;                    \
			if (!s_)                                                                                   \
				continue;                                                                              \
			int32_t j = s_->save_function;                                                             \
			if (j > 0 && id_ok(t, j)) { body; }                                                        \
			j = s_->restore_function;                                                                  \
			if (j > 0 && id_ok(t, j)) { body; }                                                        \
		}                                                                                              \
	} while (0)

/* kept[] = objects reachable from the root without entering a seed. */
static void reach_avoiding_seeds(ts *t)
{
	memset(t->kept, 0, t->n);
	size_t head = 0, tail = 0;
	t->kept[0] = 1;
	t->queue[tail++] = 0;
	while (head < tail) {
		size_t i = t->queue[head++];
		FOR_EDGES(t, i, j, {
			if (!t->kept[j] && !t->seed[j]) {
				t->kept[j] = 1;
				t->queue[tail++] = (size_t)j;
			}
		});
	}
}

/* del[] = reachable from the seeds but not kept; cat[] = first seed's category. */
static void removal_set(ts *t)
{
	memset(t->del, 0, t->n);
	memset(t->cat, 0, t->n);
	size_t head = 0, tail = 0;
	/* Kept objects (keep[]: a path to something the serving graph uses)
	 * are walked through but not removed. */
	for (int c = 1; c < N_CAT; c++) /* optimizer first, then metrics, ... */
		for (size_t i = 0; i < t->n; i++)
			if (t->seed[i] == c && !t->kept[i] && !t->cat[i]) {
				t->cat[i] = (uint8_t)c;
				t->queue[tail++] = i;
			}
	while (head < tail) {
		size_t i = t->queue[head++];
		t->del[i] = !t->keep[i];
		FOR_EDGES(t, i, j, {
			if (!t->kept[j] && !t->cat[j] && j != 0) {
				t->cat[j] = t->cat[i];
				t->queue[tail++] = (size_t)j;
			}
		});
	}
}

/* parent[] along the first (breadth-first) path from the root. */
static void first_parents(ts *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->parent[i] = -1;
	uint8_t *seen = t->kept; /* scratch, recomputed before use */
	memset(seen, 0, t->n);
	size_t head = 0, tail = 0;
	seen[0] = 1;
	t->queue[tail++] = 0;
	while (head < tail) {
		size_t i = t->queue[head++];
		FOR_EDGES(t, i, j, {
			if (!seen[j]) {
				seen[j] = 1;
				t->parent[j] = (int32_t)i;
				t->queue[tail++] = (size_t)j;
			}
		});
	}
}

/* Keeps object i and the path to it; 1 if that changed anything. */
static int keep_with_path(ts *t, size_t i)
{
	int changed = 0;
	for (int64_t k = (int64_t)i; k > 0 && !t->keep[k]; k = t->parent[k]) {
		t->keep[k] = 1;
		changed = 1;
	}
	return changed;
}

/* ---------------------------------------------------------- call graph */

static void mark_fn(ts *t, const char *name, size_t *stack, size_t *sp)
{
	int64_t f = fn_index(t, name);
	if (f >= 0 && !t->fn_reach[f]) {
		t->fn_reach[f] = 1;
		stack[(*sp)++] = (size_t)f;
	}
}

static void mark_node_calls(ts *t, const Tensorflow__NodeDef *nd, size_t *stack, size_t *sp)
{
	mark_fn(t, nd->op, stack, sp);
	for (size_t a = 0; a < nd->n_attr; a++) {
		const Tensorflow__AttrValue *v = nd->attr[a]->value;
		if (!v)
			continue;
		if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && v->func)
			mark_fn(t, v->func->name, stack, sp);
		if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list)
			for (size_t k = 0; k < v->list->n_func; k++)
				mark_fn(t, v->list->func[k]->name, stack, sp);
	}
}

/* Extends fn_reach[] (with the stack's entries already marked) over calls
 * and registered gradients. */
static void close_calls(ts *t, size_t *stack, size_t sp)
{
	while (sp > 0) {
		size_t f = stack[--sp];
		const Tensorflow__FunctionDef *fd = t->lib->function[f];
		for (size_t i = 0; i < fd->n_node_def; i++)
			mark_node_calls(t, fd->node_def[i], stack, &sp);
		for (size_t g = 0; g < t->lib->n_gradient; g++)
			if (!strcmp(t->lib->gradient[g]->function_name, t->fnames[f]))
				mark_fn(t, t->lib->gradient[g]->gradient_func, stack, &sp);
	}
}

/* fn_reach[] = functions the kept model uses: top-level calls, kept
 * objects' functions, concrete functions not going, and functions the
 * going ones do not lead to (left as they are). */
static int reach_kept_functions(ts *t)
{
	size_t *stack = malloc((t->nf ? t->nf : 1) * sizeof *stack), sp = 0;
	if (!stack)
		return tfs_nomem();
	/* What the going functions lead to. */
	memset(t->fn_reach, 0, t->nf);
	for (size_t f = 0; f < t->nf; f++)
		if (t->fn_in_c[f]) {
			t->fn_reach[f] = 1;
			stack[sp++] = f;
		}
	close_calls(t, stack, sp);
	uint8_t *from_c = malloc(t->nf ? t->nf : 1);
	if (!from_c) {
		free(stack);
		return tfs_nomem();
	}
	memcpy(from_c, t->fn_reach, t->nf);
	memset(t->fn_reach, 0, t->nf);
	sp = 0;
	for (size_t f = 0; f < t->nf; f++)
		if (!from_c[f]) {
			t->fn_reach[f] = 1;
			stack[sp++] = f;
		}
	const Tensorflow__GraphDef *g = t->mg->graph_def;
	for (size_t i = 0; i < g->n_node; i++)
		mark_node_calls(t, g->node[i], stack, &sp);
	for (size_t i = 0; i < t->og->n_concrete_functions; i++) {
		int64_t f = fn_index(t, t->og->concrete_functions[i]->key);
		if (f >= 0 && !t->fn_in_c[f])
			mark_fn(t, t->og->concrete_functions[i]->key, stack, &sp);
	}
	for (size_t i = 0; i < t->n; i++) {
		const SObj *o = t->og->nodes[i];
		if (t->del[i])
			continue;
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION && o->function)
			for (size_t k = 0; k < o->function->n_concrete_functions; k++)
				mark_fn(t, o->function->concrete_functions[k], stack, &sp);
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION && o->bare_concrete_function)
			mark_fn(t, o->bare_concrete_function->concrete_function_name, stack, &sp);
	}
	close_calls(t, stack, sp);
	for (size_t f = 0; f < t->nf; f++)
		t->fn_del[f] = from_c[f] && !t->fn_reach[f];
	free(from_c);
	free(stack);
	return 0;
}

/* ------------------------------------------------------------- protection */

/* Objects captured by the functions signatures, the init op and every other
 * top-level call use: protect[]. */
static int find_protected(ts *t)
{
	memset(t->protect, 0, t->n);
	size_t *stack = malloc((t->nf ? t->nf : 1) * sizeof *stack), sp = 0;
	if (!stack)
		return tfs_nomem();
	memset(t->fn_reach, 0, t->nf);
	tfs_traced_saver ts_;
	tfs_traced_saver_find(t->m, &ts_);
	const Tensorflow__GraphDef *g = t->mg->graph_def;
	for (size_t i = 0; i < g->n_node; i++)
		if (g->node[i] != ts_.save_call && g->node[i] != ts_.restore_call)
			mark_node_calls(t, g->node[i], stack, &sp);
	/* Signature functions of the object graph. */
	for (size_t i = 0; i < t->n; i++) {
		const SObj *o = t->og->nodes[i];
		if (!is_user(o, "signature_map"))
			continue;
		for (size_t k = 0; k < o->n_children; k++) {
			int32_t c = o->children[k]->node_id;
			if (id_ok(t, c) && t->og->nodes[c]->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION)
				mark_fn(t, t->og->nodes[c]->bare_concrete_function->concrete_function_name, stack, &sp);
		}
	}
	close_calls(t, stack, sp);
	free(stack);
	for (size_t f = 0; f < t->nf; f++) {
		if (!t->fn_reach[f])
			continue;
		const Tensorflow__SavedConcreteFunction *cf = concrete(t, t->fnames[f]);
		for (size_t k = 0; cf && k < cf->n_bound_inputs; k++)
			if (id_ok(t, cf->bound_inputs[k]))
				t->protect[cf->bound_inputs[k]] = 1;
	}
	return 0;
}

/* --------------------------------------------------------- the fixed point */

/* Marks fn_in_c[] (functions that go) and adds function objects capturing
 * removed objects as seeds; 1 if a seed was added. */
static int capturing_functions(ts *t)
{
	memset(t->fn_in_c, 0, t->nf);
	for (size_t i = 0; i < t->og->n_concrete_functions; i++) {
		const Tensorflow__SavedConcreteFunction *cf = t->og->concrete_functions[i]->value;
		int64_t f = fn_index(t, t->og->concrete_functions[i]->key);
		for (size_t k = 0; cf && f >= 0 && k < cf->n_bound_inputs; k++)
			if (id_ok(t, cf->bound_inputs[k]) && t->del[cf->bound_inputs[k]])
				t->fn_in_c[f] = 1;
	}
	int added = 0;
	for (size_t i = 0; i < t->n; i++) {
		const SObj *o = t->og->nodes[i];
		int fn_obj = o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION && o->function;
		int bare = o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION && o->bare_concrete_function;
		int captures = 0;
		for (size_t k = 0; fn_obj && k < o->function->n_concrete_functions; k++) {
			int64_t f = fn_index(t, o->function->concrete_functions[k]);
			captures |= f >= 0 && t->fn_in_c[f];
		}
		if (bare) {
			int64_t f = fn_index(t, o->bare_concrete_function->concrete_function_name);
			captures |= f >= 0 && t->fn_in_c[f];
		}
		if (t->del[i]) {
			/* Removed function objects take their functions along. */
			for (size_t k = 0; fn_obj && k < o->function->n_concrete_functions; k++) {
				int64_t f = fn_index(t, o->function->concrete_functions[k]);
				if (f >= 0)
					t->fn_in_c[f] = 1;
			}
			if (bare) {
				int64_t f = fn_index(t, o->bare_concrete_function->concrete_function_name);
				if (f >= 0)
					t->fn_in_c[f] = 1;
			}
		} else if (captures && !t->keep[i] && i != 0 && !t->seed[i]) {
			t->seed[i] = CAT_FUNCTION;
			added = 1;
		}
	}
	return added;
}

/* ------------------------------------------------------ top-level handles */

/* Top-level node names (ports stripped) that references point at. */
static char *ref_name(const char *input)
{
	tfs_ref r;
	tfs_ref_parse(input, &r);
	return strndup(r.name, r.name_len);
}

/* For each object: the top-level variable handle its checkpoint value is
 * restored into (through the traced restore function), or NULL. */
static int object_handles(ts *t, char **handle)
{
	tfs_traced_saver s;
	tfs_traced_saver_find(t->m, &s);
	if (!s.restore_fn || !t->m->ckpt_graph)
		return 0;
	int32_t *cmap = malloc(t->n * sizeof *cmap);
	if (!cmap)
		return tfs_nomem();
	int rc = tfs_objgraph_ckpt_map(t->m, cmap);
	Tensorflow__FunctionDef *f = s.restore_fn;
	tfs_nodes l = tfs_function_nodes(f);
	for (size_t i = 0; rc == 0 && i < f->n_node_def; i++) {
		Tensorflow__NodeDef *a = f->node_def[i];
		if (strcmp(a->op, "AssignVariableOp") || a->n_input < 2)
			continue;
		/* Argument position of the handle. */
		size_t arg = f->signature->n_input_arg;
		for (size_t k = 0; k < f->signature->n_input_arg; k++)
			if (!strcmp(f->signature->input_arg[k]->name, a->input[0]))
				arg = k;
		if (arg >= f->signature->n_input_arg || arg >= s.restore_call->n_input)
			continue;
		/* Follow Identity back to RestoreV2:tensors:j. */
		const char *in = a->input[1];
		const Tensorflow__NodeDef *p = NULL;
		for (int hops = 0; hops < 8; hops++) {
			char *nm = ref_name(in);
			if (!nm) {
				rc = tfs_nomem();
				break;
			}
			p = tfs_nodes_find(l, nm);
			free(nm);
			if (!p || strcmp(p->op, "Identity") || p->n_input < 1)
				break;
			in = p->input[0];
		}
		if (rc < 0 || !p || strcmp(p->op, "RestoreV2"))
			continue;
		const char *colon = strrchr(in, ':');
		long j = colon ? strtol(colon + 1, NULL, 10) : 0;
		char *cn = ref_name(p->input[1]);
		if (!cn) {
			rc = tfs_nomem();
			break;
		}
		const Tensorflow__NodeDef *c = tfs_nodes_find(l, cn);
		free(cn);
		const Tensorflow__AttrValue *v = c ? tfs_node_attr(c, "value") : NULL;
		if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR || j < 0 ||
		    (size_t)j >= v->tensor->n_string_val)
			continue;
		const ProtobufCBinaryData *key = &v->tensor->string_val[j];
		/* The object whose checkpoint node has this key. */
		for (size_t o = 0; o < t->n; o++) {
			if (cmap[o] < 0 || handle[o])
				continue;
			const Tensorflow__TrackableObjectGraph__TrackableObject *co = t->m->ckpt_graph->nodes[cmap[o]];
			for (size_t at = 0; at < co->n_attributes; at++) {
				const char *ck = co->attributes[at]->checkpoint_key;
				if (strlen(ck) == key->len && !memcmp(ck, key->data, key->len)) {
					handle[o] = ref_name(s.restore_call->input[arg]);
					if (!handle[o])
						rc = tfs_nomem();
					break;
				}
			}
		}
	}
	free(cmap);
	return rc;
}

/* The top-level graph as an index: names sorted, producers of inputs. */
typedef struct topo {
	Tensorflow__GraphDef *g;
	size_t n;
	size_t *by_name;   /* node indexes sorted by name */
	size_t *in_off;    /* CSR: producers of node i are in_idx[in_off[i] .. in_off[i+1]) */
	int64_t *in_idx;
	size_t *out_off;   /* CSR: consumers */
	size_t *out_idx;
} topo;

static int cmp_node_name(const void *a, const void *b, void *ctx)
{
	Tensorflow__NodeDef *const *nodes = ctx;
	return strcmp(nodes[*(const size_t *)a]->name, nodes[*(const size_t *)b]->name);
}

static int64_t topo_find(const topo *x, const char *name, size_t len)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = x->g->node[x->by_name[mid]]->name;
		size_t kl = strlen(k);
		int c = memcmp(k, name, kl < len ? kl : len);
		if (c == 0)
			c = kl < len ? -1 : kl > len;
		if (c == 0)
			return (int64_t)x->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Node a tensor or node name ("x", "x:1", "^x") refers to, or -1. */
static int64_t topo_ref(const topo *x, const char *ref)
{
	tfs_ref r;
	tfs_ref_parse(ref, &r);
	return topo_find(x, r.name, r.name_len);
}

static void topo_free(topo *x)
{
	free(x->by_name);
	free(x->in_off);
	free(x->in_idx);
	free(x->out_off);
	free(x->out_idx);
	memset(x, 0, sizeof *x);
}

static int topo_build(topo *x, Tensorflow__GraphDef *g)
{
	memset(x, 0, sizeof *x);
	x->g = g;
	x->n = g->n_node;
	size_t n = x->n, ne = 0;
	for (size_t i = 0; i < n; i++)
		ne += g->node[i]->n_input;
	x->by_name = malloc((n ? n : 1) * sizeof *x->by_name);
	x->in_off = calloc(n + 1, sizeof *x->in_off);
	x->in_idx = malloc((ne ? ne : 1) * sizeof *x->in_idx);
	x->out_off = calloc(n + 2, sizeof *x->out_off);
	x->out_idx = malloc((ne ? ne : 1) * sizeof *x->out_idx);
	if (!x->by_name || !x->in_off || !x->in_idx || !x->out_off || !x->out_idx) {
		topo_free(x);
		return tfs_nomem();
	}
	for (size_t i = 0; i < n; i++)
		x->by_name[i] = i;
	tfs_qsort_r(x->by_name, n, sizeof *x->by_name, cmp_node_name, g->node);
	size_t e = 0;
	for (size_t i = 0; i < n; i++) {
		x->in_off[i] = e;
		for (size_t k = 0; k < g->node[i]->n_input; k++) {
			int64_t p = topo_ref(x, g->node[i]->input[k]);
			x->in_idx[e++] = p;
			if (p >= 0)
				x->out_off[p + 2]++;
		}
	}
	x->in_off[n] = e;
	for (size_t i = 0; i < n; i++)
		x->out_off[i + 2] += x->out_off[i + 1];
	for (size_t i = 0; i < n; i++)
		for (size_t k = x->in_off[i]; k < x->in_off[i + 1]; k++)
			if (x->in_idx[k] >= 0)
				x->out_idx[x->out_off[x->in_idx[k] + 1]++] = i;
	return 0;
}
#define TOPO_OUT_BEGIN(x, i) ((x)->out_off[i])
#define TOPO_OUT_END(x, i) ((x)->out_off[(i) + 1])

static void live_root(const topo *x, const char *name, uint8_t *live, size_t *stack, size_t *sp)
{
	int64_t i = name ? topo_ref(x, name) : -1;
	if (i >= 0 && !live[i]) {
		live[i] = 1;
		stack[(*sp)++] = (size_t)i;
	}
}

/* live[] = top-level nodes a loader may run or read: backwards from the
 * signatures, collections, assets, object-graph constants and the saver
 * (unless skip_saver; the saver calls themselves are then not entered). */
static int top_live(const ts *t, const topo *x, int skip_saver, uint8_t *live)
{
	const Tensorflow__MetaGraphDef *mg = t->mg;
	memset(live, 0, x->n ? x->n : 1);
	size_t *stack = malloc((x->n ? x->n : 1) * sizeof *stack), sp = 0;
	if (!stack)
		return tfs_nomem();
	tfs_traced_saver s;
	tfs_traced_saver_find(t->m, &s);
	if (skip_saver)
		for (size_t i = 0; i < x->n; i++)
			if (x->g->node[i] == s.save_call || x->g->node[i] == s.restore_call)
				live[i] = 2; /* never entered */
	for (size_t i = 0; i < mg->n_signature_def; i++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[i]->value;
		for (size_t k = 0; sd && k < sd->n_inputs; k++)
			if (sd->inputs[k]->value && sd->inputs[k]->value->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME)
				live_root(x, sd->inputs[k]->value->name, live, stack, &sp);
		for (size_t k = 0; sd && k < sd->n_outputs; k++)
			if (sd->outputs[k]->value && sd->outputs[k]->value->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME)
				live_root(x, sd->outputs[k]->value->name, live, stack, &sp);
	}
	for (size_t i = 0; i < mg->n_collection_def; i++) {
		const Tensorflow__CollectionDef *c = mg->collection_def[i]->value;
		if (c && c->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && c->node_list)
			for (size_t k = 0; k < c->node_list->n_value; k++)
				live_root(x, c->node_list->value[k], live, stack, &sp);
		if (c && c->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST && c->bytes_list)
			for (size_t k = 0; k < c->bytes_list->n_value; k++) {
				Tensorflow__VariableDef *v = tensorflow__variable_def__unpack(NULL, c->bytes_list->value[k].len,
				                                                              c->bytes_list->value[k].data);
				if (!v)
					continue;
				live_root(x, v->variable_name, live, stack, &sp);
				live_root(x, v->initializer_name, live, stack, &sp);
				live_root(x, v->snapshot_name, live, stack, &sp);
				tensorflow__variable_def__free_unpacked(v, NULL);
			}
	}
	for (size_t i = 0; i < mg->n_asset_file_def; i++)
		if (mg->asset_file_def[i]->tensor_info &&
		    mg->asset_file_def[i]->tensor_info->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME)
			live_root(x, mg->asset_file_def[i]->tensor_info->name, live, stack, &sp);
	for (size_t i = 0; i < t->og->n_nodes; i++) {
		const SObj *o = t->og->nodes[i];
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_CONSTANT && o->constant)
			live_root(x, o->constant->operation, live, stack, &sp);
	}
	if (mg->saver_def && !skip_saver) {
		live_root(x, mg->saver_def->filename_tensor_name, live, stack, &sp);
		live_root(x, mg->saver_def->save_tensor_name, live, stack, &sp);
		live_root(x, mg->saver_def->restore_op_name, live, stack, &sp);
	} else if (mg->saver_def) {
		live_root(x, mg->saver_def->filename_tensor_name, live, stack, &sp);
	}
	while (sp > 0) {
		size_t i = stack[--sp];
		for (size_t k = x->in_off[i]; k < x->in_off[i + 1]; k++) {
			int64_t p = x->in_idx[k];
			if (p >= 0 && !live[p]) {
				live[p] = 1;
				stack[sp++] = (size_t)p;
			}
		}
	}
	free(stack);
	return 0;
}

/* Removes the top-level nodes connected to the handles that fed the
 * removed saver arguments (names[]) through nodes no loader runs: the
 * variable handles, their reads and initializers. Returns how many
 * VarHandleOps went. */
static int remove_handles(ts *t, char **names, size_t n_names)
{
	Tensorflow__GraphDef *g = t->mg->graph_def;
	topo x;
	TFS_TRY(topo_build(&x, g));
	size_t n = x.n;
	uint8_t *live = malloc(n ? n : 1), *del = calloc(n ? n : 1, 1);
	size_t *stack = malloc((n ? n : 1) * sizeof *stack), sp = 0;
	int rc = 0, removed = 0;
	if (!live || !del || !stack) {
		rc = tfs_nomem();
		goto done;
	}
	if ((rc = top_live(t, &x, 0, live)) < 0)
		goto done;
	for (size_t c = 0; c < n_names; c++) {
		int64_t h = topo_find(&x, names[c], strlen(names[c]));
		if (h >= 0 && !live[h] && !del[h]) {
			del[h] = 1;
			stack[sp++] = (size_t)h;
		}
	}
	while (sp > 0) {
		size_t i = stack[--sp];
		for (size_t k = x.in_off[i]; k < x.in_off[i + 1]; k++) {
			int64_t p = x.in_idx[k];
			if (p >= 0 && !live[p] && !del[p]) {
				del[p] = 1;
				stack[sp++] = (size_t)p;
			}
		}
		for (size_t k = TOPO_OUT_BEGIN(&x, i); k < TOPO_OUT_END(&x, i); k++) {
			size_t c = x.out_idx[k];
			if (!live[c] && !del[c]) {
				del[c] = 1;
				stack[sp++] = c;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		removed += del[i] && !strcmp(g->node[i]->op, "VarHandleOp");
	rc = tfs_nodes_remove(tfs_graph_nodes(g), del, "graph");
done:
	free(live);
	free(del);
	free(stack);
	topo_free(&x);
	return rc < 0 ? rc : removed;
}

/* ------------------------------------------------------------ the saver */

/* Removes the keys from the traced save/restore functions, their dead
 * arguments, the call inputs and the variable handles that fed them. */
static int edit_saver(ts *t, tfs_keyset *keys, int *handles_removed)
{
	tfs_traced_saver s;
	tfs_traced_saver_find(t->m, &s);
	*handles_removed = 0;
	if (!s.save_fn && !s.restore_fn)
		return keys->n ? tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1,
		                         "the model has no traced save/restore functions to remove keys from")
		               : 0;
	char **names = NULL;
	size_t n_names = 0;
	int rc = 0;
	Tensorflow__FunctionDef *fns[2] = { s.save_fn, s.restore_fn };
	Tensorflow__NodeDef *calls[2] = { s.save_call, s.restore_call };
	for (int w = 0; w < 2 && rc == 0; w++) {
		Tensorflow__FunctionDef *f = fns[w];
		if (!f)
			continue;
		rc = tfs_saver_remove_keys(t->m, tfs_function_nodes(f), f->signature->name, keys);
		if (rc < 0)
			break;
		rc = 0;
		/* Call inputs, before the dead-argument removal drops them. */
		Tensorflow__NodeDef *call = calls[w];
		size_t n_in = call->n_input;
		char **before = calloc(n_in ? n_in : 1, sizeof *before);
		if (!before) {
			rc = tfs_nomem();
			break;
		}
		for (size_t k = 0; k < n_in && rc == 0; k++)
			if (!(before[k] = ref_name(call->input[k])))
				rc = tfs_nomem();
		uint8_t *gone = NULL;
		size_t n_args = 0;
		if (rc == 0)
			rc = tfs_function_remove_dead_args(t->m, f, &gone, &n_args);
		for (size_t k = 0; rc >= 0 && gone && k < n_args && k < n_in; k++) {
			if (!gone[k])
				continue;
			char **v = realloc(names, (n_names + 1) * sizeof *v);
			if (!v) {
				rc = tfs_nomem();
				break;
			}
			names = v;
			names[n_names++] = before[k];
			before[k] = NULL;
		}
		for (size_t k = 0; k < n_in; k++)
			free(before[k]);
		free(before);
		free(gone);
		if (rc > 0)
			rc = 0;
	}
	if (rc >= 0 && n_names)
		rc = remove_handles(t, names, n_names);
	if (rc >= 0)
		*handles_removed = rc;
	for (size_t k = 0; k < n_names; k++)
		free(names[k]);
	free(names);
	return rc < 0 ? rc : 0;
}

/* Replaces the exported graph's copy of the checkpoint object graph (the
 * Const fed to the traced save function) with the edited one, so a save
 * through saver_def writes a consistent checkpoint. */
static int refresh_embedded_ckpt_graph(ts *t, size_t old_nodes)
{
	tfs_traced_saver s;
	tfs_traced_saver_find(t->m, &s);
	if (!s.save_fn || !t->m->ckpt_graph)
		return 0;
	Tensorflow__FunctionDef *f = s.save_fn;
	for (size_t i = 0; i < f->n_node_def; i++) {
		Tensorflow__NodeDef *sv = f->node_def[i];
		if (strcmp(sv->op, "SaveV2") || sv->n_input < 3)
			continue;
		char *cn = ref_name(sv->input[1]);
		if (!cn)
			return tfs_nomem();
		Tensorflow__NodeDef *c = tfs_nodes_find(tfs_function_nodes(f), cn);
		free(cn);
		const Tensorflow__AttrValue *v = c ? tfs_node_attr(c, "value") : NULL;
		if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR)
			continue;
		for (size_t k = 0; k < v->tensor->n_string_val && 3 + k < sv->n_input; k++) {
			const ProtobufCBinaryData *key = &v->tensor->string_val[k];
			if (key->len != strlen(TFS_OBJECT_GRAPH_KEY) || memcmp(key->data, TFS_OBJECT_GRAPH_KEY, key->len))
				continue;
			/* The tensor saved under it must be an argument of the function... */
			const char *in = sv->input[3 + k];
			size_t arg = f->signature->n_input_arg;
			for (size_t a = 0; a < f->signature->n_input_arg; a++)
				if (!strcmp(f->signature->input_arg[a]->name, in))
					arg = a;
			if (arg >= f->signature->n_input_arg || arg >= s.save_call->n_input)
				return 0;
			/* ...fed by a top-level string Const holding the old graph. */
			char *tn = ref_name(s.save_call->input[arg]);
			if (!tn)
				return tfs_nomem();
			Tensorflow__NodeDef *tc = tfs_nodes_find(tfs_graph_nodes(t->mg->graph_def), tn);
			free(tn);
			Tensorflow__AttrValue *tv = tc && !strcmp(tc->op, "Const") ? tfs_node_attr(tc, "value") : NULL;
			if (!tv || tv->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR || tv->tensor->n_string_val != 1)
				return 0;
			ProtobufCBinaryData *sd = &tv->tensor->string_val[0];
			Tensorflow__TrackableObjectGraph *old = tensorflow__trackable_object_graph__unpack(NULL, sd->len, sd->data);
			int same = old && old->n_nodes == old_nodes;
			if (old)
				tensorflow__trackable_object_graph__free_unpacked(old, NULL);
			if (!same)
				return 0;
			size_t n = tensorflow__trackable_object_graph__get_packed_size(t->m->ckpt_graph);
			uint8_t *b = malloc(n ? n : 1);
			if (!b)
				return tfs_nomem();
			tensorflow__trackable_object_graph__pack(t->m->ckpt_graph, b);
			free(sd->data);
			sd->data = b;
			sd->len = n;
			return 0;
		}
	}
	return 0;
}

/* *out = 1 if some SaveV2 of the traced save function saves only keys of
 * objects about to be removed. */
static int save_shard_emptied(ts *t, int *out)
{
	*out = 0;
	tfs_traced_saver s;
	tfs_traced_saver_find(t->m, &s);
	if (!s.save_fn || !t->m->ckpt_graph)
		return 0;
	int32_t *cmap = malloc(t->n * sizeof *cmap);
	if (!cmap)
		return tfs_nomem();
	int rc = tfs_objgraph_ckpt_map(t->m, cmap);
	tfs_keyset gone;
	tfs_keyset_init(&gone);
	for (size_t i = 0; rc == 0 && i < t->n; i++) {
		if (!t->del[i] || cmap[i] < 0 || (size_t)cmap[i] >= t->m->ckpt_graph->n_nodes)
			continue;
		const Tensorflow__TrackableObjectGraph__TrackableObject *co = t->m->ckpt_graph->nodes[cmap[i]];
		for (size_t a = 0; a < co->n_attributes && rc == 0; a++)
			rc = tfs_keyset_add(&gone, co->attributes[a]->checkpoint_key);
	}
	Tensorflow__FunctionDef *f = s.save_fn;
	for (size_t i = 0; rc == 0 && i < f->n_node_def && !*out; i++) {
		const Tensorflow__NodeDef *sv = f->node_def[i];
		if (strcmp(sv->op, "SaveV2") || sv->n_input < 2)
			continue;
		char *cn = ref_name(sv->input[1]);
		if (!cn) {
			rc = tfs_nomem();
			break;
		}
		const Tensorflow__NodeDef *c = tfs_nodes_find(tfs_function_nodes(f), cn);
		free(cn);
		const Tensorflow__AttrValue *v = c ? tfs_node_attr(c, "value") : NULL;
		if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR || !v->tensor->n_string_val)
			continue;
		size_t kept = 0;
		for (size_t k = 0; k < v->tensor->n_string_val && rc == 0; k++) {
			char *key = strndup((const char *)v->tensor->string_val[k].data, v->tensor->string_val[k].len);
			if (!key) {
				rc = tfs_nomem();
				break;
			}
			kept += !tfs_keyset_has(&gone, key);
			free(key);
		}
		*out = rc == 0 && kept == 0;
	}
	tfs_keyset_free(&gone);
	free(cmap);
	return rc;
}

/* ------------------------------------------------------------------ run */

static void ts_free(ts *t)
{
	free(t->seed);
	free(t->keep);
	free(t->del);
	free(t->cat);
	free(t->kept);
	free(t->parent);
	free(t->queue);
	free(t->fn_in_c);
	free(t->fn_reach);
	free(t->fn_del);
	free(t->fnames);
	free(t->fidx);
	free(t->protect);
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	ctx->items = 0;
	if (m->sm->n_meta_graphs != 1 || !m->sm->meta_graphs[0]->object_graph_def ||
	    !m->sm->meta_graphs[0]->graph_def) {
		snprintf(ctx->summary, sizeof ctx->summary, "no object graph (TF1 model): nothing to do");
		return 0;
	}
	ts t = { 0 };
	t.m = m;
	t.mg = m->sm->meta_graphs[0];
	t.og = t.mg->object_graph_def;
	t.lib = t.mg->graph_def->library;
	t.n = t.og->n_nodes;
	t.nf = t.lib ? t.lib->n_function : 0;
	if (t.n == 0) {
		snprintf(ctx->summary, sizeof ctx->summary, "empty object graph: nothing to do");
		return 0;
	}
	size_t an = t.n, af = t.nf ? t.nf : 1;
	t.seed = calloc(an, 1);
	t.keep = calloc(an, 1);
	t.del = calloc(an, 1);
	t.cat = calloc(an, 1);
	t.kept = calloc(an, 1);
	t.protect = calloc(an, 1);
	t.parent = malloc(an * sizeof *t.parent);
	t.queue = malloc(an * sizeof *t.queue);
	t.fn_in_c = calloc(af, 1);
	t.fn_reach = calloc(af, 1);
	t.fn_del = calloc(af, 1);
	t.fnames = malloc(af * sizeof *t.fnames);
	t.fidx = malloc(af * sizeof *t.fidx);
	char **handle = calloc(an, sizeof *handle);
	uint8_t *noted = calloc(an, 1);
	uint8_t *was_removed = NULL;
	tfs_keyset keys;
	tfs_keyset_init(&keys);
	int rc = 0;
	if (!t.seed || !t.keep || !t.del || !t.cat || !t.kept || !t.protect || !t.parent || !t.queue || !t.fn_in_c ||
	    !t.fn_reach || !t.fn_del || !t.fnames || !t.fidx || !handle || !noted) {
		rc = tfs_nomem();
		goto done;
	}
	for (size_t f = 0; f < t.nf; f++) {
		t.fnames[f] = t.lib->function[f]->signature ? t.lib->function[f]->signature->name : "";
		t.fidx[f] = f;
	}
	tfs_qsort_r(t.fidx, t.nf, sizeof *t.fidx, cmp_name, t.fnames);

	/* keras_metadata.pb numbers objects and names Keras objects by path;
	 * prune drops it unless objects are kept. If it stays, keep every object
	 * id (removed objects become empty placeholders) and the Keras metrics,
	 * which tf_keras looks up by path, so it can still reload the model. */
	int prune = tfshrink_pass_find("prune");
	int prune_drops = prune >= 0 && !(ctx->opts->skip & ((uint64_t)1 << prune)) && !ctx->opts->keep_objects;
	for (size_t i = 0; i < m->n_files; i++)
		t.keras_meta |= !strcmp(m->files[i].rel, "keras_metadata.pb") && !tfs_model_file_removed(m, i);
	t.keras_meta &= !prune_drops;
	find_seeds(&t);
	if (t.keras_meta) {
		size_t n_metrics = 0;
		for (size_t i = 0; i < t.n; i++)
			if (t.seed[i] == CAT_METRICS) {
				t.seed[i] = CAT_NONE;
				n_metrics++;
			}
		if (n_metrics && (rc = tfs_model_note(m, "training-state: kept %zu Keras metric object(s): keras_metadata.pb "
		                                         "stays and tf_keras reloads metrics by path",
		                                      n_metrics)) < 0)
			goto done;
	}
	first_parents(&t);
	if ((rc = find_protected(&t)) < 0 || (rc = object_handles(&t, handle)) < 0)
		goto done;
	{
		/* Handles a loader reaches other than through the saver stay. */
		topo x;
		if ((rc = topo_build(&x, t.mg->graph_def)) < 0)
			goto done;
		uint8_t *live = malloc(x.n ? x.n : 1);
		rc = live ? top_live(&t, &x, 1, live) : tfs_nomem();
		for (size_t i = 0; rc == 0 && i < t.n; i++) {
			int64_t h = handle[i] ? topo_find(&x, handle[i], strlen(handle[i])) : -1;
			if (h >= 0 && live[h] == 1)
				t.protect[i] = 1;
		}
		free(live);
		topo_free(&x);
		if (rc < 0)
			goto done;
	}

	/* Removal set, fixed point over protection and capturing functions. */
	for (int round = 0; round < 64; round++) {
		/* Functions capturing what goes go too (recomputed every round). */
		for (size_t i = 0; i < t.n; i++)
			if (t.seed[i] == CAT_FUNCTION)
				t.seed[i] = CAT_NONE;
		do {
			reach_avoiding_seeds(&t);
			removal_set(&t);
		} while (capturing_functions(&t));
		int changed = 0;
		for (size_t i = 0; i < t.n; i++)
			if (t.del[i] && t.protect[i] && keep_with_path(&t, i)) {
				changed = 1;
				noted[i] = 1;
			}
		if (changed)
			continue;
		if ((rc = reach_kept_functions(&t)) < 0)
			goto done;
		/* A going function that a kept one calls: keep what it captures. */
		for (size_t f = 0; f < t.nf; f++) {
			if (!t.fn_in_c[f] || !t.fn_reach[f])
				continue;
			const Tensorflow__SavedConcreteFunction *cf = concrete(&t, t.fnames[f]);
			for (size_t k = 0; cf && k < cf->n_bound_inputs; k++) {
				int32_t b = cf->bound_inputs[k];
				if (id_ok(&t, b) && t.del[b] && !t.protect[b]) {
					t.protect[b] = 1;
					changed = 1;
				}
			}
			/* A removed function object whose function is still called elsewhere. */
			for (size_t i = 0; i < t.n; i++) {
				const SObj *o = t.og->nodes[i];
				if (!t.del[i] || t.keep[i])
					continue;
				int mine = 0;
				if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION && o->function)
					for (size_t k = 0; k < o->function->n_concrete_functions; k++)
						mine |= !strcmp(o->function->concrete_functions[k], t.fnames[f]);
				if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION)
					mine |= !strcmp(o->bare_concrete_function->concrete_function_name, t.fnames[f]);
				if (mine && !t.protect[i]) {
					t.protect[i] = 1;
					changed = 1;
				}
			}
		}
		if (!changed)
			break;
	}
	for (size_t i = 0; i < t.n; i++) {
		const SObj *o = t.og->nodes[i];
		if (noted[i] && is_var(o) &&
		    (rc = tfs_model_note(m, "training-state: kept %s variable '%s' (object %zu): the serving graph uses it",
		                         t.cat[i] == CAT_METRICS ? "metric" : t.cat[i] == CAT_COUNTER ? "counter" : "optimizer",
		                         o->variable->name ? o->variable->name : "", i)) < 0)
			goto done;
	}

	size_t n_del = 0, vars[N_CAT] = { 0 }, n_fns = 0;
	for (size_t i = 0; i < t.n; i++) {
		n_del += t.del[i];
		if (t.del[i] && is_var(t.og->nodes[i]))
			vars[t.cat[i]]++;
	}
	for (size_t f = 0; f < t.nf; f++)
		n_fns += t.fn_del[f];
	if (n_del == 0) {
		snprintf(ctx->summary, sizeof ctx->summary, "no training state found");
		goto done;
	}

	/* A save shard holding nothing but training state would leave a SaveV2
	 * with no tensor (which TensorFlow rejects): leave such models alone. */
	{
		int empties = 0;
		if ((rc = save_shard_emptied(&t, &empties)) < 0)
			goto done;
		if (empties) {
			rc = tfs_model_note(m, "training-state: not removed: a save shard of the traced save function "
			                       "holds only training state");
			snprintf(ctx->summary, sizeof ctx->summary, "left alone: a save shard holds only training state");
			goto done;
		}
	}

	/* Bundle entries removed so far, to tell which the object graphs remove. */
	size_t nb = m->bundle ? m->bundle->n : 0;
	was_removed = calloc(nb ? nb : 1, 1);
	if (!was_removed) {
		rc = tfs_nomem();
		goto done;
	}
	for (size_t i = 0; i < nb; i++)
		was_removed[i] = (uint8_t)tfs_model_entry_removed(m, i);
	size_t old_ckpt_nodes = m->ckpt_graph ? m->ckpt_graph->n_nodes : 0;

	if (n_fns && (rc = tfs_library_remove(m, t.fn_del)) < 0)
		goto done;
	if ((rc = t.keras_meta ? tfs_objgraph_detach(m, t.del) : tfs_objgraph_remove(m, t.del)) < 0)
		goto done;
	size_t n_keys = 0;
	for (size_t i = 0; i < nb && rc == 0; i++)
		if (!was_removed[i] && tfs_model_entry_removed(m, i)) {
			char *k = strndup((const char *)m->bundle->e[i].key, m->bundle->e[i].key_len);
			rc = k ? tfs_keyset_add(&keys, k) : tfs_nomem();
			free(k);
			n_keys++;
		}
	if (rc < 0)
		goto done;
	int handles = 0;
	if ((rc = edit_saver(&t, &keys, &handles)) < 0)
		goto done;
	if (m->ckpt_graph_dirty && (rc = refresh_embedded_ckpt_graph(&t, old_ckpt_nodes)) < 0)
		goto done;
	size_t n_vars = 0;
	for (int c = 0; c < N_CAT; c++)
		n_vars += vars[c];
	char detail[160] = "";
	static const char *const cname[N_CAT] = { "other", "optimizer", "metrics", "save counter", "training functions" };
	for (int c = 0; c < N_CAT; c++) {
		if (!vars[c])
			continue;
		size_t l = strlen(detail);
		snprintf(detail + l, sizeof detail - l, "%s%s %zu", l ? ", " : "", cname[c], vars[c]);
	}
	char line[512];
	snprintf(line, sizeof line,
	         "removed %zu variable(s)%s%s%s, %zu checkpoint key(s), %zu object(s), %zu function(s), %d variable handle(s)",
	         n_vars, *detail ? " (" : "", detail, *detail ? ")" : "", n_keys, n_del, n_fns, handles);
	size_t ll = strlen(line) < sizeof ctx->summary - 1 ? strlen(line) : sizeof ctx->summary - 1;
	memcpy(ctx->summary, line, ll);
	ctx->summary[ll] = '\0';
	ctx->items = n_vars + n_fns;
done:
	for (size_t i = 0; handle && i < t.n; i++)
		free(handle[i]);
	free(handle);
	free(noted);
	free(was_removed);
	tfs_keyset_free(&keys);
	ts_free(&t);
	return rc;
}

TFS_PASS_DEFINE(training_state, "training-state", 10,
                "remove optimizer state, metrics, the save counter and training functions (TF2)", run);
