/* sort.h - qsort, qsort_r and bsearch that accept an empty array. The C
 * library declares their array pointer nonnull even for zero elements, and
 * an empty array here is often a NULL pointer (UBSan reports the call). */
#ifndef TFS_SORT_H
#define TFS_SORT_H
#include <stdlib.h>

static inline void tfs_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static inline void tfs_qsort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *),
                               void *ctx)
{
	if (n > 1)
		qsort_r(base, n, size, cmp, ctx);
}

static inline void *tfs_bsearch(const void *key, const void *base, size_t n, size_t size,
                                int (*cmp)(const void *, const void *))
{
	return n ? bsearch(key, base, n, size, cmp) : NULL;
}
#endif
