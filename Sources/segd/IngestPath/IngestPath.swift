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
    /// What invalid records do to the request.
    var invalidRecords = InvalidRecords.refuseRequest
    /// A body that adapts to no records at all is accepted (an empty OTLP export), not refused.
    var acceptsNoRecords = false
}

/// What invalid records do to a request.
enum InvalidRecords: Sendable {
    /// All or nothing: one invalid record refuses the request (400), and nothing is stored.
    case refuseRequest
    /// The valid records are stored and the invalid ones listed (`?invalid=skip`, and protocols
    /// that answer per record: Elasticsearch bulk items, OTLP's partial success, Loki).
    case skip
}

/// What an ingest call did.
enum IngestOutcome: Sendable, Equatable {
    /// The records are durable.
    case accepted(records: Int)
    /// The idempotency key answered before, with the same body: nothing was stored again.
    case replayed(records: Int)
    /// With `InvalidRecords.skip`, some records were invalid: the others are durable.
    case partial(records: Int, rejected: RejectedRecords)

    /// Records this call made durable.
    var storedRecords: Int {
        switch self {
        case let .accepted(records), let .partial(records, _): records
        case .replayed: 0
        }
    }
}

/// One stream's share of a request whose records go to several streams (an Elasticsearch bulk
/// request, HEC events with their indexes): its NDJSON records, as the adapter made them.
struct StreamBatch {
    let stream: String
    let ndjson: ByteBuffer
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
    /// records of the stream's schema (identity for the records route); it is told what the
    /// headers declared (the media type), may charge memory it takes to the admission, and throws
    /// `APIError`s only. What its NDJSON adds to the body is charged to the in-flight bound.
    func ingest(_ request: Request, context: SegdRequestContext, tenant: Tenant, stream: String,
                mediaTypes: BodyReading.MediaTypes = .ndjson, options: IngestOptions,
                adapt: (ByteBuffer, BodyReading.Declared, Admission) throws -> ByteBuffer = { body, _, _ in body }) async throws -> IngestOutcome {
        var admission: Admission?
        do {
            let store = try await authorize(tenant, stream, requestID: context.requestID)
            let (declared, admitted, body) = try await admitAndRead(request, context: context, tenant: tenant, store: store,
                                                                    mediaTypes: mediaTypes, options: options, admission: &admission)
            let ndjson = try adapt(body, declared, admitted)
            try hold(ndjson, beyond: body, admission: admitted)
            let outcome = try await self.store(ndjson, into: store, admission: admitted, options: options, requestID: context.requestID)
            let stored = outcome.storedRecords
            if stored > 0 {
                metrics.accepted(tenant: tenant.name, stream: stream, records: stored, bytes: admitted.bytesRead)
            }
            admitted.finish(written: stored > 0 ? ndjson.readableBytes : 0)
            return outcome
        } catch {
            // Whatever the error, the request gives back what it held.
            admission?.finish(written: 0)
            let reason = (error as? APIError)?.reason ?? "internal"
            metrics.rejected(tenant: tenant.name, reason: reason, requestBytes: admission?.bytesRead ?? 0)
            throw error
        }
    }

    /// Ingests one request whose records go to several streams: it is admitted from its headers
    /// as a whole, its body read once, and `split` turns it into each stream's batch. Each batch
    /// is then authorized and stored on its own (all or nothing, or skipping invalid records, as
    /// `options` says); its outcome or refusal comes back in the order of the batches. What
    /// refuses the whole request (the headers, the body, `split`) is thrown.
    func ingest(_ request: Request, context: SegdRequestContext, tenant: Tenant, mediaTypes: BodyReading.MediaTypes,
                options: IngestOptions, split: (ByteBuffer, BodyReading.Declared, Admission) throws -> [StreamBatch]) async throws -> [Result<IngestOutcome, APIError>] {
        var admission: Admission?
        do {
            let (declared, admitted, body) = try await admitAndRead(request, context: context, tenant: tenant, store: nil,
                                                                    mediaTypes: mediaTypes, options: options, admission: &admission)
            let batches = try split(body, declared, admitted)
            for batch in batches { try hold(batch.ndjson, beyond: nil, admission: admitted) }
            var results: [Result<IngestOutcome, APIError>] = []
            var written = 0
            for batch in batches {
                do {
                    let store = try await authorize(tenant, batch.stream, requestID: context.requestID)
                    let outcome = try await self.store(batch.ndjson, into: store, admission: admitted, options: options, requestID: context.requestID)
                    let stored = outcome.storedRecords
                    if stored > 0 {
                        metrics.accepted(tenant: tenant.name, stream: batch.stream, records: stored, bytes: batch.ndjson.readableBytes)
                        written += batch.ndjson.readableBytes
                    }
                    results.append(.success(outcome))
                } catch let error as APIError {
                    metrics.rejected(tenant: tenant.name, reason: error.reason, requestBytes: batch.ndjson.readableBytes)
                    results.append(.failure(error))
                }
            }
            admitted.finish(written: written)
            return results
        } catch {
            // Whatever the error, the request gives back what it held.
            admission?.finish(written: 0)
            let reason = (error as? APIError)?.reason ?? "internal"
            metrics.rejected(tenant: tenant.name, reason: reason, requestBytes: admission?.bytesRead ?? 0)
            throw error
        }
    }

    /// Steps 1 and 2: the headers checked, the request admitted (`admission` set as soon as it
    /// is, for the caller to finish), `100 Continue` sent when asked for, and the body read.
    private func admitAndRead(_ request: Request, context: SegdRequestContext, tenant: Tenant, store: StreamStore?,
                              mediaTypes: BodyReading.MediaTypes, options: IngestOptions,
                              admission: inout Admission?) async throws -> (BodyReading.Declared, Admission, ByteBuffer) {
        let declared = try BodyReading.inspect(request.headers, mediaTypes: mediaTypes, maxBody: settings.maxBody)
        let admitted = try admit(tenant: tenant, store: store, declaredLength: declared.length,
                                 mayBeReplay: options.idempotencyKey != nil, requestID: context.requestID)
        admission = admitted
        if declared.expectsContinue { context.sendContinue() }
        let body = try await BodyReading.read(request, declared, admission: admitted, maxBody: settings.maxBody)
        return (declared, admitted, body)
    }

    /// Charges an adapter's NDJSON to the in-flight bound: what it adds to the body it came from.
    private func hold(_ ndjson: ByteBuffer, beyond body: ByteBuffer?, admission: Admission) throws {
        let added = ndjson.readableBytes - (body?.readableBytes ?? 0)
        if added > 0 {
            guard admission.hold(added) else { throw admission.overInflightBound() }
        }
    }

    // MARK: 1. Admission

    /// Where records come from, for admission: a request is refused while the node drains; the
    /// records a listener has read (syslog) are stored until storage stops, since its senders have
    /// no answer to retry on.
    enum Source {
        case request
        case listener
    }

    /// Admits a request from its headers alone, or refuses it (503, 507, 429). `store` is the
    /// request's stream, when it is known before the body. A request that may be a replay (it has
    /// an `Idempotency-Key`) is not refused for its stream's storage here: its first answer needs
    /// no storage, so `store` checks that after the key.
    func admit(tenant: Tenant, store: StreamStore?, declaredLength: Int?, mayBeReplay: Bool = false, requestID: String,
               source: Source = .request) throws -> Admission {
        guard !state.isDraining || source == .listener else {
            throw APIError(.serviceUnavailable, "draining", "this node is shutting down; retry (the load balancer sends you to another node)", retryAfter: 1)
        }
        guard let limits = limits[tenant.name] else { throw APIError(.unauthorized, "auth", "unknown tenant") }
        if disk.freeBytes < settings.minFreeBytes {
            throw APIError(.serviceUnavailable, "disk_full", "the node's disk is nearly full; retry later", retryAfter: 30)
        }
        if !mayBeReplay, let store, let failure = store.failure { throw storageRefusal(store, failure, requestID: requestID) }
        if let wait = limits.waitBeforeBody() {
            throw APIError(.tooManyRequests, "rate", "tenant '\(tenant.name)' is over its rate of \(Self.rate(tenant)) records/s; retry after \(wait) s", retryAfter: wait)
        }
        guard limits.enter() else {
            throw APIError(.tooManyRequests, "concurrency", "tenant '\(tenant.name)' has \(tenant.maxConcurrentRequests) requests in progress already; wait for them", retryAfter: 1)
        }
        let admission = Admission(tenant: tenant, limits: limits, inflight: inflight, disk: disk)
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

    /// Stores the NDJSON records `ndjson` of an admitted request in `store`: all or nothing, or
    /// with `InvalidRecords.skip` the valid ones.
    func store(_ ndjson: ByteBuffer, into store: StreamStore, admission: Admission, options: IngestOptions, requestID: String) async throws -> IngestOutcome {
        let tenant = admission.tenant
        if options.acceptsNoRecords && ndjson.readableBytes == 0 { return .accepted(records: 0) }
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
            do {
                return .accepted(records: try await parseAndCommit(ndjson, into: store, admission: admission, key: options.idempotencyKey, requestID: requestID))
            } catch let error as APIError where options.invalidRecords == .skip && error.reason == "invalid" {
                // Per record: the invalid lines are set aside, and the others stored as one batch.
                let (valid, rejected) = ndjson.withUnsafeReadableBytes { RecordScreening.screen($0, schema: store.schema) }
                guard valid.readableBytes > 0 else {
                    if let (keys, key) = claimed { keys.release(key) }
                    return .partial(records: 0, rejected: rejected)
                }
                let records = try await parseAndCommit(valid, into: store, admission: admission, key: options.idempotencyKey, requestID: requestID)
                return .partial(records: records, rejected: rejected)
            }
        } catch {
            if let (keys, key) = claimed { keys.release(key) }
            throw error
        }
    }

    private func parseAndCommit(_ ndjson: ByteBuffer, into store: StreamStore, admission: Admission, key: String?, requestID: String) async throws -> Int {
        let tenant = admission.tenant
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
