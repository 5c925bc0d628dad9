#!/usr/bin/env python3
"""Decode one lc-checkpoint chunk record, written from docs/FORMAT.md alone (no Java code consulted).

    lcdecode.py RECORD PREVIOUS OUTPUT [RECORD PREVIOUS OUTPUT ...]

RECORD is the record's bytes; PREVIOUS the previous reconstruction as raw little-endian values (2 bytes each for
bfloat16 and float16, the type's width for the exact integer types and bool); OUTPUT receives the new
reconstruction in the same form. Several triples may be given. Exits 1, after printing the byte offset and reason, if
any record is malformed or fails a checksum (its OUTPUT is not written). Standard library only; slow but plain.
"""
import math
import struct
import sys

MASK64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


class Malformed(Exception):
    def __init__(self, offset, reason):
        super().__init__(f"malformed record at byte {offset}: {reason}")


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & MASK64


def xxh64(data, seed=0):
    """XXH64 per the xxHash specification."""
    def round_(acc, lane):
        acc = (acc + lane * P2) & MASK64
        return (rotl(acc, 31) * P1) & MASK64

    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + P1 + P2) & MASK64, (seed + P2) & MASK64, seed, (seed - P1) & MASK64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = round_(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & MASK64
        for k in range(4):
            h = ((h ^ round_(0, v[k])) * P1 + P4) & MASK64
    else:
        h = (seed + P5) & MASK64
    h = (h + n) & MASK64
    while i + 8 <= n:
        h ^= round_(0, struct.unpack_from("<Q", data, i)[0])
        h = (rotl(h, 27) * P1 + P4) & MASK64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & MASK64
        h = (rotl(h, 23) * P2 + P3) & MASK64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & MASK64
        h = (rotl(h, 11) * P1) & MASK64
        i += 1
    h ^= h >> 33
    h = (h * P2) & MASK64
    h ^= h >> 29
    h = (h * P3) & MASK64
    h ^= h >> 32
    return h


def _crc32c_table():
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


class Reader:
    """Bytes with bounds checks that name the offset."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, size, what):
        if self.pos + size > len(self.data):
            raise Malformed(len(self.data), f"truncated: {what} needs {size} bytes at offset {self.pos}")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def u8(self, what):
        return self.take(1, what)[0]

    def u16(self, what):
        return struct.unpack("<H", self.take(2, what))[0]

    def u32(self, what):
        return struct.unpack("<I", self.take(4, what))[0]


class Code:
    """A canonical prefix code (FORMAT.md §4.2), or a single zero-bit symbol (§4.3 kind 0)."""

    def __init__(self, lengths=None, single=None):
        self.single = single
        if single is not None:
            return
        if any(l > 12 for l in lengths):
            raise ValueError("code length over 12")
        used = [l for l in lengths if l]
        if len(used) < 2:
            raise ValueError("fewer than two codes")
        if sum(2 ** (12 - l) for l in used) > 2 ** 12:
            raise ValueError("Kraft sum over 1")
        count = [0] * 13
        for l in used:
            count[l] += 1
        nxt = [0] * 14
        code = 0
        for l in range(1, 13):
            code = (code + count[l - 1]) << 1
            nxt[l] = code
        # map (length, bit-reversed code) -> symbol: the stream holds codes MSB first
        self.table = {}
        for s, l in enumerate(lengths):
            if l:
                c = nxt[l]
                nxt[l] += 1
                reversed_code = int(format(c, f"0{l}b")[::-1], 2)
                self.table[(l, reversed_code)] = s
        self.max_length = max(used)

    def read(self, bits):
        if self.single is not None:
            return self.single
        value = 0
        for l in range(1, self.max_length + 1):
            value |= bits.bit() << (l - 1)
            s = self.table.get((l, value))
            if s is not None:
                return s
        raise Malformed(bits.base, "bit pattern that is no code")


class Bits:
    """LSB-first bit stream (FORMAT.md §4.1)."""

    def __init__(self, data, base):
        self.data = data
        self.base = base
        self.pos = 0

    def bit(self):
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise Malformed(self.base + len(self.data), "bit stream overrun")
        b = (self.data[byte] >> (self.pos & 7)) & 1
        self.pos += 1
        return b

    def read(self, k):
        v = 0
        for i in range(k):
            v |= self.bit() << i
        return v

    def finish(self):
        total = len(self.data) * 8
        if total - self.pos >= 8:
            raise Malformed(self.base + (self.pos + 7) // 8, "unread bits at the end of the stream")
        if self.pos < total and (self.data[-1] >> (8 - (total - self.pos))) != 0:
            raise Malformed(self.base + len(self.data) - 1, "non-zero padding bits")


def read_lengths(reader, size, what):
    packed = reader.take((size + 1) // 2, what)
    lengths = []
    for k in range(size):
        byte = packed[k // 2]
        lengths.append(byte & 15 if k % 2 == 0 else byte >> 4)
    if size % 2 == 1 and packed[-1] >> 4:
        raise Malformed(reader.pos - 1, f"{what}: non-zero padding nibble")
    return lengths


def read_alphabet(reader, size, what):
    kind_offset = reader.pos
    kind = reader.u8(what)
    if kind == 0:
        j = reader.u16(what)
        if j >= size:
            raise Malformed(reader.pos - 2, f"{what}: single symbol out of range")
        return Code(single=j)
    if kind != 1:
        raise Malformed(kind_offset, f"{what}: unknown alphabet kind {kind}")
    lengths_offset = reader.pos
    lengths = read_lengths(reader, size, what)
    try:
        return Code(lengths)
    except ValueError as e:
        raise Malformed(lengths_offset, f"{what}: {e}")


# The 16-bit types of FORMAT.md §1 (version 2): (significand bits p, smallest normal exponent, largest finite value).
BFLOAT16, FLOAT16 = 3, 4
SIXTEEN_BIT = {BFLOAT16: (8, -126, (2 - 2 ** -7) * 2.0 ** 127), FLOAT16: (11, -14, 65504.0)}


def value_of_bits(value_type, h):
    """The value of 16 bits of bfloat16 (the upper half of a binary32) or float16 (IEEE binary16)."""
    if value_type == BFLOAT16:
        return struct.unpack("<f", struct.pack("<I", h << 16))[0]
    return struct.unpack("<e", struct.pack("<H", h))[0]


def bits_of(value_type, v):
    """The 16 bits of a value of the type (exact: v is representable)."""
    if value_type == BFLOAT16:
        return struct.unpack("<I", struct.pack("<f", v))[0] >> 16
    return struct.unpack("<H", struct.pack("<e", v))[0]


def round_to(value_type, x):
    """x rounded to the type, nearest-even, with its subnormals; past the largest finite value, an infinity."""
    p, emin, largest = SIXTEEN_BIT[value_type]
    if x == 0 or x != x or x in (float("inf"), float("-inf")):
        return x
    _, e = math.frexp(x)  # x = m * 2**e with 0.5 <= |m| < 1: the quantum of the type is 2**(e - p), or of its subnormals
    quantum = max(e - p, emin - p + 1)
    y = math.ldexp(round(math.ldexp(x, -quantum)), quantum)  # round() on a float rounds half to even
    if abs(y) > largest:
        return math.copysign(float("inf"), x)
    return math.copysign(y, x) if y == 0 else y


# The exact types of FORMAT.md §4.5 (version 3): value type -> width in bytes. Values and deltas are handled as
# unsigned integers of that width; arithmetic is modulo 2**(8 * width).
BOOL = 10
EXACT = {5: 1, 6: 2, 7: 4, 8: 8, 9: 1, BOOL: 1}
VERBATIM = 3


def decode(record, previous_bytes):
    r = Reader(record)
    if r.take(2, "magic") != b"LC":
        raise Malformed(0, "bad magic")
    version = r.u8("version")
    if version not in (1, 2, 3):
        raise Malformed(2, f"unsupported version {version}")
    value_type = r.u8("valueType")
    known = {1: (1, 2), 2: (1, 2, 3, 4), 3: (1, 2, 3, 4) + tuple(EXACT)}[version]
    if value_type not in known:
        raise Malformed(3, f"unknown value type {value_type} in version {version}")
    exact = value_type in EXACT
    if exact:
        width = EXACT[value_type]
        fmt = "<" + {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    else:
        width, fmt = {1: (4, "<f"), 2: (8, "<d"), 3: (2, "<H"), 4: (2, "<H")}[value_type]
    flags = r.u8("flags")
    if flags & ~1:
        raise Malformed(4, "unknown flags")
    zero = flags & 1
    coding = r.u8("coding")
    if coding not in ((0, 1, 2, 3) if exact else (0, 1, 2)):
        raise Malformed(5, f"unknown coding {coding}")
    x = r.u8("promotionBits")
    if x > 8:
        raise Malformed(6, "promotion bits out of range")
    if exact:
        if x != 0:
            raise Malformed(6, "an exact record has promotion bits")
        if not zero:
            raise Malformed(4, "an exact record lacks ZERO_SYMBOL")
    elif bool(zero) != (x > 0):
        raise Malformed(4, "ZERO_SYMBOL disagrees with promotionBits")
    if r.u8("reserved") != 0:
        raise Malformed(7, "reserved byte is not zero")
    n = r.u32("n")
    if not 1 <= n <= 2 ** 30:
        raise Malformed(8, "n out of range")
    if len(previous_bytes) != n * width:
        raise Malformed(8, f"record holds {n} values, previous state has {len(previous_bytes) // width}")
    S = r.u16("S")
    if exact:
        limit = 1 if coding == VERBATIM else 4096
    else:
        limit = 2 ** x if x > 0 else {1: 510, 2: 4094, 3: 510, 4: 62}[value_type]
    if not 1 <= S <= limit:
        raise Malformed(12, "symbol count out of range")
    q = [None] * S
    if zero:
        q[0] = 0 if exact else -0.0
    for s in range(zero, S):
        off = r.pos
        (value,) = struct.unpack(fmt, r.take(width, "representatives"))
        if exact:
            q[s] = value
            continue
        if value_type in SIXTEEN_BIT:
            value = value_of_bits(value_type, value)
        if value != value or value in (float("inf"), float("-inf")):
            raise Malformed(off, "non-finite representative")
        q[s] = value

    symbols = None
    deltas = None
    if coding == VERBATIM:
        deltas = struct.unpack(f"<{n}{fmt[1]}", r.take(n * width, "verbatim deltas"))
    elif coding == 0:
        c = r.u16("constant symbol")
        if c >= S:
            raise Malformed(r.pos - 2, "constant symbol out of range")
        symbols = [c] * n
    elif coding == 1:
        lengths_offset = r.pos
        lengths = read_lengths(r, S, "code lengths")
        payload_length = r.u32("payloadLength")
        payload_offset = r.pos
        payload = r.take(payload_length, "payload")
    else:
        if not zero or S < 2:
            raise Malformed(5, "ZERO_RUN needs a zero symbol and another")
        R = r.u8("run class count")
        if not 1 <= R <= 63:
            raise Malformed(r.pos - 1, "run class count out of range")
        run_code = read_alphabet(r, R, "run classes")
        symbol_code = read_alphabet(r, S - 1, "non-zero symbols")
        m = r.u32("m")
        if not 1 <= m <= n:
            raise Malformed(r.pos - 4, "m out of range")
        payload_length = r.u32("payloadLength")
        payload_offset = r.pos
        payload = r.take(payload_length, "payload")
    state_checksum = struct.unpack("<Q", r.take(8, "stateChecksum"))[0]
    record_checksum = struct.unpack("<I", r.take(4, "recordChecksum"))[0]
    if r.pos != len(record):
        raise Malformed(r.pos, "trailing bytes")
    if crc32c(record[:-4]) != record_checksum:
        raise Malformed(len(record) - 4, "record checksum mismatch")

    if coding == 1:
        try:
            code = Code(lengths)
        except ValueError as e:
            raise Malformed(lengths_offset, str(e))
        bits = Bits(payload, payload_offset)
        symbols = [code.read(bits) for _ in range(n)]
        bits.finish()
    elif coding == 2:
        bits = Bits(payload, payload_offset)
        symbols = [0] * n

        def run():
            c = run_code.read(bits)
            if c < 3:
                v = c + 1
            else:
                k = (c - 3) // 2 + 2
                v = (1 << k) + (((c - 3) & 1) << (k - 1)) + bits.read(k - 1)
            return v - 1

        p = 0
        for _ in range(m):
            p += run()
            if p >= n:
                raise Malformed(payload_offset, "run passes the end of the chunk")
            symbols[p] = symbol_code.read(bits) + 1
            p += 1
        if p < n:
            p += run()
            if p != n:
                raise Malformed(payload_offset, "runs do not cover the chunk")
        bits.finish()

    previous = struct.unpack(f"<{n}{fmt[1]}", previous_bytes)
    if exact:
        modulus = 1 << (8 * width)
        if deltas is None:
            deltas = [q[s] for s in symbols]
        values = [(previous[i] + deltas[i]) % modulus for i in range(n)]
        if value_type == BOOL and any(v > 1 for v in values):
            raise Malformed(len(record) - 12, "a bool value other than 0 or 1")
        out = struct.pack(f"<{n}{fmt[1]}", *values)
        if xxh64(out) != state_checksum:
            raise Malformed(len(record) - 12, "state checksum mismatch")
        return out
    if value_type in SIXTEEN_BIT:
        previous = [value_of_bits(value_type, h) for h in previous]
    # IEEE addition in the element type. For float32, Python adds in binary64 and struct rounds to binary32: that double
    # rounding is innocuous for a sum of two binary32 values because 53 >= 2*24 + 2 (Figueroa 1995).
    out = bytearray()
    for i in range(n):
        total = previous[i] + q[symbols[i]]
        if value_type == 1:
            total = struct.unpack("<f", struct.pack("<f", total))[0]
        elif value_type in SIXTEEN_BIT:
            # the binary64 sum of two values of the type, rounded to the type: innocuous double rounding (53 >= 2p + 2)
            total = bits_of(value_type, round_to(value_type, total))
        out += struct.pack(fmt, total)
    if xxh64(bytes(out)) != state_checksum:
        raise Malformed(len(record) - 12, "state checksum mismatch")
    return bytes(out)


def main(argv):
    if len(argv) < 4 or (len(argv) - 1) % 3 != 0:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for k in range(1, len(argv), 3):
        with open(argv[k], "rb") as f:
            record = f.read()
        with open(argv[k + 1], "rb") as f:
            previous = f.read()
        try:
            out = decode(record, previous)
        except Malformed as e:
            print(f"{argv[k]}: {e}", file=sys.stderr)
            status = 1
            continue
        with open(argv[k + 2], "wb") as f:
            f.write(out)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
