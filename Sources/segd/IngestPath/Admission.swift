import Ingest

/// One request admitted onto the ingest path, and what it holds until `finish`: a slot of its
/// tenant's concurrent requests, request bytes of the node-wide in-flight bound, and bytes of the
/// tenant's disk quota. Used by one request's task only.
final class Admission: @unchecked Sendable {
    let tenant: Tenant
    let limits: TenantLimits
    let store: StreamStore
    private let inflight: InflightBytes
    private let disk: DiskUsage
    private var inflightHeld = 0
    private var quotaHeld = 0
    private var finished = false
    /// Bytes of the body read from the wire so far (what the rejection counters count).
    var bytesRead = 0

    init(tenant: Tenant, limits: TenantLimits, store: StreamStore, inflight: InflightBytes, disk: DiskUsage) {
        self.tenant = tenant
        self.limits = limits
        self.store = store
        self.inflight = inflight
        self.disk = disk
    }

    /// Holds `bytes` more of the in-flight bound; false when the node is at it.
    func hold(_ bytes: Int) -> Bool {
        guard inflight.reserve(bytes) else { return false }
        inflightHeld += bytes
        return true
    }

    func overInflightBound() -> APIError {
        APIError(.serviceUnavailable, "inflight_bytes",
                 "this node holds \(inflight.limit) bytes of requests in flight already (--max-inflight-bytes); retry shortly", retryAfter: 1)
    }

    /// Holds quota for `total` bytes of this request in all (more as the body turns out larger).
    func holdQuota(total: Int) throws {
        guard let quota = tenant.diskQuota, total > quotaHeld else { return }
        guard disk.reserve(tenant: tenant.name, bytes: total - quotaHeld, quota: quota) else {
            throw APIError(.init(code: 507, reasonPhrase: "Insufficient Storage"), "quota",
                           "tenant '\(tenant.name)' would pass its disk quota of \(quota) bytes with this request; records are accepted again once archived segments are shipped")
        }
        quotaHeld = total
    }

    /// Gives back everything held; `written` bytes were stored (they count against the quota).
    func finish(written: Int) {
        guard !finished else { return }
        finished = true
        inflight.release(inflightHeld)
        disk.settle(tenant: tenant.name, reservedBytes: quotaHeld, writtenBytes: written)
        limits.leave()
    }
}
