/*
 * graph.h - editing nodes, functions and the object graphs of an open model.
 * Everything allocated here uses malloc, like protobuf-c's default allocator,
 * so free_unpacked releases edited trees too.
 */
#ifndef TFS_GRAPH_H
#define TFS_GRAPH_H
#include <stddef.h>
#include <stdint.h>

#include "model_internal.h"

/* A list of nodes: a GraphDef's nodes or a FunctionDef's body. */
typedef struct tfs_nodes {
	Tensorflow__NodeDef ***v;
	size_t *n;
	int in_function; /* inputs use function naming ("node:out_arg:i") */
} tfs_nodes;

tfs_nodes tfs_graph_nodes(Tensorflow__GraphDef *g);
tfs_nodes tfs_function_nodes(Tensorflow__FunctionDef *f);

/* An input reference: "name", "name:3", "name:out:3" or "^name". */
typedef struct tfs_ref {
	int control;
	const char *name;   /* points into the input string */
	size_t name_len;
	const char *port;   /* what follows the name ("" , ":3", ":output:0") */
} tfs_ref;
void tfs_ref_parse(const char *input, tfs_ref *r);
/* 1 if the reference names node `name`. */
int tfs_ref_is(const tfs_ref *r, const char *name);

Tensorflow__NodeDef *tfs_nodes_find(tfs_nodes l, const char *name);
ssize_t tfs_nodes_index(tfs_nodes l, const char *name);
Tensorflow__AttrValue *tfs_node_attr(const Tensorflow__NodeDef *n, const char *key);
/* Function a call node invokes: attr f of (Stateful)PartitionedCall, or the op itself. */
const char *tfs_node_callee(const Tensorflow__NodeDef *n);

/* Removes (and frees) every node with del[i] set, and drops control inputs
 * that name a removed node; data inputs naming one are an error (EVERIFY). */
int tfs_nodes_remove(tfs_nodes l, const uint8_t *del, const char *where);
/* Removes input i of a node. */
void tfs_node_remove_input(Tensorflow__NodeDef *n, size_t i);
/* Removes the attr named key, if any. */
void tfs_node_remove_attr(Tensorflow__NodeDef *n, const char *key);

/* Keeps list elements i with keep[i] (types, ints, shapes, strings, ...).
 * n is the element count the keep array covers. */
void tfs_list_filter(Tensorflow__AttrValue__ListValue *l, const uint8_t *keep, size_t n);
/* Keeps elements of a 1-D string tensor (string_val) with keep[i]; fixes the shape. */
int tfs_tensor_strings_filter(Tensorflow__TensorProto *t, const uint8_t *keep, size_t n);

/* Removes input args with del[i] set from a function's signature, together
 * with their arg_attr / resource_arg_unique_id entries (keys renumbered). */
int tfs_function_remove_args(Tensorflow__FunctionDef *f, const uint8_t *del);
/* Removes the same argument positions from every call of function `fname`
 * (top level and inside functions): inputs, Tin, _read_only_resource_inputs. */
int tfs_calls_remove_inputs(tfshrink_model *m, const char *fname, const uint8_t *del, size_t n_args);
/* Removes library functions whose del[i] is set (indexes into library->function),
 * their gradients, and their SavedObjectGraph.concrete_functions entries. */
int tfs_library_remove(tfshrink_model *m, const uint8_t *del);

/* Removes SavedObjectGraph nodes with del[i] set: edges to them are dropped,
 * every id is renumbered (children, dependencies, slot variables, saveables,
 * bound inputs); the matching checkpoint object-graph nodes go too, with the
 * bundle entries of their attributes. Node 0 (the root) cannot be removed.
 * A kept function capturing a removed object is an error (EVERIFY). */
int tfs_objgraph_remove(tfshrink_model *m, const uint8_t *del);
/* Like tfs_objgraph_remove, but keeps every id: each removed node becomes an
 * empty generic user object nothing refers to, so whatever numbers objects
 * from outside saved_model.pb (keras_metadata.pb) stays valid. */
int tfs_objgraph_detach(tfshrink_model *m, const uint8_t *del);
/* For each SavedObjectGraph node, the checkpoint object-graph node matched to
 * it by child names from the root (as the C++ loader matches them), or -1.
 * out must hold n_nodes entries. */
int tfs_objgraph_ckpt_map(const tfshrink_model *m, int32_t *out);

char *tfs_strdup(const char *s);
#endif
