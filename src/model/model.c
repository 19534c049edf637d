#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "dtype.h"
#include "error.h"
#include "tfs_limits.h"
#include "model_internal.h"
#include "pbio.h"
#include "pbtext.h"

int tfs_model_is_core_file(const tfshrink_model *m, const char *rel)
{
	if (!strcmp(rel, "saved_model.pb") || !strcmp(rel, "saved_model.pbtxt"))
		return 1;
	if (!m->bundle)
		return 0;
	if (!strcmp(rel, "variables/variables.index"))
		return 1;
	if (strncmp(rel, "variables/variables.data-", 25))
		return 0;
	char want[64];
	for (int i = 0; i < m->bundle->num_shards; i++) {
		snprintf(want, sizeof want, "variables/variables.data-%05d-of-%05d", i, m->bundle->num_shards);
		if (!strcmp(rel, want))
			return 1;
	}
	return 0;
}

/* Parses the checkpoint's object graph: a scalar string tensor holding a
 * serialized TrackableObjectGraph. */
static int load_ckpt_graph(tfshrink_model *m)
{
	const tfs_bundle_entry *e = tfs_bundle_find(m->bundle, TFS_OBJECT_GRAPH_KEY, strlen(TFS_OBJECT_GRAPH_KEY));
	if (!e)
		return 0;
	const Tensorflow__BundleEntryProto *p = e->proto;
	if ((int)p->dtype != TFS_DT_STRING || e->elements != 1 || (p->shape && p->shape->n_dim != 0))
		return tfs_err(TFSHRINK_ECORRUPT, m->bundle->index_path, (int64_t)e->index_offset,
		               "%s must be a scalar string tensor (found %s with %" PRId64 " elements)",
		               TFS_OBJECT_GRAPH_KEY, tfs_dtype_name((int)p->dtype), e->elements);
	TFS_TRY(tfs_bundle_verify(m->bundle, e));
	const uint8_t *d;
	uint64_t n;
	TFS_TRY(tfs_bundle_data(m->bundle, e, &d, &n));
	const char *path = m->bundle->shards[p->shard_id].path;
	tfs_cursor c;
	tfs_cur_init(&c, d, (size_t)n, (uint64_t)p->offset, path);
	uint64_t len;
	uint32_t lcrc;
	const uint8_t *s;
	TFS_TRY(tfs_cur_varint64(&c, &len, "object graph length"));
	TFS_TRY(tfs_cur_u32le(&c, &lcrc, "object graph length checksum"));
	TFS_TRY(tfs_cur_take(&c, len, &s, "object graph"));
	int rc = tfs_pb_unpack(&tensorflow__trackable_object_graph__descriptor, s, (size_t)len, path,
	                       (ProtobufCMessage **)&m->ckpt_graph);
	if (rc < 0) {
		tfs_err_context("%s", TFS_OBJECT_GRAPH_KEY);
		return rc;
	}
	/* Node references must stay inside the graph. */
	const Tensorflow__TrackableObjectGraph *g = m->ckpt_graph;
	for (size_t i = 0; i < g->n_nodes; i++) {
		const Tensorflow__TrackableObjectGraph__TrackableObject *o = g->nodes[i];
		for (size_t k = 0; k < o->n_children; k++)
			if (o->children[k]->node_id < 0 || (size_t)o->children[k]->node_id >= g->n_nodes)
				return tfs_err(TFSHRINK_ECORRUPT, path, p->offset,
				               "%s: node %zu has child id %d, outside the %zu nodes", TFS_OBJECT_GRAPH_KEY, i,
				               o->children[k]->node_id, g->n_nodes);
		for (size_t k = 0; k < o->n_slot_variables; k++) {
			const Tensorflow__TrackableObjectGraph__TrackableObject__SlotVariableReference *r =
				o->slot_variables[k];
			if (r->original_variable_node_id < 0 || (size_t)r->original_variable_node_id >= g->n_nodes ||
			    r->slot_variable_node_id < 0 || (size_t)r->slot_variable_node_id >= g->n_nodes)
				return tfs_err(TFSHRINK_ECORRUPT, path, p->offset,
				               "%s: node %zu has a slot variable reference outside the %zu nodes",
				               TFS_OBJECT_GRAPH_KEY, i, g->n_nodes);
		}
	}
	return 0;
}

static int load_pb(tfshrink_model *m)
{
	char *pb = tfs_path_join(m->dir, "saved_model.pb");
	if (!pb)
		return TFSHRINK_ENOMEM;
	if (!tfs_path_exists(pb)) {
		free(pb);
		pb = tfs_path_join(m->dir, "saved_model.pbtxt");
		if (!pb)
			return TFSHRINK_ENOMEM;
		if (!tfs_path_exists(pb)) {
			int rc = tfs_err(TFSHRINK_ENOTFOUND, m->dir, -1,
			                 "not a SavedModel: no saved_model.pb or saved_model.pbtxt");
			free(pb);
			return rc;
		}
		m->pb_is_text = 1;
	}
	m->pb_path = pb;
	tfs_map map;
	TFS_TRY(tfs_map_open(&map, pb, TFS_MAX_PB_BYTES));
	m->pb_bytes = map.size;
	int rc;
	if (m->pb_is_text)
		rc = tfs_pbtext_parse(&tensorflow__saved_model__descriptor, map.data, (size_t)map.size, pb,
		                      (ProtobufCMessage **)&m->sm);
	else
		rc = tfs_pb_unpack(&tensorflow__saved_model__descriptor, map.data, (size_t)map.size, pb,
		                   (ProtobufCMessage **)&m->sm);
	tfs_map_close(&map);
	if (rc < 0)
		return rc;
	if (m->sm->n_meta_graphs == 0)
		return tfs_err(TFSHRINK_ECORRUPT, pb, -1, "the SavedModel holds no meta graph");
	return 0;
}

int tfshrink_model_open(tfshrink_model **out, const char *dir, const tfshrink_open_options *opts)
{
	tfs_err_clear();
	if (!out || !dir)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "tfshrink_model_open: NULL argument");
	*out = NULL;
	if (!tfs_is_dir(dir))
		return tfs_err(tfs_path_exists(dir) ? TFSHRINK_EINVAL : TFSHRINK_ENOTFOUND, dir, -1,
		               tfs_path_exists(dir) ? "not a directory" : "no such directory");
	tfshrink_model *m = calloc(1, sizeof *m);
	if (!m)
		return tfs_nomem();
	int rc = 0;
	m->dir = strdup(dir);
	if (!m->dir) {
		rc = tfs_nomem();
		goto fail;
	}
	if ((rc = tfs_walk_files(dir, &m->files, &m->n_files)) < 0)
		goto fail;
	if ((rc = load_pb(m)) < 0)
		goto fail;
	char *vdir = tfs_path_join(dir, "variables");
	char *prefix = tfs_path_join(dir, "variables/variables");
	char *index = tfs_path_join(dir, "variables/variables.index");
	if (!vdir || !prefix || !index) {
		free(vdir);
		free(prefix);
		free(index);
		rc = TFSHRINK_ENOMEM;
		goto fail;
	}
	m->has_variables_dir = tfs_is_dir(vdir);
	if (tfs_path_exists(index))
		rc = tfs_bundle_open(prefix, &m->bundle);
	free(vdir);
	free(prefix);
	free(index);
	if (rc < 0)
		goto fail;
	if (m->bundle && (rc = load_ckpt_graph(m)) < 0)
		goto fail;
	if ((rc = tfs_model_check(m)) < 0)
		goto fail;
	if (m->bundle) {
		if (opts && opts->verify_crc)
			for (size_t i = 0; i < m->bundle->n; i++)
				if ((rc = tfs_bundle_verify(m->bundle, &m->bundle->e[i])) < 0)
					goto fail;
	}
	*out = m;
	return 0;
fail:
	tfshrink_model_free(m);
	return rc;
}

void tfshrink_model_free(tfshrink_model *m)
{
	if (!m)
		return;
	if (m->sm)
		tensorflow__saved_model__free_unpacked(m->sm, NULL);
	if (m->ckpt_graph)
		tensorflow__trackable_object_graph__free_unpacked(m->ckpt_graph, NULL);
	tfs_model_free_edits(m);
	tfs_bundle_free(m->bundle);
	tfs_walk_free(m->files, m->n_files);
	free(m->pb_path);
	free(m->dir);
	free(m);
}
