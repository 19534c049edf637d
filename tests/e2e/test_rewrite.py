"""`tfshrink rewrite IN OUT` must produce a SavedModel that TensorFlow loads
and runs with bit-identical results, without touching IN.

Parameters: model = fx-<generated fixture> | real-<shared real model>,
loader = tf2 (tf.saved_model.load) | v1 (graph-mode loader.load, every tag
set).  A loader path on which the ORIGINAL model does not load in this TF
version is skipped (with the reason), never passed.
"""

import pytest

import conftest

pytestmark = pytest.mark.e2e


def test_rewrite_cli(model, rewritten):
    """Exit status 0, output is a SavedModel dir, input unchanged."""
    conftest.check_cli_output(rewritten(model))


def test_rewrite_outputs(model, loader, rewritten, original_results,
                         tf_runner):
    """Every signature gives identical outputs (or same error type)."""
    conftest.compare_outputs(model, loader, rewritten(model), original_results,
                             tf_runner, "rewritten")
