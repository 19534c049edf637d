/* fsutil.h - files and directories: read-only maps, whole-file reads,
 * durable writes, and the temporary-directory-then-rename output protocol. */
#ifndef TFS_FSUTIL_H
#define TFS_FSUTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct tfs_map {
	const uint8_t *data; /* NULL for an empty file */
	uint64_t size;
	char *path;
} tfs_map;

/* Maps a regular file read-only; refuses files larger than max_size (ELIMIT). */
int tfs_map_open(tfs_map *m, const char *path, uint64_t max_size);
/* Tells the kernel the pages of [off, off+len) may be dropped (keeps RSS flat
 * when streaming large shards). */
void tfs_map_release(const tfs_map *m, uint64_t off, uint64_t len);
void tfs_map_close(tfs_map *m);

/* malloc'd "a/b" join; NULL on ENOMEM (recorded). */
char *tfs_path_join(const char *a, const char *b);
/* 1 if path exists (any type, symlinks not followed), 0 if not. */
int tfs_path_exists(const char *path);
int tfs_is_dir(const char *path);
int tfs_is_file(const char *path);

/* One regular file found under a directory. */
typedef struct tfs_file_entry {
	char *rel;     /* path relative to the walked root, '/'-separated */
	uint64_t size;
} tfs_file_entry;
/* Lists regular files under root, sorted by rel. Symlinks are reported as
 * files only when they resolve inside root; others fail with ECORRUPT. */
int tfs_walk_files(const char *root, tfs_file_entry **out, size_t *n_out);
void tfs_walk_free(tfs_file_entry *files, size_t n);

/* Output file written with error checks; close fsyncs. */
typedef struct tfs_out {
	int fd;
	char *path;
	uint64_t written;
} tfs_out;
int tfs_out_open(tfs_out *o, const char *path);
int tfs_out_write(tfs_out *o, const void *p, size_t n);
int tfs_out_close(tfs_out *o);      /* fsync + close; reports errors */
void tfs_out_abort(tfs_out *o);     /* close without caring, file stays */

int tfs_write_file(const char *path, const void *data, size_t n);
/* Reads a whole regular file of at most max bytes into a malloc'd buffer. */
int tfs_read_file(const char *path, uint64_t max, uint8_t **out, size_t *n_out);
/* Copies a regular file (streaming). */
int tfs_copy_file(const char *src, const char *dst);
int tfs_mkdir(const char *path);
/* mkdir -p of the parents of rel under root. */
int tfs_mkdirs_for(const char *root, const char *rel);

/* Creates "<dirname(final)>/.<basename(final)>.tfshrink-XXXXXX". */
int tfs_tmpdir_beside(const char *final_path, char **out);
/* Removes a directory tree (best effort, no error recorded). */
void tfs_remove_tree(const char *path);
/* Moves a finished tmp dir to final; replaces final only if force. */
int tfs_commit_dir(const char *tmp, const char *final_path, int force);
/* fsync a directory (makes renames inside it durable). */
int tfs_fsync_dir(const char *path);
/* 1 if `inner` is `outer` or lies inside it (after resolving what exists). */
int tfs_path_within(const char *inner, const char *outer);
#endif
