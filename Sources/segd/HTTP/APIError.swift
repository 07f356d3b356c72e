import Foundation
import HTTPTypes
import Hummingbird

/// An error answer of the API: a status, a message a person can act on, and where it applies
/// (line and field of a bad record, seconds to wait). The body is always JSON and carries the
/// request's id; it never holds paths or internal error text (those go to the log, under the id).
struct APIError: Error {
    let status: HTTPResponse.Status
    let message: String
    /// The metrics label of the rejection (`auth`, `schema`, `rate`, ...).
    let reason: String
    var line: Int?
    var field: String?
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ reason: String, _ message: String, line: Int? = nil, field: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.reason = reason
        self.message = message
        self.line = line
        self.field = field
        self.retryAfter = retryAfter
    }

    func response(requestID: String) -> Response {
        let body = ErrorBody.json(message: message, requestID: requestID, line: line, field: field, retryAfter: retryAfter)
        var headers: HTTPFields = [.contentType: "application/json", .requestID: requestID]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The JSON body of every error answer: `{"error": ..., "request_id": ..., "line": ...,
/// "field": ..., "retry_after_seconds": ...}`.
enum ErrorBody {
    static func json(message: String, requestID: String, line: Int? = nil, field: String? = nil, retryAfter: Int? = nil) -> [UInt8] {
        var object: [String: Any] = ["error": message, "request_id": requestID]
        if let line { object["line"] = line }
        if let field { object["field"] = field }
        if let retryAfter { object["retry_after_seconds"] = retryAfter }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(#"{"error":"error"}"#.utf8)
        return Array(data)
    }
}

/// Short random ids that tie an error answer to its log lines.
enum RequestIdentifier {
    static func next() -> String {
        String(UInt64.random(in: 1 ... .max), radix: 16)
    }
}

extension Response {
    /// A JSON answer from a JSON text.
    static func json(_ status: HTTPResponse.Status, _ text: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension HTTPField.Name {
    // Valid header names, so the initializer cannot fail.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let requestID = HTTPField.Name("X-Request-Id")!
}
