import Foundation
import Ingest
import Logging
import ServiceLifecycle

/// The storage side of segd as a service: every flush interval it flushes buffered records into
/// blocks, seals segments whose interval is over, and refreshes disk use; at graceful shutdown it
/// flushes and seals every stream (after the HTTP server has finished its requests), within what
/// is left of `--shutdown-timeout`: past it, the write-ahead logs keep the rest for the next start.
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
            while !Task.isCancelled {
                try await Task.sleep(for: .nanoseconds(flushInterval))
                registry.tick(now: Int64(Date().timeIntervalSince1970 * 1e9))
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastRefresh >= 2_000_000_000 {
                    lastRefresh = now
                    await Self.offloaded { disk.refresh() }
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
/// for `delay`, so the load balancer takes the node out before its listener closes.
struct DrainService: Service {
    let state: ServerState
    let delay: Int64
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
    }
}
