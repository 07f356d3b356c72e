/// Validates UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) with an
/// eight-bytes-at-a-time ASCII fast path, since log text is mostly ASCII.
public enum UTF8Validation {
    public static func isValid(_ buf: UnsafeRawBufferPointer) -> Bool {
        guard let base = buf.baseAddress else { return true }
        let n = buf.count
        var i = 0
        while i < n {
            if i + 8 <= n && base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let b0 = base.load(fromByteOffset: i, as: UInt8.self)
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length = sequenceLength(base + i, available: n - i)
            guard length > 0 else { return false }
            i += length
        }
        return true
    }

    public static func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isValid($0) } }

    /// Length of the well-formed multi-byte sequence at `p` (whose lead byte is 0x80 or above),
    /// or 0 when it is ill-formed or runs past `available` bytes.
    @inlinable @inline(__always)
    public static func sequenceLength(_ p: UnsafeRawPointer, available: Int) -> Int {
        let b0 = p.load(as: UInt8.self)
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return 0
        }
        guard need < available else { return 0 }
        let b1 = p.load(fromByteOffset: 1, as: UInt8.self)
        guard b1 >= lo && b1 <= hi else { return 0 }
        var k = 2
        while k <= need {
            guard p.load(fromByteOffset: k, as: UInt8.self) & 0xC0 == 0x80 else { return 0 }
            k += 1
        }
        return need + 1
    }
}
