import Testing
@testable import segd

struct SyslogFramingTests {
    static func frames(_ chunks: [[UInt8]], maxMessage: Int = 64, finish: Bool = true) -> [String] {
        var framing = SyslogFraming(maxMessage: maxMessage)
        var out: [String] = []
        for chunk in chunks {
            chunk.withUnsafeBytes { framing.feed($0) { out.append(String(decoding: $0, as: UTF8.self)) } }
        }
        if finish { framing.finish { out.append(String(decoding: $0, as: UTF8.self)) } }
        return out
    }

    static let mixed = Array("<13>LF framed\n<14>CRLF framed\r\n<15>NUL framed\u{0}17 <16>octet\ncounted\n\n\u{0}<17>last".utf8)
    static let expected = ["<13>LF framed", "<14>CRLF framed", "<15>NUL framed", "<16>octet\ncounted", "<17>last"]

    @Test func lfNulAndOctetCountedFramesMix() {
        #expect(Self.frames([Self.mixed]) == Self.expected)
    }

    /// However the stream is cut into reads, the same messages come out.
    @Test func frameBoundariesDoNotDependOnReads() {
        #expect(Self.frames(Self.mixed.map { [$0] }) == Self.expected)
        for cut in 1..<Self.mixed.count {
            #expect(Self.frames([Array(Self.mixed[..<cut]), Array(Self.mixed[cut...])]) == Self.expected, "cut at \(cut)")
        }
    }

    /// The last line needs no LF; without `finish` it waits for more bytes.
    @Test func aPartialLastFrameWaitsUntilTheEnd() {
        #expect(Self.frames([Array("<13>a\n<13>b".utf8)], finish: false) == ["<13>a"])
        #expect(Self.frames([Array("5 <13>".utf8)], finish: false) == [])
        #expect(Self.frames([Array("9 <13>".utf8)]) == ["<13>"])
    }

    /// Longer messages come out in pieces of at most maxMessage: nothing dropped, memory bounded.
    @Test func oversizedMessagesAreSplitNotDropped() {
        let long = String(repeating: "x", count: 25)
        #expect(Self.frames([Array((long + "\n<1>ok\n").utf8)], maxMessage: 10) == ["xxxxxxxxxx", "xxxxxxxxxx", "xxxxx", "<1>ok"])
        #expect(Self.frames([Array(("25 " + long + "3 abc").utf8)], maxMessage: 10) == ["xxxxxxxxxx", "xxxxxxxxxx", "xxxxx", "abc"])
        // An endless line is emitted as it arrives, without waiting for its end.
        #expect(Self.frames([Array(long.utf8)], maxMessage: 10, finish: false) == ["xxxxxxxxxx", "xxxxxxxxxx"])
    }

    /// Digits that are not a count (no space after them) start an ordinary line.
    @Test func digitsWithoutASpaceAreALine() {
        #expect(Self.frames([Array("2024-05-01 started\n12345678901 x\n".utf8)]) == ["2024-05-01 started", "12345678901 x"])
    }

    /// syslog-ng's syslog() counts the LF it ends each message with: it is framing, not text.
    @Test func aLineEndCountedInAnOctetCountIsDropped() {
        #expect(Self.frames([Array("6 <1>ab\n7 <1>ab\r\n6 <1>ab\u{0}5 <1>ab".utf8)]) == ["<1>ab", "<1>ab", "<1>ab", "<1>ab"])
    }
}
