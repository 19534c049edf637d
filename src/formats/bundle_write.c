#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "ckd.h"
#include "crc32c.h"
#include "cursor.h"
#include "dtype.h"
#include "error.h"
#include "sort.h"
#include "table.h"

#define CHUNK ((uint64_t)8 << 20)

int tfs_bundle_writer_open(tfs_bundle_writer *w, const char *prefix, int num_shards,
                           const Tensorflow__BundleHeaderProto *header)
{
	memset(w, 0, sizeof *w);
	if (num_shards < 1)
		return tfs_err(TFSHRINK_EINVAL, prefix, -1, "a bundle needs at least one shard");
	w->prefix = strdup(prefix);
	w->shards = calloc((size_t)num_shards, sizeof *w->shards);
	w->header = malloc(sizeof *w->header);
	if (!w->prefix || !w->shards || !w->header) {
		free(w->prefix);
		free(w->shards);
		free(w->header);
		memset(w, 0, sizeof *w);
		return tfs_nomem();
	}
	if (header) {
		*w->header = *header; /* shallow: the template outlives the writer */
	} else {
		Tensorflow__BundleHeaderProto init = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
		*w->header = init;
	}
	w->header->num_shards = num_shards;
	for (int i = 0; i < num_shards; i++)
		w->shards[i].fd = -1;
	w->num_shards = num_shards;
	for (int i = 0; i < num_shards; i++) {
		char *p = tfs_bundle_shard_path(prefix, i, num_shards);
		if (!p)
			return TFSHRINK_ENOMEM;
		int rc = tfs_out_open(&w->shards[i], p);
		free(p);
		if (rc < 0)
			return rc;
	}
	return 0;
}

uint64_t tfs_bundle_writer_pos(const tfs_bundle_writer *w, int shard)
{
	return w->shards[shard].written;
}

int tfs_bundle_writer_add_entry(tfs_bundle_writer *w, const void *key, size_t key_len,
                                const Tensorflow__BundleEntryProto *e)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		tfs_bundle_wentry *v = realloc(w->v, cap * sizeof *v);
		if (!v)
			return tfs_nomem();
		w->v = v;
		w->cap = cap;
	}
	tfs_bundle_wentry *we = &w->v[w->n];
	we->key = malloc(key_len + 1);
	we->packed_len = tensorflow__bundle_entry_proto__get_packed_size(e);
	we->packed = malloc(we->packed_len ? we->packed_len : 1);
	if (!we->key || !we->packed) {
		free(we->key);
		free(we->packed);
		return tfs_nomem();
	}
	memcpy(we->key, key, key_len);
	we->key[key_len] = '\0';
	we->key_len = key_len;
	tensorflow__bundle_entry_proto__pack(e, we->packed);
	w->n++;
	return 0;
}

static int check_shard(tfs_bundle_writer *w, int shard)
{
	if (shard < 0 || shard >= w->num_shards)
		return tfs_err(TFSHRINK_EINVAL, w->prefix, -1, "shard %d out of range", shard);
	return 0;
}

int tfs_bundle_writer_add_mapped(tfs_bundle_writer *w, const void *key, size_t key_len,
                                 const Tensorflow__BundleEntryProto *tmpl, int shard,
                                 const tfs_map *src, uint64_t off, uint64_t n, int check_crc,
                                 uint64_t *offset_out)
{
	TFS_TRY(check_shard(w, shard));
	if (!tfs_range_ok(off, n, src->size))
		return tfs_err(TFSHRINK_EINVAL, src->path, (int64_t)off, "range outside the mapped file");
	tfs_out *o = &w->shards[shard];
	uint64_t start = o->written;
	uint32_t crc = 0;
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < CHUNK ? n - done : CHUNK;
		const uint8_t *p = src->data + off + done;
		if (check_crc)
			crc = tfs_crc32c_extend(crc, p, (size_t)k);
		TFS_TRY(tfs_out_write(o, p, (size_t)k));
		tfs_map_release(src, off + done, k);
		done += k;
	}
	if (check_crc && !tfs_crc_ok(tmpl->crc32c, tfs_crc_mask(crc)))
		return tfs_err(TFSHRINK_ECORRUPT, src->path, (int64_t)off,
		               "tensor '%.*s': checksum does not match its %" PRIu64 " bytes", (int)key_len,
		               (const char *)key, n);
	Tensorflow__BundleEntryProto e = *tmpl;
	e.shard_id = shard;
	e.offset = (int64_t)start;
	e.size = (int64_t)n;
	if (offset_out)
		*offset_out = start;
	return tfs_bundle_writer_add_entry(w, key, key_len, &e);
}

int tfs_bundle_writer_add_bytes(tfs_bundle_writer *w, const void *key, size_t key_len,
                                const Tensorflow__BundleEntryProto *tmpl, int shard,
                                const uint8_t *data, uint64_t n, uint64_t *offset_out)
{
	TFS_TRY(check_shard(w, shard));
	tfs_out *o = &w->shards[shard];
	uint64_t start = o->written;
	TFS_TRY(tfs_out_write(o, data, (size_t)n));
	Tensorflow__BundleEntryProto e = *tmpl;
	e.shard_id = shard;
	e.offset = (int64_t)start;
	e.size = (int64_t)n;
	if ((int)tmpl->dtype != TFS_DT_STRING && (int)tmpl->dtype != TFS_DT_VARIANT)
		e.crc32c = tfs_crc_mask(tfs_crc32c(data, (size_t)n));
	if (offset_out)
		*offset_out = start;
	return tfs_bundle_writer_add_entry(w, key, key_len, &e);
}

static int cmp_wentry(const void *a, const void *b)
{
	const tfs_bundle_wentry *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = n ? memcmp(x->key, y->key, n) : 0;
	if (c)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

int tfs_bundle_writer_finish(tfs_bundle_writer *w)
{
	int rc = 0;
	for (int i = 0; i < w->num_shards; i++) {
		int r = tfs_out_close(&w->shards[i]);
		if (r < 0 && rc == 0)
			rc = r;
	}
	if (rc < 0)
		return rc;
	tfs_qsort(w->v, w->n, sizeof *w->v, cmp_wentry);
	tfs_table_writer tw;
	tfs_table_writer_init(&tw);
	size_t hl = tensorflow__bundle_header_proto__get_packed_size(w->header);
	uint8_t *hb = malloc(hl ? hl : 1);
	if (!hb) {
		tfs_table_writer_free(&tw);
		return tfs_nomem();
	}
	tensorflow__bundle_header_proto__pack(w->header, hb);
	rc = tfs_table_writer_add(&tw, "", 0, hb, hl);
	free(hb);
	for (size_t i = 0; rc == 0 && i < w->n; i++) {
		if (i > 0 && cmp_wentry(&w->v[i - 1], &w->v[i]) == 0) {
			rc = tfs_err(TFSHRINK_EINVAL, w->prefix, -1, "tensor '%s' written twice", (const char *)w->v[i].key);
			break;
		}
		rc = tfs_table_writer_add(&tw, w->v[i].key, w->v[i].key_len, w->v[i].packed, w->v[i].packed_len);
	}
	if (rc == 0)
		rc = tfs_table_writer_finish(&tw);
	if (rc == 0) {
		char *ip = malloc(strlen(w->prefix) + 8);
		if (!ip) {
			rc = tfs_nomem();
		} else {
			sprintf(ip, "%s.index", w->prefix);
			rc = tfs_write_file(ip, tw.out.data, tw.out.len);
			w->index_bytes = tw.out.len;
			free(ip);
		}
	}
	tfs_table_writer_free(&tw);
	return rc;
}

void tfs_bundle_writer_free(tfs_bundle_writer *w)
{
	for (int i = 0; w->shards && i < w->num_shards; i++)
		tfs_out_abort(&w->shards[i]);
	free(w->shards);
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].key);
		free(w->v[i].packed);
	}
	free(w->v);
	free(w->header);
	free(w->prefix);
	memset(w, 0, sizeof *w);
}

int tfs_bundle_encode_strings(const uint8_t *const *strs, const uint64_t *lens, uint64_t n,
                              uint8_t **out, uint64_t *out_len, uint32_t *masked_crc)
{
	tfs_buf b = { 0 };
	uint32_t lcrc = 0;
	int rc = 0;
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		rc = tfs_buf_put_varint(&b, lens[i]);
		uint8_t le[8];
		size_t w = lens[i] > UINT32_MAX ? 8 : 4;
		for (size_t k = 0; k < w; k++)
			le[k] = (uint8_t)(lens[i] >> (8 * k));
		lcrc = tfs_crc32c_extend(lcrc, le, w);
	}
	uint8_t mb[4];
	tfs_put_u32le(mb, tfs_crc_mask(lcrc));
	if (rc == 0)
		rc = tfs_buf_append(&b, mb, 4);
	uint32_t crc = tfs_crc32c_extend(lcrc, mb, 4);
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		rc = tfs_buf_append(&b, strs[i], (size_t)lens[i]);
		crc = tfs_crc32c_extend(crc, strs[i], (size_t)lens[i]);
	}
	if (rc < 0) {
		tfs_buf_free(&b);
		return rc;
	}
	*out = b.data ? b.data : malloc(1);
	*out_len = b.len;
	*masked_crc = tfs_crc_mask(crc);
	return *out ? 0 : tfs_nomem();
}
