/*
 * fuzz_table.c - variables.index tables: tfs_table_read on the whole input.
 * When the input parses, its entries are written again with tfs_table_writer
 * and the result must read back to the same keys and values.
 */
#include <string.h>

#include "fuzz.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tfs_table *t = NULL;
	if (tfs_table_read(data, size, "variables.index", &t) < 0)
		return 0;
	tfs_table_writer w;
	tfs_table_writer_init(&w);
	/* A small block size so that short inputs still give several blocks. */
	w.block_size = 256;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < t->n; i++)
		rc = tfs_table_writer_add(&w, t->kv[i].key, t->kv[i].key_len, t->kv[i].val, t->kv[i].val_len);
	FUZZ_ASSERT(rc == 0); /* read guarantees strictly increasing keys */
	FUZZ_ASSERT(tfs_table_writer_finish(&w) == 0);
	tfs_table *back = NULL;
	FUZZ_ASSERT(tfs_table_read(w.out.data, w.out.len, "rewritten.index", &back) == 0);
	FUZZ_ASSERT(back->n == t->n);
	for (size_t i = 0; i < t->n; i++) {
		FUZZ_ASSERT(back->kv[i].key_len == t->kv[i].key_len && back->kv[i].val_len == t->kv[i].val_len);
		FUZZ_ASSERT(!t->kv[i].key_len || !memcmp(back->kv[i].key, t->kv[i].key, t->kv[i].key_len));
		FUZZ_ASSERT(!t->kv[i].val_len || !memcmp(back->kv[i].val, t->kv[i].val, t->kv[i].val_len));
	}
	tfs_table_free(back);
	tfs_table_writer_free(&w);
	tfs_table_free(t);
	return 0;
}
