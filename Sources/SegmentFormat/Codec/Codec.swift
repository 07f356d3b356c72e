import CLZ4
import CZlib

/// A chunk's compression codec, as stored in the chunk header (see `docs/segment-format.md`, Codecs).
public enum Codec: UInt8, Sendable, CaseIterable {
    case none = 0
    case lz4 = 1
    case zlib = 2

    public var name: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zlib: "zlib"
        }
    }
}

/// What a stream asks the writer to compress with: a codec and, for zlib, a level.
/// Parsed from the schema's `x-segment.codec` (`lz4`, `zlib`, `zlib-9`, `none`).
public struct CompressionSetting: Sendable, Equatable, CustomStringConvertible {
    public let codec: Codec
    public let level: Int32

    public static let lz4 = CompressionSetting(codec: .lz4, level: 0)
    public static let zlib = CompressionSetting(codec: .zlib, level: 6)
    public static let zlib9 = CompressionSetting(codec: .zlib, level: 9)
    public static let none = CompressionSetting(codec: .none, level: 0)

    /// The names a schema or a `--codec` flag may use.
    public static let names = ["lz4", "zlib", "zlib-9", "none"]

    public init?(name: String) {
        switch name {
        case "lz4": self = .lz4
        case "zlib": self = .zlib
        case "zlib-9": self = .zlib9
        case "none": self = .none
        default: return nil
        }
    }

    private init(codec: Codec, level: Int32) {
        self.codec = codec
        self.level = level
    }

    public var description: String { codec == .zlib && level == 9 ? "zlib-9" : codec.name }

    /// Compresses `raw`. Returns nil when the codec is `none` or the result would not be smaller,
    /// in which case the writer stores the bytes raw (codec 0).
    public func compress(_ raw: UnsafeRawBufferPointer) -> [UInt8]? {
        guard raw.count > 0, let src = raw.baseAddress else { return nil }
        switch codec {
        case .none:
            return nil
        case .lz4:
            let capacity = Int(LZ4_compressBound(Int32(raw.count)))
            let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, count in
                let n = LZ4_compress_default(
                    src.assumingMemoryBound(to: CChar.self),
                    UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self),
                    Int32(raw.count), Int32(capacity))
                count = Int(max(n, 0))
            }
            return out.isEmpty || out.count >= raw.count ? nil : out
        case .zlib:
            let capacity = Int(compressBound(UInt(raw.count)))
            var ok = false
            let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, count in
                var destLen = UInt(capacity)
                let rc = compress2(buf.baseAddress, &destLen, src.assumingMemoryBound(to: UInt8.self), UInt(raw.count), level)
                ok = rc == Z_OK
                count = ok ? Int(destLen) : 0
            }
            return ok && out.count < raw.count ? out : nil
        }
    }
}

extension Codec {
    /// Decompresses a chunk payload to exactly `rawLength` bytes, or throws naming what is wrong.
    /// Safe on hostile input: both libraries' safe decoders bound every write by the output size.
    public func decompress(_ stored: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        guard rawLength <= FormatConstants.maxChunkRawBytes,
              rawLength <= stored.count * FormatConstants.maxExpansionRatio + FormatConstants.expansionSlack
        else {
            throw FormatError("raw length \(rawLength) is impossible for \(stored.count) stored bytes")
        }
        switch self {
        case .none:
            guard stored.count == rawLength else {
                throw FormatError("uncompressed chunk holds \(stored.count) bytes, header says \(rawLength)")
            }
            return Array(stored)
        case .lz4:
            guard rawLength > 0, let src = stored.baseAddress else {
                throw FormatError("empty lz4 payload")
            }
            var produced: Int32 = -1
            let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buf, count in
                produced = LZ4_decompress_safe(
                    src.assumingMemoryBound(to: CChar.self),
                    UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self),
                    Int32(stored.count), Int32(rawLength))
                count = produced == Int32(rawLength) ? rawLength : 0
            }
            guard produced == Int32(rawLength) else {
                throw FormatError(produced < 0 ? "lz4 payload is corrupt" : "lz4 payload decompresses to \(produced) bytes, header says \(rawLength)")
            }
            return out
        case .zlib:
            guard rawLength > 0, let src = stored.baseAddress else {
                throw FormatError("empty zlib payload")
            }
            var rc: Int32 = Z_DATA_ERROR
            var produced: UInt = 0
            let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buf, count in
                produced = UInt(rawLength)
                rc = uncompress(buf.baseAddress, &produced, src.assumingMemoryBound(to: UInt8.self), UInt(stored.count))
                count = rc == Z_OK && produced == UInt(rawLength) ? rawLength : 0
            }
            guard rc == Z_OK, produced == UInt(rawLength) else {
                throw FormatError(rc == Z_OK ? "zlib payload decompresses to \(produced) bytes, header says \(rawLength)" : "zlib payload is corrupt (zlib error \(rc))")
            }
            return out
        }
    }
}
