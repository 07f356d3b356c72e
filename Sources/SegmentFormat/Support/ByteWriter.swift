/// An append-only little-endian byte buffer for building headers, footers and encoded sections.
///
/// Not thread-safe; it is a value type, so copies are independent.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func f64(_ v: Double) { u64(v.bitPattern) }

    public mutating func uvarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func svarint(_ v: Int64) { uvarint(Varint.zigzag(v)) }

    public mutating func append<C: Collection>(_ other: C) where C.Element == UInt8 { bytes.append(contentsOf: other) }
    public mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    /// A string with a `u16` length; the caller guarantees it is at most 65,535 bytes.
    public mutating func str16(_ s: [UInt8]) {
        u16(UInt16(truncatingIfNeeded: s.count))
        bytes.append(contentsOf: s)
    }

    public mutating func str32(_ s: [UInt8]) {
        u32(UInt32(truncatingIfNeeded: s.count))
        bytes.append(contentsOf: s)
    }

}
