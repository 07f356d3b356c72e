import Foundation
import Metrics

/// The node-wide bound on request bytes held in memory at once (`--max-inflight-bytes`), like
/// Elasticsearch's indexing pressure: a request reserves its declared `Content-Length` before its
/// body is read (a chunked one reserves as its bytes arrive), and its decoded body too; past the
/// bound it is refused with 503 and `Retry-After` instead of growing the heap. Thread-safe.
final class InflightBytes: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var held = 0
    private let gauge = Gauge(label: "segd_inflight_request_bytes")

    init(limit: Int) {
        self.limit = limit
    }

    var current: Int { lock.withLock { held } }

    /// Reserves `bytes`; false (and nothing reserved) when that would pass the bound.
    func reserve(_ bytes: Int) -> Bool {
        let now: Int? = lock.withLock {
            guard bytes <= limit - held else { return nil }
            held += bytes
            return held
        }
        if let now { gauge.record(now) }
        return now != nil
    }

    func release(_ bytes: Int) {
        let now = lock.withLock {
            held -= bytes
            return held
        }
        gauge.record(now)
    }
}
