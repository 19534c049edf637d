/* saver.c - removing checkpoint keys from SaveV2/RestoreV2 nodes, in graphs
 * and in function bodies, and dead-argument removal for the traced saver
 * functions. See saver.h. */
#include "saver.h"
#include "sort.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* ------------------------------------------------------------------ keyset */

void tfs_keyset_init(tfs_keyset *s)
{
	memset(s, 0, sizeof *s);
}

void tfs_keyset_free(tfs_keyset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

int tfs_keyset_add(tfs_keyset *s, const char *key)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return tfs_nomem();
		s->v = v;
		s->cap = cap;
	}
	char *k = strdup(key);
	if (!k)
		return tfs_nomem();
	s->v[s->n++] = k;
	s->sorted = 0;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int keyset_has_n(tfs_keyset *s, const char *key, size_t len)
{
	if (!s->sorted) {
		if (s->n)
			tfs_qsort(s->v, s->n, sizeof *s->v, cmp_str);
		s->sorted = 1;
	}
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = s->v[mid];
		size_t kl = strlen(k);
		int c = memcmp(k, key, kl < len ? kl : len);
		if (c == 0)
			c = kl < len ? -1 : kl > len;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int tfs_keyset_has(tfs_keyset *s, const char *key)
{
	return keyset_has_n(s, key, strlen(key));
}

/* ------------------------------------------------------- node name index */

typedef struct name_index {
	int64_t *slot; /* node index or -1 */
	size_t cap;
	Tensorflow__NodeDef **nodes;
} name_index;

static uint64_t hash_n(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

static int index_build(name_index *x, tfs_nodes l)
{
	size_t n = *l.n, cap = 16;
	while (cap < 2 * n + 1)
		cap *= 2;
	x->slot = malloc(cap * sizeof *x->slot);
	if (!x->slot)
		return tfs_nomem();
	x->cap = cap;
	x->nodes = *l.v;
	for (size_t i = 0; i < cap; i++)
		x->slot[i] = -1;
	for (size_t i = 0; i < n; i++) {
		const char *nm = (*l.v)[i]->name;
		size_t h = hash_n(nm, strlen(nm)) & (cap - 1);
		while (x->slot[h] >= 0)
			h = (h + 1) & (cap - 1);
		x->slot[h] = (int64_t)i;
	}
	return 0;
}

static int64_t index_find(const name_index *x, const char *name, size_t len)
{
	size_t h = hash_n(name, len) & (x->cap - 1);
	while (x->slot[h] >= 0) {
		const char *nm = x->nodes[x->slot[h]]->name;
		if (strlen(nm) == len && !memcmp(nm, name, len))
			return x->slot[h];
		h = (h + 1) & (x->cap - 1);
	}
	return -1;
}

static void index_free(name_index *x)
{
	free(x->slot);
	x->slot = NULL;
}

/* ---------------------------------------------------------------- helpers */

/* Output index a data reference reads: graph "n" / "n:3", function "n:out:3". */
static int64_t ref_index(const tfs_ref *r)
{
	const char *p = r->port;
	if (!*p)
		return 0;
	const char *last = strrchr(p, ':');
	char *end;
	long long v = strtoll(last + 1, &end, 10);
	return (*end || v < 0) ? -1 : v;
}

static Tensorflow__FunctionDef *owner_function(const tfshrink_model *m, tfs_nodes l)
{
	if (!l.in_function)
		return NULL;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		Tensorflow__GraphDef *gd = m->sm->meta_graphs[g]->graph_def;
		for (size_t f = 0; gd && gd->library && f < gd->library->n_function; f++)
			if (&gd->library->function[f]->node_def == l.v)
				return gd->library->function[f];
	}
	return NULL;
}

static Tensorflow__TensorProto *const_value(Tensorflow__NodeDef *n)
{
	if (!n || strcmp(n->op, "Const"))
		return NULL;
	Tensorflow__AttrValue *v = tfs_node_attr(n, "value");
	return (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TENSOR) ? v->tensor : NULL;
}

/* Number of data/control inputs, over the whole list, that name node `name`. */
static size_t count_uses(tfs_nodes l, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < *l.n; i++)
		for (size_t j = 0; j < (*l.v)[i]->n_input; j++) {
			tfs_ref r;
			tfs_ref_parse((*l.v)[i]->input[j], &r);
			k += tfs_ref_is(&r, name);
		}
	return k;
}

static int append_node(tfs_nodes l, Tensorflow__NodeDef *n)
{
	Tensorflow__NodeDef **v = realloc(*l.v, (*l.n + 1) * sizeof *v);
	if (!v)
		return tfs_nomem();
	*l.v = v;
	v[(*l.n)++] = n;
	return 0;
}

/* Input `slot` of node nd names a Const; returns that Const, cloned under a
 * fresh name (and nd repointed to it) when some other input also reads it. */
static int own_const(tfs_nodes l, Tensorflow__NodeDef *nd, size_t slot, const char *where,
                     Tensorflow__NodeDef **out)
{
	tfs_ref r;
	tfs_ref_parse(nd->input[slot], &r);
	char *name = strndup(r.name, r.name_len);
	if (!name)
		return tfs_nomem();
	Tensorflow__NodeDef *c = tfs_nodes_find(l, name);
	if (!const_value(c)) {
		int rc = tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1, "%s: input %zu of '%s' ('%s') is not a Const", where,
		                 slot, nd->name, nd->input[slot]);
		free(name);
		return rc;
	}
	if (count_uses(l, name) <= 1) {
		free(name);
		*out = c;
		return 0;
	}
	/* Shared: clone it. */
	size_t n = tensorflow__node_def__get_packed_size(c);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		free(name);
		return tfs_nomem();
	}
	tensorflow__node_def__pack(c, buf);
	Tensorflow__NodeDef *k = tensorflow__node_def__unpack(NULL, n, buf);
	free(buf);
	if (!k) {
		free(name);
		return tfs_nomem();
	}
	char *nn = NULL;
	for (int i = 0; !nn; i++) {
		if (asprintf(&nn, "%s_tfs%d", name, i) < 0) {
			nn = NULL;
			break;
		}
		if (tfs_nodes_find(l, nn)) {
			free(nn);
			nn = NULL;
		}
	}
	free(name);
	if (!nn) {
		tensorflow__node_def__free_unpacked(k, NULL);
		return tfs_nomem();
	}
	free(k->name);
	k->name = nn;
	char *in = NULL;
	if (asprintf(&in, "%s%s", nn, r.port) < 0) {
		tensorflow__node_def__free_unpacked(k, NULL);
		return tfs_nomem();
	}
	int rc = append_node(l, k);
	if (rc < 0) {
		free(in);
		tensorflow__node_def__free_unpacked(k, NULL);
		return rc;
	}
	free(nd->input[slot]);
	nd->input[slot] = in;
	*out = k;
	return 0;
}

/* Keeps entries keep[i] of a 1-D string Const of n entries. A tensor that
 * stores one value for all n (TensorProto's repeat-the-last rule) keeps it. */
static int filter_strings(Tensorflow__TensorProto *t, const uint8_t *keep, size_t n, size_t n_keep,
                          const char *where, const char *node)
{
	if (t->n_string_val == n)
		return tfs_tensor_strings_filter(t, keep, n);
	if (t->n_string_val == 1 && t->tensor_shape && t->tensor_shape->n_dim == 1 &&
	    t->tensor_shape->dim[0]->size == (int64_t)n) {
		t->tensor_shape->dim[0]->size = (int64_t)n_keep;
		return 0;
	}
	return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1, "%s: '%s' holds %zu strings for %zu keys", where, node,
	               t->n_string_val, n);
}

/* A 1-D Const's _output_shapes entry follows its new length. */
static void fix_const_shape(Tensorflow__NodeDef *c, size_t n_keep)
{
	Tensorflow__AttrValue *os = tfs_node_attr(c, "_output_shapes");
	if (os && os->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && os->list && os->list->n_shape == 1 &&
	    os->list->shape[0]->n_dim == 1)
		os->list->shape[0]->dim[0]->size = (int64_t)n_keep;
}

static void filter_shapes_attr(Tensorflow__NodeDef *nd, const uint8_t *keep, size_t n)
{
	Tensorflow__AttrValue *os = tfs_node_attr(nd, "_output_shapes");
	if (os && os->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && os->list && os->list->n_shape == n)
		tfs_list_filter(os->list, keep, n);
}

/* A growable list of node indexes. */
typedef struct ivec {
	size_t *v, n, cap;
} ivec;

static int ivec_push(ivec *a, size_t i)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		size_t *v = realloc(a->v, cap * sizeof *v);
		if (!v)
			return tfs_nomem();
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = i;
	return 0;
}

/* Re-points consumers of RestoreV2 node rn's outputs at the renumbered
 * outputs; records consumers of removed outputs in gone. */
static int renumber_outputs(tfs_nodes l, const Tensorflow__NodeDef *rn, const uint8_t *keep, size_t n, ivec *gone)
{
	int64_t *map = malloc((n ? n : 1) * sizeof *map);
	if (!map)
		return tfs_nomem();
	int64_t next = 0;
	for (size_t i = 0; i < n; i++)
		map[i] = keep[i] ? next++ : -1;
	for (size_t i = 0; i < *l.n; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		for (size_t j = 0; j < nd->n_input; j++) {
			tfs_ref r;
			tfs_ref_parse(nd->input[j], &r);
			if (r.control || !tfs_ref_is(&r, rn->name))
				continue;
			int64_t k = ref_index(&r);
			if (k < 0 || (size_t)k >= n) {
				free(map);
				return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1, "'%s' reads '%s', beyond its %zu outputs", nd->name,
				               nd->input[j], n);
			}
			if (map[k] < 0) {
				if (ivec_push(gone, i) < 0) {
					free(map);
					return TFSHRINK_ENOMEM;
				}
				continue;
			}
			if (map[k] == k)
				continue;
			char *s = NULL;
			int w;
			if (l.in_function) {
				/* "name:tensors:K": keep the output arg name. */
				const char *last = strrchr(r.port, ':');
				w = asprintf(&s, "%s%.*s:%" PRId64, rn->name, (int)(last - r.port), r.port, map[k]);
			} else {
				w = map[k] == 0 && !*r.port ? asprintf(&s, "%s", rn->name)
				                            : asprintf(&s, "%s:%" PRId64, rn->name, map[k]);
			}
			if (w < 0) {
				free(map);
				return tfs_nomem();
			}
			free(nd->input[j]);
			nd->input[j] = s;
		}
	}
	free(map);
	return 0;
}


static int is_passthrough_op(const char *op)
{
	return !strcmp(op, "Identity") || !strcmp(op, "ReadVariableOp") || !strcmp(op, "DisableCopyOnRead") ||
	       !strcmp(op, "Const") || !strcmp(op, "Snapshot");
}

/* 1 if a function ret value names node (or arg) `name`. */
static int ret_uses(const Tensorflow__FunctionDef *f, const char *name, size_t len)
{
	for (size_t i = 0; f && i < f->n_ret; i++) {
		tfs_ref r;
		tfs_ref_parse(f->ret[i]->value, &r);
		if (r.name_len == len && !memcmp(r.name, name, len))
			return 1;
	}
	return 0;
}

/* Removes control_ret entries naming removed nodes, and the
 * signature.control_output entries that were their keys. */
static int fix_control_rets(Tensorflow__FunctionDef *f, const name_index *x, const uint8_t *del)
{
	tfs_keyset gone;
	tfs_keyset_init(&gone);
	size_t w = 0;
	int rc = 0;
	for (size_t i = 0; i < f->n_control_ret; i++) {
		const char *v = f->control_ret[i]->value;
		int64_t k = index_find(x, v, strlen(v));
		if (k >= 0 && del[k]) {
			if (rc == 0)
				rc = tfs_keyset_add(&gone, f->control_ret[i]->key);
			protobuf_c_message_free_unpacked(&f->control_ret[i]->base, NULL);
		} else {
			f->control_ret[w++] = f->control_ret[i];
		}
	}
	f->n_control_ret = w;
	Tensorflow__OpDef *s = f->signature;
	w = 0;
	for (size_t i = 0; s && i < s->n_control_output; i++) {
		if (tfs_keyset_has(&gone, s->control_output[i]))
			free(s->control_output[i]);
		else
			s->control_output[w++] = s->control_output[i];
	}
	if (s)
		s->n_control_output = w;
	tfs_keyset_free(&gone);
	return rc;
}

/* Edits one SaveV2/RestoreV2 node; records what may go in fwd (readers of
 * removed restore outputs, emptied RestoreV2s) and back (producers of
 * removed SaveV2 inputs, Consts of emptied RestoreV2s). Returns the number
 * of key entries removed. */
static int edit_op(tfs_nodes l, size_t idx, const char *where, tfs_keyset *keys, ivec *fwd, ivec *back)
{
	Tensorflow__NodeDef *nd = (*l.v)[idx];
	int restore = !strcmp(nd->op, "RestoreV2");
	if (nd->n_input < 3)
		return tfs_err(TFSHRINK_ECORRUPT, NULL, -1, "%s: '%s' has %zu inputs", where, nd->name, nd->n_input);
	tfs_ref r;
	tfs_ref_parse(nd->input[1], &r);
	char *nm = strndup(r.name, r.name_len);
	if (!nm)
		return tfs_nomem();
	Tensorflow__TensorProto *names = const_value(tfs_nodes_find(l, nm));
	free(nm);
	Tensorflow__AttrValue *dt = tfs_node_attr(nd, "dtypes");
	if (!names || !dt || dt->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST || !dt->list)
		return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1, "%s: cannot read the keys of '%s'", where, nd->name);
	size_t n = dt->list->n_type;
	if (names->n_string_val != n)
		return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1, "%s: '%s' lists %zu keys and %zu dtypes", where, nd->name,
		               names->n_string_val, n);
	uint8_t *keep = malloc(n ? n : 1);
	if (!keep)
		return tfs_nomem();
	size_t n_keep = 0;
	for (size_t i = 0; i < n; i++) {
		keep[i] = !keyset_has_n(keys, (const char *)names->string_val[i].data, names->string_val[i].len);
		n_keep += keep[i];
	}
	int rc = 0;
	if (n_keep == n)
		goto done;
	if (!restore) {
		size_t n_data = 0;
		while (3 + n_data < nd->n_input && nd->input[3 + n_data][0] != '^')
			n_data++;
		if (n_data != n) {
			rc = tfs_err(TFSHRINK_ECORRUPT, NULL, -1, "%s: '%s' saves %zu tensors under %zu keys", where, nd->name,
			             n_data, n);
			goto done;
		}
		if (n_keep == 0) {
			rc = tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1,
			             "%s: removing every key of '%s' would leave a SaveV2 with nothing to save", where, nd->name);
			goto done;
		}
	}
	if (restore && n_keep == 0) {
		/* The whole RestoreV2 goes, with every reader and its key Consts. */
		if ((rc = ivec_push(fwd, idx)) < 0)
			goto done;
		for (size_t s = 1; s <= 2; s++) {
			tfs_ref cr;
			tfs_ref_parse(nd->input[s], &cr);
			char *cn = strndup(cr.name, cr.name_len);
			if (!cn) {
				rc = tfs_nomem();
				goto done;
			}
			ssize_t ci = tfs_nodes_index(l, cn);
			free(cn);
			if (ci >= 0 && (rc = ivec_push(back, (size_t)ci)) < 0)
				goto done;
		}
		rc = renumber_outputs(l, nd, keep, n, fwd);
		goto done;
	}
	/* Own copies of the key Consts, then filter them and the attrs. */
	Tensorflow__NodeDef *cn, *cs;
	if ((rc = own_const(l, nd, 1, where, &cn)) < 0 || (rc = own_const(l, nd, 2, where, &cs)) < 0)
		goto done;
	nd = (*l.v)[idx]; /* the list may have moved */
	if ((rc = filter_strings(const_value(cn), keep, n, n_keep, where, cn->name)) < 0 ||
	    (rc = filter_strings(const_value(cs), keep, n, n_keep, where, cs->name)) < 0)
		goto done;
	fix_const_shape(cn, n_keep);
	fix_const_shape(cs, n_keep);
	tfs_list_filter(dt->list, keep, n);
	if (restore) {
		filter_shapes_attr(nd, keep, n);
		rc = renumber_outputs(l, nd, keep, n, fwd);
		goto done;
	}
	for (size_t i = n; i-- > 0;) {
		if (keep[i])
			continue;
		tfs_ref pr;
		tfs_ref_parse(nd->input[3 + i], &pr);
		char *pn = strndup(pr.name, pr.name_len);
		if (!pn) {
			rc = tfs_nomem();
			goto done;
		}
		ssize_t pi = tfs_nodes_index(l, pn);
		free(pn);
		tfs_node_remove_input(nd, 3 + i);
		if (pi >= 0 && l.in_function && (rc = ivec_push(back, (size_t)pi)) < 0)
			goto done;
	}
done:
	free(keep);
	return rc < 0 ? rc : (int)(n - n_keep);
}

/* Index of the node a reference names, or -1 (function args, unknown). */
static int64_t ref_node(const name_index *x, const char *input)
{
	tfs_ref r;
	tfs_ref_parse(input, &r);
	return index_find(x, r.name, r.name_len);
}

int tfs_saver_remove_keys(tfshrink_model *m, tfs_nodes l, const char *where, tfs_keyset *keys)
{
	Tensorflow__FunctionDef *fn = owner_function(m, l);
	size_t n0 = *l.n;
	ivec ops = { 0 }, fwd = { 0 }, back = { 0 };
	uint8_t *del = NULL;
	size_t *uses = NULL;
	name_index x = { 0 };
	int rc = 0, removed = 0;
	for (size_t i = 0; i < n0 && rc == 0; i++)
		if (!strcmp((*l.v)[i]->op, "SaveV2") || !strcmp((*l.v)[i]->op, "RestoreV2"))
			rc = ivec_push(&ops, i);
	for (size_t o = 0; o < ops.n && rc == 0; o++) {
		int k = edit_op(l, ops.v[o], where, keys, &fwd, &back);
		if (k < 0)
			rc = k;
		else
			removed += k;
	}
	if (rc < 0 || (fwd.n == 0 && back.n == 0))
		goto done;
	size_t n = *l.n;
	del = calloc(n ? n : 1, 1);
	uses = calloc(n ? n : 1, sizeof *uses);
	if (!del || !uses || (rc = index_build(&x, l)) < 0) {
		rc = rc < 0 ? rc : tfs_nomem();
		goto done;
	}
	/* Forward: readers of removed restore outputs, and what reads them. */
	for (size_t i = 0; i < fwd.n; i++)
		del[fwd.v[i]] = 1;
	for (int changed = fwd.n > 0; changed;) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			Tensorflow__NodeDef *nd = (*l.v)[i];
			for (size_t j = 0; j < nd->n_input && !del[i]; j++) {
				if (nd->input[j][0] == '^')
					continue;
				int64_t p = ref_node(&x, nd->input[j]);
				if (p >= 0 && del[p])
					del[i] = changed = 1;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (del[i] && ret_uses(fn, (*l.v)[i]->name, strlen((*l.v)[i]->name))) {
			rc = tfs_err(TFSHRINK_EVERIFY, NULL, -1, "%s: output of the function depends on removed node '%s'", where,
			             (*l.v)[i]->name);
			goto done;
		}
	/* Backward: producers nothing reads any more. */
	for (size_t i = 0; i < n; i++) {
		if (del[i])
			continue;
		/* A NoOp's control inputs only order side effects: they go with the node. */
		int noop = !strcmp((*l.v)[i]->op, "NoOp");
		for (size_t j = 0; j < (*l.v)[i]->n_input; j++) {
			if (noop && (*l.v)[i]->input[j][0] == '^')
				continue;
			int64_t p = ref_node(&x, (*l.v)[i]->input[j]);
			if (p >= 0)
				uses[p]++;
		}
	}
	for (size_t b = 0; b < back.n; b++) {
		size_t c = back.v[b];
		Tensorflow__NodeDef *nd = (*l.v)[c];
		if (del[c] || uses[c] || !is_passthrough_op(nd->op) || ret_uses(fn, nd->name, strlen(nd->name)))
			continue;
		if (!l.in_function && strcmp(nd->op, "Const"))
			continue;
		del[c] = 1;
		for (size_t j = 0; j < nd->n_input; j++) {
			int64_t p = ref_node(&x, nd->input[j]);
			if (p >= 0 && uses[p]) {
				uses[p]--;
				if (l.in_function && (rc = ivec_push(&back, (size_t)p)) < 0)
					goto done;
			}
		}
	}
	if (fn && (rc = fix_control_rets(fn, &x, del)) < 0)
		goto done;
	rc = tfs_nodes_remove(l, del, where);
done:
	index_free(&x);
	free(ops.v);
	free(fwd.v);
	free(back.v);
	free(del);
	free(uses);
	return rc < 0 ? rc : removed;
}

/* --------------------------------------------------------- dead arguments */

int tfs_function_remove_dead_args(tfshrink_model *m, Tensorflow__FunctionDef *f, uint8_t **removed, size_t *n_args)
{
	if (removed)
		*removed = NULL;
	if (n_args)
		*n_args = 0;
	if (!f || !f->signature)
		return 0;
	const char *fname = f->signature->name;
	const Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	for (size_t i = 0; og && i < og->n_concrete_functions; i++)
		if (!strcmp(og->concrete_functions[i]->key, fname))
			return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1,
			               "'%s' is a concrete function of the object graph: its arguments are bound by position",
			               fname);
	size_t n = f->signature->n_input_arg;
	if (n_args)
		*n_args = n;
	if (n == 0)
		return 0;
	uint8_t *del = malloc(n);
	if (!del)
		return tfs_nomem();
	size_t k = 0;
	for (size_t a = 0; a < n; a++) {
		const char *an = f->signature->input_arg[a]->name;
		size_t al = strlen(an);
		int used = ret_uses(f, an, al);
		for (size_t i = 0; i < f->n_node_def && !used; i++)
			for (size_t j = 0; j < f->node_def[i]->n_input && !used; j++) {
				tfs_ref r;
				tfs_ref_parse(f->node_def[i]->input[j], &r);
				used = tfs_ref_is(&r, an);
			}
		del[a] = !used;
		k += del[a];
	}
	if (k == 0) {
		free(del);
		return 0;
	}
	int rc = tfs_calls_remove_inputs(m, fname, del, n);
	if (rc == 0)
		rc = tfs_function_remove_args(f, del);
	if (rc < 0 || !removed)
		free(del);
	else
		*removed = del;
	return rc < 0 ? rc : (int)k;
}

/* ------------------------------------------------------------ traced saver */

static Tensorflow__NodeDef *top_node(Tensorflow__GraphDef *g, const char *tensor)
{
	size_t len = strcspn(tensor, ":");
	if (tensor[0] == '^') {
		tensor++;
		len--;
	}
	for (size_t i = 0; g && i < g->n_node; i++)
		if (strlen(g->node[i]->name) == len && !memcmp(g->node[i]->name, tensor, len))
			return g->node[i];
	return NULL;
}

int tfs_traced_saver_find(const tfshrink_model *m, tfs_traced_saver *out)
{
	memset(out, 0, sizeof *out);
	if (!m->sm->n_meta_graphs)
		return 0;
	const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	const Tensorflow__SaverDef *sd = mg->saver_def;
	if (!sd || !mg->graph_def)
		return 0;
	if (sd->restore_op_name && *sd->restore_op_name) {
		Tensorflow__NodeDef *n = top_node(mg->graph_def, sd->restore_op_name);
		const char *c = n ? tfs_node_callee(n) : NULL;
		Tensorflow__FunctionDef *f = c ? tfs_model_function(m, c) : NULL;
		if (f) {
			out->restore_call = n;
			out->restore_fn = f;
		}
	}
	if (sd->save_tensor_name && *sd->save_tensor_name) {
		Tensorflow__NodeDef *n = top_node(mg->graph_def, sd->save_tensor_name);
		const char *c = n ? tfs_node_callee(n) : NULL;
		Tensorflow__FunctionDef *f = c ? tfs_model_function(m, c) : NULL;
		if (f) {
			out->save_call = n;
			out->save_fn = f;
		}
	}
	return 0;
}
