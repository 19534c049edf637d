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

import pytest

import conftest

pytestmark = pytest.mark.e2e

# What a SavedModel with dangling training state says when loaded.
BAD_LOAD_PHRASES = ("not bound", "not assigned a value", "uninitialized",
                    "Unresolved object in checkpoint")


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
            cache[key] = conftest.run_tfshrink(tfshrink, "shrink", src, out, args)
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
    def no_new_bad_phrases(orig, new):
        bad = [b for b in _bad_phrases(new, loader)
               if b not in _bad_phrases(orig, loader)]
        if bad:
            pytest.fail("%s: the shrunk model reports unbound/unassigned "
                        "variables via %s:\n  %s"
                        % (model, loader, "\n  ".join(bad[:20])), pytrace=False)
    conftest.compare_outputs(model, loader, r, original_results, tf_runner,
                             "shrunk", no_new_bad_phrases)


def test_shrink_cli(model, shrunk):
    """Exit status 0, output is a SavedModel dir no bigger than IN, input
    unchanged."""
    conftest.check_cli_output(shrunk(model))


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
