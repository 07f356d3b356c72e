import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The routes of the protocols segd speaks besides its own records route: Elasticsearch bulk,
/// OTLP logs, Loki push and Splunk HEC. Each protocol is an adapter: it authenticates with the
/// same tokens, turns its wire format into NDJSON records for a stream, takes the one
/// `IngestPath` (limits, parse and schema check, write-ahead log, answer once durable), and
/// answers in its own shape and status.
struct ProtocolRoutes: Sendable {
    let path: IngestPath
    let authentication: Authentication
    let metrics: ServerMetrics
    let logger: Logger

    func add(to router: Router<SegdRequestContext>) {
        ElasticsearchRoutes(routes: self).add(to: router)
        OTLPRoute(routes: self).add(to: router)
        LokiRoute(routes: self).add(to: router)
        HECRoutes(routes: self).add(to: router)
    }

    /// Runs a protocol's handler, timing it; an error becomes the protocol's own answer through
    /// `render` (an internal error is logged under the request id, never shown).
    func answer(_ route: String, _ context: SegdRequestContext, render: (APIError) -> Response,
                _ body: () async throws -> Response) async -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        var response: Response
        do {
            response = try await body()
        } catch let error as APIError {
            response = render(error)
            if let retryAfter = error.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        } catch {
            logger.error("internal error", metadata: ["route": "\(route)", "error": "\(error)", "request_id": "\(context.requestID)"])
            response = render(APIError(.internalServerError, "internal", "internal error; the server log has its details under request id \(context.requestID)"))
        }
        response.headers[.requestID] = context.requestID
        metrics.requestDuration(route: route, status: response.status.code, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        return response
    }

    /// The stream named by `X-Segd-Stream`, else `builtIn`.
    static func stream(_ request: Request, default builtIn: String) -> String {
        request.headers[.segdStream] ?? builtIn
    }
}

extension HTTPField.Name {
    // Valid header names, so the initializer cannot fail.
    static let segdStream = HTTPField.Name("X-Segd-Stream")!
    static let elasticProduct = HTTPField.Name("X-Elastic-Product")!
}
