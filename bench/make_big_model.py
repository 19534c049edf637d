"""Writes a SavedModel with about GB gigabytes of float32 variables (default 1.1),
using real TensorFlow. Usage: make_big_model.py OUTDIR [GB]"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf

out = sys.argv[1]
gb = float(sys.argv[2]) if len(sys.argv) > 2 else 1.1
per = 128 << 20  # 128 MiB per variable keeps TensorFlow's peak memory modest
count = max(1, int(gb * (1 << 30) // per))
rows = per // 4 // 1024


class Big(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.ws = [tf.Variable(rng.standard_normal((rows, 1024), dtype=np.float32), name=f"w{i}")
                   for i in range(count)]

    @tf.function(input_signature=[tf.TensorSpec([None, 1024], tf.float32)])
    def __call__(self, x):
        return tf.add_n([tf.reduce_sum(tf.matmul(x, w, transpose_b=True), axis=1) for w in self.ws])


m = Big()
tf.saved_model.save(m, out, signatures={"serving_default": m.__call__})
print(f"{out}: {count} variables of {per >> 20} MiB")
