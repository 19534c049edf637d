#!/usr/bin/env python3
"""tfshrink-verify: run every signature of two SavedModels on the same inputs
with real TensorFlow and report how far the outputs differ.

    tfshrink-verify ORIG NEW [--inputs file.npz] [--rtol R] [--l2 R]
                    [--loader tf2|v1|all] [--batch N] [--json]

Both loaders are exercised, as TensorFlow Serving and Python would:

* ``tf2``: ``tf.saved_model.load`` then every key of ``.signatures``;
* ``v1``:  graph mode ``tf.compat.v1.saved_model.loader.load`` for every tag
  set, then every SignatureDef through ``Session.run``.

Inputs are deterministic (each (signature, input) gets its own seeded RNG:
floats uniform in [-2, 2), small integers, cycled strings or synthesized
tf.Example protos), or come from ``--inputs file.npz`` (keys
``signature/input`` or ``input``).  For each float output it prints the max
absolute error, the max relative error (|a - b| / max(|a|, 10% of the
output's largest |a|), --atol-frac) and the
relative L2 error ||a - b|| / ||a||, plus the top-1 agreement of 2-D outputs
with several columns (classifiers).  Non-float outputs must be equal.  The
exit status is 1 when an output exceeds --rtol (max relative error) or --l2
(relative L2 error), or differs in kind, 2 on usage errors.

This module is also the shared input-building and model-running code of the
project's end-to-end tests (tests/e2e/tfcompare.py imports it).  Importing
it does not import TensorFlow; the ``run_*`` functions do.
"""

import json
import os
import sys
import zlib

import numpy as np

SEED = 20240611
LOADERS = ("tf2", "v1")
SKIP_SIGNATURES = ("__saved_model_init_op", "__saved_model_train_op")
UNKNOWN_DIM = 2  # size used for every unknown (-1) dimension, incl. batch

# Fixed pool of byte strings fed to string inputs.  The first words are in the
# vocab of tests/fixtures (generate.py VOCAB); a few are from the real TFX
# models' vocab assets; "" and an OOV word exercise defaults.
STRING_POOL = [b"apple", b"banana", b"cherry", b"zz-out-of-vocab", b"",
               b"fig", b"Cash", b"Credit Card", b"Flash Cab"]

LOAD_KEY = "<load>"
CALL_KEY = "<call>"
SKIP_KEY = "<skipped>"

PARSE_OPS = ("ParseExample", "ParseExampleV2", "ParseSingleExample")


_NOISE = ("Graph execution error", "Detected at node", "Original stack trace",
          "Node: ", "[[", "Registered devices", "Registered kernels",
          "<no registered kernels>", "File \"", "Colocation", "See below",
          "Root Member", "Traceback", "Original error:")


def _err(e):
    """'TypeName: message' with TF's stack-trace/debug noise removed (the
    useful part of a TF error is often in the middle)."""
    text = str(e)
    if "Original error:" in text:  # checkpoint-restore wrapper
        text = text.split("Original error:", 1)[1]
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(_NOISE)] or lines[:1]
    return "%s: %s" % (type(e).__name__, " | ".join(keep[:2])[:600])


def err_type(value):
    """'TypeName' from ("error", "TypeName: message")."""
    return value[1].split(":", 1)[0]


# --------------------------------------------------------------------------
# SavedModel proto reading (no TF runtime needed beyond protobuf classes)
# --------------------------------------------------------------------------

def read_saved_model(path):
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    pb = os.path.join(path, "saved_model.pb")
    pbtxt = os.path.join(path, "saved_model.pbtxt")
    if os.path.exists(pb):
        with open(pb, "rb") as f:
            sm.ParseFromString(f.read())
    elif os.path.exists(pbtxt):
        from google.protobuf import text_format
        with open(pbtxt, "r") as f:
            text_format.Parse(f.read(), sm)
    else:
        raise FileNotFoundError("no saved_model.pb(txt) in %s" % path)
    return sm


def tag_sets(sm):
    return [tuple(mg.meta_info_def.tags) for mg in sm.meta_graphs]


# --------------------------------------------------------------------------
# Deterministic inputs
# --------------------------------------------------------------------------

def _rng(*parts):
    key = "/".join(str(p) for p in parts).encode()
    return np.random.default_rng([SEED, zlib.crc32(key)])


def concrete_shape(dims, is_string=False, batch=None):
    """dims: list of int or None (-1/None unknown), or None for unknown rank.
    Unknown dims become UNKNOWN_DIM (an unknown first dim becomes ``batch``
    when given); an unknown rank becomes a scalar, except for strings
    (usually a batch of serialized examples): a vector of 2."""
    if dims is None:
        return ((batch or UNKNOWN_DIM),) if is_string else ()
    return tuple((batch if (i == 0 and batch) else UNKNOWN_DIM)
                 if (d is None or d < 0) else int(d)
                 for i, d in enumerate(dims))


def make_value(tf_dtype, dims, sig, name, hints=None):
    """Deterministic numpy value for one input.

    float: seeded uniform in [-2, 2); ints: 0..3; bool: alternating;
    strings: cycled STRING_POOL, or serialized tf.Example protos when the model
    parses examples (hints["example_features"]).  hints["inputs"] (a dict,
    e.g. an .npz) gives values by "signature/input" or "input" instead;
    hints["batch"] sets the size of an unknown first dimension.  Raises
    TypeError for dtypes the harness cannot feed.
    """
    import tensorflow as tf
    dt = tf.as_dtype(tf_dtype)
    given = (hints or {}).get("inputs") or {}
    for k in ("%s/%s" % (sig, name), name):
        if k in given:
            v = np.asarray(given[k])
            return v.astype(object) if dt == tf.string else v.astype(dt.as_numpy_dtype)
    shape = concrete_shape(dims, is_string=(dt == tf.string),
                           batch=(hints or {}).get("batch"))
    size = int(np.prod(shape)) if shape else 1
    rng = _rng(sig, name)
    if dt.is_floating:
        v = rng.uniform(-2.0, 2.0, size=shape)
        return np.asarray(v).astype(dt.as_numpy_dtype)
    if dt.is_complex:
        v = rng.uniform(-2, 2, size=shape) + 1j * rng.uniform(-2, 2, size=shape)
        return np.asarray(v).astype(dt.as_numpy_dtype)
    if dt == tf.bool:
        return (np.arange(size) % 2 == 0).reshape(shape)
    if dt.is_integer and not dt.is_quantized:
        return rng.integers(0, 4, size=shape).astype(dt.as_numpy_dtype)
    if dt == tf.string:
        feats = (hints or {}).get("example_features")
        if feats:
            vals = [serialize_example(feats, sig, name, i) for i in range(size)]
        else:
            off = zlib.crc32(("%s/%s" % (sig, name)).encode()) % len(STRING_POOL)
            vals = [STRING_POOL[(off + i) % len(STRING_POOL)]
                    for i in range(size)]
        return np.array(vals, dtype=object).reshape(shape)
    raise TypeError("unsupported input dtype %s" % dt.name)


# -- tf.Example synthesis for models that parse serialized examples ---------

def _const_value(nodes, ref):
    """Value of the Const node referenced by an input string, or None."""
    import tensorflow as tf
    name = ref.lstrip("^").split(":")[0]
    n = nodes.get(name)
    if n is None or n.op != "Const":
        return None
    return tf.make_ndarray(n.attr["value"].tensor)


def _shape_list(shape_proto):
    if shape_proto.unknown_rank:
        return None
    return [d.size for d in shape_proto.dim]


def find_example_features(sm):
    """Union of the features parsed by every ParseExample* op in the model
    (top-level graphs and function bodies): {key: (kind, dtype_enum, dims)}."""
    feats = {}

    def scan(node_defs):
        nodes = {n.name: n for n in node_defs}
        for n in node_defs:
            if n.op not in PARSE_OPS:
                continue
            try:
                if n.op == "ParseExample":
                    ns, nd = n.attr["Nsparse"].i, n.attr["Ndense"].i
                    ins = [i for i in n.input if not i.startswith("^")]
                    sk = [_const_value(nodes, r) for r in ins[2:2 + ns]]
                    dk = [_const_value(nodes, r) for r in ins[2 + ns:2 + ns + nd]]
                    rk = []
                elif n.op == "ParseExampleV2":
                    ins = [i for i in n.input if not i.startswith("^")]
                    sk = list(_const_value(nodes, ins[2]).reshape(-1))
                    dk = list(_const_value(nodes, ins[3]).reshape(-1))
                    rk = list(_const_value(nodes, ins[4]).reshape(-1))
                else:  # ParseSingleExample: keys are attrs
                    sk = list(n.attr["sparse_keys"].list.s)
                    dk = list(n.attr["dense_keys"].list.s)
                    rk = []
            except Exception:
                continue
            stypes = list(n.attr["sparse_types"].list.type)
            tdense = list(n.attr["Tdense"].list.type)
            dshapes = [_shape_list(s) for s in n.attr["dense_shapes"].list.shape]
            rtypes = list(n.attr["ragged_value_types"].list.type)
            for k, t in zip(sk, stypes):
                if k is not None:
                    feats.setdefault(_b(k), ("sparse", t, [1]))
            for i, (k, t) in enumerate(zip(dk, tdense)):
                if k is not None:
                    dims = dshapes[i] if i < len(dshapes) else [1]
                    feats.setdefault(_b(k), ("dense", t, dims))
            for k, t in zip(rk, rtypes):
                if k is not None:
                    feats.setdefault(_b(k), ("ragged", t, [1]))

    for mg in sm.meta_graphs:
        scan(mg.graph_def.node)
        for fn in mg.graph_def.library.function:
            scan(fn.node_def)
    return feats


def _b(k):
    if isinstance(k, np.ndarray):
        k = k.item()
    return k if isinstance(k, bytes) else str(k).encode()


def serialize_example(feats, sig, name, index):
    import tensorflow as tf
    f = {}
    for key in sorted(feats):
        kind, dtype_enum, dims = feats[key]
        dt = tf.as_dtype(dtype_enum)
        n = 1
        if kind == "dense" and dims:
            n = int(np.prod([d if d and d > 0 else 1 for d in dims]))
        rng = _rng(sig, name, index, key)
        if dt == tf.string:
            off = int(rng.integers(0, len(STRING_POOL)))
            vals = [STRING_POOL[(off + j) % len(STRING_POOL)] for j in range(n)]
            f[key.decode("utf-8", "replace")] = tf.train.Feature(
                bytes_list=tf.train.BytesList(value=vals))
        elif dt.is_integer:
            f[key.decode("utf-8", "replace")] = tf.train.Feature(
                int64_list=tf.train.Int64List(
                    value=[int(x) for x in rng.integers(0, 4, size=n)]))
        else:
            f[key.decode("utf-8", "replace")] = tf.train.Feature(
                float_list=tf.train.FloatList(
                    value=[float(np.float32(x))
                           for x in rng.uniform(-2, 2, size=n)]))
    ex = tf.train.Example(features=tf.train.Features(feature=f))
    return ex.SerializeToString(deterministic=True)


def input_hints(path):
    """Hints derived from the ORIGINAL model and reused for the rewritten one,
    so both sides get byte-identical feeds even if the rewrite changes the
    graph."""
    try:
        feats = find_example_features(read_saved_model(path))
    except Exception:
        feats = {}
    return {"example_features": feats}


# --------------------------------------------------------------------------
# Output conversion
# --------------------------------------------------------------------------

def as_result_array(v):
    """np.asarray, with byte strings always as object arrays (TF returns a
    scalar string as bytes, whose np.asarray would be a fixed-width 'S')."""
    a = np.asarray(v)
    if a.dtype.kind in "SU":
        a = a.astype(object)
    return a


def _to_numpy_items(prefix, value):
    """Yield (name, ndarray) for a TF output (Tensor, Sparse, Ragged, nest)."""
    import tensorflow as tf
    if isinstance(value, tf.SparseTensor):
        yield prefix + "/indices", as_result_array(value.indices.numpy())
        yield prefix + "/values", as_result_array(value.values.numpy())
        yield prefix + "/dense_shape", as_result_array(value.dense_shape.numpy())
    elif isinstance(value, tf.RaggedTensor):
        yield prefix + "/flat_values", as_result_array(value.flat_values.numpy())
        for i, s in enumerate(value.nested_row_splits):
            yield prefix + "/row_splits_%d" % i, as_result_array(s.numpy())
    elif isinstance(value, dict):
        for k in sorted(value):
            yield from _to_numpy_items("%s/%s" % (prefix, k) if prefix else k,
                                       value[k])
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _to_numpy_items("%s/%d" % (prefix, i) if prefix
                                       else str(i), v)
    elif hasattr(value, "numpy"):
        yield prefix or "output", as_result_array(value.numpy())
    else:
        yield prefix or "output", as_result_array(value)


# --------------------------------------------------------------------------
# Loader paths
# --------------------------------------------------------------------------

def _setup_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(2)
    except RuntimeError:
        pass  # context already initialised
    return tf


def run_tf2(path, hints=None):
    """tf.saved_model.load path.  Returns the flat results dict."""
    tf = _setup_tf()
    res = {}
    try:
        sm = read_saved_model(path)
    except Exception as e:
        res[("tf2", (), LOAD_KEY, LOAD_KEY)] = ("load_error", _err(e))
        return res
    tsets = tag_sets(sm)
    attempts = [(tsets[0], None)] if len(tsets) == 1 else [(t, list(t)) for t in tsets]
    for tags, tag_arg in attempts:
        try:
            loaded = tf.saved_model.load(path, tags=tag_arg)
        except Exception as e:
            res[("tf2", tags, LOAD_KEY, LOAD_KEY)] = ("load_error", _err(e))
            continue
        for sig in sorted(loaded.signatures.keys()):
            if sig in SKIP_SIGNATURES:
                continue
            res.update(_run_tf2_signature(tf, loaded.signatures[sig], tags,
                                          sig, hints))
        del loaded
    return res


def _run_tf2_signature(tf, fn, tags, sig, hints):
    base = ("tf2", tags, sig)
    try:
        args, kwargs = fn.structured_input_signature
    except Exception as e:
        return {base + (SKIP_KEY,): ("skipped", "no input signature: " + _err(e))}
    call_args, call_kwargs = [], {}
    try:
        for i, spec in enumerate(args):
            call_args.append(_tf2_input(tf, spec, sig, spec.name or "arg%d" % i,
                                        hints))
        for name in sorted(kwargs):
            call_kwargs[name] = _tf2_input(tf, kwargs[name], sig, name, hints)
    except _Unfeedable as e:
        return {base + (SKIP_KEY,): ("skipped", str(e))}
    tf.random.set_seed(SEED)
    try:
        out = fn(*call_args, **call_kwargs)
        items = list(_to_numpy_items("", out))
    except Exception as e:
        return {base + (CALL_KEY,): ("error", _err(e))}
    return {base + (k,): v for k, v in items}


class _Unfeedable(Exception):
    pass


def _tf2_input(tf, spec, sig, name, hints):
    if not isinstance(spec, tf.TensorSpec):
        raise _Unfeedable("input %r is %s (composite/sparse input not fed)"
                          % (name, type(spec).__name__))
    dims = None if spec.shape.rank is None else spec.shape.as_list()
    try:
        return tf.constant(make_value(spec.dtype, dims, sig, name, hints),
                           dtype=spec.dtype)
    except TypeError as e:
        raise _Unfeedable("input %r: %s" % (name, e))


def run_v1(path, hints=None):
    """Graph-mode tf.compat.v1 loader path, every tag set."""
    tf = _setup_tf()
    v1 = tf.compat.v1
    res = {}
    try:
        sm = read_saved_model(path)
    except Exception as e:
        res[("v1", (), LOAD_KEY, LOAD_KEY)] = ("load_error", _err(e))
        return res
    for tags in tag_sets(sm):
        graph = tf.Graph()
        # Soft placement: graphs pinned to /device:GPU:0 run on CPU, as in
        # a CPU-only TF Serving.
        config = v1.ConfigProto(intra_op_parallelism_threads=1,
                                inter_op_parallelism_threads=2,
                                allow_soft_placement=True)
        with graph.as_default(), v1.Session(graph=graph, config=config) as sess:
            try:
                mg = v1.saved_model.loader.load(sess, list(tags), path)
            except Exception as e:
                res[("v1", tags, LOAD_KEY, LOAD_KEY)] = ("load_error", _err(e))
                continue
            for sig in sorted(mg.signature_def):
                if sig in SKIP_SIGNATURES:
                    continue
                res.update(_run_v1_signature(tf, sess, mg.signature_def[sig],
                                             tags, sig, hints))
    return res


def _tensorinfo_dims(ti):
    if ti.tensor_shape.unknown_rank or not ti.HasField("tensor_shape"):
        return None
    return [d.size for d in ti.tensor_shape.dim]


def _run_v1_signature(tf, sess, sd, tags, sig, hints):
    base = ("v1", tags, sig)
    feeds = {}
    for name in sorted(sd.inputs):
        ti = sd.inputs[name]
        enc = ti.WhichOneof("encoding")
        if enc != "name":
            return {base + (SKIP_KEY,): (
                "skipped", "input %r has %s encoding (sparse/composite input "
                "not fed)" % (name, enc))}
        dtype, dims = ti.dtype, _tensorinfo_dims(ti)
        try:
            # Old writers (TF 1.0) left TensorInfo shape unset or even the
            # dtype wrong: the graph tensor is what gets fed, trust it.
            t = sess.graph.get_tensor_by_name(ti.name)
            if t.dtype.as_datatype_enum != dtype:
                dtype = t.dtype.as_datatype_enum
            if dims is None and t.shape.rank is not None:
                dims = [-1 if d is None else d for d in t.shape.as_list()]
        except (KeyError, ValueError):
            pass
        try:
            feeds[ti.name] = make_value(dtype, dims, sig, name, hints)
        except TypeError as e:
            return {base + (SKIP_KEY,): ("skipped", "input %r: %s" % (name, e))}
    fetches = {}
    res = {}
    for name in sorted(sd.outputs):
        ti = sd.outputs[name]
        enc = ti.WhichOneof("encoding")
        if enc == "name":
            fetches[name] = ti.name
        elif enc == "coo_sparse":
            c = ti.coo_sparse
            fetches[name + "/indices"] = c.indices_tensor_name
            fetches[name + "/values"] = c.values_tensor_name
            fetches[name + "/dense_shape"] = c.dense_shape_tensor_name
        elif enc == "composite_tensor":
            for i, comp in enumerate(ti.composite_tensor.components):
                fetches["%s/component_%d" % (name, i)] = comp.name
        else:
            res[base + (name,)] = ("skipped", "output without encoding")
    try:
        out = sess.run(fetches, feed_dict=feeds)
    except Exception as e:
        res[base + (CALL_KEY,)] = ("error", _err(e))
        return res
    for k, v in out.items():
        res[base + (k,)] = as_result_array(v)
    return res


RUNNERS = {"tf2": run_tf2, "v1": run_v1}


def load_both(path, hints=None, loaders=LOADERS):
    """In-process: results of every requested loader path, merged."""
    if hints is None:
        hints = input_hints(path)
    res = {}
    for ld in loaders:
        res.update(RUNNERS[ld](path, hints))
    return res


ATOL_FRAC = 0.1

# --------------------------------------------------------------------------
# Verification of a rewritten (e.g. quantized) model against its original
# --------------------------------------------------------------------------

def output_errors(a, b, floor=ATOL_FRAC):
    """Error figures of b against the reference a (numpy arrays). The
    relative error of an element is |a - b| / max(|a|, floor * max |a|):
    elements near zero are measured against a fraction of the output's
    scale, not against themselves."""
    out = {"dtype": str(a.dtype), "shape": list(a.shape)}
    if a.shape != b.shape or a.dtype != b.dtype:
        out["mismatch"] = "array(%s, %s) vs array(%s, %s)" % (
            a.dtype, a.shape, b.dtype, b.shape)
        return out
    if a.dtype.kind not in "fc":
        out["equal"] = bool(np.array_equal(a, b))
        return out
    x = a.astype(np.float64 if a.dtype.kind == "f" else np.complex128)
    y = b.astype(x.dtype)
    fin = np.isfinite(x) & np.isfinite(y)
    same_nonfinite = bool(np.array_equal(~np.isfinite(x), ~np.isfinite(y)))
    d = np.abs(x - y)[fin]
    ax = np.abs(x)[fin]
    out["max_abs"] = float(d.max()) if d.size else 0.0
    den = np.maximum(ax, max(floor * (float(ax.max()) if ax.size else 0.0), 1e-30))
    out["max_rel"] = float((d / den).max()) if d.size else 0.0
    nx = float(np.linalg.norm(x[fin])) if d.size else 0.0
    nd = float(np.linalg.norm(d)) if d.size else 0.0
    out["rel_l2"] = nd / nx if nx > 0 else (0.0 if nd == 0 else float("inf"))
    out["nonfinite_match"] = same_nonfinite
    if a.ndim == 2 and a.shape[1] > 1 and a.dtype.kind == "f" and a.shape[0]:
        out["top1"] = float(np.mean(np.argmax(a, axis=1) == np.argmax(b, axis=1)))
        out["rows"] = int(a.shape[0])
    return out


def verify(orig, new, loaders=LOADERS, hints=None, floor=None):
    """{loader: {(tags, signature, output): figures or {"error": ...}}}."""
    if hints is None:
        hints = {}
    h = input_hints(orig)
    h.update(hints)
    report = {}
    for ld in loaders:
        ro = RUNNERS[ld](orig, h)
        rn = RUNNERS[ld](new, h)
        rows = {}
        for k in sorted(set(ro) | set(rn), key=repr):
            a, b = ro.get(k), rn.get(k)
            name = (",".join(k[1]), k[2], k[3])
            if isinstance(a, tuple) and a[0] in ("load_error", "crash"):
                rows[name] = {"skipped": "original does not load: " + a[1][:300]}
                continue
            if a is None or b is None or isinstance(a, tuple) or isinstance(b, tuple):
                if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] \
                        and (a[0] != "error" or a[1].split(":")[0] == b[1].split(":")[0]):
                    rows[name] = {"skipped": "%s in both: %s" % (a[0], a[1][:200])}
                else:
                    rows[name] = {"mismatch": "%s vs %s" % (_short(a), _short(b))}
                continue
            rows[name] = output_errors(a, b, ATOL_FRAC if floor is None else floor)
        report[ld] = rows
    return report


def _short(v):
    if v is None:
        return "missing"
    if isinstance(v, tuple):
        return "%s(%s)" % (v[0], v[1][:300])
    return "array(%s, %s)" % (v.dtype, v.shape)


def failures(report, rtol=None, l2=None, min_top1=None):
    """Human-readable reasons the report exceeds the tolerances."""
    bad = []
    for ld, rows in report.items():
        for name, r in rows.items():
            where = "%s %s %s/%s" % (ld, name[0], name[1], name[2])
            if "mismatch" in r:
                bad.append("%s: %s" % (where, r["mismatch"]))
            elif r.get("equal") is False:
                bad.append("%s: values differ" % where)
            elif "max_abs" in r:
                if not r["nonfinite_match"]:
                    bad.append("%s: NaN/Inf at different places" % where)
                if rtol is not None and r["max_rel"] > rtol:
                    bad.append("%s: max relative error %.3g > %g" % (where, r["max_rel"], rtol))
                if l2 is not None and r["rel_l2"] > l2:
                    bad.append("%s: relative L2 error %.3g > %g" % (where, r["rel_l2"], l2))
                if min_top1 is not None and "top1" in r and r["top1"] < min_top1:
                    bad.append("%s: top-1 agreement %.4f < %g" % (where, r["top1"], min_top1))
    return bad


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(
        prog="tfshrink-verify",
        description="Run every signature of ORIG and NEW on the same inputs and "
                    "report per output the max absolute, max relative and "
                    "relative L2 error.")
    p.add_argument("orig")
    p.add_argument("new")
    p.add_argument("--inputs", help=".npz of input values (keys signature/input or input)")
    p.add_argument("--rtol", type=float, default=None,
                   help="fail when an output's max relative error exceeds this")
    p.add_argument("--l2", type=float, default=None,
                   help="fail when an output's relative L2 error exceeds this")
    p.add_argument("--min-top1", type=float, default=None,
                   help="fail when a classifier output's top-1 agreement is below this")
    p.add_argument("--atol-frac", type=float, default=ATOL_FRAC,
                   help="relative errors of elements smaller than this fraction of the "
                        "output's largest magnitude are taken against that (default %g)" % ATOL_FRAC)
    p.add_argument("--batch", type=int, default=None,
                   help="size of unknown first dimensions of generated inputs (default %d)" % UNKNOWN_DIM)
    p.add_argument("--loader", choices=LOADERS + ("all",), default="all")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    a = p.parse_args(argv)
    hints = {}
    if a.inputs:
        with np.load(a.inputs, allow_pickle=True) as z:
            hints["inputs"] = {k: z[k] for k in z.files}
    if a.batch:
        hints["batch"] = a.batch
    loaders = LOADERS if a.loader == "all" else (a.loader,)
    report = verify(a.orig, a.new, loaders, hints, a.atol_frac)
    bad = failures(report, a.rtol, a.l2, a.min_top1)
    if a.json:
        doc = {"orig": a.orig, "new": a.new, "ok": not bad, "failures": bad,
               "outputs": [dict(loader=ld, tags=n[0], signature=n[1], output=n[2], **r)
                           for ld, rows in report.items() for n, r in rows.items()]}
        json.dump(doc, sys.stdout, indent=1, default=float)
        sys.stdout.write("\n")
    else:
        print("%-4s %-24s %-24s %10s %10s %10s %7s" % ("LOAD", "SIGNATURE", "OUTPUT", "MAX ABS",
                                                     "MAX REL", "REL L2", "TOP-1"))
        for ld, rows in report.items():
            for n, r in rows.items():
                if "max_abs" in r:
                    print("%-4s %-24s %-24s %10.3g %10.3g %10.3g %7s" % (
                        ld, n[1][:24], n[2][:24], r["max_abs"], r["max_rel"], r["rel_l2"],
                        "%.4f" % r["top1"] if "top1" in r else "-"))
                else:
                    print("%-4s %-24s %-24s %s" % (ld, n[1][:24], n[2][:24],
                                                   r.get("skipped") or r.get("mismatch") or
                                                   ("equal" if r.get("equal") else "DIFFERENT")))
        for b in bad:
            print("FAIL " + b)
        print("%s: %d output(s) compared, %d over tolerance" % (
            "ok" if not bad else "FAILED",
            sum(1 for rows in report.values() for r in rows.values() if "max_abs" in r or "equal" in r),
            len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
