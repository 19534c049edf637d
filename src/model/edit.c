/* edit.c - edits passes make to an open model; the writer applies them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model_internal.h"

static int ensure_edits(tfshrink_model *m)
{
	if (m->edits || !m->bundle)
		return 0;
	m->edits = calloc(m->bundle->n ? m->bundle->n : 1, sizeof *m->edits);
	return m->edits ? 0 : tfs_nomem();
}

int tfs_model_remove_entry(tfshrink_model *m, size_t i)
{
	TFS_TRY(ensure_edits(m));
	m->edits[i].removed = 1;
	return 0;
}

int tfs_model_remove_key(tfshrink_model *m, const char *key)
{
	if (!m->bundle)
		return 0;
	const tfs_bundle_entry *e = tfs_bundle_find(m->bundle, key, strlen(key));
	if (!e)
		return 0;
	TFS_TRY(tfs_model_remove_entry(m, (size_t)(e - m->bundle->e)));
	return 1;
}

int tfs_model_replace_entry(tfshrink_model *m, size_t i, uint8_t *data, uint64_t len,
                            Tensorflow__BundleEntryProto *entry)
{
	int rc = ensure_edits(m);
	if (rc < 0) {
		free(data);
		if (entry)
			tensorflow__bundle_entry_proto__free_unpacked(entry, NULL);
		return rc;
	}
	tfs_entry_edit *ed = &m->edits[i];
	free(ed->data);
	if (ed->entry)
		tensorflow__bundle_entry_proto__free_unpacked(ed->entry, NULL);
	ed->data = data;
	ed->data_len = len;
	ed->entry = entry;
	return 0;
}

int tfs_model_entry_removed(const tfshrink_model *m, size_t i)
{
	return m->edits && m->edits[i].removed;
}

int tfs_model_share_entry(tfshrink_model *m, size_t j, size_t i)
{
	TFS_TRY(ensure_edits(m));
	m->edits[j].share_with = i + 1;
	return 0;
}

size_t tfs_model_remove_files(tfshrink_model *m, const char *rel)
{
	if (!m->file_removed) {
		m->file_removed = calloc(m->n_files ? m->n_files : 1, 1);
		if (!m->file_removed)
			return 0;
	}
	size_t n = 0, l = strlen(rel);
	int dir = l > 0 && rel[l - 1] == '/';
	for (size_t i = 0; i < m->n_files; i++) {
		const char *f = m->files[i].rel;
		if (dir ? !strncmp(f, rel, l) : !strcmp(f, rel)) {
			if (!m->file_removed[i])
				n++;
			m->file_removed[i] = 1;
		}
	}
	return n;
}

int tfs_model_file_removed(const tfshrink_model *m, size_t i)
{
	return m->file_removed && m->file_removed[i];
}

int tfs_model_note(tfshrink_model *m, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return tfs_nomem();
	char **v = realloc(m->notes, (m->n_notes + 1) * sizeof *v);
	if (!v) {
		free(s);
		return tfs_nomem();
	}
	m->notes = v;
	m->notes[m->n_notes++] = s;
	return 0;
}

void tfs_model_free_edits(tfshrink_model *m)
{
	if (m->edits && m->bundle)
		for (size_t i = 0; i < m->bundle->n; i++) {
			free(m->edits[i].data);
			if (m->edits[i].entry)
				tensorflow__bundle_entry_proto__free_unpacked(m->edits[i].entry, NULL);
		}
	free(m->edits);
	m->edits = NULL;
	free(m->file_removed);
	m->file_removed = NULL;
	for (size_t i = 0; i < m->n_notes; i++)
		free(m->notes[i]);
	free(m->notes);
	m->notes = NULL;
	m->n_notes = 0;
	tfs_model_free_weights(m);
	free(m->fp_cache.pb);
	free(m->fp_cache.idx);
	memset(&m->fp_cache, 0, sizeof m->fp_cache);
}

void tfs_model_free_weights(tfshrink_model *m)
{
	for (size_t i = 0; i < m->n_weights; i++) {
		free((char *)m->weights[i].key);
		free((char *)m->weights[i].name);
		free((char *)m->weights[i].reason);
	}
	free(m->weights);
	m->weights = NULL;
	m->n_weights = 0;
}

int tfs_model_encode_ckpt_graph(const tfshrink_model *m, uint8_t **out, uint64_t *len, uint32_t *crc)
{
	size_t n = tensorflow__trackable_object_graph__get_packed_size(m->ckpt_graph);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return tfs_nomem();
	tensorflow__trackable_object_graph__pack(m->ckpt_graph, b);
	const uint8_t *strs[1] = { b };
	uint64_t lens[1] = { n };
	int rc = tfs_bundle_encode_strings(strs, lens, 1, out, len, crc);
	free(b);
	return rc;
}
