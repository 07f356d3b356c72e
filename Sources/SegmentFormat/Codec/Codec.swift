import CLZ4
import CZlib
import CZstd

/// A chunk's compression codec, as stored in the chunk header (see `docs/segment-format.md`, Codecs).
public enum Codec: UInt8, Sendable, CaseIterable {
    case none = 0
    case lz4 = 1
    case zlib = 2
    /// Since format version 2.
    case zstd = 3

    public var name: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zlib: "zlib"
        case .zstd: "zstd"
        }
    }

    /// The lowest format version whose readers know this codec.
    public var formatVersion: UInt16 { self == .zstd ? 2 : 1 }
}

extension Codec {
    /// Decompresses a chunk payload to exactly `rawLength` bytes, or throws naming what is wrong.
    /// Safe on hostile input: every library's safe decoder bounds its writes by the output size,
    /// and `rawLength` is checked against the format's bounds before anything is allocated.
    public func decompress(_ stored: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        guard rawLength <= FormatConstants.maxChunkRawBytes,
              rawLength <= stored.count * FormatConstants.maxExpansionRatio + FormatConstants.expansionSlack
        else {
            throw FormatError("raw length \(rawLength) is impossible for \(stored.count) stored bytes")
        }
        if self == .none {
            guard stored.count == rawLength else {
                throw FormatError("uncompressed chunk holds \(stored.count) bytes, header says \(rawLength)")
            }
            return Array(stored)
        }
        guard rawLength > 0, let src = stored.baseAddress else { throw FormatError("empty \(name) payload") }
        var failure: String?
        let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buf, count in
            failure = inflate(src, stored.count, into: buf.baseAddress!, rawLength)
            count = failure == nil ? rawLength : 0
        }
        if let failure { throw FormatError(failure) }
        return out
    }

    /// Fills exactly `capacity` bytes at `dst`; returns nil, or what went wrong.
    private func inflate(_ src: UnsafeRawPointer, _ count: Int, into dst: UnsafeMutablePointer<UInt8>, _ capacity: Int) -> String? {
        switch self {
        case .none:
            return "uncompressed payload"
        case .lz4:
            let produced = LZ4_decompress_safe(src.assumingMemoryBound(to: CChar.self), UnsafeMutableRawPointer(dst).assumingMemoryBound(to: CChar.self),
                                               Int32(count), Int32(capacity))
            if produced == Int32(capacity) { return nil }
            return produced < 0 ? "lz4 payload is corrupt" : "lz4 payload decompresses to \(produced) bytes, header says \(capacity)"
        case .zlib:
            var produced = UInt(capacity)
            let rc = uncompress(dst, &produced, src.assumingMemoryBound(to: UInt8.self), UInt(count))
            if rc == Z_OK && produced == UInt(capacity) { return nil }
            return rc == Z_OK ? "zlib payload decompresses to \(produced) bytes, header says \(capacity)" : "zlib payload is corrupt (zlib error \(rc))"
        case .zstd:
            guard let contexts = ZstdContexts.current else { return "out of memory for a zstd context" }
            let produced = contexts.decompress(src, count, into: dst, capacity)
            if ZSTD_isError(produced) != 0 { return "zstd payload is corrupt (\(String(cString: ZSTD_getErrorName(produced))))" }
            return produced == capacity ? nil : "zstd payload decompresses to \(produced) bytes, header says \(capacity)"
        }
    }
}
