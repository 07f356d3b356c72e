/// Packs and unpacks unsigned integers of a fixed bit width (0 to 64), LSB first, as the format
/// spec describes. Widths 8, 16, 32 and 64 are byte arrays and take a fast path.
///
/// Hot path for integer columns and dictionary codes; guarded by `tools/bench/format`.
public enum BitPacking {
    @inline(__always)
    public static func width(of maxValue: UInt64) -> Int { 64 - maxValue.leadingZeroBitCount }

    @inline(__always)
    public static func byteCount(count: Int, width: Int) -> Int { (count * width + 7) / 8 }

    /// Appends `count` values of `width` bits, value `i` being `value(i)`.
    @inline(__always)
    static func pack(_ out: inout [UInt8], count: Int, width: Int, _ value: (Int) -> UInt64) {
        guard width > 0, count > 0 else { return }
        let size = byteCount(count: count, width: width)
        let start = out.count
        // 8 bytes of slack let every value be written with whole-word stores.
        out.append(contentsOf: repeatElement(0, count: size + 8))
        out.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress! + start
            switch width {
            case 8: for i in 0..<count { base.storeBytes(of: UInt8(truncatingIfNeeded: value(i)), toByteOffset: i, as: UInt8.self) }
            case 16: for i in 0..<count { base.storeBytes(of: UInt16(truncatingIfNeeded: value(i)).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            case 32: for i in 0..<count { base.storeBytes(of: UInt32(truncatingIfNeeded: value(i)).littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            case 64: for i in 0..<count { base.storeBytes(of: value(i).littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
            default:
                var acc: UInt64 = 0
                var bits = 0
                var pos = 0
                let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
                for i in 0..<count {
                    let v = value(i) & mask
                    acc |= v << UInt64(bits)
                    let total = bits + width
                    if total >= 64 {
                        base.storeBytes(of: acc.littleEndian, toByteOffset: pos, as: UInt64.self)
                        pos += 8
                        acc = bits == 0 ? 0 : v >> UInt64(64 - bits)
                        bits = total - 64
                    } else {
                        bits = total
                    }
                }
                if bits > 0 { base.storeBytes(of: acc.littleEndian, toByteOffset: pos, as: UInt64.self) }
            }
        }
        out.removeLast(8)
    }

    /// Unpacks `count` values of `width` bits from `src` (which must hold at least
    /// `byteCount(count:width:)` bytes: callers check) and hands each to `sink(i, v)`.
    @inline(__always)
    static func unpack(_ src: UnsafeRawBufferPointer, count: Int, width: Int, _ sink: (Int, UInt64) -> Void) {
        guard count > 0 else { return }
        guard width > 0 else {
            for i in 0..<count { sink(i, 0) }
            return
        }
        let base = src.baseAddress!
        switch width {
        case 8: for i in 0..<count { sink(i, UInt64(base.load(fromByteOffset: i, as: UInt8.self))) }
        case 16: for i in 0..<count { sink(i, UInt64(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        case 32: for i in 0..<count { sink(i, UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
        case 64: for i in 0..<count { sink(i, UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
        default:
            let size = byteCount(count: count, width: width)
            let mask: UInt64 = (1 << UInt64(width)) - 1
            let w = UInt64(width)
            // Whole-word loads while 8 bytes remain from the value's first byte; byte loads near the end.
            var bitPos: UInt64 = 0
            for i in 0..<count {
                let byte = Int(bitPos >> 3)
                let shift = bitPos & 7
                var word: UInt64
                if byte + 8 <= size {
                    word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) >> shift
                } else {
                    word = 0
                    for k in 0..<(size - byte) { word |= UInt64(base.load(fromByteOffset: byte + k, as: UInt8.self)) << UInt64(8 * k) }
                    word >>= shift
                }
                if shift + w > 64 {
                    // The value spills into a ninth byte (only widths above 56 bits).
                    let ninth = byte + 8 < size ? UInt64(base.load(fromByteOffset: byte + 8, as: UInt8.self)) : 0
                    word |= ninth << (64 - shift)
                }
                sink(i, word & mask)
                bitPos += w
            }
        }
    }

    /// Reads `u8 width` then `count` codes bit-packed at that width, each below `limit` (a
    /// dictionary's size); `what` names them in errors.
    static func readCodes(_ r: inout ByteReader, count: Int, limit: Int, what: String) throws -> [UInt32] {
        let width = Int(try r.u8())
        guard width <= 32 else { throw FormatError("\(what) width \(width) is over 32") }
        let packed = try r.bytes(byteCount(count: count, width: width))
        var bad = false
        let codes = [UInt32](unsafeUninitializedCapacity: count) { buf, n in
            unpack(packed, count: count, width: width) { i, u in
                if u >= UInt64(limit) { bad = true }
                buf[i] = UInt32(truncatingIfNeeded: u)
            }
            n = count
        }
        if bad { throw FormatError("\(what) out of range (there are \(limit))") }
        return codes
    }
}
