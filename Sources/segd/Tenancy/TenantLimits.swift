import Foundation

/// One tenant's admission state: a token bucket of records per second with a burst, and a count of
/// its requests in progress. Each tenant has its own lock, so tenants never wait on each other.
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

    /// Takes `records` tokens; returns nil on success, or the seconds until they will be there.
    func take(records: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let now = DispatchTime.now().uptimeNanoseconds
        tokens = min(tenant.burst, tokens + Double(now - refilled) / 1e9 * tenant.recordsPerSecond)
        refilled = now
        let wanted = Double(records)
        if tokens >= wanted {
            tokens -= wanted
            return nil
        }
        return max(1, Int(((wanted - tokens) / tenant.recordsPerSecond).rounded(.up)))
    }

    /// Counts a request in; false when the tenant is at its concurrency bound.
    func enter() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard inFlight < tenant.maxConcurrentRequests else { return false }
        inFlight += 1
        return true
    }

    func leave() {
        lock.lock()
        inFlight -= 1
        lock.unlock()
    }
}

/// Disk use, refreshed in the background (never on a request): bytes each tenant keeps under the
/// data directory (not counting `shipped/`, already in the archive), and the free space of the
/// data directory's file system.
final class DiskUsage: @unchecked Sendable {
    let dataDirectory: String
    private let lock = NSLock()
    private var perTenant: [String: Int] = [:]
    private var free: Int = .max

    init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    func bytes(tenant: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return perTenant[tenant] ?? 0
    }

    var freeBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return free
    }

    /// Walks the data directory (blocking; call it off the event loops).
    func refresh() {
        var sizes: [String: Int] = [:]
        let manager = FileManager.default
        for tenant in (try? manager.contentsOfDirectory(atPath: dataDirectory)) ?? [] {
            let root = dataDirectory + "/" + tenant
            var total = 0
            if let walker = manager.enumerator(atPath: root) {
                while let next = walker.nextObject() as? String {
                    // Shipped segments wait only for their deletion (ship-segments --keep-days).
                    if next.contains("/shipped/") { continue }
                    if let attributes = try? manager.attributesOfItem(atPath: root + "/" + next),
                       attributes[.type] as? FileAttributeType == .typeRegular {
                        total += (attributes[.size] as? Int) ?? 0
                    }
                }
            }
            sizes[tenant] = total
        }
        var stats = statvfs()
        let available = statvfs(dataDirectory, &stats) == 0 ? Int(stats.f_bavail) * Int(stats.f_frsize) : Int.max
        lock.lock()
        perTenant = sizes
        free = available
        lock.unlock()
    }
}
