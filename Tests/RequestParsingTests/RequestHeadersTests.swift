import RequestParsing
import Testing

@Suite struct RequestHeadersTests {
    @Test func mediaTypesAreParsedWithoutTheirParameters() {
        #expect(RequestHeaders.mediaType("application/x-ndjson") == "application/x-ndjson")
        #expect(RequestHeaders.mediaType(" Application/X-NDJSON ; charset=utf-8") == "application/x-ndjson")
    }

    @Test func emptyAndMalformedContentTypesHaveNoMediaType() {
        for value in ["", ";", " ; ", "application", "/json", "application/", "app lication/json", "a/b/c", "\u{0}/x"] {
            #expect(RequestHeaders.mediaType(value) == nil, "\(value)")
        }
    }

    @Test func codingsAreListedInOrderAndLowercased() {
        #expect(RequestHeaders.codings("gzip") == ["gzip"])
        #expect(RequestHeaders.codings(" GZIP , identity") == ["gzip", "identity"])
        #expect(RequestHeaders.codings("") == [])
        #expect(RequestHeaders.codings(",,") == [])
        #expect(RequestHeaders.codings("gz ip") == nil)
    }

    @Test func onlyExactlyChunkedIsATransferCodingWeRead() {
        #expect(RequestHeaders.transferCoding("chunked") == .chunked)
        #expect(RequestHeaders.transferCoding(" Chunked ") == .chunked)
        #expect(RequestHeaders.transferCoding("gzip, chunked") == .unsupported("gzip, chunked"))
        #expect(RequestHeaders.transferCoding("") == .unsupported(""))
    }

    @Test func bearerTokensNeedTheSchemeAndToken68Characters() {
        #expect(RequestHeaders.bearerToken("Bearer abc.DEF-123_~+/=") == "abc.DEF-123_~+/=")
        #expect(RequestHeaders.bearerToken("bearer   tok") == "tok")
        for value in ["", "Bearer", "Bearer ", "Bearer  ", "Basic abc", "Bearer a b", "Bearerabc", "Bearer \u{e9}"] {
            #expect(RequestHeaders.bearerToken(value) == nil, "\(value)")
        }
    }

    @Test func contentLengthIsDigitsThatFitAnInt() {
        #expect(RequestHeaders.contentLength("0") == 0)
        #expect(RequestHeaders.contentLength(" 42 ") == 42)
        for value in ["", "-1", "+1", "1 2", "0x10", "9223372036854775807", "999999999999999999999"] {
            #expect(RequestHeaders.contentLength(value) == nil, "\(value)")
        }
    }

    @Test func expectationsOtherThanContinueAreUnsupported() {
        #expect(RequestHeaders.expectation("100-continue") == .continueBeforeBody)
        #expect(RequestHeaders.expectation(" 100-Continue") == .continueBeforeBody)
        #expect(RequestHeaders.expectation("") == .unsupported)
        #expect(RequestHeaders.expectation("200-ok") == .unsupported)
    }

    @Test func idempotencyKeysArePrintableASCIIWithoutSpaces() {
        #expect(RequestHeaders.idempotencyKey("k-1") == "k-1")
        #expect(RequestHeaders.idempotencyKey(String(repeating: "x", count: 255)) != nil)
        for value in ["", "a b", String(repeating: "x", count: 256), "caf\u{e9}", "a\tb"] {
            #expect(RequestHeaders.idempotencyKey(value) == nil)
        }
    }
}
