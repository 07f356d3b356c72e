import Crypto
import Foundation
import Ingest
import SegmentFormat

/// One customer as the tenants file describes it.
struct Tenant: Sendable {
    let name: String
    /// nil: every stream.
    let streams: Set<String>?
    let recordsPerSecond: Double
    let burst: Double
    /// Bytes the tenant may keep under the data directory; nil: no quota.
    let diskQuota: Int?
    /// Requests of this tenant handled at once, past which it gets 429.
    let maxConcurrentRequests: Int

    func allows(stream: String) -> Bool { streams?.contains(stream) ?? true }
}

/// The tenants and their tokens, from `--tenants FILE` (see `schemas/tenants.schema.json`), or the
/// single tenant `default` when there is no file. Tokens are kept only as SHA-256 digests.
struct TenantDirectory: Sendable {
    let tenants: [String: Tenant]
    private let tokenDigests: [String: String]

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// The tenant a bearer token belongs to.
    func tenant(token: Substring) -> Tenant? {
        tokenDigests[Self.hexDigest(token.utf8)].flatMap { tenants[$0] }
    }

    /// The SHA-256 of `bytes` in lower-case hex. Runs once per request: `String(format:)` per byte
    /// cost 330,000 instructions a request (callgrind, tools/bench/profile-ingest), a third of a
    /// 10-record request's.
    static func hexDigest(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(bytes)) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The default tenant `default`, allowed every stream, with `token` (clear text).
    init(defaultToken token: String) {
        let tenant = Tenant(name: "default", streams: nil, recordsPerSecond: 1_000_000_000, burst: 1_000_000_000,
                            diskQuota: nil, maxConcurrentRequests: 1024)
        tenants = ["default": tenant]
        tokenDigests = [Self.hexDigest(token.utf8): "default"]
    }

    private struct File: Decodable {
        let tenants: [String: Entry]
    }

    private struct Entry: Decodable {
        let tokens_sha256: [String]
        let streams: Streams
        let records_per_second: Double
        let burst: Double?
        let disk_quota_bytes: Int?
        let max_concurrent_requests: Int?
    }

    private enum Streams: Decodable {
        case all
        case some([String])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                guard text == "*" else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "streams must be \"*\" or a list of stream names")
                }
                self = .all
            } else {
                self = .some(try container.decode([String].self))
            }
        }
    }

    /// Loads and checks the tenants file at `path`.
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "tenants file \(path) cannot be read")
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw LoadError(description: "\(path): missing \"\(key.stringValue)\" at \(Self.where(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            throw LoadError(description: "\(path): \(context.debugDescription) at \(Self.where(context.codingPath))")
        } catch {
            throw LoadError(description: "\(path): \(error)")
        }
        var tenants: [String: Tenant] = [:]
        var digests: [String: String] = [:]
        for (name, entry) in file.tenants {
            guard StreamSchema.isValidName(name) else {
                throw LoadError(description: "\(path): tenant name '\(name)' is invalid: use 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit")
            }
            guard !entry.tokens_sha256.isEmpty else { throw LoadError(description: "\(path): tenant '\(name)' has no tokens") }
            for token in entry.tokens_sha256 {
                let digest = token.lowercased()
                guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else {
                    throw LoadError(description: "\(path): tenant '\(name)': '\(token)' is not a SHA-256 hex digest (64 hex digits; tokens are never stored in clear)")
                }
                if let other = digests[digest] {
                    throw LoadError(description: "\(path): tenants '\(other)' and '\(name)' share a token")
                }
                digests[digest] = name
            }
            var streams: Set<String>?
            if case let .some(list) = entry.streams {
                for stream in list where !StreamSchema.isValidName(stream) {
                    throw LoadError(description: "\(path): tenant '\(name)': '\(stream)' is not a valid stream name")
                }
                streams = Set(list)
            }
            // Bounds that keep the token bucket's arithmetic (waits in seconds, token counts) in range.
            func check(_ field: String, _ value: Double, _ range: ClosedRange<Double>) throws {
                guard range.contains(value) else {
                    throw LoadError(description: "\(path): tenant '\(name)': \(field) \(value) is out of range: use \(range.lowerBound) to \(Int(range.upperBound))")
                }
            }
            try check("records_per_second", entry.records_per_second, 0.001 ... 1e9)
            let burst = entry.burst ?? max(entry.records_per_second, 1)
            try check("burst", burst, 1 ... 1e9)
            let concurrency = entry.max_concurrent_requests ?? 64
            try check("max_concurrent_requests", Double(concurrency), 1 ... 100_000)
            if let quota = entry.disk_quota_bytes { try check("disk_quota_bytes", Double(quota), 0 ... 9e18) }
            tenants[name] = Tenant(name: name, streams: streams, recordsPerSecond: entry.records_per_second,
                                   burst: burst, diskQuota: entry.disk_quota_bytes, maxConcurrentRequests: concurrency)
        }
        self.tenants = tenants
        self.tokenDigests = digests
    }

    private static func `where`(_ path: [CodingKey]) -> String {
        path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
    }
}
