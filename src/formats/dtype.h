/* dtype.h - facts about TensorFlow's DataType values. */
#ifndef TFS_DTYPE_H
#define TFS_DTYPE_H
#include <stdint.h>

enum {
	TFS_DT_INVALID = 0, TFS_DT_FLOAT = 1, TFS_DT_DOUBLE = 2, TFS_DT_INT32 = 3,
	TFS_DT_UINT8 = 4, TFS_DT_INT16 = 5, TFS_DT_INT8 = 6, TFS_DT_STRING = 7,
	TFS_DT_COMPLEX64 = 8, TFS_DT_INT64 = 9, TFS_DT_BOOL = 10, TFS_DT_QINT8 = 11,
	TFS_DT_QUINT8 = 12, TFS_DT_QINT32 = 13, TFS_DT_BFLOAT16 = 14, TFS_DT_QINT16 = 15,
	TFS_DT_QUINT16 = 16, TFS_DT_UINT16 = 17, TFS_DT_COMPLEX128 = 18, TFS_DT_HALF = 19,
	TFS_DT_RESOURCE = 20, TFS_DT_VARIANT = 21, TFS_DT_UINT32 = 22, TFS_DT_UINT64 = 23,
	TFS_DT_LAST = 33 /* DT_FLOAT4_E2M1FN */
};

/* Bytes per element of a memcpy-able dtype; 0 for string, variant, resource,
 * sub-byte or unknown types. */
int tfs_dtype_size(int dtype);
/* 1 for a value a tensor may have (not invalid, not a _REF type, in range). */
int tfs_dtype_valid(int dtype);
/* numpy-style name: "float32", "string"... ; "dtype(N)" for others. */
const char *tfs_dtype_name(int dtype);
#endif
