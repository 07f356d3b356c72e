#if canImport(Glibc)
import Glibc
#endif

/// A compiled LIKE / ILIKE pattern: `%` matches any run of characters, `_` one character.
/// Patterns of the common shapes (`abc`, `abc%`, `%abc`, `%abc%`) match with a prefix, suffix or
/// substring search; others with a backtracking matcher. ILIKE folds ASCII letters, and every
/// other character with Unicode's lower-casing.
public struct LikePattern: Sendable {
    enum Shape: Sendable {
        case exact([UInt8]), prefix([UInt8]), suffix([UInt8]), contains([UInt8]), general([PatternPart])
    }

    enum PatternPart: Sendable, Equatable {
        case literal([UInt8]), anyCharacter, anyRun
    }

    let shape: Shape
    let caseInsensitive: Bool

    public init(_ pattern: String, caseInsensitive: Bool) {
        self.caseInsensitive = caseInsensitive
        let text = caseInsensitive ? pattern.lowercased() : pattern
        var parts: [PatternPart] = []
        var literal: [UInt8] = []
        for u in text.unicodeScalars {
            if u == "%" || u == "_" {
                if !literal.isEmpty { parts.append(.literal(literal)); literal = [] }
                if u == "_" { parts.append(.anyCharacter) } else if parts.last != .anyRun { parts.append(.anyRun) }
            } else {
                literal.append(contentsOf: String(u).utf8)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        func literalAt(_ i: Int) -> [UInt8]? {
            if case let .literal(l) = parts[i] { return l }
            return nil
        }
        switch parts.count {
        case 0:
            shape = .exact([])
        case 1:
            shape = literalAt(0).map { .exact($0) } ?? (parts[0] == .anyRun ? .contains([]) : .general(parts))
        case 2 where parts[1] == .anyRun && literalAt(0) != nil:
            shape = .prefix(literalAt(0) ?? [])
        case 2 where parts[0] == .anyRun && literalAt(1) != nil:
            shape = .suffix(literalAt(1) ?? [])
        case 3 where parts[0] == .anyRun && parts[2] == .anyRun && literalAt(1) != nil:
            shape = .contains(literalAt(1) ?? [])
        default:
            shape = .general(parts)
        }
    }

    /// The literal prefix every match starts with (for pruning by min/max), if the pattern is case-sensitive.
    public var requiredPrefix: [UInt8]? {
        guard !caseInsensitive else { return nil }
        switch shape {
        case let .exact(l), let .prefix(l): return l
        case let .general(parts): if case let .literal(l)? = parts.first { return l } else { return nil }
        default: return nil
        }
    }

    public func matches(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        if caseInsensitive {
            var isASCII = true
            for b in value where b >= 0x80 { isASCII = false; break }
            if isASCII {
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(value.count, 1)) { lower in
                    for (i, b) in value.enumerated() { lower[i] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
                    return matchFolded(UnsafeBufferPointer(rebasing: lower[0..<value.count]))
                }
            }
            let folded = Array(String(decoding: value, as: UTF8.self).lowercased().utf8)
            return folded.withUnsafeBufferPointer { matchFolded($0) }
        }
        return matchFolded(value)
    }

    private func matchFolded(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        switch shape {
        case let .exact(l): return v.count == l.count && v.elementsEqual(l)
        case let .prefix(l): return v.count >= l.count && v.prefix(l.count).elementsEqual(l)
        case let .suffix(l): return v.count >= l.count && v.suffix(l.count).elementsEqual(l)
        case let .contains(l):
            if l.isEmpty { return true }
            return Self.contains(v, l)
        case let .general(parts):
            return Self.match(parts[...], v[...])
        }
    }

    /// Substring search: `memchr` to the next candidate first byte, then `memcmp`.
    private static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let base = haystack.baseAddress, let first = needle.first else { return false }
        return needle.withUnsafeBufferPointer { n in
            let last = haystack.count - needle.count
            var i = 0
            while i <= last {
                guard let hit = memchr(base + i, Int32(first), last - i + 1) else { return false }
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + at, n.baseAddress!, needle.count) == 0 { return true }
                i = at + 1
            }
            return false
        }
    }

    /// Backtracking match; `_` consumes one UTF-8 character.
    private static func match(_ parts: ArraySlice<PatternPart>, _ v: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard let first = parts.first else { return v.isEmpty }
        let rest = parts.dropFirst()
        switch first {
        case let .literal(l):
            guard v.count >= l.count, v.prefix(l.count).elementsEqual(l) else { return false }
            return match(rest, v.dropFirst(l.count))
        case .anyCharacter:
            guard let lead = v.first else { return false }
            let width = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            return v.count >= width && match(rest, v.dropFirst(width))
        case .anyRun:
            if rest.isEmpty { return true }
            var tail = v
            while true {
                if match(rest, tail) { return true }
                guard !tail.isEmpty else { return false }
                tail = tail.dropFirst()
            }
        }
    }
}
