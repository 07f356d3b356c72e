/// The type of a column's values, with its code in the segment's column table.
public enum ColumnType: UInt8, Sendable, CaseIterable {
    case string = 1
    case timestamp = 2
    case integer = 3
    case number = 4
    case boolean = 5
    /// An object or array field, kept as its JSON text.
    case json = 6
    /// The record's fields the schema does not name, as JSON object members (`"a":1,"b":2`).
    case extra = 7

    public var name: String {
        switch self {
        case .string: "string"
        case .timestamp: "timestamp"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .json: "json"
        case .extra: "extra"
        }
    }
}

/// One column of a segment: a schema property (or the extra column) and how its values are typed.
public struct ColumnDescriptor: Sendable, Equatable {
    public let name: String
    public let nameBytes: [UInt8]
    public let type: ColumnType
    public let nullable: Bool
    public let required: Bool
    public let isTimestamp: Bool

    public init(name: String, type: ColumnType, nullable: Bool = false, required: Bool = false, isTimestamp: Bool = false) {
        self.name = name
        self.nameBytes = Array(name.utf8)
        self.type = type
        self.nullable = nullable
        self.required = required
        self.isTimestamp = isTimestamp
    }

    /// The extra column: unknown fields of records whose schema allows additional properties.
    public static let extra = ColumnDescriptor(name: "", type: .extra, nullable: false)

    var flags: UInt8 {
        (nullable ? 1 : 0) | (required ? 2 : 0) | (isTimestamp ? 4 : 0) | (type == .extra ? 8 : 0)
    }
}
