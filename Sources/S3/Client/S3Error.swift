/// A request S3 refused or could not answer, with what a person needs to act: the object, what
/// went wrong in a sentence, and S3's own error code when it sent one.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    /// What went wrong, so callers can tell a missing object from refused credentials.
    public enum Kind: Sendable, Equatable {
        case noSuchBucket
        case noSuchKey
        case accessDenied
        /// The access key is unknown, the signature wrong, or the token expired or invalid.
        case credentialsRefused
        /// The bucket lives in another region (named when S3 says which).
        case wrongRegion(String?)
        /// The object changed since its footer was read (its ETag no longer matches).
        case objectChanged
        /// Retries ran out on errors that are worth retrying (5xx, throttling, timeouts, resets).
        case unavailable
        /// The answer broke the protocol: a wrong range, a body of the wrong length, unreadable XML.
        case badResponse
        case other
    }

    public var kind: Kind
    public var location: S3Location
    public var message: String
    public var status: Int?
    public var code: String?

    public init(_ kind: Kind, _ location: S3Location, _ message: String, status: Int? = nil, code: String? = nil) {
        self.kind = kind
        self.location = location
        self.message = message
        self.status = status
        self.code = code
    }

    public var description: String {
        let place = location.key.isEmpty ? "s3://\(location.bucket)" : location.description
        return "\(place): \(message)" + (code.map { " (\($0))" } ?? "")
    }
}
