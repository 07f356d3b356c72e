import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Credentials from the ECS container endpoint, as the AWS CLI finds it:
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (a path on 169.254.170.2), or
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (HTTPS, or HTTP to a loopback or the ECS/EKS agent's address)
/// with `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
struct ContainerCredentials: Sendable {
    static let agentHost = "169.254.170.2"
    let url: String
    let authorization: String?

    /// nil when the environment names no container endpoint.
    init?(environment: [String: String]) throws {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://\(Self.agentHost)" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            guard let parsed = URL(string: full), let host = parsed.host, let scheme = parsed.scheme?.lowercased() else {
                throw CredentialError("AWS_CONTAINER_CREDENTIALS_FULL_URI '\(full)' is not a URL")
            }
            guard scheme == "https" || (scheme == "http" && Self.allowedHTTPHost(host)) else {
                throw CredentialError("AWS_CONTAINER_CREDENTIALS_FULL_URI must use HTTPS, or HTTP to a loopback address or the container agent (got host '\(host)')")
            }
            url = full
        } else {
            return nil
        }
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !file.isEmpty {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CredentialError("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file) cannot be read")
            }
            authorization = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            authorization = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        }
        if let authorization, authorization.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw CredentialError("the container authorization token holds a line break")
        }
    }

    static func allowedHTTPHost(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return bare == "localhost" || bare.hasPrefix("127.") || bare == "::1" || bare == agentHost
            || bare == "169.254.170.23" || bare.lowercased() == "fd00:ec2::23"
    }

    func fetch(_ http: HTTPClient, timeout: TimeAmount) async throws -> AWSCredentials {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let body: ByteBuffer
        let status: HTTPResponseStatus
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = response.status
            body = try await response.body.collect(upTo: 64 << 10)
        } catch {
            throw CredentialError("the container credentials endpoint \(url) did not answer (\(error))")
        }
        guard status == .ok else {
            throw CredentialError("the container credentials endpoint \(url) answered \(status.code)")
        }
        return try TemporaryCredentialsDocument.parse(body, source: "container credentials endpoint")
    }
}

/// The JSON that the container endpoint and instance metadata return for temporary credentials.
enum TemporaryCredentialsDocument {
    struct Document: Decodable {
        var Code: String?
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
    }

    static func parse(_ body: ByteBuffer, source: String) throws -> AWSCredentials {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(body.readableBytesView))
        } catch {
            throw CredentialError("the \(source) answered with a document that is not credentials JSON")
        }
        if let code = document.Code, code != "Success" {
            throw CredentialError("the \(source) answered Code '\(code)'")
        }
        guard let key = document.AccessKeyId, let secret = document.SecretAccessKey, !key.isEmpty, !secret.isEmpty else {
            throw CredentialError("the \(source) answered without AccessKeyId and SecretAccessKey")
        }
        var expiration: Date?
        if let text = document.Expiration {
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw CredentialError("the \(source) answered an Expiration that is not an ISO 8601 time: '\(text)'")
            }
            expiration = date
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: document.Token, expiration: expiration, source: source)
    }
}
