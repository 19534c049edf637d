/*
 * cursor.h - bounded reader over bytes of a file. Every read checks what
 * remains first; failures record the file path and absolute byte offset.
 */
#ifndef TFS_CURSOR_H
#define TFS_CURSOR_H
#include <stddef.h>
#include <stdint.h>

typedef struct tfs_cursor {
	const uint8_t *start; /* first byte of this view */
	const uint8_t *p;     /* next byte to read */
	const uint8_t *end;   /* one past the last byte */
	uint64_t base;        /* file offset of `start` */
	const char *path;     /* file name for error messages */
} tfs_cursor;

void tfs_cur_init(tfs_cursor *c, const void *data, size_t len, uint64_t base, const char *path);
/* Absolute file offset of the next byte. */
uint64_t tfs_cur_offset(const tfs_cursor *c);
size_t tfs_cur_left(const tfs_cursor *c);
/* Each returns 0 or TFSHRINK_ECORRUPT (recorded with what = what was being read). */
int tfs_cur_u8(tfs_cursor *c, uint8_t *out, const char *what);
int tfs_cur_u32le(tfs_cursor *c, uint32_t *out, const char *what);
int tfs_cur_u64le(tfs_cursor *c, uint64_t *out, const char *what);
int tfs_cur_varint32(tfs_cursor *c, uint32_t *out, const char *what);
int tfs_cur_varint64(tfs_cursor *c, uint64_t *out, const char *what);
int tfs_cur_take(tfs_cursor *c, uint64_t n, const uint8_t **out, const char *what);
/* Sub-cursor over the next n bytes (advances c past them). */
int tfs_cur_sub(tfs_cursor *c, uint64_t n, tfs_cursor *out, const char *what);

/* Little-endian stores and varint encoding for writers. */
static inline void tfs_put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t tfs_get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
/* Writes v as a varint into p (room for 10 bytes); returns bytes written. */
size_t tfs_put_varint64(uint8_t *p, uint64_t v);
size_t tfs_varint_len(uint64_t v);
#endif
