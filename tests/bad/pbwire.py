"""pbwire.py - just enough protobuf wire format, LevelDB table, CRC32C and
snappy to take a SavedModel apart and put it back together, with the Python
standard library only (no TensorFlow, no protobuf package).

Used by make_bad.py to derive the bad-input corpus from the committed fixtures,
by fuzz/make_corpus.py to cut seeds out of them and by tests/cli/test_atomic.sh
to grow one.
"""
import struct

# ---------------------------------------------------------------- CRC32C

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = _CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c_zeros(n):
    """CRC32C of n zero bytes without touching them: the CRC of zeros is a
    linear map of the register, applied by repeated squaring."""
    def times(mat, vec):
        s, i = 0, 0
        while vec:
            if vec & 1:
                s ^= mat[i]
            vec >>= 1
            i += 1
        return s

    def square(mat):
        return [times(mat, mat[i]) for i in range(32)]
    # operator for one zero bit
    odd = [0x82F63B78] + [1 << i for i in range(31)]
    even = square(odd)   # 2 bits
    odd = square(even)   # 4 bits
    crc = 0xFFFFFFFF
    n8 = n
    while n8:
        even = square(odd)
        if n8 & 1:
            crc = times(even, crc)
        n8 >>= 1
        if not n8:
            break
        odd = square(even)
        if n8 & 1:
            crc = times(odd, crc)
        n8 >>= 1
    return crc ^ 0xFFFFFFFF


def crc_mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# ----------------------------------------------------------- wire format

def varint(n):
    n &= (1 << 64) - 1  # negative int32/int64 values are 10-byte varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(b, i):
    v = s = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        if not x & 0x80:
            return v, i
        s += 7


def as_signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def parse_fields(b):
    """[field, wire type, value]: value is an int (varint, fixed) or bytes."""
    out, i = [], 0
    while i < len(b):
        key, i = read_varint(b, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            v = struct.unpack_from("<Q", b, i)[0]
            i += 8
        elif wt == 5:
            v = struct.unpack_from("<I", b, i)[0]
            i += 4
        elif wt == 2:
            n, i = read_varint(b, i)
            v = bytes(b[i:i + n])
            if len(v) != n:
                raise ValueError("truncated field %d" % fn)
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        out.append([fn, wt, v])
    return out


class Msg:
    """A message as an ordered field list; submessages are parsed on demand
    (msgs/msg) and re-encoded by encode()."""

    def __init__(self, data=b""):
        self.f = parse_fields(data) if isinstance(data, (bytes, bytearray)) else data

    def encode(self):
        out = bytearray()
        for fn, wt, v in self.f:
            out += varint(fn << 3 | wt)
            if wt == 0:
                out += varint(v)
            elif wt == 1:
                out += struct.pack("<Q", v & ((1 << 64) - 1))
            elif wt == 5:
                out += struct.pack("<I", v & 0xFFFFFFFF)
            else:
                raw = v.encode() if isinstance(v, Msg) else v
                out += varint(len(raw)) + raw
        return bytes(out)

    def msgs(self, fn):
        res = []
        for x in self.f:
            if x[0] == fn and x[1] == 2:
                if not isinstance(x[2], Msg):
                    x[2] = Msg(x[2])
                res.append(x[2])
        return res

    def msg(self, fn, create=False):
        m = self.msgs(fn)
        if m:
            return m[0]
        if create:
            n = Msg()
            self.f.append([fn, 2, n])
            return n
        return None

    def vals(self, fn):
        return [x[2] for x in self.f if x[0] == fn]

    def str(self, fn, default=""):
        v = [x[2] for x in self.f if x[0] == fn and x[1] == 2]
        return v[0].decode("utf-8", "replace") if v else default

    def int(self, fn, default=0):
        v = [x[2] for x in self.f if x[0] == fn and x[1] == 0]
        return v[0] if v else default

    def set(self, fn, wt, v):
        """Replaces every occurrence of fn by one value (appended if absent)."""
        for i, x in enumerate(self.f):
            if x[0] == fn:
                x[1], x[2] = wt, v
                self.f = self.f[:i + 1] + [y for y in self.f[i + 1:] if y[0] != fn]
                return
        self.f.append([fn, wt, v])

    def add(self, fn, wt, v):
        self.f.append([fn, wt, v])

    def remove(self, fn, pred=None):
        self.f = [x for x in self.f if not (x[0] == fn and (pred is None or pred(x[2])))]

    def set_str(self, fn, s):
        self.set(fn, 2, s.encode() if isinstance(s, str) else s)

    def set_int(self, fn, v):
        self.set(fn, 0, v)


def new(*fields):
    """Msg from (field, value) pairs: int -> varint, str/bytes -> bytes, Msg -> message."""
    m = Msg()
    for fn, v in fields:
        if isinstance(v, Msg):
            m.add(fn, 2, v)
        elif isinstance(v, str):
            m.add(fn, 2, v.encode())
        elif isinstance(v, (bytes, bytearray)):
            m.add(fn, 2, bytes(v))
        else:
            m.add(fn, 0, v)
    return m


# map<string, V> fields: repeated entries {1: key, 2: value}

def map_entries(m, fn):
    return [(e.str(1), e) for e in m.msgs(fn)]


def map_get(m, fn, key):
    for k, e in map_entries(m, fn):
        if k == key:
            return e.msg(2, create=True)
    return None


def map_set(m, fn, key, value):
    m.remove(fn, lambda v: (v if isinstance(v, Msg) else Msg(v)).str(1) == key)
    m.add(fn, 2, new((1, key), (2, value)))


def map_del(m, fn, key):
    m.remove(fn, lambda v: (v if isinstance(v, Msg) else Msg(v)).str(1) == key)


# --------------------------------------------------------------- snappy

def snappy_decompress(b):
    n, i = read_varint(b, 0)
    out = bytearray()
    while i < len(b):
        tag = b[i]
        i += 1
        t = tag & 3
        if t == 0:
            ln = tag >> 2
            if ln >= 60:
                k = ln - 59
                ln = int.from_bytes(b[i:i + k], "little")
                i += k
            ln += 1
            out += b[i:i + ln]
            i += ln
            continue
        if t == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | b[i]
            i += 1
        elif t == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 2], "little")
            i += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 4], "little")
            i += 4
        for _ in range(ln):
            out.append(out[-off])
    if len(out) != n:
        raise ValueError("snappy length")
    return bytes(out)


def snappy_literal(data):
    """One literal element (len(data) >= 1)."""
    n = len(data) - 1
    if n < 60:
        return bytes([n << 2]) + data
    k = (n.bit_length() + 7) // 8
    return bytes([(59 + k) << 2]) + n.to_bytes(k, "little") + data


def snappy_copy2(offset, length):
    """A copy with a 2-byte offset (1 <= length <= 64)."""
    return bytes([((length - 1) << 2) | 2]) + struct.pack("<H", offset)


# ---------------------------------------------------------- LevelDB table

MAGIC = struct.pack("<II", 0x8B80FB57, 0xDB477524)


def _block_entries(c):
    nr = struct.unpack_from("<I", c, len(c) - 4)[0]
    end = len(c) - 4 - 4 * nr
    i, key, out = 0, b"", []
    while i < end:
        shared, i = read_varint(c, i)
        ns, i = read_varint(c, i)
        vl, i = read_varint(c, i)
        key = key[:shared] + c[i:i + ns]
        i += ns
        out.append((key, c[i:i + vl]))
        i += vl
    return out


def _read_block(data, off, size):
    c = data[off:off + size]
    if data[off + size] == 1:
        c = snappy_decompress(c)
    return c


def table_read(data):
    """[(key, value)] of a table file."""
    foot = data[-48:]
    _, i = read_varint(foot, 0)
    _, i = read_varint(foot, i)
    ioff, i = read_varint(foot, i)
    isize, i = read_varint(foot, i)
    out = []
    for _, h in _block_entries(_read_block(data, ioff, isize)):
        off, j = read_varint(h, 0)
        size, _ = read_varint(h, j)
        out += _block_entries(_read_block(data, off, size))
    return out


def block_contents(kvs, restart_interval=16):
    out, restarts, last = bytearray(), [], b""
    for n, (k, v) in enumerate(kvs):
        shared = 0
        if n % restart_interval == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(k), len(last)) and k[shared] == last[shared]:
                shared += 1
        out += varint(shared) + varint(len(k) - shared) + varint(len(v)) + k[shared:] + v
        last = k
    if not restarts:
        restarts = [0]
    for r in restarts:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def block_on_disk(contents, btype=0, stored=None):
    """contents + trailer; `stored` replaces the bytes written (the CRC still
    covers them, so a block can be stored compressed)."""
    body = contents if stored is None else stored
    crc = crc_mask(crc32c(bytes([btype]), crc32c(body)))
    return body + bytes([btype]) + struct.pack("<I", crc)


def table_write(kvs, data_block=None, index_handle=None, footer=None):
    """A table with one data block. data_block(contents) may return
    (type, stored bytes) to store it differently; index_handle and footer
    override the handles written."""
    out = bytearray()
    contents = block_contents(kvs)
    btype, stored = data_block(contents) if data_block else (0, None)
    doff = len(out)
    out += block_on_disk(contents, btype, stored)
    dsize = len(out) - doff - 5
    moff = len(out)
    meta = block_contents([])
    out += block_on_disk(meta)
    last = kvs[-1][0] if kvs else b""
    handle = index_handle if index_handle is not None else varint(doff) + varint(dsize)
    ioff = len(out)
    index = block_contents([(last + b"\xff", handle)], 1)
    out += block_on_disk(index)
    f = footer if footer is not None else (
        varint(moff) + varint(len(meta)) + varint(ioff) + varint(len(index)))
    out += f.ljust(40, b"\0") + MAGIC
    return bytes(out)
