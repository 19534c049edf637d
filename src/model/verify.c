/* verify.c - checks a (possibly edited) model against what the TensorFlow
 * loaders rely on, before anything is written. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"
#include "model_internal.h"

static int fail(const tfshrink_model *m, const char *fmt, const char *a, const char *b)
{
	return tfs_err(TFSHRINK_EVERIFY, m->dir, -1, fmt, a, b);
}

Tensorflow__FunctionDef *tfs_model_function(const tfshrink_model *m, const char *name)
{
	const Tensorflow__GraphDef *g = m->sm->meta_graphs[0]->graph_def;
	if (!g || !g->library)
		return NULL;
	for (size_t i = 0; i < g->library->n_function; i++) {
		Tensorflow__FunctionDef *f = g->library->function[i];
		if (f->signature && !strcmp(f->signature->name, name))
			return f;
	}
	return NULL;
}

static int has_function(const Tensorflow__GraphDef *g, const char *name)
{
	if (!g || !g->library)
		return 0;
	for (size_t i = 0; i < g->library->n_function; i++)
		if (g->library->function[i]->signature && !strcmp(g->library->function[i]->signature->name, name))
			return 1;
	return 0;
}

static int check_attr_funcs(const tfshrink_model *m, const Tensorflow__GraphDef *g, Tensorflow__NodeDef **nodes,
                            size_t n, const char *where)
{
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__NodeDef *nd = nodes[i];
		for (size_t a = 0; a < nd->n_attr; a++) {
			const Tensorflow__AttrValue *v = nd->attr[a]->value;
			if (!v)
				continue;
			if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && v->func && !has_function(g, v->func->name))
				return fail(m, "node '%s' calls function '%s', which is not in the library", nd->name,
				            v->func->name);
			if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && v->list)
				for (size_t k = 0; k < v->list->n_func; k++)
					if (!has_function(g, v->list->func[k]->name))
						return fail(m, "node '%s' refers to function '%s', which is not in the library",
						            nd->name, v->list->func[k]->name);
		}
	}
	(void)where;
	return 0;
}

static int check_object_graph(const tfshrink_model *m, const Tensorflow__MetaGraphDef *mg)
{
	const Tensorflow__SavedObjectGraph *og = mg->object_graph_def;
	if (!og)
		return 0;
	size_t n = og->n_nodes;
	char num[32];
#define ID_OK(id) ((id) >= 0 && (size_t)(id) < n)
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__SavedObject *o = og->nodes[i];
		snprintf(num, sizeof num, "%zu", i);
		for (size_t k = 0; k < o->n_children; k++)
			if (!ID_OK(o->children[k]->node_id))
				return fail(m, "object %s has a child '%s' outside the object graph", num, o->children[k]->local_name);
		for (size_t k = 0; k < o->n_dependencies; k++)
			if (!ID_OK(o->dependencies[k]->node_id))
				return fail(m, "object %s has a dependency '%s' outside the object graph", num,
				            o->dependencies[k]->local_name);
		for (size_t k = 0; k < o->n_slot_variables; k++)
			if (!ID_OK(o->slot_variables[k]->original_variable_node_id) ||
			    !ID_OK(o->slot_variables[k]->slot_variable_node_id))
				return fail(m, "object %s has a slot variable '%s' outside the object graph", num,
				            o->slot_variables[k]->slot_name);
		for (size_t k = 0; k < o->n_saveable_objects; k++) {
			const Tensorflow__SaveableObject *s = o->saveable_objects[k]->value;
			if (s && ((s->save_function && !ID_OK(s->save_function)) || (s->restore_function && !ID_OK(s->restore_function))))
				return fail(m, "object %s: saveable '%s' names a function object outside the graph", num,
				            o->saveable_objects[k]->key);
		}
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION)
			for (size_t k = 0; k < o->function->n_concrete_functions; k++)
				if (!has_function(mg->graph_def, o->function->concrete_functions[k]))
					return fail(m, "function object %s lists '%s', which is not in the library", num,
					            o->function->concrete_functions[k]);
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION &&
		    !has_function(mg->graph_def, o->bare_concrete_function->concrete_function_name))
			return fail(m, "object %s is function '%s', which is not in the library", num,
			            o->bare_concrete_function->concrete_function_name);
		if (o->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_ASSET &&
		    (o->asset->asset_file_def_index < 0 || (size_t)o->asset->asset_file_def_index >= mg->n_asset_file_def))
			return fail(m, "asset object %s points past the %s asset file entries", num, "listed");
	}
	for (size_t i = 0; i < og->n_concrete_functions; i++) {
		const char *name = og->concrete_functions[i]->key;
		const Tensorflow__SavedConcreteFunction *cf = og->concrete_functions[i]->value;
		/* in this meta graph's own library (a later meta graph has its own) */
		const Tensorflow__FunctionDef *fd = NULL;
		for (size_t f = 0; mg->graph_def && mg->graph_def->library && !fd && f < mg->graph_def->library->n_function; f++)
			if (mg->graph_def->library->function[f]->signature &&
			    !strcmp(mg->graph_def->library->function[f]->signature->name, name))
				fd = mg->graph_def->library->function[f];
		if (!fd)
			return fail(m, "concrete function '%s' is not in the library%s", name, "");
		for (size_t k = 0; cf && k < cf->n_bound_inputs; k++)
			if (!ID_OK(cf->bound_inputs[k]))
				return fail(m, "concrete function '%s' captures an object outside the graph%s", name, "");
		if (cf && fd->signature && cf->n_bound_inputs > fd->signature->n_input_arg)
			return fail(m, "concrete function '%s' captures more objects than it has inputs%s", name, "");
	}
#undef ID_OK
	return 0;
}

/* Every key the graph's RestoreV2 nodes read exists in the bundle with that dtype. */
static int check_restore_nodes(tfshrink_model *m, Tensorflow__NodeDef **nodes, size_t n, const char *where)
{
	for (size_t i = 0; i < n; i++) {
		const Tensorflow__NodeDef *nd = nodes[i];
		if (strcmp(nd->op, "RestoreV2") || nd->n_input < 2)
			continue;
		/* tensor_names is a Const in the same scope. */
		char name[512];
		const char *in = nd->input[1];
		size_t l = strcspn(in, ":");
		if (l >= sizeof name)
			continue;
		memcpy(name, in, l);
		name[l] = '\0';
		const Tensorflow__TensorProto *names = NULL;
		for (size_t k = 0; k < n && !names; k++)
			if (!strcmp(nodes[k]->name, name) && !strcmp(nodes[k]->op, "Const"))
				for (size_t a = 0; a < nodes[k]->n_attr; a++)
					if (!strcmp(nodes[k]->attr[a]->key, "value") && nodes[k]->attr[a]->value)
						names = nodes[k]->attr[a]->value->tensor;
		const Tensorflow__AttrValue__ListValue *dtypes = NULL;
		for (size_t a = 0; a < nd->n_attr; a++)
			if (!strcmp(nd->attr[a]->key, "dtypes") && nd->attr[a]->value)
				dtypes = nd->attr[a]->value->list;
		if (!names || !dtypes)
			continue;
		if (names->n_string_val != dtypes->n_type)
			return fail(m, "%s: restore node '%s' lists a different number of keys and dtypes", where, nd->name);
		for (size_t k = 0; k < names->n_string_val; k++) {
			const ProtobufCBinaryData *key = &names->string_val[k];
			if (!m->bundle)
				return fail(m, "%s: the graph restores variables but the model has none (%s)", where, nd->name);
			const tfs_bundle_entry *e = tfs_bundle_find(m->bundle, key->data, key->len);
			if (!e || tfs_model_entry_removed(m, (size_t)(e - m->bundle->e))) {
				char k2[256];
				snprintf(k2, sizeof k2, "%.*s", (int)(key->len < 200 ? key->len : 200), (const char *)key->data);
				return fail(m, "%s restores '%s', which is not in the variables", where, k2);
			}
			const tfs_entry_edit *ed = m->edits ? &m->edits[e - m->bundle->e] : NULL;
			int dt = (int)((ed && ed->entry) ? ed->entry->dtype : e->proto->dtype);
			if (dt != (int)dtypes->type[k])
				return fail(m, "%s restores '%s' with a dtype the variables do not have", where, (const char *)e->key);
		}
	}
	return 0;
}

static int check_ckpt_graph(tfshrink_model *m)
{
	const Tensorflow__TrackableObjectGraph *g = m->ckpt_graph;
	if (!g)
		return 0;
	for (size_t i = 0; i < g->n_nodes; i++) {
		const Tensorflow__TrackableObjectGraph__TrackableObject *o = g->nodes[i];
		for (size_t k = 0; k < o->n_children; k++)
			if (o->children[k]->node_id < 0 || (size_t)o->children[k]->node_id >= g->n_nodes)
				return fail(m, "checkpoint object graph: child '%s' points outside the graph%s",
				            o->children[k]->local_name, "");
		for (size_t k = 0; k < o->n_attributes; k++) {
			const char *key = o->attributes[k]->checkpoint_key;
			const tfs_bundle_entry *e = m->bundle ? tfs_bundle_find(m->bundle, key, strlen(key)) : NULL;
			if (!e || tfs_model_entry_removed(m, (size_t)(e - m->bundle->e)))
				return fail(m, "checkpoint object graph names '%s', which is not in the variables%s", key, "");
		}
	}
	return 0;
}

static int check_assets(tfshrink_model *m, const Tensorflow__MetaGraphDef *mg)
{
	for (size_t i = 0; i < mg->n_asset_file_def; i++) {
		const char *f = mg->asset_file_def[i]->filename;
		char rel[4096];
		snprintf(rel, sizeof rel, "assets/%s", f);
		/* An asset may name a file or a directory of files (TF2 allows both). */
		size_t rl = strlen(rel);
		int found = 0;
		for (size_t k = 0; k < m->n_files && !found; k++) {
			const char *f2 = m->files[k].rel;
			found = (!strcmp(f2, rel) || (!strncmp(f2, rel, rl) && f2[rl] == '/')) && !tfs_model_file_removed(m, k);
		}
		if (!found)
			return fail(m, "asset '%s' is listed but %s is missing", f, rel);
	}
	return 0;
}

int tfs_model_verify(tfshrink_model *m)
{
	for (size_t g = 0; g < m->sm->n_meta_graphs; g++) {
		const Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[g];
		const Tensorflow__GraphDef *gd = mg->graph_def;
		if (gd) {
			TFS_TRY(check_attr_funcs(m, gd, gd->node, gd->n_node, "graph"));
			TFS_TRY(check_restore_nodes(m, gd->node, gd->n_node, "the graph"));
			for (size_t f = 0; gd->library && f < gd->library->n_function; f++) {
				Tensorflow__FunctionDef *fd = gd->library->function[f];
				TFS_TRY(check_attr_funcs(m, gd, fd->node_def, fd->n_node_def, fd->signature ? fd->signature->name : ""));
				TFS_TRY(check_restore_nodes(m, fd->node_def, fd->n_node_def,
				                            fd->signature ? fd->signature->name : "a function"));
			}
		}
		TFS_TRY(check_object_graph(m, mg));
		TFS_TRY(check_assets(m, mg));
		for (size_t s = 0; s < mg->n_signature_def; s++)
			if (!strcmp(mg->signature_def[s]->key, "__saved_model_init_op")) {
				const Tensorflow__SignatureDef *sd = mg->signature_def[s]->value;
				int ok = 0;
				for (size_t k = 0; sd && k < sd->n_outputs; k++)
					ok |= !strcmp(sd->outputs[k]->key, "__saved_model_init_op");
				if (!ok)
					return fail(m, "signature '%s' has no '%s' output", "__saved_model_init_op",
					            "__saved_model_init_op");
			}
	}
	return check_ckpt_graph(m);
}
