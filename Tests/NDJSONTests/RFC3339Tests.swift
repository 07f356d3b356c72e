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
                      "2016-12-31T23:58:60Z", "2017-01-01T23:59:60+09:00", "2024-05-01T12:00:61Z",
                      "2024-05-01T12:00:00", "2024-05-01T12:00:00.Z", "2024-05-01", "2024-05-01T12:00:00Zz", "2024-05-01T12:00:00 Z",
                      "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z", "2024-05-01T12:00:00+2:00",
                      "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+02:60", "2024-05-01T12:00:00+0", "2024-05-01T12:00:00+02:0",
                      "2024-05-01T12:00:00.12a4Z", "x024-05-01T12:00:00Z"])
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

    /// RFC 3339 allows any number of fraction digits: digits past the ninth are dropped, moving the
    /// instant to the earlier nanosecond (before the epoch too), never into the next second.
    @Test(arguments: [
        ("2024-05-01T12:00:00.1234567891Z", Int64(1_714_564_800_123_456_789)),
        ("2024-05-01T12:00:00.123456789999999999999999Z", Int64(1_714_564_800_123_456_789)),
        ("2024-05-01T12:00:00.0000000009Z", Int64(1_714_564_800_000_000_000)),
        ("2024-12-31T23:59:59.99999999999Z", Int64(1_735_689_599_999_999_999)),
        ("1969-12-31T23:59:59.9999999999Z", Int64(-1)),
        ("1970-01-01T00:00:00.0000000001+00:00", Int64(0)),
    ])
    func fractionDigitsPastTheNanosecondAreDropped(_ text: String, _ ns: Int64) {
        #expect(RFC3339.parse(text) == ns)
    }

    /// A leap second (23:59:60 in UTC, whatever the offset it is written in) is the last
    /// nanosecond of its UTC day: after every other instant of that day, before the next day.
    @Test(arguments: ["2016-12-31T23:59:60Z", "2016-12-31T23:59:60.5Z", "2016-12-31t23:59:60.999999999999z",
                      "2017-01-01T08:59:60+09:00", "2016-12-31T18:29:60-05:30", "2016-12-31T23:59:60+00:00"])
    func leapSecondIsTheLastNanosecondOfItsUTCDay(_ text: String) throws {
        let lastOfDay = try #require(RFC3339.parse("2016-12-31T23:59:59.999999999Z"))
        #expect(RFC3339.parse(text) == lastOfDay)
        #expect(RFC3339.parse("2017-01-01T00:00:00Z") == lastOfDay + 1)
    }

    /// ISO 8601 variants that shippers write: offsets without a colon or minutes, a comma before
    /// the fraction (log4j, Python's logging), a space between date and time.
    @Test(arguments: [
        ("2024-05-01T14:00:00+0200", Int64(1_714_564_800_000_000_000)),
        ("2024-05-01T14:00:00+02", Int64(1_714_564_800_000_000_000)),
        ("2024-05-01 06:30:00-0530", Int64(1_714_564_800_000_000_000)),
        ("2024-05-01 12:00:00,250z", Int64(1_714_564_800_250_000_000)),
        ("2024-05-01T12:00:00.250-00", Int64(1_714_564_800_250_000_000)),
    ])
    func parsesISO8601Variants(_ text: String, _ ns: Int64) {
        #expect(RFC3339.parse(text) == ns)
    }

    /// A time without an offset is refused, unless the caller gives a default offset; an explicit
    /// offset always wins over the default.
    @Test func aTimeWithoutAnOffsetNeedsADefault() {
        #expect(RFC3339.parse("2024-05-01 12:00:00") == nil)
        #expect(RFC3339.parse("2024-05-01 12:00:00", defaultOffset: 0) == 1_714_564_800_000_000_000)
        #expect(RFC3339.parse("2024-05-01 14:00:00,5", defaultOffset: 7200) == 1_714_564_800_500_000_000)
        #expect(RFC3339.parse("2024-05-01T12:00:00Z", defaultOffset: 7200) == 1_714_564_800_000_000_000)
        #expect(RFC3339.parse("2016-12-31T23:59:60", defaultOffset: 0) == RFC3339.parse("2016-12-31T23:59:59.999999999Z"))
    }
}
