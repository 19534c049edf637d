/*
 * fuzz_saved_model_pb.c - saved_model.pb: tfs_pb_unpack of a SavedModel,
 * then, in memory, everything the model layer does with a program-only model
 * (no variables/): the open-time checks (tfs_model_check, as
 * tfshrink_model_open runs them), tfs_model_verify, tfshrink_model_inspect, the projected
 * size, and tfshrink_model_shrink with options taken from the input's length.
 *
 * Invariants: a parsed message serializes, parses again, and serializes to
 * the same bytes (rewrite is idempotent); a shrunk model serializes too.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model_internal.h"
#include "pbio.h"

#define PB_PATH "fuzz-model/saved_model.pb"

static void check_round_trip(const Tensorflow__SavedModel *sm)
{
	uint8_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	FUZZ_ASSERT(tfs_pb_pack(&sm->base, &a, &na) == 0);
	ProtobufCMessage *back = NULL;
	FUZZ_ASSERT(tfs_pb_unpack(&tensorflow__saved_model__descriptor, a, na, "packed", &back) == 0);
	FUZZ_ASSERT(tfs_pb_pack(back, &b, &nb) == 0);
	FUZZ_ASSERT(na == nb && (na == 0 || memcmp(a, b, na) == 0));
	protobuf_c_message_free_unpacked(back, NULL);
	free(a);
	free(b);
}

/* The model tfshrink_model_open builds for a directory holding only this saved_model.pb. */
static tfshrink_model *model_from(Tensorflow__SavedModel *sm, size_t size)
{
	tfshrink_model *m = calloc(1, sizeof *m);
	FUZZ_ASSERT(m);
	m->dir = strdup("fuzz-model");
	m->pb_path = strdup(PB_PATH);
	m->files = calloc(1, sizeof *m->files);
	FUZZ_ASSERT(m->dir && m->pb_path && m->files);
	m->files[0].rel = strdup("saved_model.pb");
	FUZZ_ASSERT(m->files[0].rel);
	m->files[0].size = size;
	m->n_files = 1;
	m->pb_bytes = size;
	m->sm = sm;
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Tensorflow__SavedModel *sm = NULL;
	if (fuzz_note("unpack", tfs_pb_unpack(&tensorflow__saved_model__descriptor, data, size, PB_PATH,
	                                      (ProtobufCMessage **)&sm)) < 0)
		return 0;
	check_round_trip(sm);
	if (sm->n_meta_graphs == 0) { /* tfshrink_model_open refuses it */
		tensorflow__saved_model__free_unpacked(sm, NULL);
		return 0;
	}
	tfshrink_model *m = model_from(sm, size);
	/* tfshrink_model_open refuses what the open-time checks reject, and the
	 * passes rely on what they establish (object ids in range...). */
	if (fuzz_note("check", tfs_model_check(m)) < 0) {
		tfshrink_model_free(m);
		return 0;
	}
	(void)fuzz_note("verify", tfs_model_verify(m));
	tfshrink_report *r = NULL;
	if (tfshrink_model_inspect(m, &r) == 0) {
		uint64_t sum = 0;
		for (size_t i = 0; i < r->n_parts; i++)
			sum += r->parts[i].bytes;
		FUZZ_ASSERT(r->total_bytes == size && sum == size); /* the parts partition the directory */
		tfshrink_report_free(r);
	}
	uint64_t projected;
	(void)tfs_model_projected_size(m, &projected);
	tfshrink_shrink_options so = TFSHRINK_SHRINK_OPTIONS_INIT;
	so.keep_objects = size & 1;
	so.strip_shapes = (size >> 1) & 1;
	tfshrink_shrink_report *sr = NULL;
	if (fuzz_note("shrink", tfshrink_model_shrink(m, &so, &sr)) == 0) {
		uint8_t *out = NULL;
		size_t n = 0;
		FUZZ_ASSERT(tfs_pb_pack(&m->sm->base, &out, &n) == 0);
		free(out);
		tfshrink_shrink_report_free(sr);
	}
	tfshrink_model_free(m);
	return 0;
}
