/*
 * bundle.h - TensorFlow's tensor bundle (variables/variables.index plus
 * variables.data-NNNNN-of-MMMMM shards): reading through read-only maps and
 * writing shard by shard, so memory does not grow with tensor bytes.
 */
#ifndef TFS_BUNDLE_H
#define TFS_BUNDLE_H
#include <stddef.h>
#include <stdint.h>

#include "fsutil.h"
#include "tensorflow.pb-c.h"

typedef struct tfs_bundle_entry {
	uint8_t *key;          /* checkpoint key (NUL-terminated copy; may hold NULs for slice keys) */
	size_t key_len;
	Tensorflow__BundleEntryProto *proto;
	int64_t elements;      /* from the shape; -1 for entries with slices */
	uint64_t index_offset; /* where the entry's block sits in the index file */
} tfs_bundle_entry;

typedef struct tfs_bundle {
	char *prefix;          /* ".../variables/variables" */
	char *index_path;
	uint64_t index_bytes;
	Tensorflow__BundleHeaderProto *header;
	size_t n;              /* entries, bytewise-sorted keys, header excluded */
	tfs_bundle_entry *e;
	int num_shards;
	tfs_map *shards;
} tfs_bundle;

/* Opens prefix.index and maps every data shard. Each entry is checked
 * (dtype, shape, shard id, offset and size inside the shard, size against
 * the element count); checksums are checked by tfs_bundle_verify. */
int tfs_bundle_open(const char *prefix, tfs_bundle **out);
void tfs_bundle_free(tfs_bundle *b);
/* Binary search by key; NULL if absent. */
const tfs_bundle_entry *tfs_bundle_find(const tfs_bundle *b, const void *key, size_t len);
/* Read-only view of an entry's stored bytes. */
int tfs_bundle_data(const tfs_bundle *b, const tfs_bundle_entry *e, const uint8_t **p, uint64_t *n);
/* Checks the stored CRC (and the string layout for DT_STRING); ECORRUPT if wrong. */
int tfs_bundle_verify(const tfs_bundle *b, const tfs_bundle_entry *e);
/* Path of data shard i of n for a prefix (malloc'd). */
char *tfs_bundle_shard_path(const char *prefix, int i, int n);

/* Writer: data goes straight to the shard files; the index is written at finish. */
typedef struct tfs_bundle_wentry {
	uint8_t *key;
	size_t key_len;
	uint8_t *packed;       /* serialized BundleEntryProto */
	size_t packed_len;
} tfs_bundle_wentry;

typedef struct tfs_bundle_writer {
	char *prefix;
	int num_shards;
	tfs_out *shards;
	Tensorflow__BundleHeaderProto *header; /* copy of the template header */
	tfs_bundle_wentry *v;
	size_t n, cap;
	uint64_t index_bytes;  /* after finish */
} tfs_bundle_writer;

/* `header` gives endianness, version and unknown fields; num_shards is set here. */
int tfs_bundle_writer_open(tfs_bundle_writer *w, const char *prefix, int num_shards,
                           const Tensorflow__BundleHeaderProto *header);
/* Streams `n` bytes from a read-only map (releasing pages as it goes) into
 * shard `shard`, and records the entry `tmpl` with shard_id/offset/size set.
 * If check_crc, the bytes' CRC must equal tmpl->crc32c (numeric dtypes only). */
int tfs_bundle_writer_add_mapped(tfs_bundle_writer *w, const void *key, size_t key_len,
                                 const Tensorflow__BundleEntryProto *tmpl, int shard,
                                 const tfs_map *src, uint64_t off, uint64_t n, int check_crc,
                                 uint64_t *offset_out);
/* Adds bytes from memory; the CRC is computed (numeric dtypes) unless tmpl is a string tensor. */
int tfs_bundle_writer_add_bytes(tfs_bundle_writer *w, const void *key, size_t key_len,
                                const Tensorflow__BundleEntryProto *tmpl, int shard,
                                const uint8_t *data, uint64_t n, uint64_t *offset_out);
/* Records an entry whose bytes were already written (shared offset, or slices-only). */
int tfs_bundle_writer_add_entry(tfs_bundle_writer *w, const void *key, size_t key_len,
                                const Tensorflow__BundleEntryProto *e);
/* Current size of a shard (the offset the next tensor gets). */
uint64_t tfs_bundle_writer_pos(const tfs_bundle_writer *w, int shard);
/* Sorts keys, writes the index, closes the shards. */
int tfs_bundle_writer_finish(tfs_bundle_writer *w);
void tfs_bundle_writer_free(tfs_bundle_writer *w);

/* Builds a DT_STRING tensor's stored bytes and its masked CRC as TensorFlow does. */
int tfs_bundle_encode_strings(const uint8_t *const *strs, const uint64_t *lens, uint64_t n,
                              uint8_t **out, uint64_t *out_len, uint32_t *masked_crc);
#endif
