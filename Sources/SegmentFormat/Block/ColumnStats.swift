/// Min and max of a chunk's values, stored in the footer so readers can skip blocks unread.
public enum ColumnStats: Sendable, Equatable {
    case none
    /// Integers, timestamps (ns) and booleans (0/1).
    case integer(min: Int64, max: Int64)
    case number(min: Double, max: Double)
    /// Strings. When `maxTruncated`, the true max starts with `max` and may go on.
    case bytes(min: [UInt8], max: [UInt8], maxTruncated: Bool)

    var kind: UInt8 {
        switch self {
        case .none: 0
        case .integer: 1
        case .number: 2
        case .bytes: 3
        }
    }

    /// The stats of a shredded-json chunk: integer, both bounds the number of residual values
    /// (spec: Shredded paths), so that a reader knows from the footer whether a path's shredded
    /// column holds all its values.
    public static func residual(_ count: Int) -> ColumnStats { .integer(min: Int64(count), max: Int64(count)) }

    static func of(_ builder: ColumnBuilder) -> ColumnStats {
        switch builder.descriptor.type {
        case .integer, .timestamp:
            guard var lo = builder.integers.first else { return .none }
            var hi = lo
            for v in builder.integers {
                if v < lo { lo = v }
                if v > hi { hi = v }
            }
            return .integer(min: lo, max: hi)
        case .boolean:
            guard !builder.booleans.isEmpty else { return .none }
            return .integer(min: builder.booleans.contains(0) ? 0 : 1, max: builder.booleans.contains(1) ? 1 : 0)
        case .number:
            guard var lo = builder.numbers.first else { return .none }
            var hi = lo
            for v in builder.numbers {
                if v < lo { lo = v }
                if v > hi { hi = v }
            }
            return .number(min: lo, max: hi)
        case .string:
            let s = builder.strings
            guard s.count > 0 else { return .none }
            var lo = 0, hi = 0
            for i in 1..<s.count {
                if s.compare(i, lo) < 0 { lo = i }
                if s.compare(i, hi) > 0 { hi = i }
            }
            let cut = FormatConstants.maxStatBytes
            return .bytes(min: Array(s[lo].prefix(cut)), max: Array(s[hi].prefix(cut)), maxTruncated: s.length(hi) > cut)
        case .json, .extra:
            return .none
        }
    }

    func write(_ w: inout ByteWriter) {
        w.u8(kind)
        switch self {
        case .none: break
        case let .integer(lo, hi): w.i64(lo); w.i64(hi)
        case let .number(lo, hi): w.f64(lo); w.f64(hi)
        case let .bytes(lo, hi, truncated):
            w.u8(truncated ? 1 : 0)
            w.str16(lo)
            w.str16(hi)
        }
    }

    static func read(_ r: inout ByteReader) throws -> ColumnStats {
        switch try r.u8() {
        case 0: return .none
        case 1: return .integer(min: try r.i64(), max: try r.i64())
        case 2: return .number(min: try r.f64(), max: try r.f64())
        case 3:
            let flags = try r.u8()
            guard flags <= 1 else { throw FormatError("unknown string stats flags \(flags)") }
            return .bytes(min: try r.str16(), max: try r.str16(), maxTruncated: flags == 1)
        case let k: throw FormatError("unknown stats kind \(k)")
        }
    }
}
