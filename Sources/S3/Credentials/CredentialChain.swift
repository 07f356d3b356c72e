import AsyncHTTPClient
import Foundation
import NIOCore

/// Finds credentials the way the AWS CLI does, first match wins:
///
/// 1. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`;
/// 2. the profile (`AWS_PROFILE`, else `default`) in `~/.aws/credentials`, then in `~/.aws/config`;
/// 3. the ECS container endpoint (`ContainerCredentials`);
/// 4. EC2 instance metadata with IMDSv2 tokens (`InstanceMetadataCredentials`).
///
/// Keeps what it found and renews temporary credentials five minutes before they expire, or at
/// once when S3 says they have expired. An actor: one resolution at a time, shared by all requests.
public actor CredentialChain {
    /// Renew temporary credentials this long before their expiration.
    static let refreshMargin: TimeInterval = 300

    private let environment: [String: String]
    private let http: HTTPClient
    private var current: AWSCredentials?

    public init(environment: [String: String], http: HTTPClient) {
        self.environment = environment
        self.http = http
    }

    /// Credentials to sign with now.
    public func credentials() async throws -> AWSCredentials {
        if let current, !current.expires(within: Self.refreshMargin, of: Date()) { return current }
        let found = try await resolve()
        current = found
        return found
    }

    /// Forgets the credentials in hand (S3 refused them as expired), so the next request resolves anew.
    public func invalidate(_ stale: AWSCredentials) {
        if current == stale { current = nil }
    }

    private func resolve() async throws -> AWSCredentials {
        if let fromEnvironment = try Self.environmentCredentials(environment) { return fromEnvironment }
        let profiles = try SharedProfiles(environment: environment)
        if let fromProfile = try Self.profileCredentials(profiles) { return fromProfile }
        if let container = try ContainerCredentials(environment: environment) {
            return try await container.fetch(http, timeout: .seconds(5))
        }
        if let metadata = InstanceMetadataCredentials(environment: environment) {
            do {
                return try await metadata.fetch(http)
            } catch let e as CredentialError {
                throw CredentialError("no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID), none for profile '\(profiles.profile)' in \(profiles.credentialsPath) or \(profiles.configPath), no container endpoint, and \(e.message)")
            }
        }
        throw CredentialError("no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID), none for profile '\(profiles.profile)' in \(profiles.credentialsPath) or \(profiles.configPath), no container endpoint, and instance metadata is disabled")
    }

    static func environmentCredentials(_ environment: [String: String]) throws -> AWSCredentials? {
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (key, secret) {
        case (nil, nil): return nil
        case let (key?, secret?):
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token, source: "environment")
        case (_?, nil): throw CredentialError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, _?): throw CredentialError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        }
    }

    static func profileCredentials(_ profiles: SharedProfiles) throws -> AWSCredentials? {
        for (file, path) in [(profiles.credentials, profiles.credentialsPath), (profiles.config, profiles.configPath)] {
            guard let section = file?.sections[profiles.profile] else { continue }
            let key = section["aws_access_key_id"], secret = section["aws_secret_access_key"]
            switch (key, secret) {
            case (nil, nil): continue
            case let (key?, secret?):
                return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"],
                                      source: "profile '\(profiles.profile)' in \(path)")
            default:
                throw CredentialError("profile '\(profiles.profile)' in \(path) has only one of aws_access_key_id and aws_secret_access_key")
            }
        }
        return nil
    }
}
