import Dispatch
import Foundation
import Metrics

/// The node-wide bound, in bytes, on accepted records held in memory and not yet in a segment
/// (`--max-buffered-bytes`): every stream of every tenant draws from it, so that memory stays
/// bounded however the load spreads over streams. Each tenant may hold at most `tenantLimit` of
/// it, so that one tenant's slow or flooded streams never take all the room from the others.
///
/// A request that does not fit waits for room (backpressure by waiting), first come first served,
/// up to `wait`; then it is refused. A waiter held back only by its own tenant's share does not
/// hold back the waiters of other tenants behind it. Thread-safe; its lock guards counters and
/// the waiters only.
final class BufferBudget: @unchecked Sendable {
    let limit: Int
    let tenantLimit: Int
    let wait: Int64
    private let lock = NSLock()
    // Guarded by `lock`:
    private var held = 0
    private var heldByTenant: [String: Int] = [:]
    private var waiters: [Waiter] = []
    private var nextWaiter = 0
    private let gauge = Gauge(label: "segd_buffered_bytes_node")

    /// A request waiting for room.
    private struct Waiter {
        let id: Int
        let bytes: Int
        let tenant: String
        let continuation: CheckedContinuation<StoreRefusal?, Never>
    }

    /// `limit` bytes in all, at most `tenantLimit` of them (capped at `limit`) per tenant; a
    /// request waits up to `wait` nanoseconds for room.
    init(limit: Int, tenantLimit: Int, wait: Int64) {
        self.limit = limit
        self.tenantLimit = min(tenantLimit, limit)
        self.wait = wait
    }

    /// Bytes held now, by every stream.
    var current: Int { lock.withLock { held } }

    /// Holds `bytes` for `tenant`, waiting up to `wait` for room behind the requests that waited
    /// first; nil once held, `.buffersFull` when there was no room in time (or never can be: more
    /// than `tenantLimit`, which callers avoid by charging at most that).
    func reserve(_ bytes: Int, tenant: String) async -> StoreRefusal? {
        let immediate: StoreRefusal?? = lock.withLock {
            if bytes > tenantLimit { return .some(.buffersFull) }
            if !waiters.contains(where: { $0.tenant == tenant || held + $0.bytes > limit }) && fits(bytes, tenant) {
                take(bytes, tenant)
                return .some(nil)
            }
            return wait <= 0 ? .some(.buffersFull) : nil
        }
        if let immediate {
            if immediate == nil { gauge.record(current) }
            return immediate
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<StoreRefusal?, Never>) in
            let id: Int = lock.withLock {
                nextWaiter += 1
                waiters.append(Waiter(id: nextWaiter, bytes: bytes, tenant: tenant, continuation: continuation))
                return nextWaiter
            }
            // Room may have been made between the check and the enqueue.
            admitWaiters()
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(wait))) { [self] in
                let timedOut: Waiter? = lock.withLock {
                    guard let i = waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return waiters.remove(at: i)
                }
                timedOut?.continuation.resume(returning: .buffersFull)
                admitWaiters()
            }
        }
    }

    /// Gives back `bytes` of `tenant`'s and lets waiting requests in.
    func release(_ bytes: Int, tenant: String) {
        lock.withLock {
            held -= bytes
            heldByTenant[tenant, default: 0] -= bytes
            if heldByTenant[tenant] == 0 { heldByTenant[tenant] = nil }
        }
        admitWaiters()
        gauge.record(current)
    }

    private func fits(_ bytes: Int, _ tenant: String) -> Bool {
        held + bytes <= limit && heldByTenant[tenant, default: 0] + bytes <= tenantLimit
    }

    private func take(_ bytes: Int, _ tenant: String) {
        held += bytes
        heldByTenant[tenant, default: 0] += bytes
    }

    /// Admits waiting requests in order while they fit: one held back by the node's bound holds
    /// back everyone behind it; one held back by its tenant's share holds back only its tenant.
    private func admitWaiters() {
        let admitted: [Waiter] = lock.withLock {
            var ready: [Waiter] = []
            var blockedTenants: Set<String> = []
            var i = 0
            while i < waiters.count {
                let w = waiters[i]
                if blockedTenants.contains(w.tenant) {
                    i += 1
                    continue
                }
                if fits(w.bytes, w.tenant) {
                    take(w.bytes, w.tenant)
                    ready.append(waiters.remove(at: i))
                    continue
                }
                if held + w.bytes > limit { break }
                blockedTenants.insert(w.tenant)
                i += 1
            }
            return ready
        }
        for waiter in admitted { waiter.continuation.resume(returning: nil) }
    }
}
