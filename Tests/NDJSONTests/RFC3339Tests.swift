import Testing
@testable import NDJSON

struct RFC3339Tests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2013-01-01T10:15:00Z", Int64(1_357_035_300_000_000_000)),
        ("2015-10-18T18:01:47.978Z", Int64(1_445_191_307_978_000_000)),
        ("2024-02-29T23:59:59.123456789Z", Int64(1_709_251_199_123_456_789)),
        ("2024-05-01t14:00:00+02:00", Int64(1_714_564_800_000_000_000)),
        ("2024-05-01 11:30:00-00:30", Int64(1_714_564_800_000_000_000)),
        ("1969-12-31T23:59:59.999999999Z", Int64(-1)),
        ("1677-09-21T00:12:43.145224192Z", Int64.min),
        ("2262-04-11T23:47:16.854775807Z", Int64.max),
    ])
    func parsesValidDateTimes(_ text: String, _ ns: Int64) {
        #expect(RFC3339.parse(text) == ns)
    }

    @Test(arguments: ["2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:60Z",
                      "2024-05-01T12:00:00", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.1234567891Z", "2024-05-01",
                      "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z", "2024-05-01T12:00:00+2:00", "x024-05-01T12:00:00Z"])
    func rejectsInvalidOrOutOfRange(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test(arguments: [Int64(0), -1, 1, 1_000_000, 1_500_000_000, Int64.min, Int64.max, 1_445_191_307_978_000_000, 1_709_251_199_123_456_789])
    func formattingRoundTripsWithTheFewestFractionDigits(_ ns: Int64) throws {
        let text = RFC3339.format(ns)
        #expect(RFC3339.parse(text) == ns, "\(text)")
        let fraction = text.split(separator: ".").dropFirst().first.map { $0.dropLast().count } ?? 0
        #expect([0, 3, 6, 9].contains(fraction))
    }

    @Test func formatsInUTC() {
        #expect(RFC3339.format(1_714_564_800_000_000_000) == "2024-05-01T12:00:00Z")
        #expect(RFC3339.format(1_445_191_307_978_000_000) == "2015-10-18T18:01:47.978Z")
        #expect(RFC3339.format(-1) == "1969-12-31T23:59:59.999999999Z")
    }
}
