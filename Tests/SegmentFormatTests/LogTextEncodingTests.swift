import Foundation
import Testing
@testable import SegmentFormat

/// log-text: the template split gives back every message exactly, like messages share a template,
/// and the encoding round trips and refuses damage.
struct LogTextEncodingTests {
    static let messages = [
        "PacketResponder 1 for block blk_38865049064139660 terminating",
        "PacketResponder 0 for block blk_-6952295868487656571 terminating",
        "Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6",
        "Created MRAppMaster for application appattempt_1445144423722_0020_000001",
        "acquire lock=233570404, flags=0x1, tag=\"View Lock\", name=com.android.systemui, ws=null, uid=10037, pid=2227",
        "printFreezingDisplayLogsopening app wtoken = AppWindowToken{9f4ef63 token=Token{a64f992}}",
        "2017-06-09 20:10:40 took -0 ms, -5 ms, 007 items, 12345678901234567890 bytes, x-1 y_-2",
        "", "0", "-", "-0", "00", "\u{10}\u{11}\u{12}\u{13} control \u{1}\n\t bytes", "café 42 ünïcødé 7",
        "uuid 123e4567-e89b-12d3-a456-426614174000 and hash deadbeef01",
        "edges 9223372036854775807 -9223372036854775808 9223372036854775808 -9223372036854775809 0000000000000000000 000000000000000001",
    ]

    static func values(_ strings: [String]) -> StringValues {
        var v = StringValues()
        for s in strings { v.append(Array(s.utf8)) }
        return v
    }

    @Test(arguments: messages)
    func splitAndRebuildGiveTheMessageBack(_ message: String) throws {
        let values = Self.values(Array(repeating: message, count: 3) + ["filler 1", "filler 2"])
        let (_, write) = try #require(LogTextEncoding.candidate(values))
        var out: [UInt8] = []
        write(&out)
        let decoded = try out.withUnsafeBytes { try LogTextEncoding.decode($0, count: values.count) }
        let back = decoded.materialize()
        #expect(String(decoding: back[0], as: UTF8.self) == message)
        #expect(String(decoding: back[4], as: UTF8.self) == "filler 2")
    }

    @Test func messagesOfOneEventShareATemplate() {
        var a: [UInt8] = [], b: [UInt8] = []
        var va: [LogTemplate.Variable] = [], vb: [LogTemplate.Variable] = []
        Array(Self.messages[0].utf8).withUnsafeBufferPointer { LogTemplate.split($0, template: &a, variables: &va) }
        Array(Self.messages[1].utf8).withUnsafeBufferPointer { LogTemplate.split($0, template: &b, variables: &vb) }
        #expect(a == b)
        #expect(va == [.integer(1), .integer(38_865_049_064_139_660)])
        #expect(vb == [.integer(0), .integer(-6_952_295_868_487_656_571)])
    }

    @Test func paddedDigitsAndHexIdsAreTypedVariables() {
        var t: [UInt8] = []
        var v: [LogTemplate.Variable] = []
        Array("appattempt_1445144423722_0020 9f4ef63".utf8).withUnsafeBufferPointer { LogTemplate.split($0, template: &t, variables: &v) }
        #expect(v.count == 3)
        #expect(v[1] == .padded(width: 4, value: 20))
        if case .dictionary = v[2] {} else { Issue.record("a hex id is a dictionary variable: \(v[2])") }
    }

    @Test func aColumnRoundTripsExactly() throws {
        var strings: [String] = []
        for i in 0..<500 { strings.append(Self.messages[i % Self.messages.count].replacingDigits(with: i)) }
        let values = Self.values(strings)
        let (size, write) = try #require(LogTextEncoding.candidate(values))
        var out: [UInt8] = []
        write(&out)
        #expect(out.count == size)
        let decoded = try out.withUnsafeBytes { try LogTextEncoding.decode($0, count: values.count) }
        let back = decoded.materialize()
        #expect((0..<values.count).allSatisfy { back[$0].elementsEqual(values[$0]) })
    }

    @Test func everyTruncationAndByteFlipIsRefusedOrHarmless() throws {
        let values = Self.values((0..<40).map { Self.messages[$0 % 6] })
        let (_, write) = try #require(LogTextEncoding.candidate(values))
        var out: [UInt8] = []
        write(&out)
        for cut in 0..<out.count {
            #expect(throws: FormatError.self) { try Array(out[..<cut]).withUnsafeBytes { try LogTextEncoding.decode($0, count: values.count) } }
        }
        for i in out.indices {
            var damaged = out
            damaged[i] ^= 0x41
            // Either an error, or values that are still valid UTF-8 strings of the right count.
            if let decoded = try? damaged.withUnsafeBytes({ try LogTextEncoding.decode($0, count: values.count) }) {
                let back = decoded.materialize()
                #expect(back.count == values.count && UTF8Validation.isValid(back.bytes))
            }
        }
    }
}

extension String {
    /// The message with its first digit replaced by `n`'s last digit, to vary variables.
    func replacingDigits(with n: Int) -> String {
        guard let i = firstIndex(where: \.isNumber) else { return self }
        return replacingCharacters(in: i...i, with: String(n % 10))
    }
}
