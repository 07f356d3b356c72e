import CLZ4
import CZlib
import CZstd

/// What a stream asks the writer to compress with: a codec and its level. Parsed from the schema's
/// `x-segment.codec` or `--codec`: `lz4`, `zlib` (level 6), `zlib-9`, `zstd` (level 3), `zstd-N`
/// (N from 1 to 22), `none`.
public struct CompressionSetting: Sendable, Equatable, CustomStringConvertible {
    public let codec: Codec
    public let level: Int32

    public static let lz4 = CompressionSetting(codec: .lz4, level: 0)
    public static let zlib = CompressionSetting(codec: .zlib, level: 6)
    public static let zlib9 = CompressionSetting(codec: .zlib, level: 9)
    public static let zstd = CompressionSetting(codec: .zstd, level: 3)
    public static let zstd19 = CompressionSetting(codec: .zstd, level: 19)
    public static let none = CompressionSetting(codec: .none, level: 0)

    /// The names a schema or a `--codec` flag may use (and `zstd-1` to `zstd-22`).
    public static let names = ["lz4", "zlib", "zlib-9", "zstd", "zstd-19", "none"]

    public init?(name: String) {
        switch name {
        case "lz4": self = .lz4
        case "zlib": self = .zlib
        case "zlib-9": self = .zlib9
        case "zstd": self = .zstd
        case "none": self = .none
        default:
            guard name.hasPrefix("zstd-"), let level = Int32(name.dropFirst(5)), (1...22).contains(level),
                  String(level) == name.dropFirst(5) else { return nil }
            self.init(codec: .zstd, level: level)
        }
    }

    private init(codec: Codec, level: Int32) {
        self.codec = codec
        self.level = level
    }

    public var description: String {
        switch codec {
        case .zlib: level == 9 ? "zlib-9" : "zlib"
        case .zstd: level == 3 ? "zstd" : "zstd-\(level)"
        default: codec.name
        }
    }

    /// Compresses `raw`: the codec used and the bytes. Nil when the codec is `none` or the result
    /// would not be smaller, in which case the writer stores the bytes raw (codec 0). A zstd result
    /// smaller than the format's bound on the compression ratio allows (`maxExpansionRatio`: a
    /// reader refuses more, to bound its work) falls back to lz4, which never compresses that much.
    public func compress(_ raw: UnsafeRawBufferPointer) -> (codec: Codec, bytes: [UInt8])? {
        guard raw.count > 0, let src = raw.baseAddress else { return nil }
        let out: [UInt8]?
        switch codec {
        case .none: out = nil
        case .lz4: out = Self.lz4(src, raw.count)
        case .zlib: out = Self.zlib(src, raw.count, level: level)
        case .zstd:
            let compressed = ZstdContexts.current?.compress(src, raw.count, level: level)
            if let compressed, raw.count > compressed.count * FormatConstants.maxExpansionRatio + FormatConstants.expansionSlack {
                return Self.lz4(src, raw.count).map { (.lz4, $0) }
            }
            out = compressed
        }
        guard let out, out.count < raw.count else { return nil }
        return (codec, out)
    }

    private static func lz4(_ src: UnsafeRawPointer, _ count: Int) -> [UInt8]? {
        let capacity = Int(LZ4_compressBound(Int32(count)))
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, n in
            let written = LZ4_compress_default(src.assumingMemoryBound(to: CChar.self),
                                               UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self),
                                               Int32(count), Int32(capacity))
            n = Int(max(written, 0))
        }
        return out.isEmpty ? nil : out
    }

    private static func zlib(_ src: UnsafeRawPointer, _ count: Int, level: Int32) -> [UInt8]? {
        let capacity = Int(compressBound(UInt(count)))
        var ok = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, n in
            var destLen = UInt(capacity)
            ok = compress2(buf.baseAddress, &destLen, src.assumingMemoryBound(to: UInt8.self), UInt(count), level) == Z_OK
            n = ok ? Int(destLen) : 0
        }
        return ok ? out : nil
    }
}
