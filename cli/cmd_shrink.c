/* cmd_shrink.c - tfshrink shrink: run the shrink passes and write the result. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
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
	"      --no-prune         keep functions, objects and TF1 graph nodes the\n"
	"                         signatures, init ops and saver do not use\n"
	"      --keep-objects     keep the object graph (minus training state) so\n"
	"                         Keras can still reload the model\n"
	"      --keep-attrs       keep attributes that equal their op's default\n"
	"      --no-dedupe        keep duplicate tensors and constants as they are\n"
	"      --keep-assets      keep unreferenced and duplicate asset files\n"
	"      --strip-shapes     also drop _output_shapes attributes\n"
	"      --drop-assets-extra  also drop assets.extra/ (TF Serving warm-up data)\n"
	"      --weights MODE     store float32 weights as fp16, bf16 or int8 (lossy;\n"
	"                         the model still takes and returns float32)\n"
	"      --min-elements N   leave tensors under N elements float32 (1024)\n"
	"      --per-tensor       int8: one scale per tensor, not per channel\n"
	"      --channel-axis A   int8: the axis whose channels get a scale each:\n"
	"                         best (least error, the default) or last\n"
	"      --include REGEX    quantize only variables whose name or key matches\n"
	"      --exclude REGEX    keep variables whose name or key matches float32\n"
	"      --min-sqnr DB      keep a tensor float32 when its SQNR would be below DB\n"
	"      --skip PASS        do not run PASS (repeatable; see --list-passes)\n"
	"      --list-passes      list the passes in the order they run\n"
	"  -f, --force            replace OUT if it exists\n"
	"  -q, --quiet            print nothing on success\n"
	"      --progress         show progress even when stderr is not a terminal\n"
	"      --no-progress      never show progress\n"
	"  -h, --help             show this help\n";

enum { O_JSON = 256, O_KEEP_OPT, O_KEEP_DEBUG, O_NO_PRUNE, O_KEEP_OBJECTS, O_KEEP_ATTRS, O_STRIP_SHAPES,
       O_DROP_EXTRA, O_SKIP, O_LIST, O_PROGRESS, O_NO_PROGRESS, O_NO_DEDUPE, O_KEEP_ASSETS,
       O_WEIGHTS, O_MIN_ELEMENTS, O_PER_TENSOR, O_INCLUDE, O_EXCLUDE, O_MIN_SQNR, O_CHANNEL_AXIS };

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

static const char *weights_dtype(int dt)
{
	return dt == 19 ? "float16" : dt == 14 ? "bfloat16" : dt == 6 ? "int8" : "float32";
}

/* One row per weight the weights pass considered, like inspect's tables. */
static void print_weights(const tfshrink_shrink_report *r)
{
	if (!r->n_weights)
		return;
	char a[32], b[32];
	printf("\n%-44s %-12s %10s %10s %10s %8s %10s %10s\n", "WEIGHT", "STORED", "ELEMENTS", "BEFORE", "AFTER", "SQNR dB",
	       "MAX ABS", "REL RMS");
	for (size_t i = 0; i < r->n_weights; i++) {
		const tfshrink_weight_result *w = &r->weights[i];
		const char *name = w->name && *w->name ? w->name : w->key;
		char sq[16];
		if (isnan(w->sqnr_db))
			snprintf(sq, sizeof sq, "-");
		else if (isinf(w->sqnr_db))
			snprintf(sq, sizeof sq, w->sqnr_db > 0 ? "exact" : "-inf");
		else
			snprintf(sq, sizeof sq, "%.1f", w->sqnr_db);
		char ma[16] = "-", rr[16] = "-";
		if (!isnan(w->max_abs_err))
			snprintf(ma, sizeof ma, "%.3g", w->max_abs_err);
		if (!isnan(w->rel_rms_err))
			snprintf(rr, sizeof rr, "%.3g", w->rel_rms_err);
		char scheme[24];
		if (w->quantized && w->axis >= 0 && !strcmp(w->scheme, "int8/channel"))
			snprintf(scheme, sizeof scheme, "int8/axis%d", w->axis);
		else
			snprintf(scheme, sizeof scheme, "%s", w->quantized ? w->scheme : "float32");
		printf("%-44.44s %-12s %10" PRIu64 " %10s %10s %8s %10s %10s\n", name, scheme,
		       w->elements, cli_bytes(w->bytes_before, a, sizeof a), cli_bytes(w->bytes_after, b, sizeof b), sq, ma, rr);
		if (!w->quantized && w->reason && *w->reason)
			printf("  kept float32: %s\n", w->reason);
	}
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
			printf("%-18s %12" PRIu64 " %8" PRIu64 "  %.*s%s\n", p->name, p->bytes_saved, p->items,
			       strlen(p->summary) > 58 ? 55 : 58, p->summary, strlen(p->summary) > 58 ? "..." : "");
	}
	double pct = r->input_bytes ? 100.0 * (double)(r->input_bytes - (r->bytes_after < r->input_bytes ? r->bytes_after : r->input_bytes)) / (double)r->input_bytes : 0;
	printf("\n%s: %s -> %s (%.1f%% smaller; a plain rewrite would be %s)\n", dry ? "forecast" : "size",
	       cli_bytes(r->input_bytes, a, sizeof a), cli_bytes(r->bytes_after, b, sizeof b), pct,
	       cli_bytes(r->bytes_before, c, sizeof c));
	print_weights(r);
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
	json_begin_arr(&j, "weights");
	for (size_t i = 0; i < r->n_weights; i++) {
		const tfshrink_weight_result *w = &r->weights[i];
		json_begin_obj(&j, NULL);
		json_str(&j, "key", w->key);
		json_str(&j, "name", w->name);
		json_bool(&j, "quantized", w->quantized);
		json_str(&j, "dtype", weights_dtype(w->dtype));
		json_str(&j, "scheme", w->quantized ? w->scheme : "float32");
		if (w->axis >= 0)
			json_u64(&j, "axis", (uint64_t)w->axis);
		else
			json_null(&j, "axis");
		json_u64(&j, "elements", w->elements);
		json_u64(&j, "bytes_before", w->bytes_before);
		json_u64(&j, "bytes_after", w->bytes_after);
		json_bool(&j, "exact", isinf(w->sqnr_db) && w->sqnr_db > 0);
		json_double(&j, "sqnr_db", w->sqnr_db); /* null when exact or not measured */
		json_double(&j, "max_abs_err", w->max_abs_err);
		json_double(&j, "rel_rms_err", w->rel_rms_err);
		json_str(&j, "reason", w->reason);
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
		{ "weights", required_argument, NULL, O_WEIGHTS }, { "min-elements", required_argument, NULL, O_MIN_ELEMENTS },
		{ "per-tensor", no_argument, NULL, O_PER_TENSOR }, { "include", required_argument, NULL, O_INCLUDE },
		{ "exclude", required_argument, NULL, O_EXCLUDE }, { "min-sqnr", required_argument, NULL, O_MIN_SQNR },
		{ "channel-axis", required_argument, NULL, O_CHANNEL_AXIS },
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
		case O_KEEP_OPT: skip_pass(&so.skip, "training-state", 0); skip_pass(&so.skip, "training-state-tf1", 0); break;
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
		case O_WEIGHTS:
			if (!strcmp(optarg, "fp16") || !strcmp(optarg, "float16"))
				so.weights = TFSHRINK_WEIGHTS_FP16;
			else if (!strcmp(optarg, "bf16") || !strcmp(optarg, "bfloat16"))
				so.weights = TFSHRINK_WEIGHTS_BF16;
			else if (!strcmp(optarg, "int8"))
				so.weights = TFSHRINK_WEIGHTS_INT8;
			else if (!strcmp(optarg, "keep") || !strcmp(optarg, "float32"))
				so.weights = TFSHRINK_WEIGHTS_KEEP;
			else
				return cli_usage_error("shrink ", "--weights takes fp16, bf16 or int8 (got '%s')", optarg);
			break;
		case O_MIN_ELEMENTS: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || optarg[0] == '-')
				return cli_usage_error("shrink ", "--min-elements takes a count (got '%s')", optarg);
			so.min_elements = v;
			break;
		}
		case O_MIN_SQNR: {
			char *end;
			double v = strtod(optarg, &end);
			if (!*optarg || *end || !(v >= 0) || isinf(v))
				return cli_usage_error("shrink ", "--min-sqnr takes a number of dB (got '%s')", optarg);
			so.min_sqnr = v;
			break;
		}
		case O_PER_TENSOR: so.per_tensor = 1; break;
		case O_CHANNEL_AXIS:
			if (!strcmp(optarg, "best"))
				so.channel_axis = TFSHRINK_AXIS_BEST;
			else if (!strcmp(optarg, "last"))
				so.channel_axis = TFSHRINK_AXIS_LAST;
			else
				return cli_usage_error("shrink ", "--channel-axis takes best or last (got '%s')", optarg);
			break;
		case O_INCLUDE: so.include = optarg; break;
		case O_EXCLUDE: so.exclude = optarg; break;
		case O_LIST: list_passes(); return cli_finish_stdout(EXIT_OK);
		case 'f': force = 1; break;
		case 'q': quiet = 1; break;
		case O_PROGRESS: prog = 1; break;
		case O_NO_PROGRESS: prog = 0; break;
		case 'h': fputs(help, stdout); return cli_finish_stdout(EXIT_OK);
		case '?':
			if (optopt == O_SKIP)
				return cli_usage_error("shrink ", "--skip needs a pass name");
			if (optopt >= O_WEIGHTS && optopt <= O_CHANNEL_AXIS)
				return cli_usage_error("shrink ", "%s needs a value", argv[optind - 1]);
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
