#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import RequestParsing

/// Reads a request body within its bounds, strictly: first what the headers alone say (media
/// type, content coding, declared length, `Expect`), so that a refusal needs no body; then the
/// body itself, bounded by `--max-body` before and after content decoding and charged to the
/// request's `Admission` as it arrives, and decoded strictly (`GzipDecoding` for gzip and deflate,
/// `Zstd`, `Snappy`'s framing format). A body cut short
/// (a timeout, shutdown, a malformed chunk, a closed connection) is an error, never a shorter body.
enum BodyReading {
    /// The content codings a body may come in. Protocol adapters add theirs here.
    enum ContentCoding: Equatable {
        case identity
        case gzip
        /// zlib, or raw DEFLATE (told apart by the zlib header).
        case deflate
        case zstd
        /// Snappy's framing format, as Loki reads `Content-Encoding: snappy`.
        case snappy

        var name: String {
            switch self {
            case .identity: "identity"
            case .gzip: "gzip"
            case .deflate: "deflate"
            case .zstd: "zstd"
            case .snappy: "snappy"
            }
        }

        /// Where a body cut short ends, in an error message.
        var end: String {
            switch self {
            case .gzip: "before its last member's trailer"
            case .zstd: "inside a frame"
            case .snappy: "inside a chunk"
            default: "before its end of stream"
            }
        }
    }

    /// The media types a route takes, and how to name them in a 415.
    struct MediaTypes: Sendable {
        let accepted: Set<String>
        let hint: String
        /// A body without `Content-Type` is taken (clients of protocols that define one format).
        var allowsMissing = false

        static let ndjsonNames: Set<String> = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/json-seq"]

        /// NDJSON, under every name it goes by.
        static let ndjson = MediaTypes(accepted: ndjsonNames, hint: "send NDJSON as application/x-ndjson")

        /// The records route: NDJSON, or JSON (one object, an array of objects, or NDJSON).
        static let records = MediaTypes(accepted: ndjsonNames.union(["application/json"]),
                                        hint: "send NDJSON as application/x-ndjson, or JSON as application/json")
    }

    /// What the headers say about the body.
    struct Declared {
        /// The media type, lowercased without parameters; nil when the request had none.
        let mediaType: String?
        let coding: ContentCoding
        /// `Content-Length`; nil for a chunked body.
        let length: Int?
        let expectsContinue: Bool
    }

    /// Checks the headers: 415 for a media type or content coding not taken, 411 without a length
    /// or chunked coding, 413 for a declared length over `maxBody`, 400 for a malformed length.
    static func inspect(_ headers: HTTPFields, mediaTypes: MediaTypes, maxBody: Int) throws -> Declared {
        let contentType = headers[.contentType]
        let mediaType = contentType.flatMap(RequestHeaders.mediaType)
        guard (contentType == nil && mediaTypes.allowsMissing) || mediaType.map(mediaTypes.accepted.contains) == true else {
            let shown = contentType.map { "'\(ConnectionGuard.printable($0))'" } ?? "missing"
            throw APIError(.unsupportedMediaType, "content_type", "Content-Type \(shown): \(mediaTypes.hint)")
        }
        let coding: ContentCoding
        switch headers[.contentEncoding].map(RequestHeaders.codings) {
        case nil, .some([]), .some(["identity"]): coding = .identity
        case .some(["gzip"]), .some(["x-gzip"]): coding = .gzip
        case .some(["deflate"]): coding = .deflate
        case .some(["zstd"]): coding = .zstd
        case .some(["snappy"]): coding = .snappy
        default:
            let shown = ConnectionGuard.printable(headers[.contentEncoding] ?? "")
            throw APIError(.unsupportedMediaType, "content_encoding", "Content-Encoding '\(shown)' is not supported: use gzip, deflate, zstd, snappy or none")
        }
        var length: Int?
        if let value = headers[.contentLength] {
            guard let n = RequestHeaders.contentLength(value) else {
                throw APIError(.badRequest, "length", "Content-Length '\(ConnectionGuard.printable(value))' is not a number")
            }
            if n > maxBody { throw tooLarge(maxBody) }
            length = n
        } else if headers[.transferEncoding].map(RequestHeaders.transferCoding) != .chunked {
            throw APIError(.lengthRequired, "length", "send Content-Length (or a chunked body)")
        }
        let expectsContinue = headers[.expect].map(RequestHeaders.expectation) == .continueBeforeBody
        return Declared(mediaType: mediaType, coding: coding, length: length, expectsContinue: expectsContinue)
    }

    /// Reads and decodes the body that `declared` describes. Bytes are charged to `admission`
    /// (a declared length was charged at admission); refusals are `APIError`s.
    static func read(_ request: Request, _ declared: Declared, admission: Admission, maxBody: Int) async throws -> ByteBuffer {
        var body = ByteBuffer()
        do {
            for try await piece in request.body {
                guard piece.readableBytes <= maxBody - body.readableBytes else { throw tooLarge(maxBody) }
                // A declared length was charged at admission; a chunked body is charged as it comes.
                let beyond = body.readableBytes + piece.readableBytes - max(declared.length ?? 0, body.readableBytes)
                if beyond > 0 {
                    guard admission.hold(beyond) else { throw admission.overInflightBound() }
                }
                var piece = piece
                body.writeBuffer(&piece)
                admission.bytesRead = body.readableBytes
            }
        } catch let error as APIError {
            throw error
        } catch ConnectionGuard.BodyInterrupted.timedOut {
            throw APIError(.requestTimeout, "timeout", "the request body made no progress in time (--body-timeout); nothing was stored")
        } catch ConnectionGuard.BodyInterrupted.shuttingDown {
            throw APIError(.serviceUnavailable, "draining", "this node is shutting down; nothing was stored, retry", retryAfter: 1)
        } catch is HTTPParserError {
            throw APIError(.badRequest, "malformed_body", "the request body is malformed (a bad chunk size or a body cut short); nothing was stored")
        } catch {
            throw APIError(.badRequest, "malformed_body", "the request body could not be read to its end; nothing was stored")
        }
        if let length = declared.length, body.readableBytes != length {
            throw APIError(.badRequest, "malformed_body", "the body has \(body.readableBytes) bytes, not its Content-Length of \(length); nothing was stored")
        }
        switch declared.coding {
        case .identity:
            return body
        case .gzip, .deflate, .zstd, .snappy:
            do {
                return try decode(body, declared.coding, maxBody: maxBody, admission: admission)
            } catch .tooLarge {
                throw decodedTooLarge(maxBody)
            } catch .refused {
                throw admission.overInflightBound()
            } catch .truncated {
                throw APIError(.badRequest, declared.coding.name, "the \(declared.coding.name) body ends \(declared.coding.end); nothing was stored")
            } catch let .corrupt(reason) {
                throw APIError(.badRequest, declared.coding.name, "the body is not valid \(declared.coding.name) (\(reason)); nothing was stored")
            }
        }
    }

    /// The body in `coding`, decoded within `maxBody`, each growth charged to `admission`.
    private static func decode(_ body: ByteBuffer, _ coding: ContentCoding, maxBody: Int, admission: Admission) throws(DecodingFailure) -> ByteBuffer {
        let grow = { (bytes: Int) in admission.hold(bytes) }
        switch coding {
        case .identity: return body
        case .gzip: return try GzipDecoding.decode(body, format: .gzip, maxSize: maxBody, grow: grow)
        case .deflate: return try GzipDecoding.decode(body, format: .deflate, maxSize: maxBody, grow: grow)
        case .zstd: return try body.withUnsafeReadableBytes { raw throws(DecodingFailure) in try Zstd.decode(raw, maxSize: maxBody, grow: grow) }
        case .snappy: return try body.withUnsafeReadableBytes { raw throws(DecodingFailure) in try Snappy.decodeFramed(raw, maxSize: maxBody, grow: grow) }
        }
    }

    static func decodedTooLarge(_ maxBody: Int) -> APIError {
        APIError(.contentTooLarge, "size", "the body decompresses to more than \(maxBody) bytes (--max-body); send smaller requests")
    }

    static func tooLarge(_ maxBody: Int) -> APIError {
        APIError(.contentTooLarge, "size", "the body is larger than \(maxBody) bytes (--max-body); send smaller requests")
    }

    /// Counts the body's lines and finds the first longer than `maxLine` (1-based), with `memchr`.
    static func scanLines(_ body: UnsafeRawBufferPointer, maxLine: Int) -> (lines: Int, tooLong: Int?) {
        guard let base = body.baseAddress else { return (0, nil) }
        var start = 0
        var line = 0
        while start < body.count {
            line += 1
            let end = memchr(base + start, 0x0A, body.count - start).map { base.distance(to: UnsafeRawPointer($0)) } ?? body.count
            if end - start > maxLine { return (line, line) }
            start = end + 1
        }
        return (line, nil)
    }
}
