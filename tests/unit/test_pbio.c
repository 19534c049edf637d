/* test_pbio.c - depth-checked protobuf unpack (tfs_pb_check / unpack / pack). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "error.h"
#include "pbio.h"
#include "tensorflow.pb-c.h"
#include "tfs_limits.h"

#define PATH "test.pb"
#define SM (&tensorflow__saved_model__descriptor)

static int check(const ProtobufCMessageDescriptor *d, const void *data, size_t n)
{
	return tfs_pb_check(d, data, n, PATH, TFS_MAX_PB_DEPTH);
}

static void assert_offset(int64_t off)
{
	const tfshrink_error *e = tfshrink_error_last();
	assert_non_null(e->path);
	assert_string_equal(e->path, PATH);
	if (e->offset != off)
		fail_msg("expected offset %lld, got %lld (%s)", (long long)off, (long long)e->offset, e->message);
}

/* Bytes tfs_pb_check must refuse as corrupt with `needle`, naming PATH and
 * (unless offset is -1) the offset. */
static void expect_corrupt(const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t n, const char *needle,
                           int64_t offset)
{
	tu_assert_error(check(d, b, n), TFSHRINK_ECORRUPT, needle);
	if (offset >= 0)
		assert_offset(offset);
}

/*
 * A chain of `levels` nested messages starting at an AttrValue:
 * AttrValue.func(10) -> NameAttrList.attr(2, map entry) -> entry.value(2)
 * -> AttrValue.func -> ... Built back to front in one buffer.
 */
static uint8_t *attr_chain(size_t levels, size_t *n)
{
	static const uint32_t fields[3] = { 10, 2, 2 };
	size_t cap = levels * 12 + 16, pos = cap;
	uint8_t *b = malloc(cap);
	assert_non_null(b);
	for (size_t i = levels; i-- > 0;) {
		uint8_t tmp[10];
		size_t len = cap - pos, k = tfs_put_varint64(tmp, len);
		pos -= k;
		memcpy(b + pos, tmp, k);
		k = tfs_put_varint64(tmp, (uint64_t)fields[i % 3] << 3 | 2);
		pos -= k;
		memcpy(b + pos, tmp, k);
	}
	memmove(b, b + pos, cap - pos);
	*n = cap - pos;
	return b;
}

static void test_depth_bomb(void **state)
{
	(void)state;
	size_t n;
	uint8_t *b = attr_chain(10000, &n);
	tu_assert_error(check(&tensorflow__attr_value__descriptor, b, n), TFSHRINK_ELIMIT, "nesting deeper than 100");
	ProtobufCMessage *m = NULL;
	tu_assert_error(tfs_pb_unpack(&tensorflow__attr_value__descriptor, b, n, PATH, &m), TFSHRINK_ELIMIT,
	                "nesting deeper than 100");
	assert_null(m);
	free(b);
}

static void test_depth_limit_exact(void **state)
{
	(void)state;
	size_t n;
	uint8_t *b = attr_chain(TFS_MAX_PB_DEPTH, &n);
	ProtobufCMessage *m = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__attr_value__descriptor, b, n, PATH, &m), 0);
	assert_non_null(m);
	/* walk it: 100 levels below the root AttrValue */
	const Tensorflow__AttrValue *a = (const Tensorflow__AttrValue *)m;
	size_t depth = 0;
	while (a && a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC) {
		depth++; /* the NameAttrList */
		if (a->func->n_attr == 0)
			break;
		depth++; /* the map entry */
		a = a->func->attr[0]->value;
		if (a)
			depth++; /* the AttrValue */
	}
	assert_int_equal(depth, TFS_MAX_PB_DEPTH);
	protobuf_c_message_free_unpacked(m, NULL);
	free(b);

	b = attr_chain(TFS_MAX_PB_DEPTH + 1, &n);
	tu_assert_error(check(&tensorflow__attr_value__descriptor, b, n), TFSHRINK_ELIMIT, "nesting deeper than 100");
	/* a smaller limit asked by the caller */
	assert_int_equal(tfs_pb_check(&tensorflow__attr_value__descriptor, b, n, PATH, -1), TFSHRINK_ELIMIT);
	free(b);
	b = attr_chain(6, &n);
	assert_int_equal(tfs_pb_check(&tensorflow__attr_value__descriptor, b, n, PATH, 6), 0);
	tu_assert_error(tfs_pb_check(&tensorflow__attr_value__descriptor, b, n, PATH, 5), TFSHRINK_ELIMIT,
	                "nesting deeper than 5");
	free(b);
}

static void test_huge_length(void **state)
{
	(void)state;
	/* meta_graphs (field 2) claiming 2^32-1 bytes: protobuf-c issue 375's shape */
	static const uint8_t known[] = { 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f };
	expect_corrupt(SM, known, sizeof known,
	               "field 2 (meta_graphs) of tensorflow.SavedModel: length 4294967295 runs past the end", 1);
	/* the same on an unknown field (15) */
	static const uint8_t unknown[] = { 0x7a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00 };
	expect_corrupt(SM, unknown, sizeof unknown,
	               "field 15 of tensorflow.SavedModel: length 4294967295 runs past the end", -1);
	/* nested: the inner length is checked against the enclosing message, not the buffer */
	static const uint8_t nested[] = { 0x12, 0x03, 0x0a, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00 };
	expect_corrupt(SM, nested, sizeof nested,
	               "field 1 (meta_info_def) of tensorflow.MetaGraphDef: length 5 runs past the end of the "
	               "enclosing message", 3);
	ProtobufCMessage *m = NULL;
	tu_assert_error(tfs_pb_unpack(&tensorflow__saved_model__descriptor, known, sizeof known, PATH, &m),
	                TFSHRINK_ECORRUPT, "runs past the end");
	assert_null(m);
	/* length prefixes longer than 5 bytes (protobuf-c would refuse them silently) */
	static const uint8_t padded[] = { 0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	expect_corrupt(SM, padded, sizeof padded, "length prefix longer than 5 bytes", -1);
}

static void test_long_varint(void **state)
{
	(void)state;
	/* saved_model_schema_version (field 1, int64) as an 11-byte varint */
	uint8_t b[12] = { 0x08 };
	memset(b + 1, 0x80, 10);
	b[11] = 0x01;
	expect_corrupt(SM, b, sizeof b, "varint longer than 10 bytes", 1);
	/* 10 bytes is fine */
	uint8_t ok[11] = { 0x08 };
	memset(ok + 1, 0xff, 9);
	ok[10] = 0x01;
	ProtobufCMessage *m = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__saved_model__descriptor, ok, sizeof ok, PATH, &m), 0);
	assert_int_equal(((Tensorflow__SavedModel *)m)->saved_model_schema_version, -1);
	protobuf_c_message_free_unpacked(m, NULL);
	/* a varint cut by the end of the data */
	static const uint8_t cut[] = { 0x08, 0x80, 0x80 };
	expect_corrupt(SM, cut, sizeof cut, "varint runs past the end", -1);
	/* a tag of 6 bytes */
	static const uint8_t tag[] = { 0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01 };
	expect_corrupt(SM, tag, sizeof tag, "field tag longer than 5 bytes", -1);
}

static void test_bad_tags(void **state)
{
	(void)state;
	static const uint8_t zero[] = { 0x00, 0x00 };
	expect_corrupt(SM, zero, sizeof zero, "invalid field number 0", 0);
	static const uint8_t group[] = { 0x08, 0x01, 0x1b, 0x1c };
	expect_corrupt(SM, group, sizeof group,
	               "field 3 of tensorflow.SavedModel: groups (wire type 3) are not supported", 2);
	static const uint8_t endgroup[] = { 0x0c };
	expect_corrupt(SM, endgroup, sizeof endgroup, "groups (wire type 4)", -1);
	static const uint8_t wt6[] = { 0x0e };
	expect_corrupt(SM, wt6, sizeof wt6, "invalid wire type 6", -1);
	static const uint8_t fixed_cut[] = { 0x09, 1, 2, 3 };
	expect_corrupt(SM, fixed_cut, sizeof fixed_cut, "8-byte value runs past the end", -1);
	/* unknown fields of every wire type are skipped */
	static const uint8_t unknown[] = { 0x78, 0x05, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x7a, 0x01, 0xff, 0x7d, 1, 2, 3, 4 };
	assert_int_equal(check(&tensorflow__saved_model__descriptor, unknown, sizeof unknown), 0);
}

static void test_wrong_wire_type(void **state)
{
	(void)state;
	/* saved_model_schema_version (int64) sent length-delimited */
	static const uint8_t a[] = { 0x0a, 0x00 };
	expect_corrupt(SM, a, sizeof a,
	               "field 1 (saved_model_schema_version) of tensorflow.SavedModel: wire type 2", 0);
	/* meta_graphs (message) sent as a varint */
	static const uint8_t b[] = { 0x08, 0x01, 0x10, 0x01 };
	expect_corrupt(SM, b, sizeof b,
	               "field 2 (meta_graphs) of tensorflow.SavedModel: wire type 0 (varint) where its type needs 2", 2);
	/* AssetFileDef.filename (string) as a 32-bit value */
	static const uint8_t c[] = { 0x15, 1, 2, 3, 4 };
	expect_corrupt(&tensorflow__asset_file_def__descriptor, c, sizeof c,
	               "wire type 5 (32-bit) where its type needs 2", -1);
	/* TensorProto.float_val (float) as a varint */
	static const uint8_t d[] = { 0x28, 0x01 };
	expect_corrupt(&tensorflow__tensor_proto__descriptor, d, sizeof d,
	               "field 5 (float_val) of tensorflow.TensorProto: wire type 0", -1);
	/* non-repeated scalars are never packed */
	static const uint8_t e[] = { 0x1a, 0x01, 0x01 };
	expect_corrupt(&tensorflow__tensor_proto__descriptor, e, sizeof e,
	               "field 3 (version_number) of tensorflow.TensorProto: wire type 2", -1);
}

static void test_packed(void **state)
{
	(void)state;
	/* float_val packed [1.0, 2.0] then unpacked 3.0, int_val packed [1, 300] and unpacked 5 */
	static const uint8_t ok[] = { 0x2a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0x2d, 0, 0, 0x40, 0x40,
		                      0x3a, 0x03, 0x01, 0xac, 0x02, 0x38, 0x05 };
	ProtobufCMessage *m = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__tensor_proto__descriptor, ok, sizeof ok, PATH, &m), 0);
	Tensorflow__TensorProto *t = (Tensorflow__TensorProto *)m;
	assert_int_equal(t->n_float_val, 3);
	assert_true(t->float_val[0] == 1.0f && t->float_val[1] == 2.0f && t->float_val[2] == 3.0f);
	assert_int_equal(t->n_int_val, 3);
	assert_int_equal(t->int_val[0], 1);
	assert_int_equal(t->int_val[1], 300);
	assert_int_equal(t->int_val[2], 5);
	protobuf_c_message_free_unpacked(m, NULL);

	static const uint8_t odd[] = { 0x2a, 0x07, 0, 0, 0x80, 0x3f, 0, 0, 0 };
	expect_corrupt(&tensorflow__tensor_proto__descriptor, odd, sizeof odd, "not a multiple of 4", -1);
	static const uint8_t dbl[] = { 0x32, 0x04, 0, 0, 0, 0 };
	expect_corrupt(&tensorflow__tensor_proto__descriptor, dbl, sizeof dbl, "not a multiple of 8", -1);
	static const uint8_t cut[] = { 0x3a, 0x02, 0x01, 0xac };
	expect_corrupt(&tensorflow__tensor_proto__descriptor, cut, sizeof cut,
	               "the last packed varint runs past the end of the field", 3);
}

static void test_map_fields_descended(void **state)
{
	(void)state;
	/* NodeDef.attr (map entry message) whose AttrValue (field 2) holds a
	 * type (field 6, enum) sent as a string: found only by descending. */
	static const uint8_t b[] = { 0x2a, 0x07, 0x0a, 0x01, 'T', 0x12, 0x02, 0x32, 0x00 };
	expect_corrupt(&tensorflow__node_def__descriptor, b, sizeof b,
	               "field 6 (type) of tensorflow.AttrValue: wire type 2", 7);
	static const uint8_t good[] = { 0x2a, 0x07, 0x0a, 0x01, 'T', 0x12, 0x02, 0x30, 0x01 };
	ProtobufCMessage *m = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__node_def__descriptor, good, sizeof good, PATH, &m), 0);
	Tensorflow__NodeDef *nd = (Tensorflow__NodeDef *)m;
	assert_int_equal(nd->n_attr, 1);
	assert_string_equal(nd->attr[0]->key, "T");
	assert_int_equal(nd->attr[0]->value->type, TENSORFLOW__DATA_TYPE__DT_FLOAT);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void test_unpack_limits_and_errors(void **state)
{
	(void)state;
	ProtobufCMessage *m = NULL;
	static const uint8_t one = 0;
	/* the size is refused before a byte is read */
	tu_assert_error(tfs_pb_unpack(&tensorflow__saved_model__descriptor, &one, (size_t)TFS_MAX_PB_BYTES + 1, PATH, &m),
	                TFSHRINK_ELIMIT, "larger than");
	assert_null(m);
	/* what the check lets through but protobuf-c refuses: a packed bool byte of 2 */
	static const uint8_t badbool[] = { 0x5a, 0x01, 0x02 };
	int rc = tfs_pb_unpack(&tensorflow__tensor_proto__descriptor, badbool, sizeof badbool, PATH, &m);
	if (rc == 0) {
		protobuf_c_message_free_unpacked(m, NULL); /* older protobuf-c accepts it */
	} else {
		tu_assert_error(rc, TFSHRINK_ECORRUPT, "cannot parse tensorflow.TensorProto");
	}
	/* empty input is an empty message */
	m = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__saved_model__descriptor, NULL, 0, PATH, &m), 0);
	assert_non_null(m);
	uint8_t *out = NULL;
	size_t n = 99;
	assert_int_equal(tfs_pb_pack(m, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void test_pack_roundtrip(void **state)
{
	(void)state;
	Tensorflow__AssetFileDef a = TENSORFLOW__ASSET_FILE_DEF__INIT;
	Tensorflow__TensorInfo ti = TENSORFLOW__TENSOR_INFO__INIT;
	ti.encoding_case = TENSORFLOW__TENSOR_INFO__ENCODING_NAME;
	ti.name = "Const:0";
	a.tensor_info = &ti;
	a.filename = "foo.txt";
	uint8_t *out = NULL;
	size_t n = 0;
	assert_int_equal(tfs_pb_pack(&a.base, &out, &n), 0);
	static const uint8_t want[] = "\n\t\n\007Const:0\022\007foo.txt";
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(out, want, n);
	free(out);
	/* a NULL repeated string is refused, not crashed on */
	Tensorflow__SavedModel sm = TENSORFLOW__SAVED_MODEL__INIT;
	Tensorflow__MetaGraphDef mg = TENSORFLOW__META_GRAPH_DEF__INIT;
	Tensorflow__MetaGraphDef__MetaInfoDef mi = TENSORFLOW__META_GRAPH_DEF__META_INFO_DEF__INIT;
	char *tags[1] = { NULL };
	mi.n_tags = 1;
	mi.tags = tags;
	mg.meta_info_def = &mi;
	Tensorflow__MetaGraphDef *mgs[1] = { &mg };
	sm.n_meta_graphs = 1;
	sm.meta_graphs = mgs;
	tu_assert_error(tfs_pb_pack(&sm.base, &out, &n), TFSHRINK_EINVAL, "cannot pack tensorflow.SavedModel");
}

static void test_find_message(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *root = &tensorflow__saved_model__descriptor;
	assert_ptr_equal(tfs_pb_find_message(root, "tensorflow.SavedModel"), root);
	assert_ptr_equal(tfs_pb_find_message(root, "tensorflow.AssetFileDef"), &tensorflow__asset_file_def__descriptor);
	assert_ptr_equal(tfs_pb_find_message(root, "tensorflow.NameAttrList"), &tensorflow__name_attr_list__descriptor);
	assert_ptr_equal(tfs_pb_find_message(root, "tensorflow.NameAttrList.AttrEntry"),
	                 &tensorflow__name_attr_list__attr_entry__descriptor);
	assert_ptr_equal(tfs_pb_find_message(root, "tensorflow.StructuredValue"),
	                 &tensorflow__structured_value__descriptor);
	assert_null(tfs_pb_find_message(root, "tensorflow.NoSuchThing"));
	assert_null(tfs_pb_find_message(root, "AssetFileDef"));
	/* not reachable from AssetFileDef */
	assert_null(tfs_pb_find_message(&tensorflow__asset_file_def__descriptor, "tensorflow.SavedModel"));
}

/* ------------------------------------------------------------ real files */

typedef void (*real_fn)(const char *name, const uint8_t *data, size_t n);

static int for_each_real(real_fn fn)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/realmodels", TFS_SHARED_DIR);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s/saved_model.pb", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		fclose(f);
		size_t n;
		uint8_t *data = tu_read(path, &n);
		fn(e->d_name, data, n);
		free(data);
		count++;
	}
	closedir(d);
	return count;
}

static void real_check(const char *name, const uint8_t *data, size_t n)
{
	int rc = tfs_pb_check(&tensorflow__saved_model__descriptor, data, n, name, TFS_MAX_PB_DEPTH);
	if (rc != 0)
		fail_msg("%s: %s", name, tfshrink_error_last()->message);
	ProtobufCMessage *m = NULL;
	rc = tfs_pb_unpack(&tensorflow__saved_model__descriptor, data, n, name, &m);
	if (rc != 0)
		fail_msg("%s: %s", name, tfshrink_error_last()->message);
	assert_true(((Tensorflow__SavedModel *)m)->n_meta_graphs >= 1);
	/* pack -> unpack -> pack is stable */
	uint8_t *p1 = NULL, *p2 = NULL;
	size_t n1, n2;
	assert_int_equal(tfs_pb_pack(m, &p1, &n1), 0);
	ProtobufCMessage *m2 = NULL;
	assert_int_equal(tfs_pb_unpack(&tensorflow__saved_model__descriptor, p1, n1, name, &m2), 0);
	assert_int_equal(tfs_pb_pack(m2, &p2, &n2), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(p1, p2, n1);
	free(p1);
	free(p2);
	protobuf_c_message_free_unpacked(m, NULL);
	protobuf_c_message_free_unpacked(m2, NULL);
}

static void test_real_models(void **state)
{
	(void)state;
	if (for_each_real(real_check) == 0)
		skip();
}

/* Offsets where a top-level field of the SavedModel ends. */
static int top_level_boundary(const uint8_t *data, size_t n, size_t cut)
{
	tfs_cursor c;
	tfs_cur_init(&c, data, n, 0, "x");
	if (cut == 0)
		return 1;
	while (tfs_cur_left(&c) > 0) {
		uint64_t tag, v;
		const uint8_t *skip;
		assert_int_equal(tfs_cur_varint64(&c, &tag, "tag"), 0);
		switch (tag & 7) {
		case 0: assert_int_equal(tfs_cur_varint64(&c, &v, "v"), 0); break;
		case 1: assert_int_equal(tfs_cur_take(&c, 8, &skip, "v"), 0); break;
		case 5: assert_int_equal(tfs_cur_take(&c, 4, &skip, "v"), 0); break;
		case 2:
			assert_int_equal(tfs_cur_varint64(&c, &v, "len"), 0);
			assert_int_equal(tfs_cur_take(&c, v, &skip, "v"), 0);
			break;
		default: fail();
		}
		if (tfs_cur_offset(&c) == cut)
			return 1;
		if (tfs_cur_offset(&c) > cut)
			return 0;
	}
	return 0;
}

static unsigned long rng_state = 12345;
static unsigned long rng(void)
{
	rng_state = rng_state * 6364136223846793005ul + 1442695040888963407ul;
	return rng_state >> 33;
}

static void truncate_at(const char *name, const uint8_t *data, size_t n, size_t cut)
{
	/* copy so that ASan sees the end of the data */
	uint8_t *copy = malloc(cut ? cut : 1);
	assert_non_null(copy);
	memcpy(copy, data, cut);
	ProtobufCMessage *m = NULL;
	int rc = tfs_pb_unpack(&tensorflow__saved_model__descriptor, copy, cut, name, &m);
	if (top_level_boundary(data, n, cut)) {
		assert_int_equal(rc, 0);
		protobuf_c_message_free_unpacked(m, NULL);
	} else if (rc != TFSHRINK_ECORRUPT) {
		fail_msg("%s cut at %zu of %zu: rc %d (%s)", name, cut, n, rc, tfshrink_error_last()->message);
	}
	free(copy);
}

static void real_truncate(const char *name, const uint8_t *data, size_t n)
{
	/* every byte of a prefix, then random points across the file */
	for (size_t cut = 0; cut < n && cut < 300; cut++)
		truncate_at(name, data, n, cut);
	for (int i = 0; i < 200; i++)
		truncate_at(name, data, n, (size_t)(rng() % n));
}

/* saved_model.pb of a shared real model; NULL when the model is absent. */
static uint8_t *real_pb(const char *name, size_t *n)
{
	char *dir = tu_realmodel(name);
	if (!dir)
		return NULL;
	char *path = tu_join(dir, "saved_model.pb");
	uint8_t *data = tu_read(path, n);
	free(path);
	free(dir);
	return data;
}

static void test_truncated_real(void **state)
{
	(void)state;
	size_t n;
	uint8_t *data = real_pb("tfcc_half_plus_two", &n);
	if (!data)
		skip();
	real_truncate("tfcc_half_plus_two", data, n);
	free(data);
	/* a TF2 model with an object graph, too */
	data = real_pb("keras_ocr_sharded", &n);
	if (data) {
		real_truncate("keras_ocr_sharded", data, n);
		free(data);
	}
}

static void test_mutated_real(void **state)
{
	(void)state;
	size_t n;
	uint8_t *data = real_pb("serving_half_plus_two_cpu", &n);
	if (!data)
		skip();
	uint8_t *copy = malloc(n);
	assert_non_null(copy);
	for (int i = 0; i < 3000; i++) {
		memcpy(copy, data, n);
		int flips = 1 + (int)(rng() % 4);
		for (int k = 0; k < flips; k++)
			copy[rng() % n] = (uint8_t)rng();
		ProtobufCMessage *m = NULL;
		int rc = tfs_pb_unpack(&tensorflow__saved_model__descriptor, copy, n, "mutated", &m);
		assert_true(rc == 0 || rc == TFSHRINK_ECORRUPT || rc == TFSHRINK_ELIMIT);
		if (rc == 0) {
			uint8_t *p = NULL;
			size_t pn;
			assert_int_equal(tfs_pb_pack(m, &p, &pn), 0);
			free(p);
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	free(copy);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depth_bomb),
		cmocka_unit_test(test_depth_limit_exact),
		cmocka_unit_test(test_huge_length),
		cmocka_unit_test(test_long_varint),
		cmocka_unit_test(test_bad_tags),
		cmocka_unit_test(test_wrong_wire_type),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_map_fields_descended),
		cmocka_unit_test(test_unpack_limits_and_errors),
		cmocka_unit_test(test_pack_roundtrip),
		cmocka_unit_test(test_find_message),
		cmocka_unit_test(test_real_models),
		cmocka_unit_test(test_truncated_real),
		cmocka_unit_test(test_mutated_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
