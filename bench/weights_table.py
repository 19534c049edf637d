"""Size table for `tfshrink shrink --weights`: whole-model bytes of the
original, the lossless shrink, --weights fp16 and --weights int8 (tfshrink
shrink --dry-run --json, exact forecasts), next to the TensorFlow Lite
converter's float16 and dynamic-range (int8 weights) .tflite sizes for the
same model. Needs TensorFlow for the TFLite columns (run with the project's
venv); a model the converter refuses gets "-".

Usage: .venv/bin/python bench/weights_table.py [--bin build/tfshrink]
           [--markdown] [--all] [DIR ...]
By default: the committed fixtures plus the shared real models that hold a
float32 weight of 1,024 elements or more (--all: every model).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CONVERT = r'''
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
path, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
c = tf.lite.TFLiteConverter.from_saved_model(path)
c.optimizations = [tf.lite.Optimize.DEFAULT]
if mode == "fp16":
    c.target_spec.supported_types = [tf.float16]
c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
data = c.convert()
open(out, "wb").write(data)
'''


def model_dirs(extra):
    if extra:
        return [Path(d) for d in extra]
    dirs = sorted(p for p in (REPO / "tests" / "fixtures" / "models").iterdir() if p.is_dir())
    real = REPO.parent / "shared" / "realmodels"
    if real.is_dir():
        dirs += sorted(p for p in real.iterdir() if p.is_dir())
    return dirs


def shrink(binary, d, *opts):
    r = subprocess.run([binary, "shrink", "--dry-run", "--json", str(d)] + list(opts),
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def tflite(d, mode, tmp):
    out = os.path.join(tmp, "m.tflite")
    try:
        r = subprocess.run([sys.executable, "-c", CONVERT, str(d), mode, out], capture_output=True,
                           text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0 or not os.path.exists(out):
        return None
    n = os.path.getsize(out)
    os.remove(out)
    return n


def main():
    import tempfile
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "build" / "tfshrink"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--all", action="store_true", help="also models with no weight to quantize")
    ap.add_argument("--no-tflite", action="store_true")
    ap.add_argument("dirs", nargs="*")
    a = ap.parse_args()
    rows = []
    tmp = tempfile.mkdtemp(prefix="tfs_weights_table_")
    for d in model_dirs(a.dirs):
        base = shrink(a.bin, d)
        f16 = shrink(a.bin, d, "--weights", "fp16")
        i8 = shrink(a.bin, d, "--weights", "int8")
        if not base or not f16 or not i8:
            continue
        nq = sum(w["quantized"] for w in f16["weights"])
        if not nq and not a.all and not a.dirs:
            continue
        t16 = tdr = None
        if not a.no_tflite:
            t16 = tflite(d, "fp16", tmp)
            tdr = tflite(d, "dynamic", tmp)
        rows.append((d.name, base["input_bytes"], base["output_bytes"], f16["output_bytes"],
                     i8["output_bytes"], t16, tdr, nq))
    os.rmdir(tmp)
    cols = ("model", "original", "lossless", "fp16", "int8", "tflite fp16", "tflite dynamic", "tensors")

    def fmt(v):
        return "-" if v is None else "{:,}".format(v) if isinstance(v, int) else str(v)
    if a.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|---|" + "---:|" * (len(cols) - 1))
        for r in rows:
            print("| " + " | ".join(fmt(v) for v in r) + " |")
    else:
        w = max([len(r[0]) for r in rows] + [10])
        print(f"{cols[0]:<{w}} " + " ".join(f"{c:>14}" for c in cols[1:]))
        for r in rows:
            print(f"{r[0]:<{w}} " + " ".join(f"{fmt(v):>14}" for v in r[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
