#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "model_internal.h"
#include "pbio.h"

typedef struct write_ctx {
	const tfshrink_write_options *opts;
	uint64_t done, total;
} write_ctx;

static int progress(write_ctx *c, const char *phase)
{
	if (c->opts && c->opts->progress && c->opts->progress(phase, c->done, c->total, c->opts->progress_payload))
		return tfs_err(TFSHRINK_ERROR, NULL, -1, "cancelled");
	return 0;
}

/* Entries in data order, so every shard is read and written front to back. */
static int cmp_data_order(const void *a, const void *b, void *bundle)
{
	const tfs_bundle *sb = bundle;
	const Tensorflow__BundleEntryProto *x = sb->e[*(const size_t *)a].proto;
	const Tensorflow__BundleEntryProto *y = sb->e[*(const size_t *)b].proto;
	if (x->shard_id != y->shard_id)
		return x->shard_id < y->shard_id ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static int write_bundle(tfshrink_model *m, const char *tmp, write_ctx *c)
{
	tfs_bundle *b = m->bundle;
	char *prefix = tfs_path_join(tmp, "variables/variables");
	size_t *order = malloc((b->n ? b->n : 1) * sizeof *order);
	if (!prefix || !order) {
		free(prefix);
		free(order);
		return tfs_nomem();
	}
	for (size_t i = 0; i < b->n; i++) {
		order[i] = i;
		c->total += b->e[i].proto->n_slices ? 0 : (uint64_t)b->e[i].proto->size;
	}
	qsort_r(order, b->n, sizeof *order, cmp_data_order, b);
	tfs_bundle_writer w;
	int rc = tfs_bundle_writer_open(&w, prefix, b->num_shards, b->header);
	const Tensorflow__BundleEntryProto *prev = NULL;
	uint64_t prev_new_off = 0;
	for (size_t k = 0; rc == 0 && k < b->n; k++) {
		const tfs_bundle_entry *e = &b->e[order[k]];
		const Tensorflow__BundleEntryProto *p = e->proto;
		if (p->n_slices > 0) {
			rc = tfs_bundle_writer_add_entry(&w, e->key, e->key_len, p);
			continue;
		}
		/* Entries sharing the same stored bytes keep sharing them. */
		if (prev && prev->shard_id == p->shard_id && prev->offset == p->offset && prev->size == p->size &&
		    prev->crc32c == p->crc32c) {
			Tensorflow__BundleEntryProto ne = *p;
			ne.offset = (int64_t)prev_new_off;
			rc = tfs_bundle_writer_add_entry(&w, e->key, e->key_len, &ne);
			continue;
		}
		int numeric = (int)p->dtype != TFS_DT_STRING && (int)p->dtype != TFS_DT_VARIANT;
		if (!numeric && (rc = tfs_bundle_verify(b, e)) < 0)
			break;
		rc = tfs_bundle_writer_add_mapped(&w, e->key, e->key_len, p, p->shard_id, &b->shards[p->shard_id],
		                                  (uint64_t)p->offset, (uint64_t)p->size, numeric, &prev_new_off);
		prev = p;
		c->done += (uint64_t)p->size;
		if (rc == 0)
			rc = progress(c, "variables");
	}
	if (rc == 0)
		rc = tfs_bundle_writer_finish(&w);
	tfs_bundle_writer_free(&w);
	free(order);
	free(prefix);
	return rc;
}

static int same_bytes(const char *a, const char *b)
{
	uint8_t *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	int same = tfs_read_file(a, (uint64_t)1 << 32, &x, &nx) == 0 && tfs_read_file(b, (uint64_t)1 << 32, &y, &ny) == 0 &&
	           nx == ny && (nx == 0 || memcmp(x, y, nx) == 0);
	free(x);
	free(y);
	tfs_err_clear();
	return same;
}

static int copy_side_files(tfshrink_model *m, const char *tmp)
{
	for (size_t i = 0; i < m->n_files; i++) {
		const char *rel = m->files[i].rel;
		if (tfs_model_is_core_file(m, rel))
			continue;
		TFS_TRY(tfs_mkdirs_for(tmp, rel));
		char *src = tfs_path_join(m->dir, rel);
		char *dst = tfs_path_join(tmp, rel);
		int rc = (src && dst) ? tfs_copy_file(src, dst) : TFSHRINK_ENOMEM;
		free(src);
		free(dst);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* fingerprint.pb hashes saved_model.pb and variables.index; it stays only if
 * both came out byte-identical, since a stale fingerprint misreports identity. */
static void drop_stale_fingerprint(tfshrink_model *m, const char *tmp)
{
	char *fp = tfs_path_join(tmp, "fingerprint.pb");
	if (!fp || !tfs_path_exists(fp)) {
		free(fp);
		return;
	}
	char *a = tfs_path_join(tmp, "saved_model.pb");
	char *ia = tfs_path_join(tmp, "variables/variables.index");
	char *ib = tfs_path_join(m->dir, "variables/variables.index");
	int fresh = a && ia && ib && !m->pb_is_text && same_bytes(a, m->pb_path) &&
	            (!m->bundle || same_bytes(ia, ib));
	if (!fresh)
		remove(fp);
	free(a);
	free(ia);
	free(ib);
	free(fp);
}

int tfshrink_model_write(tfshrink_model *m, const char *out_dir, const tfshrink_write_options *opts)
{
	tfs_err_clear();
	if (!m || !out_dir || !*out_dir)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "tfshrink_model_write: NULL argument");
	if (tfs_path_within(out_dir, m->dir))
		return tfs_err(TFSHRINK_EINVAL, out_dir, -1, "the output may not be the input or lie inside it");
	if (tfs_path_within(m->dir, out_dir))
		return tfs_err(TFSHRINK_EINVAL, out_dir, -1, "the output may not contain the input");
	int force = opts && opts->force;
	if (tfs_path_exists(out_dir) && !force)
		return tfs_err(TFSHRINK_EEXIST, out_dir, -1, "output already exists (use --force to replace it)");

	char *tmp = NULL;
	TFS_TRY(tfs_tmpdir_beside(out_dir, &tmp));
	write_ctx c = { opts, 0, 0 };
	uint8_t *pb = NULL;
	size_t pbn = 0;
	char *pbpath = tfs_path_join(tmp, "saved_model.pb");
	int rc = pbpath ? 0 : TFSHRINK_ENOMEM;
	if (rc == 0)
		rc = tfs_pb_pack(&m->sm->base, &pb, &pbn);
	if (rc == 0)
		rc = tfs_write_file(pbpath, pb, pbn);
	free(pb);
	if (rc == 0 && (m->bundle || m->has_variables_dir)) {
		char *vdir = tfs_path_join(tmp, "variables");
		rc = vdir ? tfs_mkdir(vdir) : TFSHRINK_ENOMEM;
		free(vdir);
	}
	if (rc == 0 && m->bundle)
		rc = write_bundle(m, tmp, &c);
	if (rc == 0)
		rc = copy_side_files(m, tmp);
	if (rc == 0)
		drop_stale_fingerprint(m, tmp);
	if (rc == 0)
		rc = tfs_fsync_dir(tmp);
	if (rc == 0)
		rc = tfs_commit_dir(tmp, out_dir, force);
	if (rc < 0)
		tfs_remove_tree(tmp);
	free(pbpath);
	free(tmp);
	return rc;
}
