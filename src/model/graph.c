#include "graph.h"
#include "sort.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

char *tfs_strdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (!r)
		tfs_nomem();
	return r;
}

tfs_nodes tfs_graph_nodes(Tensorflow__GraphDef *g)
{
	tfs_nodes l = { &g->node, &g->n_node, 0 };
	return l;
}

tfs_nodes tfs_function_nodes(Tensorflow__FunctionDef *f)
{
	tfs_nodes l = { &f->node_def, &f->n_node_def, 1 };
	return l;
}

void tfs_ref_parse(const char *input, tfs_ref *r)
{
	r->control = input[0] == '^';
	r->name = input + r->control;
	r->name_len = strcspn(r->name, ":");
	r->port = r->name + r->name_len;
}

int tfs_ref_is(const tfs_ref *r, const char *name)
{
	return strlen(name) == r->name_len && !memcmp(r->name, name, r->name_len);
}

ssize_t tfs_nodes_index(tfs_nodes l, const char *name)
{
	for (size_t i = 0; i < *l.n; i++)
		if (!strcmp((*l.v)[i]->name, name))
			return (ssize_t)i;
	return -1;
}

Tensorflow__NodeDef *tfs_nodes_find(tfs_nodes l, const char *name)
{
	ssize_t i = tfs_nodes_index(l, name);
	return i < 0 ? NULL : (*l.v)[i];
}

Tensorflow__AttrValue *tfs_node_attr(const Tensorflow__NodeDef *n, const char *key)
{
	for (size_t i = 0; i < n->n_attr; i++)
		if (!strcmp(n->attr[i]->key, key))
			return n->attr[i]->value;
	return NULL;
}

const char *tfs_node_callee(const Tensorflow__NodeDef *n)
{
	if (!strcmp(n->op, "StatefulPartitionedCall") || !strcmp(n->op, "PartitionedCall")) {
		const Tensorflow__AttrValue *f = tfs_node_attr(n, "f");
		return (f && f->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && f->func) ? f->func->name : NULL;
	}
	return n->op;
}

void tfs_node_remove_input(Tensorflow__NodeDef *n, size_t i)
{
	free(n->input[i]);
	memmove(&n->input[i], &n->input[i + 1], (n->n_input - i - 1) * sizeof *n->input);
	n->n_input--;
}

void tfs_node_remove_attr(Tensorflow__NodeDef *n, const char *key)
{
	for (size_t i = 0; i < n->n_attr; i++)
		if (!strcmp(n->attr[i]->key, key)) {
			protobuf_c_message_free_unpacked(&n->attr[i]->base, NULL);
			memmove(&n->attr[i], &n->attr[i + 1], (n->n_attr - i - 1) * sizeof *n->attr);
			n->n_attr--;
			return;
		}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 if the reference's node name is in the sorted array names. */
static int ref_in(const tfs_ref *r, const char *const *names, size_t n)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = names[mid];
		size_t kl = strlen(k);
		int c = memcmp(k, r->name, kl < r->name_len ? kl : r->name_len);
		if (c == 0)
			c = kl < r->name_len ? -1 : kl > r->name_len;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int tfs_nodes_remove(tfs_nodes l, const uint8_t *del, const char *where)
{
	size_t n = *l.n, n_gone = 0;
	for (size_t i = 0; i < n; i++)
		n_gone += del[i] != 0;
	if (n_gone == 0)
		return 0;
	/* Names of removed nodes, sorted, to find references to them. */
	const char **gone = malloc(n_gone * sizeof *gone);
	if (!gone)
		return tfs_nomem();
	for (size_t i = 0, k = 0; i < n; i++)
		if (del[i])
			gone[k++] = (*l.v)[i]->name;
	tfs_qsort(gone, n_gone, sizeof *gone, cmp_cstr);
	for (size_t i = 0; i < n; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		if (del[i])
			continue;
		for (size_t k = 0; k < nd->n_input;) {
			tfs_ref r;
			tfs_ref_parse(nd->input[k], &r);
			if (!ref_in(&r, gone, n_gone)) {
				k++;
				continue;
			}
			if (!r.control) {
				int rc = tfs_err(TFSHRINK_EVERIFY, NULL, -1, "%s: node '%s' still reads '%s', which is being removed",
				                 where, nd->name, nd->input[k]);
				free(gone);
				return rc;
			}
			tfs_node_remove_input(nd, k);
		}
	}
	free(gone);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (del[i])
			protobuf_c_message_free_unpacked(&(*l.v)[i]->base, NULL);
		else
			(*l.v)[w++] = (*l.v)[i];
	}
	*l.n = w;
	return 0;
}

#define FILTER(arr, cnt, keep, n, freeit)                        \
	do {                                                         \
		if ((cnt) == (n)) {                                      \
			size_t w_ = 0;                                       \
			for (size_t i_ = 0; i_ < (cnt); i_++) {              \
				if ((keep)[i_])                                  \
					(arr)[w_++] = (arr)[i_];                     \
				else                                             \
					freeit;                                      \
			}                                                    \
			(cnt) = w_;                                          \
		}                                                        \
	} while (0)

void tfs_list_filter(Tensorflow__AttrValue__ListValue *l, const uint8_t *keep, size_t n)
{
	if (!l)
		return;
	FILTER(l->s, l->n_s, keep, n, free(l->s[i_].data));
	FILTER(l->i, l->n_i, keep, n, (void)0);
	FILTER(l->f, l->n_f, keep, n, (void)0);
	FILTER(l->b, l->n_b, keep, n, (void)0);
	FILTER(l->type, l->n_type, keep, n, (void)0);
	FILTER(l->shape, l->n_shape, keep, n, protobuf_c_message_free_unpacked(&l->shape[i_]->base, NULL));
	FILTER(l->tensor, l->n_tensor, keep, n, protobuf_c_message_free_unpacked(&l->tensor[i_]->base, NULL));
	FILTER(l->func, l->n_func, keep, n, protobuf_c_message_free_unpacked(&l->func[i_]->base, NULL));
}

int tfs_tensor_strings_filter(Tensorflow__TensorProto *t, const uint8_t *keep, size_t n)
{
	if (t->n_string_val != n)
		return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1, "string constant holds %zu values, expected %zu",
		               t->n_string_val, n);
	FILTER(t->string_val, t->n_string_val, keep, n, free(t->string_val[i_].data));
	if (t->tensor_shape && t->tensor_shape->n_dim == 1)
		t->tensor_shape->dim[0]->size = (int64_t)t->n_string_val;
	return 0;
}

/* New position of argument i after removing those with del set, or -1. */
static int64_t renumber(const uint8_t *del, size_t n, size_t i)
{
	if (i >= n)
		return (int64_t)i; /* beyond what is edited: shift by all removals */
	if (del[i])
		return -1;
	int64_t k = 0;
	for (size_t j = 0; j < i; j++)
		k += !del[j];
	return k;
}

static int64_t shift_beyond(const uint8_t *del, size_t n, size_t i)
{
	if (i < n)
		return renumber(del, n, i);
	size_t removed = 0;
	for (size_t j = 0; j < n; j++)
		removed += del[j];
	return (int64_t)(i - removed);
}

int tfs_function_remove_args(Tensorflow__FunctionDef *f, const uint8_t *del)
{
	Tensorflow__OpDef *s = f->signature;
	size_t n = s->n_input_arg;
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (del[i])
			protobuf_c_message_free_unpacked(&s->input_arg[i]->base, NULL);
		else
			s->input_arg[w++] = s->input_arg[i];
	}
	s->n_input_arg = w;
	w = 0;
	for (size_t i = 0; i < f->n_arg_attr; i++) {
		Tensorflow__FunctionDef__ArgAttrEntry *e = f->arg_attr[i];
		size_t key = e->has_key_case == TENSORFLOW__FUNCTION_DEF__ARG_ATTR_ENTRY__HAS_KEY_KEY ? e->key : 0;
		int64_t nk = key < n ? renumber(del, n, key) : -1;
		if (nk < 0) {
			protobuf_c_message_free_unpacked(&e->base, NULL);
			continue;
		}
		e->key = (uint32_t)nk;
		e->has_key_case = TENSORFLOW__FUNCTION_DEF__ARG_ATTR_ENTRY__HAS_KEY_KEY;
		f->arg_attr[w++] = e;
	}
	f->n_arg_attr = w;
	w = 0;
	for (size_t i = 0; i < f->n_resource_arg_unique_id; i++) {
		Tensorflow__FunctionDef__ResourceArgUniqueIdEntry *e = f->resource_arg_unique_id[i];
		size_t key = e->has_key_case == TENSORFLOW__FUNCTION_DEF__RESOURCE_ARG_UNIQUE_ID_ENTRY__HAS_KEY_KEY ? e->key : 0;
		int64_t nk = key < n ? renumber(del, n, key) : -1;
		if (nk < 0) {
			protobuf_c_message_free_unpacked(&e->base, NULL);
			continue;
		}
		e->key = (uint32_t)nk;
		e->has_key_case = TENSORFLOW__FUNCTION_DEF__RESOURCE_ARG_UNIQUE_ID_ENTRY__HAS_KEY_KEY;
		f->resource_arg_unique_id[w++] = e;
	}
	f->n_resource_arg_unique_id = w;
	/* _input_shapes holds one shape per input. */
	for (size_t i = 0; i < f->n_attr; i++) {
		Tensorflow__AttrValue *v = f->attr[i]->value;
		if (strcmp(f->attr[i]->key, "_input_shapes") || !v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST ||
		    !v->list || v->list->n_shape != n)
			continue;
		uint8_t *keep = malloc(n ? n : 1);
		if (!keep)
			return tfs_nomem();
		for (size_t k = 0; k < n; k++)
			keep[k] = !del[k];
		tfs_list_filter(v->list, keep, n);
		free(keep);
	}
	return 0;
}

static int edit_call(Tensorflow__NodeDef *nd, const uint8_t *del, size_t n_args)
{
	size_t n_data = 0;
	while (n_data < nd->n_input && nd->input[n_data][0] != '^')
		n_data++;
	if (n_data != n_args)
		return tfs_err(TFSHRINK_EVERIFY, NULL, -1, "call '%s' passes %zu inputs to a function of %zu arguments",
		               nd->name, n_data, n_args);
	for (size_t i = n_args; i-- > 0;)
		if (del[i])
			tfs_node_remove_input(nd, i);
	uint8_t *keep = malloc(n_args ? n_args : 1);
	if (!keep)
		return tfs_nomem();
	for (size_t i = 0; i < n_args; i++)
		keep[i] = !del[i];
	Tensorflow__AttrValue *tin = tfs_node_attr(nd, "Tin");
	if (tin && tin->list)
		tfs_list_filter(tin->list, keep, n_args);
	free(keep);
	Tensorflow__AttrValue *ro = tfs_node_attr(nd, "_read_only_resource_inputs");
	if (ro && ro->list) {
		size_t w = 0;
		for (size_t i = 0; i < ro->list->n_i; i++) {
			int64_t v = ro->list->i[i];
			int64_t nv = v >= 0 ? shift_beyond(del, n_args, (size_t)v) : -1;
			if (nv >= 0)
				ro->list->i[w++] = nv;
		}
		ro->list->n_i = w;
	}
	return 0;
}

static int edit_calls_in(tfs_nodes l, const char *fname, const uint8_t *del, size_t n_args)
{
	for (size_t i = 0; i < *l.n; i++) {
		const char *c = tfs_node_callee((*l.v)[i]);
		if (c && !strcmp(c, fname))
			TFS_TRY(edit_call((*l.v)[i], del, n_args));
	}
	return 0;
}

int tfs_calls_remove_inputs(tfshrink_model *m, const char *fname, const uint8_t *del, size_t n_args)
{
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		Tensorflow__GraphDef *gd = m->sm->meta_graphs[g]->graph_def;
		if (!gd)
			continue;
		TFS_TRY(edit_calls_in(tfs_graph_nodes(gd), fname, del, n_args));
		for (size_t f = 0; gd->library && f < gd->library->n_function; f++)
			TFS_TRY(edit_calls_in(tfs_function_nodes(gd->library->function[f]), fname, del, n_args));
	}
	return 0;
}

int tfs_library_remove(tfshrink_model *m, const uint8_t *del)
{
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	Tensorflow__FunctionDefLibrary *lib = mg->graph_def ? mg->graph_def->library : NULL;
	if (!lib)
		return 0;
	Tensorflow__SavedObjectGraph *og = mg->object_graph_def;
	size_t n = lib->n_function, w = 0;
	for (size_t i = 0; i < n; i++) {
		Tensorflow__FunctionDef *f = lib->function[i];
		if (!del[i]) {
			lib->function[w++] = f;
			continue;
		}
		const char *name = f->signature ? f->signature->name : "";
		for (size_t k = 0; og && k < og->n_concrete_functions;) {
			if (!strcmp(og->concrete_functions[k]->key, name)) {
				protobuf_c_message_free_unpacked(&og->concrete_functions[k]->base, NULL);
				memmove(&og->concrete_functions[k], &og->concrete_functions[k + 1],
				        (og->n_concrete_functions - k - 1) * sizeof *og->concrete_functions);
				og->n_concrete_functions--;
			} else {
				k++;
			}
		}
		for (size_t k = 0; k < lib->n_gradient;) {
			if (!strcmp(lib->gradient[k]->function_name, name) || !strcmp(lib->gradient[k]->gradient_func, name)) {
				protobuf_c_message_free_unpacked(&lib->gradient[k]->base, NULL);
				memmove(&lib->gradient[k], &lib->gradient[k + 1], (lib->n_gradient - k - 1) * sizeof *lib->gradient);
				lib->n_gradient--;
			} else {
				k++;
			}
		}
		protobuf_c_message_free_unpacked(&f->base, NULL);
	}
	lib->n_function = w;
	return 0;
}

/* ---------------------------------------------------------- object graphs */

int tfs_objgraph_ckpt_map(const tfshrink_model *m, int32_t *out)
{
	const Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	const Tensorflow__TrackableObjectGraph *cg = m->ckpt_graph;
	size_t n = og ? og->n_nodes : 0;
	for (size_t i = 0; i < n; i++)
		out[i] = -1;
	if (!og || !cg || n == 0 || cg->n_nodes == 0)
		return 0;
	/* Breadth-first over matched pairs, by child name (and slot name for slots). */
	size_t *queue = malloc(n * sizeof *queue);
	if (!queue)
		return tfs_nomem();
	size_t head = 0, tail = 0;
	out[0] = 0;
	queue[tail++] = 0;
	while (head < tail) {
		size_t s = queue[head++];
		const Tensorflow__SavedObject *so = og->nodes[s];
		const Tensorflow__TrackableObjectGraph__TrackableObject *co = cg->nodes[out[s]];
		for (size_t k = 0; k < co->n_children; k++) {
			const char *name = co->children[k]->local_name;
			for (size_t j = 0; j < so->n_children; j++) {
				int32_t sid = so->children[j]->node_id, cid = co->children[k]->node_id;
				if (strcmp(so->children[j]->local_name, name) || sid < 0 || (size_t)sid >= n || cid < 0 ||
				    (size_t)cid >= cg->n_nodes)
					continue;
				if (out[sid] < 0) {
					out[sid] = cid;
					queue[tail++] = (size_t)sid;
				}
				break;
			}
		}
		for (size_t k = 0; k < co->n_slot_variables; k++) {
			const Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *cr = co->slot_variables[k];
			for (size_t j = 0; j < so->n_slot_variables; j++) {
				const Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *sr = so->slot_variables[j];
				int32_t so_orig = sr->original_variable_node_id, sid = sr->slot_variable_node_id;
				if (strcmp(sr->slot_name, cr->slot_name) || so_orig < 0 || (size_t)so_orig >= n || sid < 0 ||
				    (size_t)sid >= n || out[so_orig] != cr->original_variable_node_id)
					continue;
				if (out[sid] < 0 && cr->slot_variable_node_id >= 0 && (size_t)cr->slot_variable_node_id < cg->n_nodes) {
					out[sid] = cr->slot_variable_node_id;
					queue[tail++] = (size_t)sid;
				}
				break;
			}
		}
	}
	free(queue);
	return 0;
}

/* Keeps the references whose target stays, renumbered by map[n]; frees the
 * others. Ids out of range go too: open-time checks reject them, but the
 * editors do not rely on having run after those checks. */
#define REFS_FILTER(arr, cnt, idfield, map, n)                                      \
	do {                                                                            \
		size_t w_ = 0;                                                              \
		for (size_t i_ = 0; i_ < (cnt); i_++) {                                     \
			int32_t id_ = (arr)[i_]->idfield;                                       \
			if (id_ >= 0 && (size_t)id_ < (n) && (map)[id_] >= 0) {                 \
				(arr)[i_]->idfield = (map)[id_];                                    \
				(arr)[w_++] = (arr)[i_];                                            \
			} else {                                                                \
				protobuf_c_message_free_unpacked(&(arr)[i_]->base, NULL);          \
			}                                                                       \
		}                                                                           \
		(cnt) = w_;                                                                 \
	} while (0)

/* has[i] = 1 where node i or a descendant holds values: every node from
 * which a node with values can be reached, found by walking the child edges
 * backwards from the nodes with values. No recursion: a crafted graph may be
 * one chain of millions of nodes, or hold cycles. */
static int ckpt_has_values(const Tensorflow__TrackableObjectGraph *g, int8_t *has)
{
	size_t n = g->n_nodes, n_edges = 0;
	for (size_t i = 0; i < n; i++)
		n_edges += g->nodes[i]->n_children;
	size_t *first = calloc(n + 1, sizeof *first); /* parents of c: parent[first[c] .. first[c+1]) */
	size_t *parent = malloc((n_edges ? n_edges : 1) * sizeof *parent);
	size_t *queue = malloc((n ? n : 1) * sizeof *queue);
	if (!first || !parent || !queue) {
		free(first);
		free(parent);
		free(queue);
		return tfs_nomem();
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < g->nodes[i]->n_children; k++)
			first[g->nodes[i]->children[k]->node_id + 1]++;
	for (size_t c = 0; c < n; c++)
		first[c + 1] += first[c];
	size_t *fill = queue; /* borrowed as a cursor per child until the walk */
	memcpy(fill, first, n * sizeof *fill);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < g->nodes[i]->n_children; k++)
			parent[fill[g->nodes[i]->children[k]->node_id]++] = i;
	size_t head = 0, tail = 0;
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__TrackableObjectGraph__TrackableObject *o = g->nodes[i];
		has[i] = o->n_attributes > 0 || o->n_slot_variables > 0 || o->registered_saver != NULL;
		if (has[i])
			queue[tail++] = i;
	}
	while (head < tail) {
		size_t c = queue[head++];
		for (size_t k = first[c]; k < first[c + 1]; k++)
			if (!has[parent[k]]) {
				has[parent[k]] = 1;
				queue[tail++] = parent[k];
			}
	}
	free(first);
	free(parent);
	free(queue);
	return 0;
}

static int ckpt_remove(tfshrink_model *m, uint8_t *del)
{
	Tensorflow__TrackableObjectGraph *g = m->ckpt_graph;
	size_t n = g->n_nodes;
	if (n == 0) /* an empty graph (a hostile checkpoint): the walk below starts at node 0 */
		return 0;
	/* Also remove what only removed nodes led to. */
	uint8_t *seen = calloc(n, 1);
	size_t *queue = malloc(n * sizeof *queue);
	int32_t *map = malloc(n * sizeof *map);
	int8_t *memo = malloc(n);
	int rc = 0;
	if (!seen || !queue || !map || !memo) {
		rc = tfs_nomem();
		goto done;
	}
	size_t head = 0, tail = 0;
	if (!del[0]) {
		seen[0] = 1;
		queue[tail++] = 0;
	}
	while (head < tail) {
		const Tensorflow__TrackableObjectGraph__TrackableObject *o = g->nodes[queue[head++]];
		for (size_t k = 0; k < o->n_children; k++) {
			int32_t c = o->children[k]->node_id;
			if (!del[c] && !seen[c]) {
				seen[c] = 1;
				queue[tail++] = (size_t)c;
			}
		}
		for (size_t k = 0; k < o->n_slot_variables; k++) {
			int32_t a = o->slot_variables[k]->original_variable_node_id, s = o->slot_variables[k]->slot_variable_node_id;
			if (del[a] || del[s])
				continue;
			if (!seen[s]) {
				seen[s] = 1;
				queue[tail++] = (size_t)s;
			}
		}
	}
	int32_t next = 0;
	for (size_t i = 0; i < n; i++) {
		del[i] = del[i] || !seen[i];
		map[i] = del[i] ? -1 : next++;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (del[i])
			for (size_t k = 0; k < g->nodes[i]->n_attributes && rc == 0; k++)
				rc = tfs_model_remove_key(m, g->nodes[i]->attributes[k]->checkpoint_key) < 0 ? -1 : 0;
	if (rc < 0)
		goto done;
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		Tensorflow__TrackableObjectGraph__TrackableObject *o = g->nodes[i];
		if (del[i]) {
			protobuf_c_message_free_unpacked(&o->base, NULL);
			continue;
		}
		REFS_FILTER(o->children, o->n_children, node_id, map, n);
		size_t sw = 0;
		for (size_t k = 0; k < o->n_slot_variables; k++) {
			Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *r = o->slot_variables[k];
			if (map[r->original_variable_node_id] >= 0 && map[r->slot_variable_node_id] >= 0) {
				r->original_variable_node_id = map[r->original_variable_node_id];
				r->slot_variable_node_id = map[r->slot_variable_node_id];
				o->slot_variables[sw++] = r;
			} else {
				protobuf_c_message_free_unpacked(&r->base, NULL);
			}
		}
		o->n_slot_variables = sw;
		g->nodes[w++] = o;
	}
	g->n_nodes = w;
	if ((rc = ckpt_has_values(g, memo)) < 0)
		goto done;
	for (size_t i = 0; i < w; i++)
		if (g->nodes[i]->has_checkpoint_values)
			g->nodes[i]->has_checkpoint_values->value = memo[i];
	m->ckpt_graph_dirty = 1;
done:
	free(seen);
	free(queue);
	free(map);
	free(memo);
	return rc;
}

/* An empty user object nothing refers to: what a detached node becomes. */
static Tensorflow__SavedObject *placeholder_object(void)
{
	Tensorflow__SavedObject *o = malloc(sizeof *o);
	Tensorflow__SavedUserObject *u = malloc(sizeof *u);
	Tensorflow__VersionDef *v = malloc(sizeof *v);
	char *id = strdup("_generic_user_object");
	if (!o || !u || !v || !id) {
		free(o);
		free(u);
		free(v);
		free(id);
		return NULL;
	}
	tensorflow__saved_object__init(o);
	tensorflow__saved_user_object__init(u);
	tensorflow__version_def__init(v);
	v->producer = 1;
	v->min_consumer = 1;
	u->identifier = id;
	u->version = v;
	o->kind_case = TENSORFLOW__SAVED_OBJECT__KIND_USER_OBJECT;
	o->user_object = u;
	return o;
}

static int objgraph_edit(tfshrink_model *m, const uint8_t *del, int keep_ids);

int tfs_objgraph_remove(tfshrink_model *m, const uint8_t *del)
{
	return objgraph_edit(m, del, 0);
}

int tfs_objgraph_detach(tfshrink_model *m, const uint8_t *del)
{
	return objgraph_edit(m, del, 1);
}

static int objgraph_edit(tfshrink_model *m, const uint8_t *del, int keep_ids)
{
	Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	if (!og)
		return 0;
	size_t n = og->n_nodes;
	if (n == 0)
		return 0;
	if (del[0])
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "the root object cannot be removed");
	int32_t *map = malloc(n * sizeof *map);
	int32_t *cmap = malloc(n * sizeof *cmap);
	uint8_t *cdel = m->ckpt_graph ? calloc(m->ckpt_graph->n_nodes + 1, 1) : NULL;
	int rc = 0;
	Tensorflow__SavedObject **ph = NULL;
	if (!map || !cmap || (m->ckpt_graph && !cdel)) {
		rc = tfs_nomem();
		goto done;
	}
	if ((rc = tfs_objgraph_ckpt_map(m, cmap)) < 0)
		goto done;
	int32_t next = 0;
	for (size_t i = 0; i < n; i++) {
		map[i] = del[i] ? -1 : keep_ids ? (int32_t)i : next++;
		if (del[i] && cdel && cmap[i] >= 0)
			cdel[cmap[i]] = 1;
	}
	/* Check every capture before changing any. */
	for (size_t i = 0; i < og->n_concrete_functions; i++) {
		const Tensorflow__SavedConcreteFunction *cf = og->concrete_functions[i]->value;
		for (size_t k = 0; cf && k < cf->n_bound_inputs; k++) {
			int32_t b = cf->bound_inputs[k];
			if (b < 0 || (size_t)b >= n || map[b] < 0) {
				rc = tfs_err(TFSHRINK_EVERIFY, NULL, -1, "function '%s' captures object %d, which is being removed",
				             og->concrete_functions[i]->key, b);
				goto done;
			}
		}
	}
	if (keep_ids) {
		/* Placeholders first, so running out of memory changes nothing. */
		ph = calloc(n, sizeof *ph);
		if (!ph) {
			rc = tfs_nomem();
			goto done;
		}
		for (size_t i = 0; i < n; i++)
			if (del[i] && !(ph[i] = placeholder_object())) {
				for (size_t k = 0; k < i; k++)
					if (ph[k])
						protobuf_c_message_free_unpacked(&ph[k]->base, NULL);
				free(ph);
				rc = tfs_nomem();
				goto done;
			}
	}
	for (size_t i = 0; i < og->n_concrete_functions; i++) {
		Tensorflow__SavedConcreteFunction *cf = og->concrete_functions[i]->value;
		for (size_t k = 0; cf && k < cf->n_bound_inputs; k++)
			cf->bound_inputs[k] = map[cf->bound_inputs[k]];
	}
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		Tensorflow__SavedObject *o = og->nodes[i];
		if (del[i]) {
			protobuf_c_message_free_unpacked(&o->base, NULL);
			if (keep_ids)
				og->nodes[w++] = ph[i];
			continue;
		}
		REFS_FILTER(o->children, o->n_children, node_id, map, n);
		REFS_FILTER(o->dependencies, o->n_dependencies, node_id, map, n);
		size_t sw = 0;
		for (size_t k = 0; k < o->n_slot_variables; k++) {
			Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *r = o->slot_variables[k];
			int32_t a = r->original_variable_node_id, s = r->slot_variable_node_id;
			if (a >= 0 && (size_t)a < n && s >= 0 && (size_t)s < n && map[a] >= 0 && map[s] >= 0) {
				r->original_variable_node_id = map[a];
				r->slot_variable_node_id = map[s];
				o->slot_variables[sw++] = r;
			} else {
				protobuf_c_message_free_unpacked(&r->base, NULL);
			}
		}
		o->n_slot_variables = sw;
		size_t vw = 0;
		for (size_t k = 0; k < o->n_saveable_objects; k++) {
			Tensorflow__SavedObject__SaveableObjectsEntry *e = o->saveable_objects[k];
			Tensorflow__SaveableObject *s = e->value;
			int ok = 1;
			if (s && s->save_function)
				ok &= s->save_function > 0 && (size_t)s->save_function < n && map[s->save_function] >= 0;
			if (s && s->restore_function)
				ok &= s->restore_function > 0 && (size_t)s->restore_function < n && map[s->restore_function] >= 0;
			if (!ok) {
				protobuf_c_message_free_unpacked(&e->base, NULL);
				continue;
			}
			if (s && s->save_function)
				s->save_function = map[s->save_function];
			if (s && s->restore_function)
				s->restore_function = map[s->restore_function];
			o->saveable_objects[vw++] = e;
		}
		o->n_saveable_objects = vw;
		og->nodes[w++] = o;
	}
	og->n_nodes = w;
	free(ph);
	if (cdel)
		rc = ckpt_remove(m, cdel);
done:
	free(map);
	free(cmap);
	free(cdel);
	return rc;
}
