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

import numpy as np

# Input building and the loader paths live in tools/tfshrink_verify.py, the
# installed verify tool; this module adds comparison and process isolation.
_TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
if _TOOLS not in sys.path:
    sys.path.insert(0, _TOOLS)
from tfshrink_verify import (  # noqa: E402,F401
    SEED,
    LOADERS,
    SKIP_SIGNATURES,
    UNKNOWN_DIM,
    STRING_POOL,
    LOAD_KEY,
    CALL_KEY,
    SKIP_KEY,
    PARSE_OPS,
    _NOISE,
    _err,
    err_type,
    read_saved_model,
    tag_sets,
    _rng,
    concrete_shape,
    make_value,
    _const_value,
    _shape_list,
    find_example_features,
    _b,
    serialize_example,
    input_hints,
    as_result_array,
    _to_numpy_items,
    _setup_tf,
    run_tf2,
    _run_tf2_signature,
    _Unfeedable,
    _tf2_input,
    run_v1,
    _tensorinfo_dims,
    _run_v1_signature,
    RUNNERS,
    load_both,
)


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
