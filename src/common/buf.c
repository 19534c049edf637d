#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "error.h"

int tfs_buf_reserve(tfs_buf *b, size_t extra)
{
	if (extra <= b->cap - b->len)
		return 0;
	size_t need;
	if (__builtin_add_overflow(b->len, extra, &need))
		return tfs_nomem();
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return tfs_nomem();
		cap *= 2;
	}
	uint8_t *d = realloc(b->data, cap);
	if (!d)
		return tfs_nomem();
	b->data = d;
	b->cap = cap;
	return 0;
}

int tfs_buf_append(tfs_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	TFS_TRY(tfs_buf_reserve(b, n));
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int tfs_buf_put_varint(tfs_buf *b, uint64_t v)
{
	TFS_TRY(tfs_buf_reserve(b, 10));
	b->len += tfs_put_varint64(b->data + b->len, v);
	return 0;
}

int tfs_buf_put_u32le(tfs_buf *b, uint32_t v)
{
	TFS_TRY(tfs_buf_reserve(b, 4));
	tfs_put_u32le(b->data + b->len, v);
	b->len += 4;
	return 0;
}

void tfs_buf_free(tfs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
