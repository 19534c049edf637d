"""`tfshrink rewrite IN OUT` must produce a SavedModel that TensorFlow loads
and runs with bit-identical results, without touching IN.

Parameters: model = fx-<generated fixture> | real-<shared real model>,
loader = tf2 (tf.saved_model.load) | v1 (graph-mode loader.load, every tag
set).  A loader path on which the ORIGINAL model does not load in this TF
version is skipped (with the reason), never passed.
"""

import pytest

import tfcompare

pytestmark = pytest.mark.e2e


def _fmt_rewrite(r):
    return ("command: %s\nexit: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
            % (" ".join(r.cmd), r.returncode, r.stdout[-4000:],
               r.stderr[-4000:]))


def test_rewrite_cli(model, rewritten):
    """Exit status 0, output is a SavedModel dir, input unchanged."""
    r = rewritten(model)
    changed = sorted(k for k in set(r.before) | set(r.after)
                     if r.before.get(k) != r.after.get(k))
    if changed:
        pytest.fail("input directory %s was modified: %s" % (r.src, changed))
    if r.returncode != 0:
        pytest.fail("tfshrink rewrite failed\n" + _fmt_rewrite(r))
    if not r.out.is_dir():
        pytest.fail("no output directory %s\n%s" % (r.out, _fmt_rewrite(r)))
    if not ((r.out / "saved_model.pb").is_file()
            or (r.out / "saved_model.pbtxt").is_file()):
        pytest.fail("output has no saved_model.pb(txt): %s" % sorted(
            p.name for p in r.out.iterdir()))


def test_rewrite_outputs(model, loader, rewritten, original_results,
                         tf_runner):
    """Every signature gives identical outputs (or same error type)."""
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

    r = rewritten(model)
    if r.returncode != 0:
        pytest.fail("tfshrink rewrite failed, nothing to compare\n"
                    + _fmt_rewrite(r))
    new = tf_runner.run(r.out, loader, hints)
    problems = tfcompare.compare_results(orig, new, loader)
    if problems:
        pytest.fail("%s: %d difference(s) between original and rewritten "
                    "via %s:\n  %s" % (model, len(problems), loader,
                                       "\n  ".join(problems[:40])),
                    pytrace=False)
    n_arrays = sum(1 for k, v in orig.items()
                   if k[0] == loader and not isinstance(v, tuple))
    if n_arrays == 0:
        # The rewritten model loaded and failed the same way, but nothing was
        # actually compared: report as skipped, not passed.
        by_msg = {}
        for k, v in sorted(orig.items(), key=repr):
            if k[0] == loader and isinstance(v, tuple):
                by_msg.setdefault(v[1][:400], []).append(k[2])
        why = "; ".join("%s: %s" % (",".join(sigs), msg)
                        for msg, sigs in by_msg.items())
        pytest.skip("%s: ORIGINAL loads via %s but no signature produced "
                    "outputs (rewritten matches): %s"
                    % (model, loader, why[:1500]))
