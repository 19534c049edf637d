/*
 * check.c - structural checks of an untrusted SavedModel, run by
 * tfshrink_model_open once saved_model.pb and the variables are parsed.
 *
 * The wire-format and bundle readers already refuse bytes that do not parse;
 * these checks refuse models that parse but that TensorFlow's loaders (or the
 * passes here) would crash on, misread or fail to load, each with a one-line
 * ECORRUPT / ELIMIT / ENOTFOUND naming saved_model.pb (or the missing file)
 * and the node, function or entry at fault. Every check is linear or
 * n log n in the size of the model and uses no recursion, so a crafted
 * model cannot make them slow or exhaust the stack.
 *
 *  - Op definitions (stripped_op_list, function signatures): an attr, input
 *    or output declared twice (CVE-2022-23565: TF CHECK-fails); the library
 *    defining one function name twice (lookups would pick either).
 *  - Node names unique within the graph and within each function body, and
 *    every input, function return and control return naming a node (or, in
 *    a function, an input argument) that exists (CVE-2022-23589: a missing
 *    input node is a null dereference in Grappler).
 *  - Function references: a func-valued attr naming neither a library
 *    function nor an op of the stripped op list; functions calling
 *    themselves or each other in a cycle, found by an iterative depth-first
 *    search over the call graph (CVE-2022-23591: TF recurses until the
 *    stack overflows). The object graph's function lists are checked too.
 *  - Const nodes: the `dtype` and `value` attrs present, of the right kind,
 *    and agreeing (CVE-2020-15206: missing keys segfault; CVE-2022-23583:
 *    dtype confusion CHECK-fails).
 *  - Every tensor held in a node attr (Const values first of all), at top
 *    level and in functions: a valid, non-reference dtype; a fully known
 *    shape with at most 254 non-negative dimensions and at most 2^58
 *    elements; tensor_content exactly elements x dtype size for fixed-size
 *    dtypes (CVE-2022-23571/23582/23588: invalid dtypes, partial or
 *    overflowing shapes and reference dtypes CHECK-fail in TF; a short
 *    tensor_content would be read past its end by a quantizing pass).
 *  - The init op: a `__saved_model_init_op` signature must have its
 *    `__saved_model_init_op` output naming a tensor (CVE-2022-23577: null
 *    dereference in GetInitOp), and the saved_model_main_op / legacy_init_op
 *    collections must name exactly one op (TF refuses others).
 *  - Assets (asset_file_def, or TF1's saved_model_assets collection): file
 *    names must be relative paths inside assets/ (no '/' prefix, no '.' or
 *    '..' or empty component), one asset tensor may not be given two
 *    different files, and in TF2 models (an object graph) each listed file
 *    (or directory of files) must exist under assets/ (the TF2 loader reads
 *    them; TF1 loaders only
 *    feed their paths, and TF Serving's own test models lack some). Symbolic
 *    links leaving the directory are refused by the directory walk.
 *  - The SavedObjectGraph: every object id it holds (children, dependencies,
 *    slot variables, saveable functions, captures) inside the graph, asset
 *    indexes inside asset_file_def (TF's loader indexes with them unchecked).
 *  - Variables: a TF2 model (an object graph) whose graph or functions
 *    restore checkpoint keys (RestoreV2, Restore, RestoreSlice) must have
 *    variables/variables.index (the TF2 loader fails without it). TF1 models
 *    may lack variables/ (TF1 loaders then skip the restore; a main op may
 *    initialize the variables), and so may any model restoring nothing.
 *    The checkpoint of a TF2 model must hold _CHECKPOINTABLE_OBJECT_GRAPH
 *    (TF's C++ loader and the traced restore function read it).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckd.h"
#include "dtype.h"
#include "error.h"
#include "model_internal.h"
#include "pbio.h"
#include "sort.h"
#include "tfs_limits.h"

/* Longest name quoted in a message (messages stay one readable line). */
#define Q "%.200s"

/* ------------------------------------------------------------- name sets */

/* A sorted array of borrowed names; lookups by (pointer, length). */
typedef struct nameset {
	const char **v;
	size_t n, cap;
} nameset;

static int ns_add(nameset *s, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		const char **v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return tfs_nomem();
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = name;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the set; returns a name present twice, or NULL. */
static const char *ns_sort(nameset *s)
{
	tfs_qsort(s->v, s->n, sizeof *s->v, cmp_str);
	for (size_t i = 1; i < s->n; i++)
		if (!strcmp(s->v[i - 1], s->v[i]))
			return s->v[i];
	return NULL;
}

/* Index of name[0..len) in the sorted set, or -1. */
static ssize_t ns_find(const nameset *s, const char *name, size_t len)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *x = s->v[mid];
		int c = strncmp(x, name, len);
		if (c == 0)
			c = x[len] != '\0'; /* x is longer: it sorts after */
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int ns_has(const nameset *s, const char *name)
{
	return ns_find(s, name, strlen(name)) >= 0;
}

static void ns_free(nameset *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ context */

typedef struct checker {
	tfshrink_model *m;
	const char *path;        /* saved_model.pb(txt), for messages */
	const Tensorflow__MetaGraphDef *mg;
	nameset ops;             /* stripped op list */
	nameset funcs;           /* library function names (sorted) */
	size_t *func_index;      /* funcs.v[i] -> index in library->function */
	int restores;            /* a restore op was seen */
} checker;

static int corrupt(const checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int corrupt(const checker *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return tfs_err(TFSHRINK_ECORRUPT, c->path, -1, "%s", msg);
}

/* "the graph" or "function 'NAME'" */
typedef struct where {
	char s[256];
} where;

static where where_graph(void)
{
	where w;
	snprintf(w.s, sizeof w.s, "the graph");
	return w;
}

static where where_func(const char *name)
{
	where w;
	snprintf(w.s, sizeof w.s, "function '%.200s'", name);
	return w;
}

static const char *func_name(const Tensorflow__FunctionDef *f)
{
	return f->signature ? f->signature->name : "";
}

/* ---------------------------------------------------------- op defs (10) */

/* *dup: a name present twice in names[0..n), or NULL. */
static int dup_name(const char *const *names, size_t n, const char **dup)
{
	*dup = NULL;
	if (n < 2)
		return 0;
	nameset s = { 0 };
	for (size_t i = 0; i < n; i++)
		TFS_TRY(ns_add(&s, names[i]));
	*dup = ns_sort(&s);
	ns_free(&s);
	return 0;
}

static int check_opdef(const checker *c, const Tensorflow__OpDef *op, const char *what)
{
	static const char *const kinds[3] = { "input", "output", "attr" };
	for (int k = 0; k < 3; k++) {
		size_t n = k == 0 ? op->n_input_arg : k == 1 ? op->n_output_arg : op->n_attr;
		const char **names = malloc((n ? n : 1) * sizeof *names);
		if (!names)
			return tfs_nomem();
		for (size_t i = 0; i < n; i++)
			names[i] = k == 0 ? op->input_arg[i]->name : k == 1 ? op->output_arg[i]->name : op->attr[i]->name;
		const char *dup;
		int rc = dup_name(names, n, &dup);
		if (rc == 0 && dup)
			rc = corrupt(c, "%s declares %s '" Q "' twice", what, kinds[k], dup);
		free(names);
		TFS_TRY(rc);
	}
	return 0;
}

static int check_op_list(checker *c)
{
	const Tensorflow__MetaGraphDef__MetaInfoDef *mi = c->mg->meta_info_def;
	const Tensorflow__OpList *ol = mi ? mi->stripped_op_list : NULL;
	for (size_t i = 0; ol && i < ol->n_op; i++) {
		char what[256];
		snprintf(what, sizeof what, "op '%.200s' in the stripped op list", ol->op[i]->name);
		TFS_TRY(check_opdef(c, ol->op[i], what));
		TFS_TRY(ns_add(&c->ops, ol->op[i]->name));
	}
	(void)ns_sort(&c->ops); /* an op listed twice is harmless */
	return 0;
}

typedef struct fidx {
	const char *name;
	size_t i;
} fidx;

static int cmp_fidx(const void *a, const void *b)
{
	return strcmp(((const fidx *)a)->name, ((const fidx *)b)->name);
}

static int index_library(checker *c, const Tensorflow__FunctionDefLibrary *lib)
{
	size_t n = lib ? lib->n_function : 0;
	fidx *v = malloc((n ? n : 1) * sizeof *v);
	c->func_index = malloc((n ? n : 1) * sizeof *c->func_index);
	c->funcs.v = malloc((n ? n : 1) * sizeof *c->funcs.v);
	if (!v || !c->func_index || !c->funcs.v) {
		free(v);
		return tfs_nomem();
	}
	c->funcs.cap = n ? n : 1;
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__FunctionDef *f = lib->function[i];
		if (!f->signature || !*f->signature->name) {
			free(v);
			return corrupt(c, "function %zu of the library has no name", i);
		}
		v[i] = (fidx){ f->signature->name, i };
	}
	tfs_qsort(v, n, sizeof *v, cmp_fidx);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !strcmp(v[i - 1].name, v[i].name)) {
			int rc = corrupt(c, "the function library defines '" Q "' twice", v[i].name);
			free(v);
			return rc;
		}
		c->funcs.v[i] = v[i].name;
		c->func_index[i] = v[i].i;
	}
	c->funcs.n = n;
	free(v);
	for (size_t i = 0; i < n; i++) {
		where w = where_func(func_name(lib->function[i]));
		TFS_TRY(check_opdef(c, lib->function[i]->signature, w.s));
	}
	return 0;
}

/* --------------------------------------------------------- tensors (9) */

static int check_tensor(const checker *c, const Tensorflow__TensorProto *t, const char *node, const where *w,
                        const char *attr)
{
	int dt = (int)t->dtype;
#define TERR(code, ...)                                                                                  \
	do {                                                                                             \
		char m_[512];                                                                            \
		snprintf(m_, sizeof m_, __VA_ARGS__);                                                    \
		return tfs_err(code, c->path, -1, "node '" Q "' in %s, attr '" Q "': %s", node, w->s, attr, m_); \
	} while (0)
	if (dt > 100 && dt <= 100 + TFS_DT_LAST)
		TERR(TFSHRINK_ECORRUPT, "tensor of reference dtype %s", tfs_dtype_name(dt));
	if (!tfs_dtype_valid(dt))
		TERR(TFSHRINK_ECORRUPT, "tensor of invalid dtype %d", dt);
	int64_t elements = 1;
	const Tensorflow__TensorShapeProto *s = t->tensor_shape;
	if (s) {
		if (s->unknown_rank)
			TERR(TFSHRINK_ECORRUPT, "tensor shape of unknown rank");
		if (s->n_dim > TFS_MAX_DIMS)
			TERR(TFSHRINK_ELIMIT, "tensor of %zu dimensions (limit %d)", s->n_dim, TFS_MAX_DIMS);
		for (size_t i = 0; i < s->n_dim; i++) {
			int64_t d = s->dim[i]->size;
			if (d < 0)
				TERR(TFSHRINK_ECORRUPT, "tensor shape not fully known (dimension %" PRId64 ")", d);
			if (tfs_ckd_mul(&elements, elements, d) || elements > TFS_MAX_ELEMENTS)
				TERR(TFSHRINK_ELIMIT, "tensor of more than 2^58 elements");
		}
	}
	int es = tfs_dtype_size(dt);
	if (t->tensor_content.len > 0 && es > 0 && (uint64_t)t->tensor_content.len != (uint64_t)elements * (uint64_t)es)
		TERR(TFSHRINK_ECORRUPT, "tensor_content holds %zu bytes, but %" PRId64 " %s elements need %" PRIu64,
		     t->tensor_content.len, elements, tfs_dtype_name(dt), (uint64_t)elements * (uint64_t)es);
#undef TERR
	return 0;
}

static const Tensorflow__AttrValue *node_attr(const Tensorflow__NodeDef *n, const char *key)
{
	for (size_t a = 0; a < n->n_attr; a++)
		if (!strcmp(n->attr[a]->key, key))
			return n->attr[a]->value;
	return NULL;
}

static int is_restore_op(const char *op)
{
	return !strcmp(op, "RestoreV2") || !strcmp(op, "Restore") || !strcmp(op, "RestoreSlice");
}

/* Const attrs (8) and every tensor attr (9) of one node. */
static int check_node_values(checker *c, const Tensorflow__NodeDef *n, const where *w)
{
	int is_const = !strcmp(n->op, "Const");
	const Tensorflow__AttrValue *dtype = NULL, *value = NULL;
	c->restores |= is_restore_op(n->op);
	if (is_const) {
		dtype = node_attr(n, "dtype");
		value = node_attr(n, "value");
		if (!dtype)
			return corrupt(c, "Const node '" Q "' in %s has no 'dtype' attribute", n->name, w->s);
		if (dtype->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TYPE)
			return corrupt(c, "Const node '" Q "' in %s: its 'dtype' attribute is not a type", n->name, w->s);
		if (!value)
			return corrupt(c, "Const node '" Q "' in %s has no 'value' attribute", n->name, w->s);
		if (value->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR || !value->tensor)
			return corrupt(c, "Const node '" Q "' in %s: its 'value' attribute is not a tensor", n->name, w->s);
	}
	for (size_t a = 0; a < n->n_attr; a++) {
		const Tensorflow__AttrValue *v = n->attr[a]->value;
		if (!v)
			continue;
		if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TENSOR && v->tensor)
			TFS_TRY(check_tensor(c, v->tensor, n->name, w, n->attr[a]->key));
		if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list)
			for (size_t k = 0; k < v->list->n_tensor; k++)
				TFS_TRY(check_tensor(c, v->list->tensor[k], n->name, w, n->attr[a]->key));
	}
	if (is_const && (int)value->tensor->dtype != (int)dtype->type) {
		char a[32];
		snprintf(a, sizeof a, "%s", tfs_dtype_name((int)dtype->type));
		return corrupt(c, "Const node '" Q "' in %s has dtype %s but its value is %s", n->name, w->s, a,
		               tfs_dtype_name((int)value->tensor->dtype));
	}
	return 0;
}

/* ----------------------------------------------- references (11) */

/* The node part of an input reference: "^name", "name", "name:1", "name:out:1". */
static void ref_name(const char *in, const char **name, size_t *len)
{
	if (*in == '^')
		in++;
	*name = in;
	*len = strcspn(in, ":");
}

/* *callee: the library function `name` names, or -1. A func-valued attr
 * naming neither a library function nor an op of the stripped op list is
 * ECORRUPT (TensorFlow fails to instantiate it). */
static int resolve_call(const checker *c, const char *name, const Tensorflow__NodeDef *n, const where *w,
                        int as_op, ssize_t *callee)
{
	*callee = ns_find(&c->funcs, name, strlen(name));
	/* A node's op need not be in the stripped op list (TensorFlow does not
	 * require the list to be complete); a func-valued attr may name an op of
	 * the list (SymbolicGradient of a primitive op). */
	if (*callee >= 0 || as_op || ns_has(&c->ops, name))
		return 0;
	return corrupt(c, "node '" Q "' in %s calls function '" Q "', which is not in the library", n->name, w->s,
	               name);
}

/* Calls made by a node: its op and its func-valued attrs. Appends library
 * indexes of callees to *edges when edges is not NULL. */
typedef struct edges {
	size_t *v;
	size_t n, cap;
} edges;

static int add_edge(edges *e, size_t to)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		size_t *v = realloc(e->v, cap * sizeof *v);
		if (!v)
			return tfs_nomem();
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = to;
	return 0;
}

static int node_calls(const checker *c, const Tensorflow__NodeDef *n, const where *w, edges *out)
{
	ssize_t k;
	TFS_TRY(resolve_call(c, n->op, n, w, 1, &k));
	if (k >= 0 && out)
		TFS_TRY(add_edge(out, c->func_index[k]));
	for (size_t a = 0; a < n->n_attr; a++) {
		const Tensorflow__AttrValue *v = n->attr[a]->value;
		if (!v)
			continue;
		if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && v->func) {
			TFS_TRY(resolve_call(c, v->func->name, n, w, 0, &k));
			if (k >= 0 && out)
				TFS_TRY(add_edge(out, c->func_index[k]));
		}
		if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list)
			for (size_t j = 0; j < v->list->n_func; j++) {
				TFS_TRY(resolve_call(c, v->list->func[j]->name, n, w, 0, &k));
				if (k >= 0 && out)
					TFS_TRY(add_edge(out, c->func_index[k]));
			}
	}
	return 0;
}

static int check_graph(checker *c, const Tensorflow__GraphDef *g)
{
	where w = where_graph();
	nameset names = { 0 };
	int rc = 0;
	for (size_t i = 0; i < g->n_node && rc == 0; i++)
		rc = ns_add(&names, g->node[i]->name);
	const char *dup = rc == 0 ? ns_sort(&names) : NULL;
	if (dup)
		rc = corrupt(c, "the graph has two nodes named '" Q "'", dup);
	for (size_t i = 0; i < g->n_node && rc == 0; i++) {
		const Tensorflow__NodeDef *n = g->node[i];
		for (size_t k = 0; k < n->n_input && rc == 0; k++) {
			const char *r;
			size_t len;
			ref_name(n->input[k], &r, &len);
			if (ns_find(&names, r, len) < 0)
				rc = corrupt(c, "node '" Q "' in the graph reads '%.*s', which is not a node of the graph", n->name,
				             (int)(len < 200 ? len : 200), r);
		}
		if (rc == 0)
			rc = check_node_values(c, n, &w);
		if (rc == 0)
			rc = node_calls(c, n, &w, NULL);
	}
	ns_free(&names);
	return rc;
}

static int check_function(checker *c, const Tensorflow__FunctionDef *f, edges *out)
{
	where w = where_func(func_name(f));
	nameset names = { 0 };
	int rc = 0;
	for (size_t i = 0; i < f->n_node_def && rc == 0; i++)
		rc = ns_add(&names, f->node_def[i]->name);
	for (size_t i = 0; f->signature && i < f->signature->n_input_arg && rc == 0; i++)
		rc = ns_add(&names, f->signature->input_arg[i]->name);
	const char *dup = rc == 0 ? ns_sort(&names) : NULL;
	if (dup)
		rc = corrupt(c, "%s has two nodes or inputs named '" Q "'", w.s, dup);
	for (size_t i = 0; i < f->n_node_def && rc == 0; i++) {
		const Tensorflow__NodeDef *n = f->node_def[i];
		for (size_t k = 0; k < n->n_input && rc == 0; k++) {
			const char *r;
			size_t len;
			ref_name(n->input[k], &r, &len);
			if (ns_find(&names, r, len) < 0)
				rc = corrupt(c, "node '" Q "' in %s reads '%.*s', which is not a node or input of the function",
				             n->name, w.s, (int)(len < 200 ? len : 200), r);
		}
		if (rc == 0)
			rc = check_node_values(c, n, &w);
		if (rc == 0)
			rc = node_calls(c, n, &w, out);
	}
	for (size_t i = 0; i < f->n_ret && rc == 0; i++) {
		const char *r;
		size_t len;
		ref_name(f->ret[i]->value, &r, &len);
		if (ns_find(&names, r, len) < 0)
			rc = corrupt(c, "%s returns '" Q "', which is not a node or input of the function", w.s, f->ret[i]->value);
	}
	for (size_t i = 0; i < f->n_control_ret && rc == 0; i++)
		if (!ns_has(&names, f->control_ret[i]->value))
			rc = corrupt(c, "%s has control return '" Q "', which is not a node of the function", w.s,
			             f->control_ret[i]->value);
	ns_free(&names);
	return rc;
}

/* Depth-first search with an explicit stack; a call to a function still on
 * the stack closes a cycle. */
static int check_recursion(const checker *c, const Tensorflow__FunctionDefLibrary *lib, const size_t *first,
                           const edges *e)
{
	size_t n = lib->n_function;
	uint8_t *color = calloc(n ? n : 1, 1); /* 0 new, 1 on the stack, 2 done */
	size_t *stack = malloc((n ? n : 1) * sizeof *stack), *pos = malloc((n ? n : 1) * sizeof *pos);
	int rc = 0;
	if (!color || !stack || !pos) {
		rc = tfs_nomem();
		goto done;
	}
	for (size_t root = 0; root < n && rc == 0; root++) {
		if (color[root])
			continue;
		size_t top = 0;
		stack[0] = root;
		pos[0] = first[root];
		color[root] = 1;
		while (top != (size_t)-1 && rc == 0) {
			size_t v = stack[top];
			if (pos[top] == first[v + 1]) {
				color[v] = 2;
				top--;
				continue;
			}
			size_t to = e->v[pos[top]++];
			if (color[to] == 2)
				continue;
			if (color[to] == 0) {
				color[to] = 1;
				stack[++top] = to;
				pos[top] = first[to];
				continue;
			}
			/* a cycle: `to` is on the stack */
			if (to == v) {
				rc = corrupt(c, "function '" Q "' calls itself", func_name(lib->function[v]));
				break;
			}
			size_t at = top;
			while (stack[at] != to)
				at--;
			char msg[600];
			size_t ml = 0;
			for (size_t k = at; k <= top && ml < 400; k++)
				ml += (size_t)snprintf(msg + ml, sizeof msg - ml, "%.60s -> ", func_name(lib->function[stack[k]]));
			if (ml >= 400)
				ml += (size_t)snprintf(msg + ml, sizeof msg - ml, "... -> ");
			snprintf(msg + ml, sizeof msg - ml, "%.60s", func_name(lib->function[to]));
			rc = corrupt(c, "functions call each other in a cycle: %s", msg);
		}
	}
done:
	free(color);
	free(stack);
	free(pos);
	return rc;
}

static int check_library(checker *c, const Tensorflow__FunctionDefLibrary *lib)
{
	size_t n = lib ? lib->n_function : 0;
	if (n == 0)
		return 0;
	size_t *first = malloc((n + 1) * sizeof *first); /* CSR: edges of f are e.v[first[f] .. first[f+1]) */
	edges e = { 0 };
	int rc = first ? 0 : tfs_nomem();
	for (size_t i = 0; i < n && rc == 0; i++) {
		first[i] = e.n;
		rc = check_function(c, lib->function[i], &e);
	}
	if (rc == 0) {
		first[n] = e.n;
		rc = check_recursion(c, lib, first, &e);
	}
	free(first);
	free(e.v);
	return rc;
}

/* ------------------------------------------------------ init op (7) */

static int check_init_op(const checker *c)
{
	static const char init[] = "__saved_model_init_op";
	const Tensorflow__MetaGraphDef *mg = c->mg;
	for (size_t s = 0; s < mg->n_signature_def; s++) {
		if (strcmp(mg->signature_def[s]->key, init))
			continue;
		const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
		const Tensorflow__TensorInfo *out = NULL;
		for (size_t k = 0; sd && k < sd->n_outputs && !out; k++)
			if (!strcmp(sd->outputs[k]->key, init))
				out = sd->outputs[k]->value;
		if (!out)
			return corrupt(c, "signature '%s' has no '%s' output", init, init);
		if (out->encoding_case != TENSORFLOW__TENSOR_INFO__ENCODING_NAME || !*out->name)
			return corrupt(c, "signature '%s': its output names no tensor", init);
	}
	for (size_t k = 0; k < mg->n_collection_def; k++) {
		const char *key = mg->collection_def[k]->key;
		if (strcmp(key, "saved_model_main_op") && strcmp(key, "legacy_init_op"))
			continue;
		const Tensorflow__CollectionDef *cd = mg->collection_def[k]->value;
		size_t nv = cd && cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && cd->node_list
		            ? cd->node_list->n_value : 0;
		if (nv != 1)
			return corrupt(c, "collection '%s' must name exactly one op (it names %zu)", key, nv);
	}
	return 0;
}

/* ------------------------------------------------------- assets (12) */

typedef struct asset {
	const char *tensor;   /* graph tensor fed the file's path */
	const char *filename; /* relative to assets/ */
} asset;

static int cmp_asset(const void *a, const void *b)
{
	const asset *x = a, *y = b;
	int r = strcmp(x->tensor, y->tensor);
	return r ? r : strcmp(x->filename, y->filename);
}

/* A relative path of non-empty components, none of them "." or "..". */
static int plain_relative(const char *p)
{
	if (!*p || *p == '/')
		return 0;
	for (const char *s = p; *s;) {
		size_t l = strcspn(s, "/");
		if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += l;
		if (*s == '/')
			s++;
		if (!*s && s[-1] == '/')
			return 0;
	}
	return 1;
}

static int cmp_file_rel(const void *key, const void *e)
{
	return strcmp((const char *)key, ((const tfs_file_entry *)e)->rel);
}

static int check_assets(checker *c)
{
	const Tensorflow__MetaGraphDef *mg = c->mg;
	size_t n = mg->n_asset_file_def;
	const Tensorflow__CollectionDef__AnyList *legacy = NULL;
	if (n == 0)
		for (size_t k = 0; k < mg->n_collection_def; k++) {
			const Tensorflow__CollectionDef *cd = mg->collection_def[k]->value;
			if (!strcmp(mg->collection_def[k]->key, "saved_model_assets") && cd &&
			    cd->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST && cd->any_list)
				legacy = cd->any_list;
		}
	size_t total = n + (legacy ? legacy->n_value : 0);
	if (total == 0)
		return 0;
	asset *v = calloc(total, sizeof *v);
	Tensorflow__AssetFileDef **unpacked = calloc(total, sizeof *unpacked);
	char *rel = NULL;
	int rc = v && unpacked ? 0 : tfs_nomem();
	size_t na = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const Tensorflow__AssetFileDef *a = mg->asset_file_def[i];
		const Tensorflow__TensorInfo *ti = a->tensor_info;
		v[na++] = (asset){ ti && ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME ? ti->name : "",
		                   a->filename };
	}
	for (size_t i = 0; legacy && i < legacy->n_value && rc == 0; i++) {
		const Tensorflow__Any *any = legacy->value[i];
		const char *t = strrchr(any->type_url, '/');
		if (!t || strcmp(t + 1, "tensorflow.AssetFileDef"))
			continue;
		rc = tfs_pb_unpack(&tensorflow__asset_file_def__descriptor, any->value.data, any->value.len, c->path,
		                   (ProtobufCMessage **)&unpacked[i]);
		if (rc < 0) {
			tfs_err_context("collection 'saved_model_assets', entry %zu", i);
			break;
		}
		const Tensorflow__TensorInfo *ti = unpacked[i]->tensor_info;
		v[na++] = (asset){ ti && ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME ? ti->name : "",
		                   unpacked[i]->filename };
	}
	for (size_t i = 0; i < na && rc == 0; i++)
		if (!plain_relative(v[i].filename))
			rc = corrupt(c, "asset file name '" Q "' is not a relative path inside assets/", v[i].filename);
	if (rc == 0 && na > 1) {
		tfs_qsort(v, na, sizeof *v, cmp_asset);
		for (size_t i = 1; i < na && rc == 0; i++)
			if (*v[i].tensor && !strcmp(v[i - 1].tensor, v[i].tensor) && strcmp(v[i - 1].filename, v[i].filename))
				rc = corrupt(c, "asset tensor '" Q "' is listed twice, as '" Q "' and '" Q "'", v[i].tensor,
				             v[i - 1].filename, v[i].filename);
	}
	/* TF1 loaders only feed asset paths to the graph (a file nothing reads
	 * may be absent: TF Serving's own test models lack some); the TF2 loader
	 * reads assets through the initializers of the object graph. */
	for (size_t i = 0; i < na && rc == 0 && mg->object_graph_def; i++) {
		free(rel);
		rel = tfs_path_join("assets", v[i].filename);
		if (!rel) {
			rc = TFSHRINK_ENOMEM;
			break;
		}
		if (!tfs_bsearch(rel, c->m->files, c->m->n_files, sizeof *c->m->files, cmp_file_rel)) {
			/* or a directory of files (TF2 copies those whole); the walk
			 * already refused symbolic links to directories */
			char *p = tfs_path_join(c->m->dir, rel);
			rc = !p ? TFSHRINK_ENOMEM
			   : tfs_is_dir(p) ? 0
			   : tfs_err(TFSHRINK_ENOTFOUND, p, -1, "asset '" Q "' is listed but the file is missing", v[i].filename);
			free(p);
		}
	}
	free(rel);
	for (size_t i = 0; unpacked && i < total; i++)
		if (unpacked[i])
			tensorflow__asset_file_def__free_unpacked(unpacked[i], NULL);
	free(unpacked);
	free(v);
	return rc;
}

/* -------------------------------------------------- object graph */

static int check_object_graph(const checker *c)
{
	const Tensorflow__SavedObjectGraph *og = c->mg->object_graph_def;
	if (!og)
		return 0;
	size_t n = og->n_nodes;
#define ID_OK(id) ((id) >= 0 && (size_t)(id) < n)
#define BAD_ID(i, what, id) \
	corrupt(c, "object graph: object %zu has %s %" PRId64 ", outside the %zu objects", (i), (what), (int64_t)(id), n)
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__SavedObject *o = og->nodes[i];
		for (size_t k = 0; k < o->n_children; k++)
			if (!ID_OK(o->children[k]->node_id))
				return BAD_ID(i, "a child", o->children[k]->node_id);
		for (size_t k = 0; k < o->n_dependencies; k++)
			if (!ID_OK(o->dependencies[k]->node_id))
				return BAD_ID(i, "a dependency", o->dependencies[k]->node_id);
		for (size_t k = 0; k < o->n_slot_variables; k++) {
			const Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *r = o->slot_variables[k];
			if (!ID_OK(r->original_variable_node_id))
				return BAD_ID(i, "a slot variable of", r->original_variable_node_id);
			if (!ID_OK(r->slot_variable_node_id))
				return BAD_ID(i, "a slot variable", r->slot_variable_node_id);
		}
		for (size_t k = 0; k < o->n_saveable_objects; k++) {
			const Tensorflow__SaveableObject *s = o->saveable_objects[k]->value;
			if (s && !ID_OK(s->save_function))
				return BAD_ID(i, "a save function", s->save_function);
			if (s && !ID_OK(s->restore_function))
				return BAD_ID(i, "a restore function", s->restore_function);
		}
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_ASSET && o->asset &&
		    (o->asset->asset_file_def_index < 0 || (size_t)o->asset->asset_file_def_index >= c->mg->n_asset_file_def))
			return corrupt(c, "object graph: asset object %zu names asset file %d of %zu", i,
			               o->asset->asset_file_def_index, c->mg->n_asset_file_def);
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION && o->function)
			for (size_t k = 0; k < o->function->n_concrete_functions; k++)
				if (!ns_has(&c->funcs, o->function->concrete_functions[k]))
					return corrupt(c, "object graph: function object %zu lists '" Q "', which is not in the library",
					               i, o->function->concrete_functions[k]);
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION && o->bare_concrete_function &&
		    !ns_has(&c->funcs, o->bare_concrete_function->concrete_function_name))
			return corrupt(c, "object graph: object %zu is function '" Q "', which is not in the library", i,
			               o->bare_concrete_function->concrete_function_name);
	}
	for (size_t i = 0; i < og->n_concrete_functions; i++) {
		const char *name = og->concrete_functions[i]->key;
		const Tensorflow__SavedConcreteFunction *cf = og->concrete_functions[i]->value;
		if (!ns_has(&c->funcs, name))
			return corrupt(c, "object graph: concrete function '" Q "' is not in the library", name);
		for (size_t k = 0; cf && k < cf->n_bound_inputs; k++)
			if (!ID_OK(cf->bound_inputs[k]))
				return corrupt(c, "object graph: concrete function '" Q "' captures object %d, outside the %zu objects",
				               name, cf->bound_inputs[k], n);
	}
#undef BAD_ID
#undef ID_OK
	return 0;
}

/* ---------------------------------------------------------- entry */

static int check_meta_graph(checker *c)
{
	const Tensorflow__GraphDef *g = c->mg->graph_def;
	const Tensorflow__FunctionDefLibrary *lib = g ? g->library : NULL;
	TFS_TRY(check_op_list(c));
	TFS_TRY(index_library(c, lib));
	if (g)
		TFS_TRY(check_graph(c, g));
	TFS_TRY(check_library(c, lib));
	TFS_TRY(check_init_op(c));
	TFS_TRY(check_assets(c));
	return check_object_graph(c);
}

int tfs_model_check(tfshrink_model *m)
{
	int rc = 0, restores = 0;
	for (size_t g = 0; g < m->sm->n_meta_graphs && rc == 0; g++) {
		checker c = { .m = m, .path = m->pb_path, .mg = m->sm->meta_graphs[g] };
		rc = check_meta_graph(&c);
		restores |= c.restores;
		ns_free(&c.ops);
		ns_free(&c.funcs);
		free(c.func_index);
	}
	int tf2 = m->sm->meta_graphs[0]->object_graph_def != NULL;
	if (rc == 0 && tf2 && m->bundle && !m->ckpt_graph)
		rc = tfs_err(TFSHRINK_ENOTFOUND, m->bundle->index_path, -1,
		             "the checkpoint has no %s entry, which a TF2 model's restore needs", TFS_OBJECT_GRAPH_KEY);
	if (rc == 0 && restores && !m->bundle && tf2) {
		char *p = tfs_path_join(m->dir, "variables/variables.index");
		rc = p ? tfs_err(TFSHRINK_ENOTFOUND, p, -1,
		                 "the model restores checkpoint keys but has no variables (this file is missing)")
		       : TFSHRINK_ENOMEM;
		free(p);
	}
	return rc;
}
