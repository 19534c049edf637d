#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from the committed fixtures
(tests/fixtures/models), without TensorFlow: the protobuf wire walker and
LevelDB table reader of tests/bad/pbwire.py are enough to cut the pieces out. protoc-c, when
installed, turns small saved_model.pb files into text-format seeds.

Usage: fuzz/make_corpus.py   (run from anywhere; rewrites seed_* files only,
so crash regressions and merged inputs in the corpus directories stay)."""
import glob
import os
import shutil
import struct
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.join(root, "tests", "bad"))
import pbwire as pw  # noqa: E402

fixtures = os.path.join(root, "tests", "fixtures", "models")
corpus = os.path.join(here, "corpus")
OG_KEY = b"_CHECKPOINTABLE_OBJECT_GRAPH"


def object_graphs(model):
    """(SavedObjectGraph bytes, TrackableObjectGraph bytes) of a TF2 model, or None."""
    pb = open(os.path.join(model, "saved_model.pb"), "rb").read()
    mg = next(v for f, _, v in pw.parse_fields(pb) if f == 2)
    og = [v for f, _, v in pw.parse_fields(mg) if f == 7]
    index = os.path.join(model, "variables", "variables.index")
    if not og or not os.path.exists(index):
        return None
    for key, val in pw.table_read(open(index, "rb").read()):
        if key != OG_KEY:
            continue
        e = {f: v for f, _, v in pw.parse_fields(val)}
        shard, off, size = e.get(3, 0), e.get(4, 0), e.get(5, 0)
        n = len(glob.glob(os.path.join(model, "variables", "variables.data-*")))
        data = open(os.path.join(model, "variables", "variables.data-%05d-of-%05d" % (shard, n)), "rb").read()
        s = data[off:off + size]
        ln, i = pw.read_varint(s, 0)
        return og[0], s[i + 4:i + 4 + ln]
    return None


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


PBTEXT_SNIPPETS = {
    "syntax": b'''# every construct the reader accepts
saved_model_schema_version: 1
meta_graphs {
  meta_info_def { meta_graph_version: "v\\x41\\101\\u00e9\\n" tags: ["serve", 'train'] tensorflow_version: "2.15.0" }
  graph_def <
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: -1 } dim { size: 0x10 } } } } }
    node { name: "c" op: "Const" attr { key: "value" value { tensor { dtype: DT_FLOAT
           tensor_shape { dim { size: 3 } } float_val: [1.5, -inf, nan] } } }
           attr { key: "dtype" value: { type: 1 } } };
    node { name: "b" op: "Const" attr { key: "value" value { tensor { dtype: DT_BOOL bool_val: [true, f, 1, False] } } } }
    node { name: "i" op: "Const" attr { key: "value" value { tensor { dtype: DT_INT64 int64_val: [-9223372036854775808, 017, +5] } } } }
    node { name: "s" op: "Const" attr { key: "value" value { tensor { dtype: DT_STRING string_val: "a" "b" string_val: '\\'' } } } }
    versions { producer: 1234 min_consumer: 12 }
  >
  signature_def { key: "serving_default" value { method_name: "tensorflow/serving/predict"
    inputs { key: "x" value { name: "x:0" dtype: DT_FLOAT tensor_shape { unknown_rank: true } } } } }
  collection_def { key: "saved_model_assets" value { any_list {
    value { [type.googleapis.com/tensorflow.AssetFileDef] { tensor_info { name: "a:0" } filename: "vocab.txt" } } } } }
  asset_file_def { filename: "vocab.txt" }
}
''',
    "floats": b'meta_graphs { graph_def { node { name: "n" attr { key: "v" value { f: 1e-05 } } '
              b'attr { key: "w" value { f: 1.0f } } attr { key: "l" value { list { f: [0, .5, 2E3, -Infinity] } } } } } }\n',
    "empty": b"",
    "deep": b"meta_graphs { object_graph_def { nodes { user_object { identifier: \"x\" } "
            b"children { node_id: 1 local_name: \"a\" } } concrete_functions { key: \"f\" value { bound_inputs: [1, 2] } } } }\n",
}


def main():
    models = sorted(d for d in glob.glob(os.path.join(fixtures, "*")) if os.path.isdir(d))
    for t in ("saved_model_pb", "pbtext", "table", "bundle", "object_graph", "shrink"):
        for f in glob.glob(os.path.join(corpus, t, "seed_*")):
            os.remove(f)
    protoc = shutil.which("protoc-c")
    proto = os.path.join(root, "src", "proto", "tensorflow.proto")
    for m in models:
        name = os.path.basename(m)
        pb = open(os.path.join(m, "saved_model.pb"), "rb").read()
        if len(pb) <= 100_000:
            put("saved_model_pb", name, pb)
        if protoc and len(pb) <= 25_000:
            text = subprocess.run([protoc, "--decode=tensorflow.SavedModel", "-I", os.path.dirname(proto), proto],
                                  input=pb, stdout=subprocess.PIPE, check=True).stdout
            put("pbtext", name, text)
        index = os.path.join(m, "variables", "variables.index")
        if os.path.exists(index):
            idx = open(index, "rb").read()
            put("table", name, idx)
            shard0 = sorted(glob.glob(os.path.join(m, "variables", "variables.data-*")))[0]
            put("bundle", name, struct.pack("<I", len(idx)) + idx + open(shard0, "rb").read())
        graphs = object_graphs(m)
        if graphs:
            og, cg = graphs
            put("object_graph", name, b"\0" + struct.pack("<I", len(og)) + og + cg)
            put("object_graph", name + "_keep_objects", b"\1" + struct.pack("<I", len(og)) + og + cg)
    for k, v in PBTEXT_SNIPPETS.items():
        put("pbtext", k, v)
    # fuzz_shrink: u8 file | u8 mode | u32 offset | payload (see fuzz_shrink.c).
    # Files of keras2_mlp_adam, sorted: fingerprint.pb, keras_metadata.pb,
    # saved_model.pb, variables/variables.data-00000-of-00001, variables/variables.index;
    # file | 0x80 picks tf1_ref_mlp: saved_model.pb, variables/variables.data-00000-of-00001,
    # variables/variables.index. mode | 0x80 quantizes every float tensor to int8.
    seeds = {
        "unchanged": (0, 0, 0, b""),
        "unchanged_verify": (0, 4, 0, b""),
        "rewrite_only": (0, 8, 0, b""),
        "keep_objects_strip_shapes": (0, 16 | 32, 0, b""),
        "fingerprint_garbage": (0, 2, 3, b"\xff\xff\xff"),
        "keras_metadata_truncated": (1, 2, 100, b""),
        "pb_flip": (2, 3, 5000, b"\x01"),
        "data_overwrite": (3, 0, 64, b"\x00" * 16),
        "data_truncated": (3, 2, 1000, b""),
        "index_flip": (4, 3, 40, b"\x80"),
        "index_truncated": (4, 2, 1500, b""),
        "int8": (0, 0x80, 0, b""),
        "tf1_unchanged": (0x80, 0, 0, b""),
        "tf1_int8": (0x80, 0x80, 0, b""),
        "tf1_pb_flip_int8": (0x80, 0x80 | 3, 9000, b"\x04"),
        "tf1_data_overwrite_int8": (0x81, 0x80, 256, b"\x7f" * 8),
        "tf1_index_flip": (0x82, 3, 30, b"\x40"),
    }
    for k, (f, mode, off, payload) in seeds.items():
        put("shrink", k, bytes([f, mode]) + struct.pack("<I", off) + payload)
    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(corpus, "*", "*")))
    print("corpus: %d bytes" % total)


if __name__ == "__main__":
    sys.exit(main())
