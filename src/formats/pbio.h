/*
 * pbio.h - protobuf binary I/O with the checks protobuf-c does not make.
 *
 * protobuf-c (1.4.1) unpacks submessages by recursing, with no depth limit,
 * and fails with a bare NULL. tfs_pb_check walks the wire format first,
 * without recursion, driven by the generated descriptors, so that a hostile
 * file fails with ECORRUPT/ELIMIT, a reason and a byte offset instead of
 * exhausting the stack or failing silently.
 *
 * Messages returned here are allocated with the system allocator: free them
 * with protobuf_c_message_free_unpacked(m, NULL) (or the generated
 * tensorflow__*__free_unpacked(m, NULL)).
 */
#ifndef TFS_PBIO_H
#define TFS_PBIO_H
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Checks that data[0..n) is well-formed wire format for message type d:
 * tags (field number 1..2^29-1, at most 5 bytes; wire types 0, 1, 2, 5 only:
 * groups are refused), varints of at most 10 bytes, length prefixes of at
 * most 5 bytes that stay inside the enclosing message, fixed-width values
 * that are not cut off, known fields with the wire type their descriptor type
 * needs (repeated scalars packed or not; packed payloads made of whole
 * values), and nesting of known message-typed fields (map entries included)
 * of at most max_depth levels below the root (max_depth < 0 or above
 * TFS_MAX_PB_DEPTH means TFS_MAX_PB_DEPTH). Unknown fields are skipped, not
 * descended. `path` names the file in error messages; offsets are from data.
 * Errors: ECORRUPT, ELIMIT ("nesting deeper than N").
 */
int tfs_pb_check(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t n,
                 const char *path, int max_depth);

/*
 * Size limit (TFS_MAX_PB_BYTES: ELIMIT), tfs_pb_check with TFS_MAX_PB_DEPTH,
 * then protobuf_c_message_unpack. *out is set only on success.
 * Errors: ELIMIT, ECORRUPT ("cannot parse <message name>" when protobuf-c
 * refuses what the check let through), ENOMEM.
 */
int tfs_pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t n,
                  const char *path, ProtobufCMessage **out);

/*
 * Serializes m into a malloc'd buffer (*out, *n; free() it). An empty
 * message gives a valid 1-byte allocation and *n == 0.
 * Errors: EINVAL (m fails protobuf_c_message_check: a NULL string or
 * submessage where one is required), ELIMIT (2 GiB or more), ENOMEM,
 * EVERIFY (protobuf-c wrote a different size than it announced).
 */
int tfs_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *n);

/*
 * Message type named `full_name` (e.g. "tensorflow.AssetFileDef") among the
 * root and every message type reachable from it through message-typed fields
 * (a breadth-first walk of the descriptors, no recursion), or NULL (also when
 * out of memory). Used to resolve google.protobuf.Any type URLs.
 */
const ProtobufCMessageDescriptor *tfs_pb_find_message(const ProtobufCMessageDescriptor *root,
                                                      const char *full_name);

#endif
