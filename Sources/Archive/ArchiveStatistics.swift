import Foundation

/// What a command did with the archive beyond the S3 requests themselves: the objects it considered
/// (and their bytes, against which the bytes fetched compare), and footer cache hits and misses.
/// Safe to update from any thread.
public final class ArchiveStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var values = Snapshot()

    /// The counters at one moment.
    public struct Snapshot: Sendable, Equatable {
        public var objects = 0
        public var objectBytes = 0
        public var cacheHits = 0
        public var cacheMisses = 0
        /// Bytes the reads needed: each header and footer fetched, and each chunk range asked for
        /// (before coalescing), against which the bytes fetched compare.
        public var bytesNeeded = 0
    }

    public init() {}

    public var snapshot: Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return values
    }

    func update(_ change: (inout Snapshot) -> Void) {
        lock.lock()
        change(&values)
        lock.unlock()
    }
}
