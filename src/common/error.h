/* error.h - internal side of tfshrink_error: record a failure and return its code. */
#ifndef TFS_ERROR_H
#define TFS_ERROR_H
#include <stdint.h>
#include "tfshrink.h"

/* Records code, path (may be NULL), offset (-1 if none) and a printf message
 * as this thread's last error; returns code so callers can `return tfs_err(...)`. */
int tfs_err(int code, const char *path, int64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Records ENOMEM. */
int tfs_nomem(void);
/* Records EIO from errno for an operation on path. */
int tfs_err_errno(const char *path, const char *what);
/* Prefixes the current message with "ctx: " (e.g. the enclosing entry name). */
void tfs_err_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tfs_err_clear(void);

#define TFS_TRY(expr) do { int tfs_rc_ = (expr); if (tfs_rc_ < 0) return tfs_rc_; } while (0)
#endif
