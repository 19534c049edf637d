#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX 1024
#define PATH_MAX_LEN 4096

static _Thread_local char tls_msg[MSG_MAX];
static _Thread_local char tls_path[PATH_MAX_LEN];
static _Thread_local tfshrink_error tls_err = { TFSHRINK_OK, "", NULL, -1 };

/* Messages are one line: control characters from file contents become '?'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int tfs_err(int code, const char *path, int64_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
	va_end(ap);
	sanitize(tls_msg);
	if (path) {
		snprintf(tls_path, sizeof tls_path, "%s", path);
		sanitize(tls_path);
	}
	tls_err.code = code;
	tls_err.message = tls_msg;
	tls_err.path = path ? tls_path : NULL;
	tls_err.offset = offset;
	return code;
}

int tfs_nomem(void)
{
	return tfs_err(TFSHRINK_ENOMEM, NULL, -1, "out of memory");
}

int tfs_err_errno(const char *path, const char *what)
{
	int e = errno;
	int code = (e == ENOENT) ? TFSHRINK_ENOTFOUND : TFSHRINK_EIO;
	return tfs_err(code, path, -1, "%s: %s", what, strerror(e));
}

void tfs_err_context(const char *fmt, ...)
{
	char ctx[256], old[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	size_t cl = strlen(ctx);
	memcpy(old, tls_msg, sizeof old);
	old[sizeof old - 1] = '\0';
	if (cl + 2 >= sizeof tls_msg)
		cl = sizeof tls_msg - 3;
	memcpy(tls_msg, ctx, cl);
	tls_msg[cl] = ':';
	tls_msg[cl + 1] = ' ';
	size_t room = sizeof tls_msg - cl - 3;
	size_t ol = strlen(old);
	if (ol > room)
		ol = room;
	memcpy(tls_msg + cl + 2, old, ol);
	tls_msg[cl + 2 + ol] = '\0';
	sanitize(tls_msg);
}

void tfs_err_clear(void)
{
	tls_msg[0] = '\0';
	tls_err.code = TFSHRINK_OK;
	tls_err.message = tls_msg;
	tls_err.path = NULL;
	tls_err.offset = -1;
}

const tfshrink_error *tfshrink_error_last(void)
{
	if (!tls_err.message)
		tls_err.message = tls_msg;
	return &tls_err;
}

const char *tfshrink_code_name(int code)
{
	switch (code) {
	case TFSHRINK_OK: return "ok";
	case TFSHRINK_ERROR: return "error";
	case TFSHRINK_ENOMEM: return "out of memory";
	case TFSHRINK_EIO: return "I/O error";
	case TFSHRINK_ENOTFOUND: return "not found";
	case TFSHRINK_EINVAL: return "invalid argument";
	case TFSHRINK_ECORRUPT: return "corrupt input";
	case TFSHRINK_EUNSUPPORTED: return "unsupported input";
	case TFSHRINK_ELIMIT: return "limit exceeded";
	case TFSHRINK_EVERIFY: return "verification failed";
	case TFSHRINK_EEXIST: return "output exists";
	default: return "unknown error";
	}
}

const char *tfshrink_version(void)
{
	return TFSHRINK_VERSION_STRING;
}
