/// A refusal in Splunk HEC's own terms: its status code, its numeric code and text, and the number
/// of the event at fault (0-based), as HEC answers `{"text": ..., "code": N, "invalid-event-number": M}`.
struct HECError: Error, CustomStringConvertible {
    /// HEC's codes, with the HTTP status and text Splunk answers for each.
    enum Code: Int {
        case success = 0
        case tokenRequired = 2
        case invalidAuthorization = 3
        case invalidToken = 4
        case noData = 5
        case invalidDataFormat = 6
        case incorrectIndex = 7
        case serverBusy = 9
        case eventRequired = 12
        case eventBlank = 13
        case indexedFields = 15
        case healthy = 17

        var text: String {
            switch self {
            case .success: "Success"
            case .tokenRequired: "Token is required"
            case .invalidAuthorization: "Invalid authorization"
            case .invalidToken: "Invalid token"
            case .noData: "No data"
            case .invalidDataFormat: "Invalid data format"
            case .incorrectIndex: "Incorrect index"
            case .serverBusy: "Server is busy"
            case .eventRequired: "Event field is required"
            case .eventBlank: "Event field cannot be blank"
            case .indexedFields: "Error in handling indexed fields"
            case .healthy: "HEC is healthy"
            }
        }

        var status: Int {
            switch self {
            case .success, .healthy: 200
            case .tokenRequired, .invalidAuthorization: 401
            case .invalidToken: 403
            case .serverBusy: 503
            default: 400
            }
        }
    }

    let code: Code
    /// What segd adds to HEC's text: which field or limit, and what to do.
    var detail: String?
    var invalidEventNumber: Int?
    var status: Int
    var retryAfter: Int?

    init(_ code: Code, detail: String? = nil, status: Int? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.detail = detail
        self.status = status ?? code.status
        self.retryAfter = retryAfter
    }

    var description: String { detail.map { "\(code.text): \($0)" } ?? code.text }
}
