/* fuzz_util.c - helpers shared by the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "tfshrink.h"

#ifndef TFS_SOURCE_DIR
#define TFS_SOURCE_DIR "."
#endif

static char *tmpdir;
static pid_t tmpdir_owner;

static void remove_tmpdir(void)
{
	/* Forked children (none today) must not remove their parent's directory. */
	if (tmpdir && getpid() == tmpdir_owner)
		tfs_remove_tree(tmpdir);
}

const char *fuzz_tmpdir(void)
{
	if (tmpdir)
		return tmpdir;
	const char *t = getenv("TMPDIR");
	if (!t || !*t)
		t = "/tmp";
	size_t n = strlen(t) + 32;
	char *p = malloc(n);
	FUZZ_ASSERT(p);
	snprintf(p, n, "%s/tfshrink-fuzz-XXXXXX", t);
	if (!mkdtemp(p)) {
		fprintf(stderr, "fuzz: cannot create a directory under %s: %s\n", t, strerror(errno));
		abort();
	}
	tmpdir = p;
	tmpdir_owner = getpid();
	atexit(remove_tmpdir);
	return tmpdir;
}

char *fuzz_path(const char *rel)
{
	const char *d = fuzz_tmpdir();
	size_t n = strlen(d) + strlen(rel) + 2;
	char *p = malloc(n);
	FUZZ_ASSERT(p);
	snprintf(p, n, "%s/%s", d, rel);
	return p;
}

void fuzz_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
	FUZZ_ASSERT(n == 0 || fwrite(p, 1, n, f) == n);
	FUZZ_ASSERT(fclose(f) == 0);
}

uint8_t *fuzz_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz: cannot read %s: %s\n", path, strerror(errno));
		abort();
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	FUZZ_ASSERT(buf);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			FUZZ_ASSERT(buf);
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	FUZZ_ASSERT(!ferror(f));
	fclose(f);
	*n = len;
	return buf;
}

char *fuzz_fixture(const char *name)
{
	const char *src = getenv("TFSHRINK_SOURCE_DIR");
	if (!src || !*src)
		src = TFS_SOURCE_DIR;
	size_t n = strlen(src) + strlen(name) + 32;
	char *p = malloc(n);
	FUZZ_ASSERT(p);
	snprintf(p, n, "%s/tests/fixtures/models/%s", src, name);
	return p;
}

uint32_t fuzz_take_u32(const uint8_t **p, size_t *n)
{
	if (*n < 4)
		return 0;
	uint32_t v = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 | (uint32_t)(*p)[2] << 16 | (uint32_t)(*p)[3] << 24;
	*p += 4;
	*n -= 4;
	return v;
}

uint8_t fuzz_take_u8(const uint8_t **p, size_t *n)
{
	if (*n < 1)
		return 0;
	uint8_t v = (*p)[0];
	*p += 1;
	*n -= 1;
	return v;
}

int fuzz_note(const char *stage, int rc)
{
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose) {
		const tfshrink_error *e = tfshrink_error_last();
		fprintf(stderr, "%s: %d %s%s%s\n", stage, rc, rc < 0 ? e->message : "ok", rc < 0 && e->path ? " @ " : "",
		        rc < 0 && e->path ? e->path : "");
	}
	return rc;
}
