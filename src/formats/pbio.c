/*
 * pbio.c - depth-checked protobuf unpack, pack, and a descriptor registry.
 *
 * The checker mirrors what protobuf-c 1.4.1's protobuf_c_message_unpack
 * reads (tags of at most 5 bytes, length prefixes of at most 5 bytes,
 * varints of at most 10) so that the only inputs that still reach a NULL from
 * protobuf-c are semantic ones it refuses by itself (e.g. a packed bool byte
 * above 1), and so that its recursion is bounded by the depth checked here.
 */
#include "pbio.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tfs_limits.h"

#define WT_VARINT 0
#define WT_64BIT 1
#define WT_LEN 2
#define WT_SGROUP 3
#define WT_EGROUP 4
#define WT_32BIT 5

#define MAX_FIELD_NUMBER 536870911u /* 2^29 - 1 */

typedef struct pb_frame {
	const ProtobufCMessageDescriptor *d;
	size_t end; /* offset one past the last byte of this message */
} pb_frame;

/* "field 5 (attr) of tensorflow.NodeDef" */
static const char *field_label(char *buf, size_t cap, const ProtobufCMessageDescriptor *d,
                               const ProtobufCFieldDescriptor *f, uint32_t num)
{
	if (f)
		snprintf(buf, cap, "field %" PRIu32 " (%s) of %s", num, f->name, d->name);
	else
		snprintf(buf, cap, "field %" PRIu32 " of %s", num, d->name);
	return buf;
}

/*
 * Reads a varint of at most max_bytes bytes from data[*pos..end). Returns
 * 0 and advances *pos; 1 when the data ends inside it; 2 when it is longer
 * than max_bytes.
 */
static int read_varint(const uint8_t *data, size_t *pos, size_t end, unsigned max_bytes, uint64_t *out)
{
	uint64_t v = 0;
	size_t p = *pos;
	for (unsigned i = 0; i < max_bytes; i++) {
		if (p >= end)
			return 1;
		uint8_t b = data[p++];
		v |= (uint64_t)(b & 0x7f) << (7 * i); /* i <= 9: bits past 64 drop */
		if (!(b & 0x80)) {
			*pos = p;
			*out = v;
			return 0;
		}
	}
	return 2;
}

/* Wire type a field of this descriptor type is written with (unpacked). */
static unsigned wire_type_of(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_BOOL:
	case PROTOBUF_C_TYPE_ENUM:
		return WT_VARINT;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return WT_32BIT;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return WT_64BIT;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
	default:
		return WT_LEN;
	}
}

static const char *wire_type_name(unsigned wt)
{
	switch (wt) {
	case WT_VARINT: return "varint";
	case WT_64BIT: return "64-bit";
	case WT_LEN: return "length-delimited";
	case WT_SGROUP: return "start-group";
	case WT_EGROUP: return "end-group";
	case WT_32BIT: return "32-bit";
	default: return "invalid";
	}
}

/* The field label for an error message, formatted only when one is
 * reported: formatting it for every field took a third of the time to open a model. */
#define WHAT field_label(what, sizeof what, md, f, num)

/* Checks the payload data[p..end) of a packed repeated scalar field
 * (field num, f, of message md; named in errors only). */
static int check_packed(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f, uint32_t num,
                        const uint8_t *data, size_t p, size_t end, const char *path)
{
	char what[256];
	size_t len = end - p;
	switch (wire_type_of(f->type)) {
	case WT_32BIT:
		if (len % 4)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)p,
			               "%s: packed 32-bit values take %zu bytes, not a multiple of 4", WHAT, len);
		return 0;
	case WT_64BIT:
		if (len % 8)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)p,
			               "%s: packed 64-bit values take %zu bytes, not a multiple of 8", WHAT, len);
		return 0;
	default:
		while (p < end) {
			uint64_t v;
			size_t at = p;
			int r = read_varint(data, &p, end, 10, &v);
			if (r == 1)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)at,
				               "%s: the last packed varint runs past the end of the field", WHAT);
			if (r == 2)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)at,
				               "%s: packed varint longer than 10 bytes", WHAT);
		}
		return 0;
	}
}

int tfs_pb_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t n,
                 const char *path, int max_depth)
{
	pb_frame stack[TFS_MAX_PB_DEPTH + 1];
	char what[256];
	int top = 0;
	size_t pos = 0;

	if (!d || (!data && n))
		return tfs_err(TFSHRINK_EINVAL, path, -1, "tfs_pb_check: no descriptor or no data");
	if (max_depth < 0 || max_depth > TFS_MAX_PB_DEPTH)
		max_depth = TFS_MAX_PB_DEPTH;
	stack[0].d = d;
	stack[0].end = n;

	for (;;) {
		while (top >= 0 && pos == stack[top].end)
			top--;
		if (top < 0)
			return 0;

		const ProtobufCMessageDescriptor *md = stack[top].d;
		size_t end = stack[top].end;
		size_t tag_at = pos;
		uint64_t tag;
		int r = read_varint(data, &pos, end, 5, &tag);
		if (r == 1)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tag_at,
			               "in %s: a field tag runs past the end of the enclosing message", md->name);
		if (r == 2)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tag_at,
			               "in %s: field tag longer than 5 bytes", md->name);
		uint64_t num64 = tag >> 3;
		unsigned wt = (unsigned)(tag & 7);
		if (num64 == 0 || num64 > MAX_FIELD_NUMBER)
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tag_at,
			               "in %s: invalid field number %" PRIu64, md->name, num64);
		uint32_t num = (uint32_t)num64;
		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(md, num);

		size_t val_at = pos;
		uint64_t v;
		switch (wt) {
		case WT_VARINT:
			r = read_varint(data, &pos, end, 10, &v);
			if (r == 1)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)val_at,
				               "%s: varint runs past the end of the enclosing message", WHAT);
			if (r == 2)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)val_at,
				               "%s: varint longer than 10 bytes", WHAT);
			break;
		case WT_64BIT:
		case WT_32BIT: {
			size_t w = wt == WT_64BIT ? 8 : 4;
			if (end - pos < w)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)val_at,
				               "%s: %zu-byte value runs past the end of the enclosing message", WHAT, w);
			pos += w;
			break;
		}
		case WT_LEN:
			r = read_varint(data, &pos, end, 10, &v);
			if (r == 1)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)val_at,
				               "%s: length runs past the end of the enclosing message", WHAT);
			if (r == 2)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)val_at,
				               "%s: length varint longer than 10 bytes", WHAT);
			if (pos - val_at > 5)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)val_at,
				               "%s: length prefix longer than 5 bytes", WHAT);
			if (v > end - pos)
				return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)val_at,
				               "%s: length %" PRIu64 " runs past the end of the enclosing message"
				               " (%zu bytes left)", WHAT, v, end - pos);
			break;
		case WT_SGROUP:
		case WT_EGROUP:
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tag_at,
			               "%s: groups (wire type %u) are not supported", WHAT, wt);
		default:
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tag_at,
			               "%s: invalid wire type %u", WHAT, wt);
		}

		if (!f) {
			if (wt == WT_LEN)
				pos += (size_t)v;
			continue;
		}

		unsigned want = wire_type_of(f->type);
		if (wt != want) {
			if (wt == WT_LEN && want != WT_LEN && f->label == PROTOBUF_C_LABEL_REPEATED) {
				TFS_TRY(check_packed(md, f, num, data, pos, pos + (size_t)v, path));
				pos += (size_t)v;
				continue;
			}
			return tfs_err(TFSHRINK_ECORRUPT, path, (int64_t)tag_at,
			               "%s: wire type %u (%s) where its type needs %u (%s)", WHAT, wt,
			               wire_type_name(wt), want, wire_type_name(want));
		}
		if (wt != WT_LEN)
			continue;
		if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
			pos += (size_t)v;
			continue;
		}
		if (!f->descriptor)
			return tfs_err(TFSHRINK_EINVAL, path, (int64_t)tag_at, "%s: no descriptor", WHAT);
		if (top >= max_depth)
			return tfs_err(TFSHRINK_ELIMIT, path, (int64_t)tag_at,
			               "%s: nesting deeper than %d messages", WHAT, max_depth);
		top++;
		stack[top].d = f->descriptor;
		stack[top].end = pos + (size_t)v;
	}
}

/* System allocator that remembers whether an allocation failed. */
typedef struct track_alloc {
	bool failed;
} track_alloc;

static void *track_alloc_fn(void *data, size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		((track_alloc *)data)->failed = true;
	return p;
}

static void track_free_fn(void *data, void *p)
{
	(void)data;
	free(p);
}

int tfs_pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t n,
                  const char *path, ProtobufCMessage **out)
{
	if (!d || !out || (!data && n))
		return tfs_err(TFSHRINK_EINVAL, path, -1, "tfs_pb_unpack: bad arguments");
	if ((uint64_t)n > TFS_MAX_PB_BYTES)
		return tfs_err(TFSHRINK_ELIMIT, path, -1,
		               "%s of %zu bytes is larger than the %" PRIu64 "-byte protobuf limit",
		               d->name, n, TFS_MAX_PB_BYTES);
	TFS_TRY(tfs_pb_check(d, data, n, path, TFS_MAX_PB_DEPTH));

	track_alloc state = { false };
	ProtobufCAllocator alloc = { track_alloc_fn, track_free_fn, &state };
	static const uint8_t empty[1];
	ProtobufCMessage *m = protobuf_c_message_unpack(d, &alloc, n, data ? data : empty);
	if (!m) {
		if (state.failed)
			return tfs_nomem();
		return tfs_err(TFSHRINK_ECORRUPT, path, -1, "cannot parse %s", d->name);
	}
	*out = m;
	return 0;
}

int tfs_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *n)
{
	if (!m || !out || !n)
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "tfs_pb_pack: bad arguments");
	if (!protobuf_c_message_check(m))
		return tfs_err(TFSHRINK_EINVAL, NULL, -1, "cannot pack %s: a required string or message is missing",
		               m->descriptor ? m->descriptor->name : "message");
	size_t size = protobuf_c_message_get_packed_size(m);
	if ((uint64_t)size > TFS_MAX_PB_BYTES)
		return tfs_err(TFSHRINK_ELIMIT, NULL, -1,
		               "%s would take %zu bytes, over the %" PRIu64 "-byte protobuf limit",
		               m->descriptor->name, size, TFS_MAX_PB_BYTES);
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return tfs_nomem();
	size_t got = protobuf_c_message_pack(m, buf);
	if (got != size) {
		free(buf);
		return tfs_err(TFSHRINK_EVERIFY, NULL, -1, "packing %s wrote %zu bytes, not the %zu announced",
		               m->descriptor->name, got, size);
	}
	*out = buf;
	*n = size;
	return 0;
}

const ProtobufCMessageDescriptor *tfs_pb_find_message(const ProtobufCMessageDescriptor *root,
                                                      const char *full_name)
{
	if (!root || !full_name)
		return NULL;
	/* `seen` is also the breadth-first queue: entries before i are done. */
	size_t n = 1, cap = 64;
	const ProtobufCMessageDescriptor **seen = malloc(cap * sizeof *seen), *found = NULL;
	if (!seen)
		return NULL;
	seen[0] = root;
	for (size_t i = 0; i < n && !found; i++) {
		const ProtobufCMessageDescriptor *d = seen[i];
		if (strcmp(d->name, full_name) == 0) {
			found = d;
			break;
		}
		for (unsigned k = 0; k < d->n_fields; k++) {
			const ProtobufCFieldDescriptor *f = &d->fields[k];
			if (f->type != PROTOBUF_C_TYPE_MESSAGE || !f->descriptor)
				continue;
			const ProtobufCMessageDescriptor *sub = f->descriptor;
			bool dup = false;
			for (size_t j = 0; j < n && !dup; j++)
				dup = seen[j] == sub;
			if (dup)
				continue;
			if (n == cap) {
				const ProtobufCMessageDescriptor **s2 = realloc(seen, 2 * cap * sizeof *seen);
				if (!s2)
					break;
				seen = s2;
				cap *= 2;
			}
			seen[n++] = sub;
		}
	}
	free(seen);
	return found;
}
