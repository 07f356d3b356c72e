/// Zigzag mapping and LEB128 varints written straight into preallocated memory.
///
/// Hot path (integer and string-length encoding); guarded by `tools/bench/format`.
public enum Varint {
    @inline(__always)
    public static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    @inline(__always)
    public static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))) }

    /// Writes `v` at `out` and returns the number of bytes written (1 to 10).
    @inline(__always)
    public static func write(_ v: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var v = v
        var i = 0
        while v >= 0x80 {
            out[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        out[i] = UInt8(v)
        return i + 1
    }

    @inline(__always)
    public static func size(_ v: UInt64) -> Int {
        // 1 + floor(bits / 7), with 0 taking one byte.
        let bits = 64 - v.leadingZeroBitCount
        return bits == 0 ? 1 : (bits + 6) / 7
    }

    /// Appends `count` varints produced by `value(i)` to `out`.
    @inline(__always)
    static func appendAll(_ out: inout [UInt8], count: Int, _ value: (Int) -> UInt64) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: count * 10))
        let written = out.withUnsafeMutableBufferPointer { buf -> Int in
            let base = buf.baseAddress! + start
            var p = 0
            for i in 0..<count { p += write(value(i), to: base + p) }
            return p
        }
        out.removeLast(count * 10 - written)
    }
}

/// Fast sequential varint decoding from a bounds-checked position; throws on truncation or overflow.
struct VarintCursor {
    let base: UnsafePointer<UInt8>
    let end: Int
    var position: Int

    @inline(__always)
    mutating func next() throws -> UInt64 {
        if end - position >= 10 {
            // Fast path: no bound check per byte.
            var result: UInt64 = 0
            var shift: UInt64 = 0
            for i in 0..<10 {
                let byte = base[position + i]
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 {
                    if i == 9 && byte > 1 { break }
                    position += i + 1
                    return result
                }
                shift += 7
            }
            throw FormatError("malformed varint at offset \(position)")
        }
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = 0
        while position + i < end, i < 10 {
            let byte = base[position + i]
            if i == 9 && byte > 1 { break }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                position += i + 1
                return result
            }
            shift += 7
            i += 1
        }
        throw FormatError("truncated or malformed varint at offset \(position)")
    }
}
