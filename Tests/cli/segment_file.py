"""Builds and takes apart segment files byte by byte, from docs/segment-format.md alone.

An independent writer for crafted (hostile) segments: it lays out whatever lengths and payloads a
test gives it, with correct checksums, so that the reader's own checks are what is tested.
"""
import struct
import zlib

CODEC_NONE, CODEC_ZLIB = 0, 2
ENC_EMPTY, ENC_PLAIN_I64, ENC_PLAIN_STRING = 0, 1, 16
TYPES = {"string": 1, "timestamp": 2, "integer": 3, "number": 4, "boolean": 5, "json": 6, "extra": 7}


def crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def str16(b):
    return struct.pack("<H", len(b)) + b


def plain_strings(values):
    """A plain-string value section."""
    return b"".join(uvarint(len(v)) for v in values) + b"".join(values)


class Chunk:
    """One chunk: its values section (already encoded), codec, and the lengths it declares."""

    def __init__(self, encoding, section, values, codec=CODEC_NONE, raw_length=None, stored=None):
        self.encoding, self.values, self.codec = encoding, values, codec
        self.raw = section
        self.stored = stored if stored is not None else (zlib.compress(section, 9) if codec == CODEC_ZLIB else section)
        self.raw_length = len(section) if raw_length is None else raw_length


def header(columns, stream="crafted"):
    """columns: [(name, type name, flags)]."""
    schema = b'{"$id":"crafted","type":"object","properties":{}}'
    body = b"".join(str16(s) for s in (b"", stream.encode(), b"node", b"0" * 32))
    body += struct.pack("<qI", 0, 65536) + struct.pack("<I", len(schema)) + schema
    body += struct.pack("<H", len(columns))
    for name, type_name, flags in columns:
        body += str16(name.encode()) + bytes([TYPES[type_name], flags])
    return b"SEG1" + struct.pack("<HHI", 1, 0, len(body)) + body + struct.pack("<I", crc(body))


def block(rows, chunks):
    """A framed block (no time range) and its footer column entries (offsets from the frame)."""
    body = struct.pack("<IBqqH", rows, 0, 0, 0, len(chunks))
    entries = []
    for index, c in enumerate(chunks):
        offset = 12 + len(body)
        body += struct.pack("<HBBBBIIII", index, c.encoding, c.codec, 0, 0, c.values, c.raw_length, len(c.stored), crc(c.stored))
        body += c.stored
        entries.append(struct.pack("<IIBBIIIB", offset, 22 + len(c.stored), c.encoding, c.codec, c.raw_length, 0, 0, 0))
    return b"BLK1" + struct.pack("<II", len(body), crc(body)) + body, entries


def segment(columns, blocks):
    """A sealed segment: blocks is [(rows, [Chunk])]."""
    out = header(columns)
    footer = b""
    total = 0
    for rows, chunks in blocks:
        frame, entries = block(rows, chunks)
        footer += struct.pack("<QIIBqq", len(out), len(frame), rows, 0, 0, 0) + b"".join(entries)
        out += frame
        total += rows
    footer = struct.pack("<IQBqq", len(blocks), total, 0, 0, 0) + footer
    return out + footer + struct.pack("<II", crc(footer), len(footer)) + b"SEGF"


def footer_start(data):
    """Offset where the footer body of a sealed segment starts (the end of its last block)."""
    assert data[-4:] == b"SEGF"
    length = struct.unpack("<I", data[-8:-4])[0]
    return len(data) - 12 - length


def block_offsets(data):
    """(offset, framed length) of every block, walking the frames from the end of the header."""
    header_length = struct.unpack("<I", data[8:12])[0]
    at = 12 + header_length + 4
    end = footer_start(data) if data[-4:] == b"SEGF" else len(data)
    blocks = []
    while at + 12 <= end and data[at:at + 4] == b"BLK1":
        length = 12 + struct.unpack("<I", data[at + 4:at + 8])[0]
        blocks.append((at, length))
        at += length
    return blocks
