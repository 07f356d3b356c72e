import Foundation
import Ingest
import Logging
import ServiceLifecycle

/// The storage side of segd as a service: every flush interval it flushes buffered records into
/// blocks and seals segments whose interval is over; every few seconds it refreshes disk use and
/// expires idempotency keys. The ticker runs on through the HTTP server's drain (graceful shutdown
/// reaches this service last); then it flushes and seals every stream and starts their hooks,
/// within what is left of `--shutdown-timeout`: past it, the write-ahead logs keep the rest for the
/// next start.
struct StorageService: Service {
    let registry: StreamRegistry
    let state: ServerState
    let disk: DiskUsage
    let flushInterval: Int64
    let shutdownTimeout: Int64
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastRefresh = DispatchTime.now().uptimeNanoseconds
            var lastExpiry = lastRefresh
            while !Task.isCancelled {
                try await Task.sleep(for: .nanoseconds(flushInterval))
                registry.tick(now: Self.wallClock())
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastRefresh >= 2_000_000_000 {
                    lastRefresh = now
                    await Self.offloaded { disk.refresh() }
                }
                if now - lastExpiry >= 10_000_000_000 {
                    lastExpiry = now
                    await Self.offloaded { registry.expireIdempotencyKeys(now: Self.wallClock()) }
                }
            }
        }
        // The timeout runs from SIGTERM (when draining began), not from this phase's start.
        let left = Duration.nanoseconds(shutdownTimeout) - (ContinuousClock.now - (state.drainStarted ?? .now))
        logger.info("flushing and sealing every stream")
        if await registry.shutdown(within: max(left, .zero)) {
            logger.info("every stream flushed and sealed")
        }
    }

    static func wallClock() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    /// Runs blocking file work on a Dispatch thread, not on the cooperative pool.
    static func offloaded(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global(qos: .utility).async {
                work()
                done.resume()
            }
        }
    }
}

/// The first service to hear of a graceful shutdown: health turns 503 and new requests get 503
/// for `delay`, so the load balancer takes the node out before its listener closes. Uploads still
/// arriving `uploadGrace` after that are cut off (503, closed), so that one slow client cannot
/// hold the shutdown for the whole `--shutdown-timeout`.
struct DrainService: Service {
    let state: ServerState
    let connections: ConnectionRegistry
    let delay: Int64
    let uploadGrace: Int64
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.startDraining()
        logger.info("draining: health answers 503", metadata: ["drain_delay_ms": "\(delay / 1_000_000)"])
        if delay > 0 {
            try? await withTaskCancellationHandler {
                try await Task.sleep(for: .nanoseconds(delay))
            } onCancel: {}
        }
        // The listener closes once this returns; uploads get a short grace to finish first.
        let connections = self.connections
        let grace = uploadGrace
        let logger = self.logger
        Task.detached {
            try? await Task.sleep(for: .nanoseconds(grace))
            logger.info("cutting off uploads still in flight", metadata: ["connections": "\(connections.openCount)"])
            connections.cutOffUploads()
        }
    }
}
