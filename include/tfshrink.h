/*
 * tfshrink.h - public API of libtfshrink.
 *
 * libtfshrink reads a TensorFlow SavedModel directory, explains where its
 * bytes are, and writes it back (optionally smaller) without TensorFlow.
 *
 * Conventions
 *  - Every function that can fail returns int: TFSHRINK_OK (0) or a negative
 *    tfshrink_code. Details of the last failure on this thread are in
 *    tfshrink_error_last(): one line, the file it concerns and, where known,
 *    the byte offset in that file.
 *  - Objects returned through an out-parameter (`**out`) belong to the caller
 *    and are released with the matching *_free function; *_free(NULL) is a
 *    no-op. Pointers returned as values are borrowed from their parent object.
 *  - The library never prints, never exits, never writes into the input.
 */
#ifndef TFSHRINK_H
#define TFSHRINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TFSHRINK_VERSION_MAJOR 0
#define TFSHRINK_VERSION_MINOR 1
#define TFSHRINK_VERSION_PATCH 0
#define TFSHRINK_VERSION_STRING "0.1.0"

/** Version of the library actually linked (compare with TFSHRINK_VERSION_STRING). */
const char *tfshrink_version(void);

/* ------------------------------------------------------------------ errors */

typedef enum tfshrink_code {
	TFSHRINK_OK = 0,
	TFSHRINK_ERROR = -1,       /**< generic failure */
	TFSHRINK_ENOMEM = -2,      /**< out of memory */
	TFSHRINK_EIO = -3,         /**< read, write, rename or disk-full error */
	TFSHRINK_ENOTFOUND = -4,   /**< a required file or entry is missing */
	TFSHRINK_EINVAL = -5,      /**< bad argument or option */
	TFSHRINK_ECORRUPT = -6,    /**< the input violates its format */
	TFSHRINK_EUNSUPPORTED = -7,/**< valid input this version does not handle */
	TFSHRINK_ELIMIT = -8,      /**< the input exceeds a named limit (see docs/LIMITS.md) */
	TFSHRINK_EVERIFY = -9,     /**< the result failed its own consistency check */
	TFSHRINK_EEXIST = -10      /**< the output exists (and overwriting was not asked for) */
} tfshrink_code;

typedef struct tfshrink_error {
	int code;            /**< a tfshrink_code */
	const char *message; /**< one line, no trailing newline */
	const char *path;    /**< file the error concerns, or NULL */
	int64_t offset;      /**< byte offset in that file, or -1 */
} tfshrink_error;

/** Last error on this thread; valid until the next library call on it. Never NULL. */
const tfshrink_error *tfshrink_error_last(void);

/** Short constant name of a code, e.g. "corrupt input". */
const char *tfshrink_code_name(int code);

/* ------------------------------------------------------------------- model */

typedef struct tfshrink_model tfshrink_model;

typedef struct tfshrink_open_options {
	int version;        /**< set to TFSHRINK_OPEN_OPTIONS_VERSION */
	int verify_crc;     /**< 1: verify every tensor checksum while opening */
} tfshrink_open_options;
#define TFSHRINK_OPEN_OPTIONS_VERSION 1
#define TFSHRINK_OPEN_OPTIONS_INIT { TFSHRINK_OPEN_OPTIONS_VERSION, 0 }

/**
 * Opens the SavedModel directory `dir`: parses saved_model.pb, the variables
 * index and side files, and maps the data shards read-only. Tensor bytes are
 * not read until needed. `opts` may be NULL.
 * Errors: ENOTFOUND, ECORRUPT, EUNSUPPORTED, ELIMIT, EIO, ENOMEM.
 */
int tfshrink_model_open(tfshrink_model **out, const char *dir,
                        const tfshrink_open_options *opts);
void tfshrink_model_free(tfshrink_model *model);

/** Progress callback: `done` of `total` bytes of the current phase. Return
 * non-zero to cancel (the call then fails with TFSHRINK_ERROR). */
typedef int (*tfshrink_progress_cb)(const char *phase, uint64_t done,
                                    uint64_t total, void *payload);

typedef struct tfshrink_write_options {
	int version;          /**< TFSHRINK_WRITE_OPTIONS_VERSION */
	int force;            /**< replace an existing output directory */
	tfshrink_progress_cb progress;
	void *progress_payload;
} tfshrink_write_options;
#define TFSHRINK_WRITE_OPTIONS_VERSION 1
#define TFSHRINK_WRITE_OPTIONS_INIT { TFSHRINK_WRITE_OPTIONS_VERSION, 0, NULL, NULL }

/**
 * Writes the model as a complete SavedModel directory at `out_dir`. Output is
 * built in a temporary directory beside `out_dir` and renamed into place only
 * when complete; on failure nothing is left behind. Refuses an existing
 * `out_dir` unless opts->force, and an `out_dir` inside the input directory.
 * Errors: EEXIST, EINVAL, EIO, ECORRUPT (a tensor checksum failed), EVERIFY.
 */
int tfshrink_model_write(tfshrink_model *model, const char *out_dir,
                         const tfshrink_write_options *opts);

/* ----------------------------------------------------------------- inspect */

/** Where a variable's bytes belong. */
typedef enum tfshrink_var_group {
	TFSHRINK_VAR_WEIGHTS = 0,         /**< model weights (what serving needs) */
	TFSHRINK_VAR_OPTIMIZER_SLOTS,     /**< per-weight optimizer state (Adam m/v, momentum...) */
	TFSHRINK_VAR_OPTIMIZER_SCALARS,   /**< iteration counter, learning rate, beta powers */
	TFSHRINK_VAR_METRICS,             /**< metric accumulators, save counters, global_step */
	TFSHRINK_VAR_OBJECT_GRAPH,        /**< the checkpoint's own object graph */
	TFSHRINK_VAR_OTHER,
	TFSHRINK_VAR_GROUP_COUNT
} tfshrink_var_group;

const char *tfshrink_var_group_name(int group);

typedef struct tfshrink_tensor_info {
	const char *key;    /**< checkpoint key */
	int dtype;          /**< TensorFlow DataType enum value */
	int ndims;          /**< -1: unknown rank */
	const int64_t *dims;
	uint64_t bytes;     /**< bytes in the data shards */
	int group;          /**< tfshrink_var_group */
	int shard;
} tfshrink_tensor_info;

typedef struct tfshrink_part {
	const char *name;   /**< e.g. "saved_model.pb/graph nodes" */
	uint64_t bytes;
	uint64_t count;     /**< items in the part (nodes, functions, tensors, files) */
} tfshrink_part;

typedef struct tfshrink_tensor_spec {
	const char *key;    /**< signature input/output key */
	const char *tensor; /**< graph tensor name, e.g. "serving_default_x:0" */
	int dtype;
	int ndims;          /**< -1: unknown rank */
	const int64_t *dims;/**< -1: unknown dimension */
} tfshrink_tensor_spec;

typedef struct tfshrink_signature {
	const char *tags;   /**< tag set of its meta graph, comma separated */
	const char *key;
	const char *method;
	size_t n_inputs, n_outputs;
	const tfshrink_tensor_spec *inputs;
	const tfshrink_tensor_spec *outputs;
} tfshrink_signature;

typedef struct tfshrink_function_info {
	const char *name;
	uint64_t bytes;     /**< serialized size of the FunctionDef */
	uint64_t nodes;
} tfshrink_function_info;

/** An op that touches files, the network or runs code (the audit). The
 * model's own saver (SaveV2, RestoreV2... in its saver scope or traced
 * save/restore functions) is not listed. */
typedef struct tfshrink_audit_item {
	const char *op;       /**< e.g. "ReadFile" */
	const char *node;     /**< the node's name */
	const char *location; /**< "graph", or the library function holding the node */
	size_t meta_graph;    /**< index of the meta graph */
} tfshrink_audit_item;

typedef struct tfshrink_report {
	uint64_t total_bytes;         /**< every file under the directory */
	const char *layout;           /**< "TF2" (object graph) or "TF1" */
	const char *tf_version;       /**< writer's TensorFlow version, or "" */
	size_t n_meta_graphs;
	/* Const node values in the graph and its functions (inside the parts above) */
	uint64_t embedded_const_bytes;
	uint64_t embedded_const_count;
	/* files: every regular file, relative path and size */
	size_t n_files;
	const tfshrink_part *files;
	/* parts: a partition of total_bytes; their bytes add up to total_bytes */
	size_t n_parts;
	const tfshrink_part *parts;
	/* variable bytes per tfshrink_var_group */
	uint64_t group_bytes[TFSHRINK_VAR_GROUP_COUNT];
	uint64_t group_count[TFSHRINK_VAR_GROUP_COUNT];
	/* all bundle entries, largest first */
	size_t n_tensors;
	const tfshrink_tensor_info *tensors;
	/* library functions, largest first */
	size_t n_functions;
	const tfshrink_function_info *functions;
	size_t n_signatures;
	const tfshrink_signature *signatures;
	/* audit: ops that touch files, the network or run code, as
	 * "OP node 'NODE' in function 'F'" / "... in the graph" strings */
	size_t n_audit;
	const char *const *audit;
	/* the same n_audit findings, field by field */
	const tfshrink_audit_item *audit_items;
} tfshrink_report;

/** Builds the byte report of an open model. The report borrows strings from
 * the model: free it before the model. Errors: ENOMEM. */
int tfshrink_model_inspect(tfshrink_model *model, tfshrink_report **out);
void tfshrink_report_free(tfshrink_report *report);

/* ------------------------------------------------------------------ shrink */

/** Passes, in the order they run; each can be skipped by index. */
size_t tfshrink_pass_count(void);
const char *tfshrink_pass_name(size_t i);    /**< e.g. "training-state" */
const char *tfshrink_pass_summary(size_t i); /**< one line */
/** Index of the pass with this name, or -1. */
int tfshrink_pass_find(const char *name);

/** How the weights pass stores float32 weights (the model still takes,
 * returns and computes in float32: a conversion follows each read). */
typedef enum tfshrink_weights {
	TFSHRINK_WEIGHTS_KEEP = 0, /**< leave weights as they are (lossless) */
	TFSHRINK_WEIGHTS_FP16,     /**< IEEE half precision, Cast to float32 after each read */
	TFSHRINK_WEIGHTS_BF16,     /**< bfloat16, Cast to float32 after each read */
	TFSHRINK_WEIGHTS_INT8      /**< symmetric int8 with float32 scales: Cast, then Mul */
} tfshrink_weights;

/** int8: the axis whose indices get one scale each (per-channel scheme). The
 * graph dequantizes before any arithmetic, so every axis is valid. */
typedef enum tfshrink_channel_axis {
	TFSHRINK_AXIS_BEST = 0, /**< the axis whose scales give the least squared error
	                             (at least 8 elements per scale; the last axis on ties) */
	TFSHRINK_AXIS_LAST      /**< always the last axis: the output channel of Dense
	                             and Conv kernels, as TFLite does */
} tfshrink_channel_axis;

typedef struct tfshrink_shrink_options {
	int version;            /**< TFSHRINK_SHRINK_OPTIONS_VERSION */
	uint64_t skip;          /**< bit i set: do not run pass i */
	int keep_objects;       /**< keep the object graph (minus training state) so Keras can reload */
	int strip_shapes;       /**< also drop _output_shapes attributes */
	int drop_assets_extra;  /**< also drop assets.extra/ (TF Serving warm-up requests) */
	/* version 2: weight quantization (lossy; off unless weights is set) */
	int weights;            /**< a tfshrink_weights */
	uint64_t min_elements;  /**< tensors with fewer elements stay float32 */
	int per_tensor;         /**< int8: one scale per tensor, not per output channel / row */
	const char *include;    /**< POSIX extended regex on variable names and checkpoint
	                             keys: only matching variables (NULL: all) */
	const char *exclude;    /**< POSIX extended regex: matching variables stay float32 */
	double min_sqnr;        /**< keep float32 where the SQNR (dB) would fall below; 0: no bound */
	/* version 3 */
	int channel_axis;       /**< int8 per-channel: a tfshrink_channel_axis */
} tfshrink_shrink_options;
#define TFSHRINK_SHRINK_OPTIONS_VERSION 3
#define TFSHRINK_SHRINK_OPTIONS_INIT \
	{ TFSHRINK_SHRINK_OPTIONS_VERSION, 0, 0, 0, 0, TFSHRINK_WEIGHTS_KEEP, 1024, 0, NULL, NULL, 0.0, TFSHRINK_AXIS_BEST }

typedef struct tfshrink_pass_result {
	const char *name;
	int ran;                /**< 0 when skipped */
	uint64_t bytes_saved;   /**< output bytes this pass removed */
	uint64_t items;         /**< things it removed or merged */
	const char *summary;    /**< one line on what it did */
} tfshrink_pass_result;

/** What the weights pass did with one float32 weight. Errors compare the
 * original values with what the rewritten graph computes from the stored
 * ones; NaN and Inf elements are left out of them. */
typedef struct tfshrink_weight_result {
	const char *key;        /**< checkpoint key */
	const char *name;       /**< variable name in the graph (VarHandleOp), or "" */
	int quantized;          /**< 1: stored as `dtype`; 0: kept float32 (see reason) */
	int dtype;              /**< DataType stored: float16, bfloat16, int8 or float32 */
	const char *scheme;     /**< "fp16", "bf16", "int8/channel", "int8/row", "int8/tensor" */
	uint64_t elements;
	uint64_t bytes_before;  /**< float32 bytes */
	uint64_t bytes_after;   /**< stored bytes, plus the scale constants for int8 */
	double sqnr_db;         /**< signal-to-quantization-noise ratio; +inf when exact */
	double max_abs_err;     /**< max |x - y| */
	double rel_rms_err;     /**< sqrt(sum (x - y)^2 / sum x^2) */
	const char *reason;     /**< why it stayed float32, or "" */
	int axis;               /**< int8/channel and int8/row: the axis of the scales; else -1 */
} tfshrink_weight_result;

typedef struct tfshrink_shrink_report {
	uint64_t input_bytes;   /**< every file of the input directory */
	uint64_t bytes_before;  /**< the output's size with no pass (a plain rewrite) */
	uint64_t bytes_after;   /**< the output's size after the passes */
	size_t n_passes;
	const tfshrink_pass_result *passes;
	size_t n_notes;         /**< warnings and remarks, one line each */
	const char *const *notes;
	/* The weights pass, one row per float32 weight it considered (those
	 * with at least min_elements elements), quantized or kept. */
	size_t n_weights;
	const tfshrink_weight_result *weights;
} tfshrink_shrink_report;

/**
 * Runs the shrink passes on an open model, in memory; tfshrink_model_write
 * then writes the result. The result is checked before this returns: every
 * restore key exists with its dtype and shape, every referenced function and
 * object exists, every asset file is there. A model that would not load is
 * refused with TFSHRINK_EVERIFY and the reason.
 * Errors: EVERIFY, EUNSUPPORTED, ECORRUPT, ENOMEM, EINVAL.
 */
int tfshrink_model_shrink(tfshrink_model *model, const tfshrink_shrink_options *opts,
                          tfshrink_shrink_report **out);
void tfshrink_shrink_report_free(tfshrink_shrink_report *report);

/** Name of a TensorFlow DataType value ("float32", "string", ...), or "dtype(N)". */
const char *tfshrink_dtype_name(int dtype);

#ifdef __cplusplus
}
#endif
#endif /* TFSHRINK_H */
