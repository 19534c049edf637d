/*
 * pass.h - what a shrink pass is. Each pass lives in src/passes/pass_<name>.c
 * and ends with TFS_PASS_DEFINE; the build finds it by its file name, so
 * adding a pass touches only its own file and its test.
 */
#ifndef TFS_PASS_H
#define TFS_PASS_H
#include <stdint.h>

#include "model_internal.h"
#include "tfshrink.h"

typedef struct tfs_pass_ctx {
	const tfshrink_shrink_options *opts;
	uint64_t items;      /* the pass sets: how many things it removed or merged */
	char summary[256];   /* the pass sets: one line on what it did */
} tfs_pass_ctx;

typedef struct tfs_pass {
	const char *name;    /* CLI and JSON name, e.g. "training-state" */
	const char *summary; /* one line for --list-passes */
	int order;           /* passes run by increasing order */
	int (*run)(tfshrink_model *m, tfs_pass_ctx *ctx);
} tfs_pass;

#define TFS_PASS_DEFINE(id, name_, order_, summary_, run_) \
	const tfs_pass tfs_pass_##id = { name_, summary_, order_, run_ }

#endif
