"""Compares `tfshrink shrink` with TensorFlow's own inference-only exports of
the Keras 2 + Adam fixtures: tf_keras model.save(include_optimizer=False) and
tf.saved_model.save of the serving signature, on the same model.

Usage: .venv/bin/python bench/tf_export_compare.py [--bin build/tfshrink] [--markdown]
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
FIXTURES = ["keras2_mlp_adam", "keras2_cnn_bn_adam"]


def du(p):
    return sum(f.stat().st_size for f in Path(p).rglob("*") if f.is_file())


def var_bytes(p):
    return sum(f.stat().st_size for f in (Path(p) / "variables").glob("variables.data-*"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build" / "tfshrink"))
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    import tensorflow as tf
    import tf_keras

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in FIXTURES:
            src = REPO / "tests" / "fixtures" / "models" / name
            ours = Path(tmp) / (name + "-tfshrink")
            subprocess.run([a.bin, "shrink", "-q", str(src), str(ours)], check=True)
            model = tf_keras.models.load_model(str(src), compile=False)
            no_opt = Path(tmp) / (name + "-keras-no-optimizer")
            model.save(str(no_opt), include_optimizer=False, save_format="tf")
            sig = Path(tmp) / (name + "-saved-model-signature")
            spec = [tf.TensorSpec([None] + list(model.input_shape[1:]), tf.float32)]
            fn = tf.function(lambda x: model(x, training=False), input_signature=spec)
            tf.saved_model.save(model, str(sig), signatures={"serving_default": fn})
            weights = sum(int(w.numpy().nbytes) for w in model.weights)
            rows.append((name, du(src), du(ours), var_bytes(ours), du(no_opt), var_bytes(no_opt),
                         du(sig), var_bytes(sig), weights))
    hdr = ("fixture", "original", "tfshrink", "tfshrink vars", "keras save no-opt", "its vars",
           "tf.saved_model.save", "its vars", "weights")
    if a.markdown:
        print("| " + " | ".join(hdr) + " |")
        print("|---" * len(hdr) + "|")
        for r in rows:
            print("| " + " | ".join(str(x) for x in r) + " |")
    else:
        print("  ".join(f"{h:>20}" for h in hdr))
        for r in rows:
            print("  ".join(f"{x:>20}" for x in r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
