#include "fsutil.h"
#include "sort.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "tfs_limits.h"

int tfs_map_open(tfs_map *m, const char *path, uint64_t max_size)
{
	memset(m, 0, sizeof *m);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tfs_err_errno(path, "cannot open");
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = tfs_err_errno(path, "cannot stat");
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return tfs_err(TFSHRINK_ECORRUPT, path, -1, "not a regular file");
	}
	if ((uint64_t)st.st_size > max_size) {
		close(fd);
		return tfs_err(TFSHRINK_ELIMIT, path, -1, "file is %" PRIu64 " bytes, over the limit of %" PRIu64,
		               (uint64_t)st.st_size, max_size);
	}
	m->size = (uint64_t)st.st_size;
	if (m->size > 0) {
		void *p = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			int rc = tfs_err_errno(path, "cannot map");
			close(fd);
			return rc;
		}
		m->data = p;
	}
	close(fd);
	m->path = strdup(path);
	if (!m->path) {
		tfs_map_close(m);
		return tfs_nomem();
	}
	return 0;
}

void tfs_map_release(const tfs_map *m, uint64_t off, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!m->data || page <= 0 || off >= m->size)
		return;
	uint64_t start = off - off % (uint64_t)page;
	uint64_t end = off + len > m->size ? m->size : off + len;
	end -= end % (uint64_t)page; /* keep the partial page still in use */
	if (end > start)
		madvise((void *)(m->data + start), (size_t)(end - start), MADV_DONTNEED);
}

void tfs_map_close(tfs_map *m)
{
	if (m->data)
		munmap((void *)m->data, (size_t)m->size);
	free(m->path);
	memset(m, 0, sizeof *m);
}

char *tfs_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 2);
	if (!r) {
		tfs_nomem();
		return NULL;
	}
	memcpy(r, a, la);
	size_t n = la;
	if (la && a[la - 1] != '/')
		r[n++] = '/';
	memcpy(r + n, b, lb + 1);
	return r;
}

int tfs_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int tfs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int tfs_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

typedef struct walk_state {
	tfs_file_entry *v;
	size_t n, cap;
	const char *root;
	char *root_real;
} walk_state;

static int walk_add(walk_state *w, const char *rel, uint64_t size)
{
	if (w->n >= TFS_MAX_FILES)
		return tfs_err(TFSHRINK_ELIMIT, w->root, -1, "more than %u files", TFS_MAX_FILES);
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 32;
		tfs_file_entry *v = realloc(w->v, cap * sizeof *v);
		if (!v)
			return tfs_nomem();
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n].rel = strdup(rel);
	if (!w->v[w->n].rel)
		return tfs_nomem();
	w->v[w->n].size = size;
	w->n++;
	return 0;
}

static int walk_dir(walk_state *w, const char *rel, int depth)
{
	if (depth > TFS_MAX_DIR_DEPTH)
		return tfs_err(TFSHRINK_ELIMIT, w->root, -1, "directories nested deeper than %d", TFS_MAX_DIR_DEPTH);
	char *abs = *rel ? tfs_path_join(w->root, rel) : strdup(w->root);
	if (!abs)
		return tfs_nomem();
	DIR *d = opendir(abs);
	if (!d) {
		int rc = tfs_err_errno(abs, "cannot list directory");
		free(abs);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *crel = *rel ? tfs_path_join(rel, e->d_name) : strdup(e->d_name);
		char *cabs = crel ? tfs_path_join(w->root, crel) : NULL;
		if (!crel || !cabs) {
			free(crel);
			free(cabs);
			rc = tfs_nomem();
			break;
		}
		struct stat lst, st;
		if (lstat(cabs, &lst) != 0) {
			rc = tfs_err_errno(cabs, "cannot stat");
		} else if (S_ISLNK(lst.st_mode)) {
			char *real = realpath(cabs, NULL);
			size_t rl = strlen(w->root_real);
			if (!real || strncmp(real, w->root_real, rl) != 0 || real[rl] != '/')
				rc = tfs_err(TFSHRINK_ECORRUPT, cabs, -1, "symbolic link leads outside the model directory");
			else if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
				rc = tfs_err(TFSHRINK_ECORRUPT, cabs, -1, "symbolic link to something other than a file");
			else
				rc = walk_add(w, crel, (uint64_t)st.st_size);
			free(real);
		} else if (S_ISDIR(lst.st_mode)) {
			rc = walk_dir(w, crel, depth + 1);
		} else if (S_ISREG(lst.st_mode)) {
			rc = walk_add(w, crel, (uint64_t)lst.st_size);
		} /* sockets, fifos, devices: not model content */
		free(crel);
		free(cabs);
	}
	if (rc == 0 && errno != 0)
		rc = tfs_err_errno(abs, "cannot list directory");
	closedir(d);
	free(abs);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const tfs_file_entry *)a)->rel, ((const tfs_file_entry *)b)->rel);
}

int tfs_walk_files(const char *root, tfs_file_entry **out, size_t *n_out)
{
	walk_state w = { 0 };
	w.root = root;
	w.root_real = realpath(root, NULL);
	if (!w.root_real)
		return tfs_err_errno(root, "cannot resolve");
	int rc = walk_dir(&w, "", 0);
	free(w.root_real);
	if (rc < 0) {
		tfs_walk_free(w.v, w.n);
		return rc;
	}
	if (w.n)
		tfs_qsort(w.v, w.n, sizeof *w.v, cmp_entry);
	*out = w.v;
	*n_out = w.n;
	return 0;
}

void tfs_walk_free(tfs_file_entry *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i].rel);
	free(files);
}

int tfs_out_open(tfs_out *o, const char *path)
{
	o->written = 0;
	o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		o->path = NULL;
		return tfs_err_errno(path, "cannot create");
	}
	o->path = strdup(path);
	if (!o->path) {
		close(o->fd);
		o->fd = -1;
		return tfs_nomem();
	}
	return 0;
}

int tfs_out_write(tfs_out *o, const void *p, size_t n)
{
	const uint8_t *q = p;
	while (n) {
		ssize_t w = write(o->fd, q, n > (1u << 30) ? (1u << 30) : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return tfs_err_errno(o->path, "cannot write");
		}
		q += w;
		n -= (size_t)w;
		o->written += (uint64_t)w;
	}
	return 0;
}

int tfs_out_close(tfs_out *o)
{
	int rc = 0;
	if (o->fd >= 0) {
		if (fsync(o->fd) != 0 && errno != EINVAL)
			rc = tfs_err_errno(o->path, "cannot flush");
		if (close(o->fd) != 0 && rc == 0)
			rc = tfs_err_errno(o->path, "cannot close");
	}
	o->fd = -1;
	free(o->path);
	o->path = NULL;
	return rc;
}

void tfs_out_abort(tfs_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	free(o->path);
	o->path = NULL;
}

int tfs_write_file(const char *path, const void *data, size_t n)
{
	tfs_out o;
	TFS_TRY(tfs_out_open(&o, path));
	int rc = tfs_out_write(&o, data, n);
	if (rc < 0) {
		tfs_out_abort(&o);
		return rc;
	}
	return tfs_out_close(&o);
}

int tfs_read_file(const char *path, uint64_t max, uint8_t **out, size_t *n_out)
{
	tfs_map m;
	TFS_TRY(tfs_map_open(&m, path, max));
	uint8_t *buf = malloc(m.size ? (size_t)m.size : 1);
	if (!buf) {
		tfs_map_close(&m);
		return tfs_nomem();
	}
	if (m.size)
		memcpy(buf, m.data, (size_t)m.size);
	*n_out = (size_t)m.size;
	*out = buf;
	tfs_map_close(&m);
	return 0;
}

int tfs_copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return tfs_err_errno(src, "cannot open");
	tfs_out o;
	int rc = tfs_out_open(&o, dst);
	if (rc < 0) {
		close(in);
		return rc;
	}
	static _Thread_local uint8_t buf[1 << 16];
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = tfs_err_errno(src, "cannot read");
			break;
		}
		if (r == 0)
			break;
		rc = tfs_out_write(&o, buf, (size_t)r);
		if (rc < 0)
			break;
	}
	close(in);
	if (rc < 0) {
		tfs_out_abort(&o);
		return rc;
	}
	return tfs_out_close(&o);
}

int tfs_mkdir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return tfs_err_errno(path, "cannot create directory");
	return 0;
}

int tfs_mkdirs_for(const char *root, const char *rel)
{
	char *p = tfs_path_join(root, rel);
	if (!p)
		return tfs_nomem();
	size_t skip = strlen(root) + 1;
	int rc = 0;
	for (char *s = p + skip; *s && rc == 0; s++) {
		if (*s == '/') {
			*s = '\0';
			rc = tfs_mkdir(p);
			*s = '/';
		}
	}
	free(p);
	return rc;
}

static char *dir_part(const char *path)
{
	char *d = strdup(path);
	if (!d)
		return NULL;
	size_t n = strlen(d);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = '\0';
	char *slash = strrchr(d, '/');
	if (!slash) {
		strcpy(d, ".");
	} else if (slash == d) {
		d[1] = '\0';
	} else {
		*slash = '\0';
	}
	return d;
}

static const char *base_part(const char *path, size_t *len)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t s = n;
	while (s > 0 && path[s - 1] != '/')
		s--;
	*len = n - s;
	return path + s;
}

int tfs_tmpdir_beside(const char *final_path, char **out)
{
	char *dir = dir_part(final_path);
	if (!dir)
		return tfs_nomem();
	size_t bl;
	const char *base = base_part(final_path, &bl);
	size_t need = strlen(dir) + bl + 32;
	char *t = malloc(need);
	if (!t) {
		free(dir);
		return tfs_nomem();
	}
	snprintf(t, need, "%s/.%.*s.tfshrink-XXXXXX", dir, (int)bl, base);
	free(dir);
	if (!mkdtemp(t)) {
		int rc = tfs_err_errno(final_path, "cannot create a temporary directory beside");
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void tfs_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				char *c = tfs_path_join(path, e->d_name);
				if (c) {
					tfs_remove_tree(c);
					free(c);
				}
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

int tfs_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tfs_err_errno(path, "cannot open directory");
	int rc = 0;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = tfs_err_errno(path, "cannot flush directory");
	close(fd);
	return rc;
}

/* The process umask, read without changing it (umask(2) would race with
 * other threads); 022 if /proc is not there. */
static mode_t current_umask(void)
{
	mode_t mask = 022;
	FILE *f = fopen("/proc/self/status", "re");
	if (f) {
		char line[256];
		unsigned m;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "Umask: %o", &m) == 1) {
				mask = (mode_t)m;
				break;
			}
		fclose(f);
	}
	return mask;
}

int tfs_commit_dir(const char *tmp, const char *final_path, int force)
{
	char *parent = dir_part(final_path);
	if (!parent)
		return tfs_nomem();
	int rc = 0;
	/* mkdtemp made tmp 0700; the output gets what tfs_mkdir gives a directory. */
	if (chmod(tmp, 0755 & ~current_umask()) != 0) {
		rc = tfs_err_errno(tmp, "cannot set the permissions of");
		goto done;
	}
	if (tfs_path_exists(final_path)) {
		if (!force) {
			rc = tfs_err(TFSHRINK_EEXIST, final_path, -1, "output already exists (use --force to replace it)");
			goto done;
		}
		/* Swap atomically so the old output is replaced in one step. */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final_path, RENAME_EXCHANGE) == 0) {
			tfs_remove_tree(tmp); /* tmp now holds the old output */
			rc = tfs_fsync_dir(parent);
			goto done;
		}
		if (!tfs_is_dir(final_path)) {
			rc = tfs_err(TFSHRINK_EEXIST, final_path, -1, "output exists and is not a directory");
			goto done;
		}
		tfs_remove_tree(final_path);
	}
	if (rename(tmp, final_path) != 0) {
		rc = tfs_err_errno(final_path, "cannot move the finished output into place");
		goto done;
	}
	rc = tfs_fsync_dir(parent);
done:
	free(parent);
	return rc;
}

int tfs_path_within(const char *inner, const char *outer)
{
	char *outer_real = realpath(outer, NULL);
	if (!outer_real)
		return 0;
	char *d = dir_part(inner);
	char *dreal = d ? realpath(d, NULL) : NULL;
	int r = 0;
	if (dreal) {
		size_t bl;
		const char *b = base_part(inner, &bl);
		size_t ol = strlen(outer_real);
		char *full = malloc(strlen(dreal) + bl + 2);
		if (full) {
			sprintf(full, "%s/%.*s", strcmp(dreal, "/") ? dreal : "", (int)bl, b);
			if (bl == 0 || (bl == 1 && b[0] == '.'))
				strcpy(full, dreal);
			r = strncmp(full, outer_real, ol) == 0 && (full[ol] == '\0' || full[ol] == '/' || ol == 1);
			free(full);
		}
	}
	free(d);
	free(dreal);
	free(outer_real);
	return r;
}
