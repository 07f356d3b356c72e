import Foundation
import HTTPTypes
import Hummingbird
import Ingest
import Metrics
import NDJSON
import SegmentFormat

/// The HTTP API: `POST /v1/streams/{stream}/records`, `GET /v1/streams/{stream}/tail`,
/// `GET /health`, `GET /metrics`. It authenticates, applies the tenant's limits, reads and
/// checks the body, and hands the batch to the stream's store; it knows nothing of encodings.
struct IngestAPI: Sendable {
    let registry: StreamRegistry
    let tenants: TenantDirectory
    let limits: [String: TenantLimits]
    let disk: DiskUsage
    let state: ServerState
    let settings: ServerSettings
    let metrics: ServerMetrics

    init(registry: StreamRegistry, tenants: TenantDirectory, disk: DiskUsage, state: ServerState, settings: ServerSettings, metrics: ServerMetrics) {
        self.registry = registry
        self.tenants = tenants
        self.limits = tenants.tenants.mapValues(TenantLimits.init)
        self.disk = disk
        self.state = state
        self.settings = settings
        self.metrics = metrics
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.add(middleware: JSONErrorMiddleware())
        router.post("/v1/streams/:stream/records") { request, context in
            await timed("records") { try await postRecords(request, context) }
        }
        router.get("/v1/streams/:stream/tail") { request, context in
            await timed("tail") { try await tail(request, context) }
        }
        router.get("/health") { _, _ in
            state.isDraining
                ? Response.json(.serviceUnavailable, #"{"status":"draining"}"#)
                : Response.json(.ok, #"{"status":"accepting"}"#)
        }
        router.get("/metrics") { _, _ in
            metrics.updateGauges(registry: registry)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
    }

    /// Runs a handler, turning an `APIError` into its answer and timing the request.
    private func timed(_ route: String, _ body: () async throws -> Response) async -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let response: Response
        do {
            response = try await body()
        } catch let error as APIError {
            response = error.response
        } catch {
            response = APIError(.internalServerError, "internal", "internal error: \(error)").response
        }
        metrics.requestDuration(route: route, status: response.status.code, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        return response
    }

    // MARK: Records

    private func postRecords(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard !state.isDraining else {
            throw APIError(.serviceUnavailable, "draining", "this node is shutting down; retry (the load balancer sends you to another node)", retryAfter: 1)
        }
        let tenant = try authenticate(request)
        let streamName = context.parameters.get("stream") ?? ""
        do {
            return try await ingest(request, tenant: tenant, streamName: streamName)
        } catch let error as APIError {
            metrics.rejected(tenant: tenant.name, reason: error.reason, requestBytes: request.headers[.contentLength].flatMap { Int($0) } ?? 0)
            throw error
        }
    }

    private func ingest(_ request: Request, tenant: Tenant, streamName: String) async throws -> Response {
        let store = try await authorize(tenant, streamName)
        guard let limits = limits[tenant.name] else { throw APIError(.unauthorized, "auth", "unknown tenant") }

        // Idempotency: a key seen before gets the first answer; nothing is read or stored.
        let key = request.headers[.idempotencyKey]
        var claimed: (IdempotencyStore, String)?
        if let key {
            guard IdempotencyStore.isValid(key: key) else {
                throw APIError(.badRequest, "idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces")
            }
            guard let keys = try registry.idempotencyStore(tenant: tenant.name) else { throw APIError(.internalServerError, "internal", "no key store") }
            switch keys.claim(key, now: Self.now()) {
            case let .answered(answer):
                guard answer.stream == streamName else {
                    throw APIError(.unprocessableContent, "idempotency_key", "Idempotency-Key '\(key)' was already used for stream '\(answer.stream)'; use a new key")
                }
                return .json(.ok, #"{"accepted":\#(answer.records)}"#, headers: [.idempotentReplayed: "true"])
            case .inProgress:
                throw APIError(.conflict, "idempotency_key", "a request with Idempotency-Key '\(key)' is still in progress; retry once it has finished", retryAfter: 1)
            case .claimed:
                claimed = (keys, key)
            }
        }
        do {
            let accepted = try await admitAndStore(request, tenant: tenant, limits: limits, store: store, key: key)
            return .json(.ok, #"{"accepted":\#(accepted)}"#)
        } catch {
            if let (keys, key) = claimed { keys.release(key) }
            throw error
        }
    }

    private func admitAndStore(_ request: Request, tenant: Tenant, limits: TenantLimits, store: StreamStore, key: String?) async throws -> Int {
        if disk.freeBytes < settings.minFreeBytes {
            throw APIError(.serviceUnavailable, "disk_full", "the node's disk is nearly full (\(disk.freeBytes) bytes free); retry later", retryAfter: 30)
        }
        if let quota = tenant.diskQuota, disk.bytes(tenant: tenant.name) >= quota {
            throw APIError(.init(code: 507, reasonPhrase: "Insufficient Storage"), "quota", "tenant '\(tenant.name)' has used its disk quota of \(quota) bytes; records are accepted again once archived segments are shipped")
        }
        if store.failure != nil {
            // The cause (with its paths) is in segd's log, not in the answer.
            throw APIError(.serviceUnavailable, "storage", "the stream cannot be written now; retry later", retryAfter: 5)
        }
        guard limits.enter() else {
            throw APIError(.tooManyRequests, "concurrency", "tenant '\(tenant.name)' has \(tenant.maxConcurrentRequests) requests in progress already; wait for them", retryAfter: 1)
        }
        defer { limits.leave() }

        let body = try await BodyReading.read(request, maxBody: settings.maxBody)
        try body.withUnsafeReadableBytes { raw in
            let (lines, tooLong) = BodyReading.scanLines(raw, maxLine: settings.maxLine)
            if let tooLong {
                throw APIError(.contentTooLarge, "line_size", "line \(tooLong) is longer than \(settings.maxLine) bytes (--max-line)", line: tooLong)
            }
            if lines > Int(tenant.burst) {
                throw APIError(.contentTooLarge, "burst", "the body holds \(lines) lines, more than tenant '\(tenant.name)' may send at once (burst \(Int(tenant.burst))); split it")
            }
            if let wait = limits.take(records: lines) {
                throw APIError(.tooManyRequests, "rate", "tenant '\(tenant.name)' is over its rate of \(Int(tenant.recordsPerSecond)) records/s; retry after \(wait) s", retryAfter: wait)
            }
        }
        // Room in the node's buffers before parsing: a request that waits for it holds only its body.
        let reservation: BufferReservation
        do {
            reservation = try await store.reserve(bodyBytes: body.readableBytes)
        } catch {
            throw Self.storeError(error)
        }
        let now = Self.now()
        let prepared: PreparedBatch = try body.withUnsafeReadableBytes { raw in
            do throws(RecordError) {
                return try store.prepare(raw, idempotencyKey: key, now: now, reservation: reservation)
            } catch {
                throw APIError(.badRequest, "invalid", error.message, line: error.line, field: error.field)
            }
        }
        do {
            try await store.commit(prepared)
        } catch {
            throw Self.storeError(error)
        }
        metrics.accepted(tenant: tenant.name, stream: store.stream, records: prepared.records, bytes: body.readableBytes)
        return prepared.records
    }

    /// The answer for a store that did not take a request's records.
    private static func storeError(_ error: Error) -> APIError {
        switch error {
        case StoreRefusal.buffersFull:
            APIError(.serviceUnavailable, "buffers_full", "the node's buffers are full while blocks are written; retry shortly", retryAfter: 1)
        case StoreRefusal.closed:
            APIError(.serviceUnavailable, "draining", "this node is shutting down; retry", retryAfter: 1)
        default:
            APIError(.serviceUnavailable, "storage", "the records could not be made durable; nothing was stored, retry later", retryAfter: 5)
        }
    }

    // MARK: Tail

    private func tail(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let tenant = try authenticate(request)
        let store = try await authorize(tenant, context.parameters.get("stream") ?? "")
        let n = request.uri.queryParameters.get("n").map { Int($0) } ?? 100
        guard let n, (1...store.options.tailCapacity).contains(n) else {
            throw APIError(.badRequest, "tail", "n must be a whole number from 1 to \(store.options.tailCapacity)")
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"],
                        body: .init(byteBuffer: ByteBuffer(bytes: store.tail.last(n))))
    }

    // MARK: Auth

    private func authenticate(_ request: Request) throws -> Tenant {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "auth", "missing Authorization header: send 'Authorization: Bearer <token>'")
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer ", let tenant = tenants.tenant(token: header.dropFirst(7)) else {
            throw APIError(.unauthorized, "auth", "unknown token: check the Bearer token your tenant was given")
        }
        return tenant
    }

    /// The tenant's store of the stream: 403 if the tenant may not use it, 404 if it has no schema.
    private func authorize(_ tenant: Tenant, _ stream: String) async throws -> StreamStore {
        guard tenant.allows(stream: stream) else {
            throw APIError(.forbidden, "forbidden", "tenant '\(tenant.name)' may not use stream '\(stream)'")
        }
        guard registry.schemas[stream] != nil else {
            throw APIError(.notFound, "unknown_stream", "no stream '\(stream)': known streams are \(registry.schemas.keys.sorted().joined(separator: ", "))")
        }
        if let store = registry.openedStore(tenant: tenant.name, stream: stream) { return store }
        // First use: recovery runs on the stream's own executor, not on this task's thread.
        let opened: StreamStore?
        do {
            opened = try await registry.store(tenant: tenant.name, stream: stream)
        } catch {
            throw APIError(.serviceUnavailable, "storage", "the stream cannot be opened (\(error)); retry later", retryAfter: 5)
        }
        guard let store = opened else {
            throw APIError(.notFound, "unknown_stream", "no stream '\(stream)'")
        }
        return store
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }
}

/// Whether the server is draining (SIGTERM received): health answers 503 and new requests too.
final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private var draining = false
    private var drainInstant: ContinuousClock.Instant?

    var isDraining: Bool {
        lock.lock()
        defer { lock.unlock() }
        return draining
    }

    /// When draining began (the shutdown timeout runs from there).
    var drainStarted: ContinuousClock.Instant? {
        lock.lock()
        defer { lock.unlock() }
        return drainInstant
    }

    func startDraining() {
        lock.lock()
        draining = true
        drainInstant = drainInstant ?? .now
        lock.unlock()
    }
}

extension HTTPField.Name {
    // Both are valid header names, so the initializer cannot fail.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}
