/* test_table.c - variables.index table: round trips, TensorFlow-exact bytes
 * against real indexes, snappy blocks, and corrupt inputs. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "buf.h"
#include "crc32c.h"
#include "cursor.h"
#include "error.h"
#include "formats/table.h"
#include "fsutil.h"
#include "tfs_limits.h"

#define BS 262144
static const char *P = "/some/dir/variables/variables.index";

typedef struct ent {
	uint8_t *k;
	size_t kl;
	uint8_t *v;
	size_t vl;
} ent;

static ent mk(const void *k, size_t kl, const void *v, size_t vl)
{
	ent e;
	e.k = malloc(kl ? kl : 1);
	e.v = malloc(vl ? vl : 1);
	assert_non_null(e.k);
	assert_non_null(e.v);
	if (kl)
		memcpy(e.k, k, kl);
	if (vl)
		memcpy(e.v, v, vl);
	e.kl = kl;
	e.vl = vl;
	return e;
}

static ent mks(const char *k, const char *v)
{
	return mk(k, strlen(k), v, strlen(v));
}

static void free_ents(ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].k);
		free(e[i].v);
	}
	free(e);
}

static int ent_cmp(const void *x, const void *y)
{
	const ent *a = x, *b = y;
	return tu_key_cmp(a->k, a->kl, b->k, b->kl);
}

/* Writes entries with the writer; returns a malloc'd copy of the file. */
static uint8_t *write_table(const ent *e, size_t n, size_t block_size, size_t *len)
{
	tfs_table_writer w;
	tfs_table_writer_init(&w);
	if (block_size)
		w.block_size = block_size;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tfs_table_writer_add(&w, e[i].k, e[i].kl, e[i].v, e[i].vl), 0);
	assert_int_equal(tfs_table_writer_finish(&w), 0);
	*len = w.out.len;
	uint8_t *copy = malloc(w.out.len);
	assert_non_null(copy);
	memcpy(copy, w.out.data, w.out.len);
	tfs_table_writer_free(&w);
	return copy;
}

/* Reads a table from a private copy of the bytes, which is freed before the
 * entries are compared (they must live in the table's own storage). */
static tfs_table *read_copy(const uint8_t *d, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, d, n);
	tfs_table *t = NULL;
	int rc = tfs_table_read(copy, n, P, &t);
	if (rc != 0)
		fail_msg("read failed: %d %s at %lld", rc, tfshrink_error_last()->message,
		         (long long)tfshrink_error_last()->offset);
	memset(copy, 0xAA, n);
	free(copy);
	return t;
}

static void assert_same(const tfs_table *t, const ent *e, size_t n)
{
	assert_int_equal(t->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t->kv[i].key_len, e[i].kl);
		assert_int_equal(t->kv[i].val_len, e[i].vl);
		if (e[i].kl)
			assert_memory_equal(t->kv[i].key, e[i].k, e[i].kl);
		if (e[i].vl)
			assert_memory_equal(t->kv[i].val, e[i].v, e[i].vl);
	}
}

/* Round trip; returns the table for further checks. */
static tfs_table *roundtrip(const ent *e, size_t n, size_t block_size)
{
	size_t len;
	uint8_t *f = write_table(e, n, block_size, &len);
	tfs_table *t = read_copy(f, len);
	free(f);
	assert_same(t, e, n);
	return t;
}

static size_t count_blocks(const tfs_table *t)
{
	size_t blocks = 0;
	for (size_t i = 0; i < t->n; i++)
		if (i == 0 || t->kv[i].offset != t->kv[i - 1].offset)
			blocks++;
	return blocks;
}

/* ------------------------------------------------ hand-built table files */

static void put(tfs_buf *b, const void *p, size_t n)
{
	assert_int_equal(tfs_buf_append(b, p, n), 0);
}

static void putv(tfs_buf *b, uint64_t v)
{
	assert_int_equal(tfs_buf_put_varint(b, v), 0);
}

static void put32(tfs_buf *b, uint32_t v)
{
	assert_int_equal(tfs_buf_put_u32le(b, v), 0);
}

static uint32_t trailer_crc(const uint8_t *p, size_t n, uint8_t type)
{
	return tfs_crc_mask(tfs_crc32c_extend(tfs_crc32c(p, n), &type, 1));
}

/* Appends contents + type + masked CRC to a file. */
static void hb_block(tfs_buf *f, const void *contents, size_t n, uint8_t type, uint64_t *off,
                     uint64_t *size)
{
	*off = f->len;
	*size = n;
	put(f, contents, n);
	put(f, &type, 1);
	put32(f, trailer_crc(contents, n, type));
}

/* Block contents, encoded here independently of the writer (no order checks). */
static void enc_block(tfs_buf *b, const ent *e, size_t n, size_t interval)
{
	uint32_t restarts[4096];
	size_t nr = 0, counter = interval;
	const ent *prev = NULL;
	b->len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t shared = 0;
		if (counter < interval) {
			while (shared < prev->kl && shared < e[i].kl && prev->k[shared] == e[i].k[shared])
				shared++;
		} else {
			assert_true(nr < 4096);
			restarts[nr++] = (uint32_t)b->len;
			counter = 0;
		}
		putv(b, shared);
		putv(b, e[i].kl - shared);
		putv(b, e[i].vl);
		put(b, e[i].k + shared, e[i].kl - shared);
		put(b, e[i].v, e[i].vl);
		prev = &e[i];
		counter++;
	}
	if (nr == 0)
		restarts[nr++] = 0;
	for (size_t i = 0; i < nr; i++)
		put32(b, restarts[i]);
	put32(b, (uint32_t)nr);
}

static void hb_footer(tfs_buf *f, uint64_t moff, uint64_t msize, uint64_t ioff, uint64_t isize)
{
	uint8_t foot[48];
	memset(foot, 0, sizeof foot);
	size_t n = tfs_put_varint64(foot, moff);
	n += tfs_put_varint64(foot + n, msize);
	n += tfs_put_varint64(foot + n, ioff);
	n += tfs_put_varint64(foot + n, isize);
	assert_true(n <= 40);
	tfs_put_u32le(foot + 40, 0x8b80fb57u);
	tfs_put_u32le(foot + 44, 0xdb477524u);
	put(f, foot, sizeof foot);
}

/* Index block contents for data blocks with the given separators and handles. */
static void enc_index(tfs_buf *b, const char **seps, const uint64_t *off, const uint64_t *size,
                      size_t n)
{
	ent *e = calloc(n ? n : 1, sizeof *e);
	for (size_t i = 0; i < n; i++) {
		uint8_t h[20];
		size_t hl = tfs_put_varint64(h, off[i]);
		hl += tfs_put_varint64(h + hl, size[i]);
		e[i] = mk(seps[i], strlen(seps[i]), h, hl);
	}
	enc_block(b, e, n, 1);
	free_ents(e, n);
}

/* Snappy-compressed copy of a block's contents; caller frees. */
static char *compress(const tfs_buf *b, size_t *cl)
{
	*cl = snappy_max_compressed_length(b->len);
	char *comp = malloc(*cl);
	assert_non_null(comp);
	assert_int_equal(snappy_compress((const char *)b->data, b->len, comp, cl), SNAPPY_OK);
	return comp;
}

/* Ends a file after its data blocks: an empty metaindex block, the index
 * block for the data blocks at (off, size) under seps (snappy-compressed if
 * snappy_index), and the footer. */
static void hb_finish(tfs_buf *f, const char **seps, const uint64_t *off, const uint64_t *size, size_t n,
                      int snappy_index)
{
	uint64_t moff, msize, ioff, isize;
	tfs_buf tmp = { 0 };
	enc_block(&tmp, NULL, 0, 16);
	hb_block(f, tmp.data, tmp.len, 0, &moff, &msize);
	enc_index(&tmp, seps, off, size, n);
	if (snappy_index) {
		size_t cl;
		char *comp = compress(&tmp, &cl);
		hb_block(f, comp, cl, 1, &ioff, &isize);
		free(comp);
	} else {
		hb_block(f, tmp.data, tmp.len, 0, &ioff, &isize);
	}
	hb_footer(f, moff, msize, ioff, isize);
	tfs_buf_free(&tmp);
}

/* A file with one data block holding `contents` (stored with `type`) and an
 * index entry `sep` for it. */
static void hb_one_block(tfs_buf *f, const void *contents, size_t n, uint8_t type, const char *sep)
{
	uint64_t doff, dsize;
	f->len = 0;
	hb_block(f, contents, n, type, &doff, &dsize);
	hb_finish(f, &sep, &doff, &dsize, 1, 0);
}

/* A file with two raw data blocks, a[0..na) and b[0..nb), indexed under
 * sep0 and sep1 (whether or not those are right). */
static void hb_two_blocks(tfs_buf *f, const ent *a, size_t na, const ent *b, size_t nb, const char *sep0,
                          const char *sep1)
{
	uint64_t off[2], size[2];
	tfs_buf blk = { 0 };
	f->len = 0;
	enc_block(&blk, a, na, 16);
	hb_block(f, blk.data, blk.len, 0, &off[0], &size[0]);
	enc_block(&blk, b, nb, 16);
	hb_block(f, blk.data, blk.len, 0, &off[1], &size[1]);
	const char *seps[2] = { sep0, sep1 };
	hb_finish(f, seps, off, size, 2, 0);
	tfs_buf_free(&blk);
}

/* A file whose one data block holds {"k": "v"} but whose index entry points
 * at (off, size); size NULL: the block's real size. */
static void hb_kv_at(tfs_buf *f, uint64_t off, const uint64_t *size)
{
	tfs_buf blk = { 0 };
	ent *e = calloc(1, sizeof *e);
	e[0] = mks("k", "v");
	enc_block(&blk, e, 1, 16);
	uint64_t real_off, real_size;
	f->len = 0;
	hb_block(f, blk.data, blk.len, 0, &real_off, &real_size);
	const char *sep = "l";
	hb_finish(f, &sep, &off, size ? size : &real_size, 1, 0);
	tfs_buf_free(&blk);
	free_ents(e, 1);
}

/* Replaces the 48-byte footer of a file. */
static void set_footer(uint8_t *d, size_t n, uint64_t moff, uint64_t msize, uint64_t ioff,
                       uint64_t isize)
{
	tfs_buf f = { 0 };
	hb_footer(&f, moff, msize, ioff, isize);
	memcpy(d + n - 48, f.data, 48);
	tfs_buf_free(&f);
}

/* Recomputes the trailer CRC of the raw block at [off, off+size). */
static void fix_crc(uint8_t *d, uint64_t off, uint64_t size)
{
	tfs_put_u32le(d + off + size + 1, trailer_crc(d + off, (size_t)size, d[off + size]));
}

/* ---------------------------------------- independent decoder of the index */

typedef struct layout {
	uint64_t moff, msize, ioff, isize;
	uint8_t itype;
	size_t n;                /* data blocks */
	uint64_t off[256], size[256];
	uint8_t type[256];
	char sep[256][64];
	size_t sep_len[256];
} layout;

static uint64_t getv(const uint8_t **p)
{
	uint64_t v = 0;
	for (int s = 0;; s += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return v;
	}
}

/* Decodes the footer and index of a well-formed file (test inputs only). */
static void decode_layout(const uint8_t *d, size_t n, layout *L)
{
	memset(L, 0, sizeof *L);
	const uint8_t *p = d + n - 48;
	L->moff = getv(&p);
	L->msize = getv(&p);
	L->ioff = getv(&p);
	L->isize = getv(&p);
	L->itype = d[L->ioff + L->isize];
	const uint8_t *blk = d + L->ioff;
	size_t blen = (size_t)L->isize;
	char *un = NULL;
	if (L->itype == 1) {
		size_t ul;
		assert_int_equal(snappy_uncompressed_length((const char *)blk, blen, &ul), SNAPPY_OK);
		un = malloc(ul);
		assert_int_equal(snappy_uncompress((const char *)blk, blen, un, &ul), SNAPPY_OK);
		blk = (const uint8_t *)un;
		blen = ul;
	}
	uint32_t nr = tfs_get_u32le(blk + blen - 4);
	const uint8_t *end = blk + blen - 4 - 4 * (size_t)nr;
	char key[64];
	size_t klen = 0;
	for (p = blk; p < end;) {
		uint64_t shared = getv(&p), ns = getv(&p), vl = getv(&p);
		assert_true(shared + ns <= sizeof key);
		memcpy(key + shared, p, ns);
		klen = shared + ns;
		p += ns;
		const uint8_t *v = p;
		assert_true(L->n < 256);
		L->off[L->n] = getv(&v);
		L->size[L->n] = getv(&v);
		L->type[L->n] = d[L->off[L->n] + L->size[L->n]];
		memcpy(L->sep[L->n], key, klen);
		L->sep_len[L->n] = klen;
		L->n++;
		p += vl;
	}
	free(un);
}

static void expect_err(int rc, int code, const char *needle)
{
	tu_assert_error(rc, code, needle);
	const tfshrink_error *e = tfshrink_error_last();
	assert_non_null(e->path);
	assert_string_equal(e->path, P);
}

static int read_rc(const uint8_t *d, size_t n)
{
	tfs_table *t = (tfs_table *)0x1;
	int rc = tfs_table_read(d, n, P, &t);
	if (rc == 0)
		tfs_table_free(t);
	else
		assert_null(t);
	return rc;
}

/* ============================================================ round trips */

static void test_empty(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = write_table(NULL, 0, 0, &len);
	/* meta block, index block (both empty: one restart at 0), footer */
	assert_int_equal(len, 13 + 13 + 48);
	static const uint8_t empty[8] = { 0, 0, 0, 0, 1, 0, 0, 0 };
	assert_memory_equal(f, empty, 8);
	assert_int_equal(f[8], 0);
	assert_int_equal(tfs_get_u32le(f + 9), trailer_crc(empty, 8, 0));
	assert_memory_equal(f + 13, f, 13);
	static const uint8_t foot_start[4] = { 0x00, 0x08, 0x0d, 0x08 };
	assert_memory_equal(f + 26, foot_start, 4);
	for (int i = 4; i < 40; i++)
		assert_int_equal(f[26 + i], 0);
	static const uint8_t magic[8] = { 0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb };
	assert_memory_equal(f + len - 8, magic, 8);

	tfs_table *t = read_copy(f, len);
	assert_int_equal(t->n, 0);
	tfs_table_free(t);
	free(f);
	tfs_table_free(NULL);
}

static void roundtrip_one(const void *k, size_t kl, const void *v, size_t vl)
{
	ent *e = calloc(1, sizeof *e);
	e[0] = mk(k, kl, v, vl);
	tfs_table_free(roundtrip(e, 1, 0));
	free_ents(e, 1);
}

static void test_one_key(void **state)
{
	(void)state;
	roundtrip_one("kernel", 6, "value bytes", 11);
	/* The bundle header entry: empty key. */
	static const uint8_t hdr[] = { 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01 };
	roundtrip_one("", 0, hdr, sizeof hdr);
	/* Empty key and empty value. */
	roundtrip_one("", 0, "", 0);
}

static void test_shared_prefixes(void **state)
{
	(void)state;
	size_t n = 3000, keybytes = 0;
	ent *e = calloc(n, sizeof *e);
	for (size_t i = 0; i < n; i++) {
		char k[256], v[64];
		snprintf(k, sizeof k,
		         "model/encoder/transformer_block_%03zu/multi_head_attention/%s/"
		         ".ATTRIBUTES/VARIABLE_VALUE%s",
		         i / 6, (const char *[]){ "bias", "kernel", "key", "output", "query", "value" }[i % 6],
		         (i % 7 == 0) ? "/.OPTIMIZER_SLOT/optimizer/m" : "");
		snprintf(v, sizeof v, "entry %zu", i);
		e[i] = mks(k, v);
		keybytes += strlen(k);
	}
	qsort(e, n, sizeof *e, ent_cmp);
	size_t len;
	uint8_t *f = write_table(e, n, 0, &len);
	assert_true(len * 4 < keybytes * 3); /* prefix compression at work */
	tfs_table *t = read_copy(f, len);
	assert_same(t, e, n);
	tfs_table_free(t);
	free(f);
	free_ents(e, n);
}

static void test_values_span_blocks(void **state)
{
	(void)state;
	size_t n = 30;
	ent *e = calloc(n, sizeof *e);
	uint8_t *v = malloc(100000);
	for (size_t i = 0; i < n; i++) {
		char k[32];
		snprintf(k, sizeof k, "var_%05zu__", i); /* 11 bytes */
		for (size_t j = 0; j < 100000; j++)
			v[j] = (uint8_t)(i * 31 + j * 7);
		e[i] = mk(k, strlen(k), v, 100000);
	}
	free(v);
	tfs_table *t = roundtrip(e, n, 0);
	/* each entry takes a little over 100000 bytes: the third pushes the
	 * estimate over 256 KiB, so blocks hold exactly 3 entries */
	assert_int_equal(count_blocks(t), 10);
	for (size_t i = 0; i < n; i++) {
		if (i % 3)
			assert_int_equal(t->kv[i].offset, t->kv[i - 1].offset);
		else if (i)
			assert_true(t->kv[i].offset > t->kv[i - 1].offset);
	}
	tfs_table_free(t);
	free_ents(e, n);
}

static void test_flush_thresholds(void **state)
{
	(void)state;
	uint8_t v[256];
	memset(v, 'x', sizeof v);
	/* block_size 100: entry "a" with an 88-byte value gives an estimate of
	 * 3 + 1 + 88 + 4 + 4 = 100 -> flushed; 87 bytes -> 99, kept open. */
	for (int vl = 87; vl <= 88; vl++) {
		ent *e = calloc(2, sizeof *e);
		e[0] = mk("a", 1, v, (size_t)vl);
		e[1] = mks("b", "y");
		tfs_table *t = roundtrip(e, 2, 100);
		if (vl == 88)
			assert_true(t->kv[1].offset != t->kv[0].offset);
		else
			assert_int_equal(t->kv[1].offset, t->kv[0].offset);
		tfs_table_free(t);
		free_ents(e, 2);
	}
	/* Overly large entry: key + value >= 2 * block_size flushes first. */
	for (int vl = 198; vl <= 199; vl++) {
		ent *e = calloc(3, sizeof *e);
		e[0] = mks("a", "x");
		e[1] = mk("b", 1, v, (size_t)vl);
		e[2] = mks("c", "y");
		tfs_table *t = roundtrip(e, 3, 100);
		if (vl == 199) /* 1 + 199 = 200 >= 200: "a" flushed alone */
			assert_true(t->kv[1].offset != t->kv[0].offset);
		else
			assert_int_equal(t->kv[1].offset, t->kv[0].offset);
		assert_true(t->kv[2].offset != t->kv[1].offset);
		tfs_table_free(t);
		free_ents(e, 3);
	}
}

static void test_huge_entry(void **state)
{
	(void)state;
	size_t big = 2 * BS - 1; /* key "b" + value = 2 * block_size exactly */
	uint8_t *v = malloc(3 * BS);
	for (size_t j = 0; j < 3 * BS; j++)
		v[j] = (uint8_t)(j * 13 + 5);
	ent *e = calloc(4, sizeof *e);
	e[0] = mks("a", "small");
	e[1] = mk("b", 1, v, big);
	e[2] = mks("c", "after");
	e[3] = mk("d", 1, v, 3 * BS);
	free(v);
	tfs_table *t = roundtrip(e, 4, 0);
	assert_int_equal(count_blocks(t), 4);
	tfs_table_free(t);

	/* the first entry may be huge too (nothing to flush before it) */
	t = roundtrip(e + 1, 3, 0);
	assert_int_equal(count_blocks(t), 3);
	tfs_table_free(t);
	free_ents(e, 4);
}

static void test_small_block_size(void **state)
{
	(void)state;
	size_t n = 2000;
	ent *e = calloc(n, sizeof *e);
	srand(42);
	for (size_t i = 0; i < n; i++) {
		char k[128], v[128];
		snprintf(k, sizeof k, "layer_%02zu/%s/%04zu", i / 100, (i % 3) ? "kernel" : "bias", i);
		int vl = rand() % 60;
		memset(v, 'a' + (int)(i % 26), (size_t)vl);
		e[i] = mk(k, strlen(k), v, (size_t)vl);
	}
	qsort(e, n, sizeof *e, ent_cmp);
	size_t sizes[] = { 1, 16, 64, 200, 4096 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		tfs_table *t = roundtrip(e, n, sizes[s]);
		size_t blocks = count_blocks(t);
		if (sizes[s] == 1)
			assert_int_equal(blocks, n);
		else
			assert_true(blocks > 10);
		tfs_table_free(t);
	}
	free_ents(e, n);
}

/* Random binary keys made of 0x00, 0x01, 'a', 'b', 0xfe, 0xff stress the
 * separator and successor rules; the reader checks every block's keys lie
 * between its neighbours' index keys. */
static void test_random_binary_keys(void **state)
{
	(void)state;
	static const uint8_t alpha[] = { 0x00, 0x01, 'a', 'b', 0xfe, 0xff };
	srand(2024);
	for (int round = 0; round < 60; round++) {
		size_t n = 1 + (size_t)(rand() % 300);
		ent *e = calloc(n, sizeof *e);
		for (size_t i = 0; i < n; i++) {
			uint8_t k[12], v[40];
			size_t kl = (size_t)(rand() % 12), vl = (size_t)(rand() % 40);
			for (size_t j = 0; j < kl; j++)
				k[j] = alpha[rand() % 6];
			for (size_t j = 0; j < vl; j++)
				v[j] = (uint8_t)rand();
			e[i] = mk(k, kl, v, vl);
		}
		qsort(e, n, sizeof *e, ent_cmp);
		size_t m = 0; /* drop duplicates */
		for (size_t i = 0; i < n; i++) {
			if (m && ent_cmp(&e[m - 1], &e[i]) == 0) {
				free(e[i].k);
				free(e[i].v);
				continue;
			}
			e[m++] = e[i];
		}
		tfs_table *t = roundtrip(e, m, 1 + (size_t)(rand() % 120));
		tfs_table_free(t);
		free_ents(e, m);
	}
}

static void test_separators(void **state)
{
	(void)state;
	/* block_size 1 flushes after every entry, so each key gets an index entry */
	ent *e = calloc(8, sizeof *e);
	e[0] = mk("a\x01", 2, "", 0);
	e[1] = mk("a\x03", 2, "", 0);
	e[2] = mks("abc", "");
	e[3] = mks("abcd", "");
	e[4] = mk("ab\xff" "1", 4, "", 0);
	e[5] = mks("ac", "");
	e[6] = mks("helloworld", "");
	e[7] = mks("hellozz", "");
	size_t len;
	uint8_t *f = write_table(e, 8, 1, &len);
	layout L;
	decode_layout(f, len, &L);
	assert_int_equal(L.n, 8);
	const char *want[8] = { "a\x02", "a\x04", "abc", "abd", "ab\xff\x31", "b", "hellox", "i" };
	size_t wlen[8] = { 2, 2, 3, 3, 4, 1, 6, 1 };
	for (int i = 0; i < 8; i++) {
		assert_int_equal(L.sep_len[i], wlen[i]);
		assert_memory_equal(L.sep[i], want[i], wlen[i]);
	}
	tfs_table *t = read_copy(f, len);
	assert_same(t, e, 8);
	tfs_table_free(t);
	free(f);
	free_ents(e, 8);

	/* short successor: first non-0xff byte raised, 0xff-only key unchanged */
	static const struct {
		const char *key, *sep;
		size_t key_len, sep_len;
	} succ[] = { { "\xff\xffz\x05", "\xff\xff{", 4, 3 }, { "\xff\xff", "\xff\xff", 2, 2 } };
	for (size_t i = 0; i < 2; i++) {
		e = calloc(1, sizeof *e);
		e[0] = mk(succ[i].key, succ[i].key_len, "v", 1);
		f = write_table(e, 1, 0, &len);
		decode_layout(f, len, &L);
		assert_int_equal(L.sep_len[0], succ[i].sep_len);
		assert_memory_equal(L.sep[0], succ[i].sep, succ[i].sep_len);
		t = read_copy(f, len);
		assert_same(t, e, 1);
		tfs_table_free(t);
		free(f);
		free_ents(e, 1);
	}
}

static void test_writer_rejects(void **state)
{
	(void)state;
	tfs_table_writer w;
	tfs_table_writer_init(&w);
	assert_int_equal(tfs_table_writer_add(&w, "b", 1, "1", 1), 0);
	tu_assert_error(tfs_table_writer_add(&w, "a", 1, "2", 1), TFSHRINK_EINVAL, "increasing");
	tu_assert_error(tfs_table_writer_add(&w, "b", 1, "2", 1), TFSHRINK_EINVAL, "increasing");
	assert_int_equal(tfs_table_writer_add(&w, "c", 1, "3", 1), 0);
	assert_int_equal(tfs_table_writer_finish(&w), 0);
	tu_assert_error(tfs_table_writer_add(&w, "d", 1, "4", 1), TFSHRINK_EINVAL, "finished");
	tu_assert_error(tfs_table_writer_finish(&w), TFSHRINK_EINVAL, "finished");
	tfs_table *t = read_copy(w.out.data, w.out.len);
	assert_int_equal(t->n, 2);
	assert_memory_equal(t->kv[1].key, "c", 1);
	tfs_table_free(t);
	tfs_table_writer_free(&w);

	/* "" then "" is a duplicate too */
	tfs_table_writer_init(&w);
	assert_int_equal(tfs_table_writer_add(&w, "", 0, "h", 1), 0);
	tu_assert_error(tfs_table_writer_add(&w, NULL, 0, NULL, 0), TFSHRINK_EINVAL, "increasing");
	tfs_table_writer_free(&w);
}

/* ====================================================== real TensorFlow files */

static int has_snappy(const layout *L)
{
	if (L->itype != 0)
		return 1;
	for (size_t i = 0; i < L->n; i++)
		if (L->type[i] != 0)
			return 1;
	return 0;
}

static void check_real(const char *dir, const char *name, size_t *exact, size_t *snappy)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s/variables/variables.index", dir, name) > 0);
	if (!tfs_is_file(path)) {
		free(path);
		return;
	}
	size_t n;
	uint8_t *d = tu_read(path, &n);
	tfs_table *t = NULL;
	int rc = tfs_table_read(d, n, path, &t);
	if (rc != 0)
		fail_msg("%s: %s", path, tfshrink_error_last()->message);
	assert_true(t->n >= 1);
	assert_int_equal(t->kv[0].key_len, 0); /* the bundle header entry */

	layout L;
	decode_layout(d, n, &L);
	tfs_table_writer w;
	tfs_table_writer_init(&w);
	for (size_t i = 0; i < t->n; i++)
		assert_int_equal(tfs_table_writer_add(&w, t->kv[i].key, t->kv[i].key_len, t->kv[i].val,
		                                      t->kv[i].val_len), 0);
	assert_int_equal(tfs_table_writer_finish(&w), 0);
	if (has_snappy(&L)) {
		/* snappy blocks: our output is the uncompressed form; it must hold
		 * the same entries */
		(*snappy)++;
		tfs_table *t2 = read_copy(w.out.data, w.out.len);
		assert_int_equal(t2->n, t->n);
		for (size_t i = 0; i < t->n; i++) {
			assert_int_equal(t2->kv[i].key_len, t->kv[i].key_len);
			assert_int_equal(t2->kv[i].val_len, t->kv[i].val_len);
			assert_memory_equal(t2->kv[i].val, t->kv[i].val, t->kv[i].val_len);
		}
		tfs_table_free(t2);
		print_message("%-42s snappy   %zu entries, %zu blocks: read ok (%zu -> %zu bytes raw)\n",
		              name, t->n, L.n, n, w.out.len);
	} else {
		if (w.out.len != n || memcmp(w.out.data, d, n) != 0) {
			size_t i = 0;
			while (i < n && i < w.out.len && w.out.data[i] == d[i])
				i++;
			fail_msg("%s: re-encoded bytes differ (file %zu bytes, ours %zu, first difference at %zu)",
			         path, n, w.out.len, i);
		}
		(*exact)++;
		print_message("%-42s raw      %zu entries, %zu blocks: byte-identical (%zu bytes)\n",
		              name, t->n, L.n, n);
	}
	tfs_table_writer_free(&w);
	tfs_table_free(t);
	free(d);
	free(path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_real_byte_exact(void **state)
{
	(void)state;
	char *ocr = tu_realmodel("keras_ocr_sharded");
	if (!ocr) {
		skip();
		return;
	}
	free(ocr);
	size_t exact = 0, snappy = 0, ocr_exact = 0, dummy = 0;
	const char *dir = TFS_SHARED_DIR "/realmodels";
	check_real(dir, "keras_ocr_sharded", &ocr_exact, &dummy);
	assert_int_equal(ocr_exact, 1);

	DIR *dh = opendir(dir);
	assert_non_null(dh);
	char *names[512];
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(dh)) && nn < 512)
		if (de->d_name[0] != '.')
			names[nn++] = strdup(de->d_name);
	closedir(dh);
	qsort(names, nn, sizeof *names, name_cmp);
	for (size_t i = 0; i < nn; i++) {
		check_real(dir, names[i], &exact, &snappy);
		free(names[i]);
	}
	print_message("real indexes: %zu byte-identical, %zu snappy (read only)\n", exact, snappy);
	assert_true(exact >= 1);
}

static void test_real_snappy(void **state)
{
	(void)state;
	char *m = tu_realmodel("serving_half_plus_two_cpu");
	if (!m) {
		skip();
		return;
	}
	char *path = NULL;
	assert_true(asprintf(&path, "%s/variables/variables.index", m) > 0);
	size_t n;
	uint8_t *d = tu_read(path, &n);
	layout L;
	decode_layout(d, n, &L);
	assert_int_equal(L.n, 1);
	assert_int_equal(L.type[0], 1); /* the data block really is snappy */

	tfs_table *t = NULL;
	assert_int_equal(tfs_table_read(d, n, path, &t), 0);
	free(d); /* entries must outlive the input */
	assert_true(t->n >= 2);
	assert_int_equal(t->kv[0].key_len, 0);
	assert_true(t->kv[0].val_len >= 2);
	assert_int_equal(t->kv[0].val[0], 0x08); /* BundleHeaderProto.num_shards */
	assert_int_equal(t->kv[0].val[1], 0x01);
	for (size_t i = 0; i < t->n; i++)
		print_message("  key[%zu] = \"%.*s\" (%zu-byte value)\n", i, (int)t->kv[i].key_len,
		              (const char *)t->kv[i].key, t->kv[i].val_len);
	tfs_table_free(t);
	free(path);
	free(m);
}

/* A table built by hand with snappy data and index blocks, blocks stored out
 * of order with junk between them. */
static void test_snappy_and_scattered_blocks(void **state)
{
	(void)state;
	ent *e = calloc(40, sizeof *e);
	for (size_t i = 0; i < 40; i++) {
		char k[32], v[200];
		snprintf(k, sizeof k, "key/%03zu", i);
		memset(v, 'a' + (int)(i % 5), sizeof v);
		e[i] = mk(k, strlen(k), v, sizeof v);
	}
	tfs_buf f = { 0 }, blk = { 0 };
	uint64_t off[2], size[2];
	put(&f, "junk junk junk", 14);
	/* second block (entries 20..39) first, compressed */
	enc_block(&blk, e + 20, 20, 16);
	size_t cl;
	char *comp = compress(&blk, &cl);
	assert_true(cl < blk.len);
	hb_block(&f, comp, cl, 1, &off[1], &size[1]);
	put(&f, "gap", 3);
	enc_block(&blk, e, 20, 16);
	hb_block(&f, blk.data, blk.len, 0, &off[0], &size[0]);
	const char *seps[2] = { "key/019", "key/04" };
	hb_finish(&f, seps, off, size, 2, 1);
	tfs_table *t = read_copy(f.data, f.len);
	assert_same(t, e, 40);
	assert_int_equal(t->kv[0].offset, off[0]);
	assert_int_equal(t->kv[39].offset, off[1]);
	tfs_table_free(t);

	/* the same with a separator below the second block's last key */
	hb_two_blocks(&f, e, 20, e + 20, 20, "key/019", "key/030");
	expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, "less than the block's last key");
	/* and a first key not above the previous block's index key */
	hb_two_blocks(&f, e, 20, e + 20, 20, "key/025", "key/04");
	expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, "not above the previous index key");

	free(comp);
	tfs_buf_free(&f);
	tfs_buf_free(&blk);
	free_ents(e, 40);
}

/* ========================================================== corrupt inputs */

/* A valid multi-block table for the corruption tests. */
static uint8_t *sample(size_t *len)
{
	ent *e = calloc(50, sizeof *e);
	for (size_t i = 0; i < 50; i++) {
		char k[32], v[64];
		snprintf(k, sizeof k, "layer/%02zu/kernel", i);
		snprintf(v, sizeof v, "value-%zu-abcdefghijklmnopqrstuvwxyz", i);
		e[i] = mks(k, v);
	}
	uint8_t *f = write_table(e, 50, 512, len);
	free_ents(e, 50);
	return f;
}

static void test_too_short(void **state)
{
	(void)state;
	uint8_t z[48] = { 0 };
	expect_err(read_rc(NULL, 0), TFSHRINK_ECORRUPT, "too short to be an sstable");
	expect_err(read_rc(z, 47), TFSHRINK_ECORRUPT, "too short to be an sstable");
	expect_err(read_rc(z, 1), TFSHRINK_ECORRUPT, "too short to be an sstable");
	/* 48 bytes: the footer alone, with zero handles that cannot fit */
	size_t len;
	uint8_t *f = write_table(NULL, 0, 0, &len);
	expect_err(read_rc(f + len - 48, 48), TFSHRINK_ECORRUPT, "past the end");
	free(f);
}

static void test_truncated(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = sample(&len);
	layout L;
	decode_layout(f, len, &L);
	assert_true(L.n >= 3);
	/* cut in the middle of the second data block: the footer is gone */
	size_t cut = (size_t)(L.off[1] + L.size[1] / 2);
	expect_err(read_rc(f, cut), TFSHRINK_ECORRUPT, "bad magic");
	/* every shorter prefix fails cleanly */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(read_rc(f, n), TFSHRINK_ECORRUPT);
	/* a data block cut short while the footer is kept: the index block
	 * (after it) now runs past the end */
	uint8_t *g = malloc(len);
	size_t drop = 10;
	size_t at = (size_t)(L.off[0] + L.size[0] / 2);
	memcpy(g, f, at);
	memcpy(g + at, f + at + drop, len - at - drop);
	expect_err(read_rc(g, len - drop), TFSHRINK_ECORRUPT, "past the end");
	free(g);
	free(f);
}

static void test_bad_magic(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = sample(&len);
	for (size_t i = len - 8; i < len; i++) {
		f[i] ^= 0x01;
		expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "bad magic");
		assert_int_equal(tfshrink_error_last()->offset, (int64_t)(len - 8));
		f[i] ^= 0x01;
	}
	assert_int_equal(read_rc(f, len), 0);
	free(f);
}

static void test_handle_past_end(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = sample(&len);
	layout L;
	decode_layout(f, len, &L);
	uint64_t limit = len - 48;
	/* index block one byte too long (trailer would overlap the footer) */
	set_footer(f, len, L.moff, L.msize, L.ioff, L.isize + 1);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "past the end");
	/* index offset at the footer */
	set_footer(f, len, L.moff, L.msize, limit, 0);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "past the end");
	/* metaindex far outside (it is never read, but must be in range) */
	set_footer(f, len, len * 2, L.msize, L.ioff, L.isize);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "metaindex block handle");
	set_footer(f, len, L.moff, L.msize, L.ioff, L.isize);
	assert_int_equal(read_rc(f, len), 0);

	/* a data block handle in the index pointing outside */
	tfs_buf g = { 0 };
	hb_kv_at(&g, 1000000, NULL);
	expect_err(read_rc(g.data, g.len), TFSHRINK_ECORRUPT, "data block handle");
	tfs_buf_free(&g);
	free(f);
}

static void test_huge_varints(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = sample(&len);
	layout L;
	decode_layout(f, len, &L);
	/* offsets and sizes whose sums wrap around 2^64 */
	set_footer(f, len, UINT64_MAX, 1, L.ioff, L.isize);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "past the end");
	set_footer(f, len, L.moff, L.msize, 10, UINT64_MAX - 5);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "past the end");
	set_footer(f, len, L.moff, L.msize, (uint64_t)1 << 63, (uint64_t)1 << 63);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "past the end");
	set_footer(f, len, L.moff, L.msize, UINT64_MAX - 2, 8);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "past the end");
	/* a varint longer than 64 bits */
	uint8_t *foot = f + len - 48;
	memset(foot, 0, 40);
	memset(foot, 0xff, 9);
	foot[9] = 0x7f;
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "varint");
	assert_int_equal(tfshrink_error_last()->offset, (int64_t)(len - 48));
	/* a varint that never ends inside the 40 handle bytes */
	memset(foot, 0x80, 40);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "varint");
	free(f);

	/* huge handle values inside the index block */
	tfs_buf g = { 0 };
	const uint64_t huge = UINT64_MAX - 1;
	hb_kv_at(&g, 3, &huge);
	expect_err(read_rc(g.data, g.len), TFSHRINK_ECORRUPT, "past the end");
	tfs_buf_free(&g);
}

static void test_checksum_mismatch(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = sample(&len);
	layout L;
	decode_layout(f, len, &L);
	/* flip a byte in a data block, in the index block, in a trailer CRC */
	size_t spots[] = { (size_t)L.off[0] + 3, (size_t)L.off[2] + 1, (size_t)L.ioff + 2,
	                   (size_t)(L.off[1] + L.size[1] + 2) };
	uint64_t blk[] = { L.off[0], L.off[2], L.ioff, L.off[1] };
	for (size_t i = 0; i < 4; i++) {
		f[spots[i]] ^= 0x20;
		expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "block checksum mismatch");
		assert_int_equal(tfshrink_error_last()->offset, (int64_t)blk[i]);
		f[spots[i]] ^= 0x20;
	}
	/* the type byte is covered by the CRC too */
	f[L.off[0] + L.size[0]] = 1;
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "block checksum mismatch");
	f[L.off[0] + L.size[0]] = 0;
	assert_int_equal(read_rc(f, len), 0);

	/* every single-byte flip anywhere either fails cleanly or, in the bytes
	 * no reader looks at (the metaindex block, which TensorFlow never reads,
	 * and the footer padding), changes nothing */
	for (size_t i = 0; i < len; i++) {
		f[i] ^= 0x55;
		int rc = read_rc(f, len);
		assert_true(rc == 0 || rc == TFSHRINK_ECORRUPT || rc == TFSHRINK_ELIMIT);
		int unread = (i >= len - 48 && i < len - 8) ||
		             (i >= L.moff && i < L.moff + L.msize + 5);
		if (rc == 0 && !unread)
			fail_msg("flip at %zu of %zu accepted", i, len);
		f[i] ^= 0x55;
	}
	free(f);
}

static void test_bad_block_type(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = sample(&len);
	layout L;
	decode_layout(f, len, &L);
	uint8_t types[] = { 2, 3, 0x80, 0xff };
	for (size_t i = 0; i < sizeof types; i++) {
		f[L.off[1] + L.size[1]] = types[i];
		fix_crc(f, L.off[1], L.size[1]);
		expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "bad block type");
		assert_int_equal(tfshrink_error_last()->offset, (int64_t)(L.off[1] + L.size[1]));
	}
	/* in the index block */
	f[L.off[1] + L.size[1]] = 0;
	fix_crc(f, L.off[1], L.size[1]);
	assert_int_equal(read_rc(f, len), 0);
	f[L.ioff + L.isize] = 2;
	fix_crc(f, L.ioff, L.isize);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "bad block type");
	free(f);
}

static void test_restarts(void **state)
{
	(void)state;
	tfs_buf f = { 0 }, blk = { 0 };
	ent *e = calloc(3, sizeof *e);
	e[0] = mks("apple", "1");
	e[1] = mks("apricot", "2");
	e[2] = mks("banana", "3");
	enc_block(&blk, e, 3, 16);
	hb_one_block(&f, blk.data, blk.len, 0, "c");
	assert_int_equal(read_rc(f.data, f.len), 0);

	/* restart count larger than the block can hold */
	uint32_t counts[] = { 0xffffffffu, 0x40000000u, (uint32_t)(blk.len / 4) };
	for (size_t i = 0; i < 3; i++) {
		tfs_put_u32le(blk.data + blk.len - 4, counts[i]);
		hb_one_block(&f, blk.data, blk.len, 0, "c");
		expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, "restart count");
		assert_int_equal(tfshrink_error_last()->offset, (int64_t)(blk.len - 4));
	}
	/* count just fitting: restart array swallows the entries, so the last
	 * "restart" is garbage and the entries are cut */
	tfs_put_u32le(blk.data + blk.len - 4, (uint32_t)((blk.len - 4) / 4));
	hb_one_block(&f, blk.data, blk.len, 0, "c");
	assert_int_equal(read_rc(f.data, f.len), TFSHRINK_ECORRUPT);

	/* block shorter than the restart count itself */
	hb_one_block(&f, "\x01\x00", 2, 0, "c");
	expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, "too short");
	/* the entries with other restart arrays (then their count) */
	static const struct {
		uint32_t tail[3];
		size_t n;
		const char *needle;
	} tails[] = {
		{ { 0 }, 1, "no restart points" },
		{ { 0, 4, 2 }, 3, "entry boundary" },         /* in the middle of an entry */
		{ { 0, 3 + 5 + 1, 2 }, 3, "shares" },         /* at "apricot", which shares "ap" */
		{ { 9, 1 }, 2, "first restart point" },       /* the first not 0 */
		{ { 0, 1000, 2 }, 3, "entry boundary" },      /* past the entries */
	};
	enc_block(&blk, e, 3, 16);
	tfs_buf b2 = { 0 };
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		b2.len = 0;
		put(&b2, blk.data, blk.len - 8);
		for (size_t k = 0; k < tails[i].n; k++)
			put32(&b2, tails[i].tail[k]);
		hb_one_block(&f, b2.data, b2.len, 0, "c");
		expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, tails[i].needle);
	}

	tfs_buf_free(&b2);
	tfs_buf_free(&f);
	tfs_buf_free(&blk);
	free_ents(e, 3);
}

static void test_unsorted(void **state)
{
	(void)state;
	/* a valid file from the writer, then the first key rewritten so the two
	 * keys are out of order, with the block CRC recomputed */
	ent *e = calloc(2, sizeof *e);
	e[0] = mks("k1", "v1");
	e[1] = mks("k2", "v2");
	size_t len;
	uint8_t *f = write_table(e, 2, 0, &len);
	layout L;
	decode_layout(f, len, &L);
	assert_int_equal(L.off[0], 0);
	/* entry 0: 00 02 02 'k' '1' 'v' '1' */
	assert_int_equal(f[4], '1');
	f[4] = '3';
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "block checksum mismatch");
	fix_crc(f, L.off[0], L.size[0]);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "out of order");
	f[4] = '2'; /* duplicate key */
	fix_crc(f, L.off[0], L.size[0]);
	expect_err(read_rc(f, len), TFSHRINK_ECORRUPT, "out of order");
	f[4] = '1';
	fix_crc(f, L.off[0], L.size[0]);
	assert_int_equal(read_rc(f, len), 0);
	free(f);

	/* written by hand: entries in the wrong order, across two blocks */
	tfs_buf g = { 0 }, blk = { 0 };
	ent *x = calloc(2, sizeof *x);
	x[0] = mks("b", "1");
	x[1] = mks("a", "2");
	enc_block(&blk, x, 2, 16);
	hb_one_block(&g, blk.data, blk.len, 0, "c");
	expect_err(read_rc(g.data, g.len), TFSHRINK_ECORRUPT, "out of order");
	hb_two_blocks(&g, x, 1, x + 1, 1, "b", "c");
	expect_err(read_rc(g.data, g.len), TFSHRINK_ECORRUPT, "out of order");
	/* index keys out of order */
	hb_two_blocks(&g, x + 1, 1, x, 1, "c", "a");
	expect_err(read_rc(g.data, g.len), TFSHRINK_ECORRUPT, "index block keys out of order");

	tfs_buf_free(&g);
	tfs_buf_free(&blk);
	free_ents(x, 2);
	free_ents(e, 2);
}

/* Bytes of one data block that must be refused with `needle` (any message
 * if NULL), at `offset` unless that is -1. */
typedef struct bad_block {
	const uint8_t *b;
	size_t n;
	const char *needle;
	int64_t offset;
} bad_block;

static void expect_bad_blocks(const bad_block *c, size_t n, uint8_t type)
{
	tfs_buf f = { 0 };
	for (size_t i = 0; i < n; i++) {
		hb_one_block(&f, c[i].b, c[i].n, type, "c");
		expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, c[i].needle);
		if (c[i].offset >= 0)
			assert_int_equal(tfshrink_error_last()->offset, c[i].offset);
	}
	tfs_buf_free(&f);
}

static void test_bad_entries(void **state)
{
	(void)state;
	tfs_buf f = { 0 }, b = { 0 };
	/* shared prefix longer than the previous key */
	static const uint8_t shared[] = {
		0, 1, 0, 'a',       /* "a" */
		5, 1, 0, 'b',       /* shares 5 bytes of a 1-byte key */
		0, 0, 0, 0, 1, 0, 0, 0,
	};
	/* first entry with a shared prefix */
	static const uint8_t first[] = { 1, 1, 0, 'a', 0, 0, 0, 0, 1, 0, 0, 0 };
	/* key running past the entries (into the restart array) */
	static const uint8_t longkey[] = { 0, 9, 0, 'a', 0, 0, 0, 0, 1, 0, 0, 0 };
	/* value running past the entries */
	static const uint8_t longval[] = { 0, 1, 9, 'a', 'v', 0, 0, 0, 0, 1, 0, 0, 0 };
	/* truncated varint at the end of the entries */
	static const uint8_t trunc[] = { 0, 1, 0, 'a', 0x80, 0, 0, 0, 0, 1, 0, 0, 0 };
	/* a length that does not fit 32 bits */
	static const uint8_t big[] = { 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 0, 1, 0, 0, 0 };
	const bad_block bad[] = {
		{ shared, sizeof shared, "shared prefix", 4 },
		{ first, sizeof first, "shares", -1 },
		{ longkey, sizeof longkey, "entry key", -1 },
		{ longval, sizeof longval, "entry value", -1 },
		{ trunc, sizeof trunc, NULL, -1 },
		{ big, sizeof big, "32 bits", -1 },
	};
	expect_bad_blocks(bad, sizeof bad / sizeof *bad, 0);

	/* a key over TFS_MAX_KEY_BYTES */
	size_t kl = (size_t)TFS_MAX_KEY_BYTES + 1;
	ent *e = calloc(1, sizeof *e);
	uint8_t *k = malloc(kl);
	memset(k, 'k', kl);
	e[0] = mk(k, kl, "v", 1);
	free(k);
	size_t len;
	uint8_t *t = write_table(e, 1, 0, &len);
	expect_err(read_rc(t, len), TFSHRINK_ELIMIT, "key of");
	free(t);
	free_ents(e, 1);

	/* an index entry with bytes after its handle */
	b.len = 0;
	static const uint8_t one[] = { 0, 1, 1, 'a', 'v', 0, 0, 0, 0, 1, 0, 0, 0 };
	uint64_t doff, dsize, moff, msize, ioff, isize;
	f.len = 0;
	hb_block(&f, one, sizeof one, 0, &doff, &dsize);
	enc_block(&b, NULL, 0, 16);
	hb_block(&f, b.data, b.len, 0, &moff, &msize);
	uint8_t h[8] = { (uint8_t)doff, (uint8_t)dsize, 'x' };
	ent *ie = calloc(1, sizeof *ie);
	ie[0] = mk("b", 1, h, 3);
	enc_block(&b, ie, 1, 1);
	hb_block(&f, b.data, b.len, 0, &ioff, &isize);
	hb_footer(&f, moff, msize, ioff, isize);
	expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, "after its block handle");
	free_ents(ie, 1);

	tfs_buf_free(&f);
	tfs_buf_free(&b);
}

static void test_bad_snappy(void **state)
{
	(void)state;
	tfs_buf f = { 0 }, blk = { 0 };
	/* claims 10 bytes, delivers a 1-byte literal; CRC valid */
	static const uint8_t short_literal[] = { 0x0a, 0x00, 'x' };
	/* a copy reaching before the start of the output */
	static const uint8_t badcopy[] = { 0x08, 0x00, 'x', 0x0d, 0x10 };
	/* a broken length header */
	static const uint8_t badlen[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const bad_block bad[] = {
		{ short_literal, sizeof short_literal, "snappy", 0 },
		{ badcopy, sizeof badcopy, "snappy", -1 },
		{ badlen, sizeof badlen, "snappy", -1 },
	};
	expect_bad_blocks(bad, sizeof bad / sizeof *bad, 1);

	/* valid snappy, but the decompressed block is corrupt: the error names
	 * the block's file offset and the position inside the block */
	ent *e = calloc(2, sizeof *e);
	e[0] = mks("b", "1");
	e[1] = mks("a", "2");
	enc_block(&blk, e, 2, 16);
	size_t cl;
	char *comp = compress(&blk, &cl);
	put(&f, "pad", 3);
	uint64_t doff, dsize;
	hb_block(&f, comp, cl, 1, &doff, &dsize);
	const char *sep = "c";
	hb_finish(&f, &sep, &doff, &dsize, 1, 0);
	expect_err(read_rc(f.data, f.len), TFSHRINK_ECORRUPT, "after snappy decompression");
	assert_int_equal(tfshrink_error_last()->offset, 3);
	free(comp);
	free_ents(e, 2);
	tfs_buf_free(&f);
	tfs_buf_free(&blk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_one_key),
		cmocka_unit_test(test_shared_prefixes),
		cmocka_unit_test(test_values_span_blocks),
		cmocka_unit_test(test_flush_thresholds),
		cmocka_unit_test(test_huge_entry),
		cmocka_unit_test(test_small_block_size),
		cmocka_unit_test(test_random_binary_keys),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_writer_rejects),
		cmocka_unit_test(test_real_byte_exact),
		cmocka_unit_test(test_real_snappy),
		cmocka_unit_test(test_snappy_and_scattered_blocks),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_handle_past_end),
		cmocka_unit_test(test_huge_varints),
		cmocka_unit_test(test_checksum_mismatch),
		cmocka_unit_test(test_bad_block_type),
		cmocka_unit_test(test_restarts),
		cmocka_unit_test(test_unsorted),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_bad_snappy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
