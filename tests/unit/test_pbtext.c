/* test_pbtext.c - protobuf text-format reader (tfs_pbtext_parse). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pbio.h"
#include "pbtext.h"
#include "tensorflow.pb-c.h"
#include "tfs_limits.h"

#define PATH "saved_model.pbtxt"

/* ------------------------------------------------------------------------
 * A hand-written descriptor with every scalar type, packed repeated fields
 * and a recursive message field (tensorflow.proto has no sint/sfixed).
 */
typedef struct Scalars Scalars;
struct Scalars {
	ProtobufCMessage base;
	int32_t i32;
	int64_t i64;
	uint32_t u32;
	uint64_t u64;
	int32_t s32;
	int64_t s64;
	uint32_t fx32;
	uint64_t fx64;
	int32_t sf32;
	int64_t sf64;
	float fl;
	double db;
	protobuf_c_boolean b;
	int dt;
	char *str;
	ProtobufCBinaryData by;
	size_t n_rs32;
	int32_t *rs32;
	size_t n_rdb;
	double *rdb;
	Scalars *child;
	size_t n_kids;
	Scalars **kids;
};

static const ProtobufCMessageDescriptor scalars_desc;

#define FD(nm, id, label, type, q, member, desc, def, flags)                                          \
	{ nm, id, label, type, q, offsetof(Scalars, member), desc, def, flags, 0, NULL, NULL }
#define SCALAR(nm, id, type) FD(#nm, id, PROTOBUF_C_LABEL_NONE, type, 0, nm, NULL, NULL, 0)

static const ProtobufCFieldDescriptor scalars_fields[20] = {
	SCALAR(i32, 1, PROTOBUF_C_TYPE_INT32),
	SCALAR(i64, 2, PROTOBUF_C_TYPE_INT64),
	SCALAR(u32, 3, PROTOBUF_C_TYPE_UINT32),
	SCALAR(u64, 4, PROTOBUF_C_TYPE_UINT64),
	SCALAR(s32, 5, PROTOBUF_C_TYPE_SINT32),
	SCALAR(s64, 6, PROTOBUF_C_TYPE_SINT64),
	SCALAR(fx32, 7, PROTOBUF_C_TYPE_FIXED32),
	SCALAR(fx64, 8, PROTOBUF_C_TYPE_FIXED64),
	SCALAR(sf32, 9, PROTOBUF_C_TYPE_SFIXED32),
	SCALAR(sf64, 10, PROTOBUF_C_TYPE_SFIXED64),
	SCALAR(fl, 11, PROTOBUF_C_TYPE_FLOAT),
	SCALAR(db, 12, PROTOBUF_C_TYPE_DOUBLE),
	SCALAR(b, 13, PROTOBUF_C_TYPE_BOOL),
	FD("dt", 14, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_ENUM, 0, dt, &tensorflow__data_type__descriptor, NULL, 0),
	FD("str", 15, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, str, NULL, &protobuf_c_empty_string, 0),
	SCALAR(by, 16, PROTOBUF_C_TYPE_BYTES),
	FD("rs32", 17, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_SINT32, offsetof(Scalars, n_rs32), rs32, NULL, NULL,
	   PROTOBUF_C_FIELD_FLAG_PACKED),
	FD("rdb", 18, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_DOUBLE, offsetof(Scalars, n_rdb), rdb, NULL, NULL,
	   PROTOBUF_C_FIELD_FLAG_PACKED),
	FD("child", 19, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, child, &scalars_desc, NULL, 0),
	FD("kids", 20, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_MESSAGE, offsetof(Scalars, n_kids), kids,
	   &scalars_desc, NULL, 0),
};
/* indices of scalars_fields in strcmp order of their names (checked below) */
static const unsigned scalars_by_name[20] = { 12, 15, 18, 11, 13, 10, 6, 7, 0, 1, 19, 17, 16, 4, 5, 8, 9, 14, 2, 3 };
static const ProtobufCIntRange scalars_ranges[2] = { { 1, 0 }, { 0, 20 } };

static void scalars_init(ProtobufCMessage *m)
{
	memset(m, 0, sizeof(Scalars));
	m->descriptor = &scalars_desc;
	((Scalars *)m)->str = (char *)protobuf_c_empty_string;
}

static const ProtobufCMessageDescriptor scalars_desc = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Scalars", "Scalars", "Test__Scalars", "test", sizeof(Scalars),
	20, scalars_fields, scalars_by_name, 1, scalars_ranges, scalars_init, NULL, NULL, NULL
};

static int parse(const ProtobufCMessageDescriptor *d, const char *text, ProtobufCMessage **m)
{
	*m = NULL;
	return tfs_pbtext_parse(d, (const uint8_t *)text, strlen(text), PATH, m);
}

static Scalars *parse_ok(const char *text)
{
	ProtobufCMessage *m;
	int rc = parse(&scalars_desc, text, &m);
	if (rc != 0)
		fail_msg("parse failed: %s", tfshrink_error_last()->message);
	return (Scalars *)m;
}

static void parse_fails(const ProtobufCMessageDescriptor *d, const char *text, int code, const char *needle)
{
	ProtobufCMessage *m;
	tu_assert_error(parse(d, text, &m), code, needle);
	assert_null(m);
	const tfshrink_error *e = tfshrink_error_last();
	assert_non_null(e->path);
	assert_string_equal(e->path, PATH);
}

static void test_descriptor_sane(void **state)
{
	(void)state;
	for (unsigned i = 1; i < 20; i++)
		assert_true(strcmp(scalars_fields[scalars_by_name[i - 1]].name, scalars_fields[scalars_by_name[i]].name) < 0);
}

static void test_scalars(void **state)
{
	(void)state;
	Scalars *s = parse_ok("# every scalar syntax\n"
	                      "i32: -2147483648 i64: -9223372036854775808\n"
	                      "u32: 4294967295, u64: 18446744073709551615;\n"
	                      "s32: -5 s64: -0x10 fx32: 0xFFFFFFFF fx64: 01777777777777777777777\n"
	                      "sf32: -7 sf64: -8  # trailing comment\n"
	                      "fl: 1.5f db: 1e-05 b: t dt: DT_DOUBLE\n"
	                      "str: \"a\" 'b'\n"
	                      "by: \"\\x00\\377\"\n");
	assert_int_equal(s->i32, INT32_MIN);
	assert_true(s->i64 == INT64_MIN);
	assert_int_equal(s->u32, UINT32_MAX);
	assert_true(s->u64 == UINT64_MAX);
	assert_int_equal(s->s32, -5);
	assert_int_equal(s->s64, -16);
	assert_int_equal(s->fx32, 0xffffffffu);
	assert_true(s->fx64 == UINT64_MAX);
	assert_int_equal(s->sf32, -7);
	assert_int_equal(s->sf64, -8);
	assert_true(s->fl == 1.5f);
	assert_true(s->db == 1e-05);
	assert_true(s->b);
	assert_int_equal(s->dt, TENSORFLOW__DATA_TYPE__DT_DOUBLE);
	assert_string_equal(s->str, "ab");
	assert_int_equal(s->by.len, 2);
	assert_int_equal(s->by.data[0], 0);
	assert_int_equal(s->by.data[1], 0xff);
	protobuf_c_message_free_unpacked(&s->base, NULL);

	s = parse_ok("i32: 2147483647 i64: 9223372036854775807 s32: 2147483647 s64: -9223372036854775808\n"
	             "sf32: -2147483648 sf64: 9223372036854775807 fx32: 017 db: -inf fl: 1e39 b: False\n"
	             "dt: 19 u32: 0");
	assert_int_equal(s->i32, INT32_MAX);
	assert_true(s->i64 == INT64_MAX);
	assert_int_equal(s->s32, INT32_MAX);
	assert_true(s->s64 == INT64_MIN);
	assert_int_equal(s->sf32, INT32_MIN);
	assert_true(s->sf64 == INT64_MAX);
	assert_int_equal(s->fx32, 15);
	assert_true(isinf(s->db) && s->db < 0);
	assert_true(isinf(s->fl) && s->fl > 0); /* beyond FLT_MAX rounds to inf, as in protobuf */
	assert_false(s->b);
	assert_int_equal(s->dt, 19);
	protobuf_c_message_free_unpacked(&s->base, NULL);

	/* bools */
	static const char *const trues[] = { "b: true", "b: True", "b: t", "b: 1", "b: 0x1" };
	static const char *const falses[] = { "b: false", "b: False", "b: f", "b: 0", "i32: 1 b: true b: false" };
	for (size_t i = 0; i < 5; i++) {
		s = parse_ok(trues[i]);
		assert_true(s->b);
		protobuf_c_message_free_unpacked(&s->base, NULL);
		s = parse_ok(falses[i]);
		assert_false(s->b);
		protobuf_c_message_free_unpacked(&s->base, NULL);
	}
}

static void test_lists_and_messages(void **state)
{
	(void)state;
	Scalars *s = parse_ok("rs32: [1, -1, 2147483647] rs32: -3 rs32: []\n"
	                      "rdb: [inf, -inf, nan, -0.0, .5, 1., 2E3, 0x10, 017, -Infinity, 5]\n"
	                      "child { i32: 1 child < i32: 2 > }\n"
	                      "kids: [{i32: 3}, <i32: 4>] kids {} kids: { str: \"x\" }\n");
	assert_int_equal(s->n_rs32, 4);
	assert_int_equal(s->rs32[0], 1);
	assert_int_equal(s->rs32[1], -1);
	assert_int_equal(s->rs32[2], INT32_MAX);
	assert_int_equal(s->rs32[3], -3);
	assert_int_equal(s->n_rdb, 11);
	assert_true(isinf(s->rdb[0]) && s->rdb[0] > 0);
	assert_true(isinf(s->rdb[1]) && s->rdb[1] < 0);
	assert_true(isnan(s->rdb[2]));
	assert_true(s->rdb[3] == 0.0 && signbit(s->rdb[3]));
	assert_true(s->rdb[4] == 0.5);
	assert_true(s->rdb[5] == 1.0);
	assert_true(s->rdb[6] == 2000.0);
	assert_true(s->rdb[7] == 16.0);
	assert_true(s->rdb[8] == 15.0);
	assert_true(isinf(s->rdb[9]) && s->rdb[9] < 0);
	assert_true(s->rdb[10] == 5.0);
	assert_non_null(s->child);
	assert_int_equal(s->child->i32, 1);
	assert_non_null(s->child->child);
	assert_int_equal(s->child->child->i32, 2);
	assert_int_equal(s->n_kids, 4);
	assert_int_equal(s->kids[0]->i32, 3);
	assert_int_equal(s->kids[1]->i32, 4);
	assert_int_equal(s->kids[2]->i32, 0);
	assert_string_equal(s->kids[3]->str, "x");
	protobuf_c_message_free_unpacked(&s->base, NULL);

	/* empty text, only comments */
	s = parse_ok("");
	assert_int_equal(s->i32, 0);
	protobuf_c_message_free_unpacked(&s->base, NULL);
	s = parse_ok("  # nothing\n\n# at all");
	protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void test_string_escapes(void **state)
{
	(void)state;
	Scalars *s = parse_ok("by: \"\\a\\b\\f\\n\\r\\t\\v\\\\\\'\\\"\\?\" '\\0\\01\\101\\1234'\n"
	                      "    \"\\x41\\x4a\\x7\" \"\\u00e9\\U0001F600\\ud83d\\ude00\" 'it''s' \"\"\n"
	                      "str: \"caf\\303\\251 \\\"q\\\"\"");
	static const uint8_t want[] = { 7, 8, 12, 10, 13, 9, 11, '\\', '\'', '"', '?', 0, 1, 'A', 'S', '4', 'A', 'J', 7,
		                        0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f, 0x98, 0x80, 'i', 't', 's' };
	assert_int_equal(s->by.len, sizeof want);
	assert_memory_equal(s->by.data, want, sizeof want);
	assert_string_equal(s->str, "caf\xc3\xa9 \"q\"");
	protobuf_c_message_free_unpacked(&s->base, NULL);

	parse_fails(&scalars_desc, "str: \"a\\qb\"", TFSHRINK_ECORRUPT, "line 1, column 8: unknown escape sequence '\\q'");
	parse_fails(&scalars_desc, "str: \"abc", TFSHRINK_ECORRUPT, "line 1, column 6: string literal is not closed");
	parse_fails(&scalars_desc, "str: \"ab\ncd\"", TFSHRINK_ECORRUPT, "string literal runs past the end of the line");
	parse_fails(&scalars_desc, "str: \"\\x\"", TFSHRINK_ECORRUPT, "'\\x' without hex digits");
	parse_fails(&scalars_desc, "str: \"\\u12\"", TFSHRINK_ECORRUPT, "needs 4 hex digits");
	parse_fails(&scalars_desc, "str: \"\\400\"", TFSHRINK_ECORRUPT, "octal escape above");
	parse_fails(&scalars_desc, "str: \"\\", TFSHRINK_ECORRUPT, "not closed");
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails(&scalars_desc, "i32: 1\n  nosuch: 2", TFSHRINK_ECORRUPT,
	            "line 2, column 3: unknown field 'nosuch' in test.Scalars");
	assert_int_equal(tfshrink_error_last()->offset, 9);
	parse_fails(&scalars_desc, "i32: 2147483648", TFSHRINK_ECORRUPT, "line 1, column 6: integer out of range");
	parse_fails(&scalars_desc, "i32: -2147483649", TFSHRINK_ECORRUPT, "out of range");
	parse_fails(&scalars_desc, "u32: -1", TFSHRINK_ECORRUPT, "out of range");
	parse_fails(&scalars_desc, "u64: 18446744073709551616", TFSHRINK_ECORRUPT, "does not fit in 64 bits");
	parse_fails(&scalars_desc, "i32: 1.5", TFSHRINK_ECORRUPT, "expected an integer, found '1.5'");
	parse_fails(&scalars_desc, "i32: 08", TFSHRINK_ECORRUPT, "not an octal digit");
	parse_fails(&scalars_desc, "fl: abc", TFSHRINK_ECORRUPT, "expected a number, found 'abc'");
	parse_fails(&scalars_desc, "b: 2", TFSHRINK_ECORRUPT, "out of range [0, 1]");
	parse_fails(&scalars_desc, "b: yes", TFSHRINK_ECORRUPT, "expected true or false");
	parse_fails(&scalars_desc, "dt: DT_NOPE", TFSHRINK_ECORRUPT,
	            "unknown value 'DT_NOPE' for enum tensorflow.DataType");
	parse_fails(&scalars_desc, "i32 1", TFSHRINK_ECORRUPT, "line 1, column 5: expected ':', found '1'");
	parse_fails(&scalars_desc, "child: 5", TFSHRINK_ECORRUPT, "expected '{' or '<', found '5'");
	parse_fails(&scalars_desc, "child { i32: 1", TFSHRINK_ECORRUPT, "expected '}' to close Scalars, found end of file");
	parse_fails(&scalars_desc, "child < i32: 1 }", TFSHRINK_ECORRUPT, "expected a field name, found '}'");
	parse_fails(&scalars_desc, "i32: [1]", TFSHRINK_ECORRUPT, "a list for i32, which is not a repeated field");
	parse_fails(&scalars_desc, "rs32: [1 2]", TFSHRINK_ECORRUPT, "expected ','");
	parse_fails(&scalars_desc, "rs32: [1,", TFSHRINK_ECORRUPT, "expected an integer, found end of file");
	parse_fails(&scalars_desc, "i32: 1x", TFSHRINK_ECORRUPT, "line 1, column 7: unexpected 'x' right after a number");
	parse_fails(&scalars_desc, "i32: 0x", TFSHRINK_ECORRUPT, "'0x' must be followed by hex digits");
	parse_fails(&scalars_desc, "db: 1e+", TFSHRINK_ECORRUPT, "exponent without digits");
	parse_fails(&scalars_desc, "str: \xc3\xa9", TFSHRINK_ECORRUPT, "unexpected byte 0xc3");
	parse_fails(&scalars_desc, "}", TFSHRINK_ECORRUPT, "expected a field name, found '}'");
	parse_fails(&scalars_desc, "[ext.field]: 1", TFSHRINK_EUNSUPPORTED, "extension fields");
	/* bad token in the middle of a multi-line text: line and column */
	parse_fails(&tensorflow__saved_model__descriptor,
	            "saved_model_schema_version: 1\nmeta_graphs {\n  meta_info_def {\n    tags: serve\n  }\n}\n",
	            TFSHRINK_ECORRUPT, "line 4, column 11: expected a string, found 'serve'");
	assert_int_equal(tfshrink_error_last()->offset, 30 + 14 + 18 + 10);
	/* a NUL inside the text is just a bad byte, not the end */
	static const uint8_t nul[] = { 'i', '3', '2', ':', ' ', '1', 0, 'x' };
	ProtobufCMessage *m = NULL;
	tu_assert_error(tfs_pbtext_parse(&scalars_desc, nul, sizeof nul, PATH, &m), TFSHRINK_ECORRUPT,
	                "unexpected byte 0x00");
	assert_null(m);
}

static char *nested_text(size_t levels)
{
	size_t n = levels * 9 + 16;
	char *t = malloc(n), *p = t;
	assert_non_null(t);
	for (size_t i = 0; i < levels; i++) {
		memcpy(p, "child {", 7);
		p += 7;
	}
	memcpy(p, "i32: 7", 6);
	p += 6;
	for (size_t i = 0; i < levels; i++)
		*p++ = '}';
	*p = '\0';
	return t;
}

static void test_depth(void **state)
{
	(void)state;
	char *t = nested_text(TFS_MAX_PB_DEPTH);
	Scalars *s = parse_ok(t);
	const Scalars *c = s;
	for (int i = 0; i < TFS_MAX_PB_DEPTH; i++)
		c = c->child;
	assert_int_equal(c->i32, 7);
	protobuf_c_message_free_unpacked(&s->base, NULL);
	free(t);

	t = nested_text(TFS_MAX_PB_DEPTH + 1);
	parse_fails(&scalars_desc, t, TFSHRINK_ELIMIT, "nesting deeper than 100 messages");
	free(t);
	t = nested_text(10000);
	parse_fails(&scalars_desc, t, TFSHRINK_ELIMIT, "nesting deeper than 100 messages");
	free(t);

	/* the same through the real schema's recursion (AttrValue -> NameAttrList -> map) */
	size_t levels = 5000;
	char *big = malloc(levels * 40 + 16), *p = big;
	assert_non_null(big);
	for (size_t i = 0; i < levels; i++)
		p += sprintf(p, "func { attr { key: \"k\" value { ");
	for (size_t i = 0; i < levels; i++)
		p += sprintf(p, "} } }");
	parse_fails(&tensorflow__attr_value__descriptor, big, TFSHRINK_ELIMIT, "nesting deeper than 100");
	free(big);
}

static void test_map_and_any(void **state)
{
	(void)state;
	ProtobufCMessage *m;
	assert_int_equal(parse(&tensorflow__node_def__descriptor,
	                       "name: \"Const\" op: \"Const\"\n"
	                       "attr { key: \"dtype\" value { type: DT_FLOAT } }\n"
	                       "attr { key: \"value\" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }\n"
	                       "  float_val: [1, 2] } } }\n"
	                       "attr: { key: \"s\" value: < s: \"\" > }\n",
	                       &m),
	                 0);
	Tensorflow__NodeDef *nd = (Tensorflow__NodeDef *)m;
	assert_string_equal(nd->name, "Const");
	assert_int_equal(nd->n_attr, 3);
	assert_string_equal(nd->attr[0]->key, "dtype");
	assert_int_equal(nd->attr[0]->value->type, TENSORFLOW__DATA_TYPE__DT_FLOAT);
	assert_int_equal(nd->attr[1]->value->tensor->n_float_val, 2);
	assert_int_equal(nd->attr[1]->value->tensor->tensor_shape->dim[0]->size, 2);
	/* an empty bytes member of a oneof still selects it */
	assert_int_equal(nd->attr[2]->value->value_case, TENSORFLOW__ATTR_VALUE__VALUE_S);
	protobuf_c_message_free_unpacked(m, NULL);

	/* expanded Any, as Python and C++ print it */
	assert_int_equal(parse(&tensorflow__saved_model__descriptor,
	                       "meta_graphs { collection_def { key: \"saved_model_assets\" value { any_list { value {\n"
	                       "  [type.googleapis.com/tensorflow.AssetFileDef] {\n"
	                       "    tensor_info { name: \"Const:0\" }\n"
	                       "    filename: \"foo.txt\"\n"
	                       "  }\n"
	                       "} } } } }\n",
	                       &m),
	                 0);
	Tensorflow__SavedModel *sm = (Tensorflow__SavedModel *)m;
	Tensorflow__CollectionDef *cd = sm->meta_graphs[0]->collection_def[0]->value;
	assert_int_equal(cd->kind_case, TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST);
	Tensorflow__Any *any = cd->any_list->value[0];
	assert_string_equal(any->type_url, "type.googleapis.com/tensorflow.AssetFileDef");
	static const uint8_t want[] = "\n\t\n\007Const:0\022\007foo.txt"; /* as TF 1.x wrote it */
	assert_int_equal(any->value.len, sizeof want - 1);
	assert_memory_equal(any->value.data, want, sizeof want - 1);
	protobuf_c_message_free_unpacked(m, NULL);

	/* an Any spelled out */
	assert_int_equal(parse(&tensorflow__any__descriptor, "type_url: \"x/y\" value: \"\\001\\002\"", &m), 0);
	assert_int_equal(((Tensorflow__Any *)m)->value.len, 2);
	protobuf_c_message_free_unpacked(m, NULL);

	parse_fails(&tensorflow__saved_model__descriptor,
	            "meta_graphs { meta_info_def { any_info { [type.googleapis.com/tensorflow.Nope] { } } } }",
	            TFSHRINK_EUNSUPPORTED, "line 1, column 42: Any holds tensorflow.Nope");
	parse_fails(&tensorflow__any__descriptor, "[tensorflow.AssetFileDef] { }", TFSHRINK_ECORRUPT, "is not a type URL");
	parse_fails(&tensorflow__any__descriptor, "[a/tensorflow.AssetFileDef] { filename: \"x\" } type_url: \"y\"",
	            TFSHRINK_EUNSUPPORTED, "Any holds tensorflow.AssetFileDef");
	parse_fails(&tensorflow__saved_model__descriptor,
	            "meta_graphs { meta_info_def { any_info { [a/tensorflow.AssetFileDef] { filename: 1 } } } }",
	            TFSHRINK_ECORRUPT, "expected a string, found '1'");
	parse_fails(&tensorflow__saved_model__descriptor,
	            "meta_graphs { meta_info_def { any_info { [a/tensorflow.AssetFileDef] { } type_url: \"\" } } }",
	            TFSHRINK_ECORRUPT, "expected the end of the Any after its expanded value");
}

/* ------------------------------------------------------------ real files */

static Tensorflow__NodeDef *find_node(Tensorflow__SavedModel *sm, const char *name)
{
	Tensorflow__GraphDef *g = sm->meta_graphs[0]->graph_def;
	for (size_t i = 0; i < g->n_node; i++)
		if (strcmp(g->node[i]->name, name) == 0)
			return g->node[i];
	return NULL;
}

static Tensorflow__AttrValue *find_attr(Tensorflow__NodeDef *n, const char *key)
{
	for (size_t i = 0; i < n->n_attr; i++)
		if (strcmp(n->attr[i]->key, key) == 0)
			return n->attr[i]->value;
	return NULL;
}

/* Map fields (repeated *Entry messages with key and value) sorted by key,
 * everywhere in m: C++ TextFormat prints maps sorted, the binary writer of
 * TF 1.x did not. */
static const ProtobufCFieldDescriptor *sort_key_field;

static int key_cmp(const void *a, const void *b)
{
	const char *ma = *(const char *const *)a, *mb = *(const char *const *)b;
	const ProtobufCFieldDescriptor *k = sort_key_field;
	if (k->type == PROTOBUF_C_TYPE_STRING)
		return strcmp(*(char *const *)(ma + k->offset), *(char *const *)(mb + k->offset));
	uint64_t x = 0, y = 0;
	size_t w = (k->type == PROTOBUF_C_TYPE_FIXED64 || k->type == PROTOBUF_C_TYPE_UINT64 ||
	            k->type == PROTOBUF_C_TYPE_INT64) ? 8 : 4;
	memcpy(&x, ma + k->offset, w);
	memcpy(&y, mb + k->offset, w);
	return x < y ? -1 : x > y;
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->short_name);
	return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
	       strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static void sort_maps(ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		char *base = (char *)m;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)(base + f->quantifier_offset);
			ProtobufCMessage **arr = *(ProtobufCMessage ***)(base + f->offset);
			for (size_t j = 0; j < n; j++)
				sort_maps(arr[j]);
			if (n > 1 && is_map_entry(f->descriptor)) {
				sort_key_field = &((const ProtobufCMessageDescriptor *)f->descriptor)->fields[0];
				qsort(arr, n, sizeof *arr, key_cmp);
			}
		} else {
			ProtobufCMessage *sub = *(ProtobufCMessage **)(base + f->offset);
			if (sub)
				sort_maps(sub);
		}
	}
}

/*
 * tfcc_half_plus_two_pbtxt and tfcc_half_plus_two are the same graph exported
 * twice: they differ only in the random temporary checkpoint name held by
 * the Const node save/StringJoin/inputs_1 ("_temp_<32 hex digits>/part").
 * With that one string made equal and map entries put in key order (the
 * text has them sorted, the binary in insertion order), the two must pack
 * to identical bytes.
 */
static void test_real_pbtxt(void **state)
{
	(void)state;
	char *tdir = tu_realmodel("tfcc_half_plus_two_pbtxt");
	char *bdir = tu_realmodel("tfcc_half_plus_two");
	if (!tdir || !bdir) {
		free(tdir);
		free(bdir);
		skip();
	}
	char path[4096];
	size_t tn, bn;
	snprintf(path, sizeof path, "%s/saved_model.pbtxt", tdir);
	uint8_t *text = tu_read(path, &tn);
	snprintf(path, sizeof path, "%s/saved_model.pb", bdir);
	uint8_t *bin = tu_read(path, &bn);
	free(tdir);
	free(bdir);

	ProtobufCMessage *tm = NULL, *bm = NULL;
	int rc = tfs_pbtext_parse(&tensorflow__saved_model__descriptor, text, tn, "saved_model.pbtxt", &tm);
	if (rc != 0)
		fail_msg("%s", tfshrink_error_last()->message);
	assert_int_equal(tfs_pb_unpack(&tensorflow__saved_model__descriptor, bin, bn, "saved_model.pb", &bm), 0);
	Tensorflow__SavedModel *ts = (Tensorflow__SavedModel *)tm, *bs = (Tensorflow__SavedModel *)bm;

	/* structure */
	assert_int_equal(ts->saved_model_schema_version, 1);
	assert_int_equal(ts->n_meta_graphs, 1);
	Tensorflow__MetaGraphDef *mg = ts->meta_graphs[0];
	assert_int_equal(mg->graph_def->n_node, 65);
	assert_int_equal(mg->meta_info_def->stripped_op_list->n_op, 16);
	assert_string_equal(mg->meta_info_def->tensorflow_version, "1.1.0-rc2");
	assert_int_equal(mg->n_signature_def, 6);
	assert_int_equal(mg->n_collection_def, 5);
	int assets = 0;
	for (size_t i = 0; i < mg->n_collection_def; i++) {
		if (strcmp(mg->collection_def[i]->key, "saved_model_assets") != 0)
			continue;
		Tensorflow__CollectionDef *cd = mg->collection_def[i]->value;
		assert_int_equal(cd->kind_case, TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST);
		assets = (int)cd->any_list->n_value;
		assert_string_equal(cd->any_list->value[0]->type_url, "type.googleapis.com/tensorflow.AssetFileDef");
	}
	assert_int_equal(assets, 1);

	/* the one difference, then byte equality */
	Tensorflow__AttrValue *ta = find_attr(find_node(ts, "save/StringJoin/inputs_1"), "value");
	Tensorflow__AttrValue *ba = find_attr(find_node(bs, "save/StringJoin/inputs_1"), "value");
	assert_non_null(ta);
	assert_non_null(ba);
	assert_int_equal(ta->tensor->n_string_val, 1);
	assert_int_equal(ba->tensor->n_string_val, 1);
	assert_int_equal(ta->tensor->string_val[0].len, ba->tensor->string_val[0].len);
	assert_memory_equal(ta->tensor->string_val[0].data, "_temp_", 6);
	assert_memory_not_equal(ta->tensor->string_val[0].data, ba->tensor->string_val[0].data,
	                        ta->tensor->string_val[0].len);
	memcpy(ta->tensor->string_val[0].data, ba->tensor->string_val[0].data, ba->tensor->string_val[0].len);

	uint8_t *tp = NULL, *bp = NULL;
	size_t tpn, bpn;
	sort_maps(tm);
	sort_maps(bm);
	assert_int_equal(tfs_pb_pack(tm, &tp, &tpn), 0);
	assert_int_equal(tfs_pb_pack(bm, &bp, &bpn), 0);
	assert_int_equal(tpn, bpn);
	assert_memory_equal(tp, bp, tpn);

	free(tp);
	free(bp);
	protobuf_c_message_free_unpacked(tm, NULL);
	protobuf_c_message_free_unpacked(bm, NULL);
	free(text);
	free(bin);
}

/* Every prefix of the real text either parses or fails cleanly. */
static void test_real_pbtxt_truncated(void **state)
{
	(void)state;
	char *tdir = tu_realmodel("tfcc_half_plus_two_pbtxt");
	if (!tdir)
		skip();
	char path[4096];
	size_t tn;
	snprintf(path, sizeof path, "%s/saved_model.pbtxt", tdir);
	free(tdir);
	uint8_t *text = tu_read(path, &tn);
	for (size_t cut = 0; cut < tn; cut += 1 + cut / 64) {
		uint8_t *copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, text, cut);
		ProtobufCMessage *m = NULL;
		int rc = tfs_pbtext_parse(&tensorflow__saved_model__descriptor, copy, cut, "cut.pbtxt", &m);
		assert_true(rc == 0 || rc == TFSHRINK_ECORRUPT);
		protobuf_c_message_free_unpacked(m, NULL);
		free(copy);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor_sane),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_lists_and_messages),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_map_and_any),
		cmocka_unit_test(test_real_pbtxt),
		cmocka_unit_test(test_real_pbtxt_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
