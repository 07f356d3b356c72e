/// How a chunk's values are laid out before compression. Codes are fixed by the format spec.
public enum Encoding: UInt8, Sendable, CaseIterable {
    case empty = 0
    case plainInt64 = 1
    case forBitpack = 2
    case deltaBitpack = 3
    case deltaVarint = 4
    case dodVarint = 5
    case plainString = 16
    case dictString = 17
    case bitmap = 32
    case plainFloat64 = 48
    case xorFloat64 = 49

    public var name: String {
        switch self {
        case .empty: "empty"
        case .plainInt64: "plain-i64"
        case .forBitpack: "for-bitpack"
        case .deltaBitpack: "delta-bitpack"
        case .deltaVarint: "delta-varint"
        case .dodVarint: "dod-varint"
        case .plainString: "plain-string"
        case .dictString: "dict-string"
        case .bitmap: "bitmap"
        case .plainFloat64: "plain-f64"
        case .xorFloat64: "xor-f64"
        }
    }

    /// Whether this encoding may appear on a column of `type` (spec: Encodings table).
    public func applies(to type: ColumnType) -> Bool {
        switch self {
        case .empty: true
        case .plainInt64, .forBitpack, .deltaBitpack, .deltaVarint, .dodVarint: type == .integer || type == .timestamp
        case .plainString: type == .string || type == .json || type == .extra
        case .dictString: type == .string
        case .bitmap: type == .boolean
        case .plainFloat64, .xorFloat64: type == .number
        }
    }
}
