/* pass_dedupe.c - stores identical things once.
 *
 * (a) Bundle tensors with the same dtype, size and stored bytes: the later
 *     entries point at the first one's shard and offset (TensorFlow's reader
 *     uses each entry's own offset and size, so entries may overlap). Bytes
 *     are compared through the read-only maps, CRC first.
 * (b) Identical large Const nodes (value >= 1 KiB) in one graph or one
 *     function body: the first is kept, consumers of the others read it, and
 *     the others go. Only Consts without inputs (no control dependencies,
 *     which would put them in a loop frame or branch), with the same device
 *     and the same attrs (_output_shapes aside) are merged, and never a node
 *     something names from outside: SavedConstant.operation, captured
 *     tensors, signature, asset and saver tensors, collections, colocation
 *     (_class) attrs and function control outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "dtype.h"
#include "error.h"
#include "graph.h"
#include "pass.h"
#include "sort.h"

#define MIN_CONST_BYTES 1024
#define CMP_CHUNK ((uint64_t)8 << 20)

/* ------------------------------------------------------ (a) bundle tensors */

typedef struct cand {
	size_t idx;
	int dtype;
	uint64_t size;
	uint32_t crc;
	int shard;
	uint64_t off;
} cand;

static int cmp_cand(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	if (x->dtype != y->dtype)
		return x->dtype < y->dtype ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->crc != y->crc)
		return x->crc < y->crc ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Compares two entries' stored bytes chunk by chunk, releasing the pages. */
static int same_stored(const tfs_bundle *b, const cand *x, const cand *y)
{
	if (x->shard == y->shard && x->off == y->off)
		return 1;
	const tfs_map *mx = &b->shards[x->shard], *my = &b->shards[y->shard];
	for (uint64_t done = 0; done < x->size;) {
		uint64_t k = x->size - done < CMP_CHUNK ? x->size - done : CMP_CHUNK;
		int same = !memcmp(mx->data + x->off + done, my->data + y->off + done, (size_t)k);
		tfs_map_release(mx, x->off + done, k);
		tfs_map_release(my, y->off + done, k);
		if (!same)
			return 0;
		done += k;
	}
	return 1;
}

static int dedupe_tensors(tfshrink_model *m, uint64_t *shared, uint64_t *shared_bytes)
{
	tfs_bundle *b = m->bundle;
	if (!b || b->n < 2)
		return 0;
	cand *v = malloc(b->n * sizeof *v);
	size_t *reps = malloc(b->n * sizeof *reps);
	if (!v || !reps) {
		free(v);
		free(reps);
		return tfs_nomem();
	}
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++) {
		const Tensorflow__BundleEntryProto *p = b->e[i].proto;
		const tfs_entry_edit *ed = m->edits ? &m->edits[i] : NULL;
		if (tfs_model_entry_removed(m, i) || (ed && (ed->data || ed->entry || ed->share_with)))
			continue;
		if (p->n_slices || p->size <= 0 || (int)p->dtype == TFS_DT_VARIANT || (int)p->dtype == TFS_DT_RESOURCE)
			continue;
		if (b->e[i].key_len == strlen(TFS_OBJECT_GRAPH_KEY) && !memcmp(b->e[i].key, TFS_OBJECT_GRAPH_KEY, b->e[i].key_len))
			continue; /* re-encoded by the writer when the object graph changes */
		cand c = { i, (int)p->dtype, (uint64_t)p->size, p->crc32c, p->shard_id, (uint64_t)p->offset };
		v[n++] = c;
	}
	tfs_qsort(v, n, sizeof *v, cmp_cand);
	int rc = 0;
	for (size_t lo = 0; lo < n && rc == 0;) {
		size_t hi = lo + 1;
		while (hi < n && v[hi].dtype == v[lo].dtype && v[hi].size == v[lo].size && v[hi].crc == v[lo].crc)
			hi++;
		/* Distinct byte contents seen in this run, each stored by its first entry. */
		size_t n_reps = 0;
		for (size_t k = lo; k < hi && rc == 0; k++) {
			size_t r = 0;
			while (r < n_reps && !same_stored(b, &v[reps[r]], &v[k]))
				r++;
			if (r == n_reps) {
				reps[n_reps++] = k;
				continue;
			}
			const cand *t = &v[reps[r]];
			if (t->shard == v[k].shard && t->off == v[k].off)
				continue; /* already stored once in the input */
			rc = tfs_model_share_entry(m, v[k].idx, t->idx);
			(*shared)++;
			*shared_bytes += v[k].size;
		}
		lo = hi;
	}
	free(v);
	free(reps);
	return rc;
}

/* ----------------------------------------------------- (b) Const nodes */

/* Names something outside the node list refers to, as plain node names. */
typedef struct names {
	char **v;
	size_t n, cap;
	/* serialized collection payloads, searched for names as substrings */
	const ProtobufCBinaryData **blobs;
	size_t n_blobs, cap_blobs;
} names;

static int names_add(names *s, const char *ref, size_t len)
{
	if (len && ref[0] == '^') {
		ref++;
		len--;
	}
	size_t l = 0;
	while (l < len && ref[l] != ':')
		l++;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **nv = realloc(s->v, cap * sizeof *nv);
		if (!nv)
			return tfs_nomem();
		s->v = nv;
		s->cap = cap;
	}
	char *c = strndup(ref, l);
	if (!c)
		return tfs_nomem();
	s->v[s->n++] = c;
	return 0;
}

static int names_add_str(names *s, const char *ref)
{
	return ref && *ref ? names_add(s, ref, strlen(ref)) : 0;
}

static int names_add_blob(names *s, const ProtobufCBinaryData *d)
{
	if (s->n_blobs == s->cap_blobs) {
		size_t cap = s->cap_blobs ? 2 * s->cap_blobs : 16;
		const ProtobufCBinaryData **nv = realloc(s->blobs, cap * sizeof *nv);
		if (!nv)
			return tfs_nomem();
		s->blobs = nv;
		s->cap_blobs = cap;
	}
	s->blobs[s->n_blobs++] = d;
	return 0;
}

static void names_free(names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->blobs);
	memset(s, 0, sizeof *s);
}

static int cmp_pstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort(names *s)
{
	if (s->n)
		tfs_qsort(s->v, s->n, sizeof *s->v, cmp_pstr);
}

static int names_has(const names *s, const char *name)
{
	if (tfs_bsearch(&name, s->v, s->n, sizeof *s->v, cmp_pstr))
		return 1;
	size_t l = strlen(name);
	for (size_t i = 0; i < s->n_blobs; i++)
		if (s->blobs[i]->len >= l && memmem(s->blobs[i]->data, s->blobs[i]->len, name, l))
			return 1;
	return 0;
}

static int add_tensor_info(names *s, const Tensorflow__TensorInfo *t)
{
	if (!t)
		return 0;
	switch (t->encoding_case) {
	case TENSORFLOW__TENSOR_INFO__ENCODING_NAME: return names_add_str(s, t->name);
	case TENSORFLOW__TENSOR_INFO__ENCODING_COO_SPARSE:
		TFS_TRY(names_add_str(s, t->coo_sparse->values_tensor_name));
		TFS_TRY(names_add_str(s, t->coo_sparse->indices_tensor_name));
		return names_add_str(s, t->coo_sparse->dense_shape_tensor_name);
	case TENSORFLOW__TENSOR_INFO__ENCODING_COMPOSITE_TENSOR:
		for (size_t i = 0; i < t->composite_tensor->n_components; i++)
			TFS_TRY(add_tensor_info(s, t->composite_tensor->components[i]));
		return 0;
	default: return 0;
	}
}

/* Colocation constraints ("loc:@name") of the nodes in a list. */
static int add_colocations(names *s, Tensorflow__NodeDef **nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__AttrValue *c = tfs_node_attr(nodes[i], "_class");
		if (!c || c->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST || !c->list)
			continue;
		for (size_t k = 0; k < c->list->n_s; k++) {
			const ProtobufCBinaryData *e = &c->list->s[k];
			if (e->len > 5 && !memcmp(e->data, "loc:@", 5))
				TFS_TRY(names_add(s, (const char *)e->data + 5, e->len - 5));
		}
	}
	return 0;
}

/* Everything outside the top-level graph that names its nodes. */
static int top_level_names(const Tensorflow__MetaGraphDef *mg, names *s)
{
	const Tensorflow__SavedObjectGraph *og = mg->object_graph_def;
	for (size_t i = 0; og && i < og->n_nodes; i++) {
		const Tensorflow__SavedObject *o = og->nodes[i];
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_CONSTANT && o->constant)
			TFS_TRY(names_add_str(s, o->constant->operation));
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_CAPTURED_TENSOR && o->captured_tensor)
			TFS_TRY(names_add_str(s, o->captured_tensor->name));
	}
	for (size_t i = 0; i < mg->n_signature_def; i++) {
		const Tensorflow__SignatureDef *sd = mg->signature_def[i]->value;
		for (size_t k = 0; sd && k < sd->n_inputs; k++)
			TFS_TRY(add_tensor_info(s, sd->inputs[k]->value));
		for (size_t k = 0; sd && k < sd->n_outputs; k++)
			TFS_TRY(add_tensor_info(s, sd->outputs[k]->value));
	}
	for (size_t i = 0; i < mg->n_asset_file_def; i++)
		TFS_TRY(add_tensor_info(s, mg->asset_file_def[i]->tensor_info));
	if (mg->saver_def) {
		TFS_TRY(names_add_str(s, mg->saver_def->filename_tensor_name));
		TFS_TRY(names_add_str(s, mg->saver_def->save_tensor_name));
		TFS_TRY(names_add_str(s, mg->saver_def->restore_op_name));
	}
	for (size_t i = 0; i < mg->n_collection_def; i++) {
		const Tensorflow__CollectionDef *c = mg->collection_def[i]->value;
		if (!c)
			continue;
		if (c->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST)
			for (size_t k = 0; k < c->node_list->n_value; k++)
				TFS_TRY(names_add_str(s, c->node_list->value[k]));
		else if (c->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST)
			for (size_t k = 0; k < c->bytes_list->n_value; k++)
				TFS_TRY(names_add_blob(s, &c->bytes_list->value[k]));
		else if (c->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST)
			for (size_t k = 0; k < c->any_list->n_value; k++)
				TFS_TRY(names_add_blob(s, &c->any_list->value[k]->value));
	}
	if (mg->graph_def)
		TFS_TRY(add_colocations(s, mg->graph_def->node, mg->graph_def->n_node));
	return 0;
}

typedef struct kconst {
	size_t pos;          /* index in the node list */
	size_t size;         /* packed size of the value tensor */
	uint32_t hash;
	uint8_t *packed;     /* packed value, for the runs that need comparing */
} kconst;

static int cmp_kconst(const void *a, const void *b)
{
	const kconst *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

static const Tensorflow__TensorProto *const_value(const Tensorflow__NodeDef *n)
{
	const Tensorflow__AttrValue *v = tfs_node_attr(n, "value");
	return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TENSOR ? v->tensor : NULL;
}

static int packed_eq(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = a ? protobuf_c_message_get_packed_size(a) : 0, nb = b ? protobuf_c_message_get_packed_size(b) : 0;
	if (na != nb)
		return 0;
	if (!na)
		return 1;
	uint8_t *x = malloc(na), *y = malloc(nb);
	int r = (x && y) ? 1 : tfs_nomem();
	if (r == 1) {
		protobuf_c_message_pack(a, x);
		protobuf_c_message_pack(b, y);
		r = !memcmp(x, y, na);
	}
	free(x);
	free(y);
	return r;
}

/* Same device, same attrs (value compared by the caller, _output_shapes aside). */
static int same_node_shape(const Tensorflow__NodeDef *a, const Tensorflow__NodeDef *b)
{
	if (strcmp(a->device ? a->device : "", b->device ? b->device : ""))
		return 0;
	size_t na = 0, nb = 0;
	for (size_t i = 0; i < a->n_attr; i++)
		na += strcmp(a->attr[i]->key, "_output_shapes") != 0;
	for (size_t i = 0; i < b->n_attr; i++)
		nb += strcmp(b->attr[i]->key, "_output_shapes") != 0;
	if (na != nb)
		return 0;
	for (size_t i = 0; i < a->n_attr; i++) {
		const char *key = a->attr[i]->key;
		if (!strcmp(key, "_output_shapes") || !strcmp(key, "value"))
			continue;
		const Tensorflow__AttrValue *o = tfs_node_attr(b, key);
		if (!o)
			return 0;
		int r = packed_eq(&a->attr[i]->value->base, &o->base);
		if (r <= 0)
			return r;
	}
	if (!a->experimental_type != !b->experimental_type)
		return 0;
	return a->experimental_type ? packed_eq(&a->experimental_type->base, &b->experimental_type->base) : 1;
}

typedef struct rename {
	const char *from;
	const char *to;
} rename_t;

static int cmp_rename(const void *a, const void *b)
{
	return strcmp(((const rename_t *)a)->from, ((const rename_t *)b)->from);
}

static const char *renamed(const rename_t *v, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(v[mid].from, name, len);
		if (c == 0 && v[mid].from[len])
			c = 1;
		if (c == 0)
			return v[mid].to;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* "^to" or "to" + the port of ref. */
static char *rewrite_ref(const tfs_ref *r, const char *to)
{
	size_t l = strlen(to), pl = strlen(r->port);
	char *s = malloc(r->control + l + pl + 1);
	if (!s) {
		tfs_nomem();
		return NULL;
	}
	char *w = s;
	if (r->control)
		*w++ = '^';
	memcpy(w, to, l);
	memcpy(w + l, r->port, pl + 1);
	return s;
}

static int rewire_node(Tensorflow__NodeDef *nd, const rename_t *rn, size_t n_rn)
{
	for (size_t k = 0; k < nd->n_input;) {
		tfs_ref r;
		tfs_ref_parse(nd->input[k], &r);
		const char *to = renamed(rn, n_rn, r.name, r.name_len);
		if (!to) {
			k++;
			continue;
		}
		char *s = rewrite_ref(&r, to);
		if (!s)
			return TFSHRINK_ENOMEM;
		int dup = 0;
		for (size_t j = 0; r.control && j < nd->n_input && !dup; j++)
			dup = j != k && !strcmp(nd->input[j], s);
		if (dup) {
			free(s);
			tfs_node_remove_input(nd, k);
			continue;
		}
		free(nd->input[k]);
		nd->input[k] = s;
		k++;
	}
	return 0;
}

static int rewire_ret(Tensorflow__FunctionDef *f, const rename_t *rn, size_t n_rn)
{
	for (size_t i = 0; i < f->n_ret; i++) {
		tfs_ref r;
		tfs_ref_parse(f->ret[i]->value, &r);
		const char *to = renamed(rn, n_rn, r.name, r.name_len);
		if (!to)
			continue;
		char *s = rewrite_ref(&r, to);
		if (!s)
			return TFSHRINK_ENOMEM;
		free(f->ret[i]->value);
		f->ret[i]->value = s;
	}
	return 0;
}

/* Merges identical Consts in one node list; f is the function (NULL: a graph). */
static int dedupe_consts(tfs_nodes l, Tensorflow__FunctionDef *f, names *prot, const char *where, uint64_t *merged)
{
	size_t n = *l.n;
	Tensorflow__NodeDef **nodes = *l.v;
	kconst *k = malloc((n ? n : 1) * sizeof *k);
	uint8_t *del = calloc(n ? n : 1, 1);
	rename_t *rn = malloc((n ? n : 1) * sizeof *rn);
	size_t *cls = malloc((n ? n : 1) * sizeof *cls);
	size_t nk = 0, n_rn = 0;
	int rc = 0;
	if (!k || !del || !rn || !cls) {
		rc = tfs_nomem();
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__NodeDef *nd = nodes[i];
		if (strcmp(nd->op, "Const") || nd->n_input)
			continue;
		const Tensorflow__TensorProto *t = const_value(nd);
		size_t sz = t ? protobuf_c_message_get_packed_size(&t->base) : 0;
		if (sz < MIN_CONST_BYTES)
			continue;
		kconst c = { i, sz, 0, NULL };
		k[nk++] = c;
	}
	/* Pack and hash only values whose size another value shares. */
	tfs_qsort(k, nk, sizeof *k, cmp_kconst);
	for (size_t i = 0; i < nk && rc == 0; i++) {
		int twin = (i > 0 && k[i - 1].size == k[i].size) || (i + 1 < nk && k[i + 1].size == k[i].size);
		if (!twin)
			continue;
		k[i].packed = malloc(k[i].size);
		if (!k[i].packed) {
			rc = tfs_nomem();
			break;
		}
		protobuf_c_message_pack(&const_value(nodes[k[i].pos])->base, k[i].packed);
		k[i].hash = tfs_crc32c(k[i].packed, k[i].size);
	}
	if (rc < 0)
		goto done;
	tfs_qsort(k, nk, sizeof *k, cmp_kconst);
	for (size_t lo = 0; lo < nk && rc == 0;) {
		size_t hi = lo + 1;
		while (hi < nk && k[hi].size == k[lo].size && k[hi].hash == k[lo].hash)
			hi++;
		if (!k[lo].packed) {
			lo = hi;
			continue;
		}
		/* Classes of equal members, in node order: cls[i] = index (in k) of
		 * the class's first member. */
		for (size_t b = lo; b < hi && rc == 0; b++) {
			cls[b] = b;
			for (size_t a = lo; a < b; a++) {
				if (cls[a] != a || memcmp(k[a].packed, k[b].packed, k[a].size))
					continue;
				int r = same_node_shape(nodes[k[a].pos], nodes[k[b].pos]);
				if (r < 0)
					rc = r;
				if (r) {
					cls[b] = a;
					break;
				}
			}
		}
		/* Each class keeps one node: the first one named from outside, else
		 * the first; the others go unless named from outside. */
		for (size_t a = lo; a < hi && rc == 0; a++) {
			if (cls[a] != a)
				continue;
			size_t keep = a;
			for (size_t b = a; b < hi; b++)
				if (cls[b] == a && names_has(prot, nodes[k[b].pos]->name)) {
					keep = b;
					break;
				}
			for (size_t b = a; b < hi; b++) {
				if (cls[b] != a || b == keep || names_has(prot, nodes[k[b].pos]->name))
					continue;
				del[k[b].pos] = 1;
				rename_t x = { nodes[k[b].pos]->name, nodes[k[keep].pos]->name };
				rn[n_rn++] = x;
			}
		}
		lo = hi;
	}
	if (rc < 0 || n_rn == 0)
		goto done;
	tfs_qsort(rn, n_rn, sizeof *rn, cmp_rename);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!del[i])
			rc = rewire_node(nodes[i], rn, n_rn);
	if (rc == 0 && f)
		rc = rewire_ret(f, rn, n_rn);
	if (rc == 0)
		rc = tfs_nodes_remove(l, del, where);
	if (rc == 0)
		*merged += n_rn;
done:
	for (size_t i = 0; k && i < nk; i++)
		free(k[i].packed);
	free(k);
	free(del);
	free(rn);
	free(cls);
	return rc;
}

static int dedupe_graph_consts(tfshrink_model *m, uint64_t *merged)
{
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		Tensorflow__GraphDef *gd = mg->graph_def;
		if (!gd)
			continue;
		names prot = { 0 };
		int rc = top_level_names(mg, &prot);
		if (rc == 0) {
			names_sort(&prot);
			rc = dedupe_consts(tfs_graph_nodes(gd), NULL, &prot, "the graph", merged);
		}
		names_free(&prot);
		for (size_t i = 0; rc == 0 && gd->library && i < gd->library->n_function; i++) {
			Tensorflow__FunctionDef *f = gd->library->function[i];
			names fp = { 0 };
			rc = add_colocations(&fp, f->node_def, f->n_node_def);
			for (size_t c = 0; rc == 0 && c < f->n_control_ret; c++)
				rc = names_add_str(&fp, f->control_ret[c]->value);
			if (rc == 0) {
				names_sort(&fp);
				rc = dedupe_consts(tfs_function_nodes(f), f, &fp, f->signature ? f->signature->name : "a function",
				                   merged);
			}
			names_free(&fp);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	uint64_t shared = 0, shared_bytes = 0, merged = 0;
	TFS_TRY(dedupe_tensors(m, &shared, &shared_bytes));
	TFS_TRY(dedupe_graph_consts(m, &merged));
	ctx->items = shared + merged;
	snprintf(ctx->summary, sizeof ctx->summary, "%llu tensor(s) stored once (%llu bytes), %llu Const node(s) merged",
	         (unsigned long long)shared, (unsigned long long)shared_bytes, (unsigned long long)merged);
	return 0;
}

TFS_PASS_DEFINE(dedupe, "dedupe", 40, "store identical variable tensors once; merge identical large constants", run);
