/// A bounds-checked little-endian cursor over bytes that may be damaged or hostile.
///
/// Every read checks the remaining length and throws `FormatError` instead of trapping, so no input
/// can crash a reader. The buffer must outlive the cursor (it borrows, it does not own).
public struct ByteReader {
    public let base: UnsafeRawBufferPointer
    public private(set) var position: Int
    /// What is being read, for error messages ("footer", "header", "chunk payload").
    let context: String

    public init(_ base: UnsafeRawBufferPointer, position: Int = 0, context: String) {
        self.base = base
        self.position = position
        self.context = context
    }

    public var remaining: Int { base.count - position }
    public var isAtEnd: Bool { position >= base.count }

    @inline(__always)
    private mutating func need(_ n: Int) throws {
        if n < 0 || n > base.count - position {
            throw FormatError("\(context) is truncated: needs \(n) more bytes at offset \(position), has \(max(0, base.count - position))")
        }
    }

    public mutating func u8() throws -> UInt8 {
        try need(1)
        defer { position += 1 }
        return base[position]
    }

    public mutating func u16() throws -> UInt16 {
        try need(2)
        defer { position += 2 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    public mutating func u32() throws -> UInt32 {
        try need(4)
        defer { position += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    public mutating func u64() throws -> UInt64 {
        try need(8)
        defer { position += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    public mutating func uvarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for i in 0..<10 {
            try need(1)
            let byte = base[position]
            position += 1
            if i == 9 && byte > 1 { throw FormatError("\(context): varint overflows 64 bits at offset \(position - 1)") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        throw FormatError("\(context): varint longer than 10 bytes at offset \(position)")
    }

    public mutating func svarint() throws -> Int64 { Varint.unzigzag(try uvarint()) }

    /// A `uvarint` that must fit in `0...limit` (a count or length); names `what` when it does not.
    public mutating func count(_ what: String, limit: Int) throws -> Int {
        let v = try uvarint()
        guard v <= UInt64(limit) else { throw FormatError("\(context): \(what) \(v) exceeds \(limit)") }
        return Int(v)
    }

    public mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        try need(n)
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: base[position..<position + n])
    }

    public mutating func str16() throws -> [UInt8] { Array(try bytes(Int(try u16()))) }
    public mutating func str32() throws -> [UInt8] { Array(try bytes(Int(try u32()))) }

    public mutating func expect(_ magic: [UInt8], _ what: String) throws {
        let got = try bytes(magic.count)
        guard got.elementsEqual(magic) else {
            throw FormatError("bad \(what) magic at offset \(position - magic.count): expected \"\(String(decoding: magic, as: UTF8.self))\"")
        }
    }
}
