/// Accumulates one column's values for the block being built: dense typed values for the rows
/// that have one, and the row numbers that are null or absent.
///
/// A reference type so the record parser can append without copying; not thread-safe (one builder
/// belongs to one writer at a time).
public final class ColumnBuilder {
    public let descriptor: ColumnDescriptor
    /// Integer and timestamp values.
    public var integers: [Int64] = []
    public var numbers: [Double] = []
    /// Boolean values, 0 or 1.
    public var booleans: [UInt8] = []
    /// String, json and extra values.
    public var strings = StringValues()
    public var nullRows: [UInt32] = []
    public var absentRows: [UInt32] = []

    public init(_ descriptor: ColumnDescriptor) {
        self.descriptor = descriptor
    }

    public var valueCount: Int {
        switch descriptor.type {
        case .integer, .timestamp: integers.count
        case .number: numbers.count
        case .boolean: booleans.count
        case .string, .json, .extra: strings.count
        }
    }

    /// Bytes the values take in memory, the measure of a block's size bound.
    public var rawBytes: Int {
        switch descriptor.type {
        case .integer, .timestamp: integers.count * 8
        case .number: numbers.count * 8
        case .boolean: booleans.count
        case .string, .json, .extra: strings.bytes.count + strings.offsets.count * 4
        }
    }

    /// Undoes whatever was appended for `row`, the last row touched (used when a record turns out invalid).
    public func removeLast(row: UInt32) {
        if nullRows.last == row {
            nullRows.removeLast()
        } else if absentRows.last == row {
            absentRows.removeLast()
        } else {
            switch descriptor.type {
            case .integer, .timestamp: integers.removeLast()
            case .number: numbers.removeLast()
            case .boolean: booleans.removeLast()
            case .string, .json, .extra: strings.removeLast()
            }
        }
    }

    public func removeAll() {
        integers.removeAll(keepingCapacity: true)
        numbers.removeAll(keepingCapacity: true)
        booleans.removeAll(keepingCapacity: true)
        strings.removeAll()
        nullRows.removeAll(keepingCapacity: true)
        absentRows.removeAll(keepingCapacity: true)
    }
}

/// The rows of the block being built, one `ColumnBuilder` per column of the stream.
/// Filled by the record parser (or a `BlockAssembler`), drained by `BlockEncoder`. Not thread-safe.
public final class BlockBuilder {
    public let columns: [ColumnDescriptor]
    public let builders: [ColumnBuilder]
    /// Rows appended and committed so far.
    public var rowCount = 0
    public init(columns: [ColumnDescriptor]) {
        self.columns = columns
        self.builders = columns.map(ColumnBuilder.init)
    }

    public var rawBytes: Int { builders.reduce(0) { $0 + $1.rawBytes } }

    public func removeAll() {
        for b in builders { b.removeAll() }
        rowCount = 0
    }
}
