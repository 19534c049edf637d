/* cli.h - shared pieces of the tfshrink command line (uses only tfshrink.h). */
#ifndef TFSHRINK_CLI_H
#define TFSHRINK_CLI_H
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tfshrink.h"

/* Exit codes, documented in the README and the man page. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_AUDIT = 3 /* inspect --fail-on-audit found ops */ };

extern const char *cli_prog;

/* Prints "tfshrink: PATH: at byte N: message" for the library's last error;
 * returns EXIT_FAIL. */
int cli_fail(void);
/* Prints a usage error and a hint; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "1.5 MiB"-style size into buf. */
const char *cli_bytes(uint64_t n, char *buf, size_t len);
/* Shape "[2,3,-1]" or "unknown" into buf. */
const char *cli_shape(int ndims, const int64_t *dims, char *buf, size_t len);
/* Flushes and closes stdout, turning a write error into EXIT_FAIL. */
int cli_finish_stdout(int code);

/* Progress on stderr, about 6 updates a second (a tfshrink_progress_cb). */
typedef struct prog_state {
	int on;
	struct timespec last;
	int shown;
} prog_state;
int cli_progress(const char *phase, uint64_t done, uint64_t total, void *payload);

/* Minimal streaming JSON writer. */
typedef struct json {
	FILE *f;
	int depth;
	int need_comma[64];
} json;
void json_begin_obj(json *j, const char *key);
void json_end_obj(json *j);
void json_begin_arr(json *j, const char *key);
void json_end_arr(json *j);
void json_str(json *j, const char *key, const char *val);
void json_u64(json *j, const char *key, uint64_t v);
void json_i64(json *j, const char *key, int64_t v);
void json_double(json *j, const char *key, double v);
void json_bool(json *j, const char *key, int v);
void json_null(json *j, const char *key);
void json_dims(json *j, const char *key, int ndims, const int64_t *dims);

int cmd_inspect(int argc, char **argv);
int cmd_rewrite(int argc, char **argv);
int cmd_shrink(int argc, char **argv);
#endif
