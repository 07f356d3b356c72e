import Foundation
import HTTPTypes
import Hummingbird
import NDJSON
import NIOCore

/// The Elasticsearch API that log shippers use: `POST`/`PUT` `/_bulk` and `/{index}/_bulk`, and
/// what clients ask before they send (`GET /`, `HEAD /`, `GET /_license`). Each bulk item's
/// `_index` names its stream; documents are stored per stream with invalid ones refused item by
/// item, and the answer has Elasticsearch's shape, per-item statuses and the
/// `X-Elastic-Product: Elasticsearch` header clients check. Being over a limit is Elasticsearch's
/// 429: before the body is read, the whole request is answered 429 (or 503) with `Retry-After`;
/// once it is read, every refused item is 429, and when all are, the answer's status is 429 too,
/// its body both the items and Elasticsearch's error fields. So clients that resend requests
/// (Beats, Logstash, syslog-ng, elasticsearch-py) and those that resend items (rsyslog's
/// `retryfailures`, elasticsearch-py's bulk helpers) both resend exactly what was not stored.
struct ElasticsearchRoutes: Sendable {
    let routes: ProtocolRoutes

    static let mediaTypes = BodyReading.MediaTypes(
        accepted: ["application/json", "application/x-ndjson", "application/vnd.elasticsearch+x-ndjson", "application/vnd.elasticsearch+json"],
        hint: "send a bulk request as application/x-ndjson")

    /// The version clients are told: an 8.x, which every current client and shipper accepts.
    static let version = "8.17.0"

    func add(to router: Router<SegdRequestContext>) {
        router.get("/") { _, context in Self.product(Self.info(context)) }
        router.head("/") { _, _ in Self.product(Response(status: .ok, headers: [.contentType: "application/json"])) }
        router.get("/_license") { _, _ in Self.product(.json(.ok, Self.license)) }
        for path in ["/_bulk", "/:index/_bulk"] {
            router.post(.init(path)) { request, context in await answerBulk(request, context) }
            router.put(.init(path)) { request, context in await answerBulk(request, context) }
        }
    }

    private func answerBulk(_ request: Request, _ context: SegdRequestContext) async -> Response {
        Self.product(await routes.answer("elasticsearch", context, render: { Self.error(Self.overload($0)) }) { try await bulk(request, context) })
    }

    private func bulk(_ request: Request, _ context: SegdRequestContext) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let tenant = try routes.authentication.tenant(of: request)
        let defaultIndex = context.parameters.get("index")
        let schemas = routes.path.registry.schemas
        var parsed: BulkRequest?
        var outcomes: [BulkResponse.Outcome?] = []
        var batchItems: [[Int]] = []
        var options = IngestOptions()
        options.invalidRecords = .skip
        let results = try await routes.path.ingest(request, context: context, tenant: tenant, mediaTypes: Self.mediaTypes, options: options) { body, _, _ in
            let bulk: BulkRequest
            do {
                bulk = try body.withUnsafeReadableBytes { raw throws(BulkRequest.Malformed) in try BulkRequest(raw, defaultIndex: defaultIndex) }
            } catch let error as BulkRequest.Malformed {
                throw APIError(.badRequest, "invalid", error.reason)
            }
            parsed = bulk
            outcomes = Array(repeating: nil, count: bulk.items.count)
            var documents: [String: BulkDocuments] = [:]
            var order: [String] = []
            let now = IngestPath.now()
            body.withUnsafeReadableBytes { raw in
                for (k, item) in bulk.items.enumerated() {
                    guard item.action == .index || item.action == .create else {
                        outcomes[k] = .failed(status: 400, type: "illegal_argument_exception",
                                              reason: "segd stores logs: the \(item.action.rawValue) action is not supported (only index and create)")
                        continue
                    }
                    guard let index = item.index, let range = item.document else {
                        outcomes[k] = .failed(status: 400, type: "action_request_validation_exception", reason: "Validation Failed: 1: index is missing;")
                        continue
                    }
                    if documents[index] == nil {
                        documents[index] = BulkDocuments()
                        order.append(index)
                    }
                    let field = schemas[index]?.timestampColumn.flatMap { schemas[index]?.columns[$0].nameBytes }
                    documents[index]?.append(item: k, document: UnsafeRawBufferPointer(rebasing: raw[range]), timestampField: field, now: now)
                }
            }
            batchItems = order.map { documents[$0]?.items ?? [] }
            return order.map { StreamBatch(stream: $0, ndjson: ByteBuffer(bytes: documents[$0]?.records.bytes() ?? [])) }
        }
        guard let bulk = parsed else { throw APIError(.internalServerError, "internal", "the bulk request was not read") }
        // Every batch refused for a limit, and no item refused on its own: the request is too.
        let failures = results.compactMap { if case let .failure(error) = $0 { error } else { nil } }
        var refusal: APIError?
        if !failures.isEmpty, failures.count == results.count, outcomes.allSatisfy({ $0 == nil }),
           let limit = failures.first(where: { [429, 503].contains($0.status.code) }) {
            refusal = Self.overload(limit)
        }
        for (items, result) in zip(batchItems, results) {
            switch result {
            case .success(.accepted), .success(.replayed):
                for k in items { outcomes[k] = .created }
            case let .success(.partial(_, rejected)):
                let refused = Set(rejected.lines)
                var reasons: [Int: RecordError] = [:]
                for error in rejected.listed where reasons[error.line] == nil { reasons[error.line] = error }
                for (line, k) in zip(1..., items) {
                    guard refused.contains(line) else {
                        outcomes[k] = .created
                        continue
                    }
                    let reason = reasons[line].map { e in e.field.map { "field [\($0)]: \(e.message)" } ?? e.message } ?? "the document does not fit the stream's schema"
                    outcomes[k] = .failed(status: 400, type: "document_parsing_exception", reason: reason)
                }
            case let .failure(error):
                let (status, type) = Self.itemError(error)
                for k in items { outcomes[k] = .failed(status: status, type: type, reason: error.message) }
            }
        }
        let took = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        let body = BulkResponse.render(bulk, outcomes: outcomes.map { $0 ?? .created }, tookMilliseconds: took, refusal: refusal)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = refusal?.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: refusal?.status ?? .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Elasticsearch says 429 for every kind of overload (indexing pressure, full queues): segd's
    /// 503s for memory and buffers are that here; a node shutting down or a full disk stay 503.
    private static func overload(_ error: APIError) -> APIError {
        guard error.status.code == 503, ["inflight_bytes", "buffers_full"].contains(error.reason) else { return error }
        return APIError(.tooManyRequests, error.reason, error.message, retryAfter: error.retryAfter ?? 1)
    }

    /// An item's status and error type for a refusal of its stream's batch: being over a limit
    /// is 429 (`es_rejected_execution_exception`), which bulk clients resend.
    private static func itemError(_ error: APIError) -> (Int, String) {
        switch error.status.code {
        case 404: (404, "index_not_found_exception")
        case 403: (403, "security_exception")
        case 429, 503: (429, "es_rejected_execution_exception")
        case 413: (413, "illegal_argument_exception")
        case 507: (507, "cluster_block_exception")
        default: (error.status.code, "illegal_argument_exception")
        }
    }

    /// Elasticsearch's error body: `{"error": {"root_cause": [...], "type", "reason"}, "status"}`.
    static func error(_ error: APIError) -> Response {
        let out = NDJSONRecords()
        out.beginObject()
        out.key("error")
        writeError(error, to: out)
        out.key("status")
        out.integer(Int64(error.status.code))
        out.endObject()
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.status.code == 401 { headers[.wwwAuthenticate] = "Basic realm=\"segd\", ApiKey, Bearer" }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: out.bytes())))
    }

    /// Elasticsearch's `error` object: `{"root_cause": [{"type", "reason"}], "type", "reason"}`.
    static func writeError(_ error: APIError, to out: NDJSONRecords) {
        let type: String
        switch error.status.code {
        case 401, 403: type = "security_exception"
        case 429, 503: type = "es_rejected_execution_exception"
        case 404: type = "index_not_found_exception"
        default: type = "illegal_argument_exception"
        }
        out.beginObject()
        out.key("root_cause")
        out.beginArray()
        out.beginObject()
        out.key("type")
        out.text(type)
        out.key("reason")
        out.text(error.message)
        out.endObject()
        out.endArray()
        out.key("type")
        out.text(type)
        out.key("reason")
        out.text(error.message)
        out.endObject()
    }

    private static func product(_ response: Response) -> Response {
        var response = response
        response.headers[.elasticProduct] = "Elasticsearch"
        return response
    }

    private static func info(_ context: SegdRequestContext) -> Response {
        .json(.ok, """
        {"name":"segd","cluster_name":"segd","cluster_uuid":"segd","version":{"number":"\(version)","build_flavor":"default",\
        "build_type":"docker","build_hash":"segd","build_date":"2024-12-11T12:08:05.663969764Z","build_snapshot":false,\
        "lucene_version":"9.12.0","minimum_wire_compatibility_version":"7.17.0","minimum_index_compatibility_version":"7.0.0"},\
        "tagline":"You Know, for Search"}
        """)
    }

    private static let license = #"{"license":{"status":"active","uid":"segd","type":"basic","issue_date_in_millis":0,"max_nodes":1000,"issued_to":"segd","issuer":"segd","start_date_in_millis":-1}}"#
}
