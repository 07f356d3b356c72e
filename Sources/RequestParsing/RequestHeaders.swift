/// The request headers segd reads, parsed strictly from whatever bytes a client sent. Every
/// function here takes any string and returns a typed value or a typed refusal; none traps
/// (`Tests/Fuzz/RequestParsingFuzz.swift` feeds them random bytes).
public enum RequestHeaders {
    /// The media type of a `Content-Type` value (`type/subtype`, lowercased, parameters dropped),
    /// or nil when the value has no well-formed type (empty, `;`, no slash, bad characters).
    public static func mediaType(_ value: String) -> String? {
        let essence = value.utf8.split(separator: UInt8(ascii: ";"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        let trimmed = Token.trimmingWhitespace(essence)
        guard let slash = trimmed.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let type = trimmed[trimmed.startIndex..<slash]
        let subtype = trimmed[trimmed.index(after: slash)...]
        guard Token.isToken(type), Token.isToken(subtype) else { return nil }
        return String(decoding: trimmed.map(Token.lowercased), as: UTF8.self)
    }

    /// A `Content-Encoding` or `Transfer-Encoding` value as a list of codings, lowercased, in the
    /// order they were applied; nil when an element is not a token. Empty elements are skipped,
    /// as RFC 9110 §5.6.1 asks of a recipient.
    public static func codings(_ value: String) -> [String]? {
        var codings: [String] = []
        for element in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let trimmed = Token.trimmingWhitespace(element)
            if trimmed.isEmpty { continue }
            guard Token.isToken(trimmed) else { return nil }
            codings.append(String(decoding: trimmed.map(Token.lowercased), as: UTF8.self))
        }
        return codings
    }

    /// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC 6750
    /// token68 characters), or nil.
    public static func bearerToken(_ value: String) -> Substring? {
        let bytes = Array(value.utf8)
        guard bytes.count > 7, bytes[0..<6].map(Token.lowercased) == Array("bearer".utf8), bytes[6] == UInt8(ascii: " ") else { return nil }
        var start = 7
        while start < bytes.count && bytes[start] == UInt8(ascii: " ") { start += 1 }
        let token = bytes[start...]
        guard !token.isEmpty, token.allSatisfy(Token.isToken68) else { return nil }
        let utf8 = value.utf8
        let from = utf8.index(utf8.startIndex, offsetBy: start)
        return value[from...]
    }

    /// A `Content-Length` value: decimal digits only (no sign, no spaces inside), at most 18 of
    /// them so that it fits an `Int`; nil otherwise.
    public static func contentLength(_ value: String) -> Int? {
        let bytes = Token.trimmingWhitespace(value.utf8[...])
        guard (1...18).contains(bytes.count), bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// What an `Expect` header asks for.
    public enum Expectation: Equatable, Sendable {
        /// `100-continue`: send `100 Continue` before reading the body, or refuse from the headers.
        case continueBeforeBody
        /// Anything else, which RFC 9110 §10.1.1 answers with 417.
        case unsupported
    }

    public static func expectation(_ value: String) -> Expectation {
        let trimmed = Token.trimmingWhitespace(value.utf8[...])
        return trimmed.map(Token.lowercased) == Array("100-continue".utf8) ? .continueBeforeBody : .unsupported
    }

    /// A transfer coding the server can read.
    public enum TransferCoding: Equatable, Sendable {
        case chunked
        /// Any list other than exactly `chunked` (RFC 9112 §6.1: answer 501).
        case unsupported(String)
    }

    public static func transferCoding(_ value: String) -> TransferCoding {
        guard let codings = codings(value), codings == ["chunked"] else { return .unsupported(value) }
        return .chunked
    }

    /// An `Idempotency-Key` value: 1 to 255 printable ASCII characters without spaces, or nil.
    public static func idempotencyKey(_ value: String) -> String? {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= 255, bytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else { return nil }
        return value
    }
}

/// RFC 9110 tokens and whitespace, on bytes.
enum Token {
    static func isTokenCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }

    static func isToken<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        !bytes.isEmpty && bytes.allSatisfy(isTokenCharacter)
    }

    /// RFC 6750 `b64token`: letters, digits, `-._~+/` and trailing `=`.
    static func isToken68(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("-._~+/=".utf8).contains(c)
        }
    }

    static func lowercased(_ c: UInt8) -> UInt8 {
        c >= 0x41 && c <= 0x5A ? c + 0x20 : c
    }

    static func trimmingWhitespace<C: BidirectionalCollection>(_ bytes: C) -> C.SubSequence where C.Element == UInt8 {
        let isSpace = { (c: UInt8) in c == 0x20 || c == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[bytes.endIndex...]
        }
        return bytes[first...last]
    }
}
