/*
 * limits.h - every bound tfshrink places on what it reads, in one place.
 * Documented in docs/LIMITS.md; an input beyond one fails with TFSHRINK_ELIMIT.
 */
#ifndef TFS_LIMITS_H
#define TFS_LIMITS_H

/* saved_model.pb: protobuf's own 2 GiB message limit. */
#define TFS_MAX_PB_BYTES ((uint64_t)2147483647u)
/* Side files parsed as protobuf (fingerprint.pb, debug info, keras metadata). */
#define TFS_MAX_SIDE_PB_BYTES ((uint64_t)2147483647u)
/* Nesting of protobuf messages (C++ protobuf's default recursion limit). */
#define TFS_MAX_PB_DEPTH 100
/* variables.index: TensorFlow writes one index entry per tensor. */
#define TFS_MAX_INDEX_BYTES ((uint64_t)1 << 31)
/* One table block after decompression. */
#define TFS_MAX_BLOCK_BYTES ((uint64_t)1 << 30)
/* Checkpoint keys (TF imposes none; real keys are < 1 KiB). */
#define TFS_MAX_KEY_BYTES ((uint64_t)1 << 16)
/* Entries in one bundle. */
#define TFS_MAX_TENSORS 10000000u
/* Data shards in one bundle (the file name format has 5 digits). */
#define TFS_MAX_SHARDS 99999
/* Dimensions of one tensor (TensorShape's own limit). */
#define TFS_MAX_DIMS 254
/* Elements of one tensor: bytes must stay below 2^62. */
#define TFS_MAX_ELEMENTS ((int64_t)1 << 58)
/* Files walked under a model directory. */
#define TFS_MAX_FILES 1000000u
/* Directory nesting walked under a model directory. */
#define TFS_MAX_DIR_DEPTH 64

#endif
