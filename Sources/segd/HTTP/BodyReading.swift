#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CompressNIO
import HTTPTypes
import Hummingbird
import NIOCore

/// Reads a request body within its bounds: the body size (`--max-body`, before and after content
/// decoding, so a small gzip body cannot expand without limit) and the length of any one line.
enum BodyReading {
    /// The media types NDJSON arrives under.
    static let mediaTypes: Set<String> = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/json-seq"]

    /// Checks the headers (content type and encoding, length) and returns the decoded body.
    static func read(_ request: Request, maxBody: Int) async throws -> ByteBuffer {
        let mediaType = request.headers[.contentType].map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
        guard let mediaType, mediaTypes.contains(mediaType) else {
            throw APIError(.unsupportedMediaType, "content_type",
                           "Content-Type \(mediaType.map { "'\($0)'" } ?? "missing"): send NDJSON as application/x-ndjson")
        }
        let encoding = request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() ?? "identity"
        guard ["identity", "gzip", "x-gzip"].contains(encoding) else {
            throw APIError(.unsupportedMediaType, "content_encoding", "Content-Encoding '\(encoding)' is not supported: use gzip or none")
        }
        if let length = request.headers[.contentLength] {
            guard let n = Int(length) else { throw APIError(.badRequest, "length", "Content-Length '\(length)' is not a number") }
            if n > maxBody { throw tooLarge(maxBody) }
        } else if request.headers[.transferEncoding]?.lowercased().contains("chunked") != true {
            throw APIError(.lengthRequired, "length", "send Content-Length (or a chunked body)")
        }
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBody)
        } catch is NIOTooManyBytesError {
            throw tooLarge(maxBody)
        }
        guard encoding != "identity" else { return body }
        do {
            return try body.decompress(with: .gzip(), maxSize: maxBody)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw APIError(.contentTooLarge, "size", "the body decompresses to more than \(maxBody) bytes (--max-body); send smaller requests")
        } catch {
            throw APIError(.badRequest, "gzip", "the body is not valid gzip: \(error)")
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
