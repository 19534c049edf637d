/* test_bundle.c - tensor bundle: round trips for every stored dtype, string
 * tensors laid out as TensorFlow does, every real bundle, corrupt bundles. */
#include "testutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crc32c.h"
#include "cursor.h"
#include "dtype.h"
#include "error.h"
#include "formats/bundle.h"
#include "formats/table.h"
#include "fsutil.h"
#include "tensorflow.pb-c.h"
#include "tfs_limits.h"

/* ------------------------------------------------------------- shapes */

typedef struct shape {
	Tensorflow__TensorShapeProto s;
	Tensorflow__TensorShapeProto__Dim d[8];
	Tensorflow__TensorShapeProto__Dim *dp[8];
} shape;

/* Fills sh in place (it holds pointers into itself: do not copy it after). */
static Tensorflow__TensorShapeProto *mkshape(shape *sh, int nd, const int64_t *dims)
{
	Tensorflow__TensorShapeProto s = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
	assert_true(nd >= 0 && nd <= 8);
	sh->s = s;
	for (int i = 0; i < nd; i++) {
		Tensorflow__TensorShapeProto__Dim d = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT;
		d.size = dims[i];
		sh->d[i] = d;
		sh->dp[i] = &sh->d[i];
	}
	sh->s.n_dim = (size_t)nd;
	sh->s.dim = nd ? sh->dp : NULL;
	return &sh->s;
}

/* --------------------------------------------------- tensors under test */

typedef struct tt {
	uint8_t key[2100];
	size_t key_len;
	int dtype;
	int nd;
	int64_t dims[8];
	uint8_t *data;
	uint64_t n;
	uint32_t crc; /* masked; for string tensors (computed by the writer otherwise) */
	int shard;
	uint64_t offset; /* where the writer put it */
} tt;

static uint64_t g_rng = 88172645463325252ull;
static uint8_t rnd8(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (uint8_t)(g_rng >> 24);
}

static int64_t elements(const tt *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->nd; i++)
		n *= t->dims[i];
	return n;
}

/* A numeric tensor with pseudo-random contents. */
static void mk_numeric(tt *t, const char *key, int dtype, int nd, const int64_t *dims, int shard)
{
	memset(t, 0, sizeof *t);
	t->key_len = strlen(key);
	memcpy(t->key, key, t->key_len);
	t->dtype = dtype;
	t->nd = nd;
	for (int i = 0; i < nd; i++)
		t->dims[i] = dims[i];
	t->shard = shard;
	int es = tfs_dtype_size(dtype);
	assert_true(es > 0);
	t->n = (uint64_t)elements(t) * (uint64_t)es;
	t->data = malloc(t->n ? t->n : 1);
	assert_non_null(t->data);
	for (uint64_t i = 0; i < t->n; i++)
		t->data[i] = dtype == TFS_DT_BOOL ? (rnd8() & 1) : rnd8();
}

/* The TensorFlow string layout, written here from the format notes
 * independently of tfs_bundle_encode_strings. */
static void ref_encode_strings(const uint8_t *const *s, const uint64_t *lens, uint64_t n, tfs_buf *out,
                               uint32_t *masked)
{
	uint32_t lc = 0;
	out->len = 0;
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(tfs_buf_put_varint(out, lens[i]), 0);
		uint8_t le[4];
		tfs_put_u32le(le, (uint32_t)lens[i]);
		lc = tfs_crc32c_extend(lc, le, 4);
	}
	uint8_t m[4];
	tfs_put_u32le(m, tfs_crc_mask(lc));
	assert_int_equal(tfs_buf_append(out, m, 4), 0);
	uint32_t c = tfs_crc32c_extend(lc, m, 4);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(tfs_buf_append(out, s[i], (size_t)lens[i]), 0);
		c = tfs_crc32c_extend(c, s[i], (size_t)lens[i]);
	}
	*masked = tfs_crc_mask(c);
}

/* A string tensor; checks tfs_bundle_encode_strings against the reference. */
static void mk_string(tt *t, const char *key, int nd, const int64_t *dims, const uint8_t *const *s,
                      const uint64_t *lens, int shard)
{
	memset(t, 0, sizeof *t);
	t->key_len = strlen(key);
	memcpy(t->key, key, t->key_len);
	t->dtype = TFS_DT_STRING;
	t->nd = nd;
	for (int i = 0; i < nd; i++)
		t->dims[i] = dims[i];
	t->shard = shard;
	uint64_t n = (uint64_t)elements(t);
	assert_int_equal(tfs_bundle_encode_strings(s, lens, n, &t->data, &t->n, &t->crc), 0);
	tfs_buf ref = { 0 };
	uint32_t rc;
	ref_encode_strings(s, lens, n, &ref, &rc);
	assert_int_equal(ref.len, t->n);
	assert_memory_equal(ref.data, t->data, ref.len);
	assert_int_equal(rc, t->crc);
	tfs_buf_free(&ref);
}

static void free_tts(tt *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

/* Writes the tensors, in the order given, with the bundle writer. */
static void write_bundle(const char *prefix, tt *v, size_t n, int num_shards)
{
	tfs_bundle_writer w;
	tu_bundle_writer_open(&w, prefix, num_shards);
	uint64_t *pos = calloc((size_t)num_shards, sizeof *pos);
	for (size_t i = 0; i < n; i++) {
		shape sh;
		Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
		e.dtype = (Tensorflow__DataType)v[i].dtype;
		e.shape = mkshape(&sh, v[i].nd, v[i].dims);
		e.crc32c = v[i].crc;
		assert_int_equal(tfs_bundle_writer_pos(&w, v[i].shard), pos[v[i].shard]);
		static const uint8_t none[1];
		int rc = tfs_bundle_writer_add_bytes(&w, v[i].key, v[i].key_len, &e, v[i].shard,
		                                     v[i].data ? v[i].data : none, v[i].n, &v[i].offset);
		if (rc)
			fail_msg("add %s: %s", (const char *)v[i].key, tfshrink_error_last()->message);
		/* appended in the order added, no padding */
		assert_int_equal(v[i].offset, pos[v[i].shard]);
		pos[v[i].shard] += v[i].n;
	}
	int rc = tfs_bundle_writer_finish(&w);
	if (rc)
		fail_msg("finish: %s", tfshrink_error_last()->message);
	assert_true(w.index_bytes > 0);
	tfs_bundle_writer_free(&w);
	for (int s = 0; s < num_shards; s++) {
		char *sp = tfs_bundle_shard_path(prefix, s, num_shards);
		size_t len;
		uint8_t *d = tu_read(sp, &len);
		assert_int_equal(len, pos[s]);
		free(d);
		free(sp);
	}
	free(pos);
}

/* Opens the bundle and checks every tensor against what was written. */
static tfs_bundle *check_bundle(const char *prefix, const tt *v, size_t n, int num_shards)
{
	tfs_bundle *b = NULL;
	int rc = tfs_bundle_open(prefix, &b);
	if (rc)
		fail_msg("open %s: %s (%s)", prefix, tfshrink_error_last()->message,
		         tfshrink_error_last()->path ? tfshrink_error_last()->path : "-");
	assert_int_equal(b->n, n);
	assert_int_equal(b->num_shards, num_shards);
	assert_int_equal(b->header->num_shards, num_shards);
	assert_non_null(b->header->version);
	assert_int_equal(b->header->version->producer, 1);
	for (size_t i = 1; i < b->n; i++)
		assert_true(tu_key_cmp(b->e[i - 1].key, b->e[i - 1].key_len, b->e[i].key, b->e[i].key_len) < 0);
	for (size_t i = 0; i < n; i++) {
		const tfs_bundle_entry *e = tfs_bundle_find(b, v[i].key, v[i].key_len);
		if (!e)
			fail_msg("key %s not found", (const char *)v[i].key);
		assert_int_equal(e->key_len, v[i].key_len);
		assert_memory_equal(e->key, v[i].key, v[i].key_len);
		assert_int_equal(e->key[e->key_len], '\0');
		const Tensorflow__BundleEntryProto *p = e->proto;
		assert_int_equal(p->dtype, v[i].dtype);
		assert_int_equal(p->n_slices, 0);
		assert_int_equal(p->shard_id, v[i].shard);
		assert_int_equal(p->offset, (int64_t)v[i].offset);
		assert_int_equal(p->size, (int64_t)v[i].n);
		assert_int_equal(e->elements, elements(&v[i]));
		size_t nd = p->shape ? p->shape->n_dim : 0;
		assert_int_equal(nd, v[i].nd);
		for (size_t k = 0; k < nd; k++)
			assert_int_equal(p->shape->dim[k]->size, v[i].dims[k]);
		if (v[i].dtype == TFS_DT_STRING)
			assert_int_equal(p->crc32c, v[i].crc);
		else
			assert_int_equal(p->crc32c, tfs_crc_mask(tfs_crc32c(v[i].data, (size_t)v[i].n)));
		const uint8_t *d;
		uint64_t dn;
		assert_int_equal(tfs_bundle_data(b, e, &d, &dn), 0);
		assert_int_equal(dn, v[i].n);
		assert_non_null(d);
		if (dn)
			assert_memory_equal(d, v[i].data, dn);
		rc = tfs_bundle_verify(b, e);
		if (rc)
			fail_msg("verify %s: %s", (const char *)v[i].key, tfshrink_error_last()->message);
	}
	/* the header entry is not a tensor */
	assert_null(tfs_bundle_find(b, "", 0));
	return b;
}

static void roundtrip(const char *name, tt *v, size_t n, int num_shards)
{
	char *prefix = tu_tmp_path(name);
	write_bundle(prefix, v, n, num_shards);
	tfs_bundle *b = check_bundle(prefix, v, n, num_shards);
	tfs_bundle_free(b);
	free(prefix);
}

/* ========================================================== round trips */

static const int numeric_dtypes[] = {
	TFS_DT_FLOAT, TFS_DT_DOUBLE, TFS_DT_INT8, TFS_DT_INT16, TFS_DT_INT32, TFS_DT_INT64,
	TFS_DT_UINT8, TFS_DT_UINT16, TFS_DT_UINT32, TFS_DT_UINT64, TFS_DT_BOOL, TFS_DT_BFLOAT16,
	TFS_DT_HALF, TFS_DT_COMPLEX64, TFS_DT_COMPLEX128,
	/* also memcpy-able in TensorFlow */
	TFS_DT_QINT8, TFS_DT_QUINT8, TFS_DT_QINT16, TFS_DT_QUINT16, TFS_DT_QINT32,
};
#define N_NUMERIC (sizeof numeric_dtypes / sizeof *numeric_dtypes)

static void test_every_dtype(void **state)
{
	(void)state;
	static const int expect_size[] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 2, 8, 16, 1, 1, 2, 2, 4 };
	static const struct {
		int nd;
		int64_t dims[5];
	} shapes[] = {
		{ 0, { 0 } }, { 1, { 1 } }, { 1, { 7 } }, { 2, { 3, 4 } }, { 3, { 2, 3, 5 } }, { 5, { 2, 1, 2, 1, 3 } },
		{ 2, { 1, 1 } },
	};
	size_t ns = sizeof shapes / sizeof *shapes, n = N_NUMERIC * ns;
	tt *v = calloc(n, sizeof *v);
	size_t k = 0;
	for (size_t d = 0; d < N_NUMERIC; d++) {
		assert_int_equal(tfs_dtype_size(numeric_dtypes[d]), expect_size[d]);
		assert_true(tfs_dtype_valid(numeric_dtypes[d]));
		for (size_t s = 0; s < ns; s++) {
			char key[64];
			snprintf(key, sizeof key, "%s/shape_%zu", tfs_dtype_name(numeric_dtypes[d]), s);
			mk_numeric(&v[k++], key, numeric_dtypes[d], shapes[s].nd, shapes[s].dims, 0);
		}
	}
	roundtrip("all", v, n, 1);
	free_tts(v, n);

	/* each dtype alone, as a scalar: the smallest bundles */
	for (size_t d = 0; d < N_NUMERIC; d++) {
		tt *one = calloc(1, sizeof *one);
		mk_numeric(one, "scalar", numeric_dtypes[d], 0, NULL, 0);
		char name[32];
		snprintf(name, sizeof name, "one_%zu", d);
		roundtrip(name, one, 1, 1);
		free_tts(one, 1);
	}
}

static void test_zero_elements(void **state)
{
	(void)state;
	static const int64_t z1[] = { 0 }, z3[] = { 3, 0, 2 }, big0[] = { 1000000, 0 };
	tt *v = calloc(6, sizeof *v);
	mk_numeric(&v[0], "empty/float", TFS_DT_FLOAT, 1, z1, 0);
	mk_numeric(&v[1], "empty/int64", TFS_DT_INT64, 3, z3, 0);
	mk_numeric(&v[2], "empty/complex128", TFS_DT_COMPLEX128, 2, big0, 0);
	mk_numeric(&v[3], "empty/bool", TFS_DT_BOOL, 1, z1, 0);
	static const int64_t d2[] = { 2, 2 };
	mk_numeric(&v[4], "full/float", TFS_DT_FLOAT, 2, d2, 0);
	mk_numeric(&v[5], "empty/after", TFS_DT_HALF, 1, z1, 0);
	roundtrip("mixed", v, 6, 1);
	/* zero-element tensors sit at the offset of the next tensor */
	assert_int_equal(v[1].offset, 0);
	assert_int_equal(v[5].offset, 16);

	/* only empty tensors: the data shard is an empty file */
	roundtrip("allempty", v, 4, 1);
	char *sp = NULL;
	assert_true(asprintf(&sp, "%s/allempty.data-00000-of-00001", tu_tmp) > 0);
	size_t len;
	free(tu_read(sp, &len));
	assert_int_equal(len, 0);
	free(sp);
	free_tts(v, 6);

	/* and no tensors at all */
	roundtrip("none", NULL, 0, 1);
	char *prefix = tu_tmp_path("none");
	tfs_bundle *b = NULL;
	assert_int_equal(tfs_bundle_open(prefix, &b), 0);
	assert_int_equal(b->n, 0);
	assert_null(tfs_bundle_find(b, "a", 1));
	tfs_bundle_free(b);
	free(prefix);
}

static void test_many_keys_three_shards(void **state)
{
	(void)state;
	size_t n = 1000;
	tt *v = calloc(n, sizeof *v);
	static const char *const parts[] = { "kernel", "bias", "gamma", "beta", "moving_mean" };
	for (size_t i = 0; i < n; i++) {
		char key[200];
		snprintf(key, sizeof key, "model/layer_with_a_long_name_%03zu/%s/.ATTRIBUTES/VARIABLE_VALUE%s", i / 5,
		         parts[i % 5], (i % 3 == 0) ? "/.OPTIMIZER_SLOT/optimizer/m" : "");
		int64_t dims[2] = { (int64_t)(i % 7), (int64_t)(i % 5 + 1) };
		int dt = numeric_dtypes[i % N_NUMERIC];
		mk_numeric(&v[i], key, dt, (int)(i % 3), dims, (int)(i % 3));
	}
	/* shuffle: the writer must sort the index but keep data in add order */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = ((size_t)rnd8() << 8 | rnd8()) % (i + 1);
		tt t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
	roundtrip("many", v, n, 3);

	/* every shard is used, and each is the concatenation of its tensors */
	char *prefix = tu_tmp_path("many");
	tfs_bundle *b = NULL;
	assert_int_equal(tfs_bundle_open(prefix, &b), 0);
	for (int s = 0; s < 3; s++) {
		size_t cnt = 0;
		uint64_t bytes = 0;
		for (size_t i = 0; i < b->n; i++)
			if (b->e[i].proto->shard_id == s) {
				cnt++;
				bytes += (uint64_t)b->e[i].proto->size;
			}
		assert_true(cnt > 300);
		assert_int_equal(bytes, b->shards[s].size);
	}
	/* absent keys around present ones */
	assert_null(tfs_bundle_find(b, "model", 5));
	assert_null(tfs_bundle_find(b, "model/layer_with_a_long_name_000/kernel", 39));
	assert_null(tfs_bundle_find(b, "zzz", 3));
	assert_null(tfs_bundle_find(b, "\x01", 1));
	for (size_t i = 0; i < 50; i++) {
		uint8_t k[2101];
		memcpy(k, v[i].key, v[i].key_len);
		k[v[i].key_len] = 'x';
		assert_null(tfs_bundle_find(b, k, v[i].key_len + 1));
		assert_null(tfs_bundle_find(b, k, v[i].key_len - 1));
		assert_non_null(tfs_bundle_find(b, k, v[i].key_len));
	}
	tfs_bundle_free(b);
	free(prefix);
	free_tts(v, n);
}

static void test_shared_prefix_keys(void **state)
{
	(void)state;
	static const struct {
		const char *k;
		size_t len;
	} keys[] = {
		{ "a", 1 }, { "a/", 2 }, { "a/b", 3 }, { "a/b/c", 5 }, { "a/bc", 4 }, { "ab", 2 }, { "b", 1 },
		{ "a\0", 2 }, { "a\0b", 3 }, { "\xff", 1 }, { "\xff\xff", 2 }, { "\x80\x01", 2 }, { "\x01", 1 },
		{ "A", 1 }, { "a/b/c/", 6 },
	};
	size_t nk = sizeof keys / sizeof *keys;
	tt *v = calloc(nk + 1, sizeof *v);
	for (size_t i = 0; i < nk; i++) {
		int64_t d = (int64_t)i;
		mk_numeric(&v[i], "", TFS_DT_FLOAT, 1, &d, 0);
		memcpy(v[i].key, keys[i].k, keys[i].len);
		v[i].key_len = keys[i].len;
	}
	/* a 2000-byte key sharing a prefix with "a/b/c" */
	int64_t d3 = 3;
	mk_numeric(&v[nk], "", TFS_DT_INT32, 1, &d3, 0);
	memcpy(v[nk].key, "a/b/c", 5);
	memset(v[nk].key + 5, 'z', 1995);
	v[nk].key_len = 2000;
	roundtrip("prefix", v, nk + 1, 1);

	char *prefix = tu_tmp_path("prefix");
	tfs_bundle *b = NULL;
	assert_int_equal(tfs_bundle_open(prefix, &b), 0);
	assert_null(tfs_bundle_find(b, "a/b/", 4));
	assert_null(tfs_bundle_find(b, "a\0c", 3));
	assert_null(tfs_bundle_find(b, "a\0\0", 3));
	assert_null(tfs_bundle_find(b, "\xff\xff\xff", 3));
	assert_null(tfs_bundle_find(b, "\0", 1));
	assert_null(tfs_bundle_find(b, "c", 1));
	assert_null(tfs_bundle_find(b, "B", 1));
	/* bytewise order: 0x01 < 'A' < 'a' < 'a\0' < 'a/' < 'ab' < 'b' < 0x80 < 0xff */
	assert_int_equal(b->e[0].key_len, 1);
	assert_int_equal(b->e[0].key[0], 0x01);
	assert_memory_equal(b->e[1].key, "A", 1);
	assert_memory_equal(b->e[2].key, "a", 2); /* "a" and its NUL terminator */
	assert_int_equal(b->e[2].key_len, 1);
	assert_int_equal(b->e[3].key_len, 2);
	assert_memory_equal(b->e[3].key, "a\0", 2);
	assert_int_equal(b->e[b->n - 1].key_len, 2);
	assert_memory_equal(b->e[b->n - 1].key, "\xff\xff", 2);
	tfs_bundle_free(b);
	free(prefix);
	free_tts(v, nk + 1);
}

static void test_strings(void **state)
{
	(void)state;
	size_t big = 70000;
	uint8_t *large = malloc(big);
	for (size_t i = 0; i < big; i++)
		large[i] = (uint8_t)(i * 131 + 7);
	static const uint8_t binary[] = { 0x00, 0xff, 0x80, 0x7f, 0x00, 0x0a, 0x0d, 0xc3, 0x28 };
	uint8_t s127[127], s128[128], s16384[16384];
	memset(s127, 'x', sizeof s127);
	memset(s128, 'y', sizeof s128);
	memset(s16384, 'z', sizeof s16384);
	const uint8_t *strs[] = { (const uint8_t *)"", (const uint8_t *)"hello", large, binary,
		                  (const uint8_t *)"", s127, s128, s16384 };
	uint64_t lens[] = { 0, 5, big, sizeof binary, 0, 127, 128, 16384 };

	tt *v = calloc(8, sizeof *v);
	int64_t d8 = 8, d23[2] = { 2, 3 }, d0 = 0, d20[2] = { 2, 0 }, d1 = 1, d4 = 4;
	mk_string(&v[0], "strings/vector", 1, &d8, strs, lens, 0);
	mk_string(&v[1], "strings/matrix", 2, d23, strs, lens, 0);
	const uint8_t *sc[] = { (const uint8_t *)"scalar string" };
	uint64_t scl[] = { 13 };
	mk_string(&v[2], "strings/scalar", 0, NULL, sc, scl, 0);
	mk_string(&v[3], "strings/none", 1, &d0, strs, lens, 0);
	mk_string(&v[4], "strings/none2d", 2, d20, strs, lens, 0);
	const uint8_t *e1[] = { (const uint8_t *)"" };
	uint64_t e1l[] = { 0 };
	mk_string(&v[5], "strings/one_empty", 1, &d1, e1, e1l, 0);
	mk_numeric(&v[6], "numbers/between", TFS_DT_INT16, 1, &d4, 0);
	mk_string(&v[7], "strings/binary", 0, NULL, &strs[3], &lens[3], 0);

	/* layouts spelled out */
	assert_int_equal(v[3].n, 4); /* no strings: just the masked CRC of no lengths */
	assert_int_equal(tfs_get_u32le(v[3].data), tfs_crc_mask(0));
	assert_int_equal(v[2].n, 1 + 4 + 13);
	assert_int_equal(v[2].data[0], 13);
	assert_memory_equal(v[2].data + 5, "scalar string", 13);
	/* varint lengths: 0, 5, 70000 (3 bytes), 9, 0, 127 (1), 128 (2), 16384 (3) */
	assert_int_equal(v[0].n, (1 + 1 + 3 + 1 + 1 + 1 + 2 + 3) + 4 + (0 + 5 + big + 9 + 0 + 127 + 128 + 16384));
	static const uint8_t lens_enc[] = { 0x00, 0x05, 0xf0, 0xa2, 0x04, 0x09, 0x00, 0x7f, 0x80, 0x01, 0x80, 0x80, 0x01 };
	assert_memory_equal(v[0].data, lens_enc, sizeof lens_enc);
	roundtrip("strings", v, 8, 1);
	free_tts(v, 8);
	free(large);
}

static void test_writer_rejects(void **state)
{
	(void)state;
	char *prefix = tu_tmp_path("rej");
	tfs_bundle_writer w;
	tu_assert_error(tfs_bundle_writer_open(&w, prefix, 0, NULL), TFSHRINK_EINVAL, "shard");
	assert_int_equal(tfs_bundle_writer_open(&w, prefix, 2, NULL), 0);
	Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
	e.dtype = TENSORFLOW__DATA_TYPE__DT_FLOAT;
	uint8_t four[4] = { 1, 2, 3, 4 };
	tu_assert_error(tfs_bundle_writer_add_bytes(&w, "k", 1, &e, 2, four, 4, NULL), TFSHRINK_EINVAL, "shard");
	tu_assert_error(tfs_bundle_writer_add_bytes(&w, "k", 1, &e, -1, four, 4, NULL), TFSHRINK_EINVAL, "shard");
	assert_int_equal(tfs_bundle_writer_add_bytes(&w, "k", 1, &e, 1, four, 4, NULL), 0);
	assert_int_equal(tfs_bundle_writer_add_bytes(&w, "k", 1, &e, 0, four, 4, NULL), 0);
	tu_assert_error(tfs_bundle_writer_finish(&w), TFSHRINK_EINVAL, "written twice");
	tfs_bundle_writer_free(&w);
	free(prefix);
}

/* ============================================== real TensorFlow bundles */

typedef struct real_stats {
	size_t bundles, entries, object_graphs, strings;
} real_stats;

/* Reads the scalar string at e as TensorFlow laid it out and re-encodes it. */
static void check_object_graph(const tfs_bundle *b, const tfs_bundle_entry *e, const char *where)
{
	const Tensorflow__BundleEntryProto *p = e->proto;
	assert_int_equal(p->dtype, TFS_DT_STRING);
	assert_int_equal(e->elements, 1);
	assert_true(!p->shape || p->shape->n_dim == 0);
	const uint8_t *d;
	uint64_t n;
	assert_int_equal(tfs_bundle_data(b, e, &d, &n), 0);
	tfs_cursor c;
	tfs_cur_init(&c, d, (size_t)n, 0, where);
	uint64_t len;
	uint32_t lcrc;
	const uint8_t *s;
	assert_int_equal(tfs_cur_varint64(&c, &len, "len"), 0);
	assert_int_equal(tfs_cur_u32le(&c, &lcrc, "lcrc"), 0);
	assert_int_equal(tfs_cur_take(&c, len, &s, "string"), 0);
	assert_int_equal(tfs_cur_left(&c), 0);
	uint8_t *re;
	uint64_t rn;
	uint32_t rcrc;
	assert_int_equal(tfs_bundle_encode_strings(&s, &len, 1, &re, &rn, &rcrc), 0);
	if (rn != n || memcmp(re, d, (size_t)n) != 0 || rcrc != p->crc32c)
		fail_msg("%s: re-encoded object graph differs (%" PRIu64 " vs %" PRIu64 " bytes, crc %08x vs %08x)",
		         where, rn, n, rcrc, p->crc32c);
	/* the same from the reference encoder */
	tfs_buf ref = { 0 };
	uint32_t refcrc;
	ref_encode_strings(&s, &len, 1, &ref, &refcrc);
	assert_int_equal(ref.len, n);
	assert_memory_equal(ref.data, d, (size_t)n);
	assert_int_equal(refcrc, p->crc32c);
	tfs_buf_free(&ref);
	free(re);
}

static void check_real_bundle(const char *model_dir, real_stats *st)
{
	char *vdir = tfs_path_join(model_dir, "variables");
	char *prefix = tfs_path_join(model_dir, "variables/variables");
	char *index = tfs_path_join(model_dir, "variables/variables.index");
	if (!tfs_is_file(index))
		goto out;
	tfs_bundle *b = NULL;
	int rc = tfs_bundle_open(prefix, &b);
	if (rc)
		fail_msg("%s: %s (%s)", prefix, tfshrink_error_last()->message,
		         tfshrink_error_last()->path ? tfshrink_error_last()->path : "-");
	st->bundles++;
	/* the header's shard count matches the files present */
	int files = 0;
	DIR *dd = opendir(vdir);
	assert_non_null(dd);
	struct dirent *de;
	while ((de = readdir(dd)) != NULL)
		if (!strncmp(de->d_name, "variables.data-", 15))
			files++;
	closedir(dd);
	assert_int_equal(files, b->num_shards);
	for (size_t i = 1; i < b->n; i++)
		assert_true(tu_key_cmp(b->e[i - 1].key, b->e[i - 1].key_len, b->e[i].key, b->e[i].key_len) < 0);
	for (size_t i = 0; i < b->n; i++) {
		const tfs_bundle_entry *e = &b->e[i];
		st->entries++;
		assert_ptr_equal(tfs_bundle_find(b, e->key, e->key_len), e);
		rc = tfs_bundle_verify(b, e);
		if (rc)
			fail_msg("%s: %s: %s", prefix, (const char *)e->key, tfshrink_error_last()->message);
		if ((int)e->proto->dtype == TFS_DT_STRING)
			st->strings++;
		if (e->key_len == 28 && !memcmp(e->key, "_CHECKPOINTABLE_OBJECT_GRAPH", 28)) {
			check_object_graph(b, e, prefix);
			st->object_graphs++;
		}
	}
	tfs_bundle_free(b);
out:
	free(vdir);
	free(prefix);
	free(index);
}

static void walk_models(const char *root, real_stats *st)
{
	DIR *d = opendir(root);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *m = tfs_path_join(root, de->d_name);
		if (tfs_is_dir(m))
			check_real_bundle(m, st);
		free(m);
	}
	closedir(d);
}

static void test_real_object_graph_crc(void **state)
{
	(void)state;
	char *root = tu_realmodel("");
	if (!root)
		skip();
	real_stats st = { 0 };
	walk_models(root, &st);
	free(root);
	/* TF2 exports carry the object graph; the shared set has many */
	assert_true(st.object_graphs >= 10);
	assert_true(st.strings >= st.object_graphs);
}

static void test_real_bundles(void **state)
{
	(void)state;
	real_stats st = { 0 };
	char *fx = tu_fixture("");
	walk_models(fx, &st);
	free(fx);
	char *root = tu_realmodel("");
	if (root) {
		walk_models(root, &st);
		free(root);
	}
	if (st.bundles == 0)
		skip();
	assert_true(st.entries >= st.bundles);
}

/* ====================================================== corrupt bundles */

static const float F4[4] = { 1.0f, -2.0f, 3.5f, 0.25f };

/* Writes <name>.index: an optional header and entries (keys given sorted). */
static void write_index_ex(const char *name, const Tensorflow__BundleHeaderProto *h, const char *const *keys,
                           const Tensorflow__BundleEntryProto *const *e, size_t n)
{
	tfs_table_writer tw;
	tfs_table_writer_init(&tw);
	if (h) {
		uint8_t buf[256];
		size_t hl = tensorflow__bundle_header_proto__get_packed_size(h);
		assert_true(hl <= sizeof buf);
		tensorflow__bundle_header_proto__pack(h, buf);
		assert_int_equal(tfs_table_writer_add(&tw, "", 0, buf, hl), 0);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t buf[512];
		size_t el = tensorflow__bundle_entry_proto__get_packed_size(e[i]);
		assert_true(el <= sizeof buf);
		tensorflow__bundle_entry_proto__pack(e[i], buf);
		assert_int_equal(tfs_table_writer_add(&tw, keys[i], strlen(keys[i]), buf, el), 0);
	}
	assert_int_equal(tfs_table_writer_finish(&tw), 0);
	char file[128];
	snprintf(file, sizeof file, "%s.index", name);
	tu_write(tu_tmp, file, tw.out.data, tw.out.len);
	tfs_table_writer_free(&tw);
}

static void write_index(const char *name, int num_shards, const char *key, const Tensorflow__BundleEntryProto *e)
{
	Tensorflow__VersionDef v = TENSORFLOW__VERSION_DEF__INIT;
	v.producer = 1;
	Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
	h.num_shards = num_shards;
	h.version = &v;
	write_index_ex(name, &h, &key, &e, e ? 1 : 0);
}

static void write_shard(const char *name, int i, int n, const void *data, size_t len)
{
	char file[128];
	snprintf(file, sizeof file, "%s.data-%05d-of-%05d", name, i, n);
	tu_write(tu_tmp, file, data, len);
}

/* A bundle of one shard holding data, with one entry e under key. */
static void write_one(const char *name, const char *key, const Tensorflow__BundleEntryProto *e, const void *data,
                      size_t len)
{
	write_index(name, 1, key, e);
	write_shard(name, 0, 1, data, len);
}

/* A bundle with header h, no entry and an empty shard. */
static void write_header_only(const char *name, const Tensorflow__BundleHeaderProto *h)
{
	write_index_ex(name, h, NULL, NULL, 0);
	write_shard(name, 0, 1, F4, 0);
}

static Tensorflow__BundleEntryProto entry(int dtype, Tensorflow__TensorShapeProto *s, int shard, int64_t off,
                                          int64_t size, uint32_t crc)
{
	Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
	e.dtype = (Tensorflow__DataType)dtype;
	e.shape = s;
	e.shard_id = shard;
	e.offset = off;
	e.size = size;
	e.crc32c = crc;
	return e;
}

static int open_rc(const char *name)
{
	char *prefix = tu_tmp_path(name);
	tfs_bundle *b = (tfs_bundle *)0x1;
	int rc = tfs_bundle_open(prefix, &b);
	if (rc == 0)
		tfs_bundle_free(b);
	free(prefix);
	return rc;
}

/* Opens (which must succeed) and verifies every entry; the first failure. */
static int verify_rc(const char *name)
{
	char *prefix = tu_tmp_path(name);
	tfs_bundle *b = NULL;
	int rc = tfs_bundle_open(prefix, &b);
	if (rc)
		fail_msg("open %s: %s", name, tfshrink_error_last()->message);
	for (size_t i = 0; rc == 0 && i < b->n; i++)
		rc = tfs_bundle_verify(b, &b->e[i]);
	tfs_bundle_free(b);
	free(prefix);
	return rc;
}

/* Asserts the code, the message and that the error names `file` (in tu_tmp). */
static void expect(int rc, int code, const char *needle, const char *file)
{
	tu_assert_error(rc, code, needle);
	const tfshrink_error *e = tfshrink_error_last();
	if (!e->path)
		fail_msg("no path in error \"%s\"", e->message);
	char *want = tu_tmp_path(file);
	if (strcmp(e->path, want) != 0)
		fail_msg("error \"%s\" names %s, expected %s", e->message, e->path, want);
	free(want);
}

static uint32_t crc_of(const void *p, size_t n)
{
	return tfs_crc_mask(tfs_crc32c(p, n));
}

static void test_corrupt_shards(void **state)
{
	(void)state;
	shape sh;
	int64_t d4 = 4, d2 = 2;
	Tensorflow__BundleEntryProto e;

	/* a sane bundle first */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d4), 0, 0, 16, crc_of(F4, 16));
	write_one("ok", "w", &e, F4, 16);
	assert_int_equal(verify_rc("ok"), 0);

	/* missing index */
	expect(open_rc("nothing"), TFSHRINK_ENOTFOUND, NULL, "nothing.index");

	/* missing data shard: 2 shards announced, only the first present */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d2), 1, 0, 8, crc_of(F4, 8));
	write_index("miss", 2, "w", &e);
	write_shard("miss", 0, 2, F4, 16);
	expect(open_rc("miss"), TFSHRINK_ENOTFOUND, "missing", "miss.data-00001-of-00002");
	/* missing with no entry referring to it, too */
	write_index("miss0", 2, NULL, NULL);
	write_shard("miss0", 1, 2, F4, 16);
	expect(open_rc("miss0"), TFSHRINK_ENOTFOUND, "missing", "miss0.data-00000-of-00002");

	/* truncated shard: the tensor runs past its end */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d4), 0, 0, 16, crc_of(F4, 16));
	write_one("trunc", "w", &e, F4, 10);
	expect(open_rc("trunc"), TFSHRINK_ECORRUPT, "past the end", "trunc.data-00000-of-00001");
	assert_int_equal(tfshrink_error_last()->offset, 0);
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d2), 0, 8, 8, crc_of(F4, 8));
	write_one("trunc2", "w", &e, F4, 15);
	expect(open_rc("trunc2"), TFSHRINK_ECORRUPT, "past the end", "trunc2.data-00000-of-00001");
	assert_int_equal(tfshrink_error_last()->offset, 8);
	/* offset + size overflowing int64 */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d2), 0, INT64_MAX - 3, 8, 0);
	write_one("ovf", "w", &e, F4, 16);
	expect(open_rc("ovf"), TFSHRINK_ECORRUPT, "past the end", "ovf.data-00000-of-00001");
	/* a shard that is empty */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d2), 0, 0, 8, 0);
	write_one("emptyshard", "w", &e, F4, 0);
	expect(open_rc("emptyshard"), TFSHRINK_ECORRUPT, "past the end", "emptyshard.data-00000-of-00001");
	/* negative offset / size */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d2), 0, -8, 8, 0);
	write_one("negoff", "w", &e, F4, 16);
	expect(open_rc("negoff"), TFSHRINK_ECORRUPT, "negative", "negoff.index");

	/* shard id outside [0, num_shards) */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d2), 1, 0, 8, 0);
	write_one("sid", "w", &e, F4, 16);
	expect(open_rc("sid"), TFSHRINK_ECORRUPT, "shard 1", "sid.index");
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d2), -1, 0, 8, 0);
	write_one("sidneg", "w", &e, F4, 16);
	expect(open_rc("sidneg"), TFSHRINK_ECORRUPT, "shard -1", "sidneg.index");

	/* flipped data byte: opens, fails verification at the tensor's offset */
	uint8_t flipped[24];
	memset(flipped, 0xee, 8);
	memcpy(flipped + 8, F4, 16);
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d4), 0, 8, 16, crc_of(F4, 16));
	flipped[8 + 5] ^= 0x10;
	write_one("flip", "w", &e, flipped, sizeof flipped);
	expect(verify_rc("flip"), TFSHRINK_ECORRUPT, "checksum does not match", "flip.data-00000-of-00001");
	assert_int_equal(tfshrink_error_last()->offset, 8);
	assert_non_null(strstr(tfshrink_error_last()->message, "'w'"));
	/* a wrong stored CRC is the same failure */
	e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d4), 0, 0, 16, crc_of(F4, 16) ^ 1);
	write_one("badcrc", "w", &e, F4, 16);
	expect(verify_rc("badcrc"), TFSHRINK_ECORRUPT, "checksum", "badcrc.data-00000-of-00001");
}

/* An entry the index may not hold: opening fails naming <name>.index. */
typedef struct bad_entry {
	const char *name;
	int dtype, nd; /* nd -1: no shape at all */
	int64_t dims[3], size;
	int code;
	const char *needle;
} bad_entry;

static void test_corrupt_entries(void **state)
{
	(void)state;
	static const bad_entry bad[] = {
		{ "negdim", TFS_DT_FLOAT, 2, { 2, -1 }, 8, TFSHRINK_ECORRUPT, "negative dimension" },
		/* element counts beyond the limit, and beyond int64 */
		{ "ovfdims", TFS_DT_FLOAT, 3, { (int64_t)1 << 31, (int64_t)1 << 31, (int64_t)1 << 31 }, 8, TFSHRINK_ELIMIT,
		  "2^58" },
		{ "wrap", TFS_DT_INT8, 2, { INT64_MAX, 2 }, 8, TFSHRINK_ELIMIT, NULL },
		{ "over", TFS_DT_INT8, 1, { TFS_MAX_ELEMENTS + 1 }, 8, TFSHRINK_ELIMIT, NULL },
		/* exactly at the element limit: accepted as a shape, refused for its size */
		{ "atlimit", TFS_DT_INT8, 1, { TFS_MAX_ELEMENTS }, 8, TFSHRINK_ECORRUPT, "need" },
		/* size not elements * dtype size */
		{ "size", TFS_DT_FLOAT, 1, { 3 }, 8, TFSHRINK_ECORRUPT, "need 12" },
		{ "size2", TFS_DT_DOUBLE, 1, { 3 }, 16, TFSHRINK_ECORRUPT, "need 24" },
		{ "size3", TFS_DT_INT32, -1, { 0 }, 0, TFSHRINK_ECORRUPT, "need 4" }, /* scalar with no bytes */
		/* invalid dtypes */
		{ "dtype", 99, 1, { 1 }, 4, TFSHRINK_ECORRUPT, "invalid dtype" },
		{ "dtype", TFS_DT_RESOURCE, 1, { 1 }, 4, TFSHRINK_ECORRUPT, "invalid dtype" },
		{ "dtype", 0, 1, { 1 }, 4, TFSHRINK_ECORRUPT, "invalid dtype" },
		{ "dtype", 101, 1, { 1 }, 4, TFSHRINK_ECORRUPT, "invalid dtype" },
		{ "dtype", -1, 1, { 1 }, 4, TFSHRINK_ECORRUPT, "invalid dtype" },
		{ "dtype", TFS_DT_LAST + 1, 1, { 1 }, 4, TFSHRINK_ECORRUPT, "invalid dtype" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		shape sh;
		Tensorflow__TensorShapeProto *s = bad[i].nd < 0 ? NULL : mkshape(&sh, bad[i].nd, bad[i].dims);
		Tensorflow__BundleEntryProto e = entry(bad[i].dtype, s, 0, 0, bad[i].size, 0);
		write_one(bad[i].name, "w", &e, F4, 16);
		char index[64];
		snprintf(index, sizeof index, "%s.index", bad[i].name);
		expect(open_rc(bad[i].name), bad[i].code, bad[i].needle, index);
	}

	/* an entry whose value does not parse names its key */
	tfs_table_writer tw;
	tfs_table_writer_init(&tw);
	static const uint8_t hdr[] = { 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01 };
	static const uint8_t junk[] = { 0x12, 0x40, 0x01 }; /* shape: 64 bytes promised, 1 given */
	assert_int_equal(tfs_table_writer_add(&tw, "", 0, hdr, sizeof hdr), 0);
	assert_int_equal(tfs_table_writer_add(&tw, "weird_key", 9, junk, sizeof junk), 0);
	assert_int_equal(tfs_table_writer_finish(&tw), 0);
	tu_write(tu_tmp, "junk.index", tw.out.data, tw.out.len);
	tfs_table_writer_free(&tw);
	write_shard("junk", 0, 1, F4, 16);
	expect(open_rc("junk"), TFSHRINK_ECORRUPT, "weird_key", "junk.index");
}

static void test_corrupt_header(void **state)
{
	(void)state;
	Tensorflow__VersionDef v = TENSORFLOW__VERSION_DEF__INIT;
	v.producer = 1;
	Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
	h.version = &v;

	/* num_shards 0, negative, above the limit */
	static const struct {
		int n, code;
	} counts[] = { { 0, TFSHRINK_ECORRUPT }, { -3, TFSHRINK_ECORRUPT }, { TFS_MAX_SHARDS + 1, TFSHRINK_ELIMIT },
		       { INT32_MAX, TFSHRINK_ELIMIT } };
	for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
		h.num_shards = counts[i].n;
		write_index_ex("nshards", &h, NULL, NULL, 0);
		expect(open_rc("nshards"), counts[i].code, "data shards", "nshards.index");
	}
	/* the limit itself is allowed by the header check (then shards are missing) */
	h.num_shards = TFS_MAX_SHARDS;
	write_index_ex("maxshards", &h, NULL, NULL, 0);
	expect(open_rc("maxshards"), TFSHRINK_ENOTFOUND, "missing", "maxshards.data-00000-of-99999");

	/* no header entry: a table without the "" key, and an empty table */
	shape sh;
	int64_t d4 = 4;
	Tensorflow__BundleEntryProto e = entry(TFS_DT_FLOAT, mkshape(&sh, 1, &d4), 0, 0, 16, crc_of(F4, 16));
	const Tensorflow__BundleEntryProto *ep = &e;
	const char *k = "w";
	write_index_ex("nohdr", NULL, &k, &ep, 1);
	write_shard("nohdr", 0, 1, F4, 16);
	expect(open_rc("nohdr"), TFSHRINK_ECORRUPT, "header", "nohdr.index");
	write_index_ex("empty", NULL, NULL, NULL, 0);
	expect(open_rc("empty"), TFSHRINK_ECORRUPT, "header", "empty.index");

	/* versions: min_consumer 2, bad consumer 1, negative producer */
	h.num_shards = 1;
	v.min_consumer = 2;
	write_header_only("minc", &h);
	expect(open_rc("minc"), TFSHRINK_EUNSUPPORTED, "version 2", "minc.index");
	v.min_consumer = 1; /* this reader is version 1: fine */
	write_header_only("minc1", &h);
	assert_int_equal(open_rc("minc1"), 0);
	v.min_consumer = 0;
	int32_t bad[2] = { 7, 1 };
	v.n_bad_consumers = 2;
	v.bad_consumers = bad;
	write_header_only("badc", &h);
	expect(open_rc("badc"), TFSHRINK_EUNSUPPORTED, "version 1", "badc.index");
	v.n_bad_consumers = 0;
	v.bad_consumers = NULL;
	v.producer = -1;
	write_header_only("prod", &h);
	expect(open_rc("prod"), TFSHRINK_EUNSUPPORTED, "producer", "prod.index");
	v.producer = 1;

	/* endianness: big-endian bundles are refused, unknown values are corrupt */
	h.endianness = TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__BIG;
	write_header_only("big", &h);
	expect(open_rc("big"), TFSHRINK_EUNSUPPORTED, "big-endian", "big.index");
	h.endianness = (Tensorflow__BundleHeaderProto__Endianness)7;
	write_header_only("endian7", &h);
	expect(open_rc("endian7"), TFSHRINK_ECORRUPT, "unknown endianness 7", "endian7.index");
	h.endianness = TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE;
	write_header_only("little", &h);
	assert_int_equal(open_rc("little"), 0);

	/* a header that does not parse */
	tfs_table_writer tw;
	tfs_table_writer_init(&tw);
	static const uint8_t junk[] = { 0x1a, 0x05, 0x08 };
	assert_int_equal(tfs_table_writer_add(&tw, "", 0, junk, sizeof junk), 0);
	assert_int_equal(tfs_table_writer_finish(&tw), 0);
	tu_write(tu_tmp, "hjunk.index", tw.out.data, tw.out.len);
	tfs_table_writer_free(&tw);
	expect(open_rc("hjunk"), TFSHRINK_ECORRUPT, NULL, "hjunk.index");

	/* an index that is not a table at all */
	static const char text[] = "this is not a LevelDB table, just some text that is long enough "
	                           "to hold a footer if it were one.";
	tu_write(tu_tmp, "text.index", text, sizeof text);
	expect(open_rc("text"), TFSHRINK_ECORRUPT, "magic", "text.index");
	tu_write(tu_tmp, "short.index", "abc", 3);
	expect(open_rc("short"), TFSHRINK_ECORRUPT, "too short", "short.index");
	tu_write(tu_tmp, "zero.index", "", 0);
	expect(open_rc("zero"), TFSHRINK_ECORRUPT, "too short", "zero.index");
	/* a data file in place of the index */
	tu_write(tu_tmp, "swap.index", F4, 16);
	expect(open_rc("swap"), TFSHRINK_ECORRUPT, NULL, "swap.index");
}

static void test_corrupt_strings(void **state)
{
	(void)state;
	shape sh;
	Tensorflow__BundleEntryProto e;

	/* a good scalar string first, after 4 bytes of another tensor */
	const uint8_t *abc = (const uint8_t *)"abc";
	uint64_t three = 3;
	uint8_t *enc;
	uint64_t en;
	uint32_t crc;
	assert_int_equal(tfs_bundle_encode_strings(&abc, &three, 1, &enc, &en, &crc), 0);
	assert_int_equal(en, 1 + 4 + 3);
	uint8_t file[64];
	memset(file, 0x55, 4);
	memcpy(file + 4, enc, (size_t)en);
	e = entry(TFS_DT_STRING, mkshape(&sh, 0, NULL), 0, 4, (int64_t)en, crc);
	write_one("s", "s", &e, file, 4 + en);
	assert_int_equal(verify_rc("s"), 0);

	/* bogus varint length: 1000 bytes claimed, 3 present (length CRC right) */
	uint8_t bogus[16];
	size_t bl = tfs_put_varint64(bogus, 1000);
	uint8_t le[4];
	tfs_put_u32le(le, 1000);
	tfs_put_u32le(bogus + bl, tfs_crc_mask(tfs_crc32c(le, 4)));
	memcpy(bogus + bl + 4, "abc", 3);
	e = entry(TFS_DT_STRING, mkshape(&sh, 0, NULL), 0, 0, (int64_t)(bl + 7), crc);
	write_one("bogus", "s", &e, bogus, bl + 7);
	expect(verify_rc("bogus"), TFSHRINK_ECORRUPT, "more than", "bogus.data-00000-of-00001");
	/* a length that does not fit 64 bits */
	static const uint8_t v11[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0 };
	e = entry(TFS_DT_STRING, mkshape(&sh, 0, NULL), 0, 0, sizeof v11, crc);
	write_one("v11", "s", &e, v11, sizeof v11);
	expect(verify_rc("v11"), TFSHRINK_ECORRUPT, NULL, "v11.data-00000-of-00001");
	/* a length close to 2^64, which must not wrap the running total */
	uint8_t wrap[32];
	size_t wl = tfs_put_varint64(wrap, 2);
	wl += tfs_put_varint64(wrap + wl, UINT64_MAX - 1);
	memset(wrap + wl, 0, 8);
	int64_t d2 = 2;
	e = entry(TFS_DT_STRING, mkshape(&sh, 1, &d2), 0, 0, (int64_t)(wl + 8), crc);
	write_one("wrap", "s", &e, wrap, wl + 8);
	expect(verify_rc("wrap"), TFSHRINK_ECORRUPT, "more than", "wrap.data-00000-of-00001");

	/* wrong length checksum */
	memcpy(file, enc, (size_t)en);
	file[1] ^= 0x01;
	e = entry(TFS_DT_STRING, mkshape(&sh, 0, NULL), 0, 0, (int64_t)en, crc);
	write_one("lcrc", "s", &e, file, en);
	expect(verify_rc("lcrc"), TFSHRINK_ECORRUPT, "length checksum", "lcrc.data-00000-of-00001");
	assert_int_equal(tfshrink_error_last()->offset, 1);

	/* string bytes changed: the entry checksum catches it */
	memcpy(file, enc, (size_t)en);
	file[6] = 'X';
	write_one("sbytes", "s", &e, file, en);
	expect(verify_rc("sbytes"), TFSHRINK_ECORRUPT, "checksum does not match", "sbytes.data-00000-of-00001");

	/* cut before the length checksum; strings past the entry */
	e = entry(TFS_DT_STRING, mkshape(&sh, 0, NULL), 0, 0, 3, crc);
	write_one("cut", "s", &e, enc, en);
	expect(verify_rc("cut"), TFSHRINK_ECORRUPT, NULL, "cut.data-00000-of-00001");
	e = entry(TFS_DT_STRING, mkshape(&sh, 0, NULL), 0, 0, 7, crc);
	write_one("cut2", "s", &e, enc, en);
	expect(verify_rc("cut2"), TFSHRINK_ECORRUPT, "past the entry", "cut2.data-00000-of-00001");
	/* more elements in the shape than lengths stored */
	e = entry(TFS_DT_STRING, mkshape(&sh, 1, &d2), 0, 0, (int64_t)en, crc);
	write_one("count", "s", &e, enc, en);
	expect(verify_rc("count"), TFSHRINK_ECORRUPT, NULL, "count.data-00000-of-00001");
	/* an empty string entry in an empty shard */
	e = entry(TFS_DT_STRING, mkshape(&sh, 0, NULL), 0, 0, 0, crc);
	write_one("nil", "s", &e, enc, 0);
	expect(verify_rc("nil"), TFSHRINK_ECORRUPT, NULL, "nil.data-00000-of-00001");
	free(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_every_dtype),
		TU_TMP_TEST(test_zero_elements),
		TU_TMP_TEST(test_many_keys_three_shards),
		TU_TMP_TEST(test_shared_prefix_keys),
		TU_TMP_TEST(test_strings),
		TU_TMP_TEST(test_writer_rejects),
		cmocka_unit_test(test_real_object_graph_crc),
		cmocka_unit_test(test_real_bundles),
		TU_TMP_TEST(test_corrupt_shards),
		TU_TMP_TEST(test_corrupt_entries),
		TU_TMP_TEST(test_corrupt_header),
		TU_TMP_TEST(test_corrupt_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
