import Foundation
import HTTPTypes
import Hummingbird

/// An error answer of the API: a status, a message a person can act on, and where it applies
/// (line and field of a bad record, seconds to wait). The body is always JSON.
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

    var response: Response {
        var object: [String: Any] = ["error": message]
        if let line { object["line"] = line }
        if let field { object["field"] = field }
        if let retryAfter { object["retry_after_seconds"] = retryAfter }
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
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
