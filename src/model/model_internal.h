/* model_internal.h - the in-memory SavedModel shared by the model layer and passes. */
#ifndef TFS_MODEL_INTERNAL_H
#define TFS_MODEL_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "fsutil.h"
#include "tensorflow.pb-c.h"
#include "tfshrink.h"

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
};

/* Name of the checkpoint's own object graph entry. */
#define TFS_OBJECT_GRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

/* 1 if rel (relative to the model dir) is one of the files the writer
 * regenerates rather than copies (saved_model.pb[txt], the bundle). */
int tfs_model_is_core_file(const tfshrink_model *m, const char *rel);
#endif
