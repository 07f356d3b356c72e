import Foundation
import SwiftProtobuf
import Testing
@testable import segd

/// The walker against swift-protobuf on the same bytes: the same NDJSON, byte for byte, or a
/// decline that leaves swift-protobuf the final word; never a crash on damaged input.
struct OTLPProtobufWalkerTests {
    static let now = OTLPLogsTests.now

    /// What the walker writes, or nil when it declines.
    static func walked(_ bytes: [UInt8]) -> OTLPLogs.Transcoded? {
        bytes.withUnsafeBytes { OTLPProtobufWalker.transcode($0, receivedAt: now) }
    }

    /// What the route wrote before the walker: swift-protobuf's decoding, then the conversion.
    static func decoded(_ bytes: [UInt8]) throws -> OTLPLogs.Transcoded {
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        return OTLPLogs.transcode(try Otlp_ExportLogsServiceRequest(serializedBytes: bytes, options: options), receivedAt: now)
    }

    static func key(_ field: Int, _ wire: Int) -> [UInt8] { varint(UInt64(field << 3 | wire)) }

    static func varint(_ n: UInt64) -> [UInt8] {
        var n = n
        var out: [UInt8] = []
        repeat {
            out.append(UInt8(n & 0x7F) | (n > 0x7F ? 0x80 : 0))
            n >>= 7
        } while n > 0
        return out
    }

    static func delimited(_ field: Int, _ payload: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(payload.count)) + payload }

    static func expectSame(_ bytes: [UInt8]) throws {
        let walked = try #require(Self.walked(bytes))
        let decoded = try Self.decoded(bytes)
        #expect(String(decoding: walked.records.bytes(), as: UTF8.self) == String(decoding: decoded.records.bytes(), as: UTF8.self))
        #expect(walked.refused == decoded.refused && walked.firstRefusal == decoded.firstRefusal)
    }

    @Test func writesWhatSwiftProtobufDecodingWrites() throws {
        let bytes: [UInt8] = try OTLPLogsTests.request().serializedBytes()
        try Self.expectSame(bytes)
        try OTLPLogsTests.check(try #require(Self.walked(bytes)))
    }

    @Test func aRecordOutOfRangeIsRefusedAloneAsBefore() throws {
        var request = OTLPLogsTests.request()
        request.resourceLogs[0].scopeLogs[0].logRecords[1].timeUnixNano = UInt64.max
        try Self.expectSame(try request.serializedBytes())
        #expect(Self.walked(try request.serializedBytes())?.refused == 1)
    }

    /// Fields in any order, unknown fields of every wire type, later scalars winning: protobuf's
    /// rules, not the order swift-protobuf happens to write.
    @Test func fieldOrderUnknownFieldsAndRepeatedScalars() throws {
        let (key, varint, delimited) = (Self.key, Self.varint, Self.delimited)
        let unknown = key(99, 0) + varint(300) + key(98, 1) + [UInt8](repeating: 7, count: 8) + key(97, 5) + [1, 2, 3, 4] + delimited(96, [1, 2])
        let attribute = delimited(2, delimited(1, Array("v".utf8))) + delimited(1, Array("k".utf8))
        let log = key(2, 0) + varint(5) + unknown + delimited(6, attribute) + key(2, 0) + varint(UInt64(bitPattern: -3))
            + delimited(3, Array("first".utf8)) + delimited(3, Array("WARN".utf8)) + key(1, 1) + [1, 0, 0, 0, 0, 0, 0, 0]
        let scopeLogs = delimited(2, log) + unknown + delimited(1, delimited(2, Array("9".utf8)) + delimited(1, Array("lib".utf8)))
        let resourceLogs = delimited(2, scopeLogs) + delimited(1, delimited(1, delimited(1, Array("service.name".utf8)) + delimited(2, key(3, 0) + varint(1)))
                                                       + delimited(1, delimited(1, Array("service.name".utf8)) + delimited(2, delimited(1, Array("later".utf8)))))
        try Self.expectSame(delimited(1, resourceLogs) + unknown + delimited(1, []))
    }

    /// Every truncation and many corruptions of a real request: the walker either writes what
    /// swift-protobuf's decoding writes or declines; where it declines and swift-protobuf decodes,
    /// the route still answers from swift-protobuf. Never a crash.
    @Test func damagedInputIsDeclinedOrAgreesAndNeverCrashes() throws {
        let bytes: [UInt8] = try OTLPLogsTests.request().serializedBytes()
        var generator = SystemRandomNumberGenerator()
        var cases: [[UInt8]] = (0..<bytes.count).map { Array(bytes[..<$0]) }
        for _ in 0..<2_000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            cases.append(damaged)
        }
        var agreed = 0
        var declined = 0
        for damaged in cases {
            guard let walked = Self.walked(damaged) else {
                declined += 1
                continue
            }
            // Whatever the walker takes, swift-protobuf takes too, and they agree.
            let decoded = try Self.decoded(damaged)
            #expect(String(decoding: walked.records.bytes(), as: UTF8.self) == String(decoding: decoded.records.bytes(), as: UTF8.self),
                    "damaged request of \(damaged.count) bytes")
            #expect(walked.refused == decoded.refused)
            agreed += 1
        }
        #expect(agreed > 0 && declined > 0)
    }

    @Test(arguments: [
        [UInt8]([0x0A, 0x05, 0x12]), // a length past the end
        [0x0A, 0x80], // a truncated length
        [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], // a varint that never ends
        [0x00, 0x00], // field number 0
        [0x0E], // wire type 6
        [0x09, 0, 0, 0], // a truncated fixed64
        [0x0A, 0x03, 0x12, 0x01, 0x12], // a scope_logs whose own length runs past its parent
    ])
    func malformedWireFormatIsDeclined(_ bytes: [UInt8]) {
        #expect(Self.walked(bytes) == nil)
        // The route then answers 400 with swift-protobuf's error.
        #expect(throws: (any Error).self) { try Self.decoded(bytes) }
    }

    /// Things protobuf allows but the walker leaves to swift-protobuf: a singular message given
    /// twice (merged), text that is not UTF-8 (refused), nesting past the limit.
    @Test func declinesWhatItLeavesToSwiftProtobuf() throws {
        var request = OTLPLogsTests.request()
        let resourceLogs: [UInt8] = try request.resourceLogs[0].serializedBytes()
        let resource: [UInt8] = try request.resourceLogs[0].resource.serializedBytes()
        let merged = Self.delimited(1, resourceLogs + Self.delimited(1, resource))
        #expect(Self.walked(merged) == nil)
        #expect(try Self.decoded(merged).records.count == 4)

        var nested = Otlp_AnyValue()
        nested.stringValue = "deep"
        for _ in 0..<60 { nested = .with { $0.arrayValue = .with { $0.values = [nested] } } }
        request.resourceLogs[0].scopeLogs[0].logRecords[0].body = nested
        #expect(Self.walked(try request.serializedBytes()) == nil)

        var text: [UInt8] = try OTLPLogsTests.request().serializedBytes()
        let at = try #require(text.firstIndex(of: UInt8(ascii: "c"))) // in "checkout"
        text[at] = 0xFF
        #expect(Self.walked(text) == nil)
        #expect(throws: (any Error).self) { try Self.decoded(text) }
    }
}
