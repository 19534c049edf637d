/*
 * fuzz_pbtext.c - saved_model.pbtxt: tfs_pbtext_parse of a SavedModel in
 * protobuf text format. A message that parses must serialize with
 * tfs_pb_pack and unpack again.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "pbio.h"
#include "pbtext.h"
#include "tensorflow.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *m = NULL;
	if (tfs_pbtext_parse(&tensorflow__saved_model__descriptor, data, size, "saved_model.pbtxt", &m) < 0)
		return 0;
	uint8_t *bin = NULL;
	size_t n = 0;
	/* rewrite writes what it parsed as saved_model.pb: that must load again. */
	FUZZ_ASSERT(tfs_pb_pack(m, &bin, &n) == 0);
	ProtobufCMessage *back = NULL;
	FUZZ_ASSERT(tfs_pb_unpack(&tensorflow__saved_model__descriptor, bin, n, "packed", &back) == 0);
	protobuf_c_message_free_unpacked(back, NULL);
	free(bin);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
