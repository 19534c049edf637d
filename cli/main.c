/* main.c - tfshrink command dispatcher. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: tfshrink COMMAND [OPTIONS] ...\n"
	"Make TensorFlow SavedModels smaller, without TensorFlow.\n"
	"\n"
	"Commands:\n"
	"  inspect DIR         show where the model's bytes are\n"
	"  shrink IN OUT       write the smallest SavedModel that serves the same answers\n"
	"  rewrite IN OUT      read IN and write it back to OUT unchanged in meaning\n"
	"  help [COMMAND]      show help for a command\n"
	"\n"
	"Options:\n"
	"  -h, --help          show this help\n"
	"  -V, --version       show the version\n"
	"\n"
	"Exit status: 0 success, 1 failure (bad or unsupported input, I/O), 2 usage error,\n"
	"3 audit findings (inspect --fail-on-audit).\n"
	"Run 'tfshrink COMMAND --help' for a command's options. See tfshrink(1).\n";

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "C");
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	char *hargv[3] = { NULL, "--help", NULL };
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage, stdout);
		return cli_finish_stdout(EXIT_OK);
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("tfshrink %s (library %s)\n", TFSHRINK_VERSION_STRING, tfshrink_version());
		return cli_finish_stdout(EXIT_OK);
	}
	if (!strcmp(cmd, "help")) {
		if (argc < 3) {
			fputs(usage, stdout);
			return cli_finish_stdout(EXIT_OK);
		}
		hargv[0] = argv[2];
		cmd = argv[2];
		argv = hargv;
		argc = 2;
	} else {
		argv++;
		argc--;
	}
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc, argv);
	if (!strcmp(cmd, "shrink"))
		return cmd_shrink(argc, argv);
	if (!strcmp(cmd, "rewrite"))
		return cmd_rewrite(argc, argv);
	return cli_usage_error(NULL, "unknown command '%s'", cmd);
}
