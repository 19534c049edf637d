/*
 * fuzz_object_graph.c - the two object graphs of a TF2 SavedModel: the
 * SavedObjectGraph in saved_model.pb and the checkpoint's
 * TrackableObjectGraph (the _CHECKPOINTABLE_OBJECT_GRAPH string tensor).
 *
 * Input: u8 flags | u32 LE length L | L bytes SavedObjectGraph | the rest:
 * TrackableObjectGraph. Both replace the ones of the keras2_mlp_adam fixture
 * (graph, functions and the other variables stay), as bytes: the
 * SavedObjectGraph is spliced into the first MetaGraphDef's wire encoding,
 * the TrackableObjectGraph is appended to the data shard as a scalar string
 * tensor with the index entry pointing at it. The model is then opened from
 * disk (every check tfshrink_model_open makes) and tfs_objgraph_ckpt_map,
 * tfs_model_verify, tfshrink_model_inspect and tfshrink_model_shrink (which
 * removes objects and renumbers both graphs) run on it in memory.
 */
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "buf.h"
#include "fuzz.h"
#include "graph.h"
#include "model_internal.h"
#include "pbio.h"
#include "table.h"

static struct {
	char *dir, *pb, *index, *shard;
	uint8_t *sm_prefix;        /* the SavedModel without meta graphs */
	size_t sm_prefix_len;
	uint8_t *mg;               /* first MetaGraphDef without object_graph_def */
	size_t mg_len;
	uint8_t *index_bytes;      /* the fixture's index (kv points into it) */
	tfs_table *table;
	uint8_t *data;             /* the fixture's data shard */
	size_t data_len;
	Tensorflow__BundleEntryProto *og_entry;
} fx;

static void init(void)
{
	char *src = fuzz_fixture("keras2_mlp_adam");
	size_t l = strlen(src) + 64;
	char *p = malloc(l);
	FUZZ_ASSERT(p);

	snprintf(p, l, "%s/saved_model.pb", src);
	size_t n;
	uint8_t *pb = fuzz_read_file(p, &n);
	Tensorflow__SavedModel *sm = NULL;
	FUZZ_ASSERT(tfs_pb_unpack(&tensorflow__saved_model__descriptor, pb, n, p, (ProtobufCMessage **)&sm) == 0);
	free(pb);
	FUZZ_ASSERT(sm->n_meta_graphs == 1);
	Tensorflow__MetaGraphDef *mg = sm->meta_graphs[0];
	Tensorflow__SavedObjectGraph *og = mg->object_graph_def;
	mg->object_graph_def = NULL;
	FUZZ_ASSERT(tfs_pb_pack(&mg->base, &fx.mg, &fx.mg_len) == 0);
	mg->object_graph_def = og;
	sm->n_meta_graphs = 0;
	FUZZ_ASSERT(tfs_pb_pack(&sm->base, &fx.sm_prefix, &fx.sm_prefix_len) == 0);
	sm->n_meta_graphs = 1;
	tensorflow__saved_model__free_unpacked(sm, NULL);

	snprintf(p, l, "%s/variables/variables.index", src);
	fx.index_bytes = fuzz_read_file(p, &n);
	FUZZ_ASSERT(tfs_table_read(fx.index_bytes, n, p, &fx.table) == 0);
	for (size_t i = 0; i < fx.table->n; i++) {
		const tfs_table_kv *kv = &fx.table->kv[i];
		if (kv->key_len == strlen(TFS_OBJECT_GRAPH_KEY) && !memcmp(kv->key, TFS_OBJECT_GRAPH_KEY, kv->key_len))
			FUZZ_ASSERT(tfs_pb_unpack(&tensorflow__bundle_entry_proto__descriptor, kv->val, kv->val_len, p,
			                          (ProtobufCMessage **)&fx.og_entry) == 0);
	}
	FUZZ_ASSERT(fx.og_entry);
	snprintf(p, l, "%s/variables/variables.data-00000-of-00001", src);
	fx.data = fuzz_read_file(p, &fx.data_len);
	free(p);
	free(src);

	fx.dir = fuzz_path("model");
	fx.pb = fuzz_path("model/saved_model.pb");
	fx.index = fuzz_path("model/variables/variables.index");
	fx.shard = fuzz_path("model/variables/variables.data-00000-of-00001");
	FUZZ_ASSERT(tfs_mkdirs_for(fuzz_tmpdir(), "model/variables/x") == 0);
}

static void put_varint(tfs_buf *b, uint64_t v)
{
	FUZZ_ASSERT(tfs_buf_put_varint(b, v) == 0);
}

static void write_saved_model(const uint8_t *og, size_t og_len)
{
	tfs_buf b = { 0 };
	FUZZ_ASSERT(tfs_buf_append(&b, fx.sm_prefix, fx.sm_prefix_len) == 0);
	tfs_buf tail = { 0 }; /* MetaGraphDef.object_graph_def = field 7, length-delimited */
	put_varint(&tail, (7 << 3) | 2);
	put_varint(&tail, og_len);
	FUZZ_ASSERT(tfs_buf_append(&tail, og, og_len) == 0);
	put_varint(&b, (2 << 3) | 2); /* SavedModel.meta_graphs */
	put_varint(&b, fx.mg_len + tail.len);
	FUZZ_ASSERT(tfs_buf_append(&b, fx.mg, fx.mg_len) == 0);
	FUZZ_ASSERT(tfs_buf_append(&b, tail.data, tail.len) == 0);
	fuzz_write_file(fx.pb, b.data, b.len);
	tfs_buf_free(&b);
	tfs_buf_free(&tail);
}

static void write_bundle(const uint8_t *cg, size_t cg_len)
{
	const uint8_t *strs[1] = { cg };
	uint64_t lens[1] = { cg_len };
	uint8_t *enc;
	uint64_t enc_len;
	uint32_t crc;
	FUZZ_ASSERT(tfs_bundle_encode_strings(strs, lens, 1, &enc, &enc_len, &crc) == 0);
	uint8_t *shard = malloc(fx.data_len + enc_len);
	FUZZ_ASSERT(shard);
	memcpy(shard, fx.data, fx.data_len);
	memcpy(shard + fx.data_len, enc, enc_len);
	fuzz_write_file(fx.shard, shard, fx.data_len + enc_len);
	free(shard);
	free(enc);

	Tensorflow__BundleEntryProto e = *fx.og_entry;
	e.shard_id = 0;
	e.offset = (int64_t)fx.data_len;
	e.size = (int64_t)enc_len;
	e.crc32c = crc;
	uint8_t *packed;
	size_t packed_len;
	FUZZ_ASSERT(tfs_pb_pack(&e.base, &packed, &packed_len) == 0);
	tfs_table_writer w;
	tfs_table_writer_init(&w);
	for (size_t i = 0; i < fx.table->n; i++) {
		const tfs_table_kv *kv = &fx.table->kv[i];
		int og = kv->key_len == strlen(TFS_OBJECT_GRAPH_KEY) && !memcmp(kv->key, TFS_OBJECT_GRAPH_KEY, kv->key_len);
		FUZZ_ASSERT(tfs_table_writer_add(&w, kv->key, kv->key_len, og ? packed : kv->val,
		                                 og ? packed_len : kv->val_len) == 0);
	}
	FUZZ_ASSERT(tfs_table_writer_finish(&w) == 0);
	fuzz_write_file(fx.index, w.out.data, w.out.len);
	tfs_table_writer_free(&w);
	free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fx.dir)
		init();
	uint8_t flags = fuzz_take_u8(&data, &size);
	uint32_t l = fuzz_take_u32(&data, &size);
	if (l > size)
		l = (uint32_t)size;
	write_saved_model(data, l);
	write_bundle(data + l, size - l);

	tfshrink_model *m = NULL;
	tfshrink_open_options oo = TFSHRINK_OPEN_OPTIONS_INIT;
	if (fuzz_note("open", tfshrink_model_open(&m, fx.dir, &oo)) < 0)
		return 0;
	const Tensorflow__SavedObjectGraph *og = m->sm->meta_graphs[0]->object_graph_def;
	size_t n = og ? og->n_nodes : 0;
	int32_t *map = malloc((n ? n : 1) * sizeof *map);
	FUZZ_ASSERT(map);
	if (tfs_objgraph_ckpt_map(m, map) == 0)
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(map[i] == -1 || (map[i] >= 0 && m->ckpt_graph && (size_t)map[i] < m->ckpt_graph->n_nodes));
	free(map);
	(void)fuzz_note("verify", tfs_model_verify(m));
	tfshrink_report *r = NULL;
	if (tfshrink_model_inspect(m, &r) == 0)
		tfshrink_report_free(r);
	tfshrink_shrink_options so = TFSHRINK_SHRINK_OPTIONS_INIT;
	so.keep_objects = flags & 1;
	so.strip_shapes = (flags >> 1) & 1;
	tfshrink_shrink_report *sr = NULL;
	if (fuzz_note("shrink", tfshrink_model_shrink(m, &so, &sr)) == 0) {
		/* What would be written: the graph, and the re-encoded checkpoint graph. */
		uint8_t *out = NULL;
		size_t on = 0;
		FUZZ_ASSERT(tfs_pb_pack(&m->sm->base, &out, &on) == 0);
		free(out);
		uint64_t projected;
		FUZZ_ASSERT(tfs_model_projected_size(m, &projected) == 0);
		tfshrink_shrink_report_free(sr);
	}
	tfshrink_model_free(m);
	return 0;
}
