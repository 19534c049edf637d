/* pass_weights.c - stores float32 weights at lower precision (float16,
 * bfloat16 or symmetric int8 with float32 scales) while the model still
 * takes, returns and computes in float32.
 *
 * Each selected variable changes dtype everywhere it lives (see
 * docs/savedmodel-format.md section 8): its bundle entry and bytes,
 * SavedVariable.dtype, the top-level VarHandleOp and its Read/ReadVariableOp,
 * the handle data of every function argument bound to it, the
 * ReadVariableOp / ResourceGather nodes that read it, and the traced
 * save/restore functions (RestoreV2 / SaveV2 dtypes, the Identity and
 * AssignVariableOp between them and the variable, value arguments of old
 * save functions with their call sites' Tin). Right after each read the
 * graph converts back to float32:
 *   fp16 / bf16: Cast(SrcT, DstT = float, Truncate = false)
 *   int8:        Cast to float, then Mul by a float32 scale Const: one scale
 *                per index of the axis with the least error (or the last
 *                axis, --channel-axis last), per row for variables read
 *                through ResourceGather (the scale is gathered with the same
 *                indices), or one per tensor (--per-tensor).
 *
 * Where a variable's handle flows is found from the top-level graph (the
 * handles each call passes) and the object graph (each concrete function's
 * bound inputs), then through nested calls and control flow: If /
 * StatelessIf pass input k + 1 as argument k of both branches, Case /
 * StatelessCase of every branch, While /
 * StatelessWhile input k as argument k of cond and body; the body must hand
 * the handle back unchanged as its output k, and the While's output k must
 * be unused, so every iteration reads the same variable. A variable is kept
 * float32 when anything else touches its handle (assignments outside the
 * restore function, a handle returned or leaving a loop, an argument shared
 * with another variable that stays float32 or, for int8, with any other
 * variable), when its saver chain has an unexpected shape, or when its
 * values do not fit: float16 range, NaN/Inf for int8, --min-sqnr. The
 * report says why, per tensor.
 *
 * TF1 graphs (no object graph) get the same treatment, variables found
 * through the graph's save/RestoreV2. Resource variables (VarHandleOp):
 * reads and gathers in the graph get the conversion, the saver's nodes the
 * stored dtype. Reference variables (VariableV2 / Variable, restored by an
 * Assign): the variable node, the saver's dtypes, the restoring Assign and
 * IsVariableInitialized take the stored dtype; each Identity read (x/read)
 * gets the conversion after it, and ops that take the ref output as a value
 * read it through a new Identity with the conversion (every edge then joins
 * equal base types, as graph import checks). Ops that need the ref itself
 * (AssignAdd, Apply*, Scatter*, Ref* control flow, an Assign whose output is
 * used) keep the variable float32. Variable initializers (Assign /
 * AssignVariableOp outside the saver) store a Cast of their value; when the
 * init op runs them, and so overwrites the restored value, int8 first
 * divides by the scales, rounds and clips as the pass does. A TF1 model
 * with several meta graphs is refused with EUNSUPPORTED. */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "graph.h"
#include "pass.h"
#include "quant.h"
#include "saver.h"
#include "sort.h"

#define MAX_DIMS 8
#define OTHER (-2)
/* int8 per-channel: fewest elements one scale may cover (a float32 scale per
 * 8 int8 values at most adds half their bytes). */
#define MIN_PER_SCALE 8 /* a binding to something that is not a selected candidate */

enum { AX_TENSOR = TFS_INT8_PER_TENSOR, AX_CHANNEL = TFS_INT8_PER_CHANNEL, AX_ROW = TFS_INT8_PER_ROW };

/* ------------------------------------------------------------ state */

typedef struct ids {
	int32_t *v;
	size_t n, cap;
	uint8_t poison;  /* the argument is used in a way the pass cannot follow */
	uint8_t queued;
	uint8_t loop;    /* bound as a While body's argument the body returns as is */
	uint8_t called;  /* bound any other way (calls, If branches, captures) */
} ids;

typedef struct wvar {
	size_t entry;
	const char *key;
	Tensorflow__NodeDef *handle; /* top-level VarHandleOp, or VariableV2 / Variable */
	int ref;         /* a TF1 reference variable (handle is its VariableV2) */
	int ndims;
	int64_t dims[MAX_DIMS];
	uint64_t n;
	int considered;  /* gets a row in the report */
	int sel;         /* still to be quantized */
	int gathered, gather_batch;
	char reason[240];
	int axis;        /* AX_* scheme */
	int dim;         /* the scales' axis, or -1 */
	uint8_t *data;   /* new stored bytes */
	uint64_t len;
	float *scales;
	size_t n_scales;
	double sqnr, max_abs, rel_rms;
	int measured;
} wvar;

typedef struct wctx {
	tfshrink_model *m;
	const tfshrink_shrink_options *o;
	Tensorflow__MetaGraphDef *mg;
	Tensorflow__GraphDef *g;
	Tensorflow__FunctionDefLibrary *lib;
	size_t nf;
	const char **fnames; /* sorted index over library functions */
	size_t *fidx;
	size_t *base;        /* first binding slot of each function */
	ids *b;              /* binding sets, one per function argument */
	size_t nb;
	size_t *queue;
	size_t qh, qt, qcap;
	wvar *v;
	size_t nv;
	int dt;              /* target DataType */
	tfs_traced_saver sv;
	int tf1;             /* no object graph: variables live in the top-level graph */
	int32_t *obj_var;    /* object id -> var, or -1 */
	size_t n_obj;
	uint8_t *in_init;    /* top-level nodes the init op runs (first n_init nodes) */
	size_t n_init;
} wctx;

static void unselect(wvar *w, const char *fmt, const char *a, const char *b)
{
	if (!w->sel)
		return;
	w->sel = 0;
	snprintf(w->reason, sizeof w->reason, fmt, a ? a : "", b ? b : "");
}

static int cmp_fname(const void *a, const void *b, void *ctx)
{
	const char *const *names = ctx;
	return strcmp(names[*(const size_t *)a], names[*(const size_t *)b]);
}

static int64_t fn_index(const wctx *c, const char *name)
{
	if (!name)
		return -1;
	size_t lo = 0, hi = c->nf;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->fnames[c->fidx[mid]], name);
		if (r == 0)
			return (int64_t)c->fidx[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static Tensorflow__FunctionDef *fn(const wctx *c, size_t i)
{
	return c->lib->function[i];
}

static int is_saver_fn(const wctx *c, const Tensorflow__FunctionDef *f)
{
	return f && (f == c->sv.save_fn || f == c->sv.restore_fn);
}

/* ------------------------------------------------------------ proto helpers */

static Tensorflow__AttrValue *av_new(void)
{
	Tensorflow__AttrValue *v = malloc(sizeof *v);
	if (v)
		tensorflow__attr_value__init(v);
	return v;
}

static Tensorflow__AttrValue *av_type(int t)
{
	Tensorflow__AttrValue *v = av_new();
	if (v) {
		v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE;
		v->type = (Tensorflow__DataType)t;
	}
	return v;
}

static Tensorflow__AttrValue *av_bool(int b)
{
	Tensorflow__AttrValue *v = av_new();
	if (v) {
		v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_B;
		v->b = b;
	}
	return v;
}

static Tensorflow__AttrValue *av_int(int64_t i)
{
	Tensorflow__AttrValue *v = av_new();
	if (v) {
		v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
		v->i = i;
	}
	return v;
}

static Tensorflow__AttrValue *av_clone(const Tensorflow__AttrValue *src)
{
	size_t n = tensorflow__attr_value__get_packed_size(src);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	tensorflow__attr_value__pack(src, buf);
	Tensorflow__AttrValue *v = tensorflow__attr_value__unpack(NULL, n, buf);
	free(buf);
	return v;
}

/* A float or int32 tensor of the given shape, bytes taken from data. */
static Tensorflow__AttrValue *av_tensor(int dtype, const int64_t *dims, int ndims, const void *data, size_t len)
{
	Tensorflow__AttrValue *v = av_new();
	Tensorflow__TensorProto *t = malloc(sizeof *t);
	Tensorflow__TensorShapeProto *s = malloc(sizeof *s);
	Tensorflow__TensorShapeProto__Dim **d = ndims ? calloc((size_t)ndims, sizeof *d) : NULL;
	uint8_t *bytes = malloc(len ? len : 1);
	if (!v || !t || !s || (ndims && !d) || !bytes)
		goto fail;
	tensorflow__tensor_proto__init(t);
	tensorflow__tensor_shape_proto__init(s);
	for (int i = 0; i < ndims; i++) {
		if (!(d[i] = malloc(sizeof *d[i]))) {
			for (int k = 0; k < i; k++)
				free(d[k]);
			goto fail;
		}
		tensorflow__tensor_shape_proto__dim__init(d[i]);
		d[i]->size = dims[i];
	}
	s->n_dim = (size_t)ndims;
	s->dim = d;
	memcpy(bytes, data, len);
	t->dtype = (Tensorflow__DataType)dtype;
	t->tensor_shape = s;
	t->tensor_content.data = bytes;
	t->tensor_content.len = len;
	v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TENSOR;
	v->tensor = t;
	return v;
fail:
	free(v);
	free(t);
	free(s);
	free(d);
	free(bytes);
	return NULL;
}

static void node_free(Tensorflow__NodeDef *n)
{
	if (n)
		protobuf_c_message_free_unpacked(&n->base, NULL);
}

static Tensorflow__NodeDef *node_new(const char *name, const char *op, const char *device)
{
	Tensorflow__NodeDef *n = malloc(sizeof *n);
	if (!n)
		return NULL;
	tensorflow__node_def__init(n);
	n->name = strdup(name);
	n->op = strdup(op);
	n->device = strdup(device ? device : "");
	if (!n->name || !n->op || !n->device) {
		free(n->name);
		free(n->op);
		free(n->device);
		free(n);
		return NULL;
	}
	return n;
}

static int node_input(Tensorflow__NodeDef *n, const char *in)
{
	char **v = realloc(n->input, (n->n_input + 1) * sizeof *v);
	if (!v)
		return tfs_nomem();
	n->input = v;
	if (!(n->input[n->n_input] = strdup(in)))
		return tfs_nomem();
	n->n_input++;
	return 0;
}

/* Adds attr key = v (taking v; NULL v means out of memory). */
static int node_attr(Tensorflow__NodeDef *n, const char *key, Tensorflow__AttrValue *v)
{
	if (!v)
		return tfs_nomem();
	Tensorflow__NodeDef__AttrEntry *e = malloc(sizeof *e);
	Tensorflow__NodeDef__AttrEntry **a = realloc(n->attr, (n->n_attr + 1) * sizeof *a);
	if (a)
		n->attr = a;
	char *k = strdup(key);
	if (!e || !a || !k) {
		free(e);
		free(k);
		protobuf_c_message_free_unpacked(&v->base, NULL);
		return tfs_nomem();
	}
	tensorflow__node_def__attr_entry__init(e);
	e->key = k;
	e->value = v;
	n->attr[n->n_attr++] = e;
	return 0;
}

static int nodes_append(tfs_nodes l, Tensorflow__NodeDef *n)
{
	Tensorflow__NodeDef **v = realloc(*l.v, (*l.n + 1) * sizeof *v);
	if (!v) {
		node_free(n);
		return tfs_nomem();
	}
	*l.v = v;
	v[(*l.n)++] = n;
	return 0;
}

/* A node name not yet used in l: base, base_1, base_2 ... (malloc'd). */
static char *fresh_name(tfs_nodes l, const char *base)
{
	size_t len = strlen(base) + 24;
	char *s = malloc(len);
	if (!s)
		return NULL;
	snprintf(s, len, "%s", base);
	for (int k = 1; tfs_nodes_find(l, s); k++)
		snprintf(s, len, "%s_%d", base, k);
	return s;
}

static void set_type_attr(Tensorflow__NodeDef *n, const char *key, int dt)
{
	Tensorflow__AttrValue *a = tfs_node_attr(n, key);
	if (a) {
		a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE;
		a->type = (Tensorflow__DataType)dt;
	}
}

static int attr_type(const Tensorflow__NodeDef *n, const char *key)
{
	const Tensorflow__AttrValue *a = tfs_node_attr(n, key);
	return a && a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE ? (int)a->type : -1;
}

static int64_t attr_int(const Tensorflow__NodeDef *n, const char *key)
{
	const Tensorflow__AttrValue *a = tfs_node_attr(n, key);
	return a && a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_I ? a->i : 0;
}

/* Number of data inputs (control inputs come last). */
static size_t n_data(const Tensorflow__NodeDef *n)
{
	size_t k = 0;
	while (k < n->n_input && n->input[k][0] != '^')
		k++;
	return k;
}

static Tensorflow__TensorProto *const_value(Tensorflow__NodeDef *n)
{
	if (!n || strcmp(n->op, "Const"))
		return NULL;
	Tensorflow__AttrValue *a = tfs_node_attr(n, "value");
	return a && a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TENSOR ? a->tensor : NULL;
}

/* Node an input string names (any port), or NULL. */
static Tensorflow__NodeDef *input_node(tfs_nodes l, const char *in)
{
	tfs_ref r;
	tfs_ref_parse(in, &r);
	char buf[1024];
	if (r.control || r.name_len >= sizeof buf)
		return NULL;
	memcpy(buf, r.name, r.name_len);
	buf[r.name_len] = '\0';
	return tfs_nodes_find(l, buf);
}

/* ------------------------------------------------------------ bindings */

static ids *slot(wctx *c, size_t f, size_t a)
{
	return &c->b[c->base[f] + a];
}

static int enqueue(wctx *c, size_t s)
{
	if (c->b[s].queued)
		return 0;
	if (c->qt == c->qcap) {
		size_t cap = c->qcap ? c->qcap * 2 : 64;
		size_t *q = realloc(c->queue, cap * sizeof *q);
		if (!q)
			return tfs_nomem();
		c->queue = q;
		c->qcap = cap;
	}
	c->queue[c->qt++] = s;
	c->b[s].queued = 1;
	return 0;
}

/* Binds argument a of function f to var id; loop: as a While body's
 * argument that the body returns unchanged. */
static int bind(wctx *c, size_t f, size_t a, int32_t id, int loop)
{
	const Tensorflow__OpDef *sig = fn(c, f)->signature;
	if (!sig || a >= sig->n_input_arg)
		return 0;
	ids *s = slot(c, f, a);
	uint8_t *how = loop ? &s->loop : &s->called;
	int again = !*how; /* how it is bound decides whether it may be returned */
	*how = 1;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return again ? enqueue(c, c->base[f] + a) : 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 2;
		int32_t *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return tfs_nomem();
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return enqueue(c, c->base[f] + a);
}

static int is_read_op(const char *op)
{
	return !strcmp(op, "ReadVariableOp") || !strcmp(op, "ResourceGather");
}

static int is_harmless_op(const char *op)
{
	return !strcmp(op, "DisableCopyOnRead") || !strcmp(op, "VarIsInitializedOp") || !strcmp(op, "VariableShape");
}

static int is_ref_var(const char *op)
{
	return !strcmp(op, "VariableV2") || !strcmp(op, "Variable");
}

/* Ops with a reference input: state and training ops, Ref* control flow. */
static int takes_ref(const char *op)
{
	static const char *const exact[] = {"Assign", "AssignAdd", "AssignSub", "CountUpTo", "IsVariableInitialized",
	                                    "DestroyTemporaryVariable", "StridedSliceAssign"};
	static const char *const prefix[] = {"Apply", "SparseApply", "Ref", "Scatter"};
	for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
		if (!strcmp(op, exact[i]))
			return 1;
	if (!strcmp(op, "ScatterNd") || !strcmp(op, "ScatterNdNonAliasingAdd"))
		return 0;
	for (size_t i = 0; i < sizeof prefix / sizeof *prefix; i++)
		if (!strncmp(op, prefix[i], strlen(prefix[i])))
			return 1;
	return 0;
}

/* 1 if a node of l reads an output of nd through a data edge. */
static int has_data_users(tfs_nodes l, const Tensorflow__NodeDef *nd)
{
	for (size_t j = 0; j < *l.n; j++) {
		const Tensorflow__NodeDef *u = (*l.v)[j];
		for (size_t q = 0; q < n_data(u); q++)
			if (input_node(l, u->input[q]) == nd)
				return 1;
	}
	return 0;
}

/* Branches of one Case followed; a Case with more keeps its variables float32. */
#define MAX_FLOW_FNS 64

/* Control flow passes input k of nd on as argument *arg of functions fns:
 * If / StatelessIf input k + 1 as argument k of both branches, Case /
 * StatelessCase input k + 1 as argument k of every branch, While /
 * StatelessWhile input k as argument k of cond and body (fns[1], *loop set).
 * Returns how many functions, 0 when nd is not control flow (or k is the
 * condition or branch index), -1 when a function or argument is missing. */
static int flow_targets(const wctx *c, const Tensorflow__NodeDef *nd, size_t k, int64_t fns[MAX_FLOW_FNS], size_t *arg,
                        int *loop)
{
	const Tensorflow__NameAttrList *f[MAX_FLOW_FNS];
	size_t n = 0;
	const char *names[2] = { NULL, NULL };
	*loop = 0;
	if (!strcmp(nd->op, "If") || !strcmp(nd->op, "StatelessIf")) {
		names[0] = "then_branch";
		names[1] = "else_branch";
	} else if (!strcmp(nd->op, "While") || !strcmp(nd->op, "StatelessWhile")) {
		names[0] = "cond";
		names[1] = "body";
		*loop = 1;
	} else if (strcmp(nd->op, "Case") && strcmp(nd->op, "StatelessCase")) {
		return 0;
	}
	if (!*loop && k == 0)
		return 0;
	*arg = *loop ? k : k - 1;
	if (names[0]) {
		for (int i = 0; i < 2; i++) {
			const Tensorflow__AttrValue *v = tfs_node_attr(nd, names[i]);
			f[n++] = v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC ? v->func : NULL;
		}
	} else {
		const Tensorflow__AttrValue *v = tfs_node_attr(nd, "branches");
		if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST || !v->list || !v->list->n_func ||
		    v->list->n_func > MAX_FLOW_FNS)
			return -1;
		for (size_t i = 0; i < v->list->n_func; i++)
			f[n++] = v->list->func[i];
	}
	for (size_t i = 0; i < n; i++) {
		fns[i] = f[i] ? fn_index(c, f[i]->name) : -1;
		if (fns[i] < 0 || !fn(c, (size_t)fns[i])->signature || *arg >= fn(c, (size_t)fns[i])->signature->n_input_arg)
			return -1;
	}
	return (int)n;
}

/* Index of the output arg a function returns under key, or -1. */
static int64_t ret_index(const Tensorflow__FunctionDef *f, const char *key)
{
	for (size_t i = 0; i < f->signature->n_output_arg; i++)
		if (!strcmp(f->signature->output_arg[i]->name, key))
			return (int64_t)i;
	return -1;
}

/* 1 if While nd's body returns its argument k unchanged as output k, and
 * nothing in l (or f's return values) uses the While's output k: the handle
 * then stays the same variable in every iteration and goes nowhere else. */
static int loop_passes_through(const wctx *c, tfs_nodes l, const Tensorflow__FunctionDef *f, const Tensorflow__NodeDef *nd,
                               int64_t body, size_t k)
{
	const Tensorflow__FunctionDef *b = fn(c, (size_t)body);
	int ok = 0;
	for (size_t i = 0; i < b->n_ret; i++)
		if (ret_index(b, b->ret[i]->key) == (int64_t)k)
			ok = !strcmp(b->ret[i]->value, b->signature->input_arg[k]->name);
	if (!ok)
		return 0;
	char out[1100], out0[1100];
	if (l.in_function)
		snprintf(out, sizeof out, "%s:output:%zu", nd->name, k);
	else
		snprintf(out, sizeof out, "%s:%zu", nd->name, k);
	snprintf(out0, sizeof out0, "%s", k == 0 && !l.in_function ? nd->name : out);
	for (size_t j = 0; j < *l.n; j++) {
		const Tensorflow__NodeDef *u = (*l.v)[j];
		for (size_t q = 0; q < n_data(u); q++)
			if (!strcmp(u->input[q], out) || !strcmp(u->input[q], out0))
				return 0;
	}
	for (size_t i = 0; f && i < f->n_ret; i++)
		if (!strcmp(f->ret[i]->value, out))
			return 0;
	return 1;
}

/* Follows the uses of argument a of function f. */
static int process_arg(wctx *c, size_t f, size_t a)
{
	Tensorflow__FunctionDef *fd = fn(c, f);
	const char *an = fd->signature->input_arg[a]->name;
	ids *s = slot(c, f, a);
	tfs_nodes l = tfs_function_nodes(fd);
	for (size_t i = 0; i < fd->n_ret; i++) {
		tfs_ref r;
		tfs_ref_parse(fd->ret[i]->value, &r);
		/* A While body hands its loop-carried handle back at the same position. */
		if (tfs_ref_is(&r, an) && !(s->loop && !s->called && ret_index(fd, fd->ret[i]->key) == (int64_t)a))
			s->poison = 1;
	}
	for (size_t i = 0; i < *l.n; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		size_t nd_in = n_data(nd);
		for (size_t k = 0; k < nd_in; k++) {
			tfs_ref r;
			tfs_ref_parse(nd->input[k], &r);
			if (!tfs_ref_is(&r, an))
				continue;
			if ((is_read_op(nd->op) && k == 0) || is_harmless_op(nd->op))
				continue;
			if (!strcmp(nd->op, "AssignVariableOp") && k == 0 && fd == c->sv.restore_fn)
				continue;
			int64_t tf[MAX_FLOW_FNS];
			size_t ta;
			int loop, nt = flow_targets(c, nd, k, tf, &ta, &loop);
			if (nt < 0 || (nt > 0 && loop && !loop_passes_through(c, l, fd, nd, tf[1], k))) {
				s->poison = 1;
				continue;
			}
			if (nt > 0) {
				for (int t = 0; t < nt; t++)
					for (size_t j = 0; j < s->n; j++)
						TFS_TRY(bind(c, (size_t)tf[t], ta, s->v[j], loop && t == 1));
				continue;
			}
			int64_t callee = fn_index(c, tfs_node_callee(nd));
			if (callee >= 0) {
				for (size_t j = 0; j < s->n; j++)
					TFS_TRY(bind(c, (size_t)callee, k, s->v[j], 0));
				continue;
			}
			s->poison = 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ analysis */

static wvar *var_of_handle(wctx *c, const char *name)
{
	for (size_t i = 0; i < c->nv; i++)
		if (c->v[i].handle && !strcmp(c->v[i].handle->name, name))
			return &c->v[i];
	return NULL;
}

static wvar *var_of_key(wctx *c, const char *key, size_t len)
{
	for (size_t i = 0; i < c->nv; i++)
		if (strlen(c->v[i].key) == len && !memcmp(c->v[i].key, key, len))
			return &c->v[i];
	return NULL;
}

/* tensor_names of a SaveV2 / RestoreV2 node (a Const in the same list). */
static Tensorflow__TensorProto *saver_names(tfs_nodes l, Tensorflow__NodeDef *nd)
{
	if (nd->n_input < 2)
		return NULL;
	return const_value(input_node(l, nd->input[1]));
}

/* TF1: keys restored by the graph's RestoreV2 nodes -> VarHandleOp. */
static void map_handles_graph(wctx *c)
{
	tfs_nodes l = tfs_graph_nodes(c->g);
	for (size_t i = 0; i < *l.n; i++) {
		Tensorflow__NodeDef *rv = (*l.v)[i];
		if (strcmp(rv->op, "RestoreV2"))
			continue;
		Tensorflow__TensorProto *names = saver_names(l, rv);
		for (size_t k = 0; names && k < names->n_string_val; k++) {
			wvar *w = var_of_key(c, (const char *)names->string_val[k].data, names->string_val[k].len);
			if (!w)
				continue;
			char cur[1100], alt[1100];
			snprintf(cur, sizeof cur, "%s:%zu", rv->name, k);
			snprintf(alt, sizeof alt, "%s", k == 0 ? rv->name : cur);
			for (int depth = 0; depth < 8; depth++) {
				Tensorflow__NodeDef *next = NULL;
				for (size_t j = 0; j < *l.n && !next; j++) {
					Tensorflow__NodeDef *nd = (*l.v)[j];
					for (size_t q = 0; q < n_data(nd); q++)
						if (!strcmp(nd->input[q], cur) || !strcmp(nd->input[q], alt))
							next = nd;
				}
				if (!next)
					break;
				if (!strcmp(next->op, "Identity")) {
					snprintf(cur, sizeof cur, "%s:0", next->name);
					snprintf(alt, sizeof alt, "%s", next->name);
					continue;
				}
				if (!strcmp(next->op, "AssignVariableOp") && next->n_input >= 1) {
					Tensorflow__NodeDef *h = input_node(l, next->input[0]);
					if (h && !strcmp(h->op, "VarHandleOp"))
						w->handle = h;
				}
				if (!strcmp(next->op, "Assign") && next->n_input >= 1) {
					Tensorflow__NodeDef *h = input_node(l, next->input[0]);
					if (h && is_ref_var(h->op)) {
						w->handle = h;
						w->ref = 1;
					}
				}
				break;
			}
		}
	}
}

/* Maps keys restored by the traced restore function to top-level handles. */
static void map_handles(wctx *c)
{
	if (c->tf1) {
		map_handles_graph(c);
		return;
	}
	Tensorflow__FunctionDef *rf = c->sv.restore_fn;
	Tensorflow__NodeDef *call = c->sv.restore_call;
	if (!rf || !call)
		return;
	tfs_nodes l = tfs_function_nodes(rf);
	for (size_t i = 0; i < *l.n; i++) {
		Tensorflow__NodeDef *rv = (*l.v)[i];
		if (strcmp(rv->op, "RestoreV2"))
			continue;
		Tensorflow__TensorProto *names = saver_names(l, rv);
		for (size_t k = 0; names && k < names->n_string_val; k++) {
			wvar *w = var_of_key(c, (const char *)names->string_val[k].data, names->string_val[k].len);
			if (!w)
				continue;
			/* RestoreV2:tensors:k -> Identity* -> AssignVariableOp(arg, value) */
			char cur[1100];
			snprintf(cur, sizeof cur, "%s:tensors:%zu", rv->name, k);
			for (int depth = 0; depth < 8; depth++) {
				Tensorflow__NodeDef *next = NULL;
				for (size_t j = 0; j < *l.n && !next; j++) {
					Tensorflow__NodeDef *nd = (*l.v)[j];
					for (size_t q = 0; q < n_data(nd); q++)
						if (!strcmp(nd->input[q], cur))
							next = nd;
				}
				if (!next)
					break;
				if (!strcmp(next->op, "Identity")) {
					snprintf(cur, sizeof cur, "%s:output:0", next->name);
					continue;
				}
				if (!strcmp(next->op, "AssignVariableOp") && next->n_input >= 1) {
					tfs_ref r;
					tfs_ref_parse(next->input[0], &r);
					for (size_t a = 0; a < rf->signature->n_input_arg; a++)
						if (tfs_ref_is(&r, rf->signature->input_arg[a]->name) && a < n_data(call)) {
							Tensorflow__NodeDef *h = input_node(tfs_graph_nodes(c->g), call->input[a]);
							if (h && !strcmp(h->op, "VarHandleOp"))
								w->handle = h;
						}
				}
				break;
			}
		}
	}
}

/* Checks (apply = 0) or rewrites (apply = 1) the forward chain from a
 * RestoreV2 output: Identity nodes, then AssignVariableOp. */
static int restore_chain(tfs_nodes l, const char *out, int dt, int apply, int depth)
{
	if (depth > 8)
		return 0;
	int ok = 1;
	for (size_t j = 0; j < *l.n; j++) {
		Tensorflow__NodeDef *nd = (*l.v)[j];
		for (size_t q = 0; q < n_data(nd); q++) {
			if (strcmp(nd->input[q], out))
				continue;
			if (!strcmp(nd->op, "Identity")) {
				if (apply)
					set_type_attr(nd, "T", dt);
				char next[1100];
				if (l.in_function)
					snprintf(next, sizeof next, "%s:output:0", nd->name);
				else
					snprintf(next, sizeof next, "%s:0", nd->name);
				ok &= restore_chain(l, next, dt, apply, depth + 1);
				if (!l.in_function) {
					ok &= restore_chain(l, nd->name, dt, apply, depth + 1);
				}
			} else if (!strcmp(nd->op, "AssignVariableOp") && q == 1) {
				if (apply)
					set_type_attr(nd, "dtype", dt);
			} else if (!strcmp(nd->op, "Assign") && q == 1) {
				if (apply)
					set_type_attr(nd, "T", dt);
			} else {
				ok = 0;
			}
		}
	}
	return ok;
}

/* Backward chain from a SaveV2 input: Identity nodes, then ReadVariableOp,
 * w's reference variable itself, or a value argument of the function (old
 * save functions): *arg gets its index, else -1. */
static int save_chain(tfs_nodes l, const Tensorflow__FunctionDef *f, const wvar *w, const char *in, int dt, int apply,
                      int64_t *arg)
{
	*arg = -1;
	for (int depth = 0; depth < 8; depth++) {
		tfs_ref r;
		tfs_ref_parse(in, &r);
		if (f)
			for (size_t a = 0; a < f->signature->n_input_arg; a++)
				if (tfs_ref_is(&r, f->signature->input_arg[a]->name)) {
					*arg = (int64_t)a;
					if (apply)
						f->signature->input_arg[a]->type = (Tensorflow__DataType)dt;
					return f->signature->input_arg[a]->type != TENSORFLOW__DATA_TYPE__DT_RESOURCE;
				}
		Tensorflow__NodeDef *nd = input_node(l, in);
		if (!nd)
			return 0;
		if (w->ref && nd == w->handle)
			return 1;
		if (!strcmp(nd->op, "ReadVariableOp")) {
			if (apply)
				set_type_attr(nd, "dtype", dt);
			return 1;
		}
		if (strcmp(nd->op, "Identity") || nd->n_input < 1)
			return 0;
		if (apply)
			set_type_attr(nd, "T", dt);
		in = nd->input[0];
	}
	return 0;
}

/* Every call of function f: Tin[a] = dt (apply), and checks each passes
 * the top-level ReadVariableOp of w's handle there. */
static int save_callers(wctx *c, const Tensorflow__FunctionDef *f, size_t a, const wvar *w, int dt, int apply)
{
	tfs_nodes top = tfs_graph_nodes(c->g);
	int ok = 1, seen = 0;
	for (size_t i = 0; i < *top.n; i++) {
		Tensorflow__NodeDef *nd = (*top.v)[i];
		const char *callee = tfs_node_callee(nd);
		if (!callee || !f->signature || strcmp(callee, f->signature->name))
			continue;
		seen = 1;
		if (a >= n_data(nd)) {
			ok = 0;
			continue;
		}
		Tensorflow__NodeDef *src = input_node(top, nd->input[a]);
		if (!src || strcmp(src->op, "ReadVariableOp") || src->n_input < 1 || !w->handle ||
		    strcmp(input_node(top, src->input[0]) ? input_node(top, src->input[0])->name : "", w->handle->name))
			ok = 0;
		Tensorflow__AttrValue *tin = tfs_node_attr(nd, "Tin");
		if (apply && tin && tin->list && a < tin->list->n_type)
			tin->list->type[a] = (Tensorflow__DataType)dt;
	}
	/* Calls from other functions are not followed. */
	for (size_t k = 0; k < c->nf; k++) {
		tfs_nodes l = tfs_function_nodes(fn(c, k));
		for (size_t i = 0; i < *l.n; i++) {
			const char *callee = tfs_node_callee((*l.v)[i]);
			if (callee && f->signature && !strcmp(callee, f->signature->name))
				ok = 0;
		}
	}
	return ok && seen;
}

/* The saver's nodes for key w in node list l (a function body or the graph). */
static int saver_list(wctx *c, tfs_nodes l, Tensorflow__FunctionDef *f, wvar *w, int dt, int apply, int *restored)
{
	int ok = 1;
	size_t n0 = *l.n;
	for (size_t i = 0; i < n0; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		int save = !strcmp(nd->op, "SaveV2"), restore = !strcmp(nd->op, "RestoreV2");
		if (!save && !restore)
			continue;
		Tensorflow__TensorProto *names = saver_names(l, nd);
		Tensorflow__AttrValue *dts = tfs_node_attr(nd, "dtypes");
		if (!names)
			continue;
		for (size_t k = 0; k < names->n_string_val; k++) {
			const ProtobufCBinaryData *s = &names->string_val[k];
			if (strlen(w->key) != s->len || memcmp(w->key, s->data, s->len))
				continue;
			if (!dts || !dts->list || k >= dts->list->n_type) {
				ok = 0;
				continue;
			}
			if (apply)
				dts->list->type[k] = (Tensorflow__DataType)dt;
			if (restore) {
				char out[1100];
				if (l.in_function)
					snprintf(out, sizeof out, "%s:tensors:%zu", nd->name, k);
				else
					snprintf(out, sizeof out, "%s:%zu", nd->name, k);
				ok &= restore_chain(l, out, dt, apply, 0);
				if (!l.in_function && k == 0)
					ok &= restore_chain(l, nd->name, dt, apply, 0);
				*restored = 1;
			} else {
				if (3 + k >= n_data(nd)) {
					ok = 0;
					continue;
				}
				int64_t arg;
				ok &= save_chain(l, f, w, nd->input[3 + k], dt, apply, &arg);
				if (arg >= 0)
					ok &= f && save_callers(c, f, (size_t)arg, w, dt, apply);
			}
		}
	}
	return ok;
}

static int saver_all(wctx *c, wvar *w, int dt, int apply)
{
	int ok = 1, restored = 0;
	ok &= saver_list(c, tfs_graph_nodes(c->g), NULL, w, dt, apply, &restored);
	for (size_t f = 0; f < c->nf; f++)
		ok &= saver_list(c, tfs_function_nodes(fn(c, f)), fn(c, f), w, dt, apply, &restored);
	return ok && restored;
}

/* Input k of top-level node nd is reference variable w. The saver, the
 * Assigns that restore or initialize it and IsVariableInitialized take the
 * ref itself and get the stored dtype; other ops that need the ref (updates,
 * training ops, Ref* control flow) keep it float32; any other op only reads
 * the value and gets the conversion. */
static void seed_ref(wvar *w, tfs_nodes l, const Tensorflow__NodeDef *nd, size_t k)
{
	if (!strcmp(nd->op, "SaveV2") || !strcmp(nd->op, "IsVariableInitialized") || !strcmp(nd->op, "Identity"))
		return;
	if (!strcmp(nd->op, "Assign") && k == 0) {
		/* its output is the ref again, of the new dtype */
		if (has_data_users(l, nd))
			unselect(w, "the output of its Assign '%s' is used%s", nd->name, "");
		return;
	}
	if (takes_ref(nd->op))
		unselect(w, "used at the top level by %s '%s'", nd->op, nd->name);
}

/* Top-level uses of candidate handles and seeds for function arguments. */
static int seed_top(wctx *c)
{
	tfs_nodes top = tfs_graph_nodes(c->g);
	for (size_t i = 0; i < *top.n; i++) {
		Tensorflow__NodeDef *nd = (*top.v)[i];
		int64_t callee = fn_index(c, tfs_node_callee(nd));
		size_t nin = n_data(nd);
		for (size_t k = 0; k < nin; k++) {
			Tensorflow__NodeDef *h = input_node(top, nd->input[k]);
			wvar *w = h && (!strcmp(h->op, "VarHandleOp") || is_ref_var(h->op)) ? var_of_handle(c, h->name) : NULL;
			if (w && w->ref) {
				seed_ref(w, top, nd, k);
				continue;
			}
			int64_t tf[MAX_FLOW_FNS];
			size_t ta;
			int loop, nt = flow_targets(c, nd, k, tf, &ta, &loop);
			if (nt < 0 || (nt > 0 && loop && !loop_passes_through(c, top, NULL, nd, tf[1], k))) {
				if (w)
					unselect(w, "used at the top level by %s '%s'", nd->op, nd->name);
				continue;
			}
			for (int t = 0; t < nt; t++) {
				const Tensorflow__OpDef__ArgDef *arg = fn(c, (size_t)tf[t])->signature->input_arg[ta];
				if (arg->type == TENSORFLOW__DATA_TYPE__DT_RESOURCE)
					TFS_TRY(bind(c, (size_t)tf[t], ta, w ? (int32_t)(w - c->v) : OTHER, loop && t == 1));
			}
			if (nt > 0)
				continue;
			if (callee >= 0) {
				const Tensorflow__OpDef *sig = fn(c, (size_t)callee)->signature;
				if (k < sig->n_input_arg && sig->input_arg[k]->type == TENSORFLOW__DATA_TYPE__DT_RESOURCE)
					TFS_TRY(bind(c, (size_t)callee, k, w ? (int32_t)(w - c->v) : OTHER, 0));
				continue;
			}
			if (!w)
				continue;
			{
				/* Reads get a conversion after them, assignments (TF1
				 * restore, initializers) the stored dtype; nothing else is
				 * followed. */
				if (k == 0 && (!strcmp(nd->op, "ReadVariableOp") || !strcmp(nd->op, "AssignVariableOp")))
					continue;
				if (k == 0 && !strcmp(nd->op, "ResourceGather")) {
					w->gathered = 1;
					if (attr_int(nd, "batch_dims") != 0)
						w->gather_batch = 1;
					continue;
				}
				if (!is_harmless_op(nd->op))
					unselect(w, "used at the top level by %s '%s'", nd->op, nd->name);
				continue;
			}
		}
	}
	return 0;
}

static int seed_objects(wctx *c)
{
	Tensorflow__SavedObjectGraph *og = c->mg->object_graph_def;
	for (size_t i = 0; og && i < og->n_concrete_functions; i++) {
		const Tensorflow__SavedConcreteFunction *cf = og->concrete_functions[i]->value;
		int64_t f = fn_index(c, og->concrete_functions[i]->key);
		if (!cf || f < 0)
			continue;
		size_t na = fn(c, (size_t)f)->signature->n_input_arg, nb = cf->n_bound_inputs;
		if (nb > na)
			continue;
		for (size_t k = 0; k < nb; k++) {
			int32_t o = cf->bound_inputs[k];
			int32_t id = o >= 0 && (size_t)o < c->n_obj && c->obj_var[o] >= 0 ? c->obj_var[o] : OTHER;
			TFS_TRY(bind(c, (size_t)f, na - nb + k, id, 0));
		}
	}
	return 0;
}

/* Marks gathered variables (read through ResourceGather). */
static void collect_reads(wctx *c)
{
	for (size_t f = 0; f < c->nf; f++) {
		Tensorflow__FunctionDef *fd = fn(c, f);
		if (is_saver_fn(c, fd))
			continue;
		for (size_t a = 0; a < fd->signature->n_input_arg; a++) {
			ids *s = slot(c, f, a);
			if (!s->n)
				continue;
			const char *an = fd->signature->input_arg[a]->name;
			for (size_t i = 0; i < fd->n_node_def; i++) {
				Tensorflow__NodeDef *nd = fd->node_def[i];
				if (strcmp(nd->op, "ResourceGather") || nd->n_input < 2)
					continue;
				tfs_ref r;
				tfs_ref_parse(nd->input[0], &r);
				if (!tfs_ref_is(&r, an))
					continue;
				for (size_t j = 0; j < s->n; j++)
					if (s->v[j] >= 0) {
						c->v[s->v[j]].gathered = 1;
						if (attr_int(nd, "batch_dims") != 0)
							c->v[s->v[j]].gather_batch = 1;
					}
			}
		}
	}
}

/* Unselects variables whose arguments cannot all be rewritten; repeats
 * until stable (one unselection can spoil a shared argument). */
/* 1 if the selected variables bound to b all got the same int8 bytes and
 * scales (one scale Const then serves them all: Keras 3 exports track each
 * weight twice, as separate variables holding the same values). */
static int same_int8(const wctx *c, const ids *b)
{
	const wvar *a = NULL;
	for (size_t j = 0; j < b->n; j++) {
		if (b->v[j] < 0)
			return 0;
		const wvar *w = &c->v[b->v[j]];
		if (!w->data || !w->scales)
			return 0;
		if (!a) {
			a = w;
			continue;
		}
		if (w->len != a->len || w->n_scales != a->n_scales || w->axis != a->axis || w->dim != a->dim || w->ndims != a->ndims ||
		    memcmp(w->data, a->data, (size_t)w->len) || memcmp(w->scales, a->scales, w->n_scales * sizeof *w->scales))
			return 0;
	}
	return 1;
}

static void resolve(wctx *c, int quantized)
{
	int int8 = c->o->weights == TFSHRINK_WEIGHTS_INT8;
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t s = 0; s < c->nb; s++) {
			ids *b = &c->b[s];
			int any_sel = 0, bad = b->poison;
			for (size_t j = 0; j < b->n; j++) {
				if (b->v[j] >= 0 && c->v[b->v[j]].sel)
					any_sel = 1;
				else
					bad = 1;
			}
			int int8_shared = !bad && int8 && b->n > 1 && quantized && !same_int8(c, b);
			if (!any_sel || !(bad || int8_shared))
				continue;
			for (size_t j = 0; j < b->n; j++)
				if (b->v[j] >= 0 && c->v[b->v[j]].sel) {
					unselect(&c->v[b->v[j]],
					         b->poison ? "its handle is used in a way the rewrite does not follow%s%s"
					         : int8_shared ? "shares a function argument with a variable whose int8 values differ%s%s"
					                       : "shares a function argument with a variable that stays float32%s%s",
					         "", "");
					changed = 1;
				}
		}
	}
}

/* ------------------------------------------------------------ quantize */

static const char *scheme_name(int mode, int axis)
{
	if (mode == TFSHRINK_WEIGHTS_FP16)
		return "fp16";
	if (mode == TFSHRINK_WEIGHTS_BF16)
		return "bf16";
	return axis == AX_CHANNEL ? "int8/channel" : axis == AX_ROW ? "int8/row" : "int8/tensor";
}

/* Quantizes x[n] to int8 with scales along axis k of w (-1: one scale) into
 * q / scales, dequantized into y; *err2 is the summed squared error. */
static int int8_try(const wvar *w, int k, const float *x, size_t n, int8_t *q, float *scales, float *y, double *err2)
{
	size_t outer = 1, d = n, inner = 1;
	if (k < 0) {
		outer = 1;
		d = 1;
		inner = n;
	} else {
		for (int i = 0; i < k; i++)
			outer *= (size_t)w->dims[i];
		d = (size_t)w->dims[k];
		for (int i = k + 1; i < w->ndims; i++)
			inner *= (size_t)w->dims[i];
	}
	TFS_TRY(tfs_quant_f32_to_int8_axis(x, outer, d, inner, q, scales, NULL));
	TFS_TRY(tfs_quant_int8_axis_to_f32(q, outer, d, inner, scales, y, NULL));
	tfs_quant_stats st;
	TFS_TRY(tfs_quant_error_stats(x, y, n, 0.0, &st, NULL));
	*err2 = st.sum_err2;
	return 0;
}

/* int8: per row for gathered variables (the scale is gathered with the same
 * indices), per tensor when asked, else per channel along the last axis or,
 * by default, the axis (>= MIN_PER_SCALE elements per scale) whose scales
 * give the least squared error: the graph dequantizes before any arithmetic,
 * so any axis is valid, and the best one is often not the output channel
 * (depthwise kernels [kh, kw, in, 1]; 1x1 convolutions). y gets the
 * dequantized values. */
static int quantize_int8(wctx *c, wvar *w, const float *x, float *y, size_t n)
{
	int cand[MAX_DIMS + 1], nc = 0;
	if (c->o->per_tensor || w->ndims == 0 || (w->gathered && (w->gather_batch || w->ndims < 1))) {
		cand[nc++] = -1;
	} else if (w->gathered) {
		cand[nc++] = 0;
	} else if (w->ndims < 2) {
		cand[nc++] = -1;
	} else if (c->o->channel_axis == TFSHRINK_AXIS_LAST) {
		cand[nc++] = w->ndims - 1;
	} else {
		/* The last axis first: it wins ties. */
		for (int k = w->ndims - 1; k >= 0; k--)
			if (w->dims[k] > 1 && (uint64_t)w->dims[k] * MIN_PER_SCALE <= w->n)
				cand[nc++] = k;
		if (!nc) /* a tiny tensor: the output channel, as with --channel-axis last */
			cand[nc++] = w->ndims - 1;
	}
	size_t max_scales = 1;
	for (int i = 0; i < nc; i++)
		if (cand[i] >= 0 && (size_t)w->dims[cand[i]] > max_scales)
			max_scales = (size_t)w->dims[cand[i]];
	int8_t *q = malloc(n ? n : 1), *best_q = nc > 1 ? malloc(n ? n : 1) : NULL;
	float *sc = malloc(max_scales * sizeof *sc), *best_y = nc > 1 ? malloc((n ? n : 1) * sizeof *best_y) : NULL;
	int rc = 0, best = -2;
	double best_err = 0;
	if (!q || !sc || (nc > 1 && (!best_q || !best_y))) {
		rc = tfs_nomem();
		goto done;
	}
	for (int i = 0; i < nc; i++) {
		double err;
		if ((rc = int8_try(w, cand[i], x, n, q, sc, y, &err)) < 0)
			goto done;
		if (best != -2 && !(err < best_err))
			continue;
		best = cand[i];
		best_err = err;
		size_t ns = best < 0 ? 1 : (size_t)w->dims[best];
		free(w->scales);
		if (!(w->scales = malloc(ns * sizeof *w->scales))) {
			rc = tfs_nomem();
			goto done;
		}
		memcpy(w->scales, sc, ns * sizeof *sc);
		w->n_scales = ns;
		if (nc > 1) {
			memcpy(best_q, q, n);
			memcpy(best_y, y, n * sizeof *y);
		}
	}
	w->dim = best;
	w->axis = best < 0 ? AX_TENSOR : w->gathered ? AX_ROW : AX_CHANNEL;
	if (nc > 1) {
		memcpy(q, best_q, n);
		memcpy(y, best_y, n * sizeof *y);
	}
	w->data = (uint8_t *)q;
	w->len = n;
	q = NULL;
done:
	free(q);
	free(best_q);
	free(sc);
	free(best_y);
	return rc;
}

static int quantize(wctx *c, wvar *w)
{
	tfshrink_model *m = c->m;
	const tfs_bundle_entry *e = &m->bundle->e[w->entry];
	const tfs_entry_edit *ed = m->edits ? &m->edits[w->entry] : NULL;
	const uint8_t *src;
	uint64_t len;
	if (ed && ed->data) {
		src = ed->data;
		len = ed->data_len;
	} else {
		TFS_TRY(tfs_bundle_verify(m->bundle, e));
		TFS_TRY(tfs_bundle_data(m->bundle, e, &src, &len));
	}
	if (len != w->n * 4)
		return tfs_err(TFSHRINK_ECORRUPT, m->bundle->index_path, -1, "tensor '%s' holds %llu bytes for %llu floats",
		               w->key, (unsigned long long)len, (unsigned long long)w->n);
	size_t n = (size_t)w->n;
	float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	int rc = 0;
	if (!x || !y) {
		rc = tfs_nomem();
		goto done;
	}
	memcpy(x, src, n * sizeof *x);
	int mode = c->o->weights;
	char buf[160];
	if (mode == TFSHRINK_WEIGHTS_FP16 || mode == TFSHRINK_WEIGHTS_BF16) {
		int f16 = mode == TFSHRINK_WEIGHTS_FP16;
		size_t out_of_range = f16 ? tfs_quant_f16_out_of_range(x, n) : 0;
		if (out_of_range) {
			float maxabs = 0;
			for (size_t i = 0; i < n; i++)
				if (isfinite(x[i]) && fabsf(x[i]) > maxabs)
					maxabs = fabsf(x[i]);
			snprintf(buf, sizeof buf, "%zu value(s) outside float16's range (max |x| = %g > 65504)", out_of_range,
			         (double)maxabs);
			unselect(w, "%s%s", buf, "");
			goto done;
		}
		uint16_t *h = malloc(n ? n * 2 : 1);
		if (!h) {
			rc = tfs_nomem();
			goto done;
		}
		w->data = (uint8_t *)h;
		w->len = (uint64_t)n * 2;
		if ((rc = (f16 ? tfs_quant_f32_to_f16 : tfs_quant_f32_to_bf16)(x, n, h, NULL)) < 0 ||
		    (rc = (f16 ? tfs_quant_f16_to_f32 : tfs_quant_bf16_to_f32)(h, n, y, NULL)) < 0)
			goto done;
		size_t overflow = 0;
		for (size_t i = 0; i < n; i++)
			overflow += isfinite(x[i]) && !isfinite(y[i]);
		if (overflow) {
			snprintf(buf, sizeof buf, "%zu value(s) overflow %s", overflow, f16 ? "float16" : "bfloat16");
			unselect(w, "%s%s", buf, "");
			goto done;
		}
	} else {
		rc = quantize_int8(c, w, x, y, n);
		if (rc == TFS_QUANT_NONFINITE) {
			size_t nonfinite = 0;
			for (size_t i = 0; i < n; i++)
				nonfinite += !isfinite(x[i]);
			tfs_err_clear();
			rc = 0;
			snprintf(buf, sizeof buf, "%zu NaN or Inf value(s), which int8 cannot represent", nonfinite);
			unselect(w, "%s%s", buf, "");
			goto done;
		}
		if (rc < 0)
			goto done;
	}
	tfs_quant_stats st;
	if ((rc = tfs_quant_error_stats(x, y, n, 0.0, &st, NULL)) < 0)
		goto done;
	w->max_abs = st.max_abs_err;
	w->sqnr = st.sqnr_db;
	w->rel_rms = st.rel_rms;
	w->measured = 1;
	if (c->o->min_sqnr > 0 && w->sqnr < c->o->min_sqnr) {
		snprintf(buf, sizeof buf, "SQNR %.1f dB is below --min-sqnr %.1f dB", w->sqnr, c->o->min_sqnr);
		unselect(w, "%s%s", buf, "");
	}
done:
	free(x);
	free(y);
	return rc;
}

/* ------------------------------------------------------------ rewrite */

/* Replaces every use of output `old` in l (data inputs and, for functions,
 * return values) by `new_`, except in node skip. */
static int rewire(tfs_nodes l, Tensorflow__FunctionDef *f, const char *old, const char *new_, const Tensorflow__NodeDef *skip,
                  const Tensorflow__NodeDef *skip2)
{
	char old0[1200];
	snprintf(old0, sizeof old0, "%s:0", old);
	for (size_t i = 0; i < *l.n; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		if (nd == skip || nd == skip2 || !strcmp(nd->op, "SaveV2")) /* the saver keeps the stored dtype */
			continue;
		for (size_t k = 0; k < nd->n_input; k++)
			if (!strcmp(nd->input[k], old) || (!l.in_function && !strcmp(nd->input[k], old0))) {
				char *s = strdup(new_);
				if (!s)
					return tfs_nomem();
				free(nd->input[k]);
				nd->input[k] = s;
			}
	}
	for (size_t i = 0; f && i < f->n_ret; i++)
		if (!strcmp(f->ret[i]->value, old)) {
			char *s = strdup(new_);
			if (!s)
				return tfs_nomem();
			free(f->ret[i]->value);
			f->ret[i]->value = s;
		}
	return 0;
}

static int copy_shapes(Tensorflow__NodeDef *to, const Tensorflow__NodeDef *from)
{
	const Tensorflow__AttrValue *a = tfs_node_attr(from, "_output_shapes");
	return a ? node_attr(to, "_output_shapes", av_clone(a)) : 0;
}

/* Adds a node named base (made unique) to l; returns its name through *name. */
static int add_node(tfs_nodes l, Tensorflow__NodeDef *n)
{
	if (!n)
		return tfs_nomem();
	return nodes_append(l, n);
}

/* After read node rd (ReadVariableOp or ResourceGather) in function f:
 * dtype becomes dt and the graph converts back to float32 right after it. */
/* Output port 0 of node `name` in l's naming (functions: name:arg:0). */
static void out0(tfs_nodes l, char *buf, size_t len, const char *name, const char *arg)
{
	if (l.in_function)
		snprintf(buf, len, "%s:%s:0", name, arg);
	else
		snprintf(buf, len, "%s", name);
}

/* Shape of w's int8 scale constant: [d, 1, ...] with one 1 per axis after
 * the scales' axis, so it broadcasts along it; [] per tensor. */
static int scale_dims(const wvar *w, int64_t dims[MAX_DIMS])
{
	int nd = 0;
	if (w->axis != AX_TENSOR) {
		dims[nd++] = (int64_t)w->n_scales;
		for (int k = w->dim + 1; k < w->ndims; k++)
			dims[nd++] = 1;
	}
	return nd;
}

static int dequantize_after(wctx *c, tfs_nodes l, Tensorflow__FunctionDef *f, size_t idx, const wvar *w)
{
	Tensorflow__NodeDef *rd = (*l.v)[idx];
	int gather = !strcmp(rd->op, "ResourceGather");
	char *rname = strdup(rd->name), *dev = strdup(rd->device ? rd->device : "");
	char old[1100], out[1100], base[1100];
	int rc = 0;
	char *cast_name = NULL, *scale_name = NULL, *mul_name = NULL, *axis_name = NULL, *g_name = NULL;
	if (!rname || !dev) {
		rc = tfs_nomem();
		goto done;
	}
	set_type_attr(rd, "dtype", c->dt);
	out0(l, old, sizeof old, rname, gather ? "output" : "value");
	snprintf(base, sizeof base, "%s/dequantize", rname);
	if (!(cast_name = fresh_name(l, base))) {
		rc = tfs_nomem();
		goto done;
	}
	Tensorflow__NodeDef *cast = node_new(cast_name, "Cast", dev);
	if (!cast) {
		rc = tfs_nomem();
		goto done;
	}
	if ((rc = node_input(cast, old)) < 0 || (rc = node_attr(cast, "SrcT", av_type(c->dt))) < 0 ||
	    (rc = node_attr(cast, "DstT", av_type(TFS_DT_FLOAT))) < 0 ||
	    (rc = node_attr(cast, "Truncate", av_bool(0))) < 0 || (rc = copy_shapes(cast, rd)) < 0) {
		node_free(cast);
		goto done;
	}
	if ((rc = add_node(l, cast)) < 0)
		goto done;
	out0(l, out, sizeof out, cast_name, "y");
	if (c->o->weights == TFSHRINK_WEIGHTS_INT8) {
		int64_t dims[MAX_DIMS];
		int nd = scale_dims(w, dims);
		snprintf(base, sizeof base, "%s/scale", cast_name);
		if (!(scale_name = fresh_name(l, base))) {
			rc = tfs_nomem();
			goto done;
		}
		Tensorflow__NodeDef *s = node_new(scale_name, "Const", dev);
		if (!s) {
			rc = tfs_nomem();
			goto done;
		}
		if ((rc = node_attr(s, "dtype", av_type(TFS_DT_FLOAT))) < 0 ||
		    (rc = node_attr(s, "value", av_tensor(TFS_DT_FLOAT, dims, nd, w->scales, w->n_scales * sizeof(float)))) < 0) {
			node_free(s);
			goto done;
		}
		if ((rc = add_node(l, s)) < 0)
			goto done;
		char scale_out[1100];
		out0(l, scale_out, sizeof scale_out, scale_name, "output");
		if (gather && w->axis == AX_ROW) {
			/* GatherV2(scale, indices, axis 0): the rows this read took. */
			snprintf(base, sizeof base, "%s/axis", cast_name);
			if (!(axis_name = fresh_name(l, base))) {
				rc = tfs_nomem();
				goto done;
			}
			int32_t zero = 0;
			Tensorflow__NodeDef *ax = node_new(axis_name, "Const", dev);
			if (!ax) {
				rc = tfs_nomem();
				goto done;
			}
			if ((rc = node_attr(ax, "dtype", av_type(TFS_DT_INT32))) < 0 ||
			    (rc = node_attr(ax, "value", av_tensor(TFS_DT_INT32, NULL, 0, &zero, 4))) < 0) {
				node_free(ax);
				goto done;
			}
			if ((rc = add_node(l, ax)) < 0)
				goto done;
			rd = (*l.v)[idx]; /* the array moved */
			snprintf(base, sizeof base, "%s/gather_scale", cast_name);
			if (!(g_name = fresh_name(l, base))) {
				rc = tfs_nomem();
				goto done;
			}
			Tensorflow__NodeDef *g = node_new(g_name, "GatherV2", dev);
			char axis_out[1100];
			out0(l, axis_out, sizeof axis_out, axis_name, "output");
			int tind = attr_type(rd, "Tindices");
			if (!g) {
				rc = tfs_nomem();
				goto done;
			}
			if ((rc = node_input(g, scale_out)) < 0 || (rc = node_input(g, rd->input[1])) < 0 ||
			    (rc = node_input(g, axis_out)) < 0 || (rc = node_attr(g, "Tparams", av_type(TFS_DT_FLOAT))) < 0 ||
			    (rc = node_attr(g, "Tindices", av_type(tind > 0 ? tind : TFS_DT_INT32))) < 0 ||
			    (rc = node_attr(g, "Taxis", av_type(TFS_DT_INT32))) < 0 ||
			    (rc = node_attr(g, "batch_dims", av_int(0))) < 0) {
				node_free(g);
				goto done;
			}
			if ((rc = add_node(l, g)) < 0)
				goto done;
			out0(l, scale_out, sizeof scale_out, g_name, "output");
		}
		rd = (*l.v)[idx];
		snprintf(base, sizeof base, "%s/mul", cast_name);
		if (!(mul_name = fresh_name(l, base))) {
			rc = tfs_nomem();
			goto done;
		}
		Tensorflow__NodeDef *mul = node_new(mul_name, "Mul", dev);
		if (!mul) {
			rc = tfs_nomem();
			goto done;
		}
		if ((rc = node_input(mul, out)) < 0 || (rc = node_input(mul, scale_out)) < 0 ||
		    (rc = node_attr(mul, "T", av_type(TFS_DT_FLOAT))) < 0 || (rc = copy_shapes(mul, rd)) < 0) {
			node_free(mul);
			goto done;
		}
		if ((rc = add_node(l, mul)) < 0)
			goto done;
		out0(l, out, sizeof out, mul_name, "z");
	}
	rc = rewire(l, f, old, out, tfs_nodes_find(l, cast_name), l.in_function ? NULL : c->sv.save_call);
done:
	free(rname);
	free(dev);
	free(cast_name);
	free(scale_name);
	free(mul_name);
	free(axis_name);
	free(g_name);
	return rc;
}

static void retype_arg(wctx *c, Tensorflow__FunctionDef *f, size_t a)
{
	Tensorflow__OpDef__ArgDef *arg = f->signature->input_arg[a];
	for (size_t h = 0; h < arg->n_handle_data && h < 1; h++)
		arg->handle_data[h]->dtype = (Tensorflow__DataType)c->dt;
	for (size_t i = 0; i < f->n_arg_attr; i++) {
		Tensorflow__FunctionDef__ArgAttrEntry *e = f->arg_attr[i];
		if (e->key != a || !e->value)
			continue;
		for (size_t k = 0; k < e->value->n_attr; k++) {
			Tensorflow__AttrValue *v = e->value->attr[k]->value;
			if (strcmp(e->value->attr[k]->key, "_handle_dtypes") || !v)
				continue;
			if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list)
				for (size_t t = 0; t < v->list->n_type; t++)
					v->list->type[t] = (Tensorflow__DataType)c->dt;
			else if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE)
				v->type = (Tensorflow__DataType)c->dt;
		}
	}
}

/* 1 if a top-level node other than SaveV2 reads output 0 of nd. */
static int has_value_users(const wctx *c, tfs_nodes l, const Tensorflow__NodeDef *nd)
{
	for (size_t j = 0; j < *l.n; j++) {
		const Tensorflow__NodeDef *u = (*l.v)[j];
		if (!strcmp(u->op, "SaveV2") || u == c->sv.save_call)
			continue;
		for (size_t q = 0; q < n_data(u); q++)
			if (input_node(l, u->input[q]) == nd)
				return 1;
	}
	return 0;
}

/* Appends a top-level node op named prefix + suffix (made unique) with
 * data inputs in0..in2 (NULL: fewer), attr tkey = t (tkey NULL: none) and,
 * for a Const, attr value (taken; NULL means out of memory). Returns its
 * name (malloc'd), NULL when out of memory. */
static char *emit(tfs_nodes l, const char *prefix, const char *suffix, const char *op, const char *dev, const char *in0,
                  const char *in1, const char *in2, const char *tkey, int t, Tensorflow__AttrValue *value)
{
	char base[1100];
	snprintf(base, sizeof base, "%s%s", prefix, suffix);
	char *name = fresh_name(l, base);
	Tensorflow__NodeDef *n = name ? node_new(name, op, dev) : NULL;
	const char *in[3] = {in0, in1, in2};
	int rc = n ? 0 : -1;
	for (int k = 0; k < 3 && in[k] && rc == 0; k++)
		rc = node_input(n, in[k]);
	if (rc == 0 && tkey)
		rc = node_attr(n, tkey, av_type(t));
	if (rc == 0 && !strcmp(op, "Const")) {
		rc = node_attr(n, "value", value);
		value = NULL;
	}
	if (value)
		protobuf_c_message_free_unpacked(&value->base, NULL);
	if (rc == 0) {
		rc = nodes_append(l, n);
		n = NULL;
	}
	node_free(n);
	if (rc < 0) {
		free(name);
		tfs_nomem();
		return NULL;
	}
	return name;
}

/* Index of the node a reference names, through idx (node indices sorted by
 * name), or -1. */
static ssize_t find_sorted(const char *const *names, const size_t *idx, size_t n, const char *in)
{
	tfs_ref r;
	tfs_ref_parse(in, &r);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *nm = names[idx[mid]];
		int cmp = strncmp(nm, r.name, r.name_len);
		if (cmp == 0 && nm[r.name_len])
			cmp = 1;
		if (cmp == 0)
			return (ssize_t)idx[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Top-level nodes the init op runs: __saved_model_init_op's output and the
 * saved_model_main_op / legacy_init_op collections, through data and
 * control inputs. */
static int mark_init(wctx *c)
{
	tfs_nodes l = tfs_graph_nodes(c->g);
	size_t n = *l.n, sp = 0;
	const char **names = malloc((n ? n : 1) * sizeof *names);
	size_t *idx = malloc((n ? n : 1) * sizeof *idx), *stack = malloc((n ? n : 1) * sizeof *stack);
	c->in_init = calloc(n ? n : 1, 1);
	c->n_init = n;
	int rc = names && idx && stack && c->in_init ? 0 : tfs_nomem();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		names[i] = (*l.v)[i]->name;
		idx[i] = i;
	}
	if (rc == 0)
		tfs_qsort_r(idx, n, sizeof *idx, cmp_fname, names);
	const Tensorflow__MetaGraphDef *mg = c->mg;
	for (size_t s = 0; rc == 0 && s < mg->n_signature_def; s++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
		if (strcmp(mg->signature_def[s]->key, "__saved_model_init_op") || !sd)
			continue;
		for (size_t k = 0; k < sd->n_outputs; k++) {
			const Tensorflow__TensorInfo *t = sd->outputs[k]->value;
			ssize_t j = t && t->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME ? find_sorted(names, idx, n, t->name) : -1;
			if (j >= 0 && !c->in_init[j]) {
				c->in_init[j] = 1;
				stack[sp++] = (size_t)j;
			}
		}
	}
	for (size_t k = 0; rc == 0 && k < mg->n_collection_def; k++) {
		const Tensorflow__CollectionDef *cd = mg->collection_def[k]->value;
		if ((strcmp(mg->collection_def[k]->key, "saved_model_main_op") &&
		     strcmp(mg->collection_def[k]->key, "legacy_init_op")) ||
		    !cd || cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST || !cd->node_list)
			continue;
		for (size_t v = 0; v < cd->node_list->n_value; v++) {
			ssize_t j = find_sorted(names, idx, n, cd->node_list->value[v]);
			if (j >= 0 && !c->in_init[j]) {
				c->in_init[j] = 1;
				stack[sp++] = (size_t)j;
			}
		}
	}
	while (rc == 0 && sp) {
		const Tensorflow__NodeDef *nd = (*l.v)[stack[--sp]];
		for (size_t q = 0; q < nd->n_input; q++) {
			ssize_t j = find_sorted(names, idx, n, nd->input[q]);
			if (j >= 0 && !c->in_init[j]) {
				c->in_init[j] = 1;
				stack[sp++] = (size_t)j;
			}
		}
	}
	free(names);
	free(idx);
	free(stack);
	return rc;
}

/* Assignment i of l (an initializer) stores its value converted to the
 * stored dtype: a Cast, and for int8 run by the init op (which then
 * overwrites the restored value) first a division by the scales, Round
 * (half to even, as the pass rounds) and a clip to +-127. attr names the
 * assigned dtype. */
static int cast_assigned(wctx *c, tfs_nodes l, size_t i, const char *attr, const wvar *w)
{
	Tensorflow__NodeDef *nd = (*l.v)[i];
	char base[1100], *name, *value = strdup(nd->input[1]);
	if (!value)
		return tfs_nomem();
	snprintf(base, sizeof base, "%s/to_stored_dtype", nd->name);
	if (c->o->weights == TFSHRINK_WEIGHTS_INT8 && i < c->n_init && c->in_init[i]) {
		int64_t dims[MAX_DIMS];
		int sd = scale_dims(w, dims);
		float lo = -127.0f, hi = 127.0f;
		char *scale = emit(l, base, "/scale", "Const", nd->device, NULL, NULL, NULL, "dtype", TFS_DT_FLOAT,
		                   av_tensor(TFS_DT_FLOAT, dims, sd, w->scales, w->n_scales * sizeof(float)));
		char *div = scale ? emit(l, base, "/div", "RealDiv", nd->device, value, scale, NULL, "T", TFS_DT_FLOAT, NULL) : NULL;
		char *rnd = div ? emit(l, base, "/round", "Round", nd->device, div, NULL, NULL, "T", TFS_DT_FLOAT, NULL) : NULL;
		char *min = rnd ? emit(l, base, "/min", "Const", nd->device, NULL, NULL, NULL, "dtype", TFS_DT_FLOAT,
		                       av_tensor(TFS_DT_FLOAT, NULL, 0, &lo, 4)) : NULL;
		char *max = min ? emit(l, base, "/max", "Const", nd->device, NULL, NULL, NULL, "dtype", TFS_DT_FLOAT,
		                       av_tensor(TFS_DT_FLOAT, NULL, 0, &hi, 4)) : NULL;
		char *clip = max ? emit(l, base, "/clip", "ClipByValue", nd->device, rnd, min, max, "T", TFS_DT_FLOAT, NULL) : NULL;
		free(scale);
		free(div);
		free(rnd);
		free(min);
		free(max);
		free(value);
		if (!(value = clip))
			return TFSHRINK_ENOMEM;
		nd = (*l.v)[i];
	}
	if (!(name = fresh_name(l, base))) {
		free(value);
		return tfs_nomem();
	}
	Tensorflow__NodeDef *cast = node_new(name, "Cast", nd->device);
	int rc = cast ? 0 : tfs_nomem();
	if (rc == 0 && ((rc = node_input(cast, value)) < 0 || (rc = node_attr(cast, "SrcT", av_type(TFS_DT_FLOAT))) < 0 ||
	                (rc = node_attr(cast, "DstT", av_type(c->dt))) < 0 || (rc = node_attr(cast, "Truncate", av_bool(0))) < 0))
		node_free(cast);
	else if (rc == 0)
		rc = nodes_append(l, cast);
	if (rc == 0) {
		nd = (*l.v)[i];
		free(nd->input[1]);
		nd->input[1] = name;
		set_type_attr(nd, attr, c->dt);
		name = NULL;
	}
	free(name);
	free(value);
	return rc;
}

/* Top level: the handle's reads get a conversion after them (unless only
 * the saver reads them); assignments other than the saver's (variable
 * initializers, never run by the loaders) get a Cast of their value to the
 * stored dtype. */
static int rewrite_top(wctx *c, const wvar *w)
{
	tfs_nodes l = tfs_graph_nodes(c->g);
	size_t n0 = *l.n;
	for (size_t i = 0; i < n0; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		if (nd->n_input < 1 || input_node(l, nd->input[0]) != w->handle)
			continue;
		if (!strcmp(nd->op, "ReadVariableOp") || !strcmp(nd->op, "ResourceGather")) {
			set_type_attr(nd, "dtype", c->dt);
			if (!strcmp(nd->op, "ResourceGather") || has_value_users(c, l, nd))
				TFS_TRY(dequantize_after(c, l, NULL, i, w));
		} else if (!strcmp(nd->op, "AssignVariableOp") && attr_type(nd, "dtype") != c->dt && nd->n_input >= 2) {
			TFS_TRY(cast_assigned(c, l, i, "dtype", w));
		}
	}
	return 0;
}

/* Top level, reference variable: the saver's Assign already has the stored
 * dtype, initializer Assigns get a Cast of their value and
 * IsVariableInitialized the new dtype; Identity reads get a conversion after
 * them, and ops reading the ref directly read it through a new Identity with
 * a conversion after it. */
static int rewrite_top_ref(wctx *c, const wvar *w)
{
	tfs_nodes l = tfs_graph_nodes(c->g);
	size_t n0 = *l.n;
	int direct = 0;
	for (size_t i = 0; i < n0; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		size_t nin = n_data(nd);
		for (size_t q = 0; q < nin; q++) {
			if (input_node(l, nd->input[q]) != w->handle)
				continue;
			if (!strcmp(nd->op, "Assign") && q == 0) {
				if (attr_type(nd, "T") != c->dt && nd->n_input >= 2)
					TFS_TRY(cast_assigned(c, l, i, "T", w));
			} else if (!strcmp(nd->op, "IsVariableInitialized")) {
				set_type_attr(nd, "dtype", c->dt);
			} else if (!strcmp(nd->op, "Identity")) {
				set_type_attr(nd, "T", c->dt);
				if (has_value_users(c, l, nd))
					TFS_TRY(dequantize_after(c, l, NULL, i, w));
			} else if (strcmp(nd->op, "SaveV2")) {
				direct = 1;
			}
		}
	}
	if (!direct)
		return 0;
	char base[1100], *name;
	snprintf(base, sizeof base, "%s/read_stored", w->handle->name);
	if (!(name = fresh_name(l, base)))
		return tfs_nomem();
	Tensorflow__NodeDef *id = node_new(name, "Identity", w->handle->device);
	int rc = id ? 0 : tfs_nomem();
	if (rc == 0 && ((rc = node_input(id, w->handle->name)) < 0 || (rc = node_attr(id, "T", av_type(c->dt))) < 0 ||
	                (rc = copy_shapes(id, w->handle)) < 0))
		node_free(id);
	else if (rc == 0)
		rc = nodes_append(l, id);
	for (size_t i = 0; rc == 0 && i < n0; i++) {
		Tensorflow__NodeDef *nd = (*l.v)[i];
		size_t nin = n_data(nd);
		if (!strcmp(nd->op, "SaveV2") || !strcmp(nd->op, "IsVariableInitialized") || !strcmp(nd->op, "Identity"))
			continue;
		for (size_t q = 0; rc == 0 && q < nin; q++) {
			if ((!strcmp(nd->op, "Assign") && q == 0) || input_node(l, nd->input[q]) != w->handle)
				continue;
			char *s = strdup(name);
			if (!s) {
				rc = tfs_nomem();
				break;
			}
			free(nd->input[q]);
			nd->input[q] = s;
		}
	}
	free(name);
	TFS_TRY(rc);
	return dequantize_after(c, l, NULL, *l.n - 1, w);
}

static int rewrite(wctx *c)
{
	tfs_nodes top = tfs_graph_nodes(c->g);
	/* Top-level handles and their reads. */
	for (size_t i = 0; i < c->nv; i++) {
		wvar *w = &c->v[i];
		if (!w->sel)
			continue;
		set_type_attr(w->handle, "dtype", c->dt);
		for (size_t j = 0; j < *top.n; j++) {
			Tensorflow__NodeDef *nd = (*top.v)[j];
			if (!strcmp(nd->op, "ReadVariableOp") && nd->n_input >= 1 && input_node(top, nd->input[0]) == w->handle)
				set_type_attr(nd, "dtype", c->dt);
		}
	}
	/* Function arguments and the reads in their bodies. */
	for (size_t f = 0; f < c->nf; f++) {
		Tensorflow__FunctionDef *fd = fn(c, f);
		size_t na = fd->signature->n_input_arg;
		for (size_t a = 0; a < na; a++) {
			ids *s = slot(c, f, a);
			if (!s->n || s->v[0] < 0 || !c->v[s->v[0]].sel)
				continue; /* resolve() made every binding of a set agree */
			retype_arg(c, fd, a);
			if (s->loop && a < fd->signature->n_output_arg) {
				/* the While body's output that hands the handle back */
				Tensorflow__OpDef__ArgDef *out = fd->signature->output_arg[a];
				for (size_t h = 0; h < out->n_handle_data && h < 1; h++)
					out->handle_data[h]->dtype = (Tensorflow__DataType)c->dt;
			}
			if (is_saver_fn(c, fd)) {
				/* Only the saver's own reads (by key, below). */
				continue;
			}
			const char *an = fd->signature->input_arg[a]->name;
			size_t n0 = fd->n_node_def;
			for (size_t i = 0; i < n0; i++) {
				Tensorflow__NodeDef *nd = fd->node_def[i];
				if (!is_read_op(nd->op) || nd->n_input < 1)
					continue;
				tfs_ref r;
				tfs_ref_parse(nd->input[0], &r);
				if (!tfs_ref_is(&r, an))
					continue;
				TFS_TRY(dequantize_after(c, tfs_function_nodes(fd), fd, i, &c->v[s->v[0]]));
			}
		}
	}
	/* Saver functions, object graph, bundle. */
	Tensorflow__SavedObjectGraph *og = c->mg->object_graph_def;
	for (size_t i = 0; i < c->nv; i++) {
		wvar *w = &c->v[i];
		if (!w->sel)
			continue;
		saver_all(c, w, c->dt, 1);
		TFS_TRY(w->ref ? rewrite_top_ref(c, w) : rewrite_top(c, w));
		for (size_t o = 0; og && o < c->n_obj; o++)
			if (c->obj_var[o] == (int32_t)i && og->nodes[o]->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE)
				og->nodes[o]->variable->dtype = (Tensorflow__DataType)c->dt;
		const Tensorflow__BundleEntryProto *src = c->m->edits && c->m->edits[w->entry].entry ?
		                                               c->m->edits[w->entry].entry : c->m->bundle->e[w->entry].proto;
		size_t pn = tensorflow__bundle_entry_proto__get_packed_size(src);
		uint8_t *buf = malloc(pn ? pn : 1);
		if (!buf)
			return tfs_nomem();
		tensorflow__bundle_entry_proto__pack(src, buf);
		Tensorflow__BundleEntryProto *copy = tensorflow__bundle_entry_proto__unpack(NULL, pn, buf);
		free(buf);
		if (!copy)
			return tfs_nomem();
		copy->dtype = (Tensorflow__DataType)c->dt;
		TFS_TRY(tfs_model_replace_entry(c->m, w->entry, w->data, w->len, copy));
		w->data = NULL;
	}
	return 0;
}

/* ------------------------------------------------------------ driver */

static int matches(const regex_t *re, const wvar *w)
{
	const char *name = w->handle ? w->handle->name : "";
	return regexec(re, w->key, 0, NULL, 0) == 0 || (*name && regexec(re, name, 0, NULL, 0) == 0);
}

static int compile(regex_t *re, const char *pat, const char *opt)
{
	int e = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
	if (e) {
		char msg[200];
		regerror(e, re, msg, sizeof msg);
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "%s '%s': %s", opt, pat, msg);
	}
	return 0;
}

/* Object id -> candidate var, through the checkpoint object graph. */
static int map_objects(wctx *c)
{
	Tensorflow__SavedObjectGraph *og = c->mg->object_graph_def;
	c->n_obj = og ? og->n_nodes : 0;
	if (!c->n_obj)
		return 0;
	c->obj_var = malloc(c->n_obj * sizeof *c->obj_var);
	int32_t *cmap = malloc(c->n_obj * sizeof *cmap);
	if (!c->obj_var || !cmap) {
		free(cmap);
		return tfs_nomem();
	}
	int rc = tfs_objgraph_ckpt_map(c->m, cmap);
	for (size_t o = 0; o < c->n_obj; o++) {
		c->obj_var[o] = -1;
		if (rc < 0 || cmap[o] < 0 || og->nodes[o]->kind_case != TENSORFLOW__SAVED_OBJECT__KIND_VARIABLE || !c->m->ckpt_graph)
			continue;
		const Tensorflow__TrackableObjectGraph__TrackableObject *co = c->m->ckpt_graph->nodes[cmap[o]];
		for (size_t k = 0; k < co->n_attributes; k++) {
			if (strcmp(co->attributes[k]->name, "VARIABLE_VALUE"))
				continue;
			const char *key = co->attributes[k]->checkpoint_key;
			wvar *w = var_of_key(c, key, strlen(key));
			if (w)
				c->obj_var[o] = (int32_t)(w - c->v);
		}
	}
	free(cmap);
	return rc;
}

static int build_results(wctx *c)
{
	tfshrink_model *m = c->m;
	tfs_model_free_weights(m);
	size_t n = 0;
	for (size_t i = 0; i < c->nv; i++)
		n += c->v[i].considered;
	if (!n)
		return 0;
	m->weights = calloc(n, sizeof *m->weights);
	if (!m->weights)
		return tfs_nomem();
	for (size_t i = 0; i < c->nv; i++) {
		const wvar *w = &c->v[i];
		if (!w->considered)
			continue;
		tfshrink_weight_result *r = &m->weights[m->n_weights++];
		r->key = strdup(w->key);
		r->name = strdup(w->handle ? w->handle->name : "");
		r->reason = strdup(w->sel ? "" : w->reason);
		if (!r->key || !r->name || !r->reason)
			return tfs_nomem();
		r->quantized = w->sel;
		r->dtype = w->sel ? c->dt : TFS_DT_FLOAT;
		r->scheme = scheme_name(c->o->weights, w->axis);
		r->axis = w->sel && w->axis != AX_TENSOR && c->o->weights == TFSHRINK_WEIGHTS_INT8 ? w->dim : -1;
		r->elements = w->n;
		r->bytes_before = w->n * 4;
		r->bytes_after = w->sel ? w->len + w->n_scales * 4 : w->n * 4;
		int measured = w->measured;
		r->sqnr_db = measured ? w->sqnr : NAN;
		r->max_abs_err = measured ? w->max_abs : NAN;
		r->rel_rms_err = measured ? w->rel_rms : NAN;
	}
	return 0;
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	const tfshrink_shrink_options *o = ctx->opts;
	tfs_model_free_weights(m);
	if (o->weights == TFSHRINK_WEIGHTS_KEEP) {
		snprintf(ctx->summary, sizeof ctx->summary, "weights kept as they are (see --weights)");
		return 0;
	}
	if (o->weights < TFSHRINK_WEIGHTS_KEEP || o->weights > TFSHRINK_WEIGHTS_INT8)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "unknown weights mode %d", o->weights);
	regex_t inc, exc;
	int has_inc = o->include && *o->include, has_exc = o->exclude && *o->exclude;
	if (has_inc)
		TFS_TRY(compile(&inc, o->include, "--include"));
	if (has_exc && compile(&exc, o->exclude, "--exclude") < 0) {
		if (has_inc)
			regfree(&inc);
		return TFSHRINK_EINVAL;
	}
	wctx c;
	memset(&c, 0, sizeof c);
	c.m = m;
	c.o = o;
	c.dt = o->weights == TFSHRINK_WEIGHTS_FP16 ? TFS_DT_HALF : o->weights == TFSHRINK_WEIGHTS_BF16 ? TFS_DT_BFLOAT16 : TFS_DT_INT8;
	int rc = 0;
	uint64_t min_el = o->min_elements;
	tfs_bundle *b = m->bundle;
	if (!b || !m->sm->n_meta_graphs || !m->sm->meta_graphs[0]->graph_def)
		goto done;
	c.mg = m->sm->meta_graphs[0];
	c.g = c.mg->graph_def;
	/* Candidates: float32 weights, whole tensors, big enough. */
	c.v = calloc(b->n ? b->n : 1, sizeof *c.v);
	if (!c.v) {
		rc = tfs_nomem();
		goto done;
	}
	size_t small = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (tfs_model_entry_removed(m, i))
			continue;
		const Tensorflow__BundleEntryProto *e = m->edits && m->edits[i].entry ? m->edits[i].entry : b->e[i].proto;
		if ((int)e->dtype != TFS_DT_FLOAT || e->n_slices || !e->shape || e->shape->unknown_rank ||
		    e->shape->n_dim > MAX_DIMS || b->e[i].elements < 0 ||
		    tfs_var_group((const char *)b->e[i].key, b->e[i].elements) != TFSHRINK_VAR_WEIGHTS)
			continue;
		if ((uint64_t)b->e[i].elements < min_el || b->e[i].elements == 0) {
			small++;
			continue;
		}
		wvar *w = &c.v[c.nv++];
		w->entry = i;
		w->key = (const char *)b->e[i].key;
		w->n = (uint64_t)b->e[i].elements;
		w->ndims = (int)e->shape->n_dim;
		for (int k = 0; k < w->ndims; k++)
			w->dims[k] = e->shape->dim[k]->size;
		w->considered = 1;
		w->sel = 1;
	}
	c.tf1 = !c.mg->object_graph_def;
	if (c.tf1 && m->sm->n_meta_graphs > 1) {
		if (c.nv) {
			size_t n = 0;
			for (size_t i = 0; i < c.nv; i++)
				n += !has_inc || regexec(&inc, c.v[i].key, 0, NULL, 0) == 0;
			if (n) {
				rc = tfs_err(TFSHRINK_EUNSUPPORTED, m->dir, -1,
				             "--weights: TF1 models with several meta graphs are not supported; %zu float32 "
				             "weight(s) would be selected (run without --weights, or --exclude them)", n);
				goto done;
			}
		}
		c.nv = 0;
		goto done;
	}
	c.lib = c.g->library;
	c.nf = c.lib ? c.lib->n_function : 0;
	if ((rc = tfs_traced_saver_find(m, &c.sv)) < 0)
		goto done;
	/* Library index and binding slots. */
	c.fnames = calloc(c.nf ? c.nf : 1, sizeof *c.fnames);
	c.fidx = calloc(c.nf ? c.nf : 1, sizeof *c.fidx);
	c.base = calloc(c.nf + 1, sizeof *c.base);
	if (!c.fnames || !c.fidx || !c.base) {
		rc = tfs_nomem();
		goto done;
	}
	for (size_t f = 0; f < c.nf; f++) {
		const Tensorflow__OpDef *sig = c.lib->function[f]->signature;
		c.fnames[f] = sig ? sig->name : "";
		c.fidx[f] = f;
		c.base[f + 1] = c.base[f] + (sig ? sig->n_input_arg : 0);
	}
	tfs_qsort_r(c.fidx, c.nf, sizeof *c.fidx, cmp_fname, c.fnames);
	c.nb = c.base[c.nf];
	c.b = calloc(c.nb ? c.nb : 1, sizeof *c.b);
	if (!c.b) {
		rc = tfs_nomem();
		goto done;
	}
	map_handles(&c);
	for (size_t i = 0; i < c.nv; i++) {
		wvar *w = &c.v[i];
		if (has_inc && !matches(&inc, w))
			unselect(w, "not matched by --include%s%s", "", "");
		else if (has_exc && matches(&exc, w))
			unselect(w, "matched by --exclude%s%s", "", "");
		else if (!w->handle)
			unselect(w, "the graph's saver does not restore it into a variable handle%s%s", "", "");
		else if (attr_type(w->handle, "dtype") != TFS_DT_FLOAT)
			unselect(w, "its %s is not float32%s", w->handle->op, "");
	}
	if ((rc = map_objects(&c)) < 0 || (rc = seed_top(&c)) < 0 || (rc = seed_objects(&c)) < 0)
		goto done;
	while (c.qh < c.qt) {
		size_t s = c.queue[c.qh++];
		c.b[s].queued = 0;
		size_t f = 0;
		while (f + 1 < c.nf + 1 && c.base[f + 1] <= s)
			f++;
		if ((rc = process_arg(&c, f, s - c.base[f])) < 0)
			goto done;
	}
	collect_reads(&c);
	for (size_t i = 0; i < c.nv; i++)
		if (c.v[i].sel && !saver_all(&c, &c.v[i], c.dt, 0))
			unselect(&c.v[i], "its save/restore chain has a shape the rewrite does not handle%s%s", "", "");
	resolve(&c, 0);
	for (size_t i = 0; i < c.nv; i++)
		if (c.v[i].sel && (rc = quantize(&c, &c.v[i])) < 0)
			goto done;
	resolve(&c, 1);
	if ((rc = build_results(&c)) < 0 || (rc = mark_init(&c)) < 0 || (rc = rewrite(&c)) < 0)
		goto done;
	uint64_t before = 0, after = 0;
	size_t nq = 0, kept = 0;
	for (size_t i = 0; i < c.nv; i++) {
		if (c.v[i].sel) {
			nq++;
			before += c.v[i].n * 4;
			after += c.v[i].n * (c.o->weights == TFSHRINK_WEIGHTS_INT8 ? 1 : 2) + c.v[i].n_scales * 4;
		} else {
			kept++;
		}
	}
	ctx->items = nq;
	snprintf(ctx->summary, sizeof ctx->summary, "%zu weight(s) to %s (%llu -> %llu bytes), %zu kept float32, %zu below %llu elements",
	         nq, o->weights == TFSHRINK_WEIGHTS_FP16 ? "fp16" : o->weights == TFSHRINK_WEIGHTS_BF16 ? "bf16" : "int8",
	         (unsigned long long)before, (unsigned long long)after, kept, small, (unsigned long long)min_el);
done:
	if (rc == 0 && c.nv == 0 && !ctx->summary[0])
		snprintf(ctx->summary, sizeof ctx->summary, "no float32 weight of %llu elements or more",
		         (unsigned long long)min_el);
	for (size_t i = 0; i < c.nv; i++) {
		free(c.v[i].data);
		free(c.v[i].scales);
	}
	free(c.v);
	for (size_t i = 0; i < c.nb; i++)
		free(c.b[i].v);
	free(c.b);
	free(c.base);
	free(c.fnames);
	free(c.fidx);
	free(c.queue);
	free(c.obj_var);
	free(c.in_init);
	if (has_inc)
		regfree(&inc);
	if (has_exc)
		regfree(&exc);
	return rc;
}

TFS_PASS_DEFINE(weights, "weights", 80, "store float32 weights as fp16, bf16 or int8 (--weights; lossy)", run);
