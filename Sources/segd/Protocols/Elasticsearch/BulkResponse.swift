import NDJSON

/// The answer to a bulk request, in Elasticsearch's shape: `{"took": ms, "errors": bool, "items":
/// [{"<action>": {"_index", "_id", "status", "result" or "error"}}]}`, one item per operation in
/// request order. Clients resend the items whose status is 429 (elasticsearch-py's
/// `helpers.bulk`), so a 429 item is never stored.
struct BulkResponse {
    /// What became of one item.
    enum Outcome {
        case created
        case failed(status: Int, type: String, reason: String)
    }

    /// The answer; with `refusal`, the request as a whole was refused (429 or 503), and the body
    /// also carries Elasticsearch's error fields (`error`, `status`) for clients that read those.
    static func render(_ request: BulkRequest, outcomes: [Outcome], tookMilliseconds: Int, refusal: APIError? = nil) -> [UInt8] {
        let out = NDJSONRecords()
        out.beginObject()
        out.key("took")
        out.integer(Int64(tookMilliseconds))
        out.key("errors")
        out.bool(outcomes.contains { if case .failed = $0 { true } else { false } })
        out.key("items")
        out.beginArray()
        for (item, outcome) in zip(request.items, outcomes) {
            out.beginObject()
            out.key(item.action.rawValue)
            out.beginObject()
            out.key("_index")
            if let index = item.index { out.text(index) } else { out.null() }
            out.key("_id")
            out.text(item.id ?? generatedID())
            switch outcome {
            case .created:
                out.key("_version")
                out.integer(1)
                out.key("result")
                out.text("created")
                out.key("_shards")
                out.beginObject()
                out.key("total")
                out.integer(1)
                out.key("successful")
                out.integer(1)
                out.key("failed")
                out.integer(0)
                out.endObject()
                out.key("_seq_no")
                out.integer(0)
                out.key("_primary_term")
                out.integer(1)
                out.key("status")
                out.integer(201)
            case let .failed(status, type, reason):
                out.key("status")
                out.integer(Int64(status))
                out.key("error")
                out.beginObject()
                out.key("type")
                out.text(type)
                out.key("reason")
                out.text(reason)
                out.endObject()
            }
            out.endObject()
            out.endObject()
        }
        out.endArray()
        if let refusal {
            out.key("error")
            ElasticsearchRoutes.writeError(refusal, to: out)
            out.key("status")
            out.integer(Int64(refusal.status.code))
        }
        out.endObject()
        return out.bytes()
    }

    /// A 20-character id like Elasticsearch's auto-generated ones (URL-safe base64, random).
    static func generatedID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<20).map { _ in alphabet[Int(generator.next() & 63)] }, as: UTF8.self)
    }
}
