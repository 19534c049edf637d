/*
 * gindex.h - an index over a GraphDef's top-level nodes: a hash of names,
 * each node's inputs and consumers, and a flag byte per node that a pass
 * uses for its own marks (closures, removal).
 */
#ifndef TFS_GINDEX_H
#define TFS_GINDEX_H
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

typedef struct tfs_gix {
	Tensorflow__NodeDef **nodes;
	size_t n;
	uint32_t *slot; /* open addressing: node index + 1, 0 = empty */
	size_t cap;
	size_t *in_off;   /* inputs of node i: in_off[i] .. in_off[i+1] */
	int32_t *in_src;  /* -1: names no node */
	int32_t *in_port; /* -1: control input */
	size_t *out_off;  /* consumers of node i */
	int32_t *out_dst;
	int32_t *out_slot; /* input position in the consumer */
	uint8_t *flag;
	int32_t *work;    /* scratch stack / queue, n entries */
} tfs_gix;

/* Indexes gd (ECORRUPT on two nodes of one name); flags start at 0. */
int tfs_gix_build(tfs_gix *g, Tensorflow__GraphDef *gd);
void tfs_gix_free(tfs_gix *g);
/* Node named s[0..l), or -1. */
int32_t tfs_gix_find(const tfs_gix *g, const char *s, size_t l);
/* Node named by a reference ("x", "x:1", "^x"), or -1. */
int32_t tfs_gix_ref(const tfs_gix *g, const char *ref);
/* Marks the backward closure (data and control inputs) of node r (-1: none)
 * with bit, not entering nodes that carry bit or stop. */
void tfs_gix_closure(tfs_gix *g, int32_t r, uint8_t bit, uint8_t stop);
/* The same from every tensor a TensorInfo names (sparse and composite too). */
void tfs_gix_closure_tensor_info(tfs_gix *g, const Tensorflow__TensorInfo *t, uint8_t bit, uint8_t stop);
/* The same from every node a serialized message names in any of its
 * length-delimited fields (as far as it parses): for control-flow context
 * protos, which this project has no schema for. */
void tfs_gix_closure_named_in(tfs_gix *g, const uint8_t *p, size_t n, uint8_t bit);
/* Drops "loc:@x" colocations of nd naming a node flagged gone_bit. */
void tfs_gix_fix_colocation(const tfs_gix *g, Tensorflow__NodeDef *nd, uint8_t gone_bit);
/* Removes every node flagged gone_bit, with the control inputs and
 * colocations naming one; a data input naming one is an error (EVERIFY).
 * g is stale afterwards. */
int tfs_gix_remove(Tensorflow__GraphDef *gd, const tfs_gix *g, uint8_t gone_bit);
/* Removes (and frees) collection c of mg. */
void tfs_meta_remove_collection(Tensorflow__MetaGraphDef *mg, size_t c);
#endif
