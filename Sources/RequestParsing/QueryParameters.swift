/// A request's query string (`a=1&b=x%20y`), decoded strictly: `%XX` escapes must be two hex
/// digits and decode to UTF-8, `+` is a space. Bounded: at most `maxParameters` pairs are kept.
/// Never traps, whatever the bytes (fuzzed by `Tests/Fuzz/RequestParsingFuzz.swift`).
public struct QueryParameters: Sendable, Equatable {
    public private(set) var pairs: [(name: String, value: String)] = []

    public static let maxParameters = 64

    /// Why a query string was refused.
    public enum ParseError: Error, Equatable, Sendable {
        case badEscape(parameter: Int)
        case notUTF8(parameter: Int)
        case tooMany
    }

    public init(parsing query: String) throws(ParseError) {
        let parts = Array(query.utf8).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true)
        guard parts.count <= Self.maxParameters else { throw .tooMany }
        for (index, part) in parts.enumerated() {
            let halves = part.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(halves.first ?? [], parameter: index + 1)
            let value = halves.count > 1 ? try Self.decode(halves[1], parameter: index + 1) : ""
            pairs.append((name, value))
        }
    }

    /// The first value of `name`, if any.
    public func first(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// A whole number in `range` from the decimal digits `text`, or nil.
    public static func integer(_ text: String, in range: ClosedRange<Int>) -> Int? {
        let bytes = text.utf8
        guard (1...18).contains(bytes.count), bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let value = bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return range.contains(value) ? value : nil
    }

    private static func decode(_ bytes: ArraySlice<UInt8>, parameter: Int) throws(ParseError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                let h = bytes.index(after: i)
                guard h < bytes.endIndex, bytes.index(after: h) < bytes.endIndex,
                      let high = hex(bytes[h]), let low = hex(bytes[bytes.index(after: h)]) else { throw .badEscape(parameter: parameter) }
                out.append(high << 4 | low)
                i = bytes.index(h, offsetBy: 2)
                continue
            }
            out.append(c == UInt8(ascii: "+") ? 0x20 : c)
            i = bytes.index(after: i)
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .notUTF8(parameter: parameter) }
        return text
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    public static func == (a: QueryParameters, b: QueryParameters) -> Bool {
        a.pairs.elementsEqual(b.pairs) { $0.name == $1.name && $0.value == $1.value }
    }
}
