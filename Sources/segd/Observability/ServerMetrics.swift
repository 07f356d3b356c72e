import Ingest
import Metrics
import Prometheus

/// segd's Prometheus metrics: records and bytes accepted (by tenant and stream) and rejected (by
/// tenant and reason), request latency, buffered, write-ahead-log and tail bytes, idempotency
/// keys held; connections and in-flight request bytes come from the HTTP layer. The storage layer
/// adds its own through swift-metrics: fsync latency, block flushes, segments sealed, hook runs
/// and failures.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// The factory to bootstrap swift-metrics with, with latency buckets from 0.1 ms to 10 s.
    static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        return factory
    }

    func accepted(tenant: String, stream: String, records: Int, bytes: Int) {
        let dimensions = [("tenant", tenant), ("stream", stream)]
        Counter(label: "segd_records_accepted_total", dimensions: dimensions).increment(by: records)
        Counter(label: "segd_bytes_accepted_total", dimensions: dimensions).increment(by: bytes)
    }

    func rejected(tenant: String, reason: String, requestBytes: Int) {
        let dimensions = [("tenant", tenant), ("reason", reason)]
        Counter(label: "segd_requests_rejected_total", dimensions: dimensions).increment()
        Counter(label: "segd_bytes_rejected_total", dimensions: dimensions).increment(by: requestBytes)
    }

    func requestDuration(route: String, status: Int, nanoseconds: UInt64) {
        Timer(label: "segd_request_duration_seconds", dimensions: [("route", route), ("status", String(status))])
            .recordNanoseconds(Int64(nanoseconds))
    }

    /// Samples the gauges (buffered bytes per stream, log bytes per tenant) just before an export.
    func updateGauges(registry streams: StreamRegistry) {
        for store in streams.allStores {
            let dimensions = [("tenant", store.tenant), ("stream", store.stream)]
            Gauge(label: "segd_buffered_bytes", dimensions: dimensions).record(store.buffered)
            Gauge(label: "segd_tail_bytes", dimensions: dimensions).record(store.tail.heldBytes)
        }
        for (tenant, bytes) in streams.logBytes {
            Gauge(label: "segd_wal_bytes", dimensions: [("tenant", tenant)]).record(bytes)
        }
        for (tenant, keys) in streams.openIdempotencyStores {
            Gauge(label: "segd_idempotency_keys", dimensions: [("tenant", tenant)]).record(keys.count)
        }
        Gauge(label: "segd_hook_runs_pending").record(streams.hooks.pendingCount)
    }
}
