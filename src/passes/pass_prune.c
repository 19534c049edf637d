/*
 * pass_prune.c - the serving profile: keep only what the signatures, the init
 * op and the saver need; drop every other library function and object.
 *
 * What is kept (TF2 model: the first meta graph has an object graph)
 *  Functions: every function a top-level graph node names (signature calls,
 *  the init op's initializer calls, saver_def's traced save/restore calls);
 *  every function a kept object names (function objects' concrete functions,
 *  bare concrete functions, captured tensors' functions); and, transitively,
 *  every function a kept function names: func and list(func) attrs at any
 *  nesting (call f, While/If/Case bodies and branches), nodes whose op is a
 *  library function, function-level attrs, the gradient (GradientDef)
 *  registered for a kept function, and the registered gradient of every
 *  `_gradient_op_type` a kept node carries.
 *  Objects: the root; the root's "signatures" map with all its children;
 *  every object whose checkpoint node holds values (attributes or a
 *  registered saver) - prune never removes values, so it never touches the
 *  bundle, the traced save/restore functions or optimizer state the
 *  training-state pass left (with --keep-optimizer it left all of it);
 *  every function object whose function a top-level node calls (the init
 *  op's `_initialize` functions, hence their resources and assets); and,
 *  transitively: the objects a kept object lists as dependencies, the
 *  bound_inputs of the concrete functions kept objects name, every child of
 *  a kept object that is not a plain user object (resources keep
 *  `_create_resource`/`_initialize`/`_destroy_resource`/`_initializer`,
 *  functions their traces, bare functions their captures), every child of a
 *  user object TensorFlow revives as a type of its own (registered_name, or
 *  an identifier not known to be a generic container), and the
 *  save/restore function objects of kept saveable_objects.
 *  Reachability: every kept object stays reachable from the root by children
 *  (slot variables by their optimizer's slot_variables), through edges the
 *  checkpoint object graph has too, so Python's restore (which walks both
 *  graphs by child name from the root) binds every kept value. Where several
 *  parents could carry an object, an already kept parent wins, then the one
 *  with the most kept children: a Keras model's variables hang under its
 *  "variables" list and the layer objects can go.
 *  Everything else goes: Keras `__call__` / `*_layer_call_fn` /
 *  `call_and_return_conditional_losses` functions and objects, `keras_api`
 *  subtrees, layer and metric objects without values, training functions.
 *  SavedObjectGraph.concrete_functions entries are kept only for functions a
 *  kept object names (a function only called by another function needs no
 *  entry), and keras_metadata.pb is deleted (only Keras reloading reads it).
 *  If the planned graph would lose a checkpoint value anyway (an object graph
 *  this pass does not understand), every object is kept and a note says so.
 *  What a loader sees: tf.saved_model.load gives an object whose
 *  .signatures answer as before, but whose methods (`__call__`, other
 *  tf.functions) and Keras layers are gone; the C++ loader (TF Serving)
 *  reads only the graph, the signatures and the saver, which stay as they
 *  were.
 *
 * With opts->keep_objects the whole object graph, every function it or the
 * graph names and keras_metadata.pb stay (Keras can still reload); only
 * functions nothing names at all go.
 *
 * TF1 meta graphs (no object graph): graph nodes go unless a loader or a
 * serving call needs them: kept is the backward closure (data and control
 * inputs) of every signature tensor, the saver's save, restore and filename
 * nodes (those of the savers collection too), the asset tensors, every entry
 * of every node_list collection (the init ops, table initializers, asset
 * paths, and any other a program may look up), every node a control-flow
 * context names, and, for each kept variable, its initializer, snapshot and
 * initial value (the v1 loader rebuilds variables from those names). The
 * leftovers of training and analysis go: initializers only a training
 * session ran (init, ready_op), unused placeholders, dead constants, other
 * savers. VariableDef entries of removed variables go with them. A meta
 * graph with no serving signature, or with a collection of protos this pass
 * does not read, keeps every node. Then library functions that neither a
 * top-level node nor a kept function names are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gindex.h"
#include "graph.h"
#include "pass.h"
#include "sort.h"

/* ------------------------------------------------------------ name index */

typedef struct name_ix {
	const char *name;
	size_t i;
} name_ix;

static int cmp_name_ix(const void *a, const void *b)
{
	return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

static ssize_t ix_find(const name_ix *ix, size_t n, const char *name)
{
	name_ix key = { name, 0 };
	const name_ix *r = tfs_bsearch(&key, ix, n, sizeof *ix, cmp_name_ix);
	return r ? (ssize_t)r->i : -1;
}

/* ------------------------------------------------------------------ plan */

typedef struct plan {
	tfshrink_model *m;
	Tensorflow__FunctionDefLibrary *lib; /* may be NULL */
	size_t n_fn;
	name_ix *fix;       /* functions by name */
	uint8_t *fkeep;     /* per function */
	uint8_t *listed;    /* per function: a kept object names it */
	size_t *fq, fq_n;   /* function worklist (each function pushed once) */
	size_t fq_head;

	Tensorflow__SavedObjectGraph *og; /* NULL: TF1 rule only */
	size_t n_obj;
	int keep_all;       /* keep every object (keep_objects, or fallback) */
	name_ix *cfix;      /* concrete_functions entries by name */
	uint8_t *okeep;
	uint8_t *connected;
	size_t *oq, oq_n, oq_head;
	int32_t *depth;     /* BFS depth over children and slot edges; -1 unreachable */
	int32_t *cmap;      /* SavedObject -> checkpoint node, or -1 */
	/* parents of each object: CSR over (parent, child index or ~slot index) */
	size_t *par_off;
	int32_t *par_node;
	int64_t *par_edge;
} plan;

static void plan_free(plan *p)
{
	free(p->fix);
	free(p->fkeep);
	free(p->listed);
	free(p->fq);
	free(p->cfix);
	free(p->okeep);
	free(p->connected);
	free(p->oq);
	free(p->depth);
	free(p->cmap);
	free(p->par_off);
	free(p->par_node);
	free(p->par_edge);
	memset(p, 0, sizeof *p);
}

static const char *fn_name(const Tensorflow__FunctionDef *f)
{
	return f->signature && f->signature->name ? f->signature->name : "";
}

static void keep_fn(plan *p, ssize_t i)
{
	if (i < 0 || p->fkeep[i])
		return;
	p->fkeep[i] = 1;
	p->fq[p->fq_n++] = (size_t)i;
}

static ssize_t fn_find(const plan *p, const char *name)
{
	return ix_find(p->fix, p->n_fn, name);
}

static void keep_obj(plan *p, int32_t id)
{
	if (id < 0 || (size_t)id >= p->n_obj || p->okeep[id])
		return;
	p->okeep[id] = 1;
	p->oq[p->oq_n++] = (size_t)id;
}

/* ------------------------------------------------------ function references */

static void scan_attr(plan *p, const Tensorflow__AttrValue *v);

static void scan_name_attr_list(plan *p, const Tensorflow__NameAttrList *f)
{
	if (!f)
		return;
	keep_fn(p, fn_find(p, f->name));
	for (size_t k = 0; k < f->n_attr; k++)
		scan_attr(p, f->attr[k]->value);
}

static void scan_attr(plan *p, const Tensorflow__AttrValue *v)
{
	if (!v)
		return;
	if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC)
		scan_name_attr_list(p, v->func);
	else if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list)
		for (size_t k = 0; k < v->list->n_func; k++)
			scan_name_attr_list(p, v->list->func[k]);
}

static void keep_registered_gradient(plan *p, const ProtobufCBinaryData *op_type)
{
	for (size_t k = 0; p->lib && k < p->lib->n_registered_gradients; k++) {
		const Tensorflow__RegisteredGradient *g = p->lib->registered_gradients[k];
		if (strlen(g->registered_op_type) == op_type->len && !memcmp(g->registered_op_type, op_type->data, op_type->len))
			keep_fn(p, fn_find(p, g->gradient_func));
	}
}

static void scan_nodes(plan *p, Tensorflow__NodeDef **nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__NodeDef *nd = nodes[i];
		keep_fn(p, fn_find(p, nd->op));
		for (size_t a = 0; a < nd->n_attr; a++) {
			const Tensorflow__AttrValue *v = nd->attr[a]->value;
			scan_attr(p, v);
			if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_S && !strcmp(nd->attr[a]->key, "_gradient_op_type"))
				keep_registered_gradient(p, &v->s);
		}
	}
}

static void name_object_function(plan *p, const char *name)
{
	ssize_t i = fn_find(p, name);
	if (i < 0)
		return;
	keep_fn(p, i);
	if (p->listed[i])
		return;
	p->listed[i] = 1;
	ssize_t c = ix_find(p->cfix, p->og->n_concrete_functions, name);
	if (c < 0)
		return;
	const Tensorflow__SavedConcreteFunction *cf = p->og->concrete_functions[c]->value;
	for (size_t k = 0; cf && k < cf->n_bound_inputs; k++)
		keep_obj(p, cf->bound_inputs[k]);
}

static void process_function(plan *p, size_t i)
{
	Tensorflow__FunctionDef *f = p->lib->function[i];
	scan_nodes(p, f->node_def, f->n_node_def);
	for (size_t k = 0; k < f->n_attr; k++)
		scan_attr(p, f->attr[k]->value);
	const char *name = fn_name(f);
	for (size_t k = 0; k < p->lib->n_gradient; k++)
		if (!strcmp(p->lib->gradient[k]->function_name, name))
			keep_fn(p, fn_find(p, p->lib->gradient[k]->gradient_func));
}

/* -------------------------------------------------------- object references */

/* User objects TensorFlow revives as generic containers: their children can
 * be chosen one by one. Any other identifier (or a registered_name) may be a
 * type whose revival wants all its children: keep them all. */
static int generic_user_object(const Tensorflow__SavedObject *o)
{
	static const char *const generic[] = { "_generic_user_object", "trackable_list_wrapper", "trackable_dict_wrapper",
		                                   "trackable_tuple_wrapper", "optimizer", "experimentalOptimizer" };
	if (o->registered_name && o->registered_name[0])
		return 0;
	const char *id = o->user_object && o->user_object->identifier ? o->user_object->identifier : "";
	if (!strncmp(id, "_tf_keras_", 10))
		return 1;
	for (size_t k = 0; k < sizeof generic / sizeof *generic; k++)
		if (!strcmp(id, generic[k]))
			return 1;
	return 0;
}

static void process_object(plan *p, size_t id)
{
	const Tensorflow__SavedObject *o = p->og->nodes[id];
	for (size_t k = 0; k < o->n_dependencies; k++)
		keep_obj(p, o->dependencies[k]->node_id);
	int all_children = 1;
	switch (o->kind_case) {
	case TENSORFLOW__SAVED_OBJECT__KIND_USER_OBJECT:
		all_children = !generic_user_object(o);
		break;
	case TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION:
		for (size_t k = 0; o->function && k < o->function->n_concrete_functions; k++)
			name_object_function(p, o->function->concrete_functions[k]);
		break;
	case TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION:
		if (o->bare_concrete_function)
			name_object_function(p, o->bare_concrete_function->concrete_function_name);
		break;
	case TENSORFLOW__SAVED_OBJECT__KIND_CAPTURED_TENSOR:
		if (o->captured_tensor)
			name_object_function(p, o->captured_tensor->concrete_function);
		break;
	default:
		break;
	}
	if (all_children)
		for (size_t k = 0; k < o->n_children; k++)
			keep_obj(p, o->children[k]->node_id);
	for (size_t k = 0; k < o->n_saveable_objects; k++) {
		const Tensorflow__SaveableObject *s = o->saveable_objects[k]->value;
		if (s && s->save_function)
			keep_obj(p, s->save_function);
		if (s && s->restore_function)
			keep_obj(p, s->restore_function);
	}
}

/* ------------------------------------------------------------ reachability */

static int build_parents(plan *p)
{
	size_t n = p->n_obj, edges = 0;
	for (size_t i = 0; i < n; i++)
		edges += p->og->nodes[i]->n_children + p->og->nodes[i]->n_slot_variables;
	p->par_off = calloc(n + 1, sizeof *p->par_off);
	p->par_node = malloc((edges ? edges : 1) * sizeof *p->par_node);
	p->par_edge = malloc((edges ? edges : 1) * sizeof *p->par_edge);
	p->depth = malloc(n * sizeof *p->depth);
	size_t *queue = malloc(n * sizeof *queue);
	if (!p->par_off || !p->par_node || !p->par_edge || !p->depth || !queue) {
		free(queue);
		return tfs_nomem();
	}
#define EACH_EDGE(BODY)                                                                       \
	for (size_t i = 0; i < n; i++) {                                                          \
		const Tensorflow__SavedObject *o = p->og->nodes[i];                                   \
		for (size_t k = 0; k < o->n_children; k++) {                                          \
			int32_t c = o->children[k]->node_id;                                              \
			int64_t e = (int64_t)k;                                                           \
			BODY                                                                              \
		}                                                                                     \
		for (size_t k = 0; k < o->n_slot_variables; k++) {                                    \
			int32_t c = o->slot_variables[k]->slot_variable_node_id;                          \
			int64_t e = ~(int64_t)k;                                                          \
			BODY                                                                              \
		}                                                                                     \
	}
	EACH_EDGE(if (c >= 0 && (size_t)c < n) p->par_off[c + 1]++; (void)e;)
	for (size_t i = 0; i < n; i++)
		p->par_off[i + 1] += p->par_off[i];
	size_t *fill = calloc(n ? n : 1, sizeof *fill);
	if (!fill) {
		free(queue);
		return tfs_nomem();
	}
	EACH_EDGE(if (c >= 0 && (size_t)c < n) {
		size_t at = p->par_off[c] + fill[c]++;
		p->par_node[at] = (int32_t)i;
		p->par_edge[at] = e;
	})
#undef EACH_EDGE
	free(fill);
	for (size_t i = 0; i < n; i++)
		p->depth[i] = -1;
	size_t head = 0, tail = 0;
	p->depth[0] = 0;
	queue[tail++] = 0;
	while (head < tail) {
		size_t s = queue[head++];
		const Tensorflow__SavedObject *o = p->og->nodes[s];
		for (size_t k = 0; k < o->n_children + o->n_slot_variables; k++) {
			int32_t c = k < o->n_children ? o->children[k]->node_id
			                              : o->slot_variables[k - o->n_children]->slot_variable_node_id;
			if (c >= 0 && (size_t)c < n && p->depth[c] < 0) {
				p->depth[c] = p->depth[s] + 1;
				queue[tail++] = (size_t)c;
			}
		}
	}
	free(queue);
	return 0;
}

/* 1 if the edge parent -> v (child k, or slot ~k) also exists between their
 * checkpoint nodes, or v has no checkpoint node. */
static int ckpt_edge_ok(const plan *p, int32_t parent, int64_t e, int32_t v)
{
	if (p->cmap[v] < 0)
		return 1;
	if (p->cmap[parent] < 0)
		return 0;
	const Tensorflow__TrackableObjectGraph__TrackableObject *co = p->m->ckpt_graph->nodes[p->cmap[parent]];
	const Tensorflow__SavedObject *so = p->og->nodes[parent];
	if (e >= 0) {
		const char *name = so->children[e]->local_name;
		for (size_t k = 0; k < co->n_children; k++)
			if (co->children[k]->node_id == p->cmap[v] && !strcmp(co->children[k]->local_name, name))
				return 1;
		return 0;
	}
	const char *slot = so->slot_variables[~e]->slot_name;
	for (size_t k = 0; k < co->n_slot_variables; k++)
		if (co->slot_variables[k]->slot_variable_node_id == p->cmap[v] && !strcmp(co->slot_variables[k]->slot_name, slot))
			return 1;
	return 0;
}

static size_t kept_children(const plan *p, int32_t parent)
{
	const Tensorflow__SavedObject *o = p->og->nodes[parent];
	size_t k = 0;
	for (size_t j = 0; j < o->n_children; j++) {
		int32_t c = o->children[j]->node_id;
		k += c >= 0 && (size_t)c < p->n_obj && p->okeep[c];
	}
	for (size_t j = 0; j < o->n_slot_variables; j++) {
		int32_t c = o->slot_variables[j]->slot_variable_node_id;
		k += c >= 0 && (size_t)c < p->n_obj && p->okeep[c];
	}
	return k;
}

/* Keeps a chain of parents from v up to a connected object. Returns 0, or 1
 * if no parent fits (the caller then keeps every object). */
static int connect(plan *p, int32_t v)
{
	while (!p->connected[v]) {
		if (p->depth[v] < 0) { /* unreachable in the input too: leave it so */
			p->connected[v] = 1;
			return 0;
		}
		ssize_t best = -1;
		size_t best_score = 0;
		int best_kept = 0;
		for (size_t a = p->par_off[v]; a < p->par_off[v + 1]; a++) {
			int32_t q = p->par_node[a];
			if (p->depth[q] < 0 || p->depth[q] >= p->depth[v] || !ckpt_edge_ok(p, q, p->par_edge[a], v))
				continue;
			int kept = p->okeep[q];
			size_t score = kept_children(p, q);
			if (best < 0 || (kept && !best_kept) || (kept == best_kept && score > best_score)) {
				best = (ssize_t)a;
				best_score = score;
				best_kept = kept;
			}
		}
		if (best < 0)
			return 1;
		int32_t q = p->par_node[best];
		int64_t e = p->par_edge[best];
		if (e < 0) /* a slot variable needs its original variable too */
			keep_obj(p, p->og->nodes[q]->slot_variables[~e]->original_variable_node_id);
		keep_obj(p, q);
		p->connected[v] = 1;
		v = q;
	}
	return 0;
}

/* ---------------------------------------------------------- checkpoint check */

static int ckpt_holds_values(const Tensorflow__TrackableObjectGraph__TrackableObject *o)
{
	return o->n_attributes > 0 || o->registered_saver != NULL;
}

/* BFS over the checkpoint graph skipping del; seen[] gets the reached nodes. */
static int ckpt_reach(const Tensorflow__TrackableObjectGraph *g, const uint8_t *del, uint8_t *seen)
{
	size_t n = g->n_nodes;
	size_t *queue = malloc((n ? n : 1) * sizeof *queue);
	if (!queue)
		return tfs_nomem();
	memset(seen, 0, n);
	size_t head = 0, tail = 0;
	if (n && !del[0]) {
		seen[0] = 1;
		queue[tail++] = 0;
	}
	while (head < tail) {
		const Tensorflow__TrackableObjectGraph__TrackableObject *o = g->nodes[queue[head++]];
		for (size_t k = 0; k < o->n_children + o->n_slot_variables; k++) {
			int32_t c;
			if (k < o->n_children) {
				c = o->children[k]->node_id;
			} else {
				const Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *r =
					o->slot_variables[k - o->n_children];
				if (r->original_variable_node_id < 0 || (size_t)r->original_variable_node_id >= n ||
				    del[r->original_variable_node_id])
					continue;
				c = r->slot_variable_node_id;
			}
			if (c >= 0 && (size_t)c < n && !del[c] && !seen[c]) {
				seen[c] = 1;
				queue[tail++] = (size_t)c;
			}
		}
	}
	free(queue);
	return 0;
}

/* 1 if removing the objects not kept would drop a checkpoint value that is
 * reachable now. */
static int loses_ckpt_values(plan *p, int *lost)
{
	*lost = 0;
	const Tensorflow__TrackableObjectGraph *g = p->m->ckpt_graph;
	if (!g || g->n_nodes == 0)
		return 0;
	size_t n = g->n_nodes;
	uint8_t *del = calloc(n, 1), *before = malloc(n), *after = malloc(n);
	int rc = 0;
	if (!del || !before || !after) {
		rc = tfs_nomem();
		goto done;
	}
	if ((rc = ckpt_reach(g, del, before)) < 0)
		goto done;
	for (size_t i = 0; i < p->n_obj; i++)
		if (!p->okeep[i] && p->cmap[i] >= 0)
			del[p->cmap[i]] = 1;
	if ((rc = ckpt_reach(g, del, after)) < 0)
		goto done;
	for (size_t i = 0; i < n && !*lost; i++)
		*lost = before[i] && !after[i] && ckpt_holds_values(g->nodes[i]);
done:
	free(del);
	free(before);
	free(after);
	return rc;
}

/* tfs_objgraph_ckpt_map matches a slot variable only if its original
 * variable was matched before the optimizer was visited; an optimizer listed
 * before the variables (as a pruned Keras model has it) leaves its slots
 * unmatched. Match them here, as Python's deferred slot restore does. */
static void map_late_slots(plan *p)
{
	const Tensorflow__TrackableObjectGraph *cg = p->m->ckpt_graph;
	if (!cg)
		return;
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < p->n_obj; i++) {
			const Tensorflow__SavedObject *o = p->og->nodes[i];
			if (p->cmap[i] < 0 || o->n_slot_variables == 0)
				continue;
			const Tensorflow__TrackableObjectGraph__TrackableObject *co = cg->nodes[p->cmap[i]];
			for (size_t k = 0; k < o->n_slot_variables; k++) {
				const Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *sr = o->slot_variables[k];
				int32_t a = sr->original_variable_node_id, s = sr->slot_variable_node_id;
				if (a < 0 || (size_t)a >= p->n_obj || s < 0 || (size_t)s >= p->n_obj || p->cmap[a] < 0 || p->cmap[s] >= 0)
					continue;
				for (size_t j = 0; j < co->n_slot_variables; j++) {
					const Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *cr = co->slot_variables[j];
					if (cr->original_variable_node_id == p->cmap[a] && !strcmp(cr->slot_name, sr->slot_name) &&
					    cr->slot_variable_node_id >= 0 && (size_t)cr->slot_variable_node_id < cg->n_nodes) {
						p->cmap[s] = cr->slot_variable_node_id;
						changed = 1;
						break;
					}
				}
			}
		}
	}
}

/* ------------------------------------------------------------------ driver */

static int plan_init(plan *p, tfshrink_model *m, Tensorflow__MetaGraphDef *mg, int with_objects)
{
	memset(p, 0, sizeof *p);
	p->m = m;
	p->lib = mg->graph_def ? mg->graph_def->library : NULL;
	p->n_fn = p->lib ? p->lib->n_function : 0;
	size_t nf = p->n_fn ? p->n_fn : 1;
	p->fix = malloc(nf * sizeof *p->fix);
	p->fkeep = calloc(nf, 1);
	p->listed = calloc(nf, 1);
	p->fq = malloc(nf * sizeof *p->fq);
	if (!p->fix || !p->fkeep || !p->listed || !p->fq)
		return tfs_nomem();
	for (size_t i = 0; i < p->n_fn; i++) {
		p->fix[i].name = fn_name(p->lib->function[i]);
		p->fix[i].i = i;
	}
	tfs_qsort(p->fix, p->n_fn, sizeof *p->fix, cmp_name_ix);
	if (!with_objects || !mg->object_graph_def || mg->object_graph_def->n_nodes == 0)
		return 0;
	p->og = mg->object_graph_def;
	p->n_obj = p->og->n_nodes;
	size_t n = p->n_obj, ncf = p->og->n_concrete_functions;
	p->cfix = malloc((ncf ? ncf : 1) * sizeof *p->cfix);
	p->okeep = calloc(n, 1);
	p->connected = calloc(n, 1);
	p->oq = malloc(n * sizeof *p->oq);
	p->cmap = malloc(n * sizeof *p->cmap);
	if (!p->cfix || !p->okeep || !p->connected || !p->oq || !p->cmap)
		return tfs_nomem();
	for (size_t i = 0; i < ncf; i++) {
		p->cfix[i].name = p->og->concrete_functions[i]->key;
		p->cfix[i].i = i;
	}
	tfs_qsort(p->cfix, ncf, sizeof *p->cfix, cmp_name_ix);
	TFS_TRY(tfs_objgraph_ckpt_map(m, p->cmap));
	map_late_slots(p);
	return build_parents(p);
}

/* Runs the worklists (and, for objects, reachability) to a fixed point.
 * *fallback is set if some object cannot be kept reachable. */
static int plan_run(plan *p, int *fallback)
{
	*fallback = 0;
	for (;;) {
		while (p->fq_head < p->fq_n)
			process_function(p, p->fq[p->fq_head++]);
		while (p->oq_head < p->oq_n)
			process_object(p, p->oq[p->oq_head++]);
		if (p->fq_head < p->fq_n)
			continue;
		for (size_t i = 0; i < p->n_obj && !p->keep_all && !*fallback; i++)
			if (p->okeep[i] && !p->connected[i])
				*fallback = connect(p, (int32_t)i);
		if (*fallback || (p->fq_head == p->fq_n && p->oq_head == p->oq_n))
			return 0;
	}
}

/* Seeds a plan for the first meta graph of a TF2 model. */
static int plan_seed_objects(plan *p, Tensorflow__GraphDef *gd)
{
	/* Functions the top-level graph calls directly. */
	uint8_t *top = calloc(p->n_fn ? p->n_fn : 1, 1);
	if (!top)
		return tfs_nomem();
	if (gd)
		scan_nodes(p, gd->node, gd->n_node);
	for (size_t k = 0; k < p->fq_n; k++)
		top[p->fq[k]] = 1;
	if (p->keep_all) {
		for (size_t i = 0; i < p->n_obj; i++)
			keep_obj(p, (int32_t)i);
		for (size_t i = 0; i < p->og->n_concrete_functions; i++)
			keep_fn(p, fn_find(p, p->og->concrete_functions[i]->key));
		free(top);
		return 0;
	}
	keep_obj(p, 0);
	p->connected[0] = 1;
	const Tensorflow__SavedObject *root = p->og->nodes[0];
	for (size_t k = 0; k < root->n_children; k++)
		if (!strcmp(root->children[k]->local_name, "signatures"))
			keep_obj(p, root->children[k]->node_id); /* a signature_map: all its children follow */
	const Tensorflow__TrackableObjectGraph *cg = p->m->ckpt_graph;
	for (size_t i = 0; i < p->n_obj; i++) {
		const Tensorflow__SavedObject *o = p->og->nodes[i];
		if (cg && p->cmap[i] >= 0 && ckpt_holds_values(cg->nodes[p->cmap[i]]))
			keep_obj(p, (int32_t)i);
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION && o->function) {
			for (size_t k = 0; k < o->function->n_concrete_functions; k++) {
				ssize_t f = fn_find(p, o->function->concrete_functions[k]);
				if (f >= 0 && top[f])
					keep_obj(p, (int32_t)i);
			}
		} else if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION && o->bare_concrete_function) {
			ssize_t f = fn_find(p, o->bare_concrete_function->concrete_function_name);
			if (f >= 0 && top[f])
				keep_obj(p, (int32_t)i);
		}
	}
	free(top);
	return 0;
}

/* Removes the registered gradients whose function is about to go. */
static void drop_registered_gradients(Tensorflow__FunctionDefLibrary *lib, const plan *p)
{
	size_t w = 0;
	for (size_t k = 0; k < lib->n_registered_gradients; k++) {
		Tensorflow__RegisteredGradient *g = lib->registered_gradients[k];
		ssize_t f = fn_find(p, g->gradient_func);
		if (f >= 0 && !p->fkeep[f])
			protobuf_c_message_free_unpacked(&g->base, NULL);
		else
			lib->registered_gradients[w++] = g;
	}
	lib->n_registered_gradients = w;
}

/* Library removal for meta graphs other than the first (no object graph). */
static void library_remove_plain(Tensorflow__FunctionDefLibrary *lib, const plan *p)
{
	drop_registered_gradients(lib, p);
	size_t w = 0;
	for (size_t k = 0; k < lib->n_gradient; k++) {
		Tensorflow__GradientDef *g = lib->gradient[k];
		ssize_t a = fn_find(p, g->function_name), b = fn_find(p, g->gradient_func);
		if ((a >= 0 && !p->fkeep[a]) || (b >= 0 && !p->fkeep[b]))
			protobuf_c_message_free_unpacked(&g->base, NULL);
		else
			lib->gradient[w++] = g;
	}
	lib->n_gradient = w;
	w = 0;
	for (size_t i = 0; i < lib->n_function; i++) {
		if (p->fkeep[i])
			lib->function[w++] = lib->function[i];
		else
			protobuf_c_message_free_unpacked(&lib->function[i]->base, NULL);
	}
	lib->n_function = w;
}

static size_t count_dropped(const uint8_t *keep, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += !keep[i];
	return k;
}

/* Prunes the first meta graph of a TF2 model. */
static int prune_tf2(tfshrink_model *m, Tensorflow__MetaGraphDef *mg, int keep_objects, size_t *fn_out,
                     size_t *obj_out)
{
	plan p;
	int rc, fallback = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = plan_init(&p, m, mg, 1)) < 0)
			goto done;
		p.keep_all = keep_objects || attempt > 0;
		if ((rc = plan_seed_objects(&p, mg->graph_def)) < 0 || (rc = plan_run(&p, &fallback)) < 0)
			goto done;
		int lost = 0;
		if (!fallback && (rc = loses_ckpt_values(&p, &lost)) < 0)
			goto done;
		if (!fallback && !lost)
			break;
		if (!p.keep_all)
			tfs_model_note(m, "prune: kept every object: %s", fallback ? "an object the signatures need has no "
			               "parent the checkpoint shares" : "dropping objects would lose checkpoint values");
		plan_free(&p);
		if (attempt > 0)
			return tfs_err(TFSHRINK_EVERIFY, NULL, -1, "prune: cannot keep the object graph whole");
	}
	*fn_out = count_dropped(p.fkeep, p.n_fn);
	*obj_out = count_dropped(p.okeep, p.n_obj);
	/* concrete_functions entries: only those kept objects name (all, when
	 * keeping every object); an entry for a function that is only called by
	 * other functions would pin its captures for nothing. */
	if (!p.keep_all) {
		Tensorflow__SavedObjectGraph *og = p.og;
		size_t w = 0;
		for (size_t k = 0; k < og->n_concrete_functions; k++) {
			ssize_t f = fn_find(&p, og->concrete_functions[k]->key);
			if (f >= 0 && p.listed[f])
				og->concrete_functions[w++] = og->concrete_functions[k];
			else
				protobuf_c_message_free_unpacked(&og->concrete_functions[k]->base, NULL);
		}
		og->n_concrete_functions = w;
	}
	if (*fn_out == 0 && *obj_out == 0)
		goto done;
	if (p.lib)
		drop_registered_gradients(p.lib, &p);
	uint8_t *fdel = malloc(p.n_fn ? p.n_fn : 1), *odel = malloc(p.n_obj ? p.n_obj : 1);
	if (!fdel || !odel) {
		free(fdel);
		free(odel);
		rc = tfs_nomem();
		goto done;
	}
	for (size_t i = 0; i < p.n_fn; i++)
		fdel[i] = !p.fkeep[i];
	for (size_t i = 0; i < p.n_obj; i++)
		odel[i] = !p.okeep[i];
	rc = tfs_library_remove(m, fdel);
	if (rc == 0 && *obj_out)
		rc = tfs_objgraph_remove(m, odel);
	free(fdel);
	free(odel);
done:
	plan_free(&p);
	return rc;
}

/* Prunes a meta graph by the TF1 rule. */
/* ------------------------------------------------------- TF1 graph nodes */

enum { N_KEEP = 1, N_GONE = 2 };

/* Collections of VariableDef protos. */
static const char *const variable_lists[] = {
	"variables", "trainable_variables", "local_variables", "model_variables", "moving_average_variables",
	"metric_variables", "global_step", NULL,
};

static int in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return 1;
	return 0;
}

static int is_asset_any(const Tensorflow__Any *a)
{
	const char *u = a && a->type_url ? strrchr(a->type_url, '/') : NULL;
	return u && !strcmp(u, "/tensorflow.AssetFileDef");
}

/* Why the nodes of mg stay, or NULL when this pass can decide. */
static const char *tf1_nodes_stay(const Tensorflow__MetaGraphDef *mg, const char **key)
{
	*key = "";
	size_t serving = 0;
	for (size_t s = 0; s < mg->n_signature_def; s++)
		serving += strcmp(mg->signature_def[s]->key, "__saved_model_init_op") &&
		           strcmp(mg->signature_def[s]->key, "__saved_model_train_op");
	if (!serving)
		return "it has no serving signature";
	for (size_t c = 0; c < mg->n_collection_def; c++) {
		const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		*key = mg->collection_def[c]->key;
		if (!cd)
			continue;
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST && !in_list(variable_lists, *key) &&
		    strcmp(*key, "cond_context") && strcmp(*key, "while_context") && strcmp(*key, "savers"))
			return "it has a collection of protos this pass does not read";
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST && cd->any_list)
			for (size_t k = 0; k < cd->any_list->n_value; k++)
				if (!is_asset_any(cd->any_list->value[k]))
					return "it has a collection of protos this pass does not read";
	}
	return NULL;
}

static void keep_saver(tfs_gix *g, const Tensorflow__SaverDef *sv)
{
	if (!sv)
		return;
	tfs_gix_closure(g, tfs_gix_ref(g, sv->restore_op_name), N_KEEP, 0);
	tfs_gix_closure(g, tfs_gix_ref(g, sv->save_tensor_name), N_KEEP, 0);
	tfs_gix_closure(g, tfs_gix_ref(g, sv->filename_tensor_name), N_KEEP, 0);
}

/* Marks N_KEEP on what a loader or a serving call of mg needs. */
static void tf1_keep(tfs_gix *g, const Tensorflow__MetaGraphDef *mg)
{
	for (size_t s = 0; s < mg->n_signature_def; s++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
		for (size_t k = 0; sd && k < sd->n_inputs; k++)
			tfs_gix_closure_tensor_info(g, sd->inputs[k]->value, N_KEEP, 0);
		for (size_t k = 0; sd && k < sd->n_outputs; k++)
			tfs_gix_closure_tensor_info(g, sd->outputs[k]->value, N_KEEP, 0);
	}
	keep_saver(g, mg->saver_def);
	for (size_t a = 0; a < mg->n_asset_file_def; a++)
		tfs_gix_closure_tensor_info(g, mg->asset_file_def[a]->tensor_info, N_KEEP, 0);
	for (size_t c = 0; c < mg->n_collection_def; c++) {
		const char *key = mg->collection_def[c]->key;
		const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		if (!cd)
			continue;
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && cd->node_list)
			for (size_t k = 0; k < cd->node_list->n_value; k++)
				tfs_gix_closure(g, tfs_gix_ref(g, cd->node_list->value[k]), N_KEEP, 0);
		if (cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST && cd->any_list)
			for (size_t k = 0; k < cd->any_list->n_value; k++) {
				const Tensorflow__Any *any = cd->any_list->value[k];
				Tensorflow__AssetFileDef *af =
					tensorflow__asset_file_def__unpack(NULL, any->value.len, any->value.data);
				if (af) {
					tfs_gix_closure_tensor_info(g, af->tensor_info, N_KEEP, 0);
					tensorflow__asset_file_def__free_unpacked(af, NULL);
				}
			}
		if (cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST || !cd->bytes_list)
			continue;
		for (size_t k = 0; k < cd->bytes_list->n_value; k++) {
			const ProtobufCBinaryData *b = &cd->bytes_list->value[k];
			if (!strcmp(key, "savers")) {
				Tensorflow__SaverDef *sv = tensorflow__saver_def__unpack(NULL, b->len, b->data);
				keep_saver(g, sv);
				if (sv)
					tensorflow__saver_def__free_unpacked(sv, NULL);
			} else if (!strcmp(key, "cond_context") || !strcmp(key, "while_context")) {
				tfs_gix_closure_named_in(g, b->data, b->len, N_KEEP);
			}
		}
	}
	/* A kept variable keeps the nodes its VariableDef names, to a fixed point. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t c = 0; c < mg->n_collection_def; c++) {
			const Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
			if (!cd || cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST || !cd->bytes_list ||
			    !in_list(variable_lists, mg->collection_def[c]->key))
				continue;
			for (size_t k = 0; k < cd->bytes_list->n_value; k++) {
				const ProtobufCBinaryData *b = &cd->bytes_list->value[k];
				Tensorflow__VariableDef *vd = tensorflow__variable_def__unpack(NULL, b->len, b->data);
				if (!vd)
					continue;
				int32_t v = tfs_gix_ref(g, vd->variable_name);
				const char *names[3] = { vd->initializer_name, vd->snapshot_name, vd->initial_value_name };
				for (int j = 0; v >= 0 && (g->flag[v] & N_KEEP) && j < 3; j++) {
					int32_t x = tfs_gix_ref(g, names[j]);
					if (x >= 0 && !(g->flag[x] & N_KEEP)) {
						tfs_gix_closure(g, x, N_KEEP, 0);
						changed = 1;
					}
				}
				tensorflow__variable_def__free_unpacked(vd, NULL);
			}
		}
	}
}

/* Drops the VariableDef entries of removed variables; a collection left
 * empty goes. */
static void tf1_edit_variable_lists(Tensorflow__MetaGraphDef *mg, const tfs_gix *g)
{
	for (size_t c = 0; c < mg->n_collection_def;) {
		Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
		if (!cd || cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST || !cd->bytes_list ||
		    !in_list(variable_lists, mg->collection_def[c]->key)) {
			c++;
			continue;
		}
		Tensorflow__CollectionDef__BytesList *l = cd->bytes_list;
		size_t w = 0, before = l->n_value;
		for (size_t k = 0; k < l->n_value; k++) {
			Tensorflow__VariableDef *vd = tensorflow__variable_def__unpack(NULL, l->value[k].len, l->value[k].data);
			int gone = 0;
			if (vd) {
				int32_t v = tfs_gix_ref(g, vd->variable_name);
				gone = v >= 0 && (g->flag[v] & N_GONE);
				tensorflow__variable_def__free_unpacked(vd, NULL);
			}
			if (gone)
				free(l->value[k].data);
			else
				l->value[w++] = l->value[k];
		}
		l->n_value = w;
		if (before && !w)
			tfs_meta_remove_collection(mg, c);
		else
			c++;
	}
}

/* Removes the top-level nodes of TF1 meta graph gi that nothing needs. */
static int prune_tf1_nodes(tfshrink_model *m, size_t gi, size_t *out)
{
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[gi];
	*out = 0;
	if (!mg->graph_def || !mg->graph_def->n_node)
		return 0;
	const char *key, *why = tf1_nodes_stay(mg, &key);
	if (why)
		return tfs_model_note(m, "prune: meta graph %zu keeps every node: %s%s%s%s", gi, why, *key ? " ('" : "", key,
		                      *key ? "')" : "");
	tfs_gix g;
	TFS_TRY(tfs_gix_build(&g, mg->graph_def));
	tf1_keep(&g, mg);
	size_t gone = 0;
	for (size_t i = 0; i < g.n; i++)
		if (!(g.flag[i] & N_KEEP)) {
			g.flag[i] |= N_GONE;
			gone++;
		}
	int rc = 0;
	if (gone) {
		tf1_edit_variable_lists(mg, &g);
		rc = tfs_gix_remove(mg->graph_def, &g, N_GONE);
	}
	tfs_gix_free(&g);
	if (rc == 0)
		*out = gone;
	return rc;
}

static int prune_tf1(tfshrink_model *m, Tensorflow__MetaGraphDef *mg, int first, size_t *fn_out)
{
	plan p;
	int rc = plan_init(&p, m, mg, 0);
	if (rc == 0 && p.n_fn) {
		scan_nodes(&p, mg->graph_def->node, mg->graph_def->n_node);
		int fallback;
		rc = plan_run(&p, &fallback);
	}
	*fn_out = rc == 0 ? count_dropped(p.fkeep, p.n_fn) : 0;
	if (rc == 0 && *fn_out) {
		if (first) {
			uint8_t *fdel = malloc(p.n_fn);
			if (!fdel) {
				rc = tfs_nomem();
			} else {
				for (size_t i = 0; i < p.n_fn; i++)
					fdel[i] = !p.fkeep[i];
				drop_registered_gradients(p.lib, &p);
				rc = tfs_library_remove(m, fdel);
				free(fdel);
			}
		} else {
			library_remove_plain(p.lib, &p);
		}
	}
	plan_free(&p);
	return rc;
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	size_t fns = 0, objs = 0, nodes = 0;
	int keep_objects = ctx->opts && ctx->opts->keep_objects;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		size_t f = 0, o = 0;
		int has_objects = mg->object_graph_def && mg->object_graph_def->n_nodes > 0;
		if (g == 0 && has_objects)
			TFS_TRY(prune_tf2(m, mg, keep_objects, &f, &o));
		else if (mg->graph_def && !has_objects) { /* a later meta graph's objects still list its functions */
			size_t nd = 0;
			TFS_TRY(prune_tf1_nodes(m, g, &nd));
			nodes += nd;
			TFS_TRY(prune_tf1(m, mg, g == 0, &f));
		}
		fns += f;
		objs += o;
	}
	size_t files = keep_objects ? 0 : tfs_model_remove_files(m, "keras_metadata.pb");
	ctx->items = fns + objs + nodes + files;
	if (ctx->items == 0)
		snprintf(ctx->summary, sizeof ctx->summary, "%s",
		         keep_objects ? "kept every object and function (--keep-objects)" : "nothing to drop");
	else if (nodes)
		snprintf(ctx->summary, sizeof ctx->summary, "dropped %zu graph node%s, %zu function%s", nodes,
		         nodes == 1 ? "" : "s", fns, fns == 1 ? "" : "s");
	else
		snprintf(ctx->summary, sizeof ctx->summary, "dropped %zu function%s, %zu object%s%s", fns, fns == 1 ? "" : "s",
		         objs, objs == 1 ? "" : "s", files ? ", keras_metadata.pb" : "");
	return 0;
}

TFS_PASS_DEFINE(prune, "prune", 20,
                "drop functions, objects and TF1 graph nodes the signatures, init ops and saver do not need", run);
