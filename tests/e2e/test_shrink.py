"""`tfshrink shrink IN OUT` must produce a SavedModel that TensorFlow loads
and runs with bit-identical results, without touching IN.

Parameters: model = fx-<generated fixture> | real-<shared real model>,
loader = tf2 (tf.saved_model.load) | v1 (graph-mode loader.load, every tag
set).  A loader path on which the ORIGINAL model does not load in this TF
version is skipped (with the reason), never passed.

Besides the outputs, ``tf.saved_model.load`` of OUT must not complain about
variables that are "not bound" or "not assigned a value" (what a half-removed
optimizer or metric looks like), and models that lose training state are
also checked with ``--keep-objects``.
"""

import os
import re
import subprocess
import sys
import time

import pytest

import conftest
import test_rewrite
import tfcompare

pytestmark = pytest.mark.e2e

# What a SavedModel with dangling training state says when loaded.
BAD_LOAD_PHRASES = ("not bound", "not assigned a value", "uninitialized",
                    "Unresolved object in checkpoint")


def _run_shrink(tfshrink, src, out, args=()):
    before = conftest.hash_tree(src)
    cmd = [str(tfshrink), "shrink"] + list(args) + [str(src), str(out)]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        rc, so, se = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, so, se = -999, str(e.stdout or ""), "timeout after 600 s"
    return conftest.Rewrite(str(src), src, out, cmd, rc, so, se,
                            time.time() - t0, before, conftest.hash_tree(src))


@pytest.fixture(scope="session")
def shrunk(tfshrink, model_source, tmp_path_factory):
    """shrunk(model, keep_objects=False) -> Rewrite, running `tfshrink shrink
    IN OUT` once per model and profile per session."""
    cache = {}

    def get(model, keep_objects=False):
        key = (model, keep_objects)
        if key not in cache:
            src = model_source(model)
            tag = ("shk-" if keep_objects else "sh-") + model.replace("/", "-")
            out = tmp_path_factory.mktemp(tag) / "out"
            args = ["--keep-objects"] if keep_objects else []
            cache[key] = _run_shrink(tfshrink, src, out, args)
        return cache[key]
    return get


def _training_state_items(r):
    """Items the training-state pass reported in the text table, or 0."""
    m = re.search(r"^training-state\s+\d+\s+(\d+)\s", r.stdout, re.M)
    return int(m.group(1)) if m else 0


def _bad_phrases(results, loader):
    out = []
    for k, v in results.items():
        if k[0] == loader and isinstance(v, tuple):
            for ph in BAD_LOAD_PHRASES:
                if ph in v[1]:
                    out.append("%s: %s" % (k[2], v[1][:300]))
    return out


def _compare(model, loader, r, original_results, tf_runner):
    orig, hints = original_results(model, loader)
    load_errors = tfcompare.loader_load_errors(orig, loader)
    loaded_ok = [k for k in orig
                 if k[0] == loader and k[2] != tfcompare.LOAD_KEY]
    if load_errors and not loaded_ok:
        why = "; ".join("[%s] %s" % (",".join(t) or "-", m[:700])
                        for t, m in sorted(load_errors.items()))
        pytest.skip("%s: ORIGINAL does not load via %s in this TensorFlow: %s"
                    % (model, loader, why))
    if not loaded_ok:
        pytest.skip("%s: ORIGINAL has no runnable signature via %s"
                    % (model, loader))
    if r.returncode != 0:
        pytest.fail("tfshrink shrink failed, nothing to compare\n"
                    + test_rewrite._fmt_rewrite(r))
    new = tf_runner.run(r.out, loader, hints)
    bad = [b for b in _bad_phrases(new, loader)
           if b not in _bad_phrases(orig, loader)]
    if bad:
        pytest.fail("%s: the shrunk model reports unbound/unassigned variables "
                    "via %s:\n  %s" % (model, loader, "\n  ".join(bad[:20])),
                    pytrace=False)
    problems = tfcompare.compare_results(orig, new, loader)
    if problems:
        pytest.fail("%s: %d difference(s) between original and shrunk "
                    "via %s:\n  %s" % (model, len(problems), loader,
                                       "\n  ".join(problems[:40])),
                    pytrace=False)
    n_arrays = sum(1 for k, v in orig.items()
                   if k[0] == loader and not isinstance(v, tuple))
    if n_arrays == 0:
        by_msg = {}
        for k, v in sorted(orig.items(), key=repr):
            if k[0] == loader and isinstance(v, tuple):
                by_msg.setdefault(v[1][:400], []).append(k[2])
        why = "; ".join("%s: %s" % (",".join(sigs), msg)
                        for msg, sigs in by_msg.items())
        pytest.skip("%s: ORIGINAL loads via %s but no signature produced "
                    "outputs (shrunk matches): %s"
                    % (model, loader, why[:1500]))


def test_shrink_cli(model, shrunk):
    """Exit status 0, output is a SavedModel dir no bigger than IN, input
    unchanged."""
    r = shrunk(model)
    changed = sorted(k for k in set(r.before) | set(r.after)
                     if r.before.get(k) != r.after.get(k))
    if changed:
        pytest.fail("input directory %s was modified: %s" % (r.src, changed))
    if r.returncode != 0:
        pytest.fail("tfshrink shrink failed\n" + test_rewrite._fmt_rewrite(r))
    if not r.out.is_dir():
        pytest.fail("no output directory %s\n%s"
                    % (r.out, test_rewrite._fmt_rewrite(r)))
    if not ((r.out / "saved_model.pb").is_file()
            or (r.out / "saved_model.pbtxt").is_file()):
        pytest.fail("output has no saved_model.pb(txt): %s" % sorted(
            p.name for p in r.out.iterdir()))


def test_shrink_outputs(model, loader, shrunk, original_results, tf_runner):
    """Every signature gives identical outputs (or the same error type)."""
    _compare(model, loader, shrunk(model), original_results, tf_runner)


def test_shrink_keep_objects_outputs(model, loader, shrunk, original_results,
                                     tf_runner):
    """Models that lose training state also answer identically with
    --keep-objects (only training state goes, the object graph stays)."""
    r = shrunk(model)
    if r.returncode != 0 or _training_state_items(r) == 0:
        pytest.skip("%s: no training state removed" % model)
    _compare(model, loader, shrunk(model, keep_objects=True),
             original_results, tf_runner)


_LOAD_WORKER = r"""
import os, sys
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
import tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
print("signatures:", sorted(getattr(m, "signatures", {}).keys()))
"""


def test_shrink_tf2_load_is_clean(model, shrunk):
    """tf.saved_model.load of a model that lost training state logs nothing
    about unbound or unassigned values that the original does not log."""
    r = shrunk(model)
    if r.returncode != 0 or _training_state_items(r) == 0:
        pytest.skip("%s: no training state removed" % model)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    logs = []
    for path in (r.src, r.out):
        p = subprocess.run([sys.executable, "-c", _LOAD_WORKER, str(path)],
                           capture_output=True, text=True, timeout=900,
                           env=env)
        logs.append((p.returncode, p.stdout + p.stderr))
    (rc0, log0), (rc1, log1) = logs
    if rc0 != 0:
        pytest.skip("%s: ORIGINAL does not load via tf.saved_model.load: %s"
                    % (model, log0[-1500:]))
    if rc1 != 0:
        pytest.fail("tf.saved_model.load of the shrunk model failed:\n%s"
                    % log1[-4000:], pytrace=False)
    new = [ph for ph in BAD_LOAD_PHRASES
           if log1.count(ph) > log0.count(ph)]
    if new:
        lines = [l for l in log1.splitlines() if any(ph in l for ph in new)]
        pytest.fail("%s: loading the shrunk model logs %s:\n  %s"
                    % (model, new, "\n  ".join(lines[:20])), pytrace=False)
