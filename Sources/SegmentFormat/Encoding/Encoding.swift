/// How a chunk's values are laid out before compression. Codes are fixed by the format spec.
public enum Encoding: UInt8, Sendable, CaseIterable {
    case empty = 0
    case plainInt64 = 1
    case forBitpack = 2
    case deltaBitpack = 3
    case deltaVarint = 4
    case dodVarint = 5
    /// Since format version 2.
    case dictInt64 = 6
    case plainString = 16
    case dictString = 17
    /// Since format version 2.
    case logText = 18
    /// Since format version 2.
    case shreddedJSON = 20
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
        case .dictInt64: "dict-i64"
        case .plainString: "plain-string"
        case .dictString: "dict-string"
        case .logText: "log-text"
        case .shreddedJSON: "shredded-json"
        case .bitmap: "bitmap"
        case .plainFloat64: "plain-f64"
        case .xorFloat64: "xor-f64"
        }
    }

    /// The lowest format version whose readers know this encoding.
    public var formatVersion: UInt16 {
        switch self {
        case .dictInt64, .logText, .shreddedJSON: 2
        default: 1
        }
    }

    var isInteger: Bool {
        switch self {
        case .plainInt64, .forBitpack, .deltaBitpack, .deltaVarint, .dodVarint, .dictInt64: true
        default: false
        }
    }

    /// Whether this encoding may appear on a column of `type` in a file of `version` (spec: Encodings table).
    public func applies(to type: ColumnType, version: UInt16) -> Bool {
        guard formatVersion <= version else { return false }
        switch self {
        case .empty: return true
        case .plainInt64, .forBitpack, .deltaBitpack, .deltaVarint, .dodVarint, .dictInt64: return type == .integer || type == .timestamp
        case .plainString: return type == .string || type == .json || type == .extra
        // Version 2 lets a json column of repeated texts (a shredded path) use a dictionary.
        case .dictString: return type == .string || (version >= 2 && type == .json)
        case .logText: return type == .string
        case .shreddedJSON: return type == .json || type == .extra
        case .bitmap: return type == .boolean
        case .plainFloat64, .xorFloat64: return type == .number
        }
    }
}
