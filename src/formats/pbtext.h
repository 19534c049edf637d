/*
 * pbtext.h - protobuf text format (what TensorFlow writes to
 * saved_model.pbtxt) read through protobuf-c descriptors.
 *
 * protobuf-c has no text-format support and Debian packages no C library
 * for it, so this is a small parser of our own: it encodes the text into
 * protobuf wire bytes, then unpacks those with tfs_pb_unpack.
 */
#ifndef TFS_PBTEXT_H
#define TFS_PBTEXT_H
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Largest text file accepted (ELIMIT beyond); the message it encodes must
 * also stay under TFS_MAX_PB_BYTES. */
#define TFS_MAX_PBTEXT_BYTES ((uint64_t)1 << 32)

/*
 * Parses text[0..n) (a complete message of type d in protobuf text format)
 * into a new message, freed with protobuf_c_message_free_unpacked(m, NULL).
 * Accepts: `name: value`, `name { ... }`, `name: { ... }`, `name < ... >`,
 * repeated fields by repetition or `name: [a, b]`, map entries as
 * `key: .. value: ..` submessages, enums by name or number, strings and bytes
 * with C escapes (\n \t \" \' \\ \NNN \xHH \uXXXX \UXXXXXXXX) and adjacent
 * literals concatenated, floats (1, 1.5, 1e-05, 1.0f, inf, -inf, nan),
 * integers in decimal, hex (0x) or octal (leading 0) with a sign, bools
 * (true/false/True/False/t/f/1/0), `#` comments, `,` or `;` after a field,
 * and expanded Any: `[type.googleapis.com/pkg.Type] { ... }` when pkg.Type is
 * reachable from d. Nesting is limited to TFS_MAX_PB_DEPTH messages.
 * Errors carry `path`, the byte offset and "line L, column C":
 * ECORRUPT (syntax, unknown field or enum name, value out of range),
 * EUNSUPPORTED (extensions, an Any of a type not reachable from d),
 * ELIMIT, ENOMEM.
 */
int tfs_pbtext_parse(const ProtobufCMessageDescriptor *d, const uint8_t *text, size_t n,
                     const char *path, ProtobufCMessage **out);

#endif
