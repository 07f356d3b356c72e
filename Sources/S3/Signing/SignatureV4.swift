import Crypto
import Foundation

/// AWS Signature Version 4: the canonical request, the string to sign, the signing key and the
/// `Authorization` header, for requests signed in their headers.
///
/// Written here on swift-crypto because no AWS SDK for Swift is available to this project (only the
/// packages copied onto the build machines resolve, and Soto and the AWS SDK for Swift are not among
/// them). It is checked against AWS's published SigV4 test suite and S3's documented examples
/// (`Tests/S3Tests/SignatureV4Tests.swift`). A value type; safe to share.
public struct SignatureV4: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash of a request without a body (SHA-256 of nothing).
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public let service: String
    public let region: String

    public init(service: String, region: String) {
        self.service = service
        self.region = region
    }

    /// A request as the signer sees it. `path` is the raw path (not percent-encoded): the signer
    /// encodes each segment once, as S3 does, and does not normalise `.` or `//` (S3 keys may hold them).
    /// `query` holds raw names and values. Header names are matched without regard to case.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        /// Lower-case hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [],
                    headers: [(name: String, value: String)], payloadHash: String = SignatureV4.emptyPayloadHash) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// `20150830T123600Z` for `date`.
    public static func timestamp(_ date: Date) -> String {
        let t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        var copy = t
        gmtime_r(&copy, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z"
    }

    /// Header names, lower-cased and sorted, joined by `;`.
    public func signedHeaders(_ request: Request) -> String {
        canonicalHeaders(request).map(\.name).joined(separator: ";")
    }

    /// The canonical request (spec: "Create a canonical request").
    public func canonicalRequest(_ request: Request) -> String {
        let headers = canonicalHeaders(request)
        return [
            request.method,
            URIEncoding.encode(request.path, keepingSlashes: true),
            Self.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            headers.map(\.name).joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    /// The string to sign for `request` at `timestamp` (`20150830T123600Z`).
    public func stringToSign(_ request: Request, timestamp: String) -> String {
        let hash = SHA256.hash(data: Array(canonicalRequest(request).utf8))
        return [Self.algorithm, timestamp, scope(timestamp), Self.hex(hash)].joined(separator: "\n")
    }

    /// `20150830/us-east-1/service/aws4_request`.
    public func scope(_ timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// The `Authorization` header's value. The request's headers must already hold `x-amz-date`
    /// (equal to `timestamp`), and `x-amz-security-token` when the credentials carry a session token.
    public func authorization(_ request: Request, timestamp: String, accessKeyID: String, secretAccessKey: String) -> String {
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        for part in [String(timestamp.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = HMAC<SHA256>.authenticationCode(for: Array(stringToSign(request, timestamp: timestamp).utf8), using: key)
        return "\(Self.algorithm) Credential=\(accessKeyID)/\(scope(timestamp)), SignedHeaders=\(signedHeaders(request)), Signature=\(Self.hex(signature))"
    }

    /// Sorted by encoded name, then encoded value; a name without a value keeps its `=`.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (URIEncoding.encode($0.name, keepingSlashes: false), URIEncoding.encode($0.value, keepingSlashes: false)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; the values of a
    /// repeated name joined by commas in the order they came.
    private func canonicalHeaders(_ request: Request) -> [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in request.headers {
            let key = name.lowercased()
            if values[key] == nil { order.append(key) }
            values[key, default: []].append(Self.collapseSpaces(value))
        }
        return order.sorted().map { ($0, values[$0, default: []].joined(separator: ",")) }
    }

    private static func collapseSpaces(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for c in value.trimmingCharacters(in: .whitespaces) {
            if c == " " || c == "\t" {
                pendingSpace = true
                continue
            }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.append(c)
        }
        return out
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
