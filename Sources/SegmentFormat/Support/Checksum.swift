import CZlib

/// CRC-32 (IEEE) as zlib computes it: the checksum of every header, block, chunk and footer.
///
/// zlib's implementation is used rather than a hand-written table because it is maintained, fast
/// (braided, multi-byte at a time) and already linked for the zlib codec.
public enum Checksum {
    /// The CRC-32 of `bytes`, or, given `previous`, of the bytes it covered followed by `bytes`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32? = nil) -> UInt32 {
        var crc: UInt = previous.map { UInt($0) } ?? CZlib.crc32(0, nil, 0)
        guard let base = bytes.baseAddress else { return UInt32(truncatingIfNeeded: crc) }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Int(UInt32.max))
            crc = CZlib.crc32(crc, base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), UInt32(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    public static func crc32(_ bytes: [UInt8], continuing previous: UInt32? = nil) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, continuing: previous) }
    }
}
