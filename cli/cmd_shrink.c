/* cmd_shrink.c - tfshrink shrink: run the shrink passes and write the result. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
	"Usage: tfshrink shrink [OPTIONS] IN OUT\n"
	"       tfshrink shrink --dry-run [OPTIONS] IN\n"
	"Write to OUT the smallest SavedModel that still serves exactly the same\n"
	"answers as IN: training state, unused functions, debug info and other\n"
	"metadata are removed, each by its own pass, and the bytes each saved are\n"
	"reported. The result is checked before anything is written; OUT is built\n"
	"beside itself and renamed into place only when complete.\n"
	"\n"
	"Options:\n"
	"  -n, --dry-run          print the forecast and write nothing\n"
	"      --json             print the report as one JSON document\n"
	"      --keep-optimizer   keep optimizer slots, counters and metrics\n"
	"      --keep-debug       keep debug info\n"
	"      --no-prune         keep functions and objects the signatures do not use\n"
	"      --keep-objects     keep the object graph (minus training state) so\n"
	"                         Keras can still reload the model\n"
	"      --keep-attrs       keep attributes that equal their op's default\n"
	"      --no-dedupe        keep duplicate tensors and constants as they are\n"
	"      --keep-assets      keep unreferenced and duplicate asset files\n"
	"      --strip-shapes     also drop _output_shapes attributes\n"
	"      --drop-assets-extra  also drop assets.extra/ (TF Serving warm-up data)\n"
	"      --skip PASS        do not run PASS (repeatable; see --list-passes)\n"
	"      --list-passes      list the passes in the order they run\n"
	"  -f, --force            replace OUT if it exists\n"
	"  -q, --quiet            print nothing on success\n"
	"      --progress         show progress even when stderr is not a terminal\n"
	"      --no-progress      never show progress\n"
	"  -h, --help             show this help\n";

enum { O_JSON = 256, O_KEEP_OPT, O_KEEP_DEBUG, O_NO_PRUNE, O_KEEP_OBJECTS, O_KEEP_ATTRS, O_STRIP_SHAPES,
       O_DROP_EXTRA, O_SKIP, O_LIST, O_PROGRESS, O_NO_PROGRESS, O_NO_DEDUPE, O_KEEP_ASSETS };

/* Skips a pass by name; names of passes this build lacks are accepted and do nothing. */
static int skip_pass(uint64_t *mask, const char *name, int strict)
{
	int i = tfshrink_pass_find(name);
	if (i < 0)
		return strict ? -1 : 0;
	*mask |= (uint64_t)1 << i;
	return 0;
}

static void list_passes(void)
{
	for (size_t i = 0; i < tfshrink_pass_count(); i++)
		printf("%-18s %s\n", tfshrink_pass_name(i), tfshrink_pass_summary(i));
}

static void print_text(const tfshrink_shrink_report *r, int dry)
{
	char a[32], b[32], c[32];
	printf("%-18s %12s %8s  %s\n", "PASS", "SAVED", "ITEMS", "WHAT");
	for (size_t i = 0; i < r->n_passes; i++) {
		const tfshrink_pass_result *p = &r->passes[i];
		if (!p->ran)
			printf("%-18s %12s %8s  %s\n", p->name, "-", "-", "skipped");
		else
			printf("%-18s %12" PRIu64 " %8" PRIu64 "  %.58s\n", p->name, p->bytes_saved, p->items, p->summary);
	}
	double pct = r->input_bytes ? 100.0 * (double)(r->input_bytes - (r->bytes_after < r->input_bytes ? r->bytes_after : r->input_bytes)) / (double)r->input_bytes : 0;
	printf("\n%s: %s -> %s (%.1f%% smaller; a plain rewrite would be %s)\n", dry ? "forecast" : "size",
	       cli_bytes(r->input_bytes, a, sizeof a), cli_bytes(r->bytes_after, b, sizeof b), pct,
	       cli_bytes(r->bytes_before, c, sizeof c));
	for (size_t i = 0; i < r->n_notes; i++)
		printf("note: %s\n", r->notes[i]);
}

static void print_json(const tfshrink_shrink_report *r, const char *in, const char *out, int dry)
{
	json j = { stdout, 0, { 0 } };
	json_begin_obj(&j, NULL);
	json_u64(&j, "format_version", 1);
	json_str(&j, "input", in);
	if (out)
		json_str(&j, "output", out);
	else
		json_null(&j, "output");
	json_bool(&j, "dry_run", dry);
	json_u64(&j, "input_bytes", r->input_bytes);
	json_u64(&j, "rewrite_bytes", r->bytes_before);
	json_u64(&j, "output_bytes", r->bytes_after);
	json_begin_arr(&j, "passes");
	for (size_t i = 0; i < r->n_passes; i++) {
		json_begin_obj(&j, NULL);
		json_str(&j, "name", r->passes[i].name);
		json_bool(&j, "ran", r->passes[i].ran);
		json_u64(&j, "bytes_saved", r->passes[i].bytes_saved);
		json_u64(&j, "items", r->passes[i].items);
		json_str(&j, "summary", r->passes[i].summary);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	json_begin_arr(&j, "notes");
	for (size_t i = 0; i < r->n_notes; i++)
		json_str(&j, NULL, r->notes[i]);
	json_end_arr(&j);
	json_end_obj(&j);
}

int cmd_shrink(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' }, { "json", no_argument, NULL, O_JSON },
		{ "keep-optimizer", no_argument, NULL, O_KEEP_OPT }, { "keep-debug", no_argument, NULL, O_KEEP_DEBUG },
		{ "no-prune", no_argument, NULL, O_NO_PRUNE }, { "keep-objects", no_argument, NULL, O_KEEP_OBJECTS },
		{ "keep-attrs", no_argument, NULL, O_KEEP_ATTRS }, { "strip-shapes", no_argument, NULL, O_STRIP_SHAPES },
		{ "drop-assets-extra", no_argument, NULL, O_DROP_EXTRA }, { "skip", required_argument, NULL, O_SKIP },
		{ "no-dedupe", no_argument, NULL, O_NO_DEDUPE }, { "keep-assets", no_argument, NULL, O_KEEP_ASSETS },
		{ "list-passes", no_argument, NULL, O_LIST }, { "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' }, { "progress", no_argument, NULL, O_PROGRESS },
		{ "no-progress", no_argument, NULL, O_NO_PROGRESS }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	tfshrink_shrink_options so = TFSHRINK_SHRINK_OPTIONS_INIT;
	int dry = 0, as_json = 0, force = 0, quiet = 0, prog = isatty(2);
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "nfqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': dry = 1; break;
		case O_JSON: as_json = 1; break;
		case O_KEEP_OPT: skip_pass(&so.skip, "training-state", 0); break;
		case O_KEEP_DEBUG: skip_pass(&so.skip, "debug-info", 0); break;
		case O_NO_PRUNE: skip_pass(&so.skip, "prune", 0); break;
		case O_KEEP_ATTRS: skip_pass(&so.skip, "default-attrs", 0); break;
		case O_NO_DEDUPE: skip_pass(&so.skip, "dedupe", 0); break;
		case O_KEEP_ASSETS: skip_pass(&so.skip, "assets", 0); break;
		case O_KEEP_OBJECTS: so.keep_objects = 1; break;
		case O_STRIP_SHAPES: so.strip_shapes = 1; break;
		case O_DROP_EXTRA: so.drop_assets_extra = 1; break;
		case O_SKIP:
			if (skip_pass(&so.skip, optarg, 1) < 0)
				return cli_usage_error("shrink ", "no pass named '%s' (see --list-passes)", optarg);
			break;
		case O_LIST: list_passes(); return cli_finish_stdout(EXIT_OK);
		case 'f': force = 1; break;
		case 'q': quiet = 1; break;
		case O_PROGRESS: prog = 1; break;
		case O_NO_PROGRESS: prog = 0; break;
		case 'h': fputs(help, stdout); return cli_finish_stdout(EXIT_OK);
		case '?':
			if (optopt == O_SKIP)
				return cli_usage_error("shrink ", "--skip needs a pass name");
			/* fall through */
		default: return cli_usage_error("shrink ", "unknown option '%s'", argv[optind - 1]);
		}
	}
	int nargs = argc - optind;
	if (dry ? (nargs < 1 || nargs > 2) : nargs != 2)
		return cli_usage_error("shrink ", "shrink needs IN and OUT (got %d arguments)", nargs);
	const char *in = argv[optind], *out = nargs == 2 ? argv[optind + 1] : NULL;
	tfshrink_model *m = NULL;
	tfshrink_shrink_report *r = NULL;
	if (tfshrink_model_open(&m, in, NULL) < 0)
		return cli_fail();
	if (tfshrink_model_shrink(m, &so, &r) < 0) {
		tfshrink_model_free(m);
		return cli_fail();
	}
	int rc = 0;
	if (!dry) {
		prog_state ps = { prog && !quiet, { 0, 0 }, 0 };
		tfshrink_write_options wo = TFSHRINK_WRITE_OPTIONS_INIT;
		wo.force = force;
		wo.progress = cli_progress;
		wo.progress_payload = &ps;
		rc = tfshrink_model_write(m, out, &wo);
		if (ps.shown)
			fputc('\n', stderr);
	}
	if (rc < 0) {
		tfshrink_shrink_report_free(r);
		tfshrink_model_free(m);
		return cli_fail();
	}
	if (as_json)
		print_json(r, in, dry ? NULL : out, dry);
	else if (!quiet) {
		print_text(r, dry);
		if (!dry)
			printf("wrote %s\n", out);
	}
	tfshrink_shrink_report_free(r);
	tfshrink_model_free(m);
	return cli_finish_stdout(EXIT_OK);
}
