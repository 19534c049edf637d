/* pass_assets.c - drops asset files nothing refers to and stores identical
 * asset files once.
 *
 * Loaders find asset files only through AssetFileDefs: TF2 asset objects by
 * asset_file_def_index, the TF1 and C++ loaders by feeding each
 * AssetFileDef's tensor with assets/<filename> (from meta_graph.asset_file_def,
 * or else the saved_model_assets collection of Any-packed AssetFileDefs). So a
 * file under assets/ that no AssetFileDef of any meta graph names (itself or
 * a directory holding it) is never read, and two AssetFileDefs may name the
 * same file: when two named files have identical contents, the later name is
 * pointed at the first and its file dropped. assets.extra/ (TF Serving's
 * warm-up requests and config) is kept unless opts->drop_assets_extra. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pass.h"

#define ASSETS "assets/"
#define ASSETS_LEN 7
#define ASSET_TYPE "/tensorflow.AssetFileDef"
#define ASSETS_COLLECTION "saved_model_assets"

/* Calls fn on every AssetFileDef filename of the model; a collection entry is
 * repacked when fn changed its name. Unparseable collection entries: ECORRUPT. */
typedef int (*asset_fn)(char **filename, void *arg);

static int is_asset_any(const Tensorflow__Any *a)
{
	size_t l = a->type_url ? strlen(a->type_url) : 0, s = strlen(ASSET_TYPE);
	return l >= s && !strcmp(a->type_url + l - s, ASSET_TYPE);
}

static int each_asset(tfshrink_model *m, asset_fn fn, void *arg)
{
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		for (size_t i = 0; i < mg->n_asset_file_def; i++)
			TFS_TRY(fn(&mg->asset_file_def[i]->filename, arg));
		for (size_t c = 0; c < mg->n_collection_def; c++) {
			Tensorflow__CollectionDef *cd = mg->collection_def[c]->value;
			if (strcmp(mg->collection_def[c]->key, ASSETS_COLLECTION) || !cd ||
			    cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST)
				continue;
			for (size_t k = 0; k < cd->any_list->n_value; k++) {
				Tensorflow__Any *a = cd->any_list->value[k];
				if (!is_asset_any(a))
					continue;
				Tensorflow__AssetFileDef *af = tensorflow__asset_file_def__unpack(NULL, a->value.len, a->value.data);
				if (!af)
					return tfs_err(TFSHRINK_ECORRUPT, m->pb_path, -1,
					               "collection %s: entry %zu is not an AssetFileDef", ASSETS_COLLECTION, k);
				char *before = strdup(af->filename ? af->filename : "");
				int rc = before ? fn(&af->filename, arg) : tfs_nomem();
				if (rc == 0 && strcmp(before, af->filename ? af->filename : "")) {
					size_t n = tensorflow__asset_file_def__get_packed_size(af);
					uint8_t *buf = malloc(n ? n : 1);
					if (!buf) {
						rc = tfs_nomem();
					} else {
						tensorflow__asset_file_def__pack(af, buf);
						free(a->value.data);
						a->value.data = buf;
						a->value.len = n;
					}
				}
				free(before);
				tensorflow__asset_file_def__free_unpacked(af, NULL);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------- referenced asset files */

typedef struct refs {
	uint8_t *used;       /* per m->files: some AssetFileDef names it or a directory above it */
	uint8_t *named;      /* per m->files: an AssetFileDef names exactly this file */
	uint8_t *in_dir;     /* per m->files: inside a directory an AssetFileDef names */
	tfshrink_model *m;
} refs;

static int mark_ref(char **filename, void *arg)
{
	refs *r = arg;
	const char *f = *filename ? *filename : "";
	size_t l = strlen(f);
	while (l > 0 && f[l - 1] == '/')
		l--;
	if (l == 0)
		return 0;
	for (size_t i = 0; i < r->m->n_files; i++) {
		const char *rel = r->m->files[i].rel;
		if (strncmp(rel, ASSETS, ASSETS_LEN) || strncmp(rel + ASSETS_LEN, f, l))
			continue;
		char next = rel[ASSETS_LEN + l];
		if (next == '\0')
			r->used[i] = r->named[i] = 1;
		else if (next == '/')
			r->used[i] = r->in_dir[i] = 1; /* an asset directory: everything in it */
	}
	return 0;
}

/* ------------------------------------------------------ identical files */

static int same_contents(const tfshrink_model *m, size_t a, size_t b, int *same)
{
	*same = 0;
	if (m->files[a].size != m->files[b].size)
		return 0;
	char *pa = tfs_path_join(m->dir, m->files[a].rel), *pb = tfs_path_join(m->dir, m->files[b].rel);
	tfs_map ma = { 0 }, mb = { 0 };
	int rc = (pa && pb) ? 0 : TFSHRINK_ENOMEM;
	if (rc == 0)
		rc = tfs_map_open(&ma, pa, UINT64_MAX);
	if (rc == 0 && (rc = tfs_map_open(&mb, pb, UINT64_MAX)) < 0)
		tfs_map_close(&ma);
	if (rc == 0) {
		*same = ma.size == mb.size && (ma.size == 0 || !memcmp(ma.data, mb.data, (size_t)ma.size));
		tfs_map_close(&ma);
		tfs_map_close(&mb);
	}
	free(pa);
	free(pb);
	return rc;
}

typedef struct renames {
	const char **from; /* filenames relative to assets/ (borrowed from m->files) */
	const char **to;
	size_t n;
} renames;

static int apply_rename(char **filename, void *arg)
{
	const renames *r = arg;
	for (size_t i = 0; i < r->n; i++)
		if (*filename && !strcmp(*filename, r->from[i])) {
			char *s = strdup(r->to[i]);
			if (!s)
				return tfs_nomem();
			free(*filename);
			*filename = s;
			return 0;
		}
	return 0;
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	size_t n = m->n_files;
	refs r = { calloc(n ? n : 1, 1), calloc(n ? n : 1, 1), calloc(n ? n : 1, 1), m };
	renames rn = { malloc((n ? n : 1) * sizeof *rn.from), malloc((n ? n : 1) * sizeof *rn.to), 0 };
	int rc = (r.used && r.named && r.in_dir && rn.from && rn.to) ? 0 : tfs_nomem();
	size_t dropped = 0, merged = 0, extra = 0;
	const char *first = NULL;
	if (rc == 0)
		rc = each_asset(m, mark_ref, &r);
	/* (1) files under assets/ nothing names */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *rel = m->files[i].rel;
		if (strncmp(rel, ASSETS, ASSETS_LEN) || r.used[i] || tfs_model_file_removed(m, i))
			continue;
		if (tfs_model_remove_files(m, rel) == 1 && !dropped++)
			first = rel;
	}
	if (rc == 0 && dropped)
		rc = tfs_model_note(m, "dropped %zu file(s) under assets/ that no AssetFileDef names (%s%s)", dropped, first,
		                    dropped > 1 ? ", ..." : "");
	/* (2) named files with identical contents: later names point at the first */
	for (size_t b = 0; rc == 0 && b < n; b++) {
		if (!r.named[b] || r.in_dir[b] || tfs_model_file_removed(m, b))
			continue;
		for (size_t a = 0; a < b && rc == 0; a++) {
			int same = 0;
			if (!r.named[a] || tfs_model_file_removed(m, a) || m->files[a].size != m->files[b].size)
				continue;
			if ((rc = same_contents(m, a, b, &same)) < 0 || !same)
				continue;
			rn.from[rn.n] = m->files[b].rel + ASSETS_LEN;
			rn.to[rn.n] = m->files[a].rel + ASSETS_LEN;
			rn.n++;
			tfs_model_remove_files(m, m->files[b].rel);
			merged++;
			break;
		}
	}
	if (rc == 0 && rn.n)
		rc = each_asset(m, apply_rename, &rn);
	/* (3) assets.extra/ only when asked */
	if (rc == 0 && ctx->opts->drop_assets_extra)
		extra = tfs_model_remove_files(m, "assets.extra/");
	if (rc == 0) {
		ctx->items = dropped + merged + extra;
		snprintf(ctx->summary, sizeof ctx->summary,
		         "%zu unreferenced asset file(s), %zu identical asset file(s) merged%s", dropped, merged,
		         ctx->opts->drop_assets_extra ? ", assets.extra/ dropped" : "");
	}
	free(r.used);
	free(r.named);
	free(r.in_dir);
	free(rn.from);
	free(rn.to);
	return rc;
}

TFS_PASS_DEFINE(assets, "assets", 50,
                "drop asset files nothing references; store identical asset files once", run);
