"""Cross-check of the quant kernels (src/quant) against numpy, ml_dtypes and
TensorFlow, bit for bit.

The C side is the test-only filter tests/unit/quant_dump.c (raw values on
stdin, converted values on stdout), run with the fastest kernels and with the
scalar reference (--ref). It is found through $TFSHRINK_QUANT_DUMP or at
<repo>/build/tests/quant_dump; every test is skipped if it is absent.

Compared:
  * all 65,536 float16 patterns -> float32, and back, with numpy;
  * all 65,536 bfloat16 patterns -> float32, and back, with ml_dtypes
    (shipped with TensorFlow; skipped if missing);
  * ~4.5 million float32 values (random bit patterns, random magnitudes,
    values around the float16 limits) -> float16 with numpy and -> bfloat16
    with ml_dtypes;
  * int8 scales and codes with a numpy transcription of the contract in
    src/quant/quant.h;
  * in a TensorFlow subprocess: Cast float32 -> half / bfloat16, and the
    dequantization Cast(int8 -> float32) * scale the rewritten graph will run.

NaN: numpy keeps a signalling NaN signalling in both directions, while the
kernels (like the F16C instructions) set the quiet bit; that one difference is
checked explicitly. ml_dtypes and TensorFlow agree with the kernels on NaN too.

Run:  .venv/bin/python -m pytest tests/e2e/test_quant_numpy.py -q -rs
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DUMP = Path(os.environ.get("TFSHRINK_QUANT_DUMP", REPO / "build" / "tests" / "quant_dump"))

pytestmark = pytest.mark.skipif(
    not (DUMP.is_file() and os.access(DUMP, os.X_OK)),
    reason="quant_dump not found at %s (build the tests, or set TFSHRINK_QUANT_DUMP)" % DUMP)

IMPLS = [pytest.param([], id="simd"), pytest.param(["--ref"], id="ref")]


def dump(args, data):
    r = subprocess.run([str(DUMP)] + args, input=data.tobytes(), capture_output=True, check=False)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def c_f32_to(kind, x, impl):
    return np.frombuffer(dump(impl + ["f32-" + kind], x.astype(np.float32)), dtype=np.uint16)


def c_to_f32(kind, h, impl):
    return np.frombuffer(dump(impl + [kind + "-f32"], h.astype(np.uint16)), dtype=np.uint32)


def bits32(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def show(mask, *arrays):
    idx = np.flatnonzero(mask)[:8]
    return "; ".join(" ".join("%x" % int(a[i]) for a in arrays) for i in idx)


def random_f32():
    rng = np.random.default_rng(20240611)
    parts = [
        rng.integers(0, 2**32, size=1 << 22, dtype=np.uint64).astype(np.uint32).view(np.float32),
        (rng.standard_normal(1 << 18) * np.exp2(rng.integers(-30, 20, 1 << 18))).astype(np.float32),
        # float16 overflow, subnormal and underflow neighbourhoods
        rng.uniform(65000, 66000, 1 << 16).astype(np.float32),
        rng.uniform(-2.0**-14, 2.0**-14, 1 << 16).astype(np.float32),
        rng.uniform(-2.0**-24, 2.0**-24, 1 << 16).astype(np.float32),
        # bfloat16 subnormals and overflow
        rng.integers(0, 1 << 24, 1 << 16, dtype=np.uint32).view(np.float32),
        np.arange(0x7f7f0000, 0x7f800000, dtype=np.uint32).view(np.float32),
    ]
    return np.concatenate(parts)


# ---- float16 -----------------------------------------------------------------

@pytest.mark.parametrize("impl", IMPLS)
def test_f16_all_patterns(impl):
    h = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    ours = c_to_f32("f16", h, impl)
    theirs = bits32(h.view(np.float16).astype(np.float32))
    nan = np.isnan(h.view(np.float16))
    assert nan.sum() == 2 * 1023 * 1
    ok = ours[~nan] == theirs[~nan]
    assert ok.all(), show(~ok, h[~nan], ours[~nan], theirs[~nan])
    # NaN: same payload and sign; the kernels also set the quiet bit.
    assert (ours[nan] == (theirs[nan] | 0x00400000)).all()

    back = c_f32_to("f16", ours.view(np.float32), impl)
    assert (back[~nan] == h[~nan]).all()
    assert np.isnan(back.view(np.float16)[nan]).all()
    assert (back[nan] == (h[nan] | 0x200)).all()
    np_back = ours.view(np.float32).astype(np.float16).view(np.uint16)
    assert (np_back[~nan] == back[~nan]).all()


@pytest.mark.parametrize("impl", IMPLS)
def test_f32_to_f16_random(impl):
    x = random_f32()
    ours = c_f32_to("f16", x, impl)
    with np.errstate(over="ignore", invalid="ignore"):
        theirs = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    ok = ours[~nan] == theirs[~nan]
    assert ok.all(), show(~ok, bits32(x)[~nan], ours[~nan], theirs[~nan])
    # numpy agrees on quiet NaNs; for signalling ones it does not set the quiet bit.
    u = bits32(x)[nan]
    quiet = (u & 0x00400000) != 0
    assert (ours[nan][quiet] == theirs[nan][quiet]).all()
    assert (ours[nan] == (((u >> 16) & 0x8000) | 0x7e00 | ((u >> 13) & 0x3ff))).all()
    assert nan.sum() > 1000 and (~quiet).sum() > 1000


# ---- bfloat16 ----------------------------------------------------------------

@pytest.mark.parametrize("impl", IMPLS)
def test_bf16_all_patterns(impl):
    mld = pytest.importorskip("ml_dtypes")
    h = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    ours = c_to_f32("bf16", h, impl)
    theirs = bits32(h.view(mld.bfloat16).astype(np.float32))
    assert (ours == theirs).all(), show(ours != theirs, h, ours, theirs)
    back = c_f32_to("bf16", ours.view(np.float32), impl)
    with np.errstate(invalid="ignore"):
        np_back = ours.view(np.float32).astype(mld.bfloat16).view(np.uint16)
    assert (back == np_back).all(), show(back != np_back, h, back, np_back)
    nan = np.isnan(h.view(mld.bfloat16).astype(np.float32))
    assert (back[~nan] == h[~nan]).all()


@pytest.mark.parametrize("impl", IMPLS)
def test_f32_to_bf16_random(impl):
    mld = pytest.importorskip("ml_dtypes")
    x = random_f32()
    ours = c_f32_to("bf16", x, impl)
    with np.errstate(over="ignore", invalid="ignore"):
        theirs = x.astype(mld.bfloat16).view(np.uint16)
    assert (ours == theirs).all(), show(ours != theirs, bits32(x), ours, theirs)


# ---- int8 --------------------------------------------------------------------

def np_int8(x2d, axis):
    """The contract of quant.h, transcribed with numpy float32 arithmetic."""
    a = np.abs(x2d)
    if axis == "tensor":
        m = a.max(keepdims=True).reshape(1)
    elif axis == "channel":
        m = a.max(axis=0)
    else:
        m = a.max(axis=1)
    tiny = np.finfo(np.float32).tiny
    s = np.where(m == 0, np.float32(1), np.maximum(m / np.float32(127), tiny)).astype(np.float32)
    sb = s.reshape(1, -1) if axis == "channel" else s.reshape(-1, 1) if axis == "row" else s
    q = np.clip(np.rint(x2d / sb), -127, 127).astype(np.int8)  # rint: half to even
    return s, q, sb


def int8_input(rows, cols, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    x *= np.exp2(rng.integers(-20, 20, (1, cols))).astype(np.float32)
    x[rng.random((rows, cols)) < 0.05] = 0
    if cols > 2:
        # Channel 1: maximum 31.75, so scale 0.25 exactly and x / scale lands
        # on exact ties k + 0.5.
        x[:, 1] = (np.arange(rows) % 254 - 127 + 0.5).astype(np.float32) * np.float32(0.25)
        x[0, 1] = np.float32(31.75)
    x[:, cols // 2] = 0                     # an all-zero channel
    x[rows // 2, :] = np.float32(1e-40)     # a row of subnormals (scale FLT_MIN)
    return x


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("axis", ["tensor", "channel", "row"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (257, 129), (2000, 3), (4, 70001)],
                         ids=lambda s: "%dx%d" % s)
def test_int8_vs_numpy(impl, axis, shape):
    rows, cols = shape
    x = int8_input(rows, cols, rows * 1000 + cols)
    out = dump(impl + ["int8-" + axis, str(rows), str(cols)], x)
    ns = {"tensor": 1, "channel": cols, "row": rows}[axis]
    s = np.frombuffer(out[:4 * ns], dtype=np.float32)
    q = np.frombuffer(out[4 * ns:], dtype=np.int8).reshape(rows, cols)
    ws, wq, sb = np_int8(x, axis)
    assert (bits32(s) == bits32(ws)).all()
    bad = q != wq
    assert not bad.any(), show(bad.ravel(), bits32(x).ravel(), q.ravel(), wq.ravel())
    y = q.astype(np.float32) * sb
    assert (np.abs(x.astype(np.float64) - y) <= sb.astype(np.float64) * (0.5 + 2.0**-16)).all()


def test_int8_refuses_nonfinite():
    x = np.ones((4, 4), np.float32)
    x[2, 3] = np.inf
    r = subprocess.run([str(DUMP), "int8-channel", "4", "4"], input=x.tobytes(),
                       capture_output=True, check=False)
    assert r.returncode == 3
    assert b"element 11 is Inf" in r.stderr


# ---- TensorFlow: the ops the rewritten graph will run ------------------------

TF_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    d = np.load(sys.argv[1])
    h = tf.cast(tf.constant(d["x"]), tf.float16).numpy().view(np.uint16)
    b = tf.cast(tf.constant(d["x"]), tf.bfloat16).numpy().view(np.uint16)
    y = (tf.cast(tf.constant(d["q"]), tf.float32) * tf.constant(d["s"])).numpy()
    y16 = tf.cast(tf.constant(d["h"].view(np.float16)), tf.float32).numpy()
    np.savez(sys.argv[2], h=h, b=b, y=y, y16=y16)
""")


def test_tensorflow_cast_and_dequant(tmp_path):
    try:
        import tensorflow  # noqa: F401  (only to know it is there; it runs in a child)
    except ImportError:
        pytest.skip("TensorFlow not importable")
    rng = np.random.default_rng(7)
    x = np.concatenate([random_f32()[:1 << 20], np.array([65504, 65519.99, 65520, 1e-8, -0.0],
                                                         np.float32)])
    x = x[~np.isnan(x)]  # TF's NaN propagation is not what is being checked here
    rows, cols = 300, 77
    xi = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    out = dump(["int8-channel", str(rows), str(cols)], xi)
    s = np.frombuffer(out[:4 * cols], dtype=np.float32)
    q = np.frombuffer(out[4 * cols:], dtype=np.int8).reshape(rows, cols)
    h = c_f32_to("f16", x, [])
    np.savez(tmp_path / "in.npz", x=x, q=q, s=s, h=h)
    r = subprocess.run([sys.executable, "-c", TF_SCRIPT, str(tmp_path / "in.npz"),
                        str(tmp_path / "out.npz")],
                       capture_output=True, check=False,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""))
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    t = np.load(tmp_path / "out.npz")
    assert (t["h"] == h).all(), show(t["h"] != h, bits32(x), h, t["h"])
    b = c_f32_to("bf16", x, [])
    assert (t["b"] == b).all(), show(t["b"] != b, bits32(x), b, t["b"])
    # The dequantized weights are exactly (float)q * scale, as the kernels assume.
    assert (bits32(t["y"]) == bits32(q.astype(np.float32) * s)).all()
    assert (bits32(t["y16"]) == c_to_f32("f16", h, [])).all()
