/*
 * table.h - the sorted string table behind variables.index (LevelDB's table
 * format as TensorFlow writes it: 256 KiB blocks, restart interval 16,
 * masked CRC32C block trailers, no filter block; snappy blocks on read).
 */
#ifndef TFS_TABLE_H
#define TFS_TABLE_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct tfs_table_kv {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *val;
	size_t val_len;
	uint64_t offset; /* file offset of the block holding the entry (for messages) */
} tfs_table_kv;

typedef struct tfs_table {
	size_t n;
	tfs_table_kv *kv;  /* in file order, keys strictly increasing */
	void *storage;     /* owns every key/value byte */
} tfs_table;

/* Parses and checks a whole table file held in memory (footer, index, every
 * block's trailer and CRC, entry encoding, restart array, key order).
 * Errors: ECORRUPT with path and offset, ELIMIT, ENOMEM, EUNSUPPORTED. */
int tfs_table_read(const uint8_t *data, size_t n, const char *path, tfs_table **out);
void tfs_table_free(tfs_table *t);

/* One block being built: entries, restart points, the key of the last entry. */
typedef struct tfs_block_builder {
	tfs_buf buf;          /* encoded entries so far */
	uint32_t *restarts;   /* offsets in buf of restart entries; [0] is 0 */
	size_t n_restarts, cap_restarts;
	size_t counter;       /* entries since the last restart */
	size_t interval;      /* restart interval */
	tfs_buf last_key;
} tfs_block_builder;

/* Writer reproducing TensorFlow's bytes for the same keys and values. */
typedef struct tfs_table_writer {
	tfs_buf out;          /* the finished file accumulates here */
	tfs_block_builder data;  /* current data block (restart interval 16) */
	tfs_block_builder index; /* index block (restart interval 1) */
	tfs_buf last_key;     /* last key added to the table */
	tfs_buf scratch;      /* separator / successor being computed */
	int pending_index;    /* a block was flushed; its index entry waits for the next key */
	uint64_t pending_off, pending_size;
	size_t n_entries;
	size_t block_size;    /* 262144 unless a test changes it (before the first add) */
	int finished;
	int err;              /* sticky failure (ENOMEM) after which the writer is unusable */
} tfs_table_writer;

void tfs_table_writer_init(tfs_table_writer *w);
/* Keys must be strictly increasing (bytewise); EINVAL otherwise. */
int tfs_table_writer_add(tfs_table_writer *w, const void *key, size_t key_len,
                         const void *val, size_t val_len);
/* Finishes the file; the bytes are w->out.data / w->out.len. */
int tfs_table_writer_finish(tfs_table_writer *w);
void tfs_table_writer_free(tfs_table_writer *w);
#endif
