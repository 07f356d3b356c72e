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
        var ids = GeneratedIDs()
        for (item, outcome) in zip(request.items, outcomes) {
            out.beginObject()
            out.key(item.action.rawValue)
            out.beginObject()
            out.key("_index")
            if let index = item.index { out.text(index) } else { out.null() }
            out.key("_id")
            if let id = item.id { out.text(id) } else { out.text(ids.next()) }
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

    /// Ids for the items that came without one: 20 characters of URL-safe base64, like
    /// Elasticsearch's auto-generated ones. The first 12 are random for the request (72 bits, drawn
    /// once: drawing per item cost a `getrandom` system call per character, half of a bulk
    /// request's time), the last 8 count its items.
    struct GeneratedIDs {
        private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        private var characters = [UInt8](repeating: 0, count: 20)
        private var counter: UInt64 = 0

        init() {
            var generator = SystemRandomNumberGenerator()
            let high = generator.next(), low = generator.next()
            for k in 0..<12 {
                let bits = k < 10 ? high >> (6 * UInt64(k)) : low >> (6 * UInt64(k - 10))
                characters[k] = Self.alphabet[Int(bits & 63)]
            }
        }

        /// The next item's id.
        mutating func next() -> String {
            for k in 0..<8 { characters[12 + k] = Self.alphabet[Int((counter >> (6 * UInt64(7 - k))) & 63)] }
            counter += 1
            return String(decoding: characters, as: UTF8.self)
        }
    }
}
