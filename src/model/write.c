/* write.c - lays out and writes a model: saved_model.pb, the bundle (planned
 * first, so a dry run knows the exact output size), the kept files and a
 * fingerprint.pb that matches the output (fingerprint.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "dtype.h"
#include "error.h"
#include "model_internal.h"
#include "pbio.h"
#include "sort.h"
#include "table.h"

typedef struct plan_item {
	size_t idx;             /* bundle entry */
	int shard;
	uint64_t off;           /* offset in the output shard */
	const tfs_map *src;     /* mapped input bytes, or NULL when mem is set */
	uint64_t src_off;
	const uint8_t *mem;     /* replacement bytes */
	uint64_t len;
	int writes;             /* 0: shares the bytes of another item */
	size_t share_with;      /* tfs_entry_edit.share_with */
	int check_crc;
	Tensorflow__BundleEntryProto entry; /* as it goes into the index */
} plan_item;

typedef struct plan {
	plan_item *v;
	size_t n;
	int num_shards;
	uint64_t *shard_size;
	tfs_table_writer index;
	uint64_t data_bytes;
} plan;

static int cmp_item(const void *a, const void *b)
{
	const plan_item *x = a, *y = b;
	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	if (!x->mem != !y->mem)
		return x->mem ? 1 : -1; /* mapped bytes first, in input order */
	if (!x->mem && x->src_off != y->src_off)
		return x->src_off < y->src_off ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_key_item(const void *a, const void *b, void *bundle)
{
	const tfs_bundle *bb = bundle;
	const plan_item *x = *(plan_item *const *)a, *y = *(plan_item *const *)b;
	const tfs_bundle_entry *ex = &bb->e[x->idx], *ey = &bb->e[y->idx];
	size_t n = ex->key_len < ey->key_len ? ex->key_len : ey->key_len;
	int c = n ? memcmp(ex->key, ey->key, n) : 0;
	if (c)
		return c;
	return ex->key_len < ey->key_len ? -1 : ex->key_len > ey->key_len;
}

static void plan_free(plan *p)
{
	free(p->v);
	free(p->shard_size);
	tfs_table_writer_free(&p->index);
	memset(p, 0, sizeof *p);
}

/* Re-encodes the checkpoint's object graph entry after a pass changed it. */
static int refresh_ckpt_graph(tfshrink_model *m)
{
	if (!m->ckpt_graph_dirty || !m->ckpt_graph)
		return 0;
	const tfs_bundle_entry *e = tfs_bundle_find(m->bundle, TFS_OBJECT_GRAPH_KEY, strlen(TFS_OBJECT_GRAPH_KEY));
	if (!e)
		return 0;
	uint8_t *data;
	uint64_t len;
	uint32_t crc;
	TFS_TRY(tfs_model_encode_ckpt_graph(m, &data, &len, &crc));
	size_t n = tensorflow__bundle_entry_proto__get_packed_size(e->proto);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		free(data);
		return tfs_nomem();
	}
	tensorflow__bundle_entry_proto__pack(e->proto, buf);
	Tensorflow__BundleEntryProto *copy = tensorflow__bundle_entry_proto__unpack(NULL, n, buf);
	free(buf);
	if (!copy) {
		free(data);
		return tfs_nomem();
	}
	copy->crc32c = crc;
	m->ckpt_graph_dirty = 0;
	return tfs_model_replace_entry(m, (size_t)(e - m->bundle->e), data, len, copy);
}

static int make_plan(tfshrink_model *m, plan *p)
{
	tfs_bundle *b = m->bundle;
	memset(p, 0, sizeof *p);
	tfs_table_writer_init(&p->index);
	TFS_TRY(refresh_ckpt_graph(m));
	p->num_shards = b->num_shards;
	p->v = calloc(b->n ? b->n : 1, sizeof *p->v);
	p->shard_size = calloc((size_t)b->num_shards, sizeof *p->shard_size);
	plan_item **by_key = calloc(b->n ? b->n : 1, sizeof *by_key);
	if (!p->v || !p->shard_size || !by_key) {
		free(by_key);
		return tfs_nomem();
	}
	for (size_t i = 0; i < b->n; i++) {
		if (tfs_model_entry_removed(m, i))
			continue;
		const tfs_entry_edit *ed = m->edits ? &m->edits[i] : NULL;
		const Tensorflow__BundleEntryProto *src = b->e[i].proto;
		plan_item *it = &p->v[p->n++];
		it->idx = i;
		it->share_with = ed ? ed->share_with : 0;
		it->entry = (ed && ed->entry) ? *ed->entry : *src;
		it->shard = src->n_slices ? 0 : src->shard_id;
		if (ed && ed->data) {
			it->mem = ed->data;
			it->len = ed->data_len;
		} else if (!src->n_slices) {
			it->src = &b->shards[src->shard_id];
			it->src_off = (uint64_t)src->offset;
			it->len = (uint64_t)src->size;
			it->check_crc = (int)src->dtype != TFS_DT_STRING && (int)src->dtype != TFS_DT_VARIANT;
		}
	}
	tfs_qsort(p->v, p->n, sizeof *p->v, cmp_item);
	/* Entries a pass declared to share another's bytes: valid while both
	 * keep their input bytes (neither removed nor replaced since). */
	plan_item **at = NULL;
	for (size_t k = 0; k < p->n && !at; k++)
		if (p->v[k].share_with && !(at = calloc(b->n, sizeof *at))) {
			free(by_key);
			return tfs_nomem();
		}
	for (size_t k = 0; at && k < p->n; k++)
		at[p->v[k].idx] = &p->v[k];
	for (size_t k = 0; at && k < p->n; k++) {
		plan_item *it = &p->v[k];
		const plan_item *t = it->share_with && it->share_with <= b->n ? at[it->share_with - 1] : NULL;
		/* Both replaced (e.g. both quantized by the weights pass): still
		 * shared when the new bytes are equal too. */
		int both_mem = t && it->mem && t->mem && it->len == t->len && it->entry.dtype == t->entry.dtype &&
		               (it->len == 0 || !memcmp(it->mem, t->mem, (size_t)it->len));
		if (!t || t->share_with || t == it || (!both_mem && (!it->src || !t->src)) || it->len != t->len ||
		    t->entry.n_slices)
			it->share_with = 0;
	}
	const plan_item *prev = NULL;
	for (size_t k = 0; k < p->n; k++) {
		plan_item *it = &p->v[k];
		if (it->entry.n_slices || it->share_with) {
			by_key[k] = it;
			continue;
		}
		/* Entries that shared stored bytes in the input keep sharing them. */
		if (prev && !it->mem && !prev->mem && prev->src == it->src && prev->src_off == it->src_off &&
		    prev->len == it->len && prev->entry.crc32c == it->entry.crc32c) {
			it->off = prev->off;
			it->writes = 0;
		} else {
			it->off = p->shard_size[it->shard];
			it->writes = 1;
			p->shard_size[it->shard] += it->len;
			p->data_bytes += it->len;
		}
		it->entry.shard_id = it->shard;
		it->entry.offset = (int64_t)it->off;
		it->entry.size = (int64_t)it->len;
		if (it->mem && (int)it->entry.dtype != TFS_DT_STRING && (int)it->entry.dtype != TFS_DT_VARIANT)
			it->entry.crc32c = tfs_crc_mask(tfs_crc32c(it->mem, (size_t)it->len));
		prev = it;
		by_key[k] = it;
	}
	for (size_t k = 0; at && k < p->n; k++) {
		plan_item *it = &p->v[k];
		if (!it->share_with)
			continue;
		const plan_item *t = at[it->share_with - 1];
		it->shard = t->shard;
		it->off = t->off;
		it->writes = 0;
		it->entry.shard_id = it->shard;
		it->entry.offset = (int64_t)it->off;
		it->entry.size = (int64_t)it->len;
		it->entry.crc32c = t->entry.crc32c; /* same bytes */
	}
	free(at);
	tfs_qsort_r(by_key, p->n, sizeof *by_key, cmp_key_item, b);
	/* The index: header first, then entries in key order. */
	Tensorflow__BundleHeaderProto h = *b->header;
	h.num_shards = p->num_shards;
	size_t hl = tensorflow__bundle_header_proto__get_packed_size(&h);
	uint8_t *hb = malloc(hl ? hl : 1);
	int rc = hb ? 0 : tfs_nomem();
	if (rc == 0) {
		tensorflow__bundle_header_proto__pack(&h, hb);
		rc = tfs_table_writer_add(&p->index, "", 0, hb, hl);
	}
	free(hb);
	uint8_t *eb = NULL;
	size_t ecap = 0;
	for (size_t k = 0; rc == 0 && k < p->n; k++) {
		const tfs_bundle_entry *e = &b->e[by_key[k]->idx];
		size_t el = tensorflow__bundle_entry_proto__get_packed_size(&by_key[k]->entry);
		if (el > ecap) {
			uint8_t *nb = realloc(eb, el);
			if (!nb) {
				rc = tfs_nomem();
				break;
			}
			eb = nb;
			ecap = el;
		}
		tensorflow__bundle_entry_proto__pack(&by_key[k]->entry, eb);
		rc = tfs_table_writer_add(&p->index, e->key, e->key_len, eb, el);
	}
	free(eb);
	free(by_key);
	if (rc == 0)
		rc = tfs_table_writer_finish(&p->index);
	return rc;
}

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

#define CHUNK ((uint64_t)8 << 20)

static int write_item(tfs_out *o, const plan_item *it, const char *key)
{
	if (it->mem)
		return tfs_out_write(o, it->mem, (size_t)it->len);
	uint32_t crc = 0;
	for (uint64_t done = 0; done < it->len;) {
		uint64_t k = it->len - done < CHUNK ? it->len - done : CHUNK;
		const uint8_t *p = it->src->data + it->src_off + done;
		if (it->check_crc)
			crc = tfs_crc32c_extend(crc, p, (size_t)k);
		TFS_TRY(tfs_out_write(o, p, (size_t)k));
		tfs_map_release(it->src, it->src_off + done, k);
		done += k;
	}
	if (it->check_crc && !tfs_crc_ok(it->entry.crc32c, tfs_crc_mask(crc)))
		return tfs_err(TFSHRINK_ECORRUPT, it->src->path, (int64_t)it->src_off,
		               "tensor '%s': checksum does not match its %" PRIu64 " bytes", key, it->len);
	return 0;
}

static int write_bundle(tfshrink_model *m, const char *tmp, write_ctx *c)
{
	tfs_bundle *b = m->bundle;
	plan p;
	int rc = make_plan(m, &p);
	char *prefix = tfs_path_join(tmp, "variables/variables");
	if (rc == 0 && !prefix)
		rc = TFSHRINK_ENOMEM;
	c->total = p.data_bytes;
	for (int s = 0; rc == 0 && s < p.num_shards; s++) {
		char *path = tfs_bundle_shard_path(prefix, s, p.num_shards);
		tfs_out o;
		rc = path ? tfs_out_open(&o, path) : TFSHRINK_ENOMEM;
		free(path);
		for (size_t k = 0; rc == 0 && k < p.n; k++) {
			const plan_item *it = &p.v[k];
			if (it->shard != s || !it->writes)
				continue;
			const tfs_bundle_entry *e = &b->e[it->idx];
			/* String and variant layouts are checked before they are copied. */
			if (!it->mem && !it->check_crc && (rc = tfs_bundle_verify(b, e)) < 0)
				break;
			rc = write_item(&o, it, (const char *)e->key);
			c->done += it->len;
			if (rc == 0)
				rc = progress(c, "variables");
		}
		if (rc == 0)
			rc = tfs_out_close(&o);
		else if (path)
			tfs_out_abort(&o);
	}
	if (rc == 0) {
		char *ip = tfs_path_join(tmp, "variables/variables.index");
		rc = ip ? tfs_write_file(ip, p.index.out.data, p.index.out.len) : TFSHRINK_ENOMEM;
		free(ip);
	}
	free(prefix);
	plan_free(&p);
	return rc;
}

static int kept_file(const tfshrink_model *m, size_t i)
{
	return !tfs_model_is_core_file(m, m->files[i].rel) && !tfs_model_file_removed(m, i);
}

static int copy_side_files(tfshrink_model *m, const char *tmp)
{
	for (size_t i = 0; i < m->n_files; i++) {
		if (!kept_file(m, i))
			continue;
		const char *rel = m->files[i].rel;
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

/* 1 if the input has a fingerprint.pb the output keeps in some form. */
static int has_fingerprint(const tfshrink_model *m, uint64_t *size)
{
	for (size_t i = 0; i < m->n_files; i++)
		if (!strcmp(m->files[i].rel, "fingerprint.pb") && kept_file(m, i)) {
			*size = m->files[i].size;
			return m->fingerprint_policy != TFS_FP_DROP;
		}
	return 0;
}

static int file_holds(const char *path, const uint8_t *p, size_t n)
{
	tfs_map f;
	if (tfs_map_open(&f, path, (uint64_t)n) < 0) {
		tfs_err_clear();
		return 0;
	}
	int same = f.size == n && (n == 0 || memcmp(f.data, p, n) == 0);
	tfs_map_close(&f);
	return same;
}

/* The output's fingerprint.pb, given its saved_model.pb and variables.index
 * bytes (index NULL without a bundle). It hashes both, so the input's stays
 * (*keep) only under KEEP_IF_FRESH when both came out byte-identical; else a
 * fresh one is computed as TensorFlow would (*fp, malloc'd), since a stale
 * fingerprint misreports identity. Neither: the output gets none (DROP, no
 * fingerprint in the input, or one TensorFlow itself could not compute). */
static int plan_fingerprint(tfshrink_model *m, const uint8_t *pb, size_t pbn, const uint8_t *idx, size_t idxn,
                            int note, int *keep, uint8_t **fp, size_t *fpn)
{
	uint64_t size;
	*keep = 0;
	*fp = NULL;
	*fpn = 0;
	if (!has_fingerprint(m, &size))
		return 0;
	if (m->fingerprint_policy == TFS_FP_KEEP_IF_FRESH && !m->pb_is_text && file_holds(m->pb_path, pb, pbn)) {
		char *ib = tfs_path_join(m->dir, "variables/variables.index");
		if (!ib)
			return TFSHRINK_ENOMEM;
		*keep = !idx || file_holds(ib, idx, idxn);
		free(ib);
		if (*keep)
			return 0;
	}
	int rc = tfs_fingerprint_compute(m, pb, pbn, idx, idxn, fp, fpn);
	if (rc == TFSHRINK_EUNSUPPORTED) {
		rc = note ? tfs_model_note(m, "fingerprint.pb dropped: %s", tfshrink_error_last()->message) : 0;
		tfs_err_clear();
	}
	return rc;
}

/* Replaces the copied fingerprint.pb with what plan_fingerprint decides
 * (pb NULL: the output gets none). */
static int write_fingerprint(tfshrink_model *m, const char *tmp, const uint8_t *pb, size_t pbn)
{
	char *fpath = tfs_path_join(tmp, "fingerprint.pb");
	char *ipath = tfs_path_join(tmp, "variables/variables.index");
	uint8_t *idx = NULL, *fp = NULL;
	size_t idxn = 0, fpn = 0;
	int keep = 0, rc = (fpath && ipath) ? 0 : TFSHRINK_ENOMEM;
	if (rc == 0 && pb && m->bundle)
		rc = tfs_read_file(ipath, (uint64_t)1 << 32, &idx, &idxn);
	if (rc == 0 && pb)
		rc = plan_fingerprint(m, pb, pbn, idx, idxn, 1, &keep, &fp, &fpn);
	if (rc == 0 && !keep && remove(fpath) < 0 && errno != ENOENT)
		rc = tfs_err_errno(fpath, "remove");
	if (rc == 0 && fp)
		rc = tfs_write_file(fpath, fp, fpn);
	free(fp);
	free(idx);
	free(ipath);
	free(fpath);
	return rc;
}

static int same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Size of the fingerprint.pb plan_fingerprint would give for these bytes
 * (fp_in when it keeps the input's), from m->fp_cache when they are the
 * ones it last saw. The uuid is random but of fixed length, so a size
 * computed once holds for the same bytes. */
static int forecast_fingerprint(tfshrink_model *m, const uint8_t *pb, size_t pbn, const uint8_t *idx, size_t idxn,
                                uint64_t fp_in, uint64_t *size)
{
	struct tfs_fp_cache *c = &m->fp_cache;
	if (c->valid && c->policy == m->fingerprint_policy && c->has_idx == (idx != NULL) &&
	    same_bytes(c->pb, c->pbn, pb, pbn) && same_bytes(c->idx, c->idxn, idx, idxn)) {
		*size = c->keep ? fp_in : c->fpn;
		return 0;
	}
	uint8_t *fp = NULL;
	size_t fpn = 0;
	int keep = 0;
	TFS_TRY(plan_fingerprint(m, pb, pbn, idx, idxn, 0, &keep, &fp, &fpn));
	free(fp);
	*size = keep ? fp_in : fpn;
	free(c->pb);
	free(c->idx);
	memset(c, 0, sizeof *c);
	c->pb = pbn ? malloc(pbn) : NULL;
	c->idx = idxn ? malloc(idxn) : NULL;
	if ((pbn && !c->pb) || (idxn && !c->idx))
		return 0; /* no cache this time; the size stands */
	if (pbn)
		memcpy(c->pb, pb, pbn);
	if (idxn)
		memcpy(c->idx, idx, idxn);
	c->pbn = pbn;
	c->idxn = idxn;
	c->has_idx = idx != NULL;
	c->policy = m->fingerprint_policy;
	c->keep = keep;
	c->fpn = fpn;
	c->valid = 1;
	return 0;
}

int tfs_model_projected_size(tfshrink_model *m, uint64_t *out)
{
	uint64_t total = protobuf_c_message_get_packed_size(&m->sm->base), fp_in;
	plan p;
	int rc = 0;
	memset(&p, 0, sizeof p);
	if (m->bundle && (rc = make_plan(m, &p)) == 0)
		total += p.data_bytes + p.index.out.len;
	if (rc == 0 && has_fingerprint(m, &fp_in)) {
		/* the fingerprint that would be written, hashes and all */
		uint8_t *pb = NULL;
		size_t pbn = 0;
		uint64_t fpn = 0;
		rc = tfs_pb_pack(&m->sm->base, &pb, &pbn);
		if (rc == 0)
			rc = forecast_fingerprint(m, pb, pbn, m->bundle ? p.index.out.data : NULL, p.index.out.len, fp_in,
			                          &fpn);
		total += fpn;
		free(pb);
	}
	plan_free(&p);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < m->n_files; i++)
		if (kept_file(m, i) && strcmp(m->files[i].rel, "fingerprint.pb"))
			total += m->files[i].size;
	*out = total;
	return 0;
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
	uint64_t fp_in;
	if (!has_fingerprint(m, &fp_in)) {
		free(pb);
		pb = NULL;
	}
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
		rc = write_fingerprint(m, tmp, pb, pbn);
	free(pb);
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
