import Testing
@testable import SegmentFormat

struct CodecTests {
    static let text = Array(String(repeating: "GET /index.html 200 1234 Mozilla/5.0\n", count: 200).utf8)

    @Test(arguments: [CompressionSetting.lz4, .zlib, .zlib9])
    func compressedBytesDecompressToTheOriginal(_ setting: CompressionSetting) throws {
        let compressed = try #require(Self.text.withUnsafeBytes { setting.compress($0) })
        #expect(compressed.count < Self.text.count / 5)
        let back = try compressed.withUnsafeBytes { try setting.codec.decompress($0, rawLength: Self.text.count) }
        #expect(back == Self.text)
    }

    @Test func incompressibleInputIsLeftRaw() {
        let random = (0..<64).map { _ in UInt8.random(in: 0...255) }
        #expect(random.withUnsafeBytes { CompressionSetting.lz4.compress($0) } == nil)
        #expect(random.withUnsafeBytes { CompressionSetting.none.compress($0) } == nil)
    }

    @Test(arguments: [Codec.lz4, .zlib])
    func corruptOrMislabelledPayloadsThrow(_ codec: Codec) throws {
        let setting = codec == .lz4 ? CompressionSetting.lz4 : .zlib
        var compressed = try #require(Self.text.withUnsafeBytes { setting.compress($0) })
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
        #expect(CompressionSetting(name: "gzip") == nil)
        #expect(CompressionSetting.names.allSatisfy { CompressionSetting(name: $0)?.description == $0 })
    }
}
