import Foundation

/// Counts of the S3 work a command did, for `--stats`. Safe to update from any thread.
public final class S3Statistics: @unchecked Sendable {
    private let lock = NSLock()
    private var values = Snapshot()

    /// The counters at one moment.
    public struct Snapshot: Sendable, Equatable {
        public var listRequests = 0
        public var getRequests = 0
        /// Body bytes of successful GETs.
        public var bytesFetched = 0
        /// Requests sent again after a failure worth retrying.
        public var retries = 0
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
