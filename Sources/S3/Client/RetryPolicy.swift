import Foundation

/// How often and how long to retry a request that failed in a way worth retrying: exponential
/// backoff with full jitter (a uniformly random wait up to `base × 2^attempt`, capped), which
/// spreads the retries of many concurrent requests apart instead of sending them in waves.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    public var base: Duration
    public var cap: Duration

    public init(maxAttempts: Int = 8, base: Duration = .milliseconds(100), cap: Duration = .seconds(10)) {
        self.maxAttempts = max(1, maxAttempts)
        self.base = base
        self.cap = cap
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failures (1 or more).
    public func delay(after attempt: Int) -> Duration {
        let ceiling = min(cap, base * (1 << min(attempt - 1, 30)))
        let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(0, nanos)))
    }
}
