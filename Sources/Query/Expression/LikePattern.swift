#if canImport(Glibc)
import Glibc
#endif

/// A compiled LIKE / ILIKE pattern: `%` matches any run of characters, `_` exactly one character
/// (one Unicode scalar, as in DuckDB). Patterns of the common shapes (`abc`, `abc%`, `%abc`,
/// `%abc%`) match with a prefix, suffix or substring search; the others by greedy segment
/// matching: the pattern is cut at its `%` signs, the first segment must match at the start, the
/// last at the end, and each one between at its leftmost place after the one before. That is
/// correct because the segments between two `%` signs may stretch freely, and it takes O(n·m)
/// for a value of n bytes and a pattern of m, never the exponential time of backtracking.
///
/// ILIKE folds both sides one scalar at a time with Unicode's simple lower-case mapping (one
/// scalar to one scalar: 'İ' becomes 'i', not Swift's two-scalar "i̇"), so `_` still matches one
/// character of the value.
///
/// Hot path of `--where` over strings (once per dictionary entry or per value); guarded by
/// `tools/bench/query` (loghub ILIKE).
public struct LikePattern: Sendable {
    enum Shape: Sendable {
        case exact([UInt8]), prefix([UInt8]), suffix([UInt8]), contains([UInt8])
        /// Segments between `%` signs; `anchoredStart`/`anchoredEnd` when the pattern does not
        /// begin/end with `%`.
        case general(segments: [[PatternPart]], anchoredStart: Bool, anchoredEnd: Bool)
    }

    enum PatternPart: Sendable, Equatable {
        case literal([UInt8]), anyCharacter
    }

    let shape: Shape
    let caseInsensitive: Bool

    public init(_ pattern: String, caseInsensitive: Bool) {
        self.caseInsensitive = caseInsensitive
        // Segments of parts, split at runs of `%`.
        var segments: [[PatternPart]] = [[]]
        var literal: [UInt8] = []
        func endLiteral() {
            if !literal.isEmpty { segments[segments.count - 1].append(.literal(literal)); literal = [] }
        }
        let scalars = Array(pattern.unicodeScalars)
        for u in scalars {
            switch u {
            case "%":
                endLiteral()
                if !segments[segments.count - 1].isEmpty { segments.append([]) }
            case "_":
                endLiteral()
                segments[segments.count - 1].append(.anyCharacter)
            default:
                let folded = caseInsensitive ? Self.fold(u) : u
                literal.append(contentsOf: String(folded).utf8)
            }
        }
        endLiteral()
        let anchoredStart = scalars.first != "%"
        let anchoredEnd = scalars.last != "%"
        segments.removeAll { $0.isEmpty }
        func onlyLiteral(_ segment: [PatternPart]) -> [UInt8]? {
            guard segment.count == 1, case let .literal(l) = segment[0] else { return nil }
            return l
        }
        if segments.isEmpty {
            shape = anchoredStart && anchoredEnd ? .exact([]) : .contains([])
        } else if segments.count == 1, let l = onlyLiteral(segments[0]) {
            switch (anchoredStart, anchoredEnd) {
            case (true, true): shape = .exact(l)
            case (true, false): shape = .prefix(l)
            case (false, true): shape = .suffix(l)
            case (false, false): shape = .contains(l)
            }
        } else {
            shape = .general(segments: segments, anchoredStart: anchoredStart, anchoredEnd: anchoredEnd)
        }
    }

    /// The literal prefix every match starts with (for pruning by min/max), if the pattern is case-sensitive.
    public var requiredPrefix: [UInt8]? {
        guard !caseInsensitive else { return nil }
        switch shape {
        case let .exact(l), let .prefix(l): return l
        case let .general(segments, anchoredStart, _):
            guard anchoredStart, case let .literal(l)? = segments.first?.first else { return nil }
            return l
        default: return nil
        }
    }

    public func matches(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        guard caseInsensitive else { return matchFolded(value) }
        var isASCII = true
        for b in value where b >= 0x80 { isASCII = false; break }
        if isASCII {
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(value.count, 1)) { lower in
                for (i, b) in value.enumerated() { lower[i] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
                return matchFolded(UnsafeBufferPointer(rebasing: lower[0..<value.count]))
            }
        }
        var folded: [UInt8] = []
        folded.reserveCapacity(value.count + 8)
        for u in String(decoding: value, as: UTF8.self).unicodeScalars {
            folded.append(contentsOf: String(Self.fold(u)).utf8)
        }
        return folded.withUnsafeBufferPointer { matchFolded($0) }
    }

    /// Unicode's simple lower-case mapping: the full mapping when it is one scalar; for the one
    /// scalar whose full mapping is longer ('İ' → "i̇"), its first scalar, which is the simple one.
    static func fold(_ u: Unicode.Scalar) -> Unicode.Scalar {
        if u.isASCII { return u.value >= 0x41 && u.value <= 0x5A ? Unicode.Scalar(UInt8(u.value) | 0x20) : u }
        return u.properties.lowercaseMapping.unicodeScalars.first ?? u
    }

    private func matchFolded(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        switch shape {
        case let .exact(l): return v.count == l.count && v.elementsEqual(l)
        case let .prefix(l): return v.count >= l.count && v.prefix(l.count).elementsEqual(l)
        case let .suffix(l): return v.count >= l.count && v.suffix(l.count).elementsEqual(l)
        case let .contains(l):
            if l.isEmpty { return true }
            return Self.find(v, l, from: 0) != nil
        case let .general(segments, anchoredStart, anchoredEnd):
            return Self.matchSegments(segments, anchoredStart: anchoredStart, anchoredEnd: anchoredEnd, v)
        }
    }

    private static func matchSegments(_ segments: [[PatternPart]], anchoredStart: Bool, anchoredEnd: Bool,
                                      _ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var position = 0
        var first = 0
        var last = segments.count
        if anchoredStart {
            guard let end = matchAt(segments[0], v, position) else { return false }
            position = end
            first = 1
            if segments.count == 1 { return !anchoredEnd || end == v.count }
        }
        if anchoredEnd {
            last -= 1
            if first > last { return false }
        }
        for s in first..<last {
            guard let end = leftmost(segments[s], v, from: position) else { return false }
            position = end
        }
        guard anchoredEnd else { return true }
        // The last segment ends at the end: it spans a fixed number of characters, so it starts
        // that many characters back, which must not overlap what the others matched.
        guard let start = startOfSuffix(segments[last], v), start >= position else { return false }
        return matchAt(segments[last], v, start) == v.count
    }

    /// Where `segment` ends when matched at `start`, or nil.
    private static func matchAt(_ segment: [PatternPart], _ v: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        var i = start
        for part in segment {
            switch part {
            case let .literal(l):
                guard v.count - i >= l.count else { return nil }
                for k in 0..<l.count where v[i + k] != l[k] { return nil }
                i += l.count
            case .anyCharacter:
                guard i < v.count else { return nil }
                i += width(v[i])
                if i > v.count { return nil }
            }
        }
        return i
    }

    /// The end of the leftmost match of `segment` at or after `from`, starting on a character boundary.
    private static func leftmost(_ segment: [PatternPart], _ v: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        if case let .literal(l)? = segment.first, segment.count == 1 {
            return find(v, l, from: from).map { $0 + l.count }
        }
        var start = from
        while start <= v.count {
            if let end = matchAt(segment, v, start) { return end }
            guard start < v.count else { return nil }
            start += width(v[start])
        }
        return nil
    }

    /// Where a segment that ends at the end of `v` starts: its characters counted back from the end.
    private static func startOfSuffix(_ segment: [PatternPart], _ v: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = v.count
        for part in segment.reversed() {
            switch part {
            case let .literal(l):
                i -= l.count
                if i < 0 { return nil }
            case .anyCharacter:
                // Back over continuation bytes to the lead byte of the character before `i`.
                guard i > 0 else { return nil }
                i -= 1
                while i > 0 && v[i] & 0xC0 == 0x80 { i -= 1 }
            }
        }
        return i
    }

    /// Bytes of the UTF-8 character whose lead byte is `lead` (1 for a stray continuation byte).
    @inline(__always)
    private static func width(_ lead: UInt8) -> Int {
        lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    /// Offset of the first occurrence of `needle` at or after `from`: `memchr` to the next
    /// candidate first byte, then `memcmp`.
    private static func find(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8], from: Int) -> Int? {
        guard haystack.count - from >= needle.count, let base = haystack.baseAddress, let first = needle.first else {
            return needle.isEmpty && from <= haystack.count ? from : nil
        }
        return needle.withUnsafeBufferPointer { n -> Int? in
            let last = haystack.count - needle.count
            var i = from
            while i <= last {
                guard let hit = memchr(base + i, Int32(first), last - i + 1) else { return nil }
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + at, n.baseAddress!, needle.count) == 0 { return at }
                i = at + 1
            }
            return nil
        }
    }
}
