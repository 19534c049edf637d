/* ckd.h - overflow-checked arithmetic (C23 ckd_* style, via GCC/Clang builtins). */
#ifndef TFS_CKD_H
#define TFS_CKD_H
#include <stdbool.h>
#include <stdint.h>

/* Each returns true on overflow, like C23 ckd_add. */
#define tfs_ckd_add(r, a, b) __builtin_add_overflow((a), (b), (r))
#define tfs_ckd_sub(r, a, b) __builtin_sub_overflow((a), (b), (r))
#define tfs_ckd_mul(r, a, b) __builtin_mul_overflow((a), (b), (r))

/* true when [off, off+len) lies inside [0, size). */
static inline bool tfs_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}
#endif
