import Testing
@testable import Archive

struct PartitionRangeTests {
    static let hour: Int64 = 3_600_000_000_000
    /// 2026-11-02T10:30:00Z in ns.
    static let t: Int64 = 1_793_615_400 * 1_000_000_000

    @Test func partitionsAreNamedByUTCHour() {
        #expect(PartitionRange.partition(hour: PartitionRange.floorHour(Self.t)) == "dt=2026-11-02/hour=10")
        #expect(PartitionRange.partition(hour: 0) == "dt=1970-01-01/hour=00")
        #expect(PartitionRange.partition(hour: -1) == "dt=1969-12-31/hour=23")
        #expect(PartitionRange.partition(hour: PartitionRange.floorHour(951_782_400 * 1_000_000_000)) == "dt=2000-02-29/hour=00")
    }

    @Test func theRangeStartsAnHourBeforeSinceAndEndsWithUntilsHour() {
        let r = PartitionRange(streamPrefix: "p/acme/weblog/", since: Self.t, until: Self.t + 2 * Self.hour, lookbackHours: 1)
        #expect(r.startAfter == "p/acme/weblog/dt=2026-11-02/hour=09")
        #expect(r.stop == "p/acme/weblog/dt=2026-11-02/hour=13")
        #expect(r.contains("p/acme/weblog/dt=2026-11-02/hour=09/x.seg"))
        #expect(r.contains("p/acme/weblog/dt=2026-11-02/hour=12/x.seg"))
        #expect(!r.contains("p/acme/weblog/dt=2026-11-02/hour=08/x.seg"))
        #expect(!r.contains("p/acme/weblog/dt=2026-11-02/hour=13/x.seg"))
    }

    @Test func untilOnAnHourBoundaryExcludesThatHour() {
        let boundary = PartitionRange.floorHour(Self.t) * Self.hour
        let r = PartitionRange(streamPrefix: "s/", since: nil, until: boundary, lookbackHours: 1)
        #expect(r.startAfter == nil)
        #expect(r.stop == "s/dt=2026-11-02/hour=10")
    }

    @Test func partitionsOutsideTheRangeAreNotListed() {
        let r = PartitionRange(streamPrefix: "s/", since: Self.t, until: Self.t + Self.hour, lookbackHours: 1)
        #expect(r.overlaps(prefix: "s/dt=2026-11-02/"))
        #expect(r.overlaps(prefix: "s/dt=2026-11-02/hour=09/"))
        #expect(!r.overlaps(prefix: "s/dt=2026-11-02/hour=08/"))
        #expect(!r.overlaps(prefix: "s/dt=2026-11-03/"))
        #expect(!r.overlaps(prefix: "s/dt=2026-11-01/"))
    }

    @Test func shortRangesAreListedOneDayAtATime() {
        let days = PartitionRange.dayPrefixes(streamPrefix: "s/", since: Self.t - 10 * Self.hour - 1, until: Self.t + 14 * Self.hour,
                                              lookbackHours: 1, maxDays: 92)
        #expect(days == ["s/dt=2026-11-01/", "s/dt=2026-11-02/", "s/dt=2026-11-03/"])
        #expect(PartitionRange.dayPrefixes(streamPrefix: "s/", since: Self.t, until: nil, lookbackHours: 1, maxDays: 92) == nil)
        #expect(PartitionRange.dayPrefixes(streamPrefix: "s/", since: Self.t - 200 * 24 * Self.hour, until: Self.t, lookbackHours: 1, maxDays: 92) == nil)
    }
}
