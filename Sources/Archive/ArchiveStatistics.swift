import S3

/// What a command did with the archive beyond the S3 requests themselves: the objects it considered
/// (and their bytes, against which the bytes fetched compare), and footer cache hits and misses.
public struct ArchiveCounts: Sendable, Equatable {
    public var objects = 0
    public var objectBytes = 0
    public var cacheHits = 0
    public var cacheMisses = 0
    /// Bytes the reads needed: each header and footer fetched, and each chunk range asked for
    /// (before coalescing), against which the bytes fetched compare.
    public var bytesNeeded = 0

    public init() {}
}

/// The archive counts of one command, safe to update from any thread.
public typealias ArchiveStatistics = LockedCounters<ArchiveCounts>
