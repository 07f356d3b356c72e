import Testing
@testable import SegmentFormat

struct CodecTests {
    static let text = Array(String(repeating: "GET /index.html 200 1234 Mozilla/5.0\n", count: 200).utf8)

    @Test(arguments: [CompressionSetting.lz4, .zlib, .zlib9, .zstd, .zstd19, CompressionSetting(name: "zstd-1")!])
    func compressedBytesDecompressToTheOriginal(_ setting: CompressionSetting) throws {
        let (codec, compressed) = try #require(Self.text.withUnsafeBytes { setting.compress($0) })
        #expect(codec == setting.codec)
        #expect(compressed.count < Self.text.count / 5)
        let back = try compressed.withUnsafeBytes { try codec.decompress($0, rawLength: Self.text.count) }
        #expect(back == Self.text)
    }

    @Test func incompressibleInputIsLeftRaw() {
        let random = (0..<64).map { _ in UInt8.random(in: 0...255) }
        #expect(random.withUnsafeBytes { CompressionSetting.lz4.compress($0) } == nil)
        #expect(random.withUnsafeBytes { CompressionSetting.zstd.compress($0) } == nil)
        #expect(random.withUnsafeBytes { CompressionSetting.none.compress($0) } == nil)
    }

    /// zstd compresses runs far beyond the ratio a reader accepts (which bounds a reader's work on
    /// a crafted file): such a chunk is stored with lz4, which stays within it, and reads back.
    @Test func zstdBeyondTheReadersRatioBoundFallsBackToLZ4() throws {
        let zeros = [UInt8](repeating: 0, count: 4 << 20)
        let (codec, compressed) = try #require(zeros.withUnsafeBytes { CompressionSetting.zstd19.compress($0) })
        #expect(codec == .lz4)
        #expect(zeros.count <= compressed.count * FormatConstants.maxExpansionRatio + FormatConstants.expansionSlack)
        let back = try compressed.withUnsafeBytes { try codec.decompress($0, rawLength: zeros.count) }
        #expect(back == zeros)
    }

    @Test(arguments: [Codec.lz4, .zlib, .zstd])
    func corruptOrMislabelledPayloadsThrow(_ codec: Codec) throws {
        let setting = codec == .lz4 ? CompressionSetting.lz4 : codec == .zlib ? .zlib : .zstd
        var (_, compressed) = try #require(Self.text.withUnsafeBytes { setting.compress($0) })
        compressed.withUnsafeBytes { raw in
            #expect(throws: FormatError.self) { try codec.decompress(raw, rawLength: Self.text.count + 1) }
            #expect(throws: FormatError.self) { try codec.decompress(raw, rawLength: Self.text.count - 1) }
            _ = #expect(throws: FormatError.self) { try codec.decompress(raw, rawLength: Int(UInt32.max)) }
        }
        compressed[compressed.count / 2] ^= 0xFF
        compressed.removeLast(3)
        compressed.withUnsafeBytes { raw in
            _ = #expect(throws: FormatError.self) { try codec.decompress(raw, rawLength: Self.text.count) }
        }
    }

    @Test func codecNamesParse() {
        #expect(CompressionSetting(name: "zlib-9") == .zlib9)
        #expect(CompressionSetting(name: "zstd-19") == .zstd19)
        #expect(CompressionSetting(name: "zstd-22")?.level == 22)
        for bad in ["gzip", "zstd-0", "zstd-23", "zstd-019", "zstd-", "zstd-x"] { #expect(CompressionSetting(name: bad) == nil, "\(bad)") }
        #expect(CompressionSetting.names.allSatisfy { CompressionSetting(name: $0)?.description == $0 })
    }
}
