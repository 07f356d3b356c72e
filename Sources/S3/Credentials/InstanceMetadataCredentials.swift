import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Credentials of an EC2 instance's role (how an Elastic Beanstalk instance gets its permissions),
/// from the instance metadata service with IMDSv2 session tokens: a PUT for a token, then the role's
/// name, then its credentials, each sent with the token.
///
/// As the AWS CLI: `AWS_EC2_METADATA_DISABLED=true` turns it off, `AWS_EC2_METADATA_SERVICE_ENDPOINT`
/// moves it, and `AWS_METADATA_SERVICE_TIMEOUT` (seconds, default 1) bounds each request, so a machine
/// that is not on EC2 learns it within a second.
struct InstanceMetadataCredentials: Sendable {
    static let defaultEndpoint = "http://169.254.169.254"
    static let tokenTTLSeconds = 21_600
    let endpoint: String
    let timeout: TimeAmount

    /// nil when instance metadata is turned off.
    init?(environment: [String: String]) {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        var endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? Self.defaultEndpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        let seconds = environment["AWS_METADATA_SERVICE_TIMEOUT"].flatMap(Double.init) ?? 1
        timeout = .milliseconds(Int64(max(0.05, min(seconds, 60)) * 1000))
    }

    func fetch(_ http: HTTPClient) async throws -> AWSCredentials {
        var tokenRequest = HTTPClientRequest(url: endpoint + "/latest/api/token")
        tokenRequest.method = .PUT
        tokenRequest.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: String(Self.tokenTTLSeconds))
        let token = String(buffer: try await call(http, tokenRequest, what: "a session token"))
        guard !token.isEmpty, !token.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw CredentialError("instance metadata at \(endpoint) gave an unusable session token")
        }
        var roleRequest = HTTPClientRequest(url: endpoint + "/latest/meta-data/iam/security-credentials/")
        roleRequest.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        let roles = String(buffer: try await call(http, roleRequest, what: "the instance's role"))
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty,
              !role.contains("/") else {
            throw CredentialError("instance metadata at \(endpoint) names no IAM role for this instance")
        }
        var credentialsRequest = HTTPClientRequest(url: endpoint + "/latest/meta-data/iam/security-credentials/" + URIEncoding.encode(role, keepingSlashes: false))
        credentialsRequest.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        let body = try await call(http, credentialsRequest, what: "the role's credentials")
        var credentials = try TemporaryCredentialsDocument.parse(body, source: "instance metadata")
        credentials.source = "instance metadata (role \(role))"
        return credentials
    }

    private func call(_ http: HTTPClient, _ request: HTTPClientRequest, what: String) async throws -> ByteBuffer {
        let status: HTTPResponseStatus
        let body: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = response.status
            body = try await response.body.collect(upTo: 64 << 10)
        } catch {
            throw CredentialError("instance metadata at \(endpoint) did not answer for \(what) (not on EC2?)")
        }
        guard status == .ok else {
            throw CredentialError("instance metadata at \(endpoint) answered \(status.code) for \(what)")
        }
        return body
    }
}
