/* pass_debug_info.c - drops debug information: debug/saved_model_debug_info.pb
 * (stack traces of every op), GraphDef.debug_info and the per-node
 * experimental_debug_info. Loaders read them only if present. */
#include <stdio.h>

#include "pass.h"

static uint64_t strip_nodes(Tensorflow__NodeDef **nodes, size_t n)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (nodes[i]->experimental_debug_info) {
			protobuf_c_message_free_unpacked(&nodes[i]->experimental_debug_info->base, NULL);
			nodes[i]->experimental_debug_info = NULL;
			k++;
		}
	return k;
}

static int run(tfshrink_model *m, tfs_pass_ctx *ctx)
{
	uint64_t nodes = 0, graphs = 0;
	size_t files = tfs_model_remove_files(m, "debug/");
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		Tensorflow__GraphDef *gd = m->sm->meta_graphs[g]->graph_def;
		if (!gd)
			continue;
		if (gd->debug_info) {
			tensorflow__graph_debug_info__free_unpacked(gd->debug_info, NULL);
			gd->debug_info = NULL;
			graphs++;
		}
		nodes += strip_nodes(gd->node, gd->n_node);
		for (size_t f = 0; gd->library && f < gd->library->n_function; f++)
			nodes += strip_nodes(gd->library->function[f]->node_def, gd->library->function[f]->n_node_def);
	}
	ctx->items = files + graphs + nodes;
	snprintf(ctx->summary, sizeof ctx->summary, "%zu debug file(s), %llu graph debug info, %llu node debug records",
	         files, (unsigned long long)graphs, (unsigned long long)nodes);
	return 0;
}

TFS_PASS_DEFINE(debug_info, "debug-info", 60, "drop debug info (debug/ stack traces, node debug records)", run);
