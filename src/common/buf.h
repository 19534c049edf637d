/* buf.h - growable byte buffer for writers. */
#ifndef TFS_BUF_H
#define TFS_BUF_H
#include <stddef.h>
#include <stdint.h>

typedef struct tfs_buf {
	uint8_t *data;
	size_t len, cap;
} tfs_buf;

/* Each returns 0 or TFSHRINK_ENOMEM. */
int tfs_buf_reserve(tfs_buf *b, size_t extra);
int tfs_buf_append(tfs_buf *b, const void *p, size_t n);
int tfs_buf_put_varint(tfs_buf *b, uint64_t v);
int tfs_buf_put_u32le(tfs_buf *b, uint32_t v);
void tfs_buf_free(tfs_buf *b);
#endif
