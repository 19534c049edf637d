"""`tfshrink shrink --keep-objects IN OUT` keeps what Keras needs to reload:
on the Keras 2 fixtures, `tf_keras.models.load_model(OUT)` works and predicts
exactly what the original predicts; keras_metadata.pb stays.  Without
--keep-objects (the serving profile) keras_metadata.pb is gone and
tf.saved_model.load still answers identically (checked by the shrink e2e
tests); here only the file is checked.

TensorFlow runs in a child process (like tfcompare) so a crash there fails
one test, not the session.
"""

import json
import subprocess
import sys

import pytest

import conftest

pytestmark = pytest.mark.e2e

KERAS2 = [n for n in conftest.fixture_names() if n.startswith("keras2_")]

_WORKER = r"""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
import numpy as np
import tf_keras

def run(path):
    model = tf_keras.models.load_model(path)
    shape = [2 if (d is None or d < 0) else int(d) for d in model.input_shape]
    x = np.random.default_rng(20240611).uniform(-2.0, 2.0, size=shape).astype(np.float32)
    y = np.asarray(model.predict(x, verbose=0))
    return model, y

_, y0 = run(sys.argv[1])
m1, y1 = run(sys.argv[2])
print(json.dumps({
    "equal": bool(y0.dtype == y1.dtype and y0.shape == y1.shape and np.array_equal(y0, y1)),
    "shape": list(y0.shape),
    "max_abs_diff": float(np.max(np.abs(y0.astype(np.float64) - y1))) if y0.shape == y1.shape else None,
    "layers": len(m1.layers),
}))
"""


def _shrink(tfshrink, args, src, out):
    cmd = [str(tfshrink), "shrink", "-q"] + args + [str(src), str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        pytest.fail("%s failed (exit %d)\n%s\n%s" % (" ".join(cmd), p.returncode,
                                                     p.stdout[-3000:], p.stderr[-3000:]))


@pytest.mark.parametrize("name", KERAS2)
def test_keep_objects_keras_reloads(name, tfshrink, fixture_models_dir, tmp_path):
    src = fixture_models_dir / name
    if not (src / "keras_metadata.pb").is_file():
        pytest.skip("%s has no keras_metadata.pb" % name)
    out = tmp_path / "out"
    _shrink(tfshrink, ["--keep-objects"], src, out)
    assert (out / "keras_metadata.pb").is_file(), "--keep-objects dropped keras_metadata.pb"
    p = subprocess.run([sys.executable, "-c", _WORKER, str(src), str(out)],
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        pytest.fail("tf_keras.models.load_model on the --keep-objects output failed:\n%s"
                    % p.stderr[-4000:], pytrace=False)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res["equal"], "predictions differ: %r" % res


@pytest.mark.parametrize("name", KERAS2)
def test_serving_profile_drops_keras_metadata(name, tfshrink, fixture_models_dir, tmp_path):
    src = fixture_models_dir / name
    if not (src / "keras_metadata.pb").is_file():
        pytest.skip("%s has no keras_metadata.pb" % name)
    out = tmp_path / "out"
    _shrink(tfshrink, [], src, out)
    assert not (out / "keras_metadata.pb").exists()
    assert (out / "saved_model.pb").stat().st_size < (src / "saved_model.pb").stat().st_size
