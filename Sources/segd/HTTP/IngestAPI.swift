import Foundation
import HTTPTypes
import Hummingbird
import Ingest
import Logging
import NIOCore
import RequestParsing
import SegmentFormat

/// segd's HTTP routes: records (through the one `IngestPath`), tail, health and metrics. Every
/// error answer is JSON with the request's id; internal errors are logged under that id and
/// never shown to the client.
struct IngestAPI: Sendable {
    let path: IngestPath
    let authentication: Authentication
    let registry: StreamRegistry
    let state: ServerState
    let metrics: ServerMetrics
    let metricsToken: String?
    let logger: Logger

    func addRoutes(to router: Router<SegdRequestContext>) {
        router.add(middleware: JSONErrorMiddleware())
        router.post("/v1/streams/:stream/records") { request, context in
            await answer("records", context) { try await postRecords(request, context) }
        }
        router.get("/v1/streams/:stream/tail") { request, context in
            await answer("tail", context) { try await tail(request, context) }
        }
        router.get("/health") { _, _ in health() }
        router.head("/health") { _, _ in health() }
        router.get("/metrics") { request, context in
            await answer("metrics", context) { try scrape(request, context) }
        }
    }

    /// Runs a handler, turning an error into its JSON answer and timing the request.
    private func answer(_ route: String, _ context: SegdRequestContext, _ body: () async throws -> Response) async -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let response: Response
        do {
            response = try await body()
        } catch let error as APIError {
            response = error.response(requestID: context.requestID)
        } catch {
            logger.error("internal error", metadata: ["route": "\(route)", "error": "\(error)", "request_id": "\(context.requestID)"])
            response = APIError(.internalServerError, "internal", "internal error; the server log has its details under this request id").response(requestID: context.requestID)
        }
        metrics.requestDuration(route: route, status: response.status.code, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        return response
    }

    private func health() -> Response {
        state.isDraining
            ? Response.json(.serviceUnavailable, #"{"status":"draining"}"#)
            : Response.json(.ok, #"{"status":"accepting"}"#)
    }

    // MARK: Records

    private func postRecords(_ request: Request, _ context: SegdRequestContext) async throws -> Response {
        let tenant = try authentication.tenant(of: request)
        var options = IngestOptions()
        if let value = request.headers[.idempotencyKey] {
            guard let key = RequestHeaders.idempotencyKey(value) else {
                throw APIError(.badRequest, "idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces")
            }
            options.idempotencyKey = key
        }
        let stream = context.parameters.get("stream") ?? ""
        switch try await path.ingest(request, context: context, tenant: tenant, stream: stream, options: options) {
        case let .accepted(records):
            return .json(.ok, #"{"accepted":\#(records)}"#)
        case let .replayed(records):
            return .json(.ok, #"{"accepted":\#(records)}"#, headers: [.idempotentReplayed: "true"])
        }
    }

    // MARK: Tail

    private func tail(_ request: Request, _ context: SegdRequestContext) async throws -> Response {
        let tenant = try authentication.tenant(of: request)
        let store = try await path.authorize(tenant, context.parameters.get("stream") ?? "", requestID: context.requestID)
        let capacity = store.options.tailCapacity
        let query: QueryParameters
        do {
            query = try QueryParameters(parsing: request.uri.query ?? "")
        } catch {
            throw APIError(.badRequest, "query", "the query string is malformed (\(error)); use ?n=N")
        }
        let n = try query.first("n").map { text in
            guard let n = QueryParameters.integer(text, in: 1...capacity) else {
                throw APIError(.badRequest, "tail", "n must be a whole number from 1 to \(capacity)")
            }
            return n
        } ?? 100
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"],
                        body: .init(byteBuffer: ByteBuffer(bytes: store.tail.last(min(n, capacity)))))
    }

    // MARK: Metrics

    /// Prometheus text. With `--metrics-token`, only for `Authorization: Bearer <that token>`;
    /// without one, only for clients on this host (the public listener must not show tenants).
    private func scrape(_ request: Request, _ context: SegdRequestContext) throws -> Response {
        if let metricsToken {
            let token = request.headers[.authorization].flatMap(RequestHeaders.bearerToken)
            guard let token, Self.constantTimeEqual(Array(token.utf8), Array(metricsToken.utf8)) else {
                throw APIError(.unauthorized, "auth", "/metrics needs 'Authorization: Bearer <the metrics token>' (--metrics-token)")
            }
        } else if !context.peerIsLoopback {
            throw APIError(.forbidden, "forbidden", "/metrics answers only clients on this host unless --metrics-token is set")
        }
        metrics.updateGauges(registry: registry)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Whether the server is draining (SIGTERM received): health answers 503 and new requests too.
final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private var draining = false
    private var drainInstant: ContinuousClock.Instant?

    var isDraining: Bool {
        lock.withLock { draining }
    }

    /// When draining began (the shutdown timeout runs from there).
    var drainStarted: ContinuousClock.Instant? {
        lock.withLock { drainInstant }
    }

    func startDraining() {
        lock.withLock {
            draining = true
            drainInstant = drainInstant ?? .now
        }
    }
}
