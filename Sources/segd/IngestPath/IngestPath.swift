import Foundation
import Hummingbird
import Ingest
import Logging
import NDJSON
import NIOCore

/// Options of one ingest call, set by the route from its request.
struct IngestOptions: Sendable {
    /// The request's `Idempotency-Key`, already checked (`RequestHeaders.idempotencyKey`).
    var idempotencyKey: String?
}

/// What an ingest call did.
enum IngestOutcome: Sendable, Equatable {
    /// The records are durable.
    case accepted(records: Int)
    /// The idempotency key answered before, with the same body: nothing was stored again.
    case replayed(records: Int)
}

/// The one ingest path of segd, which every protocol takes (records route, and the protocol
/// adapters, which turn their wire format into NDJSON for one stream):
///
/// 1. `admit`: the stream (403, 404), node and tenant state from the headers alone (draining,
///    free disk, stream failure, concurrency, rate, the in-flight byte bound, the disk quota for
///    the declared length) — all before a byte of body is read;
/// 2. the body, read by `BodyReading` (bounded, strict, decoded), and adapted to NDJSON;
/// 3. `store`: quota for the decoded size, idempotency (stream and body fingerprint), line
///    lengths, parse and schema check, burst and rate (tokens only for accepted records),
///    write-ahead log and fsync; then the answer.
///
/// `ingest` runs all three for one request. Every refusal is an `APIError`.
struct IngestPath: Sendable {
    let registry: StreamRegistry
    let limits: [String: TenantLimits]
    let disk: DiskUsage
    let inflight: InflightBytes
    let state: ServerState
    let settings: ServerSettings
    let metrics: ServerMetrics
    let logger: Logger

    /// Ingests one request of `tenant` into `stream`. `adapt` turns the decoded body into NDJSON
    /// records of the stream's schema (identity for the records route).
    func ingest(_ request: Request, context: SegdRequestContext, tenant: Tenant, stream: String,
                mediaTypes: BodyReading.MediaTypes = .ndjson, options: IngestOptions,
                adapt: (ByteBuffer) throws -> ByteBuffer = { $0 }) async throws -> IngestOutcome {
        var admission: Admission?
        do {
            let store = try await authorize(tenant, stream, requestID: context.requestID)
            let declared = try BodyReading.inspect(request.headers, mediaTypes: mediaTypes, maxBody: settings.maxBody)
            let admitted = try admit(tenant: tenant, store: store, declaredLength: declared.length,
                                     mayBeReplay: options.idempotencyKey != nil, requestID: context.requestID)
            admission = admitted
            if declared.expectsContinue { context.sendContinue() }
            let body = try await BodyReading.read(request, declared, admission: admitted, maxBody: settings.maxBody)
            let ndjson = try adapt(body)
            let outcome = try await self.store(ndjson, admission: admitted, options: options, requestID: context.requestID)
            if case let .accepted(records) = outcome {
                metrics.accepted(tenant: tenant.name, stream: stream, records: records, bytes: admitted.bytesRead)
                admitted.finish(written: ndjson.readableBytes)
            } else {
                admitted.finish(written: 0)
            }
            return outcome
        } catch {
            // Whatever the error, the request gives back what it held.
            admission?.finish(written: 0)
            let reason = (error as? APIError)?.reason ?? "internal"
            metrics.rejected(tenant: tenant.name, reason: reason, requestBytes: admission?.bytesRead ?? 0)
            throw error
        }
    }

    // MARK: 1. Admission

    /// Admits a request from its headers alone, or refuses it (503, 507, 429). A request that may
    /// be a replay (it has an `Idempotency-Key`) is not refused for its stream's storage here: its
    /// first answer needs no storage, so `store` checks that after the key.
    func admit(tenant: Tenant, store: StreamStore, declaredLength: Int?, mayBeReplay: Bool, requestID: String) throws -> Admission {
        guard !state.isDraining else {
            throw APIError(.serviceUnavailable, "draining", "this node is shutting down; retry (the load balancer sends you to another node)", retryAfter: 1)
        }
        guard let limits = limits[tenant.name] else { throw APIError(.unauthorized, "auth", "unknown tenant") }
        if disk.freeBytes < settings.minFreeBytes {
            throw APIError(.serviceUnavailable, "disk_full", "the node's disk is nearly full; retry later", retryAfter: 30)
        }
        if !mayBeReplay, let failure = store.failure { throw storageRefusal(store, failure, requestID: requestID) }
        if let wait = limits.waitBeforeBody() {
            throw APIError(.tooManyRequests, "rate", "tenant '\(tenant.name)' is over its rate of \(Self.rate(tenant)) records/s; retry after \(wait) s", retryAfter: wait)
        }
        guard limits.enter() else {
            throw APIError(.tooManyRequests, "concurrency", "tenant '\(tenant.name)' has \(tenant.maxConcurrentRequests) requests in progress already; wait for them", retryAfter: 1)
        }
        let admission = Admission(tenant: tenant, limits: limits, store: store, inflight: inflight, disk: disk)
        do {
            if let declaredLength {
                guard admission.hold(declaredLength) else { throw admission.overInflightBound() }
            }
            try admission.holdQuota(total: declaredLength ?? 0)
        } catch {
            admission.finish(written: 0)
            throw error
        }
        return admission
    }

    /// The tenant's store of the stream: 403 if the tenant may not use it, 404 if it has no schema.
    func authorize(_ tenant: Tenant, _ stream: String, requestID: String) async throws -> StreamStore {
        guard tenant.allows(stream: stream) else {
            throw APIError(.forbidden, "forbidden", "tenant '\(tenant.name)' may not use stream '\(ConnectionGuard.printable(stream))'")
        }
        guard registry.schemas[stream] != nil else {
            throw APIError(.notFound, "unknown_stream", "no stream '\(ConnectionGuard.printable(stream))': known streams are \(registry.schemas.keys.sorted().joined(separator: ", "))")
        }
        if let store = registry.openedStore(tenant: tenant.name, stream: stream) { return store }
        // First use: recovery runs on the stream's own executor, not on this task's thread.
        do {
            guard let store = try await registry.store(tenant: tenant.name, stream: stream) else {
                throw APIError(.notFound, "unknown_stream", "no stream '\(ConnectionGuard.printable(stream))'")
            }
            return store
        } catch let error as APIError {
            throw error
        } catch {
            logger.error("cannot open a stream", metadata: ["tenant": "\(tenant.name)", "stream": "\(stream)", "error": "\(error)", "request_id": "\(requestID)"])
            throw APIError(.serviceUnavailable, "storage", "the stream cannot be opened now; retry later", retryAfter: 5)
        }
    }

    // MARK: 3. Store

    /// Stores the NDJSON records `ndjson` of an admitted request: all or nothing.
    func store(_ ndjson: ByteBuffer, admission: Admission, options: IngestOptions, requestID: String) async throws -> IngestOutcome {
        let tenant = admission.tenant
        let store = admission.store
        try admission.holdQuota(total: ndjson.readableBytes)
        // Idempotency: a key seen before, with the same stream and body, gets the first answer.
        var claimed: (IdempotencyStore, String)?
        if let key = options.idempotencyKey {
            let keys: IdempotencyStore
            do {
                guard let opened = try registry.idempotencyStore(tenant: tenant.name) else {
                    throw APIError(.notFound, "unknown_tenant", "tenant '\(tenant.name)' has no key store")
                }
                keys = opened
            } catch let error as APIError {
                throw error
            } catch {
                logger.error("cannot open the idempotency keys", metadata: ["tenant": "\(tenant.name)", "error": "\(error)", "request_id": "\(requestID)"])
                throw APIError(.serviceUnavailable, "storage", "the idempotency keys cannot be read now; retry later", retryAfter: 5)
            }
            let fingerprint = ndjson.withUnsafeReadableBytes(IdempotencyStore.fingerprint)
            switch keys.claim(key, fingerprint: fingerprint, now: Self.now()) {
            case let .answered(answer):
                guard answer.stream == store.stream else {
                    throw APIError(.unprocessableContent, "idempotency_key", "Idempotency-Key '\(key)' was already used for stream '\(answer.stream)'; use a new key")
                }
                if let first = answer.fingerprint, first != fingerprint {
                    throw APIError(.unprocessableContent, "idempotency_key", "Idempotency-Key '\(key)' was already used with a different body; use a new key for new records")
                }
                return .replayed(records: answer.records)
            case .inProgress:
                throw APIError(.conflict, "idempotency_key", "a request with Idempotency-Key '\(key)' is still in progress; retry once it has finished", retryAfter: 1)
            case .claimed:
                claimed = (keys, key)
            }
        }
        do {
            if let failure = store.failure { throw storageRefusal(store, failure, requestID: requestID) }
            return .accepted(records: try await parseAndCommit(ndjson, admission: admission, key: options.idempotencyKey, requestID: requestID))
        } catch {
            if let (keys, key) = claimed { keys.release(key) }
            throw error
        }
    }

    private func parseAndCommit(_ ndjson: ByteBuffer, admission: Admission, key: String?, requestID: String) async throws -> Int {
        let tenant = admission.tenant
        let store = admission.store
        if let tooLong = ndjson.withUnsafeReadableBytes({ BodyReading.scanLines($0, maxLine: settings.maxLine).tooLong }) {
            throw APIError(.contentTooLarge, "line_size", "line \(tooLong) is longer than \(settings.maxLine) bytes (--max-line)", line: tooLong)
        }
        // Room in the node's buffers before parsing: a request that waits for it holds only its body.
        let reservation: BufferReservation
        do {
            reservation = try await store.reserve(bodyBytes: ndjson.readableBytes)
        } catch {
            throw storeFailure(error, store, requestID: requestID)
        }
        let prepared: PreparedBatch = try ndjson.withUnsafeReadableBytes { raw in
            do throws(RecordError) {
                return try store.prepare(raw, idempotencyKey: key, now: Self.now(), reservation: reservation)
            } catch {
                throw APIError(.badRequest, "invalid", error.message, line: error.line, field: error.field)
            }
        }
        let records = prepared.records
        if records > Int(tenant.burst) {
            store.discard(prepared)
            throw APIError(.contentTooLarge, "burst", "the body holds \(records) records, more than tenant '\(tenant.name)' may send at once (burst \(Int(tenant.burst))); split it")
        }
        if let wait = admission.limits.take(records: records) {
            store.discard(prepared)
            throw APIError(.tooManyRequests, "rate", "tenant '\(tenant.name)' is over its rate of \(Self.rate(tenant)) records/s; retry after \(wait) s", retryAfter: wait)
        }
        do {
            try await store.commit(prepared)
        } catch {
            admission.limits.refund(records: records)
            throw storeFailure(error, store, requestID: requestID)
        }
        return records
    }

    /// The answer for a store that did not take a request's records (no room after the wait,
    /// shutting down, or the log failed); the cause of a failure goes to segd's log.
    private func storeFailure(_ error: Error, _ store: StreamStore, requestID: String) -> APIError {
        switch error {
        case StoreRefusal.buffersFull:
            return APIError(.serviceUnavailable, "buffers_full", "the node's buffers are full while blocks are written; retry shortly", retryAfter: 1)
        case StoreRefusal.closed:
            return APIError(.serviceUnavailable, "draining", "this node is shutting down; retry", retryAfter: 1)
        default:
            logger.error("records could not be made durable", metadata: ["tenant": "\(store.tenant)", "stream": "\(store.stream)", "error": "\(error)", "request_id": "\(requestID)"])
            return APIError(.serviceUnavailable, "storage", "the records could not be made durable; nothing was stored, retry later", retryAfter: 5)
        }
    }

    /// The answer while a stream cannot be written; its cause, with paths, goes to segd's log
    /// under the request id.
    private func storageRefusal(_ store: StreamStore, _ failure: Error, requestID: String) -> APIError {
        logger.error("the stream cannot take records", metadata: ["tenant": "\(store.tenant)", "stream": "\(store.stream)",
                                                                  "error": "\(failure)", "request_id": "\(requestID)"])
        return APIError(.serviceUnavailable, "storage", "the stream cannot be written now; retry later", retryAfter: 5)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    private static func rate(_ tenant: Tenant) -> String {
        let rate = tenant.recordsPerSecond
        return rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }
}
