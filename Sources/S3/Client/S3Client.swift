import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The S3 requests a reader of an archive needs: list a prefix page by page, and GET an object or a
/// byte range of it. Every request is signed (SigV4, `CredentialChain`), bounded in concurrency,
/// time and answer size, checked for a complete body of the right range, and retried with jittered
/// exponential backoff on 500, 502, 503, 504, throttling (`SlowDown`), timeouts and reset or
/// truncated connections. Everything else becomes an `S3Error` that names the object.
///
/// Safe to share between tasks. Call `shutdown()` when done.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    public let statistics = S3Statistics(S3Counts())
    private let http: HTTPClient
    private let credentials: CredentialChain?
    private let retry: RetryPolicy
    private let timeout: TimeAmount
    private let limiter: ConcurrencyLimiter

    /// One key of a listing.
    public struct ObjectSummary: Sendable, Equatable {
        public var key: String
        public var size: Int
        /// The ETag without its quotes.
        public var etag: String
    }

    /// One page of a listing; `nextContinuationToken` is nil on the last page.
    public struct ListPage: Sendable {
        public var objects: [ObjectSummary] = []
        public var commonPrefixes: [String] = []
        public var nextContinuationToken: String?
    }

    /// Which bytes of an object to GET.
    public enum ByteRange: Sendable, Equatable {
        case bytes(Range<Int>)
        /// The last `n` bytes (the whole object when it is smaller).
        case suffix(Int)
        case whole
    }

    /// Bytes of an object: where they start in it, and the object's size and ETag.
    public struct ObjectBytes: Sendable {
        public var bytes: [UInt8]
        public var offset: Int
        public var objectSize: Int
        public var etag: String?

        public init(bytes: [UInt8], offset: Int, objectSize: Int, etag: String?) {
            self.bytes = bytes
            self.offset = offset
            self.objectSize = objectSize
            self.etag = etag
        }
    }

    /// `environment` supplies credentials (unless `signRequests` is false, for public buckets).
    /// `timeout` bounds the wait for an answer and each silence within a body.
    public init(configuration: S3Configuration, environment: [String: String], concurrency: Int,
                timeout: Duration = .seconds(30), retry: RetryPolicy = RetryPolicy(), signRequests: Bool = true) {
        self.configuration = configuration
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        self.timeout = .milliseconds(max(1, milliseconds))
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(10), read: self.timeout)
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, concurrency))
        config.decompression = .disabled
        config.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        credentials = signRequests ? CredentialChain(environment: environment, http: http) : nil
        self.retry = retry
        limiter = ConcurrencyLimiter(permits: concurrency)
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: Requests

    /// One page of ListObjectsV2 under `prefix`. With a `delimiter`, keys below the next delimiter
    /// are rolled up into `commonPrefixes`. `startAfter` skips every key up to and including it.
    public func list(bucket: String, prefix: String, delimiter: String? = nil, startAfter: String? = nil,
                     continuationToken: String? = nil, maxKeys: Int = 1000) async throws -> ListPage {
        var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix), ("encoding-type", "url"),
                                                      ("max-keys", String(maxKeys))]
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let location = S3Location(bucket: bucket, key: prefix)
        let (_, _, body) = try await send(location, objectKey: "", query: query, headers: [], bodyLimit: 16 << 20, isList: true)
        return try Self.parseListing(body, location)
    }

    /// GETs `range` of the object at `key`. With `ifMatch`, fails with `.objectChanged` when the
    /// object's ETag is no longer that one, so bytes of two versions are never mixed.
    public func get(bucket: String, key: String, range: ByteRange, ifMatch: String? = nil) async throws -> ObjectBytes {
        let location = S3Location(bucket: bucket, key: key)
        var headers: [(name: String, value: String)] = []
        var expected = 16 << 10
        switch range {
        case let .bytes(r):
            guard !r.isEmpty else { throw S3Error(.other, location, "asked for an empty byte range") }
            headers.append(("range", "bytes=\(r.lowerBound)-\(r.upperBound - 1)"))
            expected = r.count
        case let .suffix(n):
            headers.append(("range", "bytes=-\(max(1, n))"))
            expected = n
        case .whole:
            expected = 1 << 32
        }
        if let ifMatch { headers.append(("if-match", "\"\(ifMatch)\"")) }
        let (status, responseHeaders, body) = try await send(location, objectKey: key, query: [], headers: headers,
                                                            bodyLimit: expected + (16 << 10), isList: false)
        let bytes = Array(body.readableBytesView)
        let etag = responseHeaders.first(name: "etag").map(Self.unquote)
        if status == .partialContent {
            guard let (start, end, total) = responseHeaders.first(name: "content-range").flatMap(Self.parseContentRange),
                  end - start + 1 == bytes.count else {
                throw S3Error(.badResponse, location, "the answer's Content-Range does not match its body")
            }
            let wanted: Range<Int>
            switch range {
            case let .bytes(r): wanted = r.lowerBound..<min(r.upperBound, total)
            case let .suffix(n): wanted = max(0, total - n)..<total
            case .whole: wanted = 0..<total
            }
            guard start == wanted.lowerBound, end + 1 == wanted.upperBound else {
                throw S3Error(.badResponse, location, "asked for bytes \(wanted.lowerBound)-\(wanted.upperBound - 1) but got \(start)-\(end)")
            }
            return ObjectBytes(bytes: bytes, offset: start, objectSize: total, etag: etag)
        }
        // 200: the whole object (asked for, or the store ignored the range).
        let total = bytes.count
        let wanted: Range<Int>
        switch range {
        case let .bytes(r): wanted = min(r.lowerBound, total)..<min(r.upperBound, total)
        case let .suffix(n): wanted = max(0, total - n)..<total
        case .whole: wanted = 0..<total
        }
        return ObjectBytes(bytes: Array(bytes[wanted]), offset: wanted.lowerBound, objectSize: total, etag: etag)
    }

    // MARK: Sending, signing, retrying

    private enum Attempt {
        case answered(HTTPResponseStatus, HTTPHeaders, ByteBuffer)
        case retry(String)
    }

    private func send(_ location: S3Location, objectKey: String, query: [(name: String, value: String)],
                      headers: [(name: String, value: String)], bodyLimit: Int, isList: Bool) async throws -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
        var attempt = 0
        var renewedCredentials = false
        while true {
            attempt += 1
            let used = try await credentials?.credentials()
            await limiter.acquire()
            let outcome = await Result(catching: {
                try await self.once(location, objectKey: objectKey, query: query, headers: headers, credentials: used, bodyLimit: bodyLimit)
            })
            await limiter.release()
            statistics.update { isList ? ($0.listRequests += 1) : ($0.getRequests += 1) }
            let problem: String
            switch outcome {
            case let .failure(error):
                throw error
            case let .success(.retry(why)):
                problem = why
            case let .success(.answered(status, responseHeaders, body)):
                if (200..<300).contains(status.code) {
                    if !isList { statistics.update { $0.bytesFetched += body.readableBytes } }
                    return (status, responseHeaders, body)
                }
                let failure = Self.failure(status, responseHeaders, body, location, credentials: used, region: configuration.region)
                if failure.kind == .credentialsRefused, ["ExpiredToken", "TokenRefreshRequired"].contains(failure.code ?? ""),
                   !renewedCredentials, let used, used.expiration != nil {
                    // Temporary credentials ran out during the command: fetch new ones once.
                    renewedCredentials = true
                    await credentials?.invalidate(used)
                    problem = failure.description
                } else if Self.isRetryable(status, code: failure.code) {
                    problem = "S3 answered \(status.code)" + (failure.code.map { " \($0)" } ?? "")
                } else {
                    throw failure
                }
            }
            guard attempt < retry.maxAttempts else {
                throw S3Error(.unavailable, location, "gave up after \(attempt) attempts; the last failed: \(problem)")
            }
            statistics.update { $0.retries += 1 }
            try await Task.sleep(for: retry.delay(after: attempt))
        }
    }

    private func once(_ location: S3Location, objectKey: String, query: [(name: String, value: String)],
                      headers: [(name: String, value: String)], credentials: AWSCredentials?, bodyLimit: Int) async throws -> Attempt {
        let (scheme, authority, path) = configuration.address(bucket: location.bucket, key: objectKey)
        var signed: [(name: String, value: String)] = [("host", authority), ("x-amz-content-sha256", SignatureV4.emptyPayloadHash)] + headers
        if let credentials {
            let timestamp = SignatureV4.timestamp(Date())
            signed.append(("x-amz-date", timestamp))
            if let token = credentials.sessionToken { signed.append(("x-amz-security-token", token)) }
            let signer = SignatureV4(service: "s3", region: configuration.region)
            let request = SignatureV4.Request(method: "GET", path: path, query: query, headers: signed)
            signed.append(("authorization", signer.authorization(request, timestamp: timestamp, accessKeyID: credentials.accessKeyID,
                                                                 secretAccessKey: credentials.secretAccessKey)))
        }
        let queryString = SignatureV4.canonicalQuery(query)
        var request = HTTPClientRequest(url: "\(scheme)://\(authority)\(URIEncoding.encode(path, keepingSlashes: true))" + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = .GET
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: .now() + timeout)
        } catch let error as HTTPClientError where error == .invalidURL || error == .emptyHost || error == .emptyScheme {
            throw S3Error(.other, location, "cannot make a request URL from the endpoint and key")
        } catch {
            return .retry(Self.describeTransportError(error))
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: bodyLimit)
        } catch is NIOTooManyBytesError {
            throw S3Error(.badResponse, location, "the answer is longer than the \(bodyLimit) bytes expected")
        } catch {
            return .retry("the answer's body broke off: " + Self.describeTransportError(error))
        }
        if let declared = response.headers.first(name: "content-length").flatMap(Int.init), declared != body.readableBytes {
            return .retry("the answer's body was cut short (\(body.readableBytes) of \(declared) bytes)")
        }
        return .answered(response.status, response.headers, body)
    }

    static func isRetryable(_ status: HTTPResponseStatus, code: String?) -> Bool {
        if [500, 502, 503, 504, 429].contains(status.code) { return true }
        return ["SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable", "Throttling", "ThrottlingException"].contains(code ?? "")
    }

    static func describeTransportError(_ error: Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .readTimeout, .deadlineExceeded: return "no answer within the timeout"
            case .connectTimeout: return "could not connect within the timeout"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "\(e)"
            }
        }
        if let e = error as? IOError { return "connection error: \(e.description)" }
        return "\(error)"
    }

    /// The `S3Error` for a non-2xx answer.
    static func failure(_ status: HTTPResponseStatus, _ headers: HTTPHeaders, _ body: ByteBuffer, _ location: S3Location,
                        credentials: AWSCredentials?, region configured: String) -> S3Error {
        let document = try? S3XML.parse(Array(body.readableBytesView))
        let code = document?["Code"]
        let message = document?["Message"]
        let from = credentials.map { " from \($0.source)" } ?? ""
        let region = headers.first(name: "x-amz-bucket-region") ?? document?["Region"]
        let statusCode = Int(status.code)
        switch (statusCode, code) {
        case (_, "NoSuchBucket"):
            return S3Error(.noSuchBucket, S3Location(bucket: location.bucket, key: ""), "no such bucket", status: statusCode, code: code)
        case (_, "NoSuchKey"), (404, nil):
            return S3Error(.noSuchKey, location, "no such key", status: statusCode, code: code)
        case (_, "InvalidAccessKeyId"), (_, "SignatureDoesNotMatch"), (_, "ExpiredToken"), (_, "InvalidToken"), (_, "TokenRefreshRequired"):
            return S3Error(.credentialsRefused, location, "S3 refused the credentials\(from)" + (message.map { ": \($0)" } ?? ""),
                           status: statusCode, code: code)
        case (301, _), (_, "PermanentRedirect"), (_, "AuthorizationHeaderMalformed"), (_, "IllegalLocationConstraintException"):
            let hint = region.map { "the bucket is in region \($0), not \(configured): set AWS_REGION=\($0)" }
                ?? "the bucket is not in region \(configured): set AWS_REGION to its region"
            return S3Error(.wrongRegion(region), S3Location(bucket: location.bucket, key: ""), hint, status: statusCode, code: code)
        case (403, _):
            return S3Error(.accessDenied, location, "access denied to the credentials\(from)" + (message.map { ": \($0)" } ?? ""),
                           status: statusCode, code: code)
        case (412, _):
            return S3Error(.objectChanged, location, "the object changed while it was being read (its ETag no longer matches); run the command again",
                           status: statusCode, code: code)
        default:
            return S3Error(.other, location, "S3 answered \(status.code)" + (message.map { ": \($0)" } ?? ""), status: statusCode, code: code)
        }
    }

    static func parseListing(_ body: ByteBuffer, _ location: S3Location) throws -> ListPage {
        guard let root = try? S3XML.parse(Array(body.readableBytesView)), root.name == "ListBucketResult" else {
            throw S3Error(.badResponse, location, "the listing is not a ListBucketResult document")
        }
        let encoded = root["EncodingType"] == "url"
        func decode(_ text: String?) throws -> String {
            guard let text else { throw S3Error(.badResponse, location, "a listing entry has no key") }
            guard encoded else { return text }
            guard let plain = URIEncoding.decode(text.replacingOccurrences(of: "+", with: " ")) else {
                throw S3Error(.badResponse, location, "the listing holds a badly encoded key")
            }
            return plain
        }
        var page = ListPage()
        for item in root.all("Contents") {
            guard let size = item["Size"].flatMap(Int.init), size >= 0 else {
                throw S3Error(.badResponse, location, "a listing entry has no size")
            }
            page.objects.append(ObjectSummary(key: try decode(item["Key"]), size: size, etag: item["ETag"].map(unquote) ?? ""))
        }
        for item in root.all("CommonPrefixes") {
            page.commonPrefixes.append(try decode(item["Prefix"]))
        }
        if root["IsTruncated"] == "true" {
            guard let token = root["NextContinuationToken"], !token.isEmpty else {
                throw S3Error(.badResponse, location, "a truncated listing gave no continuation token")
            }
            page.nextContinuationToken = token
        }
        return page
    }

    /// `bytes 0-9/443` → (0, 9, 443).
    static func parseContentRange(_ value: String) -> (Int, Int, Int)? {
        guard value.hasPrefix("bytes ") else { return nil }
        let parts = value.dropFirst(6).split(separator: "/")
        guard parts.count == 2, let total = Int(parts[1]) else { return nil }
        let bounds = parts[0].split(separator: "-")
        guard bounds.count == 2, let start = Int(bounds[0]), let end = Int(bounds[1]), start <= end, end < total else { return nil }
        return (start, end, total)
    }

    static func unquote(_ etag: String) -> String {
        var s = Substring(etag)
        if s.hasPrefix("W/") { s = s.dropFirst(2) }
        if s.hasPrefix("\"") && s.hasSuffix("\"") && s.count >= 2 { s = s.dropFirst().dropLast() }
        return String(s)
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
