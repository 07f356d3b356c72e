import Foundation

/// One tenant's admission state: a token bucket of records per second with a burst, and a count of
/// its requests in progress. Each tenant has its own lock, so tenants never wait on each other.
/// Tokens are taken for the records of a request once they are parsed, and given back when the
/// request is not stored after all, so only accepted records cost anything.
final class TenantLimits: @unchecked Sendable {
    let tenant: Tenant
    private let lock = NSLock()
    private var tokens: Double
    private var refilled: UInt64
    private var inFlight = 0

    init(tenant: Tenant) {
        self.tenant = tenant
        tokens = tenant.burst
        refilled = DispatchTime.now().uptimeNanoseconds
    }

    private func refill() {
        let now = DispatchTime.now().uptimeNanoseconds
        tokens = min(tenant.burst, tokens + Double(now - refilled) / 1e9 * tenant.recordsPerSecond)
        refilled = now
    }

    /// Seconds until `records` tokens are there (at least 1, at most an hour).
    private func wait(for records: Double) -> Int {
        let seconds = ((records - tokens) / tenant.recordsPerSecond).rounded(.up)
        return Int(min(max(seconds, 1), 3600))
    }

    /// Before the body is read: nil while at least one record would be admitted, or the seconds
    /// until one will be.
    func waitBeforeBody() -> Int? {
        lock.withLock {
            refill()
            return tokens >= 1 ? nil : wait(for: 1)
        }
    }

    /// Takes `records` tokens; returns nil on success, or the seconds until they will be there.
    func take(records: Int) -> Int? {
        lock.withLock {
            refill()
            let wanted = Double(records)
            if tokens >= wanted {
                tokens -= wanted
                return nil
            }
            return wait(for: wanted)
        }
    }

    /// Gives back tokens taken for records that were not stored.
    func refund(records: Int) {
        lock.withLock {
            tokens = min(tenant.burst, tokens + Double(records))
        }
    }

    /// Counts a request in; false when the tenant is at its concurrency bound.
    func enter() -> Bool {
        lock.withLock {
            guard inFlight < tenant.maxConcurrentRequests else { return false }
            inFlight += 1
            return true
        }
    }

    func leave() {
        lock.withLock { inFlight -= 1 }
    }
}
