/* test_bad_inputs.c - untrusted SavedModels through the public API.
 *
 * Each open-time structural check (src/model/check.c) on a committed fixture
 * whose saved_model.pb is edited in memory with protobuf-c: the exact
 * tfshrink_code, a message substring and the file named; and the edge cases
 * those checks must still accept. The audit of inspect (ops that touch
 * files, the network or run code, class 13): the audit_readfile fixture,
 * ops added in memory, the savers it must not list, every clean model.
 * Last, the bad-input corpus of tests/bad/make_bad.py (all 16 classes of
 * the robustness plan): each case fails to open with its exact code,
 * message phrase and file, or, for the valid edge cases, opens, inspects,
 * shrinks and writes an output that reopens with every checksum verified. */
#include "testutil.h"

#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "fsutil.h"
#include "model_internal.h"
#include "pbio.h"
#include "tensorflow.pb-c.h"
#include "tfshrink.h"

static int g_seq;

/* ------------------------------------------------------------ helpers */

static void set_str(char **field, const char *v)
{
	if (*field && *field != protobuf_c_empty_string)
		free(*field);
	*field = tu_strdup(v);
}

/* A fresh writable copy of fixture `name`. */
static char *copy_fixture(const char *name)
{
	char *src = tu_fixture(name), *copy = NULL;
	assert_true(asprintf(&copy, "%s-%d", name, ++g_seq) > 0);
	char *dst = tu_copy_model(src, copy);
	free(copy);
	free(src);
	return dst;
}

static Tensorflow__SavedModel *load_sm(const char *dir)
{
	char *pb = tfs_path_join(dir, "saved_model.pb");
	size_t n;
	uint8_t *d = tu_read(pb, &n);
	Tensorflow__SavedModel *sm = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__saved_model__descriptor, d, n, pb, (ProtobufCMessage **)&sm), 0);
	free(d);
	free(pb);
	return sm;
}

static void save_sm(const char *dir, Tensorflow__SavedModel *sm)
{
	uint8_t *d;
	size_t n;
	assert_int_equal(tfs_pb_pack(&sm->base, &d, &n), 0);
	tu_write(dir, "saved_model.pb", d, n);
	free(d);
}

static Tensorflow__MetaGraphDef *mg0(Tensorflow__SavedModel *sm)
{
	return sm->meta_graphs[0];
}

static Tensorflow__NodeDef *graph_node(Tensorflow__SavedModel *sm, const char *name)
{
	Tensorflow__GraphDef *g = mg0(sm)->graph_def;
	for (size_t i = 0; i < g->n_node; i++)
		if (!strcmp(g->node[i]->name, name))
			return g->node[i];
	fail_msg("no node %s", name);
	return NULL;
}

static Tensorflow__NodeDef *graph_op(Tensorflow__SavedModel *sm, const char *op)
{
	Tensorflow__GraphDef *g = mg0(sm)->graph_def;
	for (size_t i = 0; i < g->n_node; i++)
		if (!strcmp(g->node[i]->op, op))
			return g->node[i];
	fail_msg("no %s node", op);
	return NULL;
}

static Tensorflow__FunctionDef *function(Tensorflow__SavedModel *sm, const char *prefix)
{
	Tensorflow__FunctionDefLibrary *lib = mg0(sm)->graph_def->library;
	for (size_t i = 0; lib && i < lib->n_function; i++)
		if (!strncmp(lib->function[i]->signature->name, prefix, strlen(prefix)))
			return lib->function[i];
	fail_msg("no function %s*", prefix);
	return NULL;
}

static Tensorflow__NodeDef *fn_op(Tensorflow__FunctionDef *f, const char *op)
{
	for (size_t i = 0; i < f->n_node_def; i++)
		if (!strcmp(f->node_def[i]->op, op))
			return f->node_def[i];
	fail_msg("no %s node in %s", op, f->signature->name);
	return NULL;
}

static Tensorflow__AttrValue *attr(Tensorflow__NodeDef *n, const char *key)
{
	for (size_t i = 0; i < n->n_attr; i++)
		if (!strcmp(n->attr[i]->key, key))
			return n->attr[i]->value;
	fail_msg("node %s has no attr %s", n->name, key);
	return NULL;
}

static void drop_attr(Tensorflow__NodeDef *n, const char *key)
{
	for (size_t i = 0; i < n->n_attr; i++)
		if (!strcmp(n->attr[i]->key, key)) {
			protobuf_c_message_free_unpacked(&n->attr[i]->base, NULL);
			n->attr[i] = n->attr[--n->n_attr];
			return;
		}
	fail_msg("node %s has no attr %s", n->name, key);
}

/* A top-level Const whose value is stored in tensor_content. */
static Tensorflow__NodeDef *content_const(Tensorflow__SavedModel *sm)
{
	Tensorflow__GraphDef *g = mg0(sm)->graph_def;
	for (size_t i = 0; i < g->n_node; i++)
		if (!strcmp(g->node[i]->op, "Const") && attr(g->node[i], "value")->tensor->tensor_content.len > 0)
			return g->node[i];
	fail_msg("no Const with tensor_content");
	return NULL;
}

static void add_node(Tensorflow__FunctionDef *f, Tensorflow__NodeDef *n)
{
	f->node_def = tu_grow(f->node_def, f->n_node_def, sizeof *f->node_def);
	f->node_def[f->n_node_def++] = n;
}

static void add_input(Tensorflow__NodeDef *n, const char *in)
{
	n->input = tu_grow(n->input, n->n_input, sizeof *n->input);
	n->input[n->n_input++] = tu_strdup(in);
}

/* Opens dir and checks the outcome; returns the model when it opened. */
static tfshrink_model *expect_open(const char *dir, int code, const char *needle, const char *path_end)
{
	tfshrink_model *m = NULL;
	int rc = tfshrink_model_open(&m, dir, NULL);
	if (code == TFSHRINK_OK) {
		if (rc)
			fail_msg("open %s: %s (%s)", dir, tfshrink_error_last()->message,
			         tfshrink_error_last()->path ? tfshrink_error_last()->path : "-");
		return m;
	}
	tu_assert_error(rc, code, needle);
	assert_null(m);
	const char *p = tfshrink_error_last()->path;
	size_t pl = p ? strlen(p) : 0, el = strlen(path_end);
	if (!p || pl < el || strcmp(p + pl - el, path_end))
		fail_msg("\"%s\" names %s, expected .../%s", tfshrink_error_last()->message, p ? p : "-", path_end);
	if (strchr(tfshrink_error_last()->message, '\n'))
		fail_msg("message is more than one line");
	return NULL;
}

typedef void (*edit_fn)(Tensorflow__SavedModel *sm, const char *dir);

/* A copy of `fixture` with its saved_model.pb edited by fn. */
static char *edited_copy(const char *fixture, edit_fn fn)
{
	char *dir = copy_fixture(fixture);
	Tensorflow__SavedModel *sm = load_sm(dir);
	fn(sm, dir);
	save_sm(dir, sm);
	tensorflow__saved_model__free_unpacked(sm, NULL);
	return dir;
}

/* Copies `fixture`, edits its saved_model.pb, and checks what open says. */
static void edited(const char *fixture, edit_fn fn, int code, const char *needle, const char *path_end)
{
	char *dir = edited_copy(fixture, fn);
	tfshrink_model_free(expect_open(dir, code, needle, path_end));
	tfs_remove_tree(dir);
	free(dir);
}

#define PB "saved_model.pb"
#define TF1 "tf1_adam_builder"
#define TF2 "tf2_hashtable_vocab"

/* ------------------------------------------------------ 8: Const nodes */

static void const_no_value(Tensorflow__SavedModel *sm, const char *d) { (void)d; drop_attr(graph_node(sm, "Less/y"), "value"); }
static void const_no_dtype(Tensorflow__SavedModel *sm, const char *d) { (void)d; drop_attr(graph_node(sm, "Less/y"), "dtype"); }
static void const_value_int(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__AttrValue *v = attr(graph_node(sm, "Less/y"), "value");
	protobuf_c_message_free_unpacked(&v->tensor->base, NULL);
	v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
	v->i = 7;
}
static void const_dtype_other(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__AttrValue *t = attr(graph_node(sm, "Less/y"), "dtype");
	t->type = t->type == TENSORFLOW__DATA_TYPE__DT_STRING ? TENSORFLOW__DATA_TYPE__DT_FLOAT : TENSORFLOW__DATA_TYPE__DT_STRING;
}
static void const_in_function_no_value(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	drop_attr(fn_op(function(sm, "__inference_lookup_"), "Const"), "value");
}

static void test_const_nodes(void **state)
{
	(void)state;
	edited(TF1, const_no_value, TFSHRINK_ECORRUPT, "Const node 'Less/y' in the graph has no 'value' attribute", PB);
	edited(TF1, const_no_dtype, TFSHRINK_ECORRUPT, "Const node 'Less/y' in the graph has no 'dtype' attribute", PB);
	edited(TF1, const_value_int, TFSHRINK_ECORRUPT, "its 'value' attribute is not a tensor", PB);
	edited(TF1, const_dtype_other, TFSHRINK_ECORRUPT, "but its value is", PB);
	edited(TF2, const_in_function_no_value, TFSHRINK_ECORRUPT, "in function '__inference_lookup_", PB);
}

/* --------------------------------------------------- 9: tensor values */

static Tensorflow__TensorProto *content_tensor(Tensorflow__SavedModel *sm)
{
	return attr(content_const(sm), "value")->tensor;
}

static void content_short(Tensorflow__SavedModel *sm, const char *d) { (void)d; content_tensor(sm)->tensor_content.len--; }
static void content_long(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__TensorProto *t = content_tensor(sm);
	t->tensor_content.data = tu_grow(t->tensor_content.data, t->tensor_content.len, 1);
	t->tensor_content.len++;
}
static void retype(Tensorflow__SavedModel *sm, int dtype)
{
	Tensorflow__NodeDef *n = content_const(sm);
	attr(n, "dtype")->type = (Tensorflow__DataType)dtype;
	attr(n, "value")->tensor->dtype = (Tensorflow__DataType)dtype;
}
static void ref_dtype(Tensorflow__SavedModel *sm, const char *d) { (void)d; retype(sm, 101); }
static void zero_dtype(Tensorflow__SavedModel *sm, const char *d) { (void)d; retype(sm, 0); }
static void big_dtype(Tensorflow__SavedModel *sm, const char *d) { (void)d; retype(sm, 1000); }
static void neg_dim(Tensorflow__SavedModel *sm, const char *d) { (void)d; content_tensor(sm)->tensor_shape->dim[0]->size = -1; }
static void unknown_rank(Tensorflow__SavedModel *sm, const char *d) { (void)d; content_tensor(sm)->tensor_shape->unknown_rank = 1; }
static void huge_dims(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__TensorShapeProto *s = content_tensor(sm)->tensor_shape;
	assert_true(s->n_dim >= 1);
	s->dim[0]->size = INT64_MAX;
	if (s->n_dim == 1) {
		s->dim = tu_grow(s->dim, 1, sizeof *s->dim);
		s->dim[1] = malloc(sizeof **s->dim);
		tensorflow__tensor_shape_proto__dim__init(s->dim[1]);
		s->n_dim = 2;
	}
	s->dim[1]->size = 4;
}
static void many_dims(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__TensorShapeProto *s = content_tensor(sm)->tensor_shape;
	for (size_t i = s->n_dim; i < 300; i++) {
		s->dim = tu_grow(s->dim, s->n_dim, sizeof *s->dim);
		s->dim[s->n_dim] = malloc(sizeof **s->dim);
		tensorflow__tensor_shape_proto__dim__init(s->dim[s->n_dim]);
		s->dim[s->n_dim++]->size = 1;
	}
}
/* a tensor in a list-valued attr, not a Const */
static void list_tensor(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__AttrValue *v = malloc(sizeof *v);
	tensorflow__attr_value__init(v);
	v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
	v->list = malloc(sizeof *v->list);
	tensorflow__attr_value__list_value__init(v->list);
	v->list->tensor = malloc(sizeof *v->list->tensor);
	v->list->tensor[0] = malloc(sizeof **v->list->tensor);
	tensorflow__tensor_proto__init(v->list->tensor[0]);
	v->list->tensor[0]->dtype = (Tensorflow__DataType)(100 + TFS_DT_INT32);
	v->list->n_tensor = 1;
	tu_add_attr(graph_op(sm, "Identity"), "_extra", v);
}

static void test_tensor_values(void **state)
{
	(void)state;
	edited(TF1, content_short, TFSHRINK_ECORRUPT, "tensor_content holds", PB);
	edited(TF1, content_long, TFSHRINK_ECORRUPT, "tensor_content holds", PB);
	edited(TF1, ref_dtype, TFSHRINK_ECORRUPT, "reference dtype float32_ref", PB);
	edited(TF1, zero_dtype, TFSHRINK_ECORRUPT, "invalid dtype 0", PB);
	edited(TF1, big_dtype, TFSHRINK_ECORRUPT, "invalid dtype 1000", PB);
	edited(TF1, neg_dim, TFSHRINK_ECORRUPT, "dimension -1", PB);
	edited(TF1, unknown_rank, TFSHRINK_ECORRUPT, "unknown rank", PB);
	edited(TF1, huge_dims, TFSHRINK_ELIMIT, "2^58", PB);
	edited(TF1, many_dims, TFSHRINK_ELIMIT, "dimensions (limit 254)", PB);
	edited(TF1, list_tensor, TFSHRINK_ECORRUPT, "attr '_extra': tensor of reference dtype int32_ref", PB);
}

/* ------------------------------------------------------ 10: op defs */

static void op_dup_attr(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__OpList *ol = mg0(sm)->meta_info_def->stripped_op_list;
	for (size_t i = 0; i < ol->n_op; i++)
		if (ol->op[i]->n_attr > 0) {
			Tensorflow__OpDef *op = ol->op[i];
			Tensorflow__OpDef__AttrDef *a = malloc(sizeof *a);
			tensorflow__op_def__attr_def__init(a);
			a->name = tu_strdup(op->attr[0]->name);
			a->type = tu_strdup("type");
			op->attr = tu_grow(op->attr, op->n_attr, sizeof *op->attr);
			op->attr[op->n_attr++] = a;
			return;
		}
	fail_msg("no op with attrs");
}
static void fn_dup_input(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__OpDef *s = function(sm, "__inference_lookup_")->signature;
	Tensorflow__OpDef__ArgDef *a = malloc(sizeof *a);
	tensorflow__op_def__arg_def__init(a);
	a->name = tu_strdup(s->input_arg[0]->name);
	a->type = TENSORFLOW__DATA_TYPE__DT_FLOAT;
	s->input_arg = tu_grow(s->input_arg, s->n_input_arg, sizeof *s->input_arg);
	s->input_arg[s->n_input_arg++] = a;
}
static void fn_dup_name(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	set_str(&function(sm, "__inference__destroyer_")->signature->name, function(sm, "__inference__creator_")->signature->name);
}

static void test_op_defs(void **state)
{
	(void)state;
	edited(TF2, op_dup_attr, TFSHRINK_ECORRUPT, "in the stripped op list declares attr", PB);
	edited(TF2, fn_dup_input, TFSHRINK_ECORRUPT, "declares input 'words' twice", PB);
	edited(TF2, fn_dup_name, TFSHRINK_ECORRUPT, "the function library defines '__inference__creator_", PB);
}

/* ------------------------------------------- 11: references, recursion */

static void graph_bad_input(Tensorflow__SavedModel *sm, const char *d) { (void)d; add_input(graph_op(sm, "Identity"), "nowhere:1"); }
static void graph_dup_node(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__GraphDef *g = mg0(sm)->graph_def;
	set_str(&g->node[1]->name, g->node[0]->name);
}
static void fn_bad_input(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	add_input(fn_op(function(sm, "__inference__destroyer_"), "Identity"), "ghost:output:0");
}
static void fn_bad_ret(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__FunctionDef *f = function(sm, "__inference__destroyer_");
	assert_true(f->n_ret > 0);
	set_str(&f->ret[0]->value, "ghost:output:0");
}
static void call_missing(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	set_str(&attr(graph_op(sm, "StatefulPartitionedCall"), "f")->func->name, "__inference_nowhere_9");
}
static void self_call(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__FunctionDef *f = function(sm, "__inference__destroyer_");
	add_node(f, tu_node("again", f->signature->name));
}
static void mutual_call(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__FunctionDef *a = function(sm, "__inference__destroyer_"), *b = function(sm, "__inference__creator_");
	add_node(a, tu_node("to_b", b->signature->name));
	/* the way back through a func-valued attr, as a PartitionedCall */
	Tensorflow__NodeDef *n = tu_node("to_a", "PartitionedCall");
	tu_add_attr(n, "f", tu_func_attr(a->signature->name));
	add_node(b, n);
}

static void test_references(void **state)
{
	(void)state;
	edited(TF1, graph_bad_input, TFSHRINK_ECORRUPT, "reads 'nowhere', which is not a node of the graph", PB);
	edited(TF1, graph_dup_node, TFSHRINK_ECORRUPT, "the graph has two nodes named", PB);
	edited(TF2, fn_bad_input, TFSHRINK_ECORRUPT, "reads 'ghost', which is not a node or input of the function", PB);
	edited(TF2, fn_bad_ret, TFSHRINK_ECORRUPT, "returns 'ghost:output:0'", PB);
	edited(TF2, call_missing, TFSHRINK_ECORRUPT, "calls function '__inference_nowhere_9', which is not in the library", PB);
	edited(TF2, self_call, TFSHRINK_ECORRUPT, "calls itself", PB);
	edited(TF2, mutual_call, TFSHRINK_ECORRUPT, "functions call each other in a cycle: __inference_", PB);
}

/* A chain of 50000 functions, each calling the next: deeper than any C
 * stack would take by recursion. Open must accept it; closing the chain
 * into a cycle must be found. */
#define CHAIN 50000
static int g_close_chain;
static void long_chain(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__FunctionDefLibrary *lib = mg0(sm)->graph_def->library;
	size_t base = lib->n_function;
	lib->function = realloc(lib->function, (base + CHAIN) * sizeof *lib->function);
	assert_non_null(lib->function);
	for (size_t i = 0; i < CHAIN; i++) {
		char name[64], callee[64];
		snprintf(name, sizeof name, "chain_%zu", i);
		snprintf(callee, sizeof callee, "chain_%zu", i + 1);
		Tensorflow__FunctionDef *f = malloc(sizeof *f);
		tensorflow__function_def__init(f);
		f->signature = malloc(sizeof *f->signature);
		tensorflow__op_def__init(f->signature);
		f->signature->name = tu_strdup(name);
		add_node(f, tu_node("call", i + 1 < CHAIN ? callee : g_close_chain ? "chain_0" : "NoOp"));
		lib->function[base + i] = f;
	}
	lib->n_function = base + CHAIN;
}

static void test_deep_call_chain(void **state)
{
	(void)state;
	g_close_chain = 0;
	edited(TF2, long_chain, TFSHRINK_OK, NULL, NULL);
	g_close_chain = 1;
	edited(TF2, long_chain, TFSHRINK_ECORRUPT, "functions call each other in a cycle: chain_0 -> chain_1 -> ", PB);
	const char *msg = tfshrink_error_last()->message;
	assert_true(strlen(msg) < 1024);
	assert_non_null(strstr(msg, "... -> chain_0"));
}

/* ------------------------------------------------------- 7: init op */

static Tensorflow__SignatureDef *init_sig(Tensorflow__SavedModel *sm)
{
	Tensorflow__MetaGraphDef *mg = mg0(sm);
	for (size_t i = 0; i < mg->n_signature_def; i++)
		if (!strcmp(mg->signature_def[i]->key, "__saved_model_init_op"))
			return mg->signature_def[i]->value;
	fail_msg("no init op signature");
	return NULL;
}
static void init_no_outputs(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__SignatureDef *s = init_sig(sm);
	for (size_t i = 0; i < s->n_outputs; i++)
		protobuf_c_message_free_unpacked(&s->outputs[i]->base, NULL);
	s->n_outputs = 0;
}
static void init_output_no_name(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__TensorInfo *t = init_sig(sm)->outputs[0]->value;
	set_str(&t->name, "");
}
static void main_op_two(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__MetaGraphDef *mg = mg0(sm);
	for (size_t i = 0; i < mg->n_collection_def; i++)
		if (!strcmp(mg->collection_def[i]->key, "saved_model_main_op")) {
			Tensorflow__CollectionDef__NodeList *l = mg->collection_def[i]->value->node_list;
			l->value = tu_grow(l->value, l->n_value, sizeof *l->value);
			l->value[l->n_value++] = tu_strdup("another_op");
			return;
		}
	fail_msg("no main op");
}

static void test_init_op(void **state)
{
	(void)state;
	edited(TF2, init_no_outputs, TFSHRINK_ECORRUPT, "signature '__saved_model_init_op' has no '__saved_model_init_op' output", PB);
	edited(TF2, init_output_no_name, TFSHRINK_ECORRUPT, "its output names no tensor", PB);
	edited(TF1, main_op_two, TFSHRINK_ECORRUPT, "collection 'saved_model_main_op' must name exactly one op (it names 2)", PB);
}

/* -------------------------------------------------------- 12: assets */

static const char *g_asset_name;
static void asset_rename(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	assert_true(mg0(sm)->n_asset_file_def > 0);
	set_str(&mg0(sm)->asset_file_def[0]->filename, g_asset_name);
}
static void asset_gone(Tensorflow__SavedModel *sm, const char *d)
{
	(void)sm;
	char *p = tfs_path_join(d, "assets/vocab.txt");
	assert_int_equal(remove(p), 0);
	free(p);
}
static void asset_in_subdir(Tensorflow__SavedModel *sm, const char *d)
{
	set_str(&mg0(sm)->asset_file_def[0]->filename, "sub/dir/vocab.txt");
	tu_write(d, "assets/sub/dir/vocab.txt", "a\nb\n", 4);
}
/* TF2 assets may be directories of files */
static void asset_directory(Tensorflow__SavedModel *sm, const char *d)
{
	set_str(&mg0(sm)->asset_file_def[0]->filename, "vocabdir");
	tu_write(d, "assets/vocabdir/part-0.txt", "a\nb\n", 4);
	tu_write(d, "assets/vocabdirX", "x", 1); /* only looks like it */
}
static void asset_not_a_directory(Tensorflow__SavedModel *sm, const char *d)
{
	set_str(&mg0(sm)->asset_file_def[0]->filename, "vocabdir");
	tu_write(d, "assets/vocabdirX", "x", 1);
	tu_write(d, "assets/vocabdir.txt", "x", 1);
}

static void test_assets(void **state)
{
	(void)state;
	static const char *const bad[] = { "/etc/passwd", "../saved_model.pb", "a/../../b", "./vocab.txt", "a//b",
		                               "sub/", "" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		g_asset_name = bad[i];
		edited(TF2, asset_rename, TFSHRINK_ECORRUPT, "is not a relative path inside assets/", PB);
	}
	/* missing files: refused for TF2 (the loader reads them), kept for TF1 */
	edited(TF2, asset_gone, TFSHRINK_ENOTFOUND, "asset 'vocab.txt' is listed but the file is missing", "assets/vocab.txt");
	edited(TF1, asset_gone, TFSHRINK_OK, NULL, NULL);
	g_asset_name = "not_there.txt";
	edited(TF2, asset_rename, TFSHRINK_ENOTFOUND, "asset 'not_there.txt'", "assets/not_there.txt");
	edited(TF2, asset_in_subdir, TFSHRINK_OK, NULL, NULL);
	edited(TF2, asset_directory, TFSHRINK_OK, NULL, NULL);
	edited(TF2, asset_not_a_directory, TFSHRINK_ENOTFOUND, "asset 'vocabdir' is listed", "assets/vocabdir");
}

/* --------------------------------------------- object graph, variables */

static void og_child(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__SavedObjectGraph *og = mg0(sm)->object_graph_def;
	assert_true(og->nodes[0]->n_children > 0);
	og->nodes[0]->children[0]->node_id = (int32_t)og->n_nodes;
}
static void og_missing_concrete(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__SavedObjectGraph *og = mg0(sm)->object_graph_def;
	assert_true(og->n_concrete_functions > 0);
	set_str(&og->concrete_functions[0]->key, "__inference_gone_1");
}
static void no_variables(Tensorflow__SavedModel *sm, const char *d)
{
	(void)sm;
	char *v = tfs_path_join(d, "variables");
	tfs_remove_tree(v);
	free(v);
}

static void test_object_graph_and_variables(void **state)
{
	(void)state;
	edited(TF2, og_child, TFSHRINK_ECORRUPT, "object graph: object 0 has a child", PB);
	edited(TF2, og_missing_concrete, TFSHRINK_ECORRUPT, "concrete function '__inference_gone_1' is not in the library", PB);
	edited(TF2, no_variables, TFSHRINK_ENOTFOUND, "restores checkpoint keys but has no variables",
	       "variables/variables.index");
	/* a TF1 model without variables/ opens, shrinks and writes */
	char *dir = copy_fixture(TF1);
	no_variables(NULL, dir);
	tfshrink_model *m = expect_open(dir, TFSHRINK_OK, NULL, NULL);
	tfshrink_shrink_report_free(tu_shrink(m, NULL));
	tfshrink_model_free(tu_write_reopen(m, "tf1_novars_out", NULL));
	tfshrink_model_free(m);
	free(dir);
}

/* --------------------------------------------- 15: two meta graphs */

/* Appends a copy of the first meta graph, tagged "gpu"; returns it. */
static Tensorflow__MetaGraphDef *add_meta_graph_copy(Tensorflow__SavedModel *sm)
{
	uint8_t *buf;
	size_t n;
	assert_int_equal(tfs_pb_pack(&mg0(sm)->base, &buf, &n), 0);
	Tensorflow__MetaGraphDef *copy = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__meta_graph_def__descriptor, buf, n, "copy", (ProtobufCMessage **)&copy), 0);
	free(buf);
	Tensorflow__MetaGraphDef__MetaInfoDef *mi = copy->meta_info_def;
	mi->tags = tu_grow(mi->tags, mi->n_tags, sizeof *mi->tags);
	mi->tags[mi->n_tags++] = tu_strdup("gpu");
	sm->meta_graphs = tu_grow(sm->meta_graphs, sm->n_meta_graphs, sizeof *sm->meta_graphs);
	sm->meta_graphs[sm->n_meta_graphs++] = copy;
	return copy;
}

static void gpu_meta_graph(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	add_meta_graph_copy(sm);
}

/* A TF2 model with a second meta graph (its own library and object graph)
 * shrinks: the passes edit the first, and neither the second's functions nor
 * the check of its object graph may depend on the first's library. */
static void test_second_meta_graph_shrinks(void **state)
{
	(void)state;
	char *dir = edited_copy("keras2_mlp_adam", gpu_meta_graph);
	tfshrink_model *m = expect_open(dir, TFSHRINK_OK, NULL, NULL);
	tfshrink_shrink_report *r = tu_shrink(m, NULL);
	assert_true(r->bytes_after < r->bytes_before);
	tfshrink_shrink_report_free(r);
	/* reopening runs the open-time checks: every object graph's functions exist */
	char *out;
	tfshrink_model_free(tu_write_reopen(m, "two_mg_out", &out));
	tfshrink_model_free(m);
	Tensorflow__SavedModel *o = load_sm(out);
	assert_int_equal(o->n_meta_graphs, 2);
	assert_true(o->meta_graphs[1]->object_graph_def->n_concrete_functions > 0);
	tensorflow__saved_model__free_unpacked(o, NULL);
	free(out);
	free(dir);
}

/* ------------------------------------ 5: a deep checkpoint object graph */

/* The checkpoint's object graph hangs a chain of half a million objects
 * under its root (valid: TensorFlow walks it breadth first). Shrinking
 * removes the optimizer's objects and recomputes has_checkpoint_values over
 * what is left, which used to recurse once per level and overflow the stack. */
static void test_deep_checkpoint_graph_shrinks(void **state)
{
	(void)state;
	enum { DEPTH = 500000 };
	char *dir = tu_fixture("keras2_mlp_adam");
	tfshrink_model *m = expect_open(dir, TFSHRINK_OK, NULL, NULL);
	Tensorflow__TrackableObjectGraph *g = m->ckpt_graph;
	assert_non_null(g);
	size_t base = g->n_nodes;
	g->nodes = realloc(g->nodes, (base + DEPTH) * sizeof *g->nodes);
	assert_non_null(g->nodes);
	for (size_t i = 0; i < DEPTH; i++) {
		Tensorflow__TrackableObjectGraph__TrackableObject *o = malloc(sizeof *o);
		assert_non_null(o);
		tensorflow__trackable_object_graph__trackable_object__init(o);
		g->nodes[base + i] = o;
	}
	for (size_t i = 0; i < DEPTH; i++) {
		Tensorflow__TrackableObjectGraph__TrackableObject *parent = i ? g->nodes[base + i - 1] : g->nodes[0];
		Tensorflow__TrackableObjectGraph__TrackableObject__ObjectReference *r = malloc(sizeof *r);
		assert_non_null(r);
		tensorflow__trackable_object_graph__trackable_object__object_reference__init(r);
		r->node_id = (int32_t)(base + i);
		r->local_name = tu_strdup("c");
		parent->children = tu_grow(parent->children, parent->n_children, sizeof *parent->children);
		parent->children[parent->n_children++] = r;
	}
	g->n_nodes = base + DEPTH;
	m->ckpt_graph_dirty = 1;
	tfshrink_shrink_report *r = tu_shrink(m, NULL);
	assert_true(r->bytes_after < r->bytes_before);
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------------------------- audit */

static tfshrink_report *inspect_dir(const char *dir, tfshrink_model **m)
{
	*m = expect_open(dir, TFSHRINK_OK, NULL, NULL);
	tfshrink_report *r = NULL;
	if (tfshrink_model_inspect(*m, &r))
		fail_msg("inspect %s: %s", dir, tfshrink_error_last()->message);
	return r;
}

static void test_audit_fixture(void **state)
{
	(void)state;
	char *dir = tu_fixture("audit_readfile");
	tfshrink_model *m;
	tfshrink_report *r = inspect_dir(dir, &m);
	/* TF2 hides both in the nested function; the graph only calls it */
	assert_int_equal(r->n_audit, 2);
	int seen_read = 0, seen_print = 0;
	for (size_t i = 0; i < r->n_audit; i++) {
		const tfshrink_audit_item *a = &r->audit_items[i];
		assert_non_null(strstr(a->location, "__inference__peek_"));
		assert_int_equal(a->meta_graph, 0);
		seen_read |= !strcmp(a->op, "ReadFile");
		seen_print |= !strcmp(a->op, "PrintV2");
		char want[256];
		snprintf(want, sizeof want, "%s node '%s' in function '%s'", a->op, a->node, a->location);
		assert_string_equal(r->audit[i], want);
	}
	assert_true(seen_read && seen_print);
	tfshrink_report_free(r);
	tfshrink_model_free(m);
	free(dir);
}

/* Models without such ops report none: their own savers are not listed. */
static void test_audit_clean_models(void **state)
{
	(void)state;
	size_t n = 0;
	tu_models ml = tu_all_models();
	for (size_t i = 0; i < ml.n; i++) {
		if (!strcmp(tu_base(ml.dir[i]), "audit_readfile"))
			continue;
		tfshrink_model *m;
		tfshrink_report *r = inspect_dir(ml.dir[i], &m);
		if (r->n_audit)
			fail_msg("%s: audit lists %s", ml.dir[i], r->audit[0]);
		tfshrink_report_free(r);
		tfshrink_model_free(m);
		n++;
	}
	tu_models_free(&ml);
	assert_true(n >= 8);
}

/* Adds a node to the top-level graph, or to function f. */
static Tensorflow__NodeDef *put_node(Tensorflow__SavedModel *sm, Tensorflow__FunctionDef *f, const char *name,
                                     const char *op)
{
	Tensorflow__NodeDef *n = tu_node(name, op);
	if (f) {
		add_node(f, n);
	} else {
		Tensorflow__GraphDef *g = mg0(sm)->graph_def;
		g->node = tu_grow(g->node, g->n_node, sizeof *g->node);
		g->node[g->n_node++] = n;
	}
	return n;
}

static void set_attr_s(Tensorflow__NodeDef *n, const char *key, const char *v)
{
	tu_add_attr(n, key, tu_string_attr(v));
}

/* Edits the model, then checks the audit lists exactly `want` (ops with
 * their locations, in any order). */
static void audited(const char *fixture, edit_fn fn, const char *const *want_ops, const char *const *want_loc,
                    size_t n_want)
{
	char *dir = edited_copy(fixture, fn);
	tfshrink_model *m;
	tfshrink_report *r = inspect_dir(dir, &m);
	if (r->n_audit != n_want) {
		for (size_t i = 0; i < r->n_audit; i++)
			print_message("  found: %s\n", r->audit[i]);
		fail_msg("%s: %zu findings, expected %zu", fixture, r->n_audit, n_want);
	}
	uint8_t used[16] = { 0 };
	assert_true(n_want <= sizeof used);
	for (size_t i = 0; i < n_want; i++) {
		size_t k;
		for (k = 0; k < r->n_audit; k++)
			if (!used[k] && !strcmp(r->audit_items[k].op, want_ops[i]) &&
			    !strncmp(r->audit_items[k].location, want_loc[i], strlen(want_loc[i])))
				break;
		if (k == r->n_audit)
			fail_msg("%s: no %s found in %s*", fixture, want_ops[i], want_loc[i]);
		used[k] = 1;
	}
	tfshrink_report_free(r);
	tfshrink_model_free(m);
	tfs_remove_tree(dir);
	free(dir);
}

static void tf1_risky_graph(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	put_node(sm, NULL, "leak", "ReadFile");
	put_node(sm, NULL, "save/SaveV2_extra", "SaveV2");     /* saver scope: exempt */
	put_node(sm, NULL, "save_3/RestoreV2", "RestoreV2");   /* another Saver's scope: exempt */
	put_node(sm, NULL, "evil/SaveV2", "SaveV2");           /* outside: listed */
	put_node(sm, NULL, "save/ReadFile", "ReadFile");       /* not a saver op: listed */
	set_attr_s(put_node(sm, NULL, "p_err", "PrintV2"), "output_stream", "stderr");
	set_attr_s(put_node(sm, NULL, "p_file", "PrintV2"), "output_stream", "file:///tmp/x.log");
	set_attr_s(put_node(sm, NULL, "proto_local", "DecodeProtoV2"), "descriptor_source", "local://");
	set_attr_s(put_node(sm, NULL, "proto_bytes", "DecodeProtoV2"), "descriptor_source", "bytes://\x0a");
	set_attr_s(put_node(sm, NULL, "proto_file", "DecodeProtoV2"), "descriptor_source", "/etc/descriptors.pb");
	put_node(sm, NULL, "py", "EagerPyFunc");
}

static void tf2_risky_functions(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	put_node(sm, function(sm, "__inference__traced_save_"), "extra_save", "SaveV2");      /* exempt */
	put_node(sm, function(sm, "__inference__traced_restore_"), "peek", "MatchingFiles"); /* listed */
	put_node(sm, function(sm, "__inference_lookup_"), "save", "SaveV2");                 /* listed */
	put_node(sm, function(sm, "__inference_lookup_"), "ds", "TFRecordDatasetV2");        /* listed */
}

/* A second meta graph holding a copy of the first, with a WriteFile. */
static void second_meta_graph(Tensorflow__SavedModel *sm, const char *d)
{
	(void)d;
	Tensorflow__GraphDef *g = add_meta_graph_copy(sm)->graph_def;
	g->node = tu_grow(g->node, g->n_node, sizeof *g->node);
	g->node[g->n_node++] = tu_node("drop", "WriteFile");
}

static void test_audit_ops(void **state)
{
	(void)state;
	static const char *const ops1[] = { "ReadFile", "SaveV2", "ReadFile", "PrintV2", "DecodeProtoV2", "EagerPyFunc" };
	static const char *const loc1[] = { "graph", "graph", "graph", "graph", "graph", "graph" };
	audited(TF1, tf1_risky_graph, ops1, loc1, 6);
	static const char *const ops2[] = { "MatchingFiles", "SaveV2", "TFRecordDatasetV2" };
	static const char *const loc2[] = { "__inference__traced_restore_", "__inference_lookup_", "__inference_lookup_" };
	audited(TF2, tf2_risky_functions, ops2, loc2, 3);
	/* the second meta graph's finding says which meta graph it is in */
	char *dir = edited_copy(TF1, second_meta_graph);
	tfshrink_model *m;
	tfshrink_report *r = inspect_dir(dir, &m);
	assert_int_equal(r->n_audit, 1);
	assert_string_equal(r->audit_items[0].op, "WriteFile");
	assert_string_equal(r->audit_items[0].location, "graph");
	assert_int_equal(r->audit_items[0].meta_graph, 1);
	assert_string_equal(r->audit[0], "WriteFile node 'drop' in the graph of meta graph 1");
	tfshrink_report_free(r);
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------------------------ corpus */

static int code_of(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} codes[] = { { "OK", TFSHRINK_OK }, { "ECORRUPT", TFSHRINK_ECORRUPT }, { "ELIMIT", TFSHRINK_ELIMIT },
		      { "ENOTFOUND", TFSHRINK_ENOTFOUND }, { "EUNSUPPORTED", TFSHRINK_EUNSUPPORTED },
		      { "EIO", TFSHRINK_EIO }, { "EINVAL", TFSHRINK_EINVAL }, { "EVERIFY", TFSHRINK_EVERIFY } };
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
		if (!strcmp(codes[i].name, name))
			return codes[i].code;
	fail_msg("unknown code %s in the manifest", name);
	return 1;
}

/* A valid edge case: opens, inspects (audit as expected), shrinks, writes,
 * and the output reopens with every checksum verified. */
static void corpus_ok(const char *dir, const char *name, const char *audit, int full)
{
	tfshrink_open_options oo = TFSHRINK_OPEN_OPTIONS_INIT;
	oo.verify_crc = full;
	tfshrink_model *m = NULL;
	if (tfshrink_model_open(&m, dir, &oo))
		fail_msg("%s: %s (%s)", name, tfshrink_error_last()->message,
		         tfshrink_error_last()->path ? tfshrink_error_last()->path : "-");
	tfshrink_report *r = NULL;
	if (tfshrink_model_inspect(m, &r))
		fail_msg("%s: inspect: %s", name, tfshrink_error_last()->message);
	int found = 0;
	for (size_t i = 0; i < r->n_audit; i++)
		found |= !strcmp(r->audit_items[i].op, audit);
	if (strcmp(audit, "-") ? !found : r->n_audit != 0)
		fail_msg("%s: audit has %zu findings, expected %s", name, r->n_audit, audit);
	if (!full) { /* the 2 GiB tensor: counted whole */
		assert_true(r->n_tensors > 0 && r->tensors[0].bytes > ((uint64_t)1 << 31));
		tfshrink_report_free(r);
		tfshrink_model_free(m);
		return;
	}
	tfshrink_report_free(r);
	tfshrink_shrink_report_free(tu_shrink(m, NULL));
	char *out_name = NULL, *out;
	assert_true(asprintf(&out_name, "%s.out", name) > 0);
	tfshrink_model_free(tu_write_reopen(m, out_name, &out));
	tfshrink_model_free(m);
	tfs_remove_tree(out);
	free(out);
	free(out_name);
}

static void test_corpus(void **state)
{
	(void)state;
	char *corpus = tu_tmp_path("corpus");
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "python3 '%s/tests/bad/make_bad.py' '%s' '%s'", TFS_SOURCE_DIR, TFS_SOURCE_DIR, corpus) > 0);
	int st = system(cmd);
	free(cmd);
	if (st == -1 || (WIFEXITED(st) && WEXITSTATUS(st) == 127)) {
		free(corpus);
		skip(); /* no python3 */
	}
	assert_int_equal(st, 0);
	char *manifest = tfs_path_join(corpus, "manifest.tsv");
	FILE *f = fopen(manifest, "r");
	assert_non_null(f);
	char line[4096];
	unsigned classes = 0;
	size_t cases = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *fld[7];
		char *p = line;
		for (int i = 0; i < 7; i++) {
			fld[i] = p;
			p = p ? strchr(p, '\t') : NULL;
			if (p)
				*p++ = '\0';
			else
				assert_int_equal(i, 6);
		}
		const char *name = fld[0], *expect = fld[2], *file = fld[3], *phrase = fld[4], *audit = fld[5];
		int full = !strcmp(fld[6], "all");
		classes |= 1u << atoi(fld[1]);
		cases++;
		char *dir = tfs_path_join(corpus, name);
		int code = code_of(expect);
		if (code == TFSHRINK_OK) {
			corpus_ok(dir, name, audit, full);
		} else {
			tfshrink_open_options oo = TFSHRINK_OPEN_OPTIONS_INIT;
			oo.verify_crc = 1;
			tfshrink_model *m = (tfshrink_model *)0x1;
			int rc = tfshrink_model_open(&m, dir, &oo);
			const tfshrink_error *e = tfshrink_error_last();
			if (rc != code || !strstr(e->message, phrase))
				fail_msg("%s: expected %s with \"%s\", got %d: %s", name, expect, phrase, rc, e->message);
			assert_null(m);
			char *want = tfs_path_join(dir, file);
			if (!e->path || strcmp(e->path, want))
				fail_msg("%s: error names %s, expected %s", name, e->path ? e->path : "-", want);
			if (strchr(e->message, '\n'))
				fail_msg("%s: message is more than one line", name);
			free(want);
		}
		free(dir);
	}
	fclose(f);
	free(manifest);
	for (unsigned c = 1; c <= 16; c++)
		if (!(classes & (1u << c)))
			fail_msg("class %u has no case in the corpus", c);
	print_message("%zu corpus cases\n", cases);
	assert_true(cases >= 16);
	free(corpus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_const_nodes),
		TU_TMP_TEST(test_tensor_values),
		TU_TMP_TEST(test_op_defs),
		TU_TMP_TEST(test_references),
		TU_TMP_TEST(test_deep_call_chain),
		TU_TMP_TEST(test_init_op),
		TU_TMP_TEST(test_assets),
		TU_TMP_TEST(test_object_graph_and_variables),
		TU_TMP_TEST(test_second_meta_graph_shrinks),
		cmocka_unit_test(test_deep_checkpoint_graph_shrinks),
		cmocka_unit_test(test_audit_fixture),
		cmocka_unit_test(test_audit_clean_models),
		TU_TMP_TEST(test_audit_ops),
		TU_TMP_TEST(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
