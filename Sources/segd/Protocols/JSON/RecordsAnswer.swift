import Hummingbird
import NDJSON
import RequestParsing

/// The records route's dialect for invalid records: `?invalid=skip` stores the valid records
/// and answers `200 {"accepted": N, "rejected": [{"line", "field", "error"}], "rejected_count": M}`
/// (at most `RejectedRecords.listedLimit` listed); without it, all or nothing.
enum RecordsAnswer {
    /// What `?invalid=` asks for (`skip`, or `refuse`, the default); 400 for anything else.
    static func invalidRecords(_ request: Request) throws -> InvalidRecords {
        let query: QueryParameters
        do {
            query = try QueryParameters(parsing: request.uri.query ?? "")
        } catch {
            throw APIError(.badRequest, "query", "the query string is malformed (\(error)); use ?invalid=skip")
        }
        switch query.first("invalid") {
        case nil, "refuse": return .refuseRequest
        case "skip": return .skip
        default: throw APIError(.badRequest, "query", "invalid= takes skip (store the valid records, list the others) or refuse (all or nothing, the default)")
        }
    }

    static func response(_ outcome: IngestOutcome, options: IngestOptions) -> Response {
        switch outcome {
        case let .replayed(records):
            return .json(.ok, #"{"accepted":\#(records)}"#, headers: [.idempotentReplayed: "true"])
        case let .accepted(records) where options.invalidRecords == .skip:
            return .json(.ok, #"{"accepted":\#(records),"rejected":[],"rejected_count":0}"#)
        case let .accepted(records):
            return .json(.ok, #"{"accepted":\#(records)}"#)
        case let .partial(records, rejected):
            let out = NDJSONRecords()
            out.beginObject()
            out.key("accepted")
            out.integer(Int64(records))
            out.key("rejected")
            out.beginArray()
            for error in rejected.listed {
                out.beginObject()
                out.key("line")
                out.integer(Int64(error.line))
                out.key("field")
                if let field = error.field { out.text(field) } else { out.null() }
                out.key("error")
                out.text(error.message)
                out.endObject()
            }
            out.endArray()
            out.key("rejected_count")
            out.integer(Int64(rejected.count))
            out.endObject()
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out.bytes())))
        }
    }
}
