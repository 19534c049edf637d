#include "cursor.h"

#include <inttypes.h>

#include "error.h"

void tfs_cur_init(tfs_cursor *c, const void *data, size_t len, uint64_t base, const char *path)
{
	c->start = c->p = data;
	c->end = c->start + len;
	c->base = base;
	c->path = path;
}

uint64_t tfs_cur_offset(const tfs_cursor *c)
{
	return c->base + (uint64_t)(c->p - c->start);
}

size_t tfs_cur_left(const tfs_cursor *c)
{
	return (size_t)(c->end - c->p);
}

static int truncated(const tfs_cursor *c, const char *what)
{
	return tfs_err(TFSHRINK_ECORRUPT, c->path, (int64_t)tfs_cur_offset(c),
	               "truncated: %s runs past the end of its data", what);
}

int tfs_cur_u8(tfs_cursor *c, uint8_t *out, const char *what)
{
	if (tfs_cur_left(c) < 1)
		return truncated(c, what);
	*out = *c->p++;
	return 0;
}

int tfs_cur_u32le(tfs_cursor *c, uint32_t *out, const char *what)
{
	if (tfs_cur_left(c) < 4)
		return truncated(c, what);
	*out = tfs_get_u32le(c->p);
	c->p += 4;
	return 0;
}

int tfs_cur_u64le(tfs_cursor *c, uint64_t *out, const char *what)
{
	if (tfs_cur_left(c) < 8)
		return truncated(c, what);
	*out = (uint64_t)tfs_get_u32le(c->p) | (uint64_t)tfs_get_u32le(c->p + 4) << 32;
	c->p += 8;
	return 0;
}

int tfs_cur_varint64(tfs_cursor *c, uint64_t *out, const char *what)
{
	uint64_t v = 0;
	const uint8_t *q = c->p;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (q >= c->end)
			return truncated(c, what);
		uint8_t b = *q++;
		if (shift == 63 && b > 1)
			return tfs_err(TFSHRINK_ECORRUPT, c->path, (int64_t)tfs_cur_offset(c),
			               "%s: varint overflows 64 bits", what);
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			c->p = q;
			*out = v;
			return 0;
		}
	}
	return tfs_err(TFSHRINK_ECORRUPT, c->path, (int64_t)tfs_cur_offset(c),
	               "%s: varint longer than 10 bytes", what);
}

int tfs_cur_varint32(tfs_cursor *c, uint32_t *out, const char *what)
{
	tfs_cursor save = *c;
	uint64_t v;
	int rc = tfs_cur_varint64(c, &v, what);
	if (rc < 0)
		return rc;
	if (v > UINT32_MAX) {
		*c = save;
		return tfs_err(TFSHRINK_ECORRUPT, c->path, (int64_t)tfs_cur_offset(c),
		               "%s: value %" PRIu64 " does not fit 32 bits", what, v);
	}
	*out = (uint32_t)v;
	return 0;
}

int tfs_cur_take(tfs_cursor *c, uint64_t n, const uint8_t **out, const char *what)
{
	if (n > tfs_cur_left(c))
		return truncated(c, what);
	*out = c->p;
	c->p += n;
	return 0;
}

int tfs_cur_sub(tfs_cursor *c, uint64_t n, tfs_cursor *out, const char *what)
{
	uint64_t off = tfs_cur_offset(c);
	const uint8_t *p = NULL;
	TFS_TRY(tfs_cur_take(c, n, &p, what));
	tfs_cur_init(out, p, (size_t)n, off, c->path);
	return 0;
}

size_t tfs_put_varint64(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t tfs_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}
