#!/usr/bin/env python3
"""make_bad.py - builds the bad-input corpus from the committed fixtures.

    make_bad.py SOURCE_DIR OUT_DIR   write OUT_DIR/<case>/ for every case and
                                     OUT_DIR/manifest.tsv (what each must give)
    make_bad.py --table              print the README table of the cases

Every case is a model directory: a copy of a fixture from
SOURCE_DIR/tests/fixtures/models with one thing broken (or, for the classes
whose inputs are valid, one edge case added), built with the Python standard
library only (pbwire.py), no TensorFlow. The 16 classes are the ones of
"Bad-input cases for the fuzz and robustness plan" in the user-needs notes.

manifest.tsv columns (tab-separated, one case a line):
    case   class   expect   file   phrase   audit   run
expect: the tfshrink_code name (ECORRUPT, ELIMIT, ...) that
        tfshrink_model_open(verify_crc=1) must fail with, or OK for inputs
        that must open, inspect, shrink and rewrite cleanly;
file:   path (relative to the case directory) the error must name;
phrase: text the one-line message must contain;
audit:  for OK cases, the op `inspect --audit` must list ("-": none);
run:    "all", or "inspect" for cases too large to rewrite in a test.
"""
import os
import shutil
import struct
import sys

sys.dont_write_bytecode = True  # tests run this from the source tree: leave no __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pbwire as pw  # noqa: E402
from pbwire import Msg, new, map_get, map_set, map_del, map_entries  # noqa: E402

CASES = []
OG_KEY = b"_CHECKPOINTABLE_OBJECT_GRAPH"
INDEX = "variables/variables.index"
PB = "saved_model.pb"
SHARD = "variables/variables.data-00000-of-00001"

# DataType values
DT_FLOAT, DT_INT32, DT_STRING, DT_INT64, DT_HALF, DT_FLOAT_REF = 1, 3, 7, 9, 19, 101


def case(name, cls, expect, file="-", phrase="-", base="keras2_mlp_adam", audit="-", run="all"):
    def reg(fn):
        CASES.append(dict(name=name, cls=cls, expect=expect, file=file, phrase=phrase,
                          base=base, audit=audit, run=run, fn=fn))
        return fn
    return reg


# ------------------------------------------------------------ helpers

def rd(d, rel):
    with open(os.path.join(d, rel), "rb") as f:
        return f.read()


def wr(d, rel, data):
    p = os.path.join(d, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if os.path.lexists(p):
        os.remove(p)
    with open(p, "wb") as f:
        f.write(data)


def load_pb(d):
    return Msg(rd(d, PB))


def save_pb(d, m):
    wr(d, PB, m.encode())


def mg0(m):
    return m.msgs(2)[0]


def graph(m):
    return mg0(m).msg(2)


def nodes(gd):
    return gd.msgs(1)


def functions(m):
    lib = graph(m).msg(2)
    return lib.msgs(1) if lib else []


def fname(f):
    return f.msg(1).str(1)


def func(m, prefix):
    for f in functions(m):
        if fname(f).startswith(prefix):
            return f
    raise KeyError(prefix)


def body(f):
    return f.msgs(3)


def node_named(ns, name):
    for n in ns:
        if n.str(1) == name:
            return n
    raise KeyError(name)


def first_op(ns, op):
    for n in ns:
        if n.str(2) == op:
            return n
    raise KeyError(op)


def attr(n, key):
    return map_get(n, 5, key)


def tensor(dtype, dims, *fields):
    shape = Msg()
    for x in dims:
        shape.add(2, 2, new((1, x)))
    t = new((1, dtype), (2, shape))
    for fn, wt, v in fields:
        t.add(fn, wt, v)
    return t


def const_node(name, dtype, t):
    n = new((1, name), (2, "Const"))
    map_set(n, 5, "dtype", new((6, dtype)))
    map_set(n, 5, "value", new((8, t)))
    return n


def load_index(d):
    return pw.table_read(rd(d, INDEX))


def save_index(d, kvs, **kw):
    wr(d, INDEX, pw.table_write(kvs, **kw))


def edit_entry(d, key, fn):
    kvs = load_index(d)
    out = []
    for k, v in kvs:
        if k == key:
            e = Msg(v)
            fn(e)
            v = e.encode()
        out.append((k, v))
    save_index(d, out)


def first_float_entry(d, min_elems=2):
    for k, v in load_index(d):
        e = Msg(v)
        if k and e.int(1) == DT_FLOAT and e.int(5) >= 4 * min_elems and "OPTIMIZER" not in k.decode() \
                and not k.startswith(b"optimizer"):
            return k, e
    raise KeyError("float entry")


def encode_string_tensor(strings):
    """TensorFlow's bundle layout of a string tensor: varint lengths, masked
    CRC of the lengths, the bytes; and the entry's masked CRC."""
    lens = b"".join(pw.varint(len(s)) for s in strings)
    lcrc = 0
    for s in strings:
        lcrc = pw.crc32c(struct.pack("<I", len(s)), lcrc)
    stored = struct.pack("<I", pw.crc_mask(lcrc))
    crc = pw.crc32c(stored, lcrc)
    crc = pw.crc32c(b"".join(strings), crc)
    return lens + stored + b"".join(strings), pw.crc_mask(crc)


def replace_object_graph(d, payload, dims=None):
    """Appends a new _CHECKPOINTABLE_OBJECT_GRAPH value to the shard and points
    the entry at it."""
    data, crc = encode_string_tensor([payload])
    shard = rd(d, SHARD)
    off = len(shard)
    wr(d, SHARD, shard + data)

    def fix(e):
        e.set_int(4, off)
        e.set_int(5, len(data))
        e.set(6, 5, crc)
        if dims is not None:
            shape = Msg()
            for x in dims:
                shape.add(2, 2, new((1, x)))
            e.set(2, 2, shape)
    edit_entry(d, OG_KEY, fix)


def object_graph(d):
    for k, v in load_index(d):
        if k == OG_KEY:
            e = Msg(v)
            shard = rd(d, SHARD)
            blob = shard[e.int(4):e.int(4) + e.int(5)]
            n, i = pw.read_varint(blob, 0)
            return Msg(blob[i + 4:i + 4 + n])
    raise KeyError(OG_KEY)


# ====================================================== 1. table handles

@case("index_footer_handle_overflow", 1, "ECORRUPT", INDEX, "points past the end of the file")
def _(d):
    kvs = load_index(d)
    save_index(d, kvs, footer=pw.varint(0) + pw.varint(0) + pw.varint((1 << 64) - 16) + pw.varint(64))


@case("index_data_handle_huge", 1, "ECORRUPT", INDEX, "points past the end of the file")
def _(d):
    save_index(d, load_index(d), index_handle=pw.varint(0) + pw.varint(1 << 40))


@case("index_truncated_footer", 1, "ECORRUPT", INDEX, "bad magic number")
def _(d):
    wr(d, INDEX, rd(d, INDEX)[:-20])


@case("index_too_short", 1, "ECORRUPT", INDEX, "too short to be an sstable")
def _(d):
    wr(d, INDEX, rd(d, INDEX)[-20:])


# ============================================================ 2. snappy

def _snappy_block(make):
    def data_block(contents):
        return 1, make(contents)
    return data_block


@case("index_snappy_bad_offset", 2, "ECORRUPT", INDEX, "corrupt snappy data")
def _(d):
    # a copy reaching 1000 bytes back when only 8 have been produced
    bad = lambda c: pw.varint(len(c)) + pw.snappy_literal(c[:8]) + pw.snappy_copy2(1000, 8) + \
        pw.snappy_literal(c[16:])
    save_index(d, load_index(d), data_block=_snappy_block(bad))


@case("index_snappy_zero_offset", 2, "ECORRUPT", INDEX, "corrupt snappy data")
def _(d):
    bad = lambda c: pw.varint(len(c)) + pw.snappy_literal(c[:8]) + pw.snappy_copy2(0, 8) + \
        pw.snappy_literal(c[16:])
    save_index(d, load_index(d), data_block=_snappy_block(bad))


@case("index_snappy_long_copy", 2, "ECORRUPT", INDEX, "corrupt snappy data")
def _(d):
    # the copy writes past the announced length
    bad = lambda c: pw.varint(len(c)) + pw.snappy_literal(c) + pw.snappy_copy2(8, 64)
    save_index(d, load_index(d), data_block=_snappy_block(bad))


@case("index_snappy_huge_length", 2, "ELIMIT", INDEX, "decompresses to")
def _(d):
    bad = lambda c: pw.varint(1 << 31) + pw.snappy_literal(c)
    save_index(d, load_index(d), data_block=_snappy_block(bad))


def _snappy_runs(c):
    """Valid snappy using overlapping copies (offset 1) for runs of a byte."""
    out, i, lit = bytearray(pw.varint(len(c))), 0, bytearray()
    while i < len(c):
        j = i
        while j < len(c) and c[j] == c[i]:
            j += 1
        if j - i >= 6:
            lit.append(c[i])
            out += pw.snappy_literal(bytes(lit))
            lit = bytearray()
            k = i + 1
            while k < j:
                n = min(64, j - k)
                if n < 4:  # too short for a copy element
                    lit += c[k:j]
                    break
                out += pw.snappy_copy2(1, n)
                k += n
        else:
            lit += c[i:j]
        i = j
    if lit:
        out += pw.snappy_literal(bytes(lit))
    assert pw.snappy_decompress(bytes(out)) == c
    return bytes(out)


@case("index_snappy_overlapping_copy_ok", 2, "OK")
def _(d):
    save_index(d, load_index(d), data_block=_snappy_block(_snappy_runs))


# ================================================= 3. BundleEntryProto

def _weight(d):
    return first_float_entry(d)[0]


@case("entry_past_end_of_shard", 3, "ECORRUPT", SHARD, "runs past the end")
def _(d):
    size = len(rd(d, SHARD))
    edit_entry(d, _weight(d), lambda e: e.set_int(4, size - 4))


@case("entry_offset_size_overflow", 3, "ECORRUPT", SHARD, "runs past the end")
def _(d):
    edit_entry(d, _weight(d), lambda e: e.set_int(4, (1 << 63) - 2))


@case("entry_shard_id_out_of_range", 3, "ECORRUPT", INDEX, "names shard 7 but the bundle has 1")
def _(d):
    edit_entry(d, _weight(d), lambda e: e.set_int(3, 7))


@case("entry_negative_dim", 3, "ECORRUPT", INDEX, "negative dimension -3")
def _(d):
    def f(e):
        e.msg(2).msgs(2)[0].set_int(1, -3)
    edit_entry(d, _weight(d), f)


@case("entry_dims_overflow", 3, "ELIMIT", INDEX, "more than 2^58 elements")
def _(d):
    def f(e):
        s = Msg()
        for _ in range(3):
            s.add(2, 2, new((1, 1 << 40)))
        e.set(2, 2, s)
    edit_entry(d, _weight(d), f)


@case("entry_size_not_elements", 3, "ECORRUPT", INDEX, "elements need")
def _(d):
    edit_entry(d, _weight(d), lambda e: e.set_int(5, e.int(5) - 4))


@case("entry_bad_crc", 3, "ECORRUPT", SHARD, "checksum does not match")
def _(d):
    edit_entry(d, _weight(d), lambda e: e.set(6, 5, [x for x in e.f if x[0] == 6][0][2] ^ 1))


@case("entry_invalid_dtype", 3, "ECORRUPT", INDEX, "invalid dtype 77")
def _(d):
    edit_entry(d, _weight(d), lambda e: e.set_int(1, 77))


@case("entry_reference_dtype", 3, "ECORRUPT", INDEX, "invalid dtype 101")
def _(d):
    edit_entry(d, _weight(d), lambda e: e.set_int(1, DT_FLOAT_REF))


@case("entry_string_bogus_length", 3, "ECORRUPT", SHARD, "lengths add up to more than",
      base="string_int64_vars")
def _(d):
    key = b"labels/.ATTRIBUTES/VARIABLE_VALUE"
    e = Msg(dict(load_index(d))[key])
    shard = bytearray(rd(d, SHARD))
    assert shard[e.int(4)] < 0x80
    shard[e.int(4)] = 0x7F  # first length: 127 bytes, more than the tensor holds
    wr(d, SHARD, bytes(shard))


# ================================================ 4. header and shards

def _edit_header(d, fn):
    kvs = load_index(d)
    h = Msg(kvs[0][1])
    fn(h)
    save_index(d, [(b"", h.encode())] + kvs[1:])


@case("header_zero_shards", 4, "ECORRUPT", INDEX, "bundle header says 0 data shards")
def _(d):
    _edit_header(d, lambda h: h.set_int(1, 0))


@case("header_huge_shards", 4, "ELIMIT", INDEX, "data shards (allowed: 1 to 99999)")
def _(d):
    _edit_header(d, lambda h: h.set_int(1, (1 << 31) - 1))


@case("header_big_endian", 4, "EUNSUPPORTED", INDEX, "big-endian")
def _(d):
    _edit_header(d, lambda h: h.set_int(2, 1))


@case("header_unknown_endianness", 4, "ECORRUPT", INDEX, "unknown endianness 7")
def _(d):
    _edit_header(d, lambda h: h.set_int(2, 7))


@case("header_future_version", 4, "EUNSUPPORTED", INDEX, "needs a reader of version 5")
def _(d):
    _edit_header(d, lambda h: h.msg(3, create=True).set_int(2, 5))


@case("shard_missing", 4, "ENOTFOUND", SHARD, "data shard 0 of 1 is missing")
def _(d):
    os.remove(os.path.join(d, SHARD))


@case("shard_missing_of_three", 4, "ENOTFOUND", "variables/variables.data-00001-of-00003",
      "data shard 1 of 3 is missing", base="sharded_bundle")
def _(d):
    os.remove(os.path.join(d, "variables/variables.data-00001-of-00003"))


@case("shard_truncated", 4, "ECORRUPT", SHARD, "runs past the end")
def _(d):
    wr(d, SHARD, rd(d, SHARD)[:-10])


# ===================================== 5. the checkpoint's object graph

@case("object_graph_missing", 5, "ENOTFOUND", INDEX, "the checkpoint has no _CHECKPOINTABLE_OBJECT_GRAPH entry")
def _(d):
    save_index(d, [(k, v) for k, v in load_index(d) if k != OG_KEY])


@case("object_graph_not_scalar", 5, "ECORRUPT", INDEX, "must be a scalar string tensor")
def _(d):
    og = object_graph(d)
    replace_object_graph(d, og.encode(), dims=[1])


@case("object_graph_unparseable", 5, "ECORRUPT", SHARD, "_CHECKPOINTABLE_OBJECT_GRAPH")
def _(d):
    replace_object_graph(d, b"\x0a\x05\x0a\x03\x08\xff")  # a node whose child is cut short


@case("object_graph_child_out_of_range", 5, "ECORRUPT", SHARD, "has child id 9999")
def _(d):
    og = object_graph(d)
    og.msgs(1)[0].add(1, 2, new((1, 9999), (2, "ghost")))
    replace_object_graph(d, og.encode())


@case("object_graph_negative_child", 5, "ECORRUPT", SHARD, "has child id -1")
def _(d):
    og = object_graph(d)
    og.msgs(1)[1].add(1, 2, new((1, -1), (2, "ghost")))
    replace_object_graph(d, og.encode())


@case("object_graph_slot_missing_node", 5, "ECORRUPT", SHARD, "slot variable reference outside",
      base="tfmodule_multi_sig")
def _(d):
    og = object_graph(d)
    og.msgs(1)[0].add(3, 2, new((1, 1), (2, "m"), (3, 5000)))
    replace_object_graph(d, og.encode())


@case("object_graph_cycle_ok", 5, "OK")
def _(d):
    og = object_graph(d)
    ns = og.msgs(1)
    ns[-1].add(1, 2, new((1, 0), (2, "back_to_root")))
    ns[0].add(1, 2, new((1, 0), (2, "self")))
    replace_object_graph(d, og.encode())


# ====================================================== 6. saved_model.pb

@case("pb_truncated", 6, "ECORRUPT", PB, "past the end")
def _(d):
    b = rd(d, PB)
    wr(d, PB, b[:len(b) * 3 // 5])


@case("pb_wrong_wire_type", 6, "ECORRUPT", PB, "wire type")
def _(d):
    wr(d, PB, pw.varint(2 << 3 | 0) + pw.varint(5) + rd(d, PB))


@case("pb_varint_over_10_bytes", 6, "ECORRUPT", PB, "varint")
def _(d):
    wr(d, PB, rd(d, PB) + pw.varint(1 << 3 | 0) + b"\xff" * 10 + b"\x01")


@case("pb_length_past_end", 6, "ECORRUPT", PB, "past the end")
def _(d):
    wr(d, PB, rd(d, PB) + pw.varint(2 << 3 | 2) + pw.varint(1000) + b"abc")


@case("pb_length_over_2gib", 6, "ECORRUPT", PB, "past the end")
def _(d):
    wr(d, PB, pw.varint(2 << 3 | 2) + pw.varint((1 << 31) + 5) + rd(d, PB))


@case("pb_deep_nesting", 6, "ELIMIT", PB, "nesting deeper than 100")
def _(d):
    m = load_pb(d)
    t = Msg()
    for _ in range(200):  # FullTypeDef.args, 200 levels
        t = new((1, 1), (2, t))
    first_op(nodes(graph(m)), "VarHandleOp").set(7, 2, t)
    save_pb(d, m)


@case("pb_file_over_2gib", 6, "ELIMIT", PB, "limit", run="inspect")
def _(d):
    with open(os.path.join(d, PB), "r+b") as f:  # sparse: no disk used
        f.truncate((1 << 31) + 1)


@case("pb_no_meta_graph", 6, "ECORRUPT", PB, "holds no meta graph")
def _(d):
    wr(d, PB, pw.varint(1 << 3) + pw.varint(1))


@case("pbtxt_syntax_error", 6, "ECORRUPT", "saved_model.pbtxt", "line 3")
def _(d):
    os.remove(os.path.join(d, PB))
    wr(d, "saved_model.pbtxt", b"saved_model_schema_version: 1\nmeta_graphs {\n  graph_def { node { name: }\n")


# ===================================================== 7. init op

INIT = "__saved_model_init_op"


@case("init_op_no_outputs", 7, "ECORRUPT", PB, "signature '__saved_model_init_op' has no '__saved_model_init_op' output",
      base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    map_get(mg0(m), 5, INIT).remove(2)
    save_pb(d, m)


@case("init_op_output_renamed", 7, "ECORRUPT", PB, "has no '__saved_model_init_op' output", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    sd = map_get(mg0(m), 5, INIT)
    ti = map_get(sd, 2, INIT)
    map_del(sd, 2, INIT)
    map_set(sd, 2, "init", ti)
    save_pb(d, m)


@case("init_op_output_no_name", 7, "ECORRUPT", PB, "output names no tensor", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    map_get(map_get(mg0(m), 5, INIT), 2, INIT).remove(1)
    save_pb(d, m)


# ======================================================= 8. Const nodes

@case("const_missing_value", 8, "ECORRUPT", PB, "Const node 'Less/y' in the graph has no 'value' attribute",
      base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    map_del(node_named(nodes(graph(m)), "Less/y"), 5, "value")
    save_pb(d, m)


@case("const_renamed_value", 8, "ECORRUPT", PB, "has no 'value' attribute", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    n = node_named(nodes(graph(m)), "Less/y")
    v = attr(n, "value")
    map_del(n, 5, "value")
    map_set(n, 5, "valeu", v)
    save_pb(d, m)


@case("const_missing_dtype_in_function", 8, "ECORRUPT", PB, "in function '__inference_lookup_",
      base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    map_del(node_named(body(func(m, "__inference_lookup_")), "Less/y"), 5, "dtype")
    save_pb(d, m)


@case("const_value_not_tensor", 8, "ECORRUPT", PB, "'value' attribute is not a tensor", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    map_set(node_named(nodes(graph(m)), "Less/y"), 5, "value", new((3, 7)))
    save_pb(d, m)


@case("const_dtype_mismatch", 8, "ECORRUPT", PB, "but its value is", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    n = node_named(nodes(graph(m)), "Less/y")
    dt = attr(n, "dtype").int(6)
    map_set(n, 5, "dtype", new((6, DT_STRING if dt != DT_STRING else DT_FLOAT)))
    save_pb(d, m)


# ===================================================== 9. TensorProto

def _const_value(m, name, fn=None):
    ns = body(func(m, fn)) if fn else nodes(graph(m))
    return attr(node_named(ns, name), "value").msg(8)


def _content_const(m):
    """A top-level Const whose value uses tensor_content."""
    for n in nodes(graph(m)):
        if n.str(2) == "Const":
            t = attr(n, "value").msg(8)
            if t and t.vals(4) and t.vals(4)[0]:
                return n, t
    raise KeyError("tensor_content")


@case("tensor_content_wrong_length", 9, "ECORRUPT", PB, "tensor_content", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    n, t = _content_const(m)
    t.set(4, 2, t.vals(4)[0][:-1])
    save_pb(d, m)


@case("tensor_content_wrong_length_in_function", 9, "ECORRUPT", PB, "in function '__inference_lookup_",
      base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    t = _const_value(m, "Less/y", "__inference_lookup_")
    t.set(4, 2, b"\x01\x02\x03")  # 3 bytes for an int64 scalar
    save_pb(d, m)


def _retype(m, name, dtype, dims):
    n = node_named(nodes(graph(m)), name)
    map_set(n, 5, "dtype", new((6, dtype)))
    t = attr(n, "value").msg(8)
    t.set_int(1, dtype)
    s = Msg()
    for x in dims:
        s.add(2, 2, new((1, x)))
    t.set(2, 2, s)
    return t


@case("tensor_invalid_dtype_empty", 9, "ECORRUPT", PB, "invalid dtype 99", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    t = _retype(m, "Less/y", 99, [0])
    t.f = [x for x in t.f if x[0] in (1, 2)]
    save_pb(d, m)


@case("tensor_reference_dtype", 9, "ECORRUPT", PB, "reference dtype", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    _retype(m, "Less/y", DT_FLOAT_REF, [])
    save_pb(d, m)


@case("tensor_partial_shape", 9, "ECORRUPT", PB, "dimension -1", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    n, t = _content_const(m)
    t.msg(2).msgs(2)[0].set_int(1, -1)
    save_pb(d, m)


@case("tensor_unknown_rank", 9, "ECORRUPT", PB, "unknown rank", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    n, t = _content_const(m)
    t.msg(2).set_int(3, 1)
    save_pb(d, m)


@case("tensor_shape_overflow", 9, "ELIMIT", PB, "more than 2^58 elements", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    n, t = _content_const(m)
    s = Msg()
    for _ in range(4):
        s.add(2, 2, new((1, 1 << 40)))
    t.set(2, 2, s)
    save_pb(d, m)


# ================================================ 10. duplicate AttrDefs

@case("opdef_duplicate_attr", 10, "ECORRUPT", PB, "declares attr 'T' twice")
def _(d):
    m = load_pb(d)
    for op in mg0(m).msg(1).msg(2).msgs(1):
        if op.str(1) == "MatMul":
            t = [a for a in op.msgs(4) if a.str(1) == "T"][0]
            op.add(4, 2, Msg(t.encode()))
    save_pb(d, m)


@case("function_duplicate_input_arg", 10, "ECORRUPT", PB, "declares input 'words' twice", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    f = func(m, "__inference_lookup_")
    sig = f.msg(1)
    args = sig.msgs(2)
    dup = Msg(args[0].encode())
    sig.add(2, 2, dup)
    assert args[0].str(1) == "words", args[0].str(1)
    save_pb(d, m)


# ====================================== 11. recursion and missing references

def _call(name, callee, inputs=()):
    n = new((1, name), (2, "StatefulPartitionedCall"))
    for i in inputs:
        n.add(3, 2, i.encode())
    map_set(n, 5, "f", new((10, new((1, callee)))))
    return n


@case("function_calls_itself", 11, "ECORRUPT", PB, "calls itself", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    f = func(m, "__inference__destroyer_")
    f.add(3, 2, new((1, "again"), (2, fname(f))))  # called by op name
    save_pb(d, m)


@case("functions_mutually_recursive", 11, "ECORRUPT", PB, "call each other in a cycle", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    a, b = func(m, "__inference__destroyer_"), func(m, "__inference__creator_")
    a.add(3, 2, _call("to_b", fname(b)))
    b.add(3, 2, _call("to_a", fname(a)))
    save_pb(d, m)


@case("graph_input_missing_node", 11, "ECORRUPT", PB, "reads 'no_such_node', which is not a node of the graph",
      base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    first_op(nodes(graph(m)), "Identity").add(3, 2, b"no_such_node:0")
    save_pb(d, m)


@case("function_input_missing_node", 11, "ECORRUPT", PB, "reads 'ghost', which is not a node or input",
      base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    f = func(m, "__inference__destroyer_")
    first_op(body(f), "Identity").add(3, 2, b"^ghost")
    save_pb(d, m)


@case("function_returns_missing_node", 11, "ECORRUPT", PB, "returns 'ghost:output:0'", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    f = func(m, "__inference__destroyer_")
    (k, e), = map_entries(f, 4)
    e.set_str(2, "ghost:output:0")
    save_pb(d, m)


@case("call_missing_function", 11, "ECORRUPT", PB, "'__inference_nowhere_1', which is not in the library",
      base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    n = first_op(nodes(graph(m)), "StatefulPartitionedCall")
    attr(n, "f").msg(10).set_str(1, "__inference_nowhere_1")
    save_pb(d, m)


# ============================================================ 12. assets

def _asset_name(d, name):
    m = load_pb(d)
    mg0(m).msgs(6)[0].set_str(2, name)
    save_pb(d, m)


@case("asset_absolute_path", 12, "ECORRUPT", PB, "asset file name '/etc/passwd' is not a relative path",
      base="tf2_hashtable_vocab")
def _(d):
    _asset_name(d, "/etc/passwd")


@case("asset_dotdot_path", 12, "ECORRUPT", PB, "asset file name '../../secret.txt' is not a relative path",
      base="tf2_hashtable_vocab")
def _(d):
    _asset_name(d, "../../secret.txt")


@case("asset_empty_name", 12, "ECORRUPT", PB, "asset file name '' is not a relative path", base="tf2_hashtable_vocab")
def _(d):
    _asset_name(d, "")


@case("asset_symlink_outside", 12, "ECORRUPT", "assets/vocab.txt", "symbolic link leads outside the model directory",
      base="tf2_hashtable_vocab")
def _(d):
    outside = os.path.join(os.path.dirname(d), "outside_secret.txt")
    with open(outside, "w") as f:
        f.write("secret\n")
    p = os.path.join(d, "assets/vocab.txt")
    os.remove(p)
    os.symlink(outside, p)


@case("asset_symlink_inside_ok", 12, "OK", base="tf2_hashtable_vocab")
def _(d):
    os.rename(os.path.join(d, "assets/vocab.txt"), os.path.join(d, "assets/real_vocab.txt"))
    os.symlink("real_vocab.txt", os.path.join(d, "assets/vocab.txt"))


@case("asset_missing_file", 12, "ENOTFOUND", "assets/vocab.txt", "asset 'vocab.txt' is listed but the file is missing",
      base="tf2_hashtable_vocab")
def _(d):
    os.remove(os.path.join(d, "assets/vocab.txt"))


@case("asset_missing_file_tf1_ok", 12, "OK", base="tf1_adam_builder")
def _(d):
    os.remove(os.path.join(d, "assets/vocab.txt"))


@case("asset_duplicate_conflicting", 12, "ECORRUPT", PB, "asset tensor 'asset_path_initializer:0' is listed twice",
      base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    a = mg0(m).msgs(6)[0]
    b = Msg(a.encode())
    b.set_str(2, "other.txt")
    mg0(m).add(6, 2, b)
    save_pb(d, m)
    wr(d, "assets/other.txt", b"x\n")


@case("asset_duplicate_same_ok", 12, "OK", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    mg0(m).add(6, 2, Msg(mg0(m).msgs(6)[0].encode()))
    save_pb(d, m)


# ================================ 13. dangerous ops only in the library

@case("audit_readfile_in_function", 13, "OK", audit="ReadFile", base="tf2_hashtable_vocab")
def _(d):
    m = load_pb(d)
    f = func(m, "__inference__destroyer_")
    t = tensor(DT_STRING, [], (8, 2, b"/etc/passwd"))
    f.add(3, 2, const_node("leak/path", DT_STRING, t))
    f.add(3, 2, new((1, "leak"), (2, "ReadFile"), (3, "leak/path:output:0")))
    save_pb(d, m)


@case("audit_writefile_in_graph", 13, "OK", audit="WriteFile", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    gd = graph(m)
    t = tensor(DT_STRING, [], (8, 2, b"/tmp/pwned"))
    gd.add(1, 2, const_node("drop/path", DT_STRING, t))
    gd.add(1, 2, new((1, "drop"), (2, "WriteFile"), (3, "drop/path"), (3, "drop/path")))
    save_pb(d, m)


# ========================================================= 14. side files

@case("fingerprint_garbage_ok", 14, "OK")
def _(d):
    wr(d, "fingerprint.pb", bytes(range(256)) * 3)


@case("fingerprint_empty_ok", 14, "OK")
def _(d):
    wr(d, "fingerprint.pb", b"")


@case("fingerprint_truncated_ok", 14, "OK")
def _(d):
    wr(d, "fingerprint.pb", rd(d, "fingerprint.pb")[:7])


@case("keras_metadata_garbage_ok", 14, "OK")
def _(d):
    wr(d, "keras_metadata.pb", b"\x0a\xff\xff\xff\xff\x0f" + b"\xff" * 100)


@case("debug_info_garbage_ok", 14, "OK")
def _(d):
    wr(d, "debug/saved_model_debug_info.pb", b"\x12\x80\x80\x80\x80\x10garbage")


# ======================================= 15. meta graphs and variables/

@case("two_meta_graphs_ok", 15, "OK")
def _(d):
    m = load_pb(d)
    second = Msg(mg0(m).encode())
    mi = second.msg(1)
    mi.add(4, 2, b"gpu")
    m.add(2, 2, second)
    save_pb(d, m)


@case("variables_dir_missing", 15, "ENOTFOUND", INDEX, "restores checkpoint keys but has no variables")
def _(d):
    shutil.rmtree(os.path.join(d, "variables"))


@case("variables_dir_empty_tf1_ok", 15, "OK", base="tf1_adam_builder")
def _(d):
    shutil.rmtree(os.path.join(d, "variables"))
    os.mkdir(os.path.join(d, "variables"))


@case("program_only_ok", 15, "OK", base=None)
def _(d):
    """A hand-built TF1-style program: y = x + 1, no variables/ at all."""
    f32 = new((6, DT_FLOAT))
    x = new((1, "x"), (2, "Placeholder"))
    map_set(x, 5, "dtype", f32)
    one = const_node("one", DT_FLOAT, tensor(DT_FLOAT, [], (5, 5, struct.unpack("<I", struct.pack("<f", 1.0))[0])))
    y = new((1, "y"), (2, "AddV2"), (3, "x"), (3, "one"))
    map_set(y, 5, "T", f32)
    gd = new((1, x), (1, one), (1, y), (4, new((1, 1087))))
    ti = lambda n: new((1, n), (2, DT_FLOAT))
    sig = new((3, "tensorflow/serving/predict"))
    map_set(sig, 1, "x", ti("x:0"))
    map_set(sig, 2, "y", ti("y:0"))
    mg = new((1, new((4, "serve"), (5, "2.21.0"))), (2, gd))
    map_set(mg, 5, "serving_default", sig)
    os.makedirs(d)
    save_pb(d, new((1, 1), (2, mg)))


# ===================================================== 16. numeric edges

def _set_floats(d, key, values):
    kvs = dict(load_index(d))
    e = Msg(kvs[key])
    n = e.int(5) // 4
    data = struct.pack("<%dI" % n, *[values[i % len(values)] for i in range(n)])
    shard = bytearray(rd(d, SHARD))
    shard[e.int(4):e.int(4) + len(data)] = data
    wr(d, SHARD, bytes(shard))
    edit_entry(d, key, lambda e: e.set(6, 5, pw.crc_mask(pw.crc32c(data))))


F = lambda x: struct.unpack("<I", struct.pack("<f", x))[0]  # noqa: E731
EDGE_FLOATS = [0x7FC00000, 0x7F800000, 0xFF800000, F(1e30), F(-1e30), F(65520.0), 0x80000000, 0x00000001,
               0x7F7FFFFF, 0xFFC00001]


@case("weights_nan_inf_ok", 16, "OK")
def _(d):
    _set_floats(d, _weight(d), EDGE_FLOATS)


@case("weights_all_zero_ok", 16, "OK")
def _(d):
    _set_floats(d, _weight(d), [0])


@case("entries_zero_size_and_scalar_ok", 16, "OK")
def _(d):
    kvs = load_index(d)
    shard = rd(d, SHARD)
    scalar = struct.pack("<q", -(1 << 62))
    empty = new((1, DT_FLOAT), (2, new((2, new((1, 0))), (2, new((1, 3))))), (3, 0), (4, 0), (5, 0))
    empty.add(6, 5, pw.crc_mask(pw.crc32c(b"")))
    sc = new((1, DT_INT64), (3, 0), (4, len(shard)), (5, 8))
    sc.add(6, 5, pw.crc_mask(pw.crc32c(scalar)))
    wr(d, SHARD, shard + scalar)
    kvs += [(b"zz_edge/empty", empty.encode()), (b"zz_edge/scalar", sc.encode())]
    save_index(d, sorted(kvs))


@case("consts_nan_inf_empty_scalar_ok", 16, "OK", base="tf1_adam_builder")
def _(d):
    m = load_pb(d)
    gd = graph(m)
    content = struct.pack("<%dI" % len(EDGE_FLOATS), *EDGE_FLOATS)
    gd.add(1, 2, const_node("edge/content", DT_FLOAT, tensor(DT_FLOAT, [len(EDGE_FLOATS)], (4, 2, content))))
    vals = tensor(DT_FLOAT, [2, 2])
    for v in EDGE_FLOATS[:3]:
        vals.add(5, 5, v)  # fewer values than elements: TF repeats the last
    gd.add(1, 2, const_node("edge/float_val", DT_FLOAT, vals))
    gd.add(1, 2, const_node("edge/empty", DT_FLOAT, tensor(DT_FLOAT, [0, 5])))
    gd.add(1, 2, const_node("edge/empty_content", DT_INT64, tensor(DT_INT64, [3, 0], (4, 2, b""))))
    gd.add(1, 2, const_node("edge/scalar", DT_INT32, tensor(DT_INT32, [], (7, 0, 7))))
    gd.add(1, 2, const_node("edge/default_scalar", DT_FLOAT, tensor(DT_FLOAT, [])))
    gd.add(1, 2, const_node("edge/half", DT_HALF, tensor(DT_HALF, [2], (13, 0, 0x7C00), (13, 0, 0x7E00))))
    gd.add(1, 2, const_node("edge/strings", DT_STRING, tensor(DT_STRING, [2], (8, 2, b""), (8, 2, b"\xff\x00"))))
    save_pb(d, m)


@case("tensor_over_2gib_sparse_ok", 16, "OK", run="inspect")
def _(d):
    """A 2 GiB + 16 byte float tensor of zeros, stored sparse (no disk used)."""
    n = (1 << 31) + 16
    shard_path = os.path.join(d, SHARD)
    off = os.path.getsize(shard_path)
    with open(shard_path, "r+b") as f:
        f.truncate(off + n)
    e = new((1, DT_FLOAT), (2, new((2, new((1, n // 4))))), (3, 0), (4, off), (5, n))
    e.add(6, 5, pw.crc_mask(pw.crc32c_zeros(n)))
    save_index(d, sorted(load_index(d) + [(b"zz_big/zeros", e.encode())]))


# ================================================================ main

def table():
    lines = ["| class | case | expect | file named | message phrase |", "|---|---|---|---|---|"]
    for c in CASES:
        exp = c["expect"] if c["expect"] != "OK" else "OK (valid)"
        if c["audit"] != "-":
            exp += ", audit: " + c["audit"]
        lines.append("| %d | `%s` | %s | %s | %s |" % (
            c["cls"], c["name"], exp, "`%s`" % c["file"] if c["file"] != "-" else "-",
            "`%s`" % c["phrase"] if c["phrase"] != "-" else "-"))
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) == 2 and argv[1] == "--table":
        sys.stdout.write(table())
        return 0
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: make_bad.py SOURCE_DIR OUT_DIR [CASE] | make_bad.py --table\n")
        return 2
    src, out = argv[1], argv[2]
    only = argv[3] if len(argv) == 4 else None
    fixtures = os.path.join(src, "tests", "fixtures", "models")
    os.makedirs(out, exist_ok=True)
    rows = []
    for c in CASES:
        if only and c["name"] != only:
            continue
        d = os.path.join(out, c["name"])
        if os.path.lexists(d):
            shutil.rmtree(d)
        if c["base"]:
            shutil.copytree(os.path.join(fixtures, c["base"]), d, symlinks=True)
            os.chmod(d, 0o755)
        c["fn"](d)
        for f in ("phrase", "file"):
            assert "\t" not in c[f] and "\n" not in c[f]
        rows.append("\t".join([c["name"], str(c["cls"]), c["expect"], c["file"], c["phrase"], c["audit"], c["run"]]))
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
