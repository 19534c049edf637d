/* gindex.c - an index over a GraphDef's top-level nodes (names, inputs,
 * consumers, a flag byte per node) for passes that reason about which nodes a
 * TF1 graph needs, and the edits that remove the nodes they flag. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gindex.h"



static uint64_t hash_name(const char *s, size_t l)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < l; i++) {
		h ^= (uint8_t)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int32_t tfs_gix_find(const tfs_gix *g, const char *s, size_t l)
{
	size_t mask = g->cap - 1;
	for (size_t k = hash_name(s, l) & mask;; k = (k + 1) & mask) {
		uint32_t v = g->slot[k];
		if (!v)
			return -1;
		const char *nm = g->nodes[v - 1]->name;
		if (strlen(nm) == l && !memcmp(nm, s, l))
			return (int32_t)(v - 1);
	}
}

/* Node named by a reference ("x", "x:1", "^x"), or -1. */
int32_t tfs_gix_ref(const tfs_gix *g, const char *ref)
{
	if (!ref)
		return -1;
	tfs_ref r;
	tfs_ref_parse(ref, &r);
	return tfs_gix_find(g, r.name, r.name_len);
}

void tfs_gix_free(tfs_gix *g)
{
	free(g->slot);
	free(g->in_off);
	free(g->in_src);
	free(g->in_port);
	free(g->out_off);
	free(g->out_dst);
	free(g->out_slot);
	free(g->flag);
	free(g->work);
	memset(g, 0, sizeof *g);
}

int tfs_gix_build(tfs_gix *g, Tensorflow__GraphDef *gd)
{
	memset(g, 0, sizeof *g);
	g->nodes = gd->node;
	g->n = gd->n_node;
	size_t n = g->n, cap = 16;
	while (cap < 2 * n + 2)
		cap <<= 1;
	g->cap = cap;
	size_t n_in = 0;
	for (size_t i = 0; i < n; i++)
		n_in += g->nodes[i]->n_input;
	g->slot = calloc(cap, sizeof *g->slot);
	g->in_off = calloc(n + 1, sizeof *g->in_off);
	g->out_off = calloc(n + 2, sizeof *g->out_off);
	g->in_src = malloc((n_in + 1) * sizeof *g->in_src);
	g->in_port = malloc((n_in + 1) * sizeof *g->in_port);
	g->out_dst = malloc((n_in + 1) * sizeof *g->out_dst);
	g->out_slot = malloc((n_in + 1) * sizeof *g->out_slot);
	g->flag = calloc(n + 1, 1);
	g->work = malloc((n + 1) * sizeof *g->work);
	if (!g->slot || !g->in_off || !g->out_off || !g->in_src || !g->in_port || !g->out_dst || !g->out_slot ||
	    !g->flag || !g->work) {
		tfs_gix_free(g);
		return tfs_nomem();
	}
	for (size_t i = 0; i < n; i++) {
		const char *nm = g->nodes[i]->name;
		size_t l = strlen(nm), mask = cap - 1, k = hash_name(nm, l) & mask;
		int dup = 0;
		for (; g->slot[k]; k = (k + 1) & mask)
			if (!strcmp(g->nodes[g->slot[k] - 1]->name, nm))
				dup = 1;
		if (dup) {
			int rc = tfs_err(TFSHRINK_ECORRUPT, NULL, -1, "graph has two nodes named '%s'", nm);
			tfs_gix_free(g);
			return rc;
		}
		g->slot[k] = (uint32_t)(i + 1);
	}
	size_t e = 0;
	for (size_t i = 0; i < n; i++) {
		g->in_off[i] = e;
		const Tensorflow__NodeDef *nd = g->nodes[i];
		for (size_t k = 0; k < nd->n_input; k++, e++) {
			tfs_ref r;
			tfs_ref_parse(nd->input[k], &r);
			g->in_src[e] = tfs_gix_find(g, r.name, r.name_len);
			g->in_port[e] = r.control ? -1 : (*r.port == ':' ? (int32_t)strtol(r.port + 1, NULL, 10) : 0);
			if (g->in_src[e] >= 0)
				g->out_off[g->in_src[e] + 2]++;
		}
	}
	g->in_off[n] = e;
	for (size_t i = 0; i < n; i++)
		g->out_off[i + 2] += g->out_off[i + 1];
	for (size_t i = 0; i < n; i++)
		for (size_t k = g->in_off[i]; k < g->in_off[i + 1]; k++) {
			int32_t s = g->in_src[k];
			if (s < 0)
				continue;
			size_t at = g->out_off[s + 1]++;
			g->out_dst[at] = (int32_t)i;
			g->out_slot[at] = (int32_t)(k - g->in_off[i]);
		}
	/* out_off[i] .. out_off[i+1] now hold node i's consumers. */
	return 0;
}

/* Marks the backward closure of node r with `bit`, not entering nodes that
 * carry `stop`. */
void tfs_gix_closure(tfs_gix *g, int32_t r, uint8_t bit, uint8_t stop)
{
	if (r < 0 || (g->flag[r] & (bit | stop)))
		return;
	size_t top = 0;
	g->flag[r] |= bit;
	g->work[top++] = r;
	while (top) {
		int32_t i = g->work[--top];
		for (size_t k = g->in_off[i]; k < g->in_off[i + 1]; k++) {
			int32_t s = g->in_src[k];
			if (s < 0 || (g->flag[s] & (bit | stop)))
				continue;
			g->flag[s] |= bit;
			g->work[top++] = s;
		}
	}
}

static void tensor_info(tfs_gix *g, const Tensorflow__TensorInfo *t, uint8_t bit, uint8_t stop, int depth)
{
	if (!t || depth > 32)
		return;
	switch (t->encoding_case) {
	case TENSORFLOW__TENSOR_INFO__ENCODING_NAME: tfs_gix_closure(g, tfs_gix_ref(g, t->name), bit, stop); break;
	case TENSORFLOW__TENSOR_INFO__ENCODING_COO_SPARSE:
		if (t->coo_sparse) {
			tfs_gix_closure(g, tfs_gix_ref(g, t->coo_sparse->values_tensor_name), bit, stop);
			tfs_gix_closure(g, tfs_gix_ref(g, t->coo_sparse->indices_tensor_name), bit, stop);
			tfs_gix_closure(g, tfs_gix_ref(g, t->coo_sparse->dense_shape_tensor_name), bit, stop);
		}
		break;
	case TENSORFLOW__TENSOR_INFO__ENCODING_COMPOSITE_TENSOR:
		for (size_t i = 0; t->composite_tensor && i < t->composite_tensor->n_components; i++)
			tensor_info(g, t->composite_tensor->components[i], bit, stop, depth + 1);
		break;
	default: break;
	}
}

void tfs_gix_closure_tensor_info(tfs_gix *g, const Tensorflow__TensorInfo *t, uint8_t bit, uint8_t stop)
{
	tensor_info(g, t, bit, stop, 0);
}

/* Every length-delimited field of a serialized message (recursively, as far
 * as it parses) that names a node: marks that node's closure with bit. */
static void named_in(tfs_gix *g, const uint8_t *p, size_t n, uint8_t bit, int depth)
{
	size_t i = 0;
	while (i < n) {
		uint64_t tag = 0;
		int sh = 0;
		while (i < n && sh < 64) {
			tag |= (uint64_t)(p[i] & 0x7f) << sh;
			sh += 7;
			if (!(p[i++] & 0x80))
				break;
		}
		switch (tag & 7) {
		case 0:
			while (i < n && (p[i] & 0x80))
				i++;
			i++;
			break;
		case 1: i += 8; break;
		case 5: i += 4; break;
		case 2: {
			uint64_t l = 0;
			sh = 0;
			while (i < n && sh < 64) {
				l |= (uint64_t)(p[i] & 0x7f) << sh;
				sh += 7;
				if (!(p[i++] & 0x80))
					break;
			}
			if (l > n - i)
				return;
			const char *s = (const char *)p + i;
			size_t sl = (size_t)l;
			if (sl && s[0] == '^') {
				s++;
				sl--;
			}
			const char *colon = memchr(s, ':', sl);
			int32_t id = tfs_gix_find(g, s, colon ? (size_t)(colon - s) : sl);
			if (id >= 0)
				tfs_gix_closure(g, id, bit, 0);
			if (depth < 16)
				named_in(g, p + i, (size_t)l, bit, depth + 1);
			i += (size_t)l;
			break;
		}
		default: return;
		}
	}
}


void tfs_gix_closure_named_in(tfs_gix *g, const uint8_t *p, size_t n, uint8_t bit)
{
	named_in(g, p, n, bit, 0);
}

void tfs_gix_fix_colocation(const tfs_gix *g, Tensorflow__NodeDef *nd, uint8_t gone_bit)
{
	Tensorflow__AttrValue *a = tfs_node_attr(nd, "_class");
	if (!a || a->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST || !a->list || !a->list->n_s)
		return;
	Tensorflow__AttrValue__ListValue *l = a->list;
	size_t w = 0;
	for (size_t k = 0; k < l->n_s; k++) {
		const char *s = (const char *)l->s[k].data;
		size_t len = l->s[k].len;
		int gone = 0;
		if (len > 5 && !memcmp(s, "loc:@", 5)) {
			int32_t x = tfs_gix_find(g, s + 5, len - 5);
			gone = x >= 0 && (g->flag[x] & gone_bit);
		}
		if (gone)
			free(l->s[k].data);
		else
			l->s[w++] = l->s[k];
	}
	l->n_s = w;
	if (w == 0)
		tfs_node_remove_attr(nd, "_class");
}

int tfs_gix_remove(Tensorflow__GraphDef *gd, const tfs_gix *g, uint8_t gone_bit)
{
	for (size_t i = 0; i < gd->n_node; i++) {
		Tensorflow__NodeDef *nd = gd->node[i];
		if (i < g->n && (g->flag[i] & gone_bit))
			continue;
		tfs_gix_fix_colocation(g, nd, gone_bit);
		for (size_t k = 0; k < nd->n_input;) {
			int32_t s = tfs_gix_ref(g, nd->input[k]);
			if (s < 0 || !(g->flag[s] & gone_bit)) {
				k++;
				continue;
			}
			if (nd->input[k][0] != '^')
				return tfs_err(TFSHRINK_EVERIFY, NULL, -1, "node '%s' still reads '%s', which is being removed",
				               nd->name, nd->input[k]);
			tfs_node_remove_input(nd, k);
		}
	}
	size_t w = 0;
	for (size_t i = 0; i < gd->n_node; i++) {
		Tensorflow__NodeDef *nd = gd->node[i];
		if (i < g->n && (g->flag[i] & gone_bit))
			tensorflow__node_def__free_unpacked(nd, NULL);
		else
			gd->node[w++] = nd;
	}
	gd->n_node = w;
	return 0;
}

void tfs_meta_remove_collection(Tensorflow__MetaGraphDef *mg, size_t c)
{
	protobuf_c_message_free_unpacked(&mg->collection_def[c]->base, NULL);
	memmove(&mg->collection_def[c], &mg->collection_def[c + 1], (mg->n_collection_def - c - 1) * sizeof *mg->collection_def);
	mg->n_collection_def--;
}
