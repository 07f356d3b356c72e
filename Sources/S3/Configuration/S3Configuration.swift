import Foundation

/// Where S3 is and how to address it, read from the environment and the shared config file as the
/// AWS CLI reads them:
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else `us-east-1`;
/// - endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`, else AWS.
///
/// A custom endpoint (an S3-compatible store, moto in the tests) is addressed path-style
/// (`http://host:port/bucket/key`); AWS itself virtual-hosted (`https://bucket.s3.region.amazonaws.com/key`),
/// or path-style for bucket names with dots, which virtual-hosted TLS certificates do not cover.
public struct S3Configuration: Sendable {
    public var region: String
    /// A custom endpoint: scheme, host, optional port and base path, without a trailing slash.
    public var endpoint: Endpoint?

    /// Scheme, host, port and base path of an S3 endpoint.
    public struct Endpoint: Sendable, Equatable {
        public var scheme: String
        public var host: String
        public var port: Int?
        public var basePath: String

        /// Parses `http(s)://host[:port][/path]`; throws on anything else.
        public init(_ text: String) throws {
            guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil else {
                throw S3ConfigurationError("the S3 endpoint '\(text)' is not an http:// or https:// URL with a host")
            }
            self.scheme = scheme
            self.host = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            port = url.port
            var path = url.path
            while path.hasSuffix("/") { path.removeLast() }
            basePath = path
        }

        /// `host` or `host:port` as the Host header carries it.
        public var authority: String {
            guard let port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) else { return host }
            return "\(host):\(port)"
        }
    }

    public init(region: String, endpoint: Endpoint?) {
        self.region = region
        self.endpoint = endpoint
    }

    /// From the environment and the profile's config file.
    public init(environment: [String: String], profiles: SharedProfiles?) throws {
        let region = [environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"], profiles?.configValue("region")]
            .compactMap { $0?.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? "us-east-1"
        guard region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), region.count <= 64 else {
            throw S3ConfigurationError("the region '\(region)' is not a region name")
        }
        let endpoint = [environment["AWS_ENDPOINT_URL_S3"], environment["AWS_ENDPOINT_URL"], profiles?.configValue("endpoint_url")]
            .compactMap { $0 }.first { !$0.isEmpty }
        self.init(region: region, endpoint: try endpoint.map(Endpoint.init))
    }

    /// The URL parts of an object or bucket request: scheme, authority (Host header), and the raw
    /// (not yet percent-encoded) path.
    public func address(bucket: String, key: String) -> (scheme: String, authority: String, path: String) {
        if let endpoint {
            return (endpoint.scheme, endpoint.authority, endpoint.basePath + "/" + bucket + "/" + key)
        }
        if bucket.contains(".") {
            return ("https", "s3.\(region).amazonaws.com", "/" + bucket + "/" + key)
        }
        return ("https", "\(bucket).s3.\(region).amazonaws.com", "/" + key)
    }
}

/// A setting that makes no sense (a malformed endpoint URL or region name).
public struct S3ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
