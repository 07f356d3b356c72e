/// Counts of the S3 work a command did, for `--stats`.
public struct S3Counts: Sendable, Equatable {
    public var listRequests = 0
    public var getRequests = 0
    /// Body bytes of successful GETs.
    public var bytesFetched = 0
    /// Requests sent again after a failure worth retrying.
    public var retries = 0

    public init() {}
}

/// The S3 counts of one command, safe to update from any thread.
public typealias S3Statistics = LockedCounters<S3Counts>
