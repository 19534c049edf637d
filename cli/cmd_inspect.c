/* cmd_inspect.c - tfshrink inspect: where a SavedModel's bytes are. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"Usage: tfshrink inspect [OPTIONS] DIR\n"
	"Show where the bytes of the SavedModel directory DIR are: saved_model.pb by\n"
	"part, variables by role (weights, optimizer state, metrics), the largest\n"
	"tensors and functions, assets and side files, and the signatures.\n"
	"The parts add up to the directory's size.\n"
	"\n"
	"Options:\n"
	"      --json          print one JSON document (see README, 'inspect --json')\n"
	"  -n, --top N         list the N largest tensors and functions (default 10; 0: all)\n"
	"      --verify        also verify every tensor checksum\n"
	"      --audit         show only the audit: ops that can touch files or the\n"
	"                      network, or run code (the model's own saver excepted)\n"
	"      --fail-on-audit exit with status 3 when the audit finds any such op\n"
	"  -h, --help          show this help\n";

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* Checkpoint keys without the suffix every plain variable shares, for tables. */
static const char *short_key(const char *key, char *buf, size_t len)
{
	static const char suffix[] = "/.ATTRIBUTES/VARIABLE_VALUE";
	size_t n = strlen(key), s = sizeof suffix - 1;
	if (n > s && !strcmp(key + n - s, suffix)) {
		snprintf(buf, len, "%.*s", (int)(n - s), key);
		return buf;
	}
	return key;
}

/* Shortens s to at most w columns, keeping its end (the informative part of keys). */
static const char *fit(const char *s, size_t w, char *buf, size_t len)
{
	size_t n = strlen(s);
	if (n <= w || w < 4) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	snprintf(buf, len, "...%s", s + n - (w - 3));
	return buf;
}

/* "graph", "function NAME", with " (meta graph N)" past the first. */
static const char *audit_where(const tfshrink_audit_item *a, char *buf, size_t len)
{
	char mg[48] = "";
	if (a->meta_graph)
		snprintf(mg, sizeof mg, " (meta graph %zu)", a->meta_graph);
	if (strcmp(a->location, "graph"))
		snprintf(buf, len, "function %s%s", a->location, mg);
	else
		snprintf(buf, len, "graph%s", mg);
	return buf;
}

static void print_audit(const tfshrink_report *r)
{
	char a[64], b[64], w[512], f[128];
	if (!r->n_audit) {
		printf("AUDIT: no ops that can touch files or the network, or run code\n");
		return;
	}
	printf("AUDIT: %zu op%s that can touch files or the network, or run code\n", r->n_audit,
	       r->n_audit == 1 ? "" : "s");
	printf("  %-20s %-30s %s\n", "OP", "NODE", "WHERE");
	for (size_t i = 0; i < r->n_audit; i++) {
		const tfshrink_audit_item *it = &r->audit_items[i];
		printf("  %-20s %-30s %s\n", fit(it->op, 20, a, sizeof a), fit(it->node, 30, b, sizeof b),
		       fit(audit_where(it, w, sizeof w), 46, f, sizeof f));
	}
}

static void audit_json(json *j, const tfshrink_report *r)
{
	json_begin_arr(j, "audit");
	for (size_t i = 0; i < r->n_audit; i++) {
		const tfshrink_audit_item *it = &r->audit_items[i];
		json_begin_obj(j, NULL);
		json_str(j, "op", it->op);
		json_str(j, "node", it->node);
		json_str(j, "location", it->location);
		json_u64(j, "meta_graph", it->meta_graph);
		json_end_obj(j);
	}
	json_end_arr(j);
}

static void print_text(const char *dir, const tfshrink_report *r, size_t top)
{
	char a[32], b[32], f[128], f2[128], sh[64], k[512];
	printf("%s\n%s layout, TensorFlow %s, %zu meta graph%s, %zu files, %s\n\n", dir, r->layout,
	       *r->tf_version ? r->tf_version : "(unknown)", r->n_meta_graphs, r->n_meta_graphs == 1 ? "" : "s",
	       r->n_files, cli_bytes(r->total_bytes, a, sizeof a));
	printf("%-52s %12s %7s %9s\n", "PART", "BYTES", "SHARE", "ITEMS");
	uint64_t sum = 0;
	for (size_t i = 0; i < r->n_parts; i++) {
		const tfshrink_part *p = &r->parts[i];
		sum += p->bytes;
		if (p->bytes == 0 && p->count == 0)
			continue;
		printf("%-52s %12" PRIu64 " %6.1f%% %9" PRIu64 "\n", fit(p->name, 52, f, sizeof f), p->bytes,
		       pct(p->bytes, r->total_bytes), p->count);
	}
	printf("%-52s %12" PRIu64 " %6.1f%%\n", "total", sum, pct(sum, r->total_bytes));
	if (r->embedded_const_count)
		printf("  of which constants embedded in the graph: %s in %" PRIu64 " Const nodes\n",
		       cli_bytes(r->embedded_const_bytes, a, sizeof a), r->embedded_const_count);

	uint64_t var_total = 0;
	for (int g = 0; g < TFSHRINK_VAR_GROUP_COUNT; g++)
		var_total += r->group_bytes[g];
	if (r->n_tensors) {
		printf("\nVARIABLES: %zu tensors, %s\n", r->n_tensors, cli_bytes(var_total, a, sizeof a));
		printf("%-30s %9s %14s %7s\n", "GROUP", "TENSORS", "BYTES", "SHARE");
		for (int g = 0; g < TFSHRINK_VAR_GROUP_COUNT; g++)
			if (r->group_count[g])
				printf("%-30s %9" PRIu64 " %14" PRIu64 " %6.1f%%\n", tfshrink_var_group_name(g), r->group_count[g],
				       r->group_bytes[g], pct(r->group_bytes[g], var_total));
		size_t n = top && top < r->n_tensors ? top : r->n_tensors;
		printf("\nLARGEST TENSORS (keys without /.ATTRIBUTES/VARIABLE_VALUE%s)\n",
		       n < r->n_tensors ? "; --top N shows more" : "");
		printf("%-36s %-8s %-14s %11s %s\n", "KEY", "DTYPE", "SHAPE", "BYTES", "GROUP");
		for (size_t i = 0; i < n; i++) {
			const tfshrink_tensor_info *t = &r->tensors[i];
			printf("%-36s %-8s %-14s %11" PRIu64 " %s\n", fit(short_key(t->key, k, sizeof k), 36, f, sizeof f), tfshrink_dtype_name(t->dtype),
			       fit(cli_shape(t->ndims, t->dims, sh, sizeof sh), 14, b, sizeof b), t->bytes,
			       tfshrink_var_group_name(t->group));
		}
	}
	if (r->n_functions) {
		size_t n = top && top < r->n_functions ? top : r->n_functions;
		printf("\nLARGEST FUNCTIONS (%zu in the library)\n", r->n_functions);
		printf("%-76s %8s %12s\n", "NAME", "NODES", "BYTES");
		for (size_t i = 0; i < n; i++)
			printf("%-76s %8" PRIu64 " %12" PRIu64 "\n", fit(r->functions[i].name, 76, f, sizeof f),
			       r->functions[i].nodes, r->functions[i].bytes);
	}
	printf("\nSIGNATURES\n");
	for (size_t i = 0; i < r->n_signatures; i++) {
		const tfshrink_signature *s = &r->signatures[i];
		printf("  %s [%s] %s\n", s->key, s->tags, s->method);
		for (int io = 0; io < 2; io++) {
			size_t n = io ? s->n_outputs : s->n_inputs;
			const tfshrink_tensor_spec *v = io ? s->outputs : s->inputs;
			for (size_t k = 0; k < n; k++)
				printf("    %-3s %-24s %-8s %-16s %s\n", io ? "out" : "in", fit(v[k].key, 24, f, sizeof f),
				       v[k].dtype ? tfshrink_dtype_name(v[k].dtype) : "-",
				       fit(cli_shape(v[k].ndims, v[k].dims, sh, sizeof sh), 16, b, sizeof b), fit(v[k].tensor, 40, f2, sizeof f2));
		}
	}
	if (r->n_audit) {
		putchar('\n');
		print_audit(r);
	}
	printf("\nFILES\n");
	for (size_t i = 0; i < r->n_files; i++)
		printf("  %12" PRIu64 "  %s\n", r->files[i].bytes, fit(r->files[i].name, 84, f, sizeof f));
}

static void spec_json(json *j, const tfshrink_tensor_spec *s)
{
	json_begin_obj(j, NULL);
	json_str(j, "key", s->key);
	json_str(j, "tensor", s->tensor);
	json_str(j, "dtype", tfshrink_dtype_name(s->dtype));
	json_dims(j, "shape", s->ndims, s->dims);
	json_end_obj(j);
}

static void print_json(const char *dir, const tfshrink_report *r, size_t top)
{
	json j = { stdout, 0, { 0 } };
	json_begin_obj(&j, NULL);
	json_u64(&j, "format_version", 1);
	json_str(&j, "path", dir);
	json_str(&j, "layout", r->layout);
	json_str(&j, "tensorflow_version", r->tf_version);
	json_u64(&j, "meta_graphs", r->n_meta_graphs);
	json_u64(&j, "total_bytes", r->total_bytes);
	json_begin_arr(&j, "parts");
	for (size_t i = 0; i < r->n_parts; i++) {
		json_begin_obj(&j, NULL);
		json_str(&j, "name", r->parts[i].name);
		json_u64(&j, "bytes", r->parts[i].bytes);
		json_u64(&j, "count", r->parts[i].count);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	json_begin_obj(&j, "embedded_constants");
	json_u64(&j, "bytes", r->embedded_const_bytes);
	json_u64(&j, "count", r->embedded_const_count);
	json_end_obj(&j);
	json_begin_arr(&j, "variable_groups");
	for (int g = 0; g < TFSHRINK_VAR_GROUP_COUNT; g++) {
		json_begin_obj(&j, NULL);
		json_str(&j, "group", tfshrink_var_group_name(g));
		json_u64(&j, "tensors", r->group_count[g]);
		json_u64(&j, "bytes", r->group_bytes[g]);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	size_t n = top && top < r->n_tensors ? top : r->n_tensors;
	json_begin_arr(&j, "tensors");
	for (size_t i = 0; i < n; i++) {
		const tfshrink_tensor_info *t = &r->tensors[i];
		json_begin_obj(&j, NULL);
		json_str(&j, "key", t->key);
		json_str(&j, "dtype", tfshrink_dtype_name(t->dtype));
		json_dims(&j, "shape", t->ndims, t->dims);
		json_u64(&j, "bytes", t->bytes);
		json_str(&j, "group", tfshrink_var_group_name(t->group));
		json_i64(&j, "shard", t->shard);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	n = top && top < r->n_functions ? top : r->n_functions;
	json_begin_arr(&j, "functions");
	for (size_t i = 0; i < n; i++) {
		json_begin_obj(&j, NULL);
		json_str(&j, "name", r->functions[i].name);
		json_u64(&j, "nodes", r->functions[i].nodes);
		json_u64(&j, "bytes", r->functions[i].bytes);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	json_begin_arr(&j, "signatures");
	for (size_t i = 0; i < r->n_signatures; i++) {
		const tfshrink_signature *s = &r->signatures[i];
		json_begin_obj(&j, NULL);
		json_str(&j, "key", s->key);
		json_str(&j, "tags", s->tags);
		json_str(&j, "method", s->method);
		json_begin_arr(&j, "inputs");
		for (size_t k = 0; k < s->n_inputs; k++)
			spec_json(&j, &s->inputs[k]);
		json_end_arr(&j);
		json_begin_arr(&j, "outputs");
		for (size_t k = 0; k < s->n_outputs; k++)
			spec_json(&j, &s->outputs[k]);
		json_end_arr(&j);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	audit_json(&j, r);
	json_begin_arr(&j, "files");
	for (size_t i = 0; i < r->n_files; i++) {
		json_begin_obj(&j, NULL);
		json_str(&j, "path", r->files[i].name);
		json_u64(&j, "bytes", r->files[i].bytes);
		json_end_obj(&j);
	}
	json_end_arr(&j);
	json_end_obj(&j);
}

/* --audit --json: the audit alone. */
static void print_audit_json(const char *dir, const tfshrink_report *r)
{
	json j = { stdout, 0, { 0 } };
	json_begin_obj(&j, NULL);
	json_u64(&j, "format_version", 1);
	json_str(&j, "path", dir);
	audit_json(&j, r);
	json_end_obj(&j);
}

enum { O_AUDIT = 256, O_FAIL_ON_AUDIT };

int cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' }, { "top", required_argument, NULL, 'n' },
		{ "verify", no_argument, NULL, 'v' }, { "audit", no_argument, NULL, O_AUDIT },
		{ "fail-on-audit", no_argument, NULL, O_FAIL_ON_AUDIT }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	int as_json = 0, verify = 0, audit_only = 0, fail_on_audit = 0;
	size_t top = 10;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = 1; break;
		case 'v': verify = 1; break;
		case O_AUDIT: audit_only = 1; break;
		case O_FAIL_ON_AUDIT: fail_on_audit = 1; break;
		case 'n': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*optarg == '-' || *end || end == optarg)
				return cli_usage_error("inspect ", "--top needs a whole number, not '%s'", optarg);
			top = (size_t)v;
			break;
		}
		case 'h': fputs(help, stdout); return cli_finish_stdout(EXIT_OK);
		case '?':
			if (optopt == 'n')
				return cli_usage_error("inspect ", "--top needs a value");
			/* fall through */
		default: return cli_usage_error("inspect ", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("inspect ", "inspect needs one model directory (got %d arguments)", argc - optind);
	const char *dir = argv[optind];
	tfshrink_open_options oo = TFSHRINK_OPEN_OPTIONS_INIT;
	oo.verify_crc = verify;
	tfshrink_model *m = NULL;
	tfshrink_report *r = NULL;
	if (tfshrink_model_open(&m, dir, &oo) < 0)
		return cli_fail();
	if (tfshrink_model_inspect(m, &r) < 0) {
		tfshrink_model_free(m);
		return cli_fail();
	}
	if (audit_only && as_json)
		print_audit_json(dir, r);
	else if (audit_only)
		print_audit(r);
	else if (as_json)
		print_json(dir, r, top);
	else
		print_text(dir, r, top);
	size_t found = r->n_audit;
	tfshrink_report_free(r);
	tfshrink_model_free(m);
	int rc = cli_finish_stdout(EXIT_OK);
	if (rc == EXIT_OK && fail_on_audit && found) {
		fprintf(stderr, "%s: %s: the audit found %zu op%s that can touch files or the network, or run code\n",
		        cli_prog, dir, found, found == 1 ? "" : "s");
		rc = EXIT_AUDIT;
	}
	return rc;
}
