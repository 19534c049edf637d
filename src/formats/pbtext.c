/*
 * pbtext.c - protobuf text-format reader driven by protobuf-c descriptors.
 *
 * Why our own: protobuf-c (the runtime and protoc-c) has no text format, and
 * Debian packages no C text-format library. TensorFlow may store a SavedModel
 * as saved_model.pbtxt (C++ TextFormat output), so we read that subset of
 * the language (see pbtext.h for what is accepted).
 *
 * How: a recursive-descent parser (depth <= TFS_MAX_PB_DEPTH) that encodes
 * the text straight into protobuf wire bytes in a tfs_buf, then hands those
 * to tfs_pb_unpack, so protobuf-c builds the message with its own allocation
 * and we never touch struct offsets. Submessage lengths are written as
 * 5-byte (padded, non-canonical but valid) varints and patched when the
 * submessage ends: no memmove, linear time at any depth. The intermediate
 * bytes never leave this file; the exception is an expanded Any, whose value
 * is unpacked and packed again here so that it holds canonical bytes.
 *
 * All reads are bounded by n; the text needs no terminating NUL.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "pbtext.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cursor.h"
#include "error.h"
#include "pbio.h"
#include "tfs_limits.h"

#define WT_VARINT 0
#define WT_64BIT 1
#define WT_LEN 2
#define WT_32BIT 5

/* Longest field, enum or type-URL name we look up (longer: unknown). */
#define NAME_MAX_LEN 1024

typedef enum tok_kind { T_EOF, T_IDENT, T_INT, T_FLOAT, T_STRING, T_SYM } tok_kind;

typedef struct token {
	tok_kind kind;
	size_t start, end; /* bytes [start, end) of the text */
} token;

typedef struct parser {
	const uint8_t *s;
	size_t n;
	size_t pos; /* first byte not yet tokenized */
	token tok;  /* current token */
	const char *path;
	const ProtobufCMessageDescriptor *root;
	tfs_buf out;
	tfs_buf scratch; /* decoded string literals */
	int depth;
} parser;

/* ---------------------------------------------------------------- errors */

static int perr(parser *p, int code, size_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int perr(parser *p, int code, size_t off, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	size_t line = 1, col = 1;
	if (off > p->n)
		off = p->n;
	for (size_t i = 0; i < off; i++) {
		if (p->s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return tfs_err(code, p->path, (int64_t)off, "line %zu, column %zu: %s", line, col, reason);
}

/* The current token's text, shortened for messages. */
static const char *tok_text(const parser *p, char *buf, size_t cap)
{
	if (p->tok.kind == T_EOF)
		return "end of file";
	size_t len = p->tok.end - p->tok.start;
	if (len > 40)
		snprintf(buf, cap, "'%.37s...'", (const char *)p->s + p->tok.start);
	else
		snprintf(buf, cap, "'%.*s'", (int)len, (const char *)p->s + p->tok.start);
	return buf;
}

static int unexpected(parser *p, const char *wanted)
{
	char t[64];
	return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "expected %s, found %s", wanted, tok_text(p, t, sizeof t));
}

/* ------------------------------------------------------------- tokenizer */

static bool is_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_value(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

static int next(parser *p)
{
	const uint8_t *s = p->s;
	size_t i = p->pos, n = p->n;
	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\v' ||
		                 s[i] == '\f'))
			i++;
		if (i < n && s[i] == '#') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		break;
	}
	p->tok.start = i;
	if (i >= n) {
		p->tok.kind = T_EOF;
		p->tok.end = p->pos = n;
		return 0;
	}
	uint8_t c = s[i];
	if (is_letter(c)) {
		while (i < n && (is_letter(s[i]) || is_digit(s[i])))
			i++;
		p->tok.kind = T_IDENT;
	} else if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(s[i + 1]))) {
		bool is_float = false;
		if (c == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
			i += 2;
			if (i >= n || !is_hex(s[i]))
				return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "'0x' must be followed by hex digits");
			while (i < n && is_hex(s[i]))
				i++;
		} else {
			while (i < n && is_digit(s[i]))
				i++;
			if (i < n && s[i] == '.') {
				is_float = true;
				i++;
				while (i < n && is_digit(s[i]))
					i++;
			}
			if (i < n && (s[i] == 'e' || s[i] == 'E')) {
				is_float = true;
				i++;
				if (i < n && (s[i] == '+' || s[i] == '-'))
					i++;
				if (i >= n || !is_digit(s[i]))
					return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "exponent without digits");
				while (i < n && is_digit(s[i]))
					i++;
			}
			if (i < n && (s[i] == 'f' || s[i] == 'F')) {
				is_float = true;
				i++;
			}
		}
		if (i < n && (is_letter(s[i]) || is_digit(s[i]) || s[i] == '.'))
			return perr(p, TFSHRINK_ECORRUPT, i, "unexpected '%c' right after a number", s[i]);
		p->tok.kind = is_float ? T_FLOAT : T_INT;
	} else if (c == '"' || c == '\'') {
		i++;
		for (;;) {
			if (i >= n)
				return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "string literal is not closed");
			if (s[i] == '\n')
				return perr(p, TFSHRINK_ECORRUPT, i, "string literal runs past the end of the line");
			if (s[i] == '\\') {
				if (i + 1 >= n)
					return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "string literal is not closed");
				if (s[i + 1] == '\n')
					return perr(p, TFSHRINK_ECORRUPT, i, "string literal runs past the end of the line");
				i += 2;
				continue;
			}
			if (s[i++] == c)
				break;
		}
		p->tok.kind = T_STRING;
	} else if (c > 0x20 && c < 0x7f) {
		i++;
		p->tok.kind = T_SYM;
	} else {
		return perr(p, TFSHRINK_ECORRUPT, i, "unexpected byte 0x%02x", c);
	}
	p->tok.end = p->pos = i;
	return 0;
}

static bool at_sym(const parser *p, char c)
{
	return p->tok.kind == T_SYM && p->s[p->tok.start] == c;
}

static bool at_ident(const parser *p, const char *word)
{
	size_t len = p->tok.end - p->tok.start;
	return p->tok.kind == T_IDENT && strlen(word) == len && memcmp(p->s + p->tok.start, word, len) == 0;
}

static bool at_ident_ci(const parser *p, const char *word)
{
	size_t len = p->tok.end - p->tok.start;
	if (p->tok.kind != T_IDENT || strlen(word) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p->s[p->tok.start + i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)word[i])
			return false;
	}
	return true;
}

static int expect_sym(parser *p, char c)
{
	if (!at_sym(p, c)) {
		char want[8];
		snprintf(want, sizeof want, "'%c'", c);
		return unexpected(p, want);
	}
	return next(p);
}

/* Copies the current identifier into buf (NUL-terminated); false if too long. */
static bool tok_name(const parser *p, char *buf, size_t cap)
{
	size_t len = p->tok.end - p->tok.start;
	if (len >= cap)
		return false;
	memcpy(buf, p->s + p->tok.start, len);
	buf[len] = '\0';
	return true;
}

/* --------------------------------------------------------------- emitting */

static int put_tag(parser *p, uint32_t num, unsigned wt)
{
	return tfs_buf_put_varint(&p->out, (uint64_t)num << 3 | wt);
}

/* Starts a length-delimited field; *mark is where its 5-byte length goes. */
static int begin_len(parser *p, uint32_t num, size_t *mark)
{
	TFS_TRY(put_tag(p, num, WT_LEN));
	TFS_TRY(tfs_buf_reserve(&p->out, 5));
	*mark = p->out.len;
	memset(p->out.data + p->out.len, 0, 5);
	p->out.len += 5;
	return 0;
}

static int end_len(parser *p, size_t mark, size_t at)
{
	uint64_t len = p->out.len - mark - 5;
	if (p->out.len > TFS_MAX_PB_BYTES)
		return perr(p, TFSHRINK_ELIMIT, at, "the text encodes a message larger than %llu bytes",
		            (unsigned long long)TFS_MAX_PB_BYTES);
	uint8_t *q = p->out.data + mark;
	q[0] = (uint8_t)(0x80 | (len & 0x7f));
	q[1] = (uint8_t)(0x80 | ((len >> 7) & 0x7f));
	q[2] = (uint8_t)(0x80 | ((len >> 14) & 0x7f));
	q[3] = (uint8_t)(0x80 | ((len >> 21) & 0x7f));
	q[4] = (uint8_t)((len >> 28) & 0x7f);
	return 0;
}

static int put_fixed(parser *p, uint64_t v, size_t width)
{
	uint8_t b[8];
	for (size_t i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return tfs_buf_append(&p->out, b, width);
}

/* ----------------------------------------------------------------- values */

/* Unsigned magnitude of the current T_INT token (decimal, 0x hex, 0 octal). */
static int int_magnitude(parser *p, uint64_t *out)
{
	const uint8_t *s = p->s + p->tok.start;
	size_t len = p->tok.end - p->tok.start, i = 0;
	unsigned base = 10;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (len > 1 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	uint64_t v = 0;
	for (; i < len; i++) {
		unsigned d = (unsigned)hex_value(s[i]);
		if (d >= base)
			return perr(p, TFSHRINK_ECORRUPT, p->tok.start + i, "'%c' is not an octal digit", s[i]);
		if (v > (UINT64_MAX - d) / base)
			return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "integer does not fit in 64 bits");
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* [-]integer; *neg tells the sign, *mag the magnitude. */
static int read_int(parser *p, bool *neg, uint64_t *mag, size_t *at)
{
	*at = p->tok.start;
	*neg = false;
	if (at_sym(p, '-')) {
		*neg = true;
		TFS_TRY(next(p));
	}
	if (p->tok.kind != T_INT)
		return unexpected(p, "an integer");
	TFS_TRY(int_magnitude(p, mag));
	if (*neg && *mag == 0)
		*neg = false;
	return next(p);
}

static int read_signed(parser *p, int64_t lo, int64_t hi, int64_t *out)
{
	bool neg;
	uint64_t mag = 0;
	size_t at;
	TFS_TRY(read_int(p, &neg, &mag, &at));
	if (neg ? mag > (uint64_t)-(lo + 1) + 1 : mag > (uint64_t)hi)
		return perr(p, TFSHRINK_ECORRUPT, at, "integer out of range [%lld, %lld]", (long long)lo, (long long)hi);
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}

static int read_unsigned(parser *p, uint64_t hi, uint64_t *out)
{
	bool neg;
	uint64_t mag;
	size_t at;
	TFS_TRY(read_int(p, &neg, &mag, &at));
	if (neg || mag > hi)
		return perr(p, TFSHRINK_ECORRUPT, at, "integer out of range [0, %llu]", (unsigned long long)hi);
	*out = mag;
	return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* strtod in the "C" locale, whatever the host program set. */
static double c_strtod(const char *s, char **end)
{
	pthread_once(&c_locale_once, make_c_locale);
	locale_t old = (locale_t)0;
	if (c_locale)
		old = uselocale(c_locale);
	double d = strtod(s, end);
	if (c_locale)
		uselocale(old);
	return d;
}

static int read_double(parser *p, double *out)
{
	bool neg = false;
	if (at_sym(p, '-')) {
		neg = true;
		TFS_TRY(next(p));
	}
	double d;
	if (p->tok.kind == T_INT) {
		uint64_t mag;
		TFS_TRY(int_magnitude(p, &mag));
		d = (double)mag;
	} else if (p->tok.kind == T_FLOAT) {
		size_t len = p->tok.end - p->tok.start;
		const char *s = (const char *)p->s + p->tok.start;
		if (s[len - 1] == 'f' || s[len - 1] == 'F')
			len--;
		char small[64], *buf = len < sizeof small ? small : malloc(len + 1);
		if (!buf)
			return tfs_nomem();
		memcpy(buf, s, len);
		buf[len] = '\0';
		char *end;
		d = c_strtod(buf, &end);
		bool ok = end == buf + len;
		if (buf != small)
			free(buf);
		if (!ok)
			return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "malformed number");
	} else if (at_ident_ci(p, "inf") || at_ident_ci(p, "infinity")) {
		d = INFINITY;
	} else if (at_ident_ci(p, "nan")) {
		d = NAN;
	} else {
		return unexpected(p, "a number");
	}
	*out = neg ? -d : d;
	return next(p);
}

/* Appends the UTF-8 encoding of code point u to the scratch buffer. */
static int put_utf8(parser *p, uint32_t u)
{
	uint8_t b[4];
	size_t k;
	if (u < 0x80) {
		b[0] = (uint8_t)u;
		k = 1;
	} else if (u < 0x800) {
		b[0] = (uint8_t)(0xc0 | (u >> 6));
		b[1] = (uint8_t)(0x80 | (u & 0x3f));
		k = 2;
	} else if (u < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (u >> 12));
		b[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (u & 0x3f));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (u >> 18));
		b[1] = (uint8_t)(0x80 | ((u >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (u & 0x3f));
		k = 4;
	}
	return tfs_buf_append(&p->scratch, b, k);
}

/* Reads `count` hex digits at s[*i..end) into *u; false if there are fewer. */
static bool read_hex_digits(const uint8_t *s, size_t *i, size_t end, unsigned count, uint32_t *u)
{
	uint32_t v = 0;
	for (unsigned k = 0; k < count; k++) {
		if (*i >= end || !is_hex(s[*i]))
			return false;
		v = v << 4 | (uint32_t)hex_value(s[(*i)++]);
	}
	*u = v;
	return true;
}

/* Decodes the current string token (without its quotes) onto p->scratch. */
static int decode_string(parser *p)
{
	const uint8_t *s = p->s;
	size_t i = p->tok.start + 1, end = p->tok.end - 1;
	while (i < end) {
		size_t run = i;
		while (i < end && s[i] != '\\')
			i++;
		TFS_TRY(tfs_buf_append(&p->scratch, s + run, i - run));
		if (i >= end)
			break;
		size_t esc = i++;
		uint8_t c = s[i++], b;
		switch (c) {
		case 'a': b = '\a'; break;
		case 'b': b = '\b'; break;
		case 'f': b = '\f'; break;
		case 'n': b = '\n'; break;
		case 'r': b = '\r'; break;
		case 't': b = '\t'; break;
		case 'v': b = '\v'; break;
		case '\\': b = '\\'; break;
		case '\'': b = '\''; break;
		case '"': b = '"'; break;
		case '?': b = '?'; break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
			unsigned v = c - '0';
			for (int k = 0; k < 2 && i < end && s[i] >= '0' && s[i] <= '7'; k++)
				v = v * 8 + (unsigned)(s[i++] - '0');
			if (v > 0xff)
				return perr(p, TFSHRINK_ECORRUPT, esc, "octal escape above \\377");
			b = (uint8_t)v;
			break;
		}
		case 'x': case 'X': {
			if (i >= end || !is_hex(s[i]))
				return perr(p, TFSHRINK_ECORRUPT, esc, "'\\x' without hex digits");
			unsigned v = (unsigned)hex_value(s[i++]);
			if (i < end && is_hex(s[i]))
				v = v * 16 + (unsigned)hex_value(s[i++]);
			b = (uint8_t)v;
			break;
		}
		case 'u': case 'U': {
			uint32_t u;
			if (!read_hex_digits(s, &i, end, c == 'u' ? 4 : 8, &u))
				return perr(p, TFSHRINK_ECORRUPT, esc, "'\\%c' needs %d hex digits", c, c == 'u' ? 4 : 8);
			if (u >= 0xd800 && u < 0xdc00 && i + 1 < end && s[i] == '\\' && s[i + 1] == 'u') {
				size_t j = i + 2;
				uint32_t lo;
				if (read_hex_digits(s, &j, end, 4, &lo) && lo >= 0xdc00 && lo < 0xe000) {
					u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
					i = j;
				}
			}
			if (u > 0x10ffff || (u >= 0xd800 && u < 0xe000))
				return perr(p, TFSHRINK_ECORRUPT, esc, "'\\%c' escape is not a Unicode scalar value", c);
			TFS_TRY(put_utf8(p, u));
			continue;
		}
		default:
			return perr(p, TFSHRINK_ECORRUPT, esc, "unknown escape sequence '\\%c'", c);
		}
		TFS_TRY(tfs_buf_append(&p->scratch, &b, 1));
	}
	return 0;
}

/* One or more adjacent string literals, decoded and concatenated. */
static int read_string(parser *p)
{
	if (p->tok.kind != T_STRING)
		return unexpected(p, "a string");
	p->scratch.len = 0;
	while (p->tok.kind == T_STRING) {
		TFS_TRY(decode_string(p));
		TFS_TRY(next(p));
	}
	return 0;
}

static int parse_scalar(parser *p, const ProtobufCFieldDescriptor *f)
{
	uint32_t num = f->id;
	size_t at = p->tok.start;
	int64_t sv;
	uint64_t uv;
	double d;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
		TFS_TRY(read_signed(p, INT32_MIN, INT32_MAX, &sv));
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, (uint64_t)sv);
	case PROTOBUF_C_TYPE_INT64:
		TFS_TRY(read_signed(p, INT64_MIN, INT64_MAX, &sv));
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, (uint64_t)sv);
	case PROTOBUF_C_TYPE_SINT32:
		TFS_TRY(read_signed(p, INT32_MIN, INT32_MAX, &sv));
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, ((uint32_t)sv << 1) ^ (uint32_t)(sv < 0 ? -1 : 0));
	case PROTOBUF_C_TYPE_SINT64:
		TFS_TRY(read_signed(p, INT64_MIN, INT64_MAX, &sv));
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, ((uint64_t)sv << 1) ^ (uint64_t)(sv < 0 ? -1 : 0));
	case PROTOBUF_C_TYPE_SFIXED32:
		TFS_TRY(read_signed(p, INT32_MIN, INT32_MAX, &sv));
		TFS_TRY(put_tag(p, num, WT_32BIT));
		return put_fixed(p, (uint64_t)sv, 4);
	case PROTOBUF_C_TYPE_SFIXED64:
		TFS_TRY(read_signed(p, INT64_MIN, INT64_MAX, &sv));
		TFS_TRY(put_tag(p, num, WT_64BIT));
		return put_fixed(p, (uint64_t)sv, 8);
	case PROTOBUF_C_TYPE_UINT32:
		TFS_TRY(read_unsigned(p, UINT32_MAX, &uv));
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, uv);
	case PROTOBUF_C_TYPE_UINT64:
		TFS_TRY(read_unsigned(p, UINT64_MAX, &uv));
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, uv);
	case PROTOBUF_C_TYPE_FIXED32:
		TFS_TRY(read_unsigned(p, UINT32_MAX, &uv));
		TFS_TRY(put_tag(p, num, WT_32BIT));
		return put_fixed(p, uv, 4);
	case PROTOBUF_C_TYPE_FIXED64:
		TFS_TRY(read_unsigned(p, UINT64_MAX, &uv));
		TFS_TRY(put_tag(p, num, WT_64BIT));
		return put_fixed(p, uv, 8);
	case PROTOBUF_C_TYPE_BOOL: {
		uint64_t b;
		if (at_ident(p, "true") || at_ident(p, "True") || at_ident(p, "t")) {
			b = 1;
			TFS_TRY(next(p));
		} else if (at_ident(p, "false") || at_ident(p, "False") || at_ident(p, "f")) {
			b = 0;
			TFS_TRY(next(p));
		} else if (p->tok.kind == T_INT) {
			TFS_TRY(read_unsigned(p, 1, &b));
		} else {
			return unexpected(p, "true or false");
		}
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, b);
	}
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		if (p->tok.kind == T_IDENT) {
			char name[NAME_MAX_LEN];
			const ProtobufCEnumValue *ev = NULL;
			if (ed && tok_name(p, name, sizeof name))
				ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
			if (!ev) {
				char t[64];
				return perr(p, TFSHRINK_ECORRUPT, at, "unknown value %s for enum %s (field %s)",
				            tok_text(p, t, sizeof t), ed ? ed->name : "?", f->name);
			}
			sv = ev->value;
			TFS_TRY(next(p));
		} else {
			TFS_TRY(read_signed(p, INT32_MIN, INT32_MAX, &sv));
		}
		TFS_TRY(put_tag(p, num, WT_VARINT));
		return tfs_buf_put_varint(&p->out, (uint64_t)sv);
	}
	case PROTOBUF_C_TYPE_FLOAT: {
		TFS_TRY(read_double(p, &d));
		float fl;
		if (isfinite(d) && d > FLT_MAX)
			fl = INFINITY;
		else if (isfinite(d) && d < -FLT_MAX)
			fl = -INFINITY;
		else
			fl = (float)d;
		uint32_t bits;
		memcpy(&bits, &fl, 4);
		TFS_TRY(put_tag(p, num, WT_32BIT));
		return put_fixed(p, bits, 4);
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		TFS_TRY(read_double(p, &d));
		uint64_t bits;
		memcpy(&bits, &d, 8);
		TFS_TRY(put_tag(p, num, WT_64BIT));
		return put_fixed(p, bits, 8);
	}
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
		TFS_TRY(read_string(p));
		TFS_TRY(put_tag(p, num, WT_LEN));
		TFS_TRY(tfs_buf_put_varint(&p->out, p->scratch.len));
		return tfs_buf_append(&p->out, p->scratch.data, p->scratch.len);
	case PROTOBUF_C_TYPE_MESSAGE:
	default:
		return perr(p, TFSHRINK_EUNSUPPORTED, at, "field %s has a type this reader does not handle", f->name);
	}
}

/* -------------------------------------------------------------- messages */

static int parse_body(parser *p, const ProtobufCMessageDescriptor *d, char closer);

static bool is_any(const ProtobufCMessageDescriptor *d)
{
	if (strcmp(d->short_name, "Any") != 0)
		return false;
	const ProtobufCFieldDescriptor *t = protobuf_c_message_descriptor_get_field_by_name(d, "type_url");
	const ProtobufCFieldDescriptor *v = protobuf_c_message_descriptor_get_field_by_name(d, "value");
	return t && v && t->type == PROTOBUF_C_TYPE_STRING && v->type == PROTOBUF_C_TYPE_BYTES &&
	       t->label != PROTOBUF_C_LABEL_REPEATED && v->label != PROTOBUF_C_LABEL_REPEATED;
}

/* Consumes '{' or '<' and returns the matching closer in *closer. */
static int open_brace(parser *p, char *closer)
{
	if (at_sym(p, '{'))
		*closer = '}';
	else if (at_sym(p, '<'))
		*closer = '>';
	else
		return unexpected(p, "'{' or '<'");
	return next(p);
}

static int enter(parser *p, size_t at)
{
	if (p->depth >= TFS_MAX_PB_DEPTH)
		return perr(p, TFSHRINK_ELIMIT, at, "nesting deeper than %d messages", TFS_MAX_PB_DEPTH);
	p->depth++;
	return 0;
}

/* `{ ... }` or `< ... >` of message type d, emitted as field `num`. */
static int parse_message_value(parser *p, uint32_t num, const ProtobufCMessageDescriptor *d)
{
	size_t at = p->tok.start, mark;
	char closer = 0;
	TFS_TRY(open_brace(p, &closer));
	TFS_TRY(enter(p, at));
	TFS_TRY(begin_len(p, num, &mark));
	TFS_TRY(parse_body(p, d, closer));
	TFS_TRY(next(p)); /* the closer */
	TFS_TRY(end_len(p, mark, at));
	p->depth--;
	return 0;
}

/*
 * `[type.googleapis.com/pkg.Type] { ... }` inside an Any (d): emits type_url
 * and value, the value being the canonical encoding of the inner message.
 */
static int parse_any_expansion(parser *p, const ProtobufCMessageDescriptor *d)
{
	size_t at = p->tok.start;
	TFS_TRY(next(p)); /* '[' */
	char url[NAME_MAX_LEN];
	size_t ulen = 0;
	while (p->tok.kind == T_IDENT || at_sym(p, '.') || at_sym(p, '/')) {
		size_t len = p->tok.end - p->tok.start;
		if (ulen + len >= sizeof url)
			return perr(p, TFSHRINK_ELIMIT, at, "type URL longer than %d bytes", NAME_MAX_LEN - 1);
		memcpy(url + ulen, p->s + p->tok.start, len);
		ulen += len;
		TFS_TRY(next(p));
	}
	url[ulen] = '\0';
	TFS_TRY(expect_sym(p, ']'));
	const char *slash = strrchr(url, '/');
	if (!slash || !slash[1])
		return perr(p, TFSHRINK_ECORRUPT, at, "'[%s]' is not a type URL (prefix/package.Type)", url);
	const ProtobufCMessageDescriptor *inner = tfs_pb_find_message(p->root, slash + 1);
	if (!inner)
		return perr(p, TFSHRINK_EUNSUPPORTED, at, "Any holds %s, a type this reader does not know", slash + 1);
	if (at_sym(p, ':'))
		TFS_TRY(next(p));

	/* Encode the inner message on its own, then canonicalize it. */
	size_t brace = p->tok.start;
	char closer = 0;
	TFS_TRY(open_brace(p, &closer));
	TFS_TRY(enter(p, brace));
	tfs_buf saved = p->out;
	p->out = (tfs_buf){ 0 };
	int rc = parse_body(p, inner, closer);
	if (rc == 0)
		rc = next(p);
	ProtobufCMessage *m = NULL;
	if (rc == 0)
		rc = tfs_pb_unpack(inner, p->out.data, p->out.len, p->path, &m);
	tfs_buf_free(&p->out);
	p->out = saved;
	if (rc < 0)
		return rc;
	p->depth--;
	uint8_t *val = NULL;
	size_t vlen = 0;
	rc = tfs_pb_pack(m, &val, &vlen);
	protobuf_c_message_free_unpacked(m, NULL);
	if (rc < 0)
		return rc;

	const ProtobufCFieldDescriptor *tf = protobuf_c_message_descriptor_get_field_by_name(d, "type_url");
	const ProtobufCFieldDescriptor *vf = protobuf_c_message_descriptor_get_field_by_name(d, "value");
	rc = put_tag(p, tf->id, WT_LEN);
	if (rc == 0)
		rc = tfs_buf_put_varint(&p->out, ulen);
	if (rc == 0)
		rc = tfs_buf_append(&p->out, url, ulen);
	if (rc == 0)
		rc = put_tag(p, vf->id, WT_LEN);
	if (rc == 0)
		rc = tfs_buf_put_varint(&p->out, vlen);
	if (rc == 0)
		rc = tfs_buf_append(&p->out, val, vlen);
	free(val);
	return rc;
}

static int parse_field(parser *p, const ProtobufCMessageDescriptor *d)
{
	size_t at = p->tok.start;
	if (p->tok.kind != T_IDENT)
		return unexpected(p, "a field name");
	char name[NAME_MAX_LEN];
	const ProtobufCFieldDescriptor *f = NULL;
	if (tok_name(p, name, sizeof name))
		f = protobuf_c_message_descriptor_get_field_by_name(d, name);
	if (!f) {
		char t[64];
		return perr(p, TFSHRINK_ECORRUPT, at, "unknown field %s in %s", tok_text(p, t, sizeof t), d->name);
	}
	TFS_TRY(next(p));
	bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;

	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		if (!f->descriptor)
			return perr(p, TFSHRINK_EUNSUPPORTED, at, "field %s has no descriptor", f->name);
		if (at_sym(p, ':'))
			TFS_TRY(next(p));
		if (!at_sym(p, '['))
			return parse_message_value(p, f->id, f->descriptor);
	} else {
		TFS_TRY(expect_sym(p, ':'));
		if (!at_sym(p, '['))
			return parse_scalar(p, f);
	}

	/* [a, b, ...] */
	if (!repeated)
		return perr(p, TFSHRINK_ECORRUPT, p->tok.start, "a list for %s, which is not a repeated field", f->name);
	TFS_TRY(next(p));
	if (at_sym(p, ']'))
		return next(p);
	for (;;) {
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			TFS_TRY(parse_message_value(p, f->id, f->descriptor));
		else
			TFS_TRY(parse_scalar(p, f));
		if (at_sym(p, ']'))
			return next(p);
		TFS_TRY(expect_sym(p, ','));
	}
}

/* Fields of d up to (not including) `closer`, or to the end of the text when
 * closer is 0. */
static int parse_body(parser *p, const ProtobufCMessageDescriptor *d, char closer)
{
	bool expanded = false;
	for (;;) {
		if (closer ? at_sym(p, closer) : p->tok.kind == T_EOF)
			return 0;
		if (p->tok.kind == T_EOF) {
			char want[32];
			snprintf(want, sizeof want, "'%c' to close %s", closer, d->short_name);
			return unexpected(p, want);
		}
		if (expanded)
			return unexpected(p, "the end of the Any after its expanded value");
		if (at_sym(p, '[')) {
			if (!is_any(d))
				return perr(p, TFSHRINK_EUNSUPPORTED, p->tok.start,
				            "extension fields ('[...]') are not supported (in %s)", d->name);
			TFS_TRY(parse_any_expansion(p, d));
			expanded = true;
		} else {
			TFS_TRY(parse_field(p, d));
		}
		if (p->out.len > TFS_MAX_PB_BYTES)
			return perr(p, TFSHRINK_ELIMIT, p->tok.start, "the text encodes a message larger than %llu bytes",
			            (unsigned long long)TFS_MAX_PB_BYTES);
		if (at_sym(p, ',') || at_sym(p, ';'))
			TFS_TRY(next(p));
	}
}

int tfs_pbtext_parse(const ProtobufCMessageDescriptor *d, const uint8_t *text, size_t n,
                     const char *path, ProtobufCMessage **out)
{
	if (!d || !out || (!text && n))
		return tfs_err(TFSHRINK_EINVAL, path, -1, "tfs_pbtext_parse: bad arguments");
	if ((uint64_t)n > TFS_MAX_PBTEXT_BYTES)
		return tfs_err(TFSHRINK_ELIMIT, path, -1, "text protobuf of %zu bytes is larger than the %llu-byte limit",
		               n, (unsigned long long)TFS_MAX_PBTEXT_BYTES);
	static const uint8_t empty[1];
	parser p = { .s = text ? text : empty, .n = n, .path = path, .root = d };
	int rc = next(&p);
	if (rc == 0)
		rc = parse_body(&p, d, 0);
	tfs_buf_free(&p.scratch);
	if (rc == 0) {
		rc = tfs_pb_unpack(d, p.out.data ? p.out.data : empty, p.out.len, path, out);
		if (rc < 0)
			tfs_err_context("%s (as encoded from text)", d->name);
	}
	tfs_buf_free(&p.out);
	return rc;
}
