/// A column a block made from one path inside a json or extra column's values (spec: Shredded
/// paths): which column it came from, the path's segments (object keys, unescaped), and the type its
/// values have in this block. Paths differ from block to block, so they are listed per block.
public struct ShreddedColumn: Sendable, Equatable, Hashable {
    /// Index of the json or extra column in the column table.
    public var parent: Int
    /// Object keys from the parent value down to the leaf, as UTF-8 bytes.
    public var path: [[UInt8]]
    public var type: ColumnType

    public init(parent: Int, path: [[UInt8]], type: ColumnType) {
        self.parent = parent
        self.path = path
        self.type = type
    }

    /// The path as text, segments joined by dots; a segment that holds a dot, a quote, a space or
    /// nothing is double-quoted (inner quotes doubled), as a query names it.
    public var pathText: String {
        path.map { Self.quoted(String(decoding: $0, as: UTF8.self)) }.joined(separator: ".")
    }

    public static func quoted(_ segment: String) -> String {
        let plain = !segment.isEmpty && segment.unicodeScalars.allSatisfy { $0 != "." && $0 != "\"" && $0 != " " && $0.value >= 0x20 }
        guard !plain else { return segment }
        var out = "\""
        for c in segment { out += c == "\"" ? "\"\"" : String(c) }
        return out + "\""
    }

    /// Its entry in a block's shredded table and the footer: `u16 parent`, `u8 type`, `u8 depth`,
    /// then `depth` keys as `str16`.
    func write(_ w: inout ByteWriter) {
        w.u16(UInt16(parent))
        w.u8(type.rawValue)
        w.u8(UInt8(path.count))
        for segment in path { w.str16(segment) }
    }

    /// Reads an entry, checking it against the column table.
    static func read(_ r: inout ByteReader, columns: [ColumnDescriptor]) throws -> ShreddedColumn {
        let parent = Int(try r.u16())
        let typeCode = try r.u8()
        let depth = Int(try r.u8())
        guard parent < columns.count, columns[parent].type == .json || columns[parent].type == .extra else {
            throw FormatError("shredded column names column \(parent), which is not a json or extra column")
        }
        guard let type = ColumnType(rawValue: typeCode), type != .timestamp, type != .extra else {
            throw FormatError("shredded column has type \(typeCode), which a path cannot have")
        }
        guard (1...Shredder.maxDepth).contains(depth) else { throw FormatError("shredded path has \(depth) segments") }
        var path: [[UInt8]] = []
        for _ in 0..<depth {
            let segment = try r.str16()
            guard segment.count <= FormatConstants.maxNameBytes, UTF8Validation.isValid(segment) else {
                throw FormatError("shredded path segment is longer than \(FormatConstants.maxNameBytes) bytes or not UTF-8")
            }
            path.append(segment)
        }
        return ShreddedColumn(parent: parent, path: path, type: type)
    }
}
