/* shrink.c - the pass registry and the shrink pipeline. */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pass.h"
#include "sort.h"

#define TFS_PASS(id) extern const tfs_pass tfs_pass_##id;
#include "passes.inc"
#undef TFS_PASS

static const tfs_pass *const all_passes[] = {
#define TFS_PASS(id) &tfs_pass_##id,
#include "passes.inc"
#undef TFS_PASS
};
#define N_PASSES (sizeof all_passes / sizeof *all_passes)

static const tfs_pass *sorted[N_PASSES ? N_PASSES : 1];
static int sorted_ready;

static int cmp_order(const void *a, const void *b)
{
	const tfs_pass *x = *(const tfs_pass *const *)a, *y = *(const tfs_pass *const *)b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const tfs_pass *const *passes(void)
{
	if (!__atomic_load_n(&sorted_ready, __ATOMIC_ACQUIRE)) {
		const tfs_pass *tmp[N_PASSES ? N_PASSES : 1];
		memcpy(tmp, all_passes, sizeof all_passes);
		tfs_qsort(tmp, N_PASSES, sizeof *tmp, cmp_order);
		memcpy(sorted, tmp, sizeof all_passes);
		__atomic_store_n(&sorted_ready, 1, __ATOMIC_RELEASE);
	}
	return sorted;
}

size_t tfshrink_pass_count(void)
{
	return N_PASSES;
}

const char *tfshrink_pass_name(size_t i)
{
	return i < N_PASSES ? passes()[i]->name : NULL;
}

const char *tfshrink_pass_summary(size_t i)
{
	return i < N_PASSES ? passes()[i]->summary : NULL;
}

int tfshrink_pass_find(const char *name)
{
	for (size_t i = 0; i < N_PASSES; i++)
		if (!strcmp(passes()[i]->name, name))
			return (int)i;
	return -1;
}

typedef struct report_impl {
	tfshrink_shrink_report pub;
	tfshrink_pass_result results[N_PASSES ? N_PASSES : 1];
	char summaries[N_PASSES ? N_PASSES : 1][256];
	char **notes;
} report_impl;

int tfshrink_model_shrink(tfshrink_model *m, const tfshrink_shrink_options *opts, tfshrink_shrink_report **out)
{
	tfs_err_clear();
	if (!m || !out)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "tfshrink_model_shrink: NULL argument");
	tfshrink_shrink_options defaults = TFSHRINK_SHRINK_OPTIONS_INIT;
	if (!opts)
		opts = &defaults;
	else if (opts->version < 2) {
		/* A caller built against version 1 passes the first five fields only. */
		defaults.skip = opts->skip;
		defaults.keep_objects = opts->keep_objects;
		defaults.strip_shapes = opts->strip_shapes;
		defaults.drop_assets_extra = opts->drop_assets_extra;
		opts = &defaults;
	} else if (opts->version < 3) {
		/* Version 2 ends before channel_axis. */
		memcpy(&defaults, opts, offsetof(tfshrink_shrink_options, channel_axis));
		defaults.version = TFSHRINK_SHRINK_OPTIONS_VERSION;
		opts = &defaults;
	}
	report_impl *r = calloc(1, sizeof *r);
	if (!r)
		return tfs_nomem();
	for (size_t i = 0; i < m->n_files; i++)
		r->pub.input_bytes += m->files[i].size;
	/* A defect the input already has is reported, not blamed on the passes. */
	char pre[512] = "";
	if (tfs_model_verify(m) < 0) {
		snprintf(pre, sizeof pre, "%s", tfshrink_error_last()->message);
		tfs_model_note(m, "the input already fails a loader check: %s", pre);
		tfs_err_clear();
	}
	uint64_t before, now;
	int rc = tfs_model_projected_size(m, &before);
	r->pub.bytes_before = before;
	for (size_t i = 0; rc == 0 && i < N_PASSES; i++) {
		const tfs_pass *p = passes()[i];
		tfshrink_pass_result *res = &r->results[i];
		res->name = p->name;
		res->summary = r->summaries[i];
		if (opts->skip & ((uint64_t)1 << i)) {
			strcpy(r->summaries[i], "skipped");
			continue;
		}
		tfs_pass_ctx ctx = { opts, 0, "" };
		rc = p->run(m, &ctx);
		if (rc < 0) {
			tfs_err_context("pass %s", p->name);
			break;
		}
		rc = tfs_model_projected_size(m, &now);
		res->ran = 1;
		res->items = ctx.items;
		res->bytes_saved = now < before ? before - now : 0;
		memcpy(r->summaries[i], ctx.summary, sizeof ctx.summary);
		before = now;
	}
	if (rc == 0 && (rc = tfs_model_verify(m)) < 0 && pre[0] && !strcmp(pre, tfshrink_error_last()->message)) {
		tfs_err_clear();
		rc = 0;
	}
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->pub.bytes_after = before;
	r->pub.n_passes = N_PASSES;
	r->pub.passes = r->results;
	r->pub.n_notes = m->n_notes;
	r->pub.notes = (const char *const *)m->notes;
	r->pub.n_weights = m->n_weights;
	r->pub.weights = m->weights;
	*out = &r->pub;
	return 0;
}

void tfshrink_shrink_report_free(tfshrink_shrink_report *report)
{
	free(report);
}
