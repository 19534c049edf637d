/*
 * table.c - reader and writer for the sorted string table of variables.index.
 *
 * File layout (docs: savedmodel-format.md section 3.3):
 *   [data block]* [metaindex block] [index block] [footer: 48 bytes]
 * Each block on disk is its contents followed by a 5-byte trailer: one type
 * byte (0 raw, 1 snappy) and the masked CRC32C of contents + type byte.
 * Block contents are prefix-compressed entries followed by an array of
 * fixed32 restart offsets and their count.
 *
 * The reader checks everything it touches and copies keys and values into
 * storage it owns. The writer makes the same choices as TensorFlow's bundle
 * writer so that re-encoding a TensorFlow index gives identical bytes.
 */
#include "formats/table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "ckd.h"
#include "crc32c.h"
#include "cursor.h"
#include "error.h"
#include "tfs_limits.h"

#define FOOTER_LEN 48
#define HANDLES_LEN 40 /* footer bytes holding the two handles and padding */
#define TRAILER_LEN 5
#define MAGIC_LO 0x8b80fb57u
#define MAGIC_HI 0xdb477524u
#define TYPE_RAW 0
#define TYPE_SNAPPY 1
#define TF_BLOCK_SIZE 262144
#define DATA_RESTART_INTERVAL 16
#define INDEX_RESTART_INTERVAL 1

/* Bytewise comparison of two keys: <0, 0, >0. */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int c = m ? memcmp(a, b, m) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

/* Bytes at off in a buffer that may still be unallocated (then empty). */
static const uint8_t *at(const tfs_buf *b, size_t off)
{
	return b->data ? b->data + off : (const uint8_t *)"";
}

static uint32_t block_crc(const uint8_t *contents, size_t n, uint8_t type)
{
	uint32_t c = tfs_crc32c(contents, n);
	return tfs_crc32c_extend(c, &type, 1);
}

/* ================================================================ reader */

typedef struct handle {
	uint64_t off, size;
	size_t sep_off, sep_len; /* index key, in reader.seps */
	uint64_t entry_off;      /* file offset of the index entry (messages) */
} handle;

typedef struct reader {
	const uint8_t *data;
	size_t n;
	const char *path;
	uint64_t limit;      /* bytes before the footer: blocks must end here */
	uint64_t inflated;   /* total bytes of block contents read so far */
	tfs_buf key;         /* key being rebuilt inside a block */
	/* data entries */
	tfs_buf store;       /* key bytes then value bytes of each entry */
	size_t *kv_store;    /* offset in store of each entry's key */
	tfs_table_kv *kv;
	size_t n_kv, cap_kv;
	/* index entries */
	handle *h;
	size_t n_h, cap_h;
	tfs_buf seps;
} reader;

/* Block contents ready to parse: either bytes of the file or a decompressed copy. */
typedef struct block {
	const uint8_t *p;
	size_t n;
	uint8_t *owned;  /* non-NULL when decompressed */
	uint64_t off;    /* file offset of the block */
} block;

/* Checks that a handle read from the file lies inside the block area, trailer
 * included. Each term is compared with what remains, so nothing can wrap. */
static int check_handle(const reader *r, const char *what, uint64_t off, uint64_t size,
                        uint64_t where)
{
	uint64_t rem;
	if (off > r->limit)
		goto bad;
	rem = r->limit - off;
	if (size > rem)
		goto bad;
	rem -= size;
	if (rem < TRAILER_LEN)
		goto bad;
	return 0;
bad:
	return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)where,
	               "%s block handle (offset %" PRIu64 ", size %" PRIu64
	               ") points past the end of the file (%" PRIu64 " bytes of blocks)",
	               what, off, size, r->limit);
}

/* Reads the block at a checked handle: trailer, checksum, type, decompression. */
static int read_block(reader *r, const char *what, uint64_t off, uint64_t size, block *b)
{
	memset(b, 0, sizeof *b);
	b->off = off;
	if (size > TFS_MAX_BLOCK_BYTES)
		return tfs_err(TFSHRINK_ELIMIT, r->path, (int64_t)off,
		               "%s block is %" PRIu64 " bytes, over the limit of %" PRIu64,
		               what, size, (uint64_t)TFS_MAX_BLOCK_BYTES);
	tfs_cursor c;
	const uint8_t *contents;
	uint8_t type;
	uint32_t stored;
	tfs_cur_init(&c, r->data + off, (size_t)size + TRAILER_LEN, off, r->path);
	TFS_TRY(tfs_cur_take(&c, size, &contents, what));
	uint64_t trailer_off = tfs_cur_offset(&c);
	TFS_TRY(tfs_cur_u8(&c, &type, "block type"));
	TFS_TRY(tfs_cur_u32le(&c, &stored, "block checksum"));
	uint32_t want = tfs_crc_unmask(stored);
	uint32_t got = block_crc(contents, (size_t)size, type);
	if (!tfs_crc_ok(want, got))
		return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)off,
		               "%s block checksum mismatch (stored 0x%08" PRIx32
		               ", computed 0x%08" PRIx32 ")", what, want, got);
	if (type == TYPE_RAW) {
		b->p = contents;
		b->n = (size_t)size;
	} else if (type == TYPE_SNAPPY) {
		size_t ulen;
		if (snappy_uncompressed_length((const char *)contents, (size_t)size, &ulen) != SNAPPY_OK)
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)off,
			               "%s block: corrupt snappy data (bad length header)", what);
		if (ulen > TFS_MAX_BLOCK_BYTES)
			return tfs_err(TFSHRINK_ELIMIT, r->path, (int64_t)off,
			               "%s block decompresses to %zu bytes, over the limit of %" PRIu64,
			               what, ulen, (uint64_t)TFS_MAX_BLOCK_BYTES);
		if (snappy_validate_compressed_buffer((const char *)contents, (size_t)size) != SNAPPY_OK)
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)off,
			               "%s block: corrupt snappy data", what);
		b->owned = malloc(ulen ? ulen : 1);
		if (!b->owned)
			return tfs_nomem();
		size_t out_len = ulen;
		if (snappy_uncompress((const char *)contents, (size_t)size, (char *)b->owned,
		                      &out_len) != SNAPPY_OK || out_len != ulen) {
			free(b->owned);
			b->owned = NULL;
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)off,
			               "%s block: corrupt snappy data", what);
		}
		b->p = b->owned;
		b->n = ulen;
	} else {
		return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)trailer_off,
		               "%s block: bad block type %u", what, type);
	}
	if (tfs_ckd_add(&r->inflated, r->inflated, (uint64_t)b->n) ||
	    r->inflated > TFS_MAX_INDEX_BYTES) {
		free(b->owned);
		b->owned = NULL;
		return tfs_err(TFSHRINK_ELIMIT, r->path, (int64_t)off,
		               "table contents exceed %" PRIu64 " bytes after decompression",
		               (uint64_t)TFS_MAX_INDEX_BYTES);
	}
	return 0;
}

/* Called for each entry of a block with the full key. */
typedef int (*entry_fn)(reader *r, const block *b, const uint8_t *key, size_t klen,
                        const uint8_t *val, size_t vlen, uint64_t entry_off);

/*
 * Walks the entries of a block. The restart array must fit the block, the
 * first entry must be restart 0, and every restart offset must land on an
 * entry boundary whose entry shares nothing with its predecessor (a reader
 * that seeks starts decoding there).
 */
static int walk_block_inner(reader *r, const block *b, const char *what, entry_fn fn)
{
	tfs_cursor all, c;
	tfs_cur_init(&all, b->p, b->n, b->owned ? 0 : b->off, r->path);
	if (b->n < 4)
		return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)tfs_cur_offset(&all),
		               "%s block is %zu bytes, too short for a restart count", what, b->n);
	uint32_t nr = tfs_get_u32le(b->p + b->n - 4);
	if ((uint64_t)nr * 4 > (uint64_t)b->n - 4)
		return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)(tfs_cur_offset(&all) + b->n - 4),
		               "%s block: restart count %" PRIu32 " too large for a block of %zu bytes",
		               what, nr, b->n);
	size_t data_len = b->n - 4 - (size_t)nr * 4;
	const uint8_t *restarts = b->p + data_len;
	TFS_TRY(tfs_cur_sub(&all, data_len, &c, "block entries"));

	if (data_len == 0) {
		for (uint32_t j = 0; j < nr; j++)
			if (tfs_get_u32le(restarts + 4 * (size_t)j) != 0)
				return tfs_err(TFSHRINK_ECORRUPT, r->path,
				               (int64_t)(c.base + data_len + 4 * (uint64_t)j),
				               "%s block: restart point %" PRIu32 " past the entries", what, j);
		return 0;
	}

	r->key.len = 0;
	uint32_t j = 0; /* next restart point expected */
	while (tfs_cur_left(&c) > 0) {
		uint64_t entry_off = tfs_cur_offset(&c);
		size_t pos = (size_t)(c.p - c.start);
		uint32_t shared, non_shared, vlen;
		TFS_TRY(tfs_cur_varint32(&c, &shared, "entry shared length"));
		TFS_TRY(tfs_cur_varint32(&c, &non_shared, "entry key length"));
		TFS_TRY(tfs_cur_varint32(&c, &vlen, "entry value length"));
		if (j < nr) {
			uint32_t rp = tfs_get_u32le(restarts + 4 * (size_t)j);
			if (pos == 0 && rp != 0)
				return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
				               "%s block: first restart point is %" PRIu32 ", not 0", what, rp);
			if (rp < pos)
				return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
				               "%s block: restart point %" PRIu32 " (offset %" PRIu32
				               ") is not at an entry boundary", what, j, rp);
			if (rp == pos) {
				if (shared != 0)
					return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
					               "%s block: entry at restart point %" PRIu32
					               " shares %" PRIu32 " bytes with the previous key",
					               what, j, shared);
				j++;
			}
		} else if (pos == 0) {
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
			               "%s block has entries but no restart points", what);
		}
		if (shared > r->key.len)
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
			               "%s block: entry shared prefix of %" PRIu32
			               " bytes is longer than the previous key (%zu bytes)",
			               what, shared, r->key.len);
		uint64_t klen = (uint64_t)shared + non_shared;
		if (klen > TFS_MAX_KEY_BYTES)
			return tfs_err(TFSHRINK_ELIMIT, r->path, (int64_t)entry_off,
			               "%s block: key of %" PRIu64 " bytes, over the limit of %" PRIu64,
			               what, klen, (uint64_t)TFS_MAX_KEY_BYTES);
		const uint8_t *kp, *vp;
		TFS_TRY(tfs_cur_take(&c, non_shared, &kp, "entry key"));
		TFS_TRY(tfs_cur_take(&c, vlen, &vp, "entry value"));
		r->key.len = shared;
		TFS_TRY(tfs_buf_append(&r->key, kp, non_shared));
		TFS_TRY(fn(r, b, r->key.data ? r->key.data : (const uint8_t *)"", r->key.len, vp, vlen,
		           entry_off));
	}
	if (j < nr)
		return tfs_err(TFSHRINK_ECORRUPT, r->path,
		               (int64_t)(c.base + data_len + 4 * (uint64_t)j),
		               "%s block: restart point %" PRIu32 " (offset %" PRIu32
		               ") is not at an entry boundary", what, j,
		               tfs_get_u32le(restarts + 4 * (size_t)j));
	return 0;
}

/* Offsets inside a decompressed block are not file offsets: report the
 * block's own offset and say where inside the block the problem is. */
static int walk_block(reader *r, const block *b, const char *what, entry_fn fn)
{
	int rc = walk_block_inner(r, b, what, fn);
	if (rc < 0 && rc != TFSHRINK_ENOMEM && b->owned) {
		const tfshrink_error *e = tfshrink_error_last();
		char msg[900];
		int64_t inner = e->offset;
		snprintf(msg, sizeof msg, "%s", e->message);
		tfs_err(rc, r->path, (int64_t)b->off,
		        "%s (at byte %" PRId64 " of the block after snappy decompression)", msg, inner);
	}
	return rc;
}

static int index_entry(reader *r, const block *b, const uint8_t *key, size_t klen,
                       const uint8_t *val, size_t vlen, uint64_t entry_off)
{
	if (r->n_h > 0) {
		const handle *prev = &r->h[r->n_h - 1];
		if (key_cmp(at(&r->seps, prev->sep_off), prev->sep_len, key, klen) >= 0)
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
			               "index block keys out of order");
	}
	tfs_cursor c;
	uint64_t off, size;
	tfs_cur_init(&c, val, vlen, (b->owned ? 0 : b->off) + (uint64_t)(val - b->p), r->path);
	TFS_TRY(tfs_cur_varint64(&c, &off, "index entry block offset"));
	TFS_TRY(tfs_cur_varint64(&c, &size, "index entry block size"));
	if (tfs_cur_left(&c) != 0)
		return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
		               "index entry has %zu bytes after its block handle", tfs_cur_left(&c));
	TFS_TRY(check_handle(r, "data", off, size, entry_off));
	if (r->n_h == r->cap_h) {
		size_t cap = r->cap_h ? r->cap_h * 2 : 16;
		handle *h = realloc(r->h, cap * sizeof *h);
		if (!h)
			return tfs_nomem();
		r->h = h;
		r->cap_h = cap;
	}
	handle *h = &r->h[r->n_h];
	h->off = off;
	h->size = size;
	h->sep_off = r->seps.len;
	h->sep_len = klen;
	h->entry_off = b->owned ? b->off : entry_off;
	TFS_TRY(tfs_buf_append(&r->seps, key, klen));
	r->n_h++;
	return 0;
}

static int data_entry(reader *r, const block *b, const uint8_t *key, size_t klen,
                      const uint8_t *val, size_t vlen, uint64_t entry_off)
{
	if (r->n_kv > 0) {
		size_t pk = r->kv_store[r->n_kv - 1];
		if (key_cmp(at(&r->store, pk), r->kv[r->n_kv - 1].key_len, key, klen) >= 0)
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)entry_off,
			               "table keys out of order: entry %zu is not greater than the one before",
			               r->n_kv);
	}
	if (r->n_kv >= (size_t)TFS_MAX_TENSORS + 1)
		return tfs_err(TFSHRINK_ELIMIT, r->path, (int64_t)entry_off,
		               "table has more than %u entries", TFS_MAX_TENSORS + 1);
	if (r->n_kv == r->cap_kv) {
		size_t cap = r->cap_kv ? r->cap_kv * 2 : 64;
		tfs_table_kv *kv = realloc(r->kv, cap * sizeof *kv);
		if (!kv)
			return tfs_nomem();
		r->kv = kv;
		size_t *ks = realloc(r->kv_store, cap * sizeof *ks);
		if (!ks)
			return tfs_nomem();
		r->kv_store = ks;
		r->cap_kv = cap;
	}
	r->kv_store[r->n_kv] = r->store.len;
	TFS_TRY(tfs_buf_append(&r->store, key, klen));
	TFS_TRY(tfs_buf_append(&r->store, val, vlen));
	tfs_table_kv *e = &r->kv[r->n_kv++];
	e->key = NULL; /* set once storage stops moving */
	e->key_len = klen;
	e->val = NULL;
	e->val_len = vlen;
	e->offset = b->off;
	return 0;
}

static int read_all(reader *r)
{
	if (r->n < FOOTER_LEN)
		return tfs_err(TFSHRINK_ECORRUPT, r->path, 0,
		               "file is too short to be an sstable (%zu bytes, need %d)",
		               r->n, FOOTER_LEN);
	if ((uint64_t)r->n > TFS_MAX_INDEX_BYTES)
		return tfs_err(TFSHRINK_ELIMIT, r->path, -1,
		               "table file is %zu bytes, over the limit of %" PRIu64,
		               r->n, (uint64_t)TFS_MAX_INDEX_BYTES);
	r->limit = (uint64_t)r->n - FOOTER_LEN;

	tfs_cursor foot, handles;
	uint32_t lo, hi;
	tfs_cur_init(&foot, r->data + r->limit, FOOTER_LEN, r->limit, r->path);
	TFS_TRY(tfs_cur_sub(&foot, HANDLES_LEN, &handles, "footer"));
	uint64_t magic_off = tfs_cur_offset(&foot);
	TFS_TRY(tfs_cur_u32le(&foot, &lo, "footer magic"));
	TFS_TRY(tfs_cur_u32le(&foot, &hi, "footer magic"));
	if (lo != MAGIC_LO || hi != MAGIC_HI)
		return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)magic_off,
		               "not an sstable (bad magic number)");

	uint64_t moff, msize, ioff, isize;
	uint64_t meta_at = tfs_cur_offset(&handles);
	TFS_TRY(tfs_cur_varint64(&handles, &moff, "metaindex block offset"));
	TFS_TRY(tfs_cur_varint64(&handles, &msize, "metaindex block size"));
	uint64_t index_at = tfs_cur_offset(&handles);
	TFS_TRY(tfs_cur_varint64(&handles, &ioff, "index block offset"));
	TFS_TRY(tfs_cur_varint64(&handles, &isize, "index block size"));
	TFS_TRY(check_handle(r, "metaindex", moff, msize, meta_at));
	TFS_TRY(check_handle(r, "index", ioff, isize, index_at));

	block b;
	TFS_TRY(read_block(r, "index", ioff, isize, &b));
	int rc = walk_block(r, &b, "index", index_entry);
	free(b.owned);
	if (rc < 0)
		return rc;

	for (size_t i = 0; i < r->n_h; i++) {
		const handle *h = &r->h[i];
		size_t first = r->n_kv;
		TFS_TRY(read_block(r, "data", h->off, h->size, &b));
		rc = walk_block(r, &b, "data", data_entry);
		free(b.owned);
		if (rc < 0)
			return rc;
		if (r->n_kv == first)
			continue; /* an empty block: nothing to place */
		/* Lookups pick the first block whose index key is >= the wanted key,
		 * so each block's keys must lie in (previous index key, own index key]. */
		const tfs_table_kv *last = &r->kv[r->n_kv - 1];
		if (key_cmp(at(&r->store, r->kv_store[r->n_kv - 1]), last->key_len,
		            at(&r->seps, h->sep_off), h->sep_len) > 0)
			return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)h->entry_off,
			               "index key of data block %zu is less than the block's last key", i);
		if (i > 0) {
			const handle *p = &r->h[i - 1];
			if (key_cmp(at(&r->store, r->kv_store[first]), r->kv[first].key_len,
			            at(&r->seps, p->sep_off), p->sep_len) <= 0)
				return tfs_err(TFSHRINK_ECORRUPT, r->path, (int64_t)h->off,
				               "first key of data block %zu is not above the previous index key", i);
		}
	}
	return 0;
}

static void reader_free(reader *r)
{
	tfs_buf_free(&r->key);
	tfs_buf_free(&r->store);
	tfs_buf_free(&r->seps);
	free(r->kv_store);
	free(r->kv);
	free(r->h);
}

int tfs_table_read(const uint8_t *data, size_t n, const char *path, tfs_table **out)
{
	*out = NULL;
	reader r;
	memset(&r, 0, sizeof r);
	r.data = data;
	r.n = n;
	r.path = path;
	int rc = read_all(&r);
	tfs_table *t = NULL;
	if (rc == 0) {
		t = calloc(1, sizeof *t);
		if (!t)
			rc = tfs_nomem();
	}
	if (rc < 0) {
		reader_free(&r);
		return rc;
	}
	for (size_t i = 0; i < r.n_kv; i++) {
		r.kv[i].key = at(&r.store, r.kv_store[i]);
		r.kv[i].val = r.kv[i].key + r.kv[i].key_len;
	}
	t->n = r.n_kv;
	t->kv = r.kv;
	t->storage = r.store.data;
	r.kv = NULL;
	r.store.data = NULL;
	reader_free(&r);
	*out = t;
	return 0;
}

void tfs_table_free(tfs_table *t)
{
	if (!t)
		return;
	free(t->kv);
	free(t->storage);
	free(t);
}

/* ================================================================ writer */

static void bb_init(tfs_block_builder *b, size_t interval)
{
	memset(b, 0, sizeof *b);
	b->interval = interval;
}

static void bb_free(tfs_block_builder *b)
{
	tfs_buf_free(&b->buf);
	tfs_buf_free(&b->last_key);
	free(b->restarts);
	b->restarts = NULL;
	b->n_restarts = b->cap_restarts = 0;
}

static int bb_push_restart(tfs_block_builder *b, uint32_t off)
{
	if (b->n_restarts == b->cap_restarts) {
		size_t cap = b->cap_restarts ? b->cap_restarts * 2 : 16;
		uint32_t *p = realloc(b->restarts, cap * sizeof *p);
		if (!p)
			return tfs_nomem();
		b->restarts = p;
		b->cap_restarts = cap;
	}
	b->restarts[b->n_restarts++] = off;
	return 0;
}

/* A block always starts with restart point 0 (pushed lazily so init cannot fail). */
static int bb_start(tfs_block_builder *b)
{
	return b->n_restarts ? 0 : bb_push_restart(b, 0);
}

static void bb_reset(tfs_block_builder *b)
{
	b->buf.len = 0;
	b->last_key.len = 0;
	b->n_restarts = 0;
	b->counter = 0;
}

/* Bytes the finished block would take: entries, restart array, count. */
static uint64_t bb_estimate(const tfs_block_builder *b)
{
	size_t nr = b->n_restarts ? b->n_restarts : 1;
	return (uint64_t)b->buf.len + 4 * (uint64_t)nr + 4;
}

static int bb_add(tfs_block_builder *b, const uint8_t *key, size_t klen, const uint8_t *val,
                  size_t vlen)
{
	TFS_TRY(bb_start(b));
	size_t shared = 0;
	if (b->counter < b->interval) {
		size_t m = b->last_key.len < klen ? b->last_key.len : klen;
		while (shared < m && b->last_key.data[shared] == key[shared])
			shared++;
	} else {
		if (b->buf.len > UINT32_MAX)
			return tfs_err(TFSHRINK_EINVAL, NULL, -1, "table block grew past 4 GiB");
		TFS_TRY(bb_push_restart(b, (uint32_t)b->buf.len));
		b->counter = 0;
	}
	TFS_TRY(tfs_buf_put_varint(&b->buf, shared));
	TFS_TRY(tfs_buf_put_varint(&b->buf, klen - shared));
	TFS_TRY(tfs_buf_put_varint(&b->buf, vlen));
	TFS_TRY(tfs_buf_append(&b->buf, key + shared, klen - shared));
	TFS_TRY(tfs_buf_append(&b->buf, val, vlen));
	b->last_key.len = 0;
	TFS_TRY(tfs_buf_append(&b->last_key, key, klen));
	b->counter++;
	return 0;
}

/* Appends the restart array and count; the contents are then b->buf. */
static int bb_finish(tfs_block_builder *b)
{
	TFS_TRY(bb_start(b));
	for (size_t i = 0; i < b->n_restarts; i++)
		TFS_TRY(tfs_buf_put_u32le(&b->buf, b->restarts[i]));
	return tfs_buf_put_u32le(&b->buf, (uint32_t)b->n_restarts);
}

void tfs_table_writer_init(tfs_table_writer *w)
{
	memset(w, 0, sizeof *w);
	bb_init(&w->data, DATA_RESTART_INTERVAL);
	bb_init(&w->index, INDEX_RESTART_INTERVAL);
	w->block_size = TF_BLOCK_SIZE;
}

void tfs_table_writer_free(tfs_table_writer *w)
{
	tfs_buf_free(&w->out);
	bb_free(&w->data);
	bb_free(&w->index);
	tfs_buf_free(&w->last_key);
	tfs_buf_free(&w->scratch);
}

/* Appends contents + raw type byte + masked CRC; reports where it went. */
static int write_block(tfs_table_writer *w, tfs_block_builder *b, uint64_t *off, uint64_t *size)
{
	TFS_TRY(bb_finish(b));
	uint8_t trailer[TRAILER_LEN];
	trailer[0] = TYPE_RAW;
	tfs_put_u32le(trailer + 1, tfs_crc_mask(block_crc(b->buf.data, b->buf.len, TYPE_RAW)));
	*off = w->out.len;
	*size = b->buf.len;
	TFS_TRY(tfs_buf_append(&w->out, b->buf.data, b->buf.len));
	TFS_TRY(tfs_buf_append(&w->out, trailer, sizeof trailer));
	bb_reset(b);
	return 0;
}

static int flush_data(tfs_table_writer *w)
{
	if (w->data.buf.len == 0)
		return 0;
	TFS_TRY(write_block(w, &w->data, &w->pending_off, &w->pending_size));
	w->pending_index = 1;
	return 0;
}

/* Adds the index entry of the flushed block under w->scratch. */
static int add_index_entry(tfs_table_writer *w)
{
	uint8_t enc[20];
	size_t n = tfs_put_varint64(enc, w->pending_off);
	n += tfs_put_varint64(enc + n, w->pending_size);
	TFS_TRY(bb_add(&w->index, w->scratch.data ? w->scratch.data : (const uint8_t *)"",
	               w->scratch.len, enc, n));
	w->pending_index = 0;
	return 0;
}

/* scratch = a short key k with last <= k < next: if the keys first differ at
 * a byte that can be raised by one and still stay below next's byte, keep the
 * prefix up to it and raise it; otherwise keep last unchanged. */
static int shortest_separator(tfs_table_writer *w, const uint8_t *next, size_t next_len)
{
	const uint8_t *last = w->last_key.data;
	size_t len = w->last_key.len;
	w->scratch.len = 0;
	TFS_TRY(tfs_buf_append(&w->scratch, last, len));
	size_t m = len < next_len ? len : next_len, i = 0;
	while (i < m && last[i] == next[i])
		i++;
	if (i < m && last[i] < 0xff && last[i] + 1 < next[i]) {
		w->scratch.data[i]++;
		w->scratch.len = i + 1;
	}
	return 0;
}

/* scratch = the shortest key >= last: raise its first byte that is not 0xff
 * and cut after it; a key of only 0xff bytes stays as it is. */
static int short_successor(tfs_table_writer *w)
{
	w->scratch.len = 0;
	TFS_TRY(tfs_buf_append(&w->scratch, w->last_key.data, w->last_key.len));
	for (size_t i = 0; i < w->scratch.len; i++) {
		if (w->scratch.data[i] != 0xff) {
			w->scratch.data[i]++;
			w->scratch.len = i + 1;
			break;
		}
	}
	return 0;
}

static int writer_usable(const tfs_table_writer *w)
{
	if (w->err)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "table writer failed earlier");
	if (w->finished)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "table writer already finished");
	return 0;
}

static int writer_add(tfs_table_writer *w, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen)
{
	if (w->n_entries > 0) {
		size_t entry, limit;
		if (tfs_ckd_add(&entry, klen, vlen) || tfs_ckd_mul(&limit, w->block_size, (size_t)2) ||
		    entry >= limit)
			TFS_TRY(flush_data(w));
	}
	if (w->pending_index) {
		TFS_TRY(shortest_separator(w, key, klen));
		TFS_TRY(add_index_entry(w));
	}
	w->last_key.len = 0;
	TFS_TRY(tfs_buf_append(&w->last_key, key, klen));
	w->n_entries++;
	TFS_TRY(bb_add(&w->data, key, klen, val, vlen));
	if (bb_estimate(&w->data) >= w->block_size)
		TFS_TRY(flush_data(w));
	return 0;
}

int tfs_table_writer_add(tfs_table_writer *w, const void *key, size_t key_len,
                         const void *val, size_t val_len)
{
	TFS_TRY(writer_usable(w));
	if (key_len > UINT32_MAX || val_len > UINT32_MAX)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1,
		               "table entry too large (key %zu bytes, value %zu bytes)", key_len, val_len);
	const uint8_t *k = key_len ? key : (const uint8_t *)"";
	const uint8_t *v = val_len ? val : (const uint8_t *)"";
	if (w->n_entries > 0 && key_cmp(k, key_len, w->last_key.data, w->last_key.len) <= 0)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1,
		               "table keys must be strictly increasing (entry %zu)", w->n_entries);
	int rc = writer_add(w, k, key_len, v, val_len);
	if (rc < 0)
		w->err = rc;
	return rc;
}

static int writer_finish(tfs_table_writer *w)
{
	uint64_t moff, msize, ioff, isize;
	TFS_TRY(flush_data(w));
	/* metaindex: always an empty block */
	tfs_block_builder meta;
	bb_init(&meta, DATA_RESTART_INTERVAL);
	int rc = write_block(w, &meta, &moff, &msize);
	bb_free(&meta);
	if (rc < 0)
		return rc;
	if (w->pending_index) {
		TFS_TRY(short_successor(w));
		TFS_TRY(add_index_entry(w));
	}
	TFS_TRY(write_block(w, &w->index, &ioff, &isize));

	uint8_t foot[FOOTER_LEN];
	memset(foot, 0, sizeof foot);
	size_t n = tfs_put_varint64(foot, moff);
	n += tfs_put_varint64(foot + n, msize);
	n += tfs_put_varint64(foot + n, ioff);
	n += tfs_put_varint64(foot + n, isize);
	tfs_put_u32le(foot + HANDLES_LEN, MAGIC_LO);
	tfs_put_u32le(foot + HANDLES_LEN + 4, MAGIC_HI);
	return tfs_buf_append(&w->out, foot, sizeof foot);
}

int tfs_table_writer_finish(tfs_table_writer *w)
{
	TFS_TRY(writer_usable(w));
	int rc = writer_finish(w);
	if (rc < 0)
		w->err = rc;
	else
		w->finished = 1;
	return rc;
}
