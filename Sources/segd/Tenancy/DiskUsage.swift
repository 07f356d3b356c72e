import Foundation

/// Disk use per tenant, for quotas, and the data directory's free space. A walk of the data
/// directory in the background (never on a request) gives the bytes each tenant keeps (not
/// counting `shipped/`, already in the archive); between walks, a live tally adds the bytes
/// accepted since, and requests in progress hold a reservation for their body. A quota is then
/// passed by at most the bytes that blocks and segment overhead add to the write-ahead log's.
/// Thread-safe.
final class DiskUsage: @unchecked Sendable {
    let dataDirectory: String
    private let lock = NSLock()
    private var walked: [String: Int] = [:]
    /// Bytes accepted since the last walk began.
    private var written: [String: Int] = [:]
    /// Bytes of requests admitted and not yet settled.
    private var reserved: [String: Int] = [:]
    private var free: Int = .max

    init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// The tenant's bytes on disk and promised to requests in progress.
    func bytes(tenant: String) -> Int {
        lock.withLock { (walked[tenant] ?? 0) + (written[tenant] ?? 0) + (reserved[tenant] ?? 0) }
    }

    var freeBytes: Int {
        lock.withLock { free }
    }

    /// Reserves `bytes` of `tenant`'s `quota`; false (nothing reserved) when they do not fit.
    func reserve(tenant: String, bytes: Int, quota: Int) -> Bool {
        lock.withLock {
            let used = (walked[tenant] ?? 0) + (written[tenant] ?? 0) + (reserved[tenant] ?? 0)
            guard bytes <= quota - used else { return false }
            reserved[tenant, default: 0] += bytes
            return true
        }
    }

    /// Ends a reservation of `reservedBytes`, of which `writtenBytes` were stored.
    func settle(tenant: String, reservedBytes: Int, writtenBytes: Int) {
        lock.withLock {
            reserved[tenant, default: 0] -= reservedBytes
            written[tenant, default: 0] += writtenBytes
        }
    }

    /// Walks the data directory (blocking; call it off the event loops).
    func refresh() {
        let before = lock.withLock { written }
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
        lock.withLock {
            walked = sizes
            // What was written while the walk ran may be counted twice until the next walk: never less.
            for (tenant, bytes) in before { written[tenant, default: 0] -= bytes }
            free = available
        }
    }
}
