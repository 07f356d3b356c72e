/// One column of one block, decoded: which rows are null or absent, and the values of the others.
public struct DecodedChunk: Sendable {
    public let rowCount: Int
    /// Null bitmap over the block's rows (nil: no row is null).
    public let nulls: [UInt8]?
    /// Absent bitmap over the block's rows (nil: no row is absent).
    public let absents: [UInt8]?
    /// Values of the rows that are neither null nor absent, in row order.
    public let values: ColumnValues
    /// For a json or extra chunk rebuilt from shredded columns: how many of its leaves (or whole
    /// values) no shredded column took. 0 means every path's values are in the block's shredded
    /// columns; nil for a chunk that was not shredded.
    public let residualCount: Int?

    public init(rowCount: Int, nulls: [UInt8]?, absents: [UInt8]?, values: ColumnValues, residualCount: Int? = nil) {
        self.rowCount = rowCount
        self.nulls = nulls
        self.absents = absents
        self.values = values
        self.residualCount = residualCount
    }

    /// Whether any row lacks a value.
    public var hasMissing: Bool { nulls != nil || absents != nil }

    @inline(__always)
    public func isNull(_ row: Int) -> Bool {
        guard let nulls else { return false }
        return nulls[row >> 3] & (1 << UInt8(row & 7)) != 0
    }

    @inline(__always)
    public func isAbsent(_ row: Int) -> Bool {
        guard let absents else { return false }
        return absents[row >> 3] & (1 << UInt8(row & 7)) != 0
    }
}

/// A chunk's values, dense: value `i` belongs to the `i`-th row that has one.
public enum ColumnValues: Sendable {
    case none
    /// Integers and timestamps (ns).
    case integers([Int64])
    case numbers([Double])
    /// Booleans as 0/1.
    case booleans([UInt8])
    /// Strings, json text, or extra members.
    case strings(StringValues)
    /// Strings as sorted entries and one code per value.
    case dictionary(entries: StringValues, codes: [UInt32])

    public var count: Int {
        switch self {
        case .none: 0
        case let .integers(v): v.count
        case let .numbers(v): v.count
        case let .booleans(v): v.count
        case let .strings(v): v.count
        case let .dictionary(_, codes): codes.count
        }
    }
}
