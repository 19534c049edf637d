/* test_fingerprint.c - fingerprint.pb as TensorFlow computes it: the stored
 * fingerprints of the committed fixtures (written by TF 2.21) and of a TF 2.11
 * real model are the oracle; then what the writer does with it under each
 * policy, after edits, and where TensorFlow would refuse. */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "farmhash.h"
#include "fsutil.h"
#include "model_internal.h"
#include "pbio.h"
#include "tensorflow.pb-c.h"
#include "tfshrink.h"

static Tensorflow__FingerprintDef *parse_fp(const uint8_t *b, size_t n)
{
	Tensorflow__FingerprintDef *f = tensorflow__fingerprint_def__unpack(NULL, n, b);
	assert_non_null(f);
	return f;
}

static Tensorflow__FingerprintDef *read_fp(const char *dir)
{
	char *p = tu_join(dir, "fingerprint.pb");
	size_t n;
	uint8_t *b = tu_read(p, &n);
	Tensorflow__FingerprintDef *f = parse_fp(b, n);
	free(b);
	free(p);
	return f;
}

/* The fingerprint of m as written unmodified: its packed saved_model.pb and
 * the input's variables.index (the writer reproduces both byte for byte). */
static Tensorflow__FingerprintDef *compute_fp(tfshrink_model *m, const char *dir)
{
	uint8_t *pb, *idx = NULL, *out;
	size_t pbn, idxn = 0, outn;
	assert_int_equal(tfs_pb_pack(&m->sm->base, &pb, &pbn), 0);
	char *ip = tu_join(dir, "variables/variables.index");
	if (tfs_is_file(ip))
		idx = tu_read(ip, &idxn);
	int rc = tfs_fingerprint_compute(m, pb, pbn, idx, idxn, &out, &outn);
	if (rc)
		fail_msg("%s: %s", dir, tfshrink_error_last()->message);
	Tensorflow__FingerprintDef *f = parse_fp(out, outn);
	free(out);
	free(idx);
	free(ip);
	free(pb);
	return f;
}

/* TensorFlow's uuid: a 128-bit number in decimal; ours always has 39 digits. */
static void assert_uuid(const char *u)
{
	assert_non_null(u);
	assert_int_equal(strlen(u), 39);
	assert_true(u[0] != '0');
	for (const char *c = u; *c; c++)
		assert_true(*c >= '0' && *c <= '9');
}

static void print_fp(const char *what, const Tensorflow__FingerprintDef *f)
{
	print_message("%-36s %20" PRIu64 " %20" PRIu64 " %20" PRIu64 " %20" PRIu64 " %20" PRIu64 " v%d\n", what,
	              f->saved_model_checksum, f->graph_def_program_hash, f->signature_def_hash,
	              f->saved_object_graph_hash, f->checkpoint_hash, f->version ? f->version->producer : -1);
}

static void assert_same_hashes(const char *what, const Tensorflow__FingerprintDef *a, const Tensorflow__FingerprintDef *b)
{
	if (a->saved_model_checksum != b->saved_model_checksum || a->graph_def_program_hash != b->graph_def_program_hash ||
	    a->signature_def_hash != b->signature_def_hash || a->saved_object_graph_hash != b->saved_object_graph_hash ||
	    a->checkpoint_hash != b->checkpoint_hash) {
		print_fp("computed", a);
		print_fp("expected", b);
		fail_msg("%s: fingerprint differs", what);
	}
}

/* ------------------------------------------------------------ the oracle */

static int g_checked;

static void check_fixture_fp(const char *dir, const char *name)
{
	char *fpp = tu_join(dir, "fingerprint.pb");
	if (tfs_is_file(fpp)) {
		tfshrink_model *m = tu_open(dir, 0);
		Tensorflow__FingerprintDef *want = read_fp(dir), *got = compute_fp(m, dir);
		assert_same_hashes(name, got, want);
		assert_non_null(got->version);
		assert_non_null(want->version);
		assert_int_equal(got->version->producer, want->version->producer);
		assert_int_equal(got->version->producer, 4);
		assert_int_equal(got->version->min_consumer, 0);
		assert_uuid(got->uuid);
		assert_string_not_equal(got->uuid, want->uuid);
		print_fp(name, got);
		tensorflow__fingerprint_def__free_unpacked(want, NULL);
		tensorflow__fingerprint_def__free_unpacked(got, NULL);
		tfshrink_model_free(m);
		g_checked++;
	}
	free(fpp);
}

/* Every committed fixture with a fingerprint.pb: all fields but the uuid are
 * what TF 2.21 stored when it saved the model. */
static void test_fixtures_match_tensorflow(void **state)
{
	(void)state;
	g_checked = 0;
	tu_each_fixture(check_fixture_fp);
	assert_true(g_checked >= 7);
}

/* A TF1 SavedModelBuilder model has no fingerprint.pb; these values are what
 * TF 2.21's own CreateFingerprintDef computes for it (top-level string Const
 * nodes regularized, no object graph). */
static void test_tf1_fixture_against_tensorflow(void **state)
{
	(void)state;
	char *dir = tu_fixture("tf1_adam_builder");
	tfshrink_model *m = tu_open(dir, 0);
	Tensorflow__FingerprintDef *got = compute_fp(m, dir), want = TENSORFLOW__FINGERPRINT_DEF__INIT;
	want.saved_model_checksum = 6036463061069990669u;
	want.graph_def_program_hash = 172756410173011941u;
	want.signature_def_hash = 11173018739916315769u;
	want.saved_object_graph_hash = 0;
	want.checkpoint_hash = 15122879546328543897u;
	assert_same_hashes("tf1_adam_builder", got, &want);
	tensorflow__fingerprint_def__free_unpacked(got, NULL);
	tfshrink_model_free(m);
	free(dir);
}

/* tfnet_simple_model_auto_compile's fingerprint.pb was written by TF 2.11
 * (producer 0). Fields 2, 4 and 5 are computed as today and must equal it.
 * Field 1 was then the hash of the GraphDef alone and field 3 left the keys
 * out, so those are checked against that old definition, and the current
 * values against what TF 2.21's CreateFingerprintDef gives for the model. */
static void test_tf211_real_model(void **state)
{
	(void)state;
	char *dir = tu_realmodel("tfnet_simple_model_auto_compile");
	if (!dir) {
		print_message("shared real models absent: skipped\n");
		return;
	}
	tfshrink_model *m = tu_open(dir, 0);
	Tensorflow__FingerprintDef *want = read_fp(dir), *got = compute_fp(m, dir);
	assert_true(got->graph_def_program_hash == want->graph_def_program_hash);
	assert_true(got->saved_object_graph_hash == want->saved_object_graph_hash);
	assert_true(got->checkpoint_hash == want->checkpoint_hash);
	assert_true(got->saved_model_checksum == 1850884688620780419u);
	assert_true(got->signature_def_hash == 1269330468834328300u);
	assert_int_equal(want->version ? want->version->producer : -1, 0);

	/* producer 0's field 1 and field 3 */
	const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	uint8_t *b;
	size_t n;
	assert_int_equal(tfs_pb_pack(&mg->graph_def->base, &b, &n), 0);
	assert_true(tfs_fingerprint64(b, n) == want->saved_model_checksum);
	free(b);
	uint64_t h = 0;
	for (size_t i = 0; i < mg->n_signature_def; i++) { /* in key order in this file */
		assert_int_equal(tfs_pb_pack(&mg->signature_def[i]->value->base, &b, &n), 0);
		h = tfs_fingerprint_cat64(h, tfs_fingerprint64(b, n));
		free(b);
	}
	assert_true(h == want->signature_def_hash);
	print_fp("tfnet_simple_model_auto_compile", got);
	tensorflow__fingerprint_def__free_unpacked(want, NULL);
	tensorflow__fingerprint_def__free_unpacked(got, NULL);
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------------------ regularization */

static Tensorflow__NodeDef *find_node(Tensorflow__GraphDef *g, const char *op, const char *attr)
{
	for (size_t i = 0; i < g->n_node; i++) {
		if (strcmp(g->node[i]->op, op))
			continue;
		for (size_t k = 0; k < g->node[i]->n_attr; k++)
			if (!strcmp(g->node[i]->attr[k]->key, attr))
				return g->node[i];
	}
	return NULL;
}

static Tensorflow__AttrValue *node_attr(Tensorflow__NodeDef *n, const char *key)
{
	for (size_t k = 0; k < n->n_attr; k++)
		if (!strcmp(n->attr[k]->key, key))
			return n->attr[k]->value;
	fail_msg("node %s has no attr %s", n->name, key);
	return NULL;
}

/* What TensorFlow's regularization erases does not move the program hash:
 * a call's function uid and config_proto, a string constant's value. The
 * checksum, over the whole file, does move. */
static void test_regularized_parts(void **state)
{
	(void)state;
	char *dir = tu_fixture("tfmodule_multi_sig");
	tfshrink_model *m = tu_open(dir, 0);
	Tensorflow__FingerprintDef *base = compute_fp(m, dir);
	Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;

	Tensorflow__NodeDef *call = find_node(g, "StatefulPartitionedCall", "config_proto");
	assert_non_null(call);
	Tensorflow__AttrValue *f = node_attr(call, "f");
	assert_int_equal(f->value_case, TENSORFLOW__ATTR_VALUE__VALUE_FUNC);
	char *old_name = f->func->name, *name = NULL;
	/* another uid, and config_proto emptied already */
	const char *us = strrchr(old_name, '_');
	assert_non_null(us);
	assert_true(asprintf(&name, "%.*s99999", (int)(us - old_name + 1), old_name) > 0);
	f->func->name = name;
	Tensorflow__AttrValue *cp = node_attr(call, "config_proto");
	ProtobufCBinaryData old_cp = cp->s;
	cp->s.len = 0;
	Tensorflow__FingerprintDef *after = compute_fp(m, dir);
	assert_true(after->graph_def_program_hash == base->graph_def_program_hash);
	assert_true(after->saved_model_checksum != base->saved_model_checksum);
	tensorflow__fingerprint_def__free_unpacked(after, NULL);

	/* a uid the name does not end with is part of the program */
	name[strlen(name) - 1] = 'x';
	after = compute_fp(m, dir);
	assert_true(after->graph_def_program_hash != base->graph_def_program_hash);
	tensorflow__fingerprint_def__free_unpacked(after, NULL);
	f->func->name = old_name;
	cp->s = old_cp;
	free(name);
	tensorflow__fingerprint_def__free_unpacked(base, NULL);
	tfshrink_model_free(m);
	free(dir);

	/* TF1: a string Const's value is erased, a float Const's is not */
	dir = tu_fixture("tf1_adam_builder");
	m = tu_open(dir, 0);
	base = compute_fp(m, dir);
	g = m->sm->meta_graphs[0]->graph_def;
	Tensorflow__NodeDef *sc = NULL, *fc = NULL;
	for (size_t i = 0; i < g->n_node; i++) {
		Tensorflow__NodeDef *n = g->node[i];
		if (strcmp(n->op, "Const"))
			continue;
		Tensorflow__AttrValue *dt = node_attr(n, "dtype"), *v = node_attr(n, "value");
		if (dt->type == TENSORFLOW__DATA_TYPE__DT_STRING && v->tensor && v->tensor->n_string_val == 1 && !sc)
			sc = n;
		if (dt->type == TENSORFLOW__DATA_TYPE__DT_FLOAT && v->tensor && v->tensor->tensor_content.len == 0 &&
		    v->tensor->n_float_val == 1 && !fc)
			fc = n;
	}
	assert_non_null(sc);
	assert_non_null(fc);
	ProtobufCBinaryData *sv = &node_attr(sc, "value")->tensor->string_val[0], old_sv = *sv;
	static uint8_t other[] = "something else entirely";
	sv->data = other;
	sv->len = sizeof other - 1;
	after = compute_fp(m, dir);
	assert_true(after->graph_def_program_hash == base->graph_def_program_hash);
	assert_true(after->saved_model_checksum != base->saved_model_checksum);
	tensorflow__fingerprint_def__free_unpacked(after, NULL);
	*sv = old_sv;
	float *fv = &node_attr(fc, "value")->tensor->float_val[0], old_fv = *fv;
	*fv = old_fv + 1.0f;
	after = compute_fp(m, dir);
	assert_true(after->graph_def_program_hash != base->graph_def_program_hash);
	tensorflow__fingerprint_def__free_unpacked(after, NULL);
	*fv = old_fv;
	after = compute_fp(m, dir);
	assert_same_hashes("restored", after, base);
	tensorflow__fingerprint_def__free_unpacked(after, NULL);
	tensorflow__fingerprint_def__free_unpacked(base, NULL);
	tfshrink_model_free(m);
	free(dir);
}

/* Map entries out of key order hash as TensorFlow's deterministic
 * serialization would emit them: sorted. */
static void test_map_order(void **state)
{
	(void)state;
	char *dir = tu_fixture("tfmodule_multi_sig");
	tfshrink_model *m = tu_open(dir, 0);
	Tensorflow__FingerprintDef *base = compute_fp(m, dir);
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	assert_true(mg->n_signature_def >= 2);
	Tensorflow__MetaGraphDef__SignatureDefEntry *t = mg->signature_def[0];
	mg->signature_def[0] = mg->signature_def[mg->n_signature_def - 1];
	mg->signature_def[mg->n_signature_def - 1] = t;
	Tensorflow__GraphDef *g = mg->graph_def;
	Tensorflow__NodeDef *call = find_node(g, "StatefulPartitionedCall", "config_proto");
	assert_true(call->n_attr >= 2);
	Tensorflow__NodeDef__AttrEntry *a = call->attr[0];
	call->attr[0] = call->attr[1];
	call->attr[1] = a;
	Tensorflow__FingerprintDef *after = compute_fp(m, dir);
	/* the checksum too: it is not taken over these unsorted bytes */
	assert_same_hashes("entries swapped", after, base);
	tensorflow__fingerprint_def__free_unpacked(after, NULL);
	tensorflow__fingerprint_def__free_unpacked(base, NULL);
	tfshrink_model_free(m);
	free(dir);
}

/* ------------------------------------------------------------ the writer */

static uint64_t tree_size(const char *dir)
{
	tfs_file_entry *f;
	size_t n;
	assert_int_equal(tfs_walk_files(dir, &f, &n), 0);
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += f[i].size;
	tfs_walk_free(f, n);
	return t;
}

static void write_checked(tfshrink_model *m, const char *out)
{
	uint64_t projected;
	assert_int_equal(tfs_model_projected_size(m, &projected), 0);
	if (tfshrink_model_write(m, out, NULL))
		fail_msg("write %s: %s", out, tfshrink_error_last()->message);
	assert_true(tree_size(out) == projected);
}

/* The output's fingerprint.pb matches the output: recomputing it from the
 * written files gives the same hashes. */
static void assert_fp_matches_dir(const char *out, const Tensorflow__FingerprintDef *f)
{
	tfshrink_model *w = tu_open(out, 0);
	Tensorflow__FingerprintDef *again = compute_fp(w, out);
	assert_same_hashes(out, again, f);
	tensorflow__fingerprint_def__free_unpacked(again, NULL);
	tfshrink_model_free(w);
}

static void test_write_policies(void **state)
{
	(void)state;
	char *dir = tu_fixture("keras2_mlp_adam");
	char *fpin = tu_join(dir, "fingerprint.pb");
	tfshrink_model *m = tu_open(dir, 0);
	Tensorflow__FingerprintDef *in = read_fp(dir);

	/* default: unchanged output, the input's file is still exact: kept */
	char *out = tu_tmp_path("keep");
	write_checked(m, out);
	char *fpout = tu_join(out, "fingerprint.pb");
	assert_true(tu_same_file(fpin, fpout));
	free(fpout);
	free(out);

	/* recompute: same hashes, a new uuid */
	m->fingerprint_policy = TFS_FP_RECOMPUTE;
	out = tu_tmp_path("recompute");
	write_checked(m, out);
	Tensorflow__FingerprintDef *f = read_fp(out);
	assert_same_hashes("recompute", f, in);
	assert_int_equal(f->version->producer, 4);
	assert_uuid(f->uuid);
	assert_string_not_equal(f->uuid, in->uuid);
	tensorflow__fingerprint_def__free_unpacked(f, NULL);
	free(out);

	/* drop */
	m->fingerprint_policy = TFS_FP_DROP;
	out = tu_tmp_path("drop");
	write_checked(m, out);
	fpout = tu_join(out, "fingerprint.pb");
	assert_false(tfs_path_exists(fpout));
	free(fpout);
	free(out);

	tensorflow__fingerprint_def__free_unpacked(in, NULL);
	tfshrink_model_free(m);
	free(fpin);
	free(dir);
}

/* A model without fingerprint.pb gets none (TF1 builders never wrote one). */
static void test_write_no_input_fingerprint(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("tf1_adam_builder", 0);
	m->fingerprint_policy = TFS_FP_RECOMPUTE;
	char *out = tu_tmp_path("tf1"), *fpout = tu_join(out, "fingerprint.pb");
	write_checked(m, out);
	assert_false(tfs_path_exists(fpout));
	free(fpout);
	free(out);
	tfshrink_model_free(m);
}

/* Removing a signature: under the default policy the fingerprint is now
 * recomputed (no longer dropped); the signature hash and the checksum move,
 * the program, object graph and checkpoint hashes do not. */
static void test_write_after_edit(void **state)
{
	(void)state;
	char *dir = tu_fixture("tfmodule_multi_sig");
	tfshrink_model *m = tu_open(dir, 0);
	Tensorflow__FingerprintDef *in = read_fp(dir);
	Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[0];
	size_t k = mg->n_signature_def;
	while (k > 0 && !strcmp(mg->signature_def[k - 1]->key, "__saved_model_init_op"))
		k--;
	assert_true(k > 0);
	k--;
	protobuf_c_message_free_unpacked(&mg->signature_def[k]->base, NULL);
	memmove(&mg->signature_def[k], &mg->signature_def[k + 1], (mg->n_signature_def - k - 1) * sizeof *mg->signature_def);
	mg->n_signature_def--;

	char *out = tu_tmp_path("edited");
	write_checked(m, out);
	Tensorflow__FingerprintDef *f = read_fp(out);
	assert_true(f->signature_def_hash != in->signature_def_hash);
	assert_true(f->saved_model_checksum != in->saved_model_checksum);
	assert_true(f->graph_def_program_hash == in->graph_def_program_hash);
	assert_true(f->saved_object_graph_hash == in->saved_object_graph_hash);
	assert_true(f->checkpoint_hash == in->checkpoint_hash);
	assert_int_equal(f->version->producer, 4);
	assert_uuid(f->uuid);
	assert_fp_matches_dir(out, f);
	tensorflow__fingerprint_def__free_unpacked(f, NULL);
	free(out);

	/* and removing a variable moves the checkpoint hash */
	assert_non_null(m->bundle);
	size_t victim = m->bundle->n;
	for (size_t i = 0; i < m->bundle->n; i++)
		if (strstr((const char *)m->bundle->e[i].key, "OPTIMIZER_SLOT")) {
			victim = i;
			break;
		}
	assert_true(victim < m->bundle->n);
	assert_int_equal(tfs_model_remove_entry(m, victim), 0);
	out = tu_tmp_path("edited2");
	write_checked(m, out);
	f = read_fp(out);
	assert_true(f->checkpoint_hash != in->checkpoint_hash);
	assert_fp_matches_dir(out, f);
	tensorflow__fingerprint_def__free_unpacked(f, NULL);
	free(out);

	tensorflow__fingerprint_def__free_unpacked(in, NULL);
	tfshrink_model_free(m);
	free(dir);
}

/* TensorFlow will not fingerprint a model whose concrete function name does
 * not end in an integer (its save fails); the writer then leaves the
 * fingerprint out and says why. The size forecast, which keeps the last
 * fingerprint outcome, follows each edit. */
static void test_name_without_uid(void **state)
{
	(void)state;
	tfshrink_model *m = tu_open_fixture("keras2_mlp_adam", 0);
	m->fingerprint_policy = TFS_FP_RECOMPUTE;
	uint64_t with_fp, size;
	assert_int_equal(tfs_model_projected_size(m, &with_fp), 0);
	Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	assert_true(og && og->n_concrete_functions > 0);
	char *old = og->concrete_functions[0]->key, *name = NULL;
	assert_true(asprintf(&name, "%s_x", old) > 0);
	og->concrete_functions[0]->key = name;

	uint8_t *pb, *fp = NULL;
	size_t pbn, fpn = 0;
	assert_int_equal(tfs_pb_pack(&m->sm->base, &pb, &pbn), 0);
	int rc = tfs_fingerprint_compute(m, pb, pbn, NULL, 0, &fp, &fpn);
	tu_assert_error(rc, TFSHRINK_EUNSUPPORTED, "does not end in an integer");
	assert_null(fp);
	free(pb);

	char *out = tu_tmp_path("nouid"), *fpout = tu_join(out, "fingerprint.pb");
	write_checked(m, out);
	assert_false(tfs_path_exists(fpout));
	assert_int_equal(tfs_model_projected_size(m, &size), 0);
	assert_true(size < with_fp);
	int noted = 0;
	for (size_t i = 0; i < m->n_notes; i++)
		noted |= strstr(m->notes[i], "fingerprint.pb dropped") != NULL;
	assert_true(noted);
	free(fpout);
	free(out);

	/* a sign and a numeric suffix with leading zeros still count as uids */
	free(name);
	assert_true(asprintf(&name, "fn_-0042") > 0);
	og->concrete_functions[0]->key = name;
	assert_int_equal(tfs_pb_pack(&m->sm->base, &pb, &pbn), 0);
	assert_int_equal(tfs_fingerprint_compute(m, pb, pbn, NULL, 0, &fp, &fpn), 0);
	free(fp);
	free(pb);

	og->concrete_functions[0]->key = old;
	free(name);
	assert_int_equal(tfs_model_projected_size(m, &size), 0);
	assert_true(size == with_fp);
	tfshrink_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_match_tensorflow),
		cmocka_unit_test(test_tf1_fixture_against_tensorflow),
		cmocka_unit_test(test_tf211_real_model),
		cmocka_unit_test(test_regularized_parts),
		cmocka_unit_test(test_map_order),
		TU_TMP_TEST(test_write_policies),
		TU_TMP_TEST(test_write_no_input_fingerprint),
		TU_TMP_TEST(test_write_after_edit),
		TU_TMP_TEST(test_name_without_uid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
