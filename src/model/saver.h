/*
 * saver.h - removing checkpoint keys from the ops that save and restore them.
 *
 * A SavedModel names the bundle keys it saves and restores twice more: in the
 * SaveV2/RestoreV2 ops of its saver (TF2: the traced functions
 * __inference__traced_save_* / __inference__traced_restore_*; TF1: the
 * top-level save/ subgraph), as string Consts (tensor_names,
 * shape_and_slices) plus a dtypes attr. Removing a key from the bundle means
 * removing it there too, or the C++ loader (TF Serving) fails in RestoreV2.
 *
 * These helpers work on a node list in either naming convention (function
 * bodies: "node:out_arg:i", graphs: "node:i"). They do not touch the bundle,
 * the object graphs or the callers' top-level producer nodes: the caller
 * decides what else goes (see pass_training_state.c for TF2).
 */
#ifndef TFS_SAVER_H
#define TFS_SAVER_H
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* A set of strings (checkpoint keys). Zero-initialise or tfs_keyset_init. */
typedef struct tfs_keyset {
	char **v;
	size_t n, cap;
	int sorted;
} tfs_keyset;

void tfs_keyset_init(tfs_keyset *s);
void tfs_keyset_free(tfs_keyset *s);
/* Adds a copy of key (duplicates are fine). 0 or ENOMEM. */
int tfs_keyset_add(tfs_keyset *s, const char *key);
/* 1 if key is in the set (sorts the set on first use after an add). */
int tfs_keyset_has(tfs_keyset *s, const char *key);

/*
 * Removes every key of `keys` from each SaveV2 / RestoreV2 in the node list l:
 *  - the tensor_names and shape_and_slices Const entries (the Consts are
 *    cloned first if some other node also reads them) and the dtypes attr;
 *  - RestoreV2: the outputs of removed keys, every node that consumes them
 *    through data edges, transitively (Identity, AssignVariableOp, Assign,
 *    per-variable save/Assign_k ...); consumers of later outputs are
 *    renumbered ("RestoreV2:tensors:K" / "save/RestoreV2:K"); a RestoreV2 left
 *    with no key goes, with its now unused Consts;
 *  - SaveV2: the data inputs of removed keys. SaveV2 needs at least one
 *    tensor: removing all its keys fails with EUNSUPPORTED (drop that saver
 *    shard instead);
 *  - control inputs naming removed nodes (save/restore_all, restore_shard,
 *    NoOps), and, when l is the body of a library function of m, its
 *    control_ret and signature.control_output entries.
 * In function bodies, Identity/ReadVariableOp/DisableCopyOnRead/Const nodes
 * whose only use was a removed input (control inputs of NoOps aside) are
 * removed too, with their control_ret entries; function args left unused are NOT removed
 * (call tfs_function_remove_dead_args). In graphs, producers of removed SaveV2
 * inputs are left to the caller (they may be a variable's snapshot).
 * `where` names the list in error messages (a function name or "graph").
 * Returns how many key entries were removed (>= 0), or a negative code
 * (EVERIFY if a function output depends on a removed restore output).
 */
int tfs_saver_remove_keys(tfshrink_model *m, tfs_nodes l, const char *where, tfs_keyset *keys);

/*
 * Removes the input args of library function f that nothing uses any more (no
 * node input and no ret value names them), with their arg_attr entries, and
 * the same positions from every call site (inputs, Tin,
 * _read_only_resource_inputs). If removed is not NULL it receives a malloc'd
 * array of the original arg count with 1 at each removed position (NULL when
 * none was removed), so the caller can drop now-unused producers at the call
 * sites; *n_args receives the original count. Returns how many args went, or
 * a negative code.
 */
int tfs_function_remove_dead_args(tfshrink_model *m, Tensorflow__FunctionDef *f,
                                  uint8_t **removed, size_t *n_args);

/*
 * The traced save and restore functions of a TF2 model, found through the
 * first meta graph's saver_def: restore_op_name is a top-level call node whose
 * f names the restore function; save_tensor_name's node calls the save
 * function. Either may be NULL when absent (e.g. TF1 graphs, no saver_def).
 */
typedef struct tfs_traced_saver {
	Tensorflow__FunctionDef *save_fn, *restore_fn;
	Tensorflow__NodeDef *save_call, *restore_call; /* top-level call nodes */
} tfs_traced_saver;
int tfs_traced_saver_find(const tfshrink_model *m, tfs_traced_saver *out);

#endif
