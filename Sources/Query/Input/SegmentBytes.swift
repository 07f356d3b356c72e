import SegmentFormat

/// Bytes of a segment that a source has read: regions at file offsets (a mapped file is one region
/// covering it all). Immutable; safe to share across threads; keeps its buffers alive.
public final class SegmentBytes: Sendable {
    /// One contiguous run of a file's bytes.
    public struct Region: Sendable {
        public let offset: Int
        public let data: SegmentData

        public init(offset: Int, data: SegmentData) {
            self.offset = offset
            self.data = data
        }

        var range: Range<Int> { offset..<(offset + data.bytes.count) }
    }

    public let regions: [Region]

    /// `regions` in any order.
    public init(_ regions: [Region]) {
        self.regions = regions.sorted { $0.offset < $1.offset }
    }

    /// Every byte of a file.
    public convenience init(wholeFile: SegmentData) {
        self.init([Region(offset: 0, data: wholeFile)])
    }

    /// Total bytes held.
    public var count: Int { regions.reduce(0) { $0 + $1.data.bytes.count } }

    /// The bytes at file offsets `range`, borrowed from the region that holds them all; nil when no
    /// region does. Valid while this object lives.
    public func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer? {
        var lo = 0, hi = regions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if regions[mid].range.upperBound <= range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        guard lo < regions.count else { return nil }
        let region = regions[lo]
        guard region.range.lowerBound <= range.lowerBound, range.upperBound <= region.range.upperBound else { return nil }
        let start = range.lowerBound - region.offset
        return UnsafeRawBufferPointer(rebasing: region.data.bytes[start..<(start + range.count)])
    }
}
