/*
 * fingerprint.c - fingerprint.pb (FingerprintDef) for a model being written,
 * computed as TensorFlow's saved_model fingerprinting computes it for a
 * binary saved_model.pb (producer 4, the value TF 2.21 writes):
 *
 *   1 saved_model_checksum    Fingerprint64 of the whole SavedModel's bytes
 *   2 graph_def_program_hash  Fingerprint64 of the first meta graph's GraphDef
 *                             after regularization (below)
 *   3 signature_def_hash      over signatures in key order: Cat(key hash),
 *                             Cat(hash of the SignatureDef bytes)
 *   4 saved_object_graph_hash over concrete functions in order of the integer
 *                             after their last '_': Cat(hash of the name
 *                             without that integer), Cat(hash of its bytes);
 *                             the object nodes are not hashed
 *   5 checkpoint_hash         Fingerprint64 of variables.index, 0 without one
 *   6 version.producer        4
 *   7 uuid                    random 128-bit number in decimal
 *
 * "Bytes" means protobuf's deterministic serialization as TensorFlow's C++
 * code produces it: fields by number, the entries of every map (at any depth)
 * sorted by key, strings compared as unsigned bytes. TensorFlow hashes its
 * re-serialization of the saved_model.pb it reads back, so the checksum too
 * is taken over that canonical form. It is not always the file: Python's upb
 * serializer (what tf.saved_model.save uses) puts a string key after the keys
 * it is a prefix of ("Op_10" before "Op"). When the model is canonical
 * already, the written bytes are hashed as they are. All of this works on
 * copy-on-write shallow copies that share every unchanged subtree, so the
 * model is not modified and no large tree is duplicated.
 *
 * Regularization of the GraphDef (TF's SimpleDelete): for every top-level
 * PartitionedCall / StatefulPartitionedCall, attr f's function name loses
 * the integer after its last '_' (if it has one) and attr config_proto
 * becomes an empty string; every Const whose dtype is DT_STRING gets an
 * empty `value` attr; library and versions become present but empty.
 *
 * Not reproduced: which of several concrete functions with the same uid, or
 * of repeated keys in one map, TensorFlow keeps (that follows its hash maps'
 * iteration order; here the first in file order, resp. the last). Files
 * TensorFlow writes have neither.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dtype.h"
#include "error.h"
#include "farmhash.h"
#include "model_internal.h"
#include "pbio.h"
#include "sort.h"

#define FP_PRODUCER 4

/* Every block allocated for the shallow copies, freed together. */
typedef struct pool {
	void **v;
	size_t n, cap;
} pool;

static void *pool_alloc(pool *p, size_t size)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		void **nv = realloc(p->v, cap * sizeof *nv);
		if (!nv)
			return NULL;
		p->v = nv;
		p->cap = cap;
	}
	void *b = calloc(1, size ? size : 1);
	if (b)
		p->v[p->n++] = b;
	return b;
}

static void pool_free(pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* Fingerprint64 of a message's packed bytes (of nothing when m is NULL,
 * which is how protobuf serializes an absent map value). */
static int hash_message(const ProtobufCMessage *m, uint64_t *out)
{
	if (!m) {
		*out = tfs_fingerprint64(NULL, 0);
		return 0;
	}
	uint8_t *b;
	size_t n;
	TFS_TRY(tfs_pb_pack(m, &b, &n));
	*out = tfs_fingerprint64(b, n);
	free(b);
	return 0;
}

/* -------------------------------------------- canonical (sorted) maps */

/* protoc-c turns `map<K, V> f` into a repeated FEntry message {key = 1;
 * value = 2}; the project's proto spells two uint32-keyed maps out the same
 * way (with the key in a one-member oneof). */
static int is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->short_name);
	return d->n_fields == 2 && d->fields[0].id == 1 && d->fields[1].id == 2 && !strcmp(d->fields[0].name, "key") &&
	       !strcmp(d->fields[1].name, "value") && n > 5 && !strcmp(d->short_name + n - 5, "Entry");
}

/* Orders map entries by key: strings as unsigned bytes, integers by value
 * (an unset oneof key reads as 0). */
static int cmp_key(const void *pa, const void *pb)
{
	const ProtobufCMessage *a = *(const ProtobufCMessage *const *)pa, *b = *(const ProtobufCMessage *const *)pb;
	const ProtobufCFieldDescriptor *f = &a->descriptor->fields[0];
	const char *x = (const char *)a + f->offset, *y = (const char *)b + f->offset;
	int xset = 1, yset = 1;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		xset = *(const uint32_t *)((const char *)a + f->quantifier_offset) == f->id;
		yset = *(const uint32_t *)((const char *)b + f->quantifier_offset) == f->id;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = xset ? *(char *const *)x : NULL, *t = yset ? *(char *const *)y : NULL;
		return strcmp(s ? s : "", t ? t : "");
	}
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_BOOL: {
		int32_t s = xset ? *(const int32_t *)x : 0, t = yset ? *(const int32_t *)y : 0;
		return (s > t) - (s < t);
	}
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: {
		uint32_t s = xset ? *(const uint32_t *)x : 0, t = yset ? *(const uint32_t *)y : 0;
		return (s > t) - (s < t);
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t s = xset ? *(const int64_t *)x : 0, t = yset ? *(const int64_t *)y : 0;
		return (s > t) - (s < t);
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t s = xset ? *(const uint64_t *)x : 0, t = yset ? *(const uint64_t *)y : 0;
		return (s > t) - (s < t);
	}
	default:
		return 0;
	}
}

/* m with every map below it in key order: m itself when that holds already,
 * else a shallow copy (in p) whose changed fields point to canonical copies.
 * The model was parsed under TFS_MAX_PB_DEPTH, which bounds the recursion. */
static int canon(pool *p, const ProtobufCMessage *m, const ProtobufCMessage **out)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	char *copy = NULL;
	*out = m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		void *repl = NULL; /* the field's new value, if it changes */
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);
			const ProtobufCMessage **nv = NULL;
			for (size_t k = 0; k < n; k++) {
				const ProtobufCMessage *c = NULL;
				if (v[k])
					TFS_TRY(canon(p, v[k], &c));
				if (c != v[k] && !nv) {
					if (!(nv = pool_alloc(p, n * sizeof *nv)))
						return tfs_nomem();
					memcpy(nv, v, n * sizeof *nv);
				}
				if (nv)
					nv[k] = c;
			}
			if (n > 1 && is_map_entry(f->descriptor)) {
				const void *cur = nv ? (const void *)nv : (const void *)v;
				size_t k = 1;
				while (k < n && cmp_key((const ProtobufCMessage *const *)cur + k - 1,
				                        (const ProtobufCMessage *const *)cur + k) <= 0)
					k++;
				if (k < n) {
					if (!nv) {
						if (!(nv = pool_alloc(p, n * sizeof *nv)))
							return tfs_nomem();
						memcpy(nv, v, n * sizeof *nv);
					}
					tfs_qsort(nv, n, sizeof *nv, cmp_key);
				}
			}
			repl = nv;
		} else {
			if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
			const ProtobufCMessage *c0 = *(ProtobufCMessage *const *)(base + f->offset), *c;
			if (!c0)
				continue;
			TFS_TRY(canon(p, c0, &c));
			if (c != c0)
				repl = (void *)c;
		}
		if (!repl)
			continue;
		if (!copy) {
			if (!(copy = pool_alloc(p, d->sizeof_message)))
				return tfs_nomem();
			memcpy(copy, m, d->sizeof_message);
		}
		memcpy(copy + f->offset, &repl, sizeof repl);
	}
	if (copy)
		*out = (const ProtobufCMessage *)copy;
	return 0;
}

/* ------------------------------------------------------- function names */

/* TensorFlow's GetSuffixUID: the text after the last '_' (the whole name if
 * there is none) read as a base-10 int64 with absl::SimpleAtoi's rules (ASCII
 * whitespace around it and one sign allowed, no overflow). */
static int suffix_uid(const char *name, int64_t *uid)
{
	const char *s = strrchr(name, '_');
	s = s ? s + 1 : name;
	const char *e = s + strlen(s);
	static const char ws[] = " \t\n\v\f\r";
	while (s < e && strchr(ws, *s))
		s++;
	while (e > s && strchr(ws, e[-1]))
		e--;
	int neg = 0;
	if (s < e && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (s >= e)
		return 0;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		unsigned d = (unsigned)(*s - '0');
		if (v > (lim - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*uid = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 1;
}

/* Length of name without the decimal form of uid at its end (std::to_string
 * then absl::StripSuffix: unchanged when the name does not end with it, as
 * with leading zeros or a '+'). */
static size_t strip_uid(const char *name, int64_t uid)
{
	char d[24];
	snprintf(d, sizeof d, "%lld", (long long)uid);
	size_t n = strlen(name), k = strlen(d);
	return (k <= n && !memcmp(name + n - k, d, k)) ? n - k : n;
}

/* -------------------------------------------------- graph_def_program_hash */

static Tensorflow__NodeDef__AttrEntry *attr_edit(pool *p, const Tensorflow__NodeDef__AttrEntry *e)
{
	Tensorflow__NodeDef__AttrEntry *c = pool_alloc(p, sizeof *c);
	Tensorflow__AttrValue *v = pool_alloc(p, sizeof *v);
	if (!c || !v)
		return NULL;
	*c = *e;
	if (e->value) {
		*v = *e->value;
	} else {
		Tensorflow__AttrValue init = TENSORFLOW__ATTR_VALUE__INIT;
		*v = init;
	}
	c->value = v;
	return c;
}

static const Tensorflow__AttrValue *find_attr(const Tensorflow__NodeDef *n, const char *key)
{
	const Tensorflow__AttrValue *v = NULL;
	for (size_t i = 0; i < n->n_attr; i++)
		if (n->attr[i]->key && !strcmp(n->attr[i]->key, key))
			v = n->attr[i]->value; /* the last one, as a parsed map keeps */
	return v;
}

/* The node as regularized for hashing: n itself when nothing changes; NULL
 * on ENOMEM. Its attrs are in key order already (canon). */
static const Tensorflow__NodeDef *regularize_node(pool *p, const Tensorflow__NodeDef *n)
{
	const char *op = n->op ? n->op : "";
	int call = !strcmp(op, "PartitionedCall") || !strcmp(op, "StatefulPartitionedCall");
	int str_const = 0;
	if (!strcmp(op, "Const")) {
		const Tensorflow__AttrValue *dt = find_attr(n, "dtype");
		str_const = dt && dt->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE && (int)dt->type == TFS_DT_STRING;
	}
	if (!call && !str_const)
		return n;

	Tensorflow__NodeDef *c = pool_alloc(p, sizeof *c);
	Tensorflow__NodeDef__AttrEntry **a = pool_alloc(p, n->n_attr * sizeof *a);
	if (!c || !a)
		return NULL;
	*c = *n;
	memcpy(a, n->attr, n->n_attr * sizeof *a);
	c->attr = a;
	for (size_t i = 0; i < c->n_attr; i++) {
		const char *key = a[i]->key ? a[i]->key : "";
		const Tensorflow__AttrValue *v = a[i]->value;
		if (call && !strcmp(key, "f")) {
			/* a non-function value reads as the empty name, which has no uid */
			const char *fn = (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && v->func && v->func->name)
			                         ? v->func->name : "";
			int64_t uid;
			if (!suffix_uid(fn, &uid))
				continue;
			size_t keep = strip_uid(fn, uid);
			if (keep == strlen(fn))
				continue;
			Tensorflow__NodeDef__AttrEntry *e = attr_edit(p, a[i]);
			Tensorflow__NameAttrList *f = pool_alloc(p, sizeof *f);
			char *name = pool_alloc(p, keep + 1);
			if (!e || !f || !name)
				return NULL;
			*f = *v->func;
			memcpy(name, fn, keep);
			f->name = name;
			e->value->func = f;
			a[i] = e;
		} else if (call && !strcmp(key, "config_proto")) {
			Tensorflow__NodeDef__AttrEntry *e = attr_edit(p, a[i]);
			if (!e)
				return NULL;
			/* present, holding the empty string */
			e->value->value_case = TENSORFLOW__ATTR_VALUE__VALUE_S;
			e->value->s.len = 0;
			e->value->s.data = NULL;
			a[i] = e;
		} else if (str_const && !strcmp(key, "value")) {
			Tensorflow__NodeDef__AttrEntry *e = attr_edit(p, a[i]);
			if (!e)
				return NULL;
			e->value->value_case = TENSORFLOW__ATTR_VALUE__VALUE__NOT_SET;
			a[i] = e;
		}
	}
	return c;
}

static int hash_graph(pool *p, const Tensorflow__GraphDef *g, uint64_t *out)
{
	Tensorflow__GraphDef c = TENSORFLOW__GRAPH_DEF__INIT;
	Tensorflow__FunctionDefLibrary lib = TENSORFLOW__FUNCTION_DEF_LIBRARY__INIT;
	Tensorflow__VersionDef ver = TENSORFLOW__VERSION_DEF__INIT;
	if (g)
		c = *g;
	c.library = &lib;
	c.versions = &ver;
	if (c.n_node) {
		if (!(c.node = pool_alloc(p, c.n_node * sizeof *c.node)))
			return tfs_nomem();
		for (size_t i = 0; i < c.n_node; i++)
			if (!(c.node[i] = (Tensorflow__NodeDef *)regularize_node(p, g->node[i])))
				return tfs_nomem();
	}
	return hash_message(&c.base, out);
}

/* ------------------------------------------------------ signature_def_hash */

/* Signatures in key order (canon sorted them). */
static int hash_signatures(const Tensorflow__MetaGraphDef *mg, uint64_t *out)
{
	uint64_t h = 0;
	for (size_t i = 0; i < mg->n_signature_def; i++) {
		const Tensorflow__MetaGraphDef__SignatureDefEntry *e = mg->signature_def[i];
		const char *key = e->key ? e->key : "";
		/* a repeated key: the parsed map holds one entry (the last) */
		const Tensorflow__MetaGraphDef__SignatureDefEntry *next =
		        i + 1 < mg->n_signature_def ? mg->signature_def[i + 1] : NULL;
		if (next && !strcmp(key, next->key ? next->key : ""))
			continue;
		h = tfs_fingerprint_cat64(h, tfs_fingerprint64(key, strlen(key)));
		uint64_t sh = 0;
		TFS_TRY(hash_message(e->value ? &e->value->base : NULL, &sh));
		h = tfs_fingerprint_cat64(h, sh);
	}
	*out = h;
	return 0;
}

/* ------------------------------------------------- saved_object_graph_hash */

typedef struct uid_fn {
	int64_t uid;
	size_t order;
	const Tensorflow__SavedObjectGraph__ConcreteFunctionsEntry *e;
} uid_fn;

static int cmp_uid(const void *a, const void *b)
{
	const uid_fn *x = a, *y = b;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

static int hash_object_graph(const Tensorflow__SavedObjectGraph *og, uint64_t *out)
{
	*out = 0;
	if (!og || !og->n_concrete_functions)
		return 0;
	size_t n = og->n_concrete_functions;
	uid_fn *v = malloc(n * sizeof *v);
	if (!v)
		return tfs_nomem();
	for (size_t i = 0; i < n; i++) {
		const char *name = og->concrete_functions[i]->key ? og->concrete_functions[i]->key : "";
		if (!suffix_uid(name, &v[i].uid)) {
			free(v);
			/* TensorFlow refuses to fingerprint (and to save) such a model */
			return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1,
			               "concrete function '%s' does not end in an integer", name);
		}
		v[i].order = i;
		v[i].e = og->concrete_functions[i];
	}
	tfs_qsort(v, n, sizeof *v, cmp_uid);
	uint64_t h = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* one function per uid, as TF's uid-keyed map keeps the first */
		if (i > 0 && v[i].uid == v[i - 1].uid)
			continue;
		const char *name = v[i].e->key ? v[i].e->key : "";
		h = tfs_fingerprint_cat64(h, tfs_fingerprint64(name, strip_uid(name, v[i].uid)));
		uint64_t fh = 0;
		rc = hash_message(v[i].e->value ? &v[i].e->value->base : NULL, &fh);
		h = tfs_fingerprint_cat64(h, fh);
	}
	free(v);
	*out = h;
	return rc;
}

/* ------------------------------------------------------------------ uuid */

/* TensorFlow's uuid is two random 64-bit words as one 128-bit decimal number,
 * zero-padded to 20 digits. Only 39-digit values are drawn here (70% of
 * TF's), so the file's size does not depend on chance and a dry run can
 * forecast it exactly. */
static int make_uuid(char out[40])
{
	__extension__ typedef unsigned __int128 u128;
	const u128 min39 = (u128)0x4b3b4ca85a86c47aULL << 64 | 0x098a224000000000ULL; /* 10^38 */
	u128 v;
	do {
		uint8_t r[16];
		size_t got = 0;
		while (got < sizeof r) {
			ssize_t k = getrandom(r + got, sizeof r - got, 0);
			if (k < 0)
				return tfs_err_errno("getrandom", "random uuid");
			got += (size_t)k;
		}
		memcpy(&v, r, sizeof v);
	} while (v < min39);
	for (int i = 38; i >= 0; i--) {
		out[i] = (char)('0' + (int)(v % 10));
		v /= 10;
	}
	out[39] = '\0';
	return 0;
}

/* --------------------------------------------------------------- the def */

int tfs_fingerprint_compute(const tfshrink_model *m, const uint8_t *pb, size_t pb_len, const uint8_t *index,
                            size_t index_len, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (!m->sm || !m->sm->n_meta_graphs)
		return tfs_err(TFSHRINK_EUNSUPPORTED, NULL, -1, "no meta graph to fingerprint");
	Tensorflow__FingerprintDef fp = TENSORFLOW__FINGERPRINT_DEF__INIT;
	Tensorflow__VersionDef ver = TENSORFLOW__VERSION_DEF__INIT;
	char uuid[40];
	pool p = { 0 };
	const ProtobufCMessage *cm;
	int rc = canon(&p, &m->sm->base, &cm);
	if (rc == 0 && cm == &m->sm->base) {
		fp.saved_model_checksum = tfs_fingerprint64(pb, pb_len);
	} else if (rc == 0) {
		rc = hash_message(cm, &fp.saved_model_checksum);
	}
	if (rc == 0) {
		const Tensorflow__MetaGraphDef *mg = ((const Tensorflow__SavedModel *)cm)->meta_graphs[0];
		if ((rc = hash_graph(&p, mg->graph_def, &fp.graph_def_program_hash)) == 0 &&
		    (rc = hash_signatures(mg, &fp.signature_def_hash)) == 0)
			rc = hash_object_graph(mg->object_graph_def, &fp.saved_object_graph_hash);
	}
	pool_free(&p);
	TFS_TRY(rc);
	fp.checkpoint_hash = index ? tfs_fingerprint64(index, index_len) : 0;
	ver.producer = FP_PRODUCER;
	fp.version = &ver;
	TFS_TRY(make_uuid(uuid));
	fp.uuid = uuid;
	return tfs_pb_pack(&fp.base, out, out_len);
}
