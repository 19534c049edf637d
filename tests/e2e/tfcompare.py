#!/usr/bin/env python3
"""Run every signature of a SavedModel with real TensorFlow, deterministically,
and compare two SavedModels' results.

Two loader paths are exercised:

* ``tf2``: ``tf.saved_model.load`` (no tags if the model has exactly one
  MetaGraphDef, else once per tag set), then every key of ``.signatures``.
* ``v1``:  graph mode, a fresh ``tf.Graph`` + ``tf.compat.v1.Session`` and
  ``tf.compat.v1.saved_model.loader.load(sess, tags, path)`` for EVERY tag
  set, then every SignatureDef (except ``__saved_model_init_op`` /
  ``__saved_model_train_op``) via ``sess.run``.

Inputs are deterministic (see ``make_value``): each (signature, input name)
gets its own seeded RNG, so the same model gets the same feeds on both paths
and in every process.

Results are a flat dict ``{(loader, tags, signature, output): value}`` where
``tags`` is a tuple of the tag set in file order and ``value`` is either a
numpy array or one of these tuples:

* ``("error", "TypeName: message")``  - running that signature raised
  (key output = ``"<call>"``);
* ``("skipped", reason)``             - signature not runnable by this
  harness (sparse/composite inputs, unsupported dtypes; output ``"<skipped>"``);
* ``("load_error", "TypeName: message")`` - the loader itself failed for that
  tag set (signature = output = ``"<load>"``);
* ``("crash", description)``          - the isolated worker process died
  (only produced by ``IsolatedRunner``).

Command line (also used by the verify tooling):

    tfcompare.py run PATH [--loader tf2|v1|all]      print results summary
    tfcompare.py compare ORIG NEW [--loader ...]      exit 0 iff identical
    tfcompare.py serve                                 worker (internal)

Importing this module does not import TensorFlow; the ``run_*`` functions do.
"""

import json
import os
import pickle
import subprocess
import sys
import tempfile
import traceback
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


def concrete_shape(dims, is_string=False):
    """dims: list of int or None (-1/None unknown), or None for unknown rank.
    Unknown dims become UNKNOWN_DIM; an unknown rank becomes a scalar, except
    for strings (usually a batch of serialized examples): a vector of 2."""
    if dims is None:
        return (UNKNOWN_DIM,) if is_string else ()
    return tuple(UNKNOWN_DIM if (d is None or d < 0) else int(d) for d in dims)


def make_value(tf_dtype, dims, sig, name, hints=None):
    """Deterministic numpy value for one input.

    float: seeded uniform in [-2, 2); ints: 0..3; bool: alternating;
    strings: cycled STRING_POOL, or serialized tf.Example protos when the model
    parses examples (hints["example_features"]).  Raises TypeError for
    dtypes the harness cannot feed.
    """
    import tensorflow as tf
    dt = tf.as_dtype(tf_dtype)
    shape = concrete_shape(dims, is_string=(dt == tf.string))
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


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------

def is_load_error(v):
    return isinstance(v, tuple) and v and v[0] in ("load_error", "crash")


def loader_load_errors(results, loader):
    """{tags: message} for tag sets the given loader could not load."""
    return {k[1]: v[1] for k, v in results.items()
            if k[0] == loader and k[2] == LOAD_KEY and is_load_error(v)}


def compare_values(a, b):
    """None if equal, else a short description of the difference."""
    ta, tb = isinstance(a, tuple), isinstance(b, tuple)
    if ta or tb:
        if not (ta and tb):
            return "%s vs %s" % (_describe(a), _describe(b))
        if a[0] != b[0]:
            return "%s vs %s" % (_describe(a), _describe(b))
        if a[0] == "error" and err_type(a) != err_type(b):
            return "error type differs: %s vs %s" % (a[1], b[1])
        return None
    if a.dtype != b.dtype:
        return "dtype %s vs %s" % (a.dtype, b.dtype)
    if a.shape != b.shape:
        return "shape %s vs %s" % (a.shape, b.shape)
    if a.dtype.kind in "fc":
        eq = np.array_equal(a, b, equal_nan=True)
    else:
        eq = np.array_equal(a, b)
    if not eq:
        if a.dtype.kind in "fc":
            d = np.nanmax(np.abs(a.astype(np.complex128 if a.dtype.kind == "c"
                                          else np.float64) - b)) if a.size else 0
            return "values differ (max abs diff %g)" % d
        return "values differ"
    return None


def _describe(v):
    if isinstance(v, tuple):
        limit = 1500 if v[0] in ("crash", "load_error") else 300
        return "%s(%s)" % (v[0], v[1][:limit])
    return "array(%s, %s)" % (v.dtype, v.shape)


def compare_results(orig, new, loader=None):
    """List of human-readable differences (empty if identical).  Keys of
    ORIG tag sets that failed to load on ORIG are ignored."""
    problems = []
    bad_tags = {(k[0], k[1]) for k, v in orig.items()
                if k[2] == LOAD_KEY and is_load_error(v)}
    keys = set(orig) | set(new)
    for k in sorted(keys, key=repr):
        if loader and k[0] != loader:
            continue
        if (k[0], k[1]) in bad_tags:
            continue
        if k not in orig:
            problems.append("%r: only in rewritten (%s)" % (k, _describe(new[k])))
        elif k not in new:
            problems.append("%r: missing in rewritten (orig %s)"
                            % (k, _describe(orig[k])))
        else:
            d = compare_values(orig[k], new[k])
            if d:
                problems.append("%r: %s" % (k, d))
    # load failures / crashes first: they explain the rest
    problems.sort(key=lambda p: LOAD_KEY not in p)
    return problems


# --------------------------------------------------------------------------
# Process isolation: a persistent worker that is restarted if TF crashes
# --------------------------------------------------------------------------

class IsolatedRunner:
    """Runs loader paths in a child Python process (TF can abort the whole
    process on malformed graphs).  The worker is reused for speed and
    recycled every ``max_requests`` requests."""

    def __init__(self, python=None, max_requests=12, timeout=900):
        self.python = python or sys.executable
        self.max_requests = max_requests
        self.timeout = timeout
        self.proc = None
        self.count = 0
        self.tmpdir = tempfile.mkdtemp(prefix="tfcompare_")
        self.stderr_path = os.path.join(self.tmpdir, "worker.stderr")

    def _start(self):
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env.setdefault("CUDA_VISIBLE_DEVICES", "-1")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.python, os.path.abspath(__file__), "serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            env=env)
        self.count = 0

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self._stderr.close()

    def _stderr_tail(self, n=1500):
        try:
            with open(self.stderr_path, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def run(self, path, loader, hints=None):
        if self.proc is None or self.count >= self.max_requests:
            self.close()
            self._start()
        self.count += 1
        out = os.path.join(self.tmpdir, "result.pkl")
        if os.path.exists(out):
            os.remove(out)
        req = json.dumps({"path": os.path.abspath(path), "loader": loader,
                          "out": out, "hints_pickle": _hints_file(
                              self.tmpdir, hints)}) + "\n"
        try:
            self.proc.stdin.write(req.encode())
            self.proc.stdin.flush()
            line = _readline_timeout(self.proc, self.timeout)
        except (BrokenPipeError, OSError):
            line = b""
        if line.strip() == b"ok":
            with open(out, "rb") as f:
                return pickle.load(f)
        # worker died or timed out
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait()
        self._stderr.close()
        tail = self._stderr_tail()
        self.proc = None
        desc = ("worker exited with %s while running %s on %s; stderr tail:\n%s"
                % (rc if rc is not None else "timeout", loader, path, tail))
        return {(loader, (), LOAD_KEY, LOAD_KEY): ("crash", desc)}


    def hints(self, path):
        """input_hints(path) computed in the worker (keeps TF out of the
        calling process)."""
        res = self.run(path, "hints")
        if isinstance(res, dict) and "example_features" in res:
            return res
        return {"example_features": {}}


def _hints_file(tmpdir, hints):
    if hints is None:
        return None
    p = os.path.join(tmpdir, "hints.pkl")
    with open(p, "wb") as f:
        pickle.dump(hints, f)
    return p


def _readline_timeout(proc, timeout):
    import select
    r, _, _ = select.select([proc.stdout], [], [], timeout)
    if not r:
        return b""
    return proc.stdout.readline()


def _serve():
    # Protocol on the ORIGINAL stdout; anything TF prints goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _setup_tf()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        hints = None
        if req.get("hints_pickle"):
            with open(req["hints_pickle"], "rb") as f:
                hints = pickle.load(f)
        try:
            if req["loader"] == "hints":
                res = input_hints(req["path"])
            else:
                res = RUNNERS[req["loader"]](req["path"], hints)
        except Exception as e:  # harness bug: report as load error
            traceback.print_exc()
            res = {(req["loader"], (), LOAD_KEY, LOAD_KEY):
                   ("load_error", "harness: " + _err(e))}
        with open(req["out"] + ".tmp", "wb") as f:
            pickle.dump(res, f)
        os.replace(req["out"] + ".tmp", req["out"])
        proto.write("ok\n")
    return 0


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def _print_results(res):
    for k in sorted(res, key=repr):
        v = res[k]
        if isinstance(v, tuple):
            print("%-4s %-16s %-28s %-24s %s" % (k[0], ",".join(k[1]), k[2],
                                                 k[3], _describe(v)))
        else:
            print("%-4s %-16s %-28s %-24s %s %s" % (k[0], ",".join(k[1]), k[2],
                                                    k[3], v.dtype, v.shape))


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("path")
    r.add_argument("--loader", choices=LOADERS + ("all",), default="all")
    c = sub.add_parser("compare")
    c.add_argument("orig")
    c.add_argument("new")
    c.add_argument("--loader", choices=LOADERS + ("all",), default="all")
    sub.add_parser("serve")
    a = p.parse_args(argv)
    if a.cmd == "serve":
        return _serve()
    loaders = LOADERS if a.loader == "all" else (a.loader,)
    runner = IsolatedRunner()
    try:
        if a.cmd == "run":
            hints = runner.hints(a.path)
            for ld in loaders:
                _print_results(runner.run(a.path, ld, hints))
            return 0
        hints = runner.hints(a.orig)
        status = 0
        for ld in loaders:
            ro = runner.run(a.orig, ld, hints)
            rn = runner.run(a.new, ld, hints)
            errs = loader_load_errors(ro, ld)
            n_ok = sum(1 for k, v in ro.items() if not isinstance(v, tuple))
            for tags, msg in errs.items():
                print("%s %s: ORIGINAL does not load: %s" % (ld, tags, msg))
            probs = compare_results(ro, rn, ld)
            for pr in probs:
                print("%s DIFF %s" % (ld, pr))
            print("%s: %d output(s) compared, %d difference(s)"
                  % (ld, n_ok, len(probs)))
            status |= bool(probs)
        return status
    finally:
        runner.close()


if __name__ == "__main__":
    sys.exit(main())
