import Foundation

/// A signing identity: an access key pair and, for temporary credentials, a session token and
/// the time they stop working. `source` says where they came from, for messages.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var expiration: Date?
    public var source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil, source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    /// Whether they expire within `margin` of `now` (temporary credentials are renewed before then).
    func expires(within margin: TimeInterval, of now: Date) -> Bool {
        expiration.map { $0.timeIntervalSince(now) < margin } ?? false
    }
}

/// Credentials that could not be found or loaded: which source failed and why, in a sentence.
public struct CredentialError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
