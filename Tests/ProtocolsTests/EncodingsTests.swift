import CSnappy
import CZstd
import NIOCore
import Testing
@testable import segd

/// The body decoders segd adds (snappy block and framed, zstd): exact round trips against the
/// libraries' own encoders, and hostile input that must be refused, never trap.
struct EncodingsTests {
    static let text: [UInt8] = Array((0..<5000).map { "{\"n\":\($0),\"msg\":\"line \($0)\"}\n" }.joined().utf8)

    static func snappyBlock(_ input: [UInt8]) -> [UInt8] {
        var length = snappy_max_compressed_length(input.count)
        var out = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { i in
            out.withUnsafeMutableBytes { o in
                snappy_compress(i.baseAddress!.assumingMemoryBound(to: CChar.self), input.count, o.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        precondition(status == SNAPPY_OK)
        return Array(out[..<length])
    }

    /// The framing format, as RFC-less but documented: stream identifier, then compressed chunks of
    /// at most 64 KiB, each with its masked CRC-32C.
    static func snappyFramed(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0xFF, 6, 0, 0] + Array("sNaPpY".utf8)
        var start = 0
        while start < input.count {
            let piece = Array(input[start..<min(start + 65_536, input.count)])
            let compressed = snappyBlock(piece)
            let crc = piece.withUnsafeBytes { CRC32C.masked($0) }
            let length = compressed.count + 4
            out += [0x00, UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16)]
            out += [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)]
            out += compressed
            start += 65_536
        }
        return out
    }

    static func zstd(_ input: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let n = input.withUnsafeBytes { i in out.withUnsafeMutableBytes { o in ZSTD_compress(o.baseAddress, o.count, i.baseAddress, i.count, 3) } }
        return Array(out[..<n])
    }

    static func decode(_ kind: String, _ bytes: [UInt8], maxSize: Int = 1 << 20) throws -> [UInt8] {
        let buffer = try bytes.withUnsafeBytes { raw -> ByteBuffer in
            switch kind {
            case "block": return try Snappy.decodeBlock(raw, maxSize: maxSize) { _ in true }
            case "framed": return try Snappy.decodeFramed(raw, maxSize: maxSize) { _ in true }
            default: return try Zstd.decode(raw, maxSize: maxSize) { _ in true }
            }
        }
        return Array(buffer.readableBytesView)
    }

    @Test func crc32cMatchesItsCheckValue() {
        // CRC-32C of "123456789" is 0xE3069283 (RFC 3720, appendix B.4).
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
    }

    @Test(arguments: ["block", "framed", "zstd"])
    func roundTrips(_ kind: String) throws {
        let encoded = kind == "block" ? Self.snappyBlock(Self.text) : kind == "framed" ? Self.snappyFramed(Self.text) : Self.zstd(Self.text)
        #expect(try Self.decode(kind, encoded) == Self.text)
        // Two framed streams or two zstd frames one after another are one body.
        if kind != "block" { #expect(try Self.decode(kind, encoded + encoded) == Self.text + Self.text) }
    }

    /// Every cut and every flipped byte of a valid body is refused or decodes within the bound;
    /// random bytes too. Nothing traps.
    @Test(arguments: ["block", "framed", "zstd"])
    func damagedInputIsRefusedNotTrapped(_ kind: String) {
        let small = Array(Self.text.prefix(3000))
        let encoded = kind == "block" ? Self.snappyBlock(small) : kind == "framed" ? Self.snappyFramed(small) : Self.zstd(small)
        for cut in stride(from: 0, to: encoded.count, by: 7) {
            #expect((try? Self.decode(kind, Array(encoded[..<cut]))) != small, "cut at \(cut)")
        }
        var generator = SystemRandomNumberGenerator()
        for k in 0..<400 {
            var damaged = encoded
            damaged[Int.random(in: 0..<damaged.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            if let decoded = try? Self.decode(kind, damaged, maxSize: 4096) { #expect(decoded.count <= 4096, "flip \(k)") }
            let noise = (0..<Int.random(in: 0..<200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if let decoded = try? Self.decode(kind, noise, maxSize: 4096) { #expect(decoded.count <= 4096) }
        }
        if kind == "framed" {
            // A flipped byte in the data is caught by the checksum at the latest.
            var damaged = encoded
            damaged[damaged.count - 1] ^= 0x01
            #expect(throws: Snappy.Failure.self) { try Self.decode(kind, damaged) }
        }
    }

    @Test(arguments: ["block", "framed", "zstd"])
    func theBoundIsCheckedBeforeMemoryIsTaken(_ kind: String) {
        let zeros = [UInt8](repeating: 0x0A, count: 200_000)
        let encoded = kind == "block" ? Self.snappyBlock(zeros) : kind == "framed" ? Self.snappyFramed(zeros) : Self.zstd(zeros)
        #expect(throws: (any Error).self) { try Self.decode(kind, encoded, maxSize: 100_000) }
        var asked = 0
        _ = try? encoded.withUnsafeBytes { raw in
            switch kind {
            case "block": _ = try Snappy.decodeBlock(raw, maxSize: 1 << 20) { asked += $0; return false }
            case "framed": _ = try Snappy.decodeFramed(raw, maxSize: 1 << 20) { asked += $0; return false }
            default: _ = try Zstd.decode(raw, maxSize: 1 << 20) { asked += $0; return false }
            }
        }
        #expect(asked > 0 && asked <= 4 << 20)
    }
}
