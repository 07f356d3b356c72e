import Foundation

/// Counters that any thread may update, read as one consistent snapshot: what `--stats` reports of
/// the S3 requests (`S3Statistics`) and of the archive's objects and footer cache (`ArchiveStatistics`).
public final class LockedCounters<Snapshot: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: Snapshot

    public init(_ initial: Snapshot) {
        values = initial
    }

    /// The counters at one moment.
    public var snapshot: Snapshot {
        lock.withLock { values }
    }

    public func update(_ change: (inout Snapshot) -> Void) {
        lock.withLock { change(&values) }
    }
}
