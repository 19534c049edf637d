#include "bundle.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ckd.h"
#include "crc32c.h"
#include "cursor.h"
#include "dtype.h"
#include "error.h"
#include "tfs_limits.h"
#include "pbio.h"
#include "table.h"

/* Streaming granularity: small enough to keep resident pages bounded. */
#define CHUNK ((uint64_t)8 << 20)

char *tfs_bundle_shard_path(const char *prefix, int i, int n)
{
	size_t len = strlen(prefix) + 32;
	char *p = malloc(len);
	if (!p) {
		tfs_nomem();
		return NULL;
	}
	snprintf(p, len, "%s.data-%05d-of-%05d", prefix, i, n);
	return p;
}

/* Elements of a shape, checked against overflow and the named limits. */
static int shape_elements(const Tensorflow__TensorShapeProto *s, const char *path, uint64_t off,
                          const char *key, int64_t *out)
{
	int64_t n = 1;
	if (!s) {
		*out = 1;
		return 0;
	}
	if (s->unknown_rank)
		return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)off, "tensor '%s' has unknown rank", key);
	if (s->n_dim > TFS_MAX_DIMS)
		return tfs_err(TFSHRINK_ELIMIT, path, (int64_t)off, "tensor '%s' has %zu dimensions (limit %d)",
		               key, s->n_dim, TFS_MAX_DIMS);
	for (size_t i = 0; i < s->n_dim; i++) {
		int64_t d = s->dim[i]->size;
		if (d < 0)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)off,
			               "tensor '%s' has negative dimension %" PRId64, key, d);
		if (tfs_ckd_mul(&n, n, d) || n > TFS_MAX_ELEMENTS)
			return tfs_err(TFSHRINK_ELIMIT, path, (int64_t)off,
			               "tensor '%s' has more than 2^58 elements", key);
	}
	*out = n;
	return 0;
}

static int check_versions(const Tensorflow__BundleHeaderProto *h, const char *path)
{
	const Tensorflow__VersionDef *v = h->version;
	int producer = v ? v->producer : 0, min_consumer = v ? v->min_consumer : 0;
	if (producer < 0)
		return tfs_err(TFSHRINK_EUNSUPPORTED, path, -1, "bundle producer version %d is too old", producer);
	if (min_consumer > 1)
		return tfs_err(TFSHRINK_EUNSUPPORTED, path, -1,
		               "bundle needs a reader of version %d or newer (this one is 1)", min_consumer);
	for (size_t i = 0; v && i < v->n_bad_consumers; i++)
		if (v->bad_consumers[i] == 1)
			return tfs_err(TFSHRINK_EUNSUPPORTED, path, -1, "bundle disallows reader version 1");
	return 0;
}

static const char *key_str(const tfs_bundle_entry *e)
{
	return (const char *)e->key; /* NUL-terminated copy; slice keys print up to their first NUL */
}

static int check_entry(tfs_bundle *b, tfs_bundle_entry *e)
{
	const Tensorflow__BundleEntryProto *p = e->proto;
	const char *path = b->index_path;
	uint64_t off = e->index_offset;
	int dt = (int)p->dtype;
	if (!tfs_dtype_valid(dt) || dt == TFS_DT_RESOURCE)
		return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)off, "tensor '%s' has invalid dtype %d", key_str(e), dt);
	TFS_TRY(shape_elements(p->shape, path, off, key_str(e), &e->elements));
	if (p->n_slices > 0) {
		e->elements = -1; /* the full tensor lives in its slice entries */
		return 0;
	}
	if (p->shard_id < 0 || p->shard_id >= b->num_shards)
		return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)off,
		               "tensor '%s' names shard %d but the bundle has %d", key_str(e), p->shard_id, b->num_shards);
	if (p->offset < 0 || p->size < 0)
		return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)off, "tensor '%s' has a negative offset or size", key_str(e));
	const tfs_map *m = &b->shards[p->shard_id];
	if (!tfs_range_ok((uint64_t)p->offset, (uint64_t)p->size, m->size))
		return tfs_err(TFSHRINK_ECORRUPT, m->path, (int64_t)p->offset,
		               "tensor '%s' (%" PRId64 " bytes at %" PRId64 ") runs past the end of the %" PRIu64 "-byte shard",
		               key_str(e), p->size, p->offset, m->size);
	int es = tfs_dtype_size(dt);
	if (es > 0) {
		int64_t want;
		if (tfs_ckd_mul(&want, e->elements, (int64_t)es) || want != p->size)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)off,
			               "tensor '%s': %" PRId64 " bytes stored, but %" PRId64 " %s elements need %" PRId64,
			               key_str(e), p->size, e->elements, tfs_dtype_name(dt), e->elements * es);
	} else if (dt != TFS_DT_STRING && dt != TFS_DT_VARIANT) {
		return tfs_err(TFSHRINK_EUNSUPPORTED, path, (int64_t)off,
		               "tensor '%s' has dtype %s, which bundles do not store this way", key_str(e), tfs_dtype_name(dt));
	}
	return 0;
}

static int cmp_key(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

int tfs_bundle_open(const char *prefix, tfs_bundle **out)
{
	tfs_bundle *b = calloc(1, sizeof *b);
	tfs_map idx = { 0 };
	tfs_table *t = NULL;
	int rc = 0;
	if (!b)
		return tfs_nomem();
	b->prefix = strdup(prefix);
	size_t il = strlen(prefix) + 8;
	b->index_path = malloc(il);
	if (!b->prefix || !b->index_path) {
		rc = tfs_nomem();
		goto fail;
	}
	snprintf(b->index_path, il, "%s.index", prefix);
	if ((rc = tfs_map_open(&idx, b->index_path, TFS_MAX_INDEX_BYTES)) < 0)
		goto fail;
	b->index_bytes = idx.size;
	if ((rc = tfs_table_read(idx.data, (size_t)idx.size, b->index_path, &t)) < 0)
		goto fail;
	if (t->n == 0 || t->kv[0].key_len != 0) {
		rc = tfs_err(TFSHRINK_ECORRUPT, b->index_path, -1, "no bundle header (the entry with the empty key)");
		goto fail;
	}
	if ((rc = tfs_pb_unpack(&tensorflow__bundle_header_proto__descriptor, t->kv[0].val, t->kv[0].val_len,
	                        b->index_path, (ProtobufCMessage **)&b->header)) < 0)
		goto fail;
	if ((rc = check_versions(b->header, b->index_path)) < 0)
		goto fail;
	/* Data bytes are read as they are stored: only little-endian bundles. */
	if (b->header->endianness != TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE) {
		int big = b->header->endianness == TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__BIG;
		rc = big ? tfs_err(TFSHRINK_EUNSUPPORTED, b->index_path, -1,
		                   "bundle is big-endian; only little-endian bundles are supported")
		         : tfs_err(TFSHRINK_ECORRUPT, b->index_path, -1, "bundle header has unknown endianness %d",
		                   (int)b->header->endianness);
		goto fail;
	}
	if (b->header->num_shards <= 0 || b->header->num_shards > TFS_MAX_SHARDS) {
		rc = tfs_err(b->header->num_shards <= 0 ? TFSHRINK_ECORRUPT : TFSHRINK_ELIMIT, b->index_path, -1,
		             "bundle header says %d data shards (allowed: 1 to %d)", b->header->num_shards, TFS_MAX_SHARDS);
		goto fail;
	}
	if (t->n - 1 > TFS_MAX_TENSORS) {
		rc = tfs_err(TFSHRINK_ELIMIT, b->index_path, -1, "more than %u tensors", TFS_MAX_TENSORS);
		goto fail;
	}
	b->num_shards = b->header->num_shards;
	b->shards = calloc((size_t)b->num_shards, sizeof *b->shards);
	if (!b->shards) {
		rc = tfs_nomem();
		goto fail;
	}
	for (int i = 0; i < b->num_shards; i++) {
		char *sp = tfs_bundle_shard_path(prefix, i, b->num_shards);
		if (!sp) {
			rc = TFSHRINK_ENOMEM;
			goto fail;
		}
		rc = tfs_map_open(&b->shards[i], sp, UINT64_MAX);
		if (rc == TFSHRINK_ENOTFOUND)
			tfs_err(TFSHRINK_ENOTFOUND, sp, -1, "data shard %d of %d is missing", i, b->num_shards);
		free(sp);
		if (rc < 0)
			goto fail;
	}
	b->n = t->n - 1;
	b->e = calloc(b->n ? b->n : 1, sizeof *b->e);
	if (!b->e) {
		rc = tfs_nomem();
		goto fail;
	}
	for (size_t i = 0; i < b->n; i++) {
		const tfs_table_kv *kv = &t->kv[i + 1];
		tfs_bundle_entry *e = &b->e[i];
		e->key = malloc(kv->key_len + 1);
		if (!e->key) {
			rc = tfs_nomem();
			goto fail;
		}
		memcpy(e->key, kv->key, kv->key_len);
		e->key[kv->key_len] = '\0';
		e->key_len = kv->key_len;
		e->index_offset = kv->offset;
		if ((rc = tfs_pb_unpack(&tensorflow__bundle_entry_proto__descriptor, kv->val, kv->val_len,
		                        b->index_path, (ProtobufCMessage **)&e->proto)) < 0) {
			tfs_err_context("entry '%s'", (const char *)e->key);
			goto fail;
		}
		if ((rc = check_entry(b, e)) < 0)
			goto fail;
	}
	tfs_table_free(t);
	tfs_map_close(&idx);
	*out = b;
	return 0;
fail:
	tfs_table_free(t);
	tfs_map_close(&idx);
	tfs_bundle_free(b);
	return rc;
}

void tfs_bundle_free(tfs_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].key);
		if (b->e[i].proto)
			tensorflow__bundle_entry_proto__free_unpacked(b->e[i].proto, NULL);
	}
	free(b->e);
	for (int i = 0; b->shards && i < b->num_shards; i++)
		tfs_map_close(&b->shards[i]);
	free(b->shards);
	if (b->header)
		tensorflow__bundle_header_proto__free_unpacked(b->header, NULL);
	free(b->prefix);
	free(b->index_path);
	free(b);
}

const tfs_bundle_entry *tfs_bundle_find(const tfs_bundle *b, const void *key, size_t len)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(b->e[mid].key, b->e[mid].key_len, key, len);
		if (c == 0)
			return &b->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int tfs_bundle_data(const tfs_bundle *b, const tfs_bundle_entry *e, const uint8_t **p, uint64_t *n)
{
	const Tensorflow__BundleEntryProto *pr = e->proto;
	if (pr->n_slices > 0) {
		*p = NULL;
		*n = 0;
		return 0;
	}
	const tfs_map *m = &b->shards[pr->shard_id];
	*p = m->data ? m->data + pr->offset : (const uint8_t *)"";
	*n = (uint64_t)pr->size;
	return 0;
}

/* CRC of mapped bytes, releasing pages behind the scan. */
static uint32_t crc_mapped(const tfs_map *m, uint64_t off, uint64_t n)
{
	uint32_t c = 0;
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < CHUNK ? n - done : CHUNK;
		c = tfs_crc32c_extend(c, m->data + off + done, (size_t)k);
		tfs_map_release(m, off + done, k);
		done += k;
	}
	return c;
}

/* Checks a DT_STRING tensor's layout and returns its CRC (unmasked). */
static int string_crc(const char *path, uint64_t base, const uint8_t *p, uint64_t size, int64_t count,
                      const char *key, uint32_t *crc_out)
{
	tfs_cursor c;
	tfs_cur_init(&c, p, (size_t)size, base, path);
	uint32_t lcrc = 0;
	uint64_t total = 0;
	for (int64_t i = 0; i < count; i++) {
		uint64_t len;
		TFS_TRY(tfs_cur_varint64(&c, &len, "string length"));
		if (len > size || tfs_ckd_add(&total, total, len) || total > size)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tfs_cur_offset(&c),
			               "string tensor '%s': lengths add up to more than its %" PRIu64 " bytes", key, size);
		if (len > UINT32_MAX) {
			uint8_t le[8];
			for (int k = 0; k < 8; k++)
				le[k] = (uint8_t)(len >> (8 * k));
			lcrc = tfs_crc32c_extend(lcrc, le, 8);
		} else {
			uint8_t le[4];
			tfs_put_u32le(le, (uint32_t)len);
			lcrc = tfs_crc32c_extend(lcrc, le, 4);
		}
	}
	uint32_t stored;
	const uint8_t *stored_bytes = c.p;
	TFS_TRY(tfs_cur_u32le(&c, &stored, "string length checksum"));
	if (!tfs_crc_ok(tfs_crc_unmask(stored), lcrc))
		return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)(tfs_cur_offset(&c) - 4),
		               "string tensor '%s': length checksum does not match", key);
	if (tfs_cur_left(&c) < total)
		return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tfs_cur_offset(&c),
		               "string tensor '%s': string bytes run past the entry", key);
	uint32_t crc = tfs_crc32c_extend(lcrc, stored_bytes, 4);
	crc = tfs_crc32c_extend(crc, c.p, (size_t)total);
	*crc_out = crc;
	return 0;
}

/* Checks a DT_VARIANT tensor: per element a varint64 length, the serialized
 * VariantTensorDataProto and a masked running checksum; returns the running CRC. */
static int variant_crc(const char *path, uint64_t base, const uint8_t *p, uint64_t size, int64_t count,
                       const char *key, uint32_t *crc_out)
{
	tfs_cursor c;
	tfs_cur_init(&c, p, (size_t)size, base, path);
	uint32_t crc = 0;
	for (int64_t i = 0; i < count; i++) {
		uint64_t len;
		const uint8_t *bytes;
		uint32_t stored;
		TFS_TRY(tfs_cur_varint64(&c, &len, "variant length"));
		uint8_t le[8];
		for (int k = 0; k < 8; k++)
			le[k] = (uint8_t)(len >> (8 * k));
		crc = tfs_crc32c_extend(crc, le, 8);
		TFS_TRY(tfs_cur_take(&c, len, &bytes, "variant element"));
		crc = tfs_crc32c_extend(crc, bytes, (size_t)len);
		const uint8_t *sb = c.p;
		TFS_TRY(tfs_cur_u32le(&c, &stored, "variant element checksum"));
		if (!tfs_crc_ok(stored, tfs_crc_mask(crc)))
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)(tfs_cur_offset(&c) - 4),
			               "variant tensor '%s': element %" PRId64 " checksum does not match", key, i);
		crc = tfs_crc32c_extend(crc, sb, 4);
	}
	*crc_out = crc;
	return 0;
}

int tfs_bundle_verify(const tfs_bundle *b, const tfs_bundle_entry *e)
{
	const Tensorflow__BundleEntryProto *p = e->proto;
	if (p->n_slices > 0)
		return 0;
	const tfs_map *m = &b->shards[p->shard_id];
	uint32_t crc = 0;
	if ((int)p->dtype == TFS_DT_STRING) {
		TFS_TRY(string_crc(m->path, (uint64_t)p->offset, m->data + p->offset, (uint64_t)p->size,
		                   e->elements, key_str(e), &crc));
	} else if ((int)p->dtype == TFS_DT_VARIANT) {
		TFS_TRY(variant_crc(m->path, (uint64_t)p->offset, m->data + p->offset, (uint64_t)p->size,
		                    e->elements, key_str(e), &crc));
	} else {
		crc = crc_mapped(m, (uint64_t)p->offset, (uint64_t)p->size);
	}
	if (!tfs_crc_ok(p->crc32c, tfs_crc_mask(crc)))
		return tfs_err(TFSHRINK_ECORRUPT, m->path, p->offset,
		               "tensor '%s': checksum does not match its %" PRId64 " bytes", key_str(e), p->size);
	return 0;
}
