import CZlib

/// CRC-32 (IEEE) as zlib computes it: the checksum of every header, block, chunk and footer.
///
/// zlib's implementation is used rather than a hand-written table because it is maintained, fast
/// (braided, multi-byte at a time) and already linked for the zlib codec.
public enum Checksum {
    public static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt = CZlib.crc32(0, nil, 0)
        guard let base = bytes.baseAddress else { return UInt32(truncatingIfNeeded: crc) }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Int(UInt32.max))
            crc = CZlib.crc32(crc, base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), UInt32(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0) }
    }
}
