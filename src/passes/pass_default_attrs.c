/* pass_default_attrs.c - strips node attributes whose value equals their op's
 * default, as TensorFlow's strip_default_attrs does, and trims the meta
 * graph's stripped_op_list to the ops still used.
 *
 * The defaults come from the MetaGraphDef's own meta_info_def.stripped_op_list
 * (the producer's OpDefs); every loader re-adds them (AddDefaultAttrsToGraphDef)
 * before it validates or runs a node, so the graph means the same. Attributes
 * without a default and attributes starting with '_' are never stripped, and
 * nodes that call a library function are left alone (their attrs are the
 * function's, not an op's). With opts->strip_shapes, `_output_shapes` goes
 * too (node attrs only; FunctionDef.arg_attr is kept, the Python loader reads
 * argument shapes from it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "pass.h"
#include "sort.h"

/* ------------------------------------------------------ AttrValue equality */

static int bin_eq(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

/* Same serialized bytes; a NULL message counts as the empty message.
 * Returns 1 equal, 0 different, <0 out of memory. */
static int msg_eq(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = a ? protobuf_c_message_get_packed_size(a) : 0;
	size_t nb = b ? protobuf_c_message_get_packed_size(b) : 0;
	if (na != nb)
		return 0;
	if (na == 0)
		return 1;
	uint8_t *x = malloc(na), *y = malloc(nb);
	int r;
	if (!x || !y) {
		r = tfs_nomem();
	} else {
		protobuf_c_message_pack(a, x);
		protobuf_c_message_pack(b, y);
		r = !memcmp(x, y, na);
	}
	free(x);
	free(y);
	return r;
}

#define MSG(p) ((const ProtobufCMessage *)(p))

static int list_eq(const Tensorflow__AttrValue__ListValue *a, const Tensorflow__AttrValue__ListValue *b)
{
	static const Tensorflow__AttrValue__ListValue empty = TENSORFLOW__ATTR_VALUE__LIST_VALUE__INIT;
	if (!a)
		a = &empty;
	if (!b)
		b = &empty;
	if (a->n_s != b->n_s || a->n_i != b->n_i || a->n_f != b->n_f || a->n_b != b->n_b || a->n_type != b->n_type ||
	    a->n_shape != b->n_shape || a->n_tensor != b->n_tensor || a->n_func != b->n_func)
		return 0;
	for (size_t k = 0; k < a->n_s; k++)
		if (!bin_eq(&a->s[k], &b->s[k]))
			return 0;
	if (a->n_i && memcmp(a->i, b->i, a->n_i * sizeof *a->i))
		return 0;
	/* Floats by bit pattern: -0.0 is not 0.0 here, and NaN equals its own bits. */
	if (a->n_f && memcmp(a->f, b->f, a->n_f * sizeof *a->f))
		return 0;
	for (size_t k = 0; k < a->n_b; k++)
		if (!a->b[k] != !b->b[k])
			return 0;
	for (size_t k = 0; k < a->n_type; k++)
		if (a->type[k] != b->type[k])
			return 0;
	int r;
	for (size_t k = 0; k < a->n_shape; k++)
		if ((r = msg_eq(MSG(a->shape[k]), MSG(b->shape[k]))) <= 0)
			return r;
	for (size_t k = 0; k < a->n_tensor; k++)
		if ((r = msg_eq(MSG(a->tensor[k]), MSG(b->tensor[k]))) <= 0)
			return r;
	for (size_t k = 0; k < a->n_func; k++)
		if ((r = msg_eq(MSG(a->func[k]), MSG(b->func[k]))) <= 0)
			return r;
	return 1;
}

/* 1 if v holds the same value as d in the same oneof member, 0 if not, <0 on
 * error. A value or default with no member set never matches. */
static int attr_eq(const Tensorflow__AttrValue *v, const Tensorflow__AttrValue *d)
{
	if (!v || !d || v->value_case != d->value_case || v->value_case == TENSORFLOW__ATTR_VALUE__VALUE__NOT_SET)
		return 0;
	switch (v->value_case) {
	case TENSORFLOW__ATTR_VALUE__VALUE_LIST: return list_eq(v->list, d->list);
	case TENSORFLOW__ATTR_VALUE__VALUE_S: return bin_eq(&v->s, &d->s);
	case TENSORFLOW__ATTR_VALUE__VALUE_I: return v->i == d->i;
	case TENSORFLOW__ATTR_VALUE__VALUE_F: return !memcmp(&v->f, &d->f, sizeof v->f);
	case TENSORFLOW__ATTR_VALUE__VALUE_B: return !v->b == !d->b;
	case TENSORFLOW__ATTR_VALUE__VALUE_TYPE: return v->type == d->type;
	case TENSORFLOW__ATTR_VALUE__VALUE_SHAPE: return msg_eq(MSG(v->shape), MSG(d->shape));
	case TENSORFLOW__ATTR_VALUE__VALUE_TENSOR: return msg_eq(MSG(v->tensor), MSG(d->tensor));
	case TENSORFLOW__ATTR_VALUE__VALUE_PLACEHOLDER:
		return !strcmp(v->placeholder ? v->placeholder : "", d->placeholder ? d->placeholder : "");
	case TENSORFLOW__ATTR_VALUE__VALUE_FUNC: return msg_eq(MSG(v->func), MSG(d->func));
	default: return 0;
	}
}

/* ------------------------------------------------------------ name lookups */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int in_sorted(const char *const *v, size_t n, const char *s)
{
	return tfs_bsearch(&s, v, n, sizeof *v, cmp_str) != NULL;
}

typedef struct op_ix {
	const char *name;
	Tensorflow__OpDef *op;
	size_t pos;      /* index in stripped_op_list */
} op_ix;

static int cmp_op_ix(const void *a, const void *b)
{
	return strcmp(((const op_ix *)a)->name, ((const op_ix *)b)->name);
}

static op_ix *find_op(op_ix *v, size_t n, const char *name)
{
	op_ix key = { name, NULL, 0 };
	return tfs_bsearch(&key, v, n, sizeof *v, cmp_op_ix);
}

typedef struct scope {
	const char **funcs;  /* library function names, sorted */
	size_t n_funcs;
	op_ix *ops;          /* stripped_op_list by name, sorted */
	size_t n_ops;
	uint8_t *used;       /* per stripped_op_list position */
	int strip_shapes;
	uint64_t stripped, shapes;
} scope;

static const Tensorflow__AttrValue *default_of(const Tensorflow__OpDef *op, const char *attr)
{
	for (size_t k = 0; k < op->n_attr; k++)
		if (op->attr[k]->name && !strcmp(op->attr[k]->name, attr))
			return op->attr[k]->default_value;
	return NULL;
}

static int strip_node(scope *s, Tensorflow__NodeDef *nd)
{
	int is_call = in_sorted(s->funcs, s->n_funcs, nd->op);
	op_ix *ox = is_call ? NULL : find_op(s->ops, s->n_ops, nd->op);
	if (ox)
		s->used[ox->pos] = 1;
	size_t w = 0;
	for (size_t a = 0; a < nd->n_attr; a++) {
		Tensorflow__NodeDef__AttrEntry *e = nd->attr[a];
		const char *key = e->key ? e->key : "";
		int drop = 0;
		if (key[0] == '_') {
			if (s->strip_shapes && !strcmp(key, "_output_shapes")) {
				drop = 1;
				s->shapes++;
			}
		} else if (ox) {
			const Tensorflow__AttrValue *d = default_of(ox->op, key);
			int r = d ? attr_eq(e->value, d) : 0;
			if (r < 0)
				return r;
			if (r) {
				drop = 1;
				s->stripped++;
			}
		}
		if (drop)
			protobuf_c_message_free_unpacked(&e->base, NULL);
		else
			nd->attr[w++] = e;
	}
	nd->n_attr = w;
	return 0;
}

static int strip_nodes(scope *s, Tensorflow__NodeDef **nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		TFS_TRY(strip_node(s, nodes[i]));
	return 0;
}

/* One meta graph: strip, then keep only the OpDefs of ops still used. */
static int run_meta_graph(Tensorflow__MetaGraphDef *mg, const tfshrink_shrink_options *opts, uint64_t *stripped,
                          uint64_t *shapes, uint64_t *ops_before, uint64_t *ops_after)
{
	Tensorflow__GraphDef *gd = mg->graph_def;
	Tensorflow__OpList *ol = mg->meta_info_def ? mg->meta_info_def->stripped_op_list : NULL;
	if (!gd)
		return 0;
	Tensorflow__FunctionDefLibrary *lib = gd->library;
	scope s = { 0 };
	s.strip_shapes = opts->strip_shapes;
	size_t nf = lib ? lib->n_function : 0, no = ol ? ol->n_op : 0;
	s.funcs = malloc((nf ? nf : 1) * sizeof *s.funcs);
	s.ops = malloc((no ? no : 1) * sizeof *s.ops);
	s.used = calloc(no ? no : 1, 1);
	int rc = 0;
	if (!s.funcs || !s.ops || !s.used) {
		rc = tfs_nomem();
		goto done;
	}
	for (size_t f = 0; f < nf; f++)
		if (lib->function[f]->signature && lib->function[f]->signature->name)
			s.funcs[s.n_funcs++] = lib->function[f]->signature->name;
	tfs_qsort(s.funcs, s.n_funcs, sizeof *s.funcs, cmp_str);
	for (size_t k = 0; k < no; k++) {
		if (!ol->op[k]->name)
			continue;
		op_ix x = { ol->op[k]->name, ol->op[k], k };
		s.ops[s.n_ops++] = x;
	}
	tfs_qsort(s.ops, s.n_ops, sizeof *s.ops, cmp_op_ix);
	/* The first OpDef of a name wins if the list repeats one (keep them all then). */
	for (size_t k = 1; k < s.n_ops; k++)
		if (!strcmp(s.ops[k - 1].name, s.ops[k].name)) {
			for (size_t j = 0; j < no; j++)
				s.used[j] = 1;
			s.n_ops = 0; /* ambiguous defaults: strip nothing */
			break;
		}
	if ((rc = strip_nodes(&s, gd->node, gd->n_node)) < 0)
		goto done;
	for (size_t f = 0; f < nf; f++)
		if ((rc = strip_nodes(&s, lib->function[f]->node_def, lib->function[f]->n_node_def)) < 0)
			goto done;
	if (s.stripped)
		mg->meta_info_def->stripped_default_attrs = 1;
	/* OpDefs of ops no node uses any more. */
	size_t w = 0;
	for (size_t k = 0; k < no; k++) {
		if (s.used[k] || !ol->op[k]->name)
			ol->op[w++] = ol->op[k];
		else
			protobuf_c_message_free_unpacked(&ol->op[k]->base, NULL);
	}
	if (ol)
		ol->n_op = w;
	*stripped += s.stripped;
	*shapes += s.shapes;
	*ops_before += no;
	*ops_after += w;
done:
	free(s.funcs);
	free(s.ops);
	free(s.used);
	return rc;
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	uint64_t stripped = 0, shapes = 0, before = 0, after = 0;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++)
		TFS_TRY(run_meta_graph(m->sm->meta_graphs[g], ctx->opts, &stripped, &shapes, &before, &after));
	ctx->items = stripped + shapes + (before - after);
	if (ctx->opts->strip_shapes)
		snprintf(ctx->summary, sizeof ctx->summary,
		         "%llu default-valued attr(s), %llu _output_shapes; op list %llu -> %llu ops",
		         (unsigned long long)stripped, (unsigned long long)shapes, (unsigned long long)before,
		         (unsigned long long)after);
	else
		snprintf(ctx->summary, sizeof ctx->summary, "%llu default-valued attr(s); op list %llu -> %llu ops",
		         (unsigned long long)stripped, (unsigned long long)before, (unsigned long long)after);
	return 0;
}

TFS_PASS_DEFINE(default_attrs, "default-attrs", 30,
                "strip attributes equal to their op's default; trim the op list to the ops used", run);
