/* cmd_rewrite.c - tfshrink rewrite: read a SavedModel and write it back. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
	"Usage: tfshrink rewrite [OPTIONS] IN OUT\n"
	"Read the SavedModel directory IN and write it to OUT with the same meaning:\n"
	"every tensor checksum is verified, the variables are re-streamed shard by\n"
	"shard, assets and side files are copied. A saved_model.pbtxt is written back\n"
	"as binary saved_model.pb. OUT is built beside itself and renamed into place\n"
	"only when complete; IN is never modified.\n"
	"\n"
	"Options:\n"
	"  -f, --force         replace OUT if it exists\n"
	"  -q, --quiet         print nothing on success\n"
	"      --progress      show progress even when stderr is not a terminal\n"
	"      --no-progress   never show progress\n"
	"  -h, --help          show this help\n";

int cmd_rewrite(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
		{ "progress", no_argument, NULL, 'P' }, { "no-progress", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int force = 0, quiet = 0, prog = isatty(2);
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': force = 1; break;
		case 'q': quiet = 1; break;
		case 'P': prog = 1; break;
		case 'N': prog = 0; break;
		case 'h': fputs(help, stdout); return cli_finish_stdout(EXIT_OK);
		default: return cli_usage_error("rewrite ", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("rewrite ", "rewrite needs IN and OUT (got %d arguments)", argc - optind);
	const char *in = argv[optind], *out = argv[optind + 1];
	tfshrink_model *m = NULL;
	if (tfshrink_model_open(&m, in, NULL) < 0)
		return cli_fail();
	prog_state ps = { prog && !quiet, { 0, 0 }, 0 };
	tfshrink_write_options wo = TFSHRINK_WRITE_OPTIONS_INIT;
	wo.force = force;
	wo.progress = cli_progress;
	wo.progress_payload = &ps;
	int rc = tfshrink_model_write(m, out, &wo);
	if (ps.shown)
		fputc('\n', stderr);
	tfshrink_model_free(m);
	if (rc < 0)
		return cli_fail();
	if (!quiet)
		printf("wrote %s\n", out);
	return cli_finish_stdout(EXIT_OK);
}
