// libFuzzer target: any bytes as the header values, query string and path segment segd reads
// from a request (Content-Type, Content-Encoding, Transfer-Encoding, Authorization,
// Idempotency-Key, Content-Length, Expect, `?n=`, `{stream}`). Nothing may crash, and what is
// accepted must hold its promises. Built by tools/fuzz against static RequestParsing and
// SegmentFormat libraries instrumented the same way.

import RequestParsing
import SegmentFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParsing(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    // Fields are separated by NUL bytes, which never occur in a header value NIO hands on.
    for field in input.split(separator: 0, omittingEmptySubsequences: false) {
        check(String(decoding: field, as: UTF8.self))
    }
    return 0
}

private func check(_ text: String) {
    if let media = RequestHeaders.mediaType(text) {
        if media.utf8.filter({ $0 == UInt8(ascii: "/") }).count != 1 || media != media.lowercased() {
            fatalError("media type '\(media)' from '\(text)'")
        }
    }
    if let codings = RequestHeaders.codings(text), codings.contains(where: \.isEmpty) {
        fatalError("empty coding from '\(text)'")
    }
    _ = RequestHeaders.transferCoding(text)
    _ = RequestHeaders.expectation(text)
    if let token = RequestHeaders.bearerToken(text), token.isEmpty || !text.hasSuffix(token) {
        fatalError("token '\(token)' from '\(text)'")
    }
    if let length = RequestHeaders.contentLength(text), length < 0 {
        fatalError("negative length from '\(text)'")
    }
    if let key = RequestHeaders.idempotencyKey(text), key.utf8.count > 255 {
        fatalError("key too long")
    }
    if let query = try? QueryParameters(parsing: text) {
        if query.pairs.count > QueryParameters.maxParameters { fatalError("too many pairs") }
        if let n = query.first("n").flatMap({ QueryParameters.integer($0, in: 1...10_000) }), !(1...10_000).contains(n) {
            fatalError("n out of range")
        }
    }
    _ = QueryParameters.integer(text, in: 1...10_000)
    if StreamSchema.isValidName(text), text.contains("/") || text.contains(".") || text.hasPrefix("_") {
        fatalError("stream name '\(text)' could escape its directory")
    }
}
