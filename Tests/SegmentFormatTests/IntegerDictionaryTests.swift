import Testing
@testable import SegmentFormat

/// dict-i64: both layouts round trip, codes go to the most frequent values first, and a damaged
/// section is refused.
struct IntegerDictionaryTests {
    static let cases: [[Int64]] = [
        (0..<1000).map { [17, 4983, 1400, 17, 17, -3][$0 % 6] },
        (0..<300).map { Int64($0 % 257) * 1_000_003 },
        (0..<64).map { $0 % 2 == 0 ? Int64.min : Int64.max },
        (0..<5000).map { Int64(($0 * 7919) % 3001) - 1500 },
    ]

    @Test(arguments: cases.indices)
    func bothLayoutsRoundTrip(_ index: Int) throws {
        let values = Self.cases[index]
        let dict = try #require(IntegerDictionary(values, maxEntries: values.count))
        for layout in [IntegerDictionary.Layout.packed, .planes] {
            var out: [UInt8] = []
            dict.write(layout, into: &out)
            #expect(out.count == dict.size(layout), "\(layout)")
            let back = try out.withUnsafeBytes { raw in
                var r = ByteReader(raw, context: "test")
                let v = try IntegerDictionary.decode(&r, count: values.count)
                #expect(r.isAtEnd)
                return v
            }
            #expect(back == values, "\(layout)")
        }
    }

    @Test func theMostFrequentValueHasCodeZero() throws {
        let dict = try #require(IntegerDictionary([5, 9, 9, 9, 5, 100], maxEntries: 6))
        #expect(dict.entries == [9, 5, 100])
        #expect(dict.codes == [1, 0, 0, 0, 1, 2])
    }

    @Test func tooManyDistinctValuesGiveNoDictionary() {
        #expect(IntegerDictionary((0..<100).map(Int64.init), maxEntries: 50) == nil)
    }

    @Test func candidatesOfferItOnlyInVersionTwoAndWhenCodesAreNarrower() {
        let repeated = (0..<1000).map { Int64([17, 4983, 1400][$0 % 3]) }
        #expect(IntegerEncoding.candidates(repeated, dictionary: true).contains { $0.encoding == .dictInt64 })
        #expect(!IntegerEncoding.candidates(repeated, dictionary: false).contains { $0.encoding == .dictInt64 })
        let small = (0..<1000).map { Int64($0 % 200) }
        #expect(!IntegerEncoding.candidates(small, dictionary: true).contains { $0.encoding == .dictInt64 },
                "a frame of reference already fits a byte")
    }

    @Test func aCodePastTheEntriesIsRefused() throws {
        let dict = try #require(IntegerDictionary([1, 2, 2, 3], maxEntries: 4))
        for layout in [IntegerDictionary.Layout.packed, .planes] {
            var out: [UInt8] = []
            dict.write(layout, into: &out)
            out[0] = 2  // two entries, but code 2 is used
            out.removeSubrange(3...3)  // drop the third entry's varint
            #expect(throws: FormatError.self) {
                try out.withUnsafeBytes { raw in
                    var r = ByteReader(raw, context: "test")
                    _ = try IntegerDictionary.decode(&r, count: 4)
                }
            }
        }
    }
}
