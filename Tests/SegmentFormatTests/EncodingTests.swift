import Testing
@testable import SegmentFormat

/// Round trips of every encoding, on sequences chosen to hit each edge: extremes, wrapping deltas,
/// constant runs, all widths.
struct EncodingTests {
    static let integerCases: [[Int64]] = [
        [42],
        [0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        [10, 8, 6, 4, 2, 0, -2],
        [Int64.min, Int64.max, 0, Int64.min, -1, Int64.max],
        [Int64.max, Int64.min],
        (0..<1000).map { Int64($0) * 1_000_000_000 + 1_600_000_000_000_000_000 },
        (0..<1000).map { Int64(($0 * 7919) % 1013) - 500 },
        (0..<513).map { Int64(bitPattern: UInt64($0) &* 0x9E37_79B9_7F4A_7C15) },
    ]

    @Test(arguments: integerCases.indices)
    func everyIntegerCandidateRoundTrips(_ index: Int) throws {
        let values = Self.integerCases[index]
        let candidates = IntegerEncoding.candidates(values)
        #expect(!candidates.isEmpty)
        for candidate in candidates {
            var out: [UInt8] = []
            candidate.write(&out)
            #expect(out.count == candidate.size, "\(candidate.encoding.name) predicted \(candidate.size) bytes, wrote \(out.count)")
            let decoded = try out.withUnsafeBytes { try IntegerEncoding.decode(candidate.encoding, $0, count: values.count) }
            #expect(decoded == values, "\(candidate.encoding.name)")
        }
    }

    @Test func candidatesIncludeDeltaForSortedTimestamps() {
        let values = (0..<1000).map { Int64($0) * 1_000_000_000 }
        let best = IntegerEncoding.candidates(values)[0]
        #expect(best.encoding == .deltaBitpack || best.encoding == .forBitpack || best.encoding == .dodVarint)
        #expect(best.size < 100, "a regular series should take almost nothing, took \(best.size)")
    }

    @Test(arguments: Array(0...64))
    func bitPackingRoundTripsAtWidth(_ width: Int) {
        let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
        let values = (0..<77).map { UInt64($0) &* 0xD6E8_FEB8_6659_FD93 & mask }
        var out: [UInt8] = []
        BitPacking.pack(&out, count: values.count, width: width) { values[$0] }
        #expect(out.count == BitPacking.byteCount(count: values.count, width: width))
        var back = [UInt64](repeating: 0, count: values.count)
        out.withUnsafeBytes { raw in BitPacking.unpack(raw, count: values.count, width: width) { back[$0] = $1 } }
        #expect(back == values)
    }

    @Test func varintsRejectOverlongAndTruncatedInput() {
        let overlong: [UInt8] = Array(repeating: 0xFF, count: 10) + [0x01]
        overlong.withUnsafeBytes { raw in
            var reader = ByteReader(raw, context: "test")
            _ = #expect(throws: FormatError.self) { try reader.uvarint() }
        }
        [UInt8]([0x80, 0x80]).withUnsafeBytes { raw in
            var reader = ByteReader(raw, context: "test")
            _ = #expect(throws: FormatError.self) { try reader.uvarint() }
        }
        // The largest 64-bit value is the longest valid varint.
        [UInt8]([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).withUnsafeBytes { raw in
            var reader = ByteReader(raw, context: "test")
            #expect((try? reader.uvarint()) == UInt64.max)
        }
    }

    @Test func zigzagCoversTheExtremes() {
        for v: Int64 in [0, -1, 1, Int64.min, Int64.max, 12345, -12345] {
            #expect(Varint.unzigzag(Varint.zigzag(v)) == v)
        }
    }

    static func strings(_ items: [String]) -> StringValues {
        var s = StringValues()
        for item in items { s.append(Array(item.utf8)) }
        return s
    }

    @Test func plainAndDictionaryStringsRoundTrip() throws {
        let items = (0..<500).map { ["GET", "POST", "", "caf\u{e9}", "\u{1F600} emoji", "HEAD"][$0 % 6] }
        let values = Self.strings(items)
        let candidates = StringEncoding.candidates(values, allowDictionary: true)
        #expect(candidates.contains { $0.encoding == .dictString })
        #expect(candidates.contains { $0.encoding == .plainString })
        for candidate in candidates {
            var out: [UInt8] = []
            candidate.write(&out)
            #expect(out.count == candidate.size)
            let back: [String] = try out.withUnsafeBytes { raw in
                if candidate.encoding == .plainString {
                    let s = try StringEncoding.decodePlain(raw, count: items.count, validateUTF8: true)
                    return (0..<s.count).map { String(decoding: s[$0], as: UTF8.self) }
                }
                let (entries, codes) = try StringEncoding.decodeDictionary(raw, count: items.count)
                #expect((1..<entries.count).allSatisfy { entries.compare($0 - 1, $0) < 0 }, "dictionary must be sorted")
                return codes.map { String(decoding: entries[Int($0)], as: UTF8.self) }
            }
            #expect(back == items, "\(candidate.encoding.name)")
        }
    }

    @Test func dictionaryIsSkippedForDistinctValues() {
        let values = Self.strings((0..<1000).map { "request-\($0)" })
        #expect(StringEncoding.candidates(values, allowDictionary: true).map(\.encoding) == [.plainString])
    }

    @Test func stringDecodingRejectsBadUTF8AndBadCodes() {
        // plain: one value of length 2 holding an invalid sequence.
        [UInt8]([2, 0xC3, 0x28]).withUnsafeBytes { raw in
            _ = #expect(throws: FormatError.self) { try StringEncoding.decodePlain(raw, count: 1, validateUTF8: true) }
        }
        // dictionary of one entry "a", width 8, code 5.
        [UInt8]([1, 1, 0x61, 8, 5]).withUnsafeBytes { raw in
            _ = #expect(throws: FormatError.self) { try StringEncoding.decodeDictionary(raw, count: 1) }
        }
        // dictionary out of order: "b", "a".
        [UInt8]([2, 1, 1, 0x62, 0x61, 1, 0]).withUnsafeBytes { raw in
            _ = #expect(throws: FormatError.self) { try StringEncoding.decodeDictionary(raw, count: 1) }
        }
    }

    @Test func utf8ValidationAcceptsValidAndRejectsInvalid() {
        #expect(UTF8Validation.isValid(Array("plain ascii, caf\u{e9}, \u{4E2D}\u{6587}, \u{1F600}".utf8)))
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xFF]] {
            #expect(!UTF8Validation.isValid(bad), "\(bad)")
        }
    }

    @Test func floatsRoundTripPlainAndXor() throws {
        let values: [Double] = [0, -0.0, 1.5, -2.25, 1e308, Double.leastNonzeroMagnitude, 3.141592653589793, 100, 100.5]
        for xor in [false, true] {
            var out: [UInt8] = []
            ScalarEncoding.writeFloats(values, xor: xor, into: &out)
            let back = try out.withUnsafeBytes { try ScalarEncoding.decodeFloats($0, count: values.count, xor: xor) }
            #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
        }
        var nan: [UInt8] = []
        ScalarEncoding.writeFloats([.nan], xor: false, into: &nan)
        nan.withUnsafeBytes { raw in
            _ = #expect(throws: FormatError.self) { try ScalarEncoding.decodeFloats(raw, count: 1, xor: false) }
        }
    }

    @Test func booleanBitmapRoundTrips() throws {
        let values: [UInt8] = (0..<19).map { UInt8($0 % 3 == 0 ? 1 : 0) }
        var out: [UInt8] = []
        ScalarEncoding.writeBitmap(values, into: &out)
        #expect(out.count == 3)
        #expect(try out.withUnsafeBytes { try ScalarEncoding.decodeBitmap($0, count: values.count) } == values)
    }
}
