import Foundation
import Hummingbird
import NDJSON
import NIOCore
import RequestParsing

/// Splunk HTTP Event Collector: `POST /services/collector`, `/services/collector/event` (event
/// objects one after another) and `/services/collector/raw` (lines of text), with
/// `Authorization: Splunk <token>`, and `GET /services/collector/health`. An event's `index`
/// (or the request's `?index=`) names its stream, else the built-in `hec`. Answers as HEC does:
/// `{"text":"Success","code":0}`, and HEC's codes on refusals; being over a limit is HEC's
/// "Server is busy" (503, code 9, with `Retry-After`), which HEC clients resend.
struct HECRoutes: Sendable {
    let routes: ProtocolRoutes

    /// HEC clients send events with any content type, or none.
    static let mediaTypes = BodyReading.MediaTypes(accepted: ["application/json", "text/plain", "application/x-www-form-urlencoded"],
                                                   hint: "send HEC events as application/json", allowsMissing: true)

    func add(to router: Router<SegdRequestContext>) {
        for path in ["/services/collector", "/services/collector/event", "/services/collector/event/1.0"] {
            router.post(.init(path)) { request, context in
                await routes.answer("hec", context, render: Self.refusal) { try await collectAnswering(request, context, raw: false) }
            }
        }
        for path in ["/services/collector/raw", "/services/collector/raw/1.0"] {
            router.post(.init(path)) { request, context in
                await routes.answer("hec", context, render: Self.refusal) { try await collectAnswering(request, context, raw: true) }
            }
        }
        for path in ["/services/collector/health", "/services/collector/health/1.0"] {
            router.get(.init(path)) { _, _ in Self.answer(.healthy) }
        }
    }

    private func collectAnswering(_ request: Request, _ context: SegdRequestContext, raw: Bool) async throws -> Response {
        do {
            return try await collect(request, context, raw: raw)
        } catch let error as HECError {
            return Self.render(error)
        }
    }

    private func collect(_ request: Request, _ context: SegdRequestContext, raw: Bool) async throws -> Response {
        guard request.headers[.authorization] != nil else { throw HECError(.tokenRequired) }
        let tenant: Tenant
        do {
            tenant = try routes.authentication.tenant(of: request)
        } catch {
            throw HECError(.invalidToken)
        }
        let defaults = try Self.defaults(request)
        var batches: [HECEvents.Batch] = []
        var failure: HECError?
        let results: [Result<IngestOutcome, APIError>]
        do {
            results = try await routes.path.ingest(request, context: context, tenant: tenant, mediaTypes: Self.mediaTypes, options: IngestOptions()) { body, _, _ in
                do throws(HECError) {
                    batches = try body.withUnsafeReadableBytes { bytes throws(HECError) in
                        raw ? try HECEvents.transcodeRaw(bytes, defaults: defaults, receivedAt: IngestPath.now())
                            : try HECEvents.transcodeEvents(bytes, defaults: defaults, receivedAt: IngestPath.now())
                    }
                } catch {
                    failure = error
                    throw APIError(.badRequest, "invalid", error.description)
                }
                // An index that is not a stream of the tenant refuses the request before anything
                // is stored: HEC answers a request, not its events one by one.
                for batch in batches {
                    let stream = batch.index ?? defaults.index ?? "hec"
                    guard routes.path.registry.schemas[stream] != nil, tenant.allows(stream: stream) else {
                        var refusal = HECError(.incorrectIndex, detail: "no stream '\(stream.prefix(64))' for this token")
                        refusal.invalidEventNumber = batch.firstEvent
                        failure = refusal
                        throw APIError(.badRequest, "unknown_stream", refusal.description)
                    }
                }
                return batches.map { StreamBatch(stream: $0.index ?? defaults.index ?? "hec", ndjson: ByteBuffer(bytes: $0.records.bytes())) }
            }
        } catch let error as APIError {
            throw failure ?? HECError(error)
        }
        for (batch, result) in zip(batches, results) {
            if case let .failure(error) = result {
                var refusal = HECError(error)
                switch error.status.code {
                case 403, 404:
                    refusal = HECError(.incorrectIndex, detail: error.message)
                    refusal.invalidEventNumber = batch.firstEvent
                case 400:
                    refusal.invalidEventNumber = error.line.flatMap { batch.events.indices.contains($0 - 1) ? batch.events[$0 - 1] : nil }
                default:
                    break
                }
                throw refusal
            }
        }
        return Self.answer(.success)
    }

    /// `?host=`, `?source=`, `?sourcetype=`, `?index=` and (raw) `?time=`.
    private static func defaults(_ request: Request) throws -> HECEvents.Defaults {
        let query: QueryParameters
        do {
            query = try QueryParameters(parsing: request.uri.query ?? "")
        } catch {
            throw HECError(.invalidDataFormat, detail: "the query string is malformed (\(error))")
        }
        // Events without an index go to ?index=, else to the built-in stream.
        var defaults = HECEvents.Defaults(host: query.first("host"), source: query.first("source"),
                                          sourcetype: query.first("sourcetype"), index: query.first("index") ?? "hec")
        if let time = query.first("time") {
            var text = time
            let ns = text.withUTF8 { b in b.baseAddress.flatMap { EpochTimestamp.nanoseconds($0, count: b.count, unit: .seconds) } }
            guard let ns else { throw HECError(.invalidDataFormat, detail: "?time= must be seconds since the epoch") }
            defaults.time = ns
        }
        return defaults
    }

    static func answer(_ code: HECError.Code) -> Response {
        .json(.init(code: code.status), #"{"text":"\#(code.text)","code":\#(code.rawValue)}"#)
    }

    static func refusal(_ error: APIError) -> Response {
        render(HECError(error))
    }

    /// `{"text": ..., "code": N, "invalid-event-number": M}`, segd's detail after HEC's text.
    static func render(_ error: HECError) -> Response {
        let out = NDJSONRecords()
        out.beginObject()
        out.key("text")
        out.text(error.detail.map { "\(error.code.text): \($0)" } ?? error.code.text)
        out.key("code")
        out.integer(Int64(error.code.rawValue))
        if let number = error.invalidEventNumber {
            out.key("invalid-event-number")
            out.integer(Int64(number))
        }
        out.endObject()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: out.bytes())))
    }
}

extension HECError {
    /// A refusal of the ingest path in HEC's terms: being over a limit (429, 503) is "Server is
    /// busy" with HEC's 503, which its clients resend; the rest keep their status.
    init(_ error: APIError) {
        switch error.status.code {
        case 401: self.init(.invalidAuthorization, detail: error.message)
        case 403, 404: self.init(.incorrectIndex, detail: error.message)
        case 429, 503: self.init(.serverBusy, detail: error.message, retryAfter: error.retryAfter ?? 1)
        case 400: self.init(.invalidDataFormat, detail: error.message)
        default: self.init(.invalidDataFormat, detail: error.message, status: error.status.code)
        }
    }
}
