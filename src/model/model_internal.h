/* model_internal.h - the in-memory SavedModel shared by the model layer and passes. */
#ifndef TFS_MODEL_INTERNAL_H
#define TFS_MODEL_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "fsutil.h"
#include "tensorflow.pb-c.h"
#include "tfshrink.h"

/* What the writer does with one bundle entry. */
typedef struct tfs_entry_edit {
	uint8_t removed;
	/* Replacement bytes (owned) and entry (owned, packed as given but with
	 * shard/offset/size/crc set by the writer); NULL: keep the input's. */
	uint8_t *data;
	uint64_t data_len;
	Tensorflow__BundleEntryProto *entry;
	/* 1 + index of an entry holding the same stored bytes: the writer lays
	 * this one at that entry's shard and offset and writes nothing for it
	 * (as long as neither is removed or replaced); 0: its own bytes. */
	size_t share_with;
} tfs_entry_edit;

struct tfshrink_model {
	char *dir;
	char *pb_path;             /* saved_model.pb or saved_model.pbtxt */
	int pb_is_text;
	uint64_t pb_bytes;         /* size of that file */
	Tensorflow__SavedModel *sm;
	tfs_bundle *bundle;        /* NULL when the model has no variables */
	int has_variables_dir;
	tfs_file_entry *files;     /* every regular file, sorted */
	size_t n_files;
	Tensorflow__TrackableObjectGraph *ckpt_graph; /* parsed _CHECKPOINTABLE_OBJECT_GRAPH, or NULL */

	/* Edits made by passes, applied by the writer. */
	tfs_entry_edit *edits;     /* one per bundle entry, or NULL before the first edit */
	uint8_t *file_removed;     /* one per files[] entry, or NULL */
	int ckpt_graph_dirty;      /* re-encode _CHECKPOINTABLE_OBJECT_GRAPH from ckpt_graph */
	int fingerprint_policy;    /* TFS_FP_* */
	/* Warnings and notes from passes (one line each), owned. */
	char **notes;
	size_t n_notes;
	/* Per-tensor results of the weights pass (owned, with their key, name
	 * and reason strings; scheme points to a literal). */
	tfshrink_weight_result *weights;
	size_t n_weights;
	/* The last size forecast's fingerprint outcome, keyed on the bytes it
	 * hashed: most passes leave saved_model.pb and the index unchanged, and
	 * the fingerprint is the costliest part of a forecast. */
	struct tfs_fp_cache {
		int valid, policy, has_idx, keep;
		uint8_t *pb, *idx;
		size_t pbn, idxn, fpn;
	} fp_cache;
};

enum { TFS_FP_KEEP_IF_FRESH = 0, TFS_FP_RECOMPUTE = 1, TFS_FP_DROP = 2 };

/* Name of the checkpoint's own object graph entry. */
#define TFS_OBJECT_GRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

/* 1 if rel (relative to the model dir) is one of the files the writer
 * regenerates rather than copies (saved_model.pb[txt], the bundle). */
int tfs_model_is_core_file(const tfshrink_model *m, const char *rel);

/* Marks bundle entry i removed. */
int tfs_model_remove_entry(tfshrink_model *m, size_t i);
/* Marks the bundle entry with this key removed; 0 if absent. */
int tfs_model_remove_key(tfshrink_model *m, const char *key);
/* Replaces entry i's bytes and entry proto (both taken over by the model). */
int tfs_model_replace_entry(tfshrink_model *m, size_t i, uint8_t *data, uint64_t len,
                            Tensorflow__BundleEntryProto *entry);
int tfs_model_entry_removed(const tfshrink_model *m, size_t i);
/* Entry j's stored bytes are those of entry i (the caller compared them):
 * the writer stores them once (see tfs_entry_edit.share_with). */
int tfs_model_share_entry(tfshrink_model *m, size_t j, size_t i);
/* Marks files[] entry with path rel (or every file under rel/ if it ends in '/') removed;
 * returns how many. */
size_t tfs_model_remove_files(tfshrink_model *m, const char *rel);
int tfs_model_file_removed(const tfshrink_model *m, size_t i);
void tfs_model_free_edits(tfshrink_model *m);
/* Adds a printf-formatted note. */
int tfs_model_note(tfshrink_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Role of a checkpoint key (a tfshrink_var_group), from TF2 object paths
 * and TF1 variable names (inspect.c). */
int tfs_var_group(const char *key, int64_t elements);
/* Frees m->weights. */
void tfs_model_free_weights(tfshrink_model *m);

/* Size the written model would have, computed without writing: saved_model.pb
 * packed, bundle data and index as the writer lays them out, kept files. */
int tfs_model_projected_size(tfshrink_model *m, uint64_t *out);

/* fingerprint.c: serialized FingerprintDef (*out, malloc'd) for the model
 * as written: pb = its saved_model.pb bytes (the packing of m->sm), index =
 * its variables.index bytes (NULL if it has none). Hashes as TensorFlow's
 * fingerprinting does (producer 4); the uuid is random. EUNSUPPORTED when
 * TensorFlow would refuse too (no meta graph, a concrete function name not
 * ending in an integer). */
int tfs_fingerprint_compute(const tfshrink_model *m, const uint8_t *pb, size_t pb_len, const uint8_t *index,
                            size_t index_len, uint8_t **out, size_t *out_len);

/* Structural checks of an opened model (check.c: op defs, node references,
 * function recursion, Const values, init op, assets, object graph ids,
 * variables present when restored): ECORRUPT, ELIMIT or ENOTFOUND. */
int tfs_model_check(tfshrink_model *m);
/* Checks the invariants the loaders rely on (verify.c): EVERIFY with the reason. */
int tfs_model_verify(tfshrink_model *m);
/* Function in the first meta graph's library with this name, or NULL. */
Tensorflow__FunctionDef *tfs_model_function(const tfshrink_model *m, const char *name);

/* Serialized _CHECKPOINTABLE_OBJECT_GRAPH string tensor for the current
 * ckpt_graph (bytes and masked crc as TensorFlow stores them). */
int tfs_model_encode_ckpt_graph(const tfshrink_model *m, uint8_t **out, uint64_t *len, uint32_t *crc);
#endif
