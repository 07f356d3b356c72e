/// Encoders and decoders for booleans (a bitmap) and numbers (plain f64, or XOR with the previous
/// value's bits) (spec: Encodings).
enum ScalarEncoding {
    static func writeBitmap(_ bits: [UInt8], into out: inout [UInt8]) {
        bits.withUnsafeBufferPointer { b in BitPacking.pack(&out, count: b.count, width: 1) { UInt64(b[$0]) } }
    }

    /// Bitmap section of `count` booleans; returns it as 0/1 bytes.
    static func decodeBitmap(_ section: UnsafeRawBufferPointer, count: Int) throws -> [UInt8] {
        guard section.count == BitPacking.byteCount(count: count, width: 1) else {
            throw FormatError("boolean bitmap holds \(section.count) bytes, \(count) values need \(BitPacking.byteCount(count: count, width: 1))")
        }
        return [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            BitPacking.unpack(section, count: count, width: 1) { i, u in buf[i] = UInt8(truncatingIfNeeded: u) }
            n = count
        }
    }

    static func writeFloats(_ values: [Double], xor: Bool, into out: inout [UInt8]) {
        var previous: UInt64 = 0
        for v in values {
            let bits = v.bitPattern
            withUnsafeBytes(of: (xor ? bits ^ previous : bits).littleEndian) { out.append(contentsOf: $0) }
            previous = bits
        }
    }

    static func decodeFloats(_ section: UnsafeRawBufferPointer, count: Int, xor: Bool) throws -> [Double] {
        guard section.count == 8 * count else {
            throw FormatError("number section holds \(section.count) bytes, \(count) values need \(8 * count)")
        }
        var failure = false
        let values = [Double](unsafeUninitializedCapacity: count) { buf, n in
            var previous: UInt64 = 0
            for i in 0..<count {
                var bits = UInt64(littleEndian: section.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                if xor { bits ^= previous }
                previous = bits
                let v = Double(bitPattern: bits)
                if !v.isFinite { failure = true }
                buf[i] = v
            }
            n = count
        }
        if failure { throw FormatError("number column holds a NaN or infinity") }
        return values
    }
}
