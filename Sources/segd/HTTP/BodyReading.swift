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
/// request's `Admission` as it arrives, and decoded strictly (`GzipDecoding`). A body cut short
/// (a timeout, shutdown, a malformed chunk, a closed connection) is an error, never a shorter body.
enum BodyReading {
    /// The content codings a body may come in. Protocol adapters add theirs here.
    enum ContentCoding: Equatable {
        case identity
        case gzip
    }

    /// The media types a route takes, and how to name them in a 415.
    struct MediaTypes: Sendable {
        let accepted: Set<String>
        let hint: String

        /// NDJSON, under every name it goes by.
        static let ndjson = MediaTypes(
            accepted: ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/json-seq"],
            hint: "send NDJSON as application/x-ndjson")
    }

    /// What the headers say about the body.
    struct Declared {
        let coding: ContentCoding
        /// `Content-Length`; nil for a chunked body.
        let length: Int?
        let expectsContinue: Bool
    }

    /// Checks the headers: 415 for a media type or content coding not taken, 411 without a length
    /// or chunked coding, 413 for a declared length over `maxBody`, 400 for a malformed length.
    static func inspect(_ headers: HTTPFields, mediaTypes: MediaTypes, maxBody: Int) throws -> Declared {
        let contentType = headers[.contentType]
        guard let contentType, let mediaType = RequestHeaders.mediaType(contentType), mediaTypes.accepted.contains(mediaType) else {
            let shown = contentType.map { "'\(ConnectionGuard.printable($0))'" } ?? "missing"
            throw APIError(.unsupportedMediaType, "content_type", "Content-Type \(shown): \(mediaTypes.hint)")
        }
        let coding: ContentCoding
        switch headers[.contentEncoding].map(RequestHeaders.codings) {
        case nil, .some([]), .some(["identity"]): coding = .identity
        case .some(["gzip"]), .some(["x-gzip"]): coding = .gzip
        default:
            let shown = ConnectionGuard.printable(headers[.contentEncoding] ?? "")
            throw APIError(.unsupportedMediaType, "content_encoding", "Content-Encoding '\(shown)' is not supported: use gzip or none")
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
        return Declared(coding: coding, length: length, expectsContinue: expectsContinue)
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
        case .gzip:
            do {
                return try GzipDecoding.decode(body, maxSize: maxBody) { admission.hold($0) }
            } catch .tooLarge {
                throw APIError(.contentTooLarge, "size", "the body decompresses to more than \(maxBody) bytes (--max-body); send smaller requests")
            } catch .refused {
                throw admission.overInflightBound()
            } catch .truncated {
                throw APIError(.badRequest, "gzip", "the gzip body ends before its last member's trailer; nothing was stored")
            } catch let .corrupt(reason) {
                throw APIError(.badRequest, "gzip", "the body is not valid gzip (\(reason)); nothing was stored")
            }
        }
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
