/* inspect.c - where a SavedModel's bytes are: a partition of the directory's
 * bytes into parts, variables by role, functions, signatures, and the audit
 * of ops that touch files, the network or run code. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "graph.h"
#include "model_internal.h"
#include "sort.h"

/* Owns every allocation made for one report. */
typedef struct report_impl {
	tfshrink_report pub;
	void **owned;
	size_t n_owned, cap_owned;
	tfshrink_part *files, *parts;
	size_t n_parts, cap_parts;
	tfshrink_tensor_info *tensors;
	size_t n_tensors;
	tfshrink_function_info *functions;
	size_t n_functions, cap_functions;
	tfshrink_signature *sigs;
	size_t n_sigs, cap_sigs;
	const char **audit;
	tfshrink_audit_item *audit_items;
	size_t n_audit, cap_audit, cap_audit_items;
} report_impl;

static void *own(report_impl *r, void *p)
{
	if (!p)
		return NULL;
	if (r->n_owned == r->cap_owned) {
		size_t cap = r->cap_owned ? r->cap_owned * 2 : 64;
		void **v = realloc(r->owned, cap * sizeof *v);
		if (!v) {
			free(p);
			return NULL;
		}
		r->owned = v;
		r->cap_owned = cap;
	}
	r->owned[r->n_owned++] = p;
	return p;
}

static char *own_str(report_impl *r, const char *s)
{
	return own(r, strdup(s ? s : ""));
}

static char *own_fmt(report_impl *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *own_fmt(report_impl *r, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : own(r, s);
}

/* Grows an array kept in the report to hold one more element. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 16;
	void *v = realloc(*arr, c * elem);
	if (!v)
		return tfs_nomem();
	*arr = v;
	*cap = c;
	return 0;
}

static int add_part(report_impl *r, const char *name, uint64_t bytes, uint64_t count)
{
	TFS_TRY(grow((void **)&r->parts, &r->cap_parts, r->n_parts, sizeof *r->parts));
	char *n = own_str(r, name);
	if (!n)
		return tfs_nomem();
	r->parts[r->n_parts++] = (tfshrink_part){ n, bytes, count };
	return 0;
}

const char *tfshrink_var_group_name(int group)
{
	switch (group) {
	case TFSHRINK_VAR_WEIGHTS: return "weights";
	case TFSHRINK_VAR_OPTIMIZER_SLOTS: return "optimizer slots";
	case TFSHRINK_VAR_OPTIMIZER_SCALARS: return "optimizer scalars";
	case TFSHRINK_VAR_METRICS: return "metrics and counters";
	case TFSHRINK_VAR_OBJECT_GRAPH: return "checkpoint object graph";
	case TFSHRINK_VAR_OTHER: return "other";
	default: return "unknown";
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* Role of a checkpoint key, from TF2 object paths and TF1 variable names. */
int tfs_var_group(const char *key, int64_t elements)
{
	static const char *const tf1_slots[] = { "/Adam", "/Adam_1", "/Momentum", "/Adagrad", "/AdagradDA",
		"/RMSProp", "/RMSProp_1", "/Ftrl", "/Ftrl_1", "/Adadelta", "/Adadelta_1", "/Adamax", "/Adamax_1",
		"/Nadam", "/Nadam_1", "/adam_m", "/adam_v", "/LAMB", "/LAMB_1" };
	static const char *const tf1_scalars[] = { "beta1_power", "beta2_power" };
	if (!strcmp(key, TFS_OBJECT_GRAPH_KEY))
		return TFSHRINK_VAR_OBJECT_GRAPH;
	if (strstr(key, "/.OPTIMIZER_SLOT/"))
		return TFSHRINK_VAR_OPTIMIZER_SLOTS;
	if (!strncmp(key, "optimizer/", 10) || strstr(key, "/optimizer/"))
		return elements > 1 ? TFSHRINK_VAR_OPTIMIZER_SLOTS : TFSHRINK_VAR_OPTIMIZER_SCALARS;
	if (!strncmp(key, "save_counter/", 13) || !strcmp(key, "global_step") || strstr(key, "keras_api/metrics/") ||
	    !strncmp(key, "metrics/", 8) || strstr(key, "/metrics/"))
		return TFSHRINK_VAR_METRICS;
	for (size_t i = 0; i < sizeof tf1_slots / sizeof *tf1_slots; i++)
		if (ends_with(key, tf1_slots[i]) || strstr(key, tf1_slots[i]) == key + strlen(key) - strlen(tf1_slots[i]))
			return TFSHRINK_VAR_OPTIMIZER_SLOTS;
	for (size_t i = 0; i < sizeof tf1_scalars / sizeof *tf1_scalars; i++)
		if (!strcmp(key, tf1_scalars[i]) || ends_with(key, tf1_scalars[i]))
			return TFSHRINK_VAR_OPTIMIZER_SCALARS;
	return TFSHRINK_VAR_WEIGHTS;
}

static int cmp_tensor(const void *a, const void *b)
{
	const tfshrink_tensor_info *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int cmp_func(const void *a, const void *b)
{
	const tfshrink_function_info *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Bytes a length-delimited field of `len` content bytes takes (tag + length + content). */
static uint64_t ld_size(uint32_t field, uint64_t len)
{
	uint64_t tag = field < 16 ? 1 : (field < 2048 ? 2 : 3);
	uint64_t v = 1;
	for (uint64_t x = len; x >= 0x80; x >>= 7)
		v++;
	return tag + v + len;
}

static uint64_t msg_size(const void *m)
{
	return m ? protobuf_c_message_get_packed_size((const ProtobufCMessage *)m) : 0;
}

/* ---------------------------------------------------------------- audit */

/* Ops that read or write files named by their inputs or attrs, reach the
 * network, or run Python code. Models from strangers should not need any of
 * them to serve (tf.saved_model's own saver is exempt, see below). */
static const char *const risky_ops[] = {
	/* files */
	"ReadFile", "WriteFile", "MatchingFiles", "ImmutableConst", "FileSystemSetConfiguration",
	"Save", "SaveSlices", "SaveV2", "Restore", "RestoreSlice", "RestoreV2", "MergeV2Checkpoints",
	"LoadAndRemapMatrix", "GenerateVocabRemapping",
	/* readers */
	"WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2", "FixedLengthRecordReader",
	"FixedLengthRecordReaderV2", "TFRecordReader", "TFRecordReaderV2", "LMDBReader", "IdentityReader",
	"IdentityReaderV2",
	/* datasets reading or writing files */
	"TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset", "FixedLengthRecordDataset",
	"FixedLengthRecordDatasetV2", "LMDBDataset", "ExperimentalLMDBDataset", "SqlDataset", "ExperimentalSqlDataset",
	"CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset", "MatchingFilesDataset",
	"ExperimentalMatchingFilesDataset", "LoadDataset", "SaveDataset", "SaveDatasetV2", "DatasetToTFRecord",
	"ExperimentalDatasetToTFRecord", "SnapshotDataset", "SnapshotDatasetV2", "SnapshotDatasetReader",
	"SnapshotChunkDataset", "ListSnapshotChunksDataset", "DistributedSave", "CacheDataset", "CacheDatasetV2",
	/* summaries and debug dumps */
	"CreateSummaryFileWriter", "CreateSummaryDbWriter", "WriteSummary", "WriteRawProtoSummary",
	"WriteScalarSummary", "WriteHistogramSummary", "WriteImageSummary", "WriteAudioSummary", "WriteGraphSummary",
	"ImportEvent", "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary",
	"DebugNumericSummaryV2",
	/* Python code */
	"PyFunc", "PyFuncStateless", "EagerPyFunc",
	/* network */
	"RpcServer", "RpcClient", "RpcCall", "RpcServerStart", "RpcServerRegister", "DataServiceDataset",
	"DataServiceDatasetV2", "DataServiceDatasetV3", "DataServiceDatasetV4",
};

/* The ops of the model's own saver, exempt where that saver lives. */
static const char *const saver_ops[] = { "SaveV2", "RestoreV2", "MergeV2Checkpoints", "Save", "SaveSlices",
	                                     "Restore", "RestoreSlice" };

static int in_list(const char *op, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(op, list[k]))
			return 1;
	return 0;
}

static const char *attr_s(const Tensorflow__NodeDef *n, const char *key, char *buf, size_t len)
{
	const Tensorflow__AttrValue *v = tfs_node_attr(n, key);
	if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_S)
		return "";
	snprintf(buf, len, "%.*s", (int)(v->s.len < len - 1 ? v->s.len : len - 1), (const char *)v->s.data);
	return buf;
}

/* 1 if the node touches files, the network or runs code. */
static int risky(const Tensorflow__NodeDef *n)
{
	char buf[16];
	if (in_list(n->op, risky_ops, sizeof risky_ops / sizeof *risky_ops))
		return 1;
	/* tf.print to a file */
	if (!strcmp(n->op, "PrintV2"))
		return !strncmp(attr_s(n, "output_stream", buf, sizeof buf), "file://", 7);
	/* proto descriptors read from a file (local:// and bytes:// are not) */
	if (!strcmp(n->op, "DecodeProtoV2") || !strcmp(n->op, "EncodeProto")) {
		const char *d = attr_s(n, "descriptor_source", buf, sizeof buf);
		return *d && strcmp(d, "local://") && strncmp(d, "bytes://", 8);
	}
	return 0;
}

/* Where the meta graph's own saver lives: TF1 builds it under a name scope
 * of the graph (saver_def.restore_op_name "save/restore_all": "save/"); TF2
 * traces it into the functions the saver_def's nodes call
 * (__inference__traced_save_N, __inference__traced_restore_N). */
typedef struct saver_home {
	char scope[256];
	const char *fns[2];
} saver_home;

static void find_saver(const Tensorflow__MetaGraphDef *mg, saver_home *h)
{
	memset(h, 0, sizeof *h);
	const Tensorflow__SaverDef *sd = mg->saver_def;
	const Tensorflow__GraphDef *gd = mg->graph_def;
	if (!sd || !gd)
		return;
	const char *names[2] = { sd->restore_op_name, sd->save_tensor_name };
	for (int k = 0; k < 2; k++) {
		size_t len = strcspn(names[k], ":");
		for (size_t i = 0; i < gd->n_node; i++) {
			const Tensorflow__NodeDef *n = gd->node[i];
			if (strlen(n->name) != len || strncmp(n->name, names[k], len))
				continue;
			const char *callee = tfs_node_callee(n);
			if (callee && callee != n->op)
				h->fns[k] = callee;
			break;
		}
	}
	const char *slash = strchr(sd->restore_op_name, '/');
	if (slash && !h->fns[0] && (size_t)(slash - sd->restore_op_name) + 1 < sizeof h->scope)
		snprintf(h->scope, sizeof h->scope, "%.*s", (int)(slash - sd->restore_op_name) + 1, sd->restore_op_name);
}

/* s is prefix followed by one or more digits and then `end` ("" or "/...") */
static int prefix_digits(const char *s, const char *prefix, const char *end)
{
	size_t pl = strlen(prefix);
	if (strncmp(s, prefix, pl))
		return 0;
	s += pl;
	size_t d = strspn(s, "0123456789");
	return d > 0 && (*end ? s[d] == *end : s[d] == '\0');
}

/* TensorFlow's savers: the one saver_def names, and those its naming
 * conventions give away (TF1 scopes save/ and save_N/ of extra
 * tf.train.Savers; traced functions __inference__traced_save_N and
 * __inference__traced_restore_N of TF2 models embedded in TF1 graphs).
 * Only the saver op types are exempt there; anything else is reported. */
static int is_saver(const saver_home *h, const Tensorflow__NodeDef *n, const char *fname)
{
	if (!in_list(n->op, saver_ops, sizeof saver_ops / sizeof *saver_ops))
		return 0;
	if (fname)
		return (h->fns[0] && !strcmp(fname, h->fns[0])) || (h->fns[1] && !strcmp(fname, h->fns[1])) ||
		       prefix_digits(fname, "__inference__traced_save_", "") ||
		       prefix_digits(fname, "__inference__traced_restore_", "");
	return (h->scope[0] && !strncmp(n->name, h->scope, strlen(h->scope))) || !strncmp(n->name, "save/", 5) ||
	       prefix_digits(n->name, "save_", "/");
}

/* fname: the library function holding the nodes, or NULL for the graph. */
static int audit_nodes(report_impl *r, const saver_home *h, Tensorflow__NodeDef **nodes, size_t n, size_t mg,
                       const char *fname)
{
	for (size_t i = 0; i < n; i++) {
		if (!risky(nodes[i]) || is_saver(h, nodes[i], fname))
			continue;
		TFS_TRY(grow((void **)&r->audit, &r->cap_audit, r->n_audit, sizeof *r->audit));
		TFS_TRY(grow((void **)&r->audit_items, &r->cap_audit_items, r->n_audit, sizeof *r->audit_items));
		char mgs[48] = "";
		if (mg > 0)
			snprintf(mgs, sizeof mgs, " of meta graph %zu", mg);
		const char *s = fname ? own_fmt(r, "%s node '%s' in function '%s'%s", nodes[i]->op, nodes[i]->name, fname, mgs)
		                      : own_fmt(r, "%s node '%s' in the graph%s", nodes[i]->op, nodes[i]->name, mgs);
		if (!s)
			return tfs_nomem();
		r->audit_items[r->n_audit] = (tfshrink_audit_item){ nodes[i]->op, nodes[i]->name, fname ? fname : "graph", mg };
		r->audit[r->n_audit++] = s;
	}
	return 0;
}

static int add_spec(report_impl *r, tfshrink_tensor_spec *s, const char *key, const Tensorflow__TensorInfo *ti)
{
	s->key = own_str(r, key);
	s->tensor = ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME ? own_str(r, ti->name)
	            : own_str(r, ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_COO_SPARSE ? "(sparse)" : "(composite)");
	s->dtype = (int)ti->dtype;
	s->ndims = -1;
	s->dims = NULL;
	if (ti->tensor_shape && !ti->tensor_shape->unknown_rank) {
		s->ndims = (int)ti->tensor_shape->n_dim;
		int64_t *d = own(r, calloc(ti->tensor_shape->n_dim + 1, sizeof *d));
		if (!d)
			return tfs_nomem();
		for (size_t i = 0; i < ti->tensor_shape->n_dim; i++)
			d[i] = ti->tensor_shape->dim[i]->size;
		s->dims = d;
	}
	return s->key && s->tensor ? 0 : tfs_nomem();
}

static int do_signatures(report_impl *r, const Tensorflow__MetaGraphDef *mg)
{
	char tags[1024] = "";
	size_t tl = 0;
	const Tensorflow__MetaGraphDef__MetaInfoDef *mi = mg->meta_info_def;
	for (size_t t = 0; mi && t < mi->n_tags; t++)
		tl += (size_t)snprintf(tags + tl, sizeof tags - (tl < sizeof tags ? tl : sizeof tags), "%s%s", t ? "," : "",
		                       mi->tags[t]);
	for (size_t i = 0; i < mg->n_signature_def; i++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[i]->value;
		if (!sd)
			continue;
		TFS_TRY(grow((void **)&r->sigs, &r->cap_sigs, r->n_sigs, sizeof *r->sigs));
		tfshrink_signature *s = &r->sigs[r->n_sigs++];
		memset(s, 0, sizeof *s);
		s->tags = own_str(r, tags);
		s->key = own_str(r, mg->signature_def[i]->key);
		s->method = own_str(r, sd->method_name);
		tfshrink_tensor_spec *in = own(r, calloc(sd->n_inputs + 1, sizeof *in));
		tfshrink_tensor_spec *out = own(r, calloc(sd->n_outputs + 1, sizeof *out));
		if (!s->tags || !s->key || !s->method || !in || !out)
			return tfs_nomem();
		for (size_t k = 0; k < sd->n_inputs; k++)
			if (sd->inputs[k]->value)
				TFS_TRY(add_spec(r, &in[s->n_inputs++], sd->inputs[k]->key, sd->inputs[k]->value));
		for (size_t k = 0; k < sd->n_outputs; k++)
			if (sd->outputs[k]->value)
				TFS_TRY(add_spec(r, &out[s->n_outputs++], sd->outputs[k]->key, sd->outputs[k]->value));
		s->inputs = in;
		s->outputs = out;
	}
	return 0;
}

static uint64_t const_bytes(Tensorflow__NodeDef **nodes, size_t n, uint64_t *count)
{
	uint64_t b = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(nodes[i]->op, "Const"))
			continue;
		for (size_t a = 0; a < nodes[i]->n_attr; a++)
			if (!strcmp(nodes[i]->attr[a]->key, "value")) {
				b += msg_size(nodes[i]->attr[a]->value);
				(*count)++;
			}
	}
	return b;
}

/* Splits saved_model.pb into parts that add up to its size. */
static int do_pb(report_impl *r, tfshrink_model *m)
{
	if (m->pb_is_text)
		return add_part(r, "saved_model.pbtxt (text format)", m->pb_bytes, 1);
	uint64_t nodes = 0, n_nodes = 0, lib = 0, n_funcs = 0, og = 0, n_og = 0, sigs = 0, n_sigs = 0;
	uint64_t ops = 0, n_ops = 0, coll = 0, n_coll = 0, dbg = 0, consts = 0, n_consts = 0;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		const Tensorflow__GraphDef *gd = mg->graph_def;
		if (gd) {
			for (size_t i = 0; i < gd->n_node; i++)
				nodes += ld_size(1, msg_size(gd->node[i]));
			n_nodes += gd->n_node;
			consts += const_bytes(gd->node, gd->n_node, &n_consts);
			if (gd->library) {
				lib += ld_size(2, msg_size(gd->library));
				n_funcs += gd->library->n_function;
				for (size_t f = 0; f < gd->library->n_function; f++) {
					Tensorflow__FunctionDef *fd = gd->library->function[f];
					consts += const_bytes(fd->node_def, fd->n_node_def, &n_consts);
				}
			}
			if (gd->debug_info)
				dbg += ld_size(5, msg_size(gd->debug_info));
		}
		if (mg->object_graph_def) {
			og += ld_size(7, msg_size(mg->object_graph_def));
			n_og += mg->object_graph_def->n_nodes;
		}
		for (size_t i = 0; i < mg->n_signature_def; i++)
			sigs += ld_size(5, msg_size(mg->signature_def[i]));
		n_sigs += mg->n_signature_def;
		if (mg->meta_info_def && mg->meta_info_def->stripped_op_list) {
			ops += ld_size(2, msg_size(mg->meta_info_def->stripped_op_list));
			n_ops += mg->meta_info_def->stripped_op_list->n_op;
		}
		for (size_t i = 0; i < mg->n_collection_def; i++)
			coll += ld_size(4, msg_size(mg->collection_def[i]));
		n_coll += mg->n_collection_def;
	}
	uint64_t named = nodes + lib + og + sigs + ops + coll + dbg;
	uint64_t rest = m->pb_bytes > named ? m->pb_bytes - named : 0;
	if (named > m->pb_bytes) /* re-encoding differs from the file; keep the sum exact */
		nodes -= named - m->pb_bytes < nodes ? named - m->pb_bytes : nodes;
	TFS_TRY(add_part(r, "saved_model.pb: graph nodes", nodes, n_nodes));
	TFS_TRY(add_part(r, "saved_model.pb: function library", lib, n_funcs));
	TFS_TRY(add_part(r, "saved_model.pb: object graph", og, n_og));
	TFS_TRY(add_part(r, "saved_model.pb: signatures", sigs, n_sigs));
	TFS_TRY(add_part(r, "saved_model.pb: op list", ops, n_ops));
	TFS_TRY(add_part(r, "saved_model.pb: collections", coll, n_coll));
	TFS_TRY(add_part(r, "saved_model.pb: debug info", dbg, dbg ? 1 : 0));
	TFS_TRY(add_part(r, "saved_model.pb: other (saver, meta info, framing)", rest, 0));
	r->pub.embedded_const_bytes = consts;
	r->pub.embedded_const_count = n_consts;
	return 0;
}

static int do_functions(report_impl *r, tfshrink_model *m)
{
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__GraphDef *gd = m->sm->meta_graphs[g]->graph_def;
		if (!gd)
			continue;
		saver_home h;
		find_saver(m->sm->meta_graphs[g], &h);
		TFS_TRY(audit_nodes(r, &h, gd->node, gd->n_node, g, NULL));
		for (size_t f = 0; gd->library && f < gd->library->n_function; f++) {
			const Tensorflow__FunctionDef *fd = gd->library->function[f];
			TFS_TRY(grow((void **)&r->functions, &r->cap_functions, r->n_functions, sizeof *r->functions));
			const char *name = own_str(r, fd->signature ? fd->signature->name : "");
			if (!name)
				return tfs_nomem();
			r->functions[r->n_functions++] = (tfshrink_function_info){ name, msg_size(fd), fd->n_node_def };
			TFS_TRY(audit_nodes(r, &h, fd->node_def, fd->n_node_def, g, name));
		}
	}
	tfs_qsort(r->functions, r->n_functions, sizeof *r->functions, cmp_func);
	return 0;
}

typedef struct span { int shard; int64_t off, size; } span;
static int cmp_span(const void *a, const void *b)
{
	const span *x = a, *y = b;
	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return (x->size < y->size) - (x->size > y->size);
}

static int do_variables(report_impl *r, tfshrink_model *m, uint64_t *accounted)
{
	tfs_bundle *b = m->bundle;
	if (!b)
		return 0;
	r->tensors = calloc(b->n + 1, sizeof *r->tensors);
	span *sp = calloc(b->n + 1, sizeof *sp);
	if (!r->tensors || !sp) {
		free(sp);
		return tfs_nomem();
	}
	size_t ns = 0;
	for (size_t i = 0; i < b->n; i++) {
		const Tensorflow__BundleEntryProto *p = b->e[i].proto;
		tfshrink_tensor_info *t = &r->tensors[r->n_tensors++];
		t->key = (const char *)b->e[i].key;
		t->dtype = (int)p->dtype;
		t->ndims = p->shape ? (int)p->shape->n_dim : 0;
		int64_t *d = own(r, calloc((size_t)t->ndims + 1, sizeof *d));
		if (!d) {
			free(sp);
			return tfs_nomem();
		}
		for (int k = 0; k < t->ndims; k++)
			d[k] = p->shape->dim[k]->size;
		t->dims = d;
		t->bytes = p->n_slices ? 0 : (uint64_t)p->size;
		t->shard = p->shard_id;
		t->group = tfs_var_group(t->key, b->e[i].elements);
		if (!p->n_slices)
			sp[ns++] = (span){ p->shard_id, p->offset, p->size };
	}
	/* Bytes shared by several entries count once, for the first key in data order. */
	tfs_qsort(sp, ns, sizeof *sp, cmp_span);
	for (size_t i = 0; i < r->n_tensors; i++) {
		tfshrink_tensor_info *t = &r->tensors[i];
		r->pub.group_count[t->group]++;
	}
	uint64_t covered_total = 0;
	int cur_shard = -1;
	int64_t reach = 0;
	for (size_t i = 0; i < ns; i++) {
		if (sp[i].shard != cur_shard) {
			cur_shard = sp[i].shard;
			reach = 0;
		}
		int64_t s = sp[i].off > reach ? sp[i].off : reach;
		int64_t e = sp[i].off + sp[i].size;
		if (e > s) {
			covered_total += (uint64_t)(e - s);
			reach = e;
		}
	}
	free(sp);
	/* Per-group bytes: each entry's own bytes, minus overlaps (rare) taken from "other". */
	uint64_t sum = 0;
	for (size_t i = 0; i < r->n_tensors; i++) {
		r->pub.group_bytes[r->tensors[i].group] += r->tensors[i].bytes;
		sum += r->tensors[i].bytes;
	}
	uint64_t overlap = sum - covered_total;
	for (int g = TFSHRINK_VAR_GROUP_COUNT - 1; g >= 0 && overlap; g--) {
		uint64_t take = r->pub.group_bytes[g] < overlap ? r->pub.group_bytes[g] : overlap;
		r->pub.group_bytes[g] -= take;
		overlap -= take;
	}
	tfs_qsort(r->tensors, r->n_tensors, sizeof *r->tensors, cmp_tensor);
	uint64_t shard_bytes = 0;
	for (int i = 0; i < b->num_shards; i++)
		shard_bytes += b->shards[i].size;
	static const char *const names[TFSHRINK_VAR_GROUP_COUNT] = {
		"variables: weights", "variables: optimizer slots", "variables: optimizer scalars",
		"variables: metrics and counters", "variables: checkpoint object graph", "variables: other" };
	for (int g = 0; g < TFSHRINK_VAR_GROUP_COUNT; g++)
		TFS_TRY(add_part(r, names[g], r->pub.group_bytes[g], r->pub.group_count[g]));
	TFS_TRY(add_part(r, "variables: unreferenced shard bytes", shard_bytes - covered_total, 0));
	TFS_TRY(add_part(r, "variables: index", b->index_bytes, 1));
	*accounted += shard_bytes + b->index_bytes;
	return 0;
}

static int do_files(report_impl *r, tfshrink_model *m, uint64_t accounted)
{
	static const struct { const char *prefix, *name; } kinds[] = {
		{ "assets/", "assets" }, { "assets.extra/", "assets.extra (serving warm-up and config)" },
		{ "fingerprint.pb", "fingerprint.pb" }, { "keras_metadata.pb", "keras_metadata.pb" },
		{ "debug/", "debug info files" }, { "variables/", "variables: files outside the bundle" } };
	uint64_t kb[sizeof kinds / sizeof *kinds] = { 0 }, kc[sizeof kinds / sizeof *kinds] = { 0 };
	uint64_t other = 0, n_other = 0;
	r->files = calloc(m->n_files + 1, sizeof *r->files);
	if (!r->files)
		return tfs_nomem();
	for (size_t i = 0; i < m->n_files; i++) {
		const char *rel = m->files[i].rel;
		r->files[i] = (tfshrink_part){ rel, m->files[i].size, 1 };
		r->pub.total_bytes += m->files[i].size;
		if (tfs_model_is_core_file(m, rel))
			continue;
		size_t k;
		for (k = 0; k < sizeof kinds / sizeof *kinds; k++)
			if (!strncmp(rel, kinds[k].prefix, strlen(kinds[k].prefix)))
				break;
		if (k < sizeof kinds / sizeof *kinds) {
			kb[k] += m->files[i].size;
			kc[k]++;
		} else {
			other += m->files[i].size;
			n_other++;
		}
	}
	(void)accounted;
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
		if (kc[k])
			TFS_TRY(add_part(r, kinds[k].name, kb[k], kc[k]));
	if (n_other)
		TFS_TRY(add_part(r, "other files", other, n_other));
	return 0;
}

int tfshrink_model_inspect(tfshrink_model *m, tfshrink_report **out)
{
	tfs_err_clear();
	if (!m || !out)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "tfshrink_model_inspect: NULL argument");
	report_impl *r = calloc(1, sizeof *r);
	if (!r)
		return tfs_nomem();
	int rc;
	uint64_t accounted = 0;
	const Tensorflow__MetaGraphDef *mg0 = m->sm->meta_graphs[0];
	r->pub.layout = mg0->object_graph_def ? "TF2" : "TF1";
	r->pub.tf_version = mg0->meta_info_def ? mg0->meta_info_def->tensorflow_version : "";
	r->pub.n_meta_graphs = m->sm->n_meta_graphs;
	if ((rc = do_pb(r, m)) < 0 || (rc = do_variables(r, m, &accounted)) < 0 || (rc = do_files(r, m, accounted)) < 0 ||
	    (rc = do_functions(r, m)) < 0)
		goto fail;
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++)
		if ((rc = do_signatures(r, m->sm->meta_graphs[g])) < 0)
			goto fail;
	r->pub.n_files = m->n_files;
	r->pub.files = r->files;
	r->pub.n_parts = r->n_parts;
	r->pub.parts = r->parts;
	r->pub.n_tensors = r->n_tensors;
	r->pub.tensors = r->tensors;
	r->pub.n_functions = r->n_functions;
	r->pub.functions = r->functions;
	r->pub.n_signatures = r->n_sigs;
	r->pub.signatures = r->sigs;
	r->pub.n_audit = r->n_audit;
	r->pub.audit = (const char *const *)r->audit;
	r->pub.audit_items = r->audit_items;
	*out = &r->pub;
	return 0;
fail:
	tfshrink_report_free(&r->pub);
	return rc;
}

void tfshrink_report_free(tfshrink_report *report)
{
	if (!report)
		return;
	report_impl *r = (report_impl *)report;
	for (size_t i = 0; i < r->n_owned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->files);
	free(r->parts);
	free(r->tensors);
	free(r->functions);
	free(r->sigs);
	free(r->audit);
	free(r->audit_items);
	free(r);
}
