/// A stream's schema: a JSON Schema (draft 2020-12) subset that fixes the stream's columns, which
/// records are valid, the timestamp used for time ranges, and the codec.
///
/// Loading rejects every validation keyword it does not enforce, naming it, so nobody believes a
/// `pattern` or `minimum` is checked. Immutable and `Sendable`: share one per stream.
public struct StreamSchema: Sendable {
    /// The stream name, the schema's `$id`.
    public let name: String
    /// Columns in `properties` order, then the extra column when additional properties are allowed.
    public let columns: [ColumnDescriptor]
    /// Index of the `x-segment.timestamp` column, if the stream has one.
    public let timestampColumn: Int?
    /// `x-segment.timestamp-unit`: the timestamp field may also be a number of these units since
    /// the epoch (nil: RFC 3339 strings only).
    public let timestampUnit: TimestampUnit?
    /// `x-segment.default-offset`, in seconds east of UTC: how date-times written without an
    /// offset are read (nil: such date-times are refused).
    public let defaultOffset: Int?
    public let compression: CompressionSetting
    /// `additionalProperties`: true keeps unknown fields in the extra column, false rejects them.
    public let additionalProperties: Bool
    /// Allowed values of `enum` string columns, by column index (nil: any string).
    public let enumValues: [Set<[UInt8]>?]
    /// The schema document as loaded, stored in every segment header.
    public let text: [UInt8]

    /// Index of the extra column, if any.
    public var extraColumn: Int? { additionalProperties ? columns.count - 1 : nil }

    /// Keywords that only annotate (JSON Schema's meta-data vocabulary): accepted and ignored.
    static let annotations: Set<String> = ["title", "description", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly"]
    static let topLevelKeywords: Set<String> = ["$schema", "$id", "type", "properties", "required", "additionalProperties", "x-segment"]
    static let propertyKeywords: Set<String> = ["type", "format", "enum"]

    /// Stream and tenant names: lower-case, digits, `_` and `-`, 1 to 63 characters. Such a name is
    /// safe as a path component.
    public static func isValidName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard (1...63).contains(b.count) else { return false }
        func ok(_ c: UInt8, first: Bool) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || (!first && (c == 0x5F || c == 0x2D))
        }
        return ok(b[0], first: true) && b.dropFirst().allSatisfy { ok($0, first: false) }
    }

    /// Loads a schema document; throws `SchemaError` naming the keyword or property at fault.
    public init(json bytes: [UInt8]) throws {
        let doc: JSONValue
        do {
            doc = try JSONValue.parse(bytes)
        } catch let e as JSONSyntaxError {
            throw SchemaError("schema is not valid JSON: \(e)")
        }
        guard case let .object(top) = doc else { throw SchemaError("schema must be a JSON object") }
        for (key, _) in top where !Self.topLevelKeywords.contains(key) && !Self.annotations.contains(key) {
            throw SchemaError("unsupported keyword '\(key)' at the top level (only \(Self.topLevelKeywords.sorted().joined(separator: ", ")) and annotations are supported)")
        }
        guard let id = doc["$id"]?.stringValue else { throw SchemaError("schema needs \"$id\": the stream name") }
        guard Self.isValidName(id) else {
            throw SchemaError("\"$id\" '\(id)' is not a valid stream name: use 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit")
        }
        guard doc["type"] == .string("object") else { throw SchemaError("schema needs \"type\": \"object\" at the top level") }
        guard case let .object(properties)? = doc["properties"] else { throw SchemaError("schema needs \"properties\": an object of field definitions") }
        guard properties.count < FormatConstants.maxColumns else { throw SchemaError("schema has \(properties.count) properties; at most \(FormatConstants.maxColumns - 1) are supported") }

        var required = Set<String>()
        if let r = doc["required"] {
            guard case let .array(items) = r else { throw SchemaError("\"required\" must be an array of property names") }
            for item in items {
                guard let name = item.stringValue else { throw SchemaError("\"required\" must hold strings") }
                guard properties.contains(where: { $0.0 == name }) else { throw SchemaError("\"required\" names '\(name)', which is not in \"properties\"") }
                required.insert(name)
            }
        }
        switch doc["additionalProperties"] {
        case nil, .bool(true)?: additionalProperties = true
        case .bool(false)?: additionalProperties = false
        default: throw SchemaError("\"additionalProperties\" must be true or false (schemas for unknown fields are not supported)")
        }

        var timestampName: String?
        var timestampUnit: TimestampUnit?
        var defaultOffset: Int?
        // zstd (level 3): 13% smaller than lz4 on flights and loghub, decoding as fast, packing at
        // the 150 MB/s target (tools/bench/format, docs/benchmarks.md).
        var compression = CompressionSetting.zstd
        if let seg = doc["x-segment"] {
            guard case let .object(members) = seg else { throw SchemaError("\"x-segment\" must be an object") }
            for (key, value) in members {
                switch key {
                case "timestamp":
                    guard let name = value.stringValue else { throw SchemaError("\"x-segment.timestamp\" must be a property name") }
                    timestampName = name
                case "codec":
                    guard let name = value.stringValue, let c = CompressionSetting(name: name) else {
                        throw SchemaError("\"x-segment.codec\" must be one of \(CompressionSetting.names.joined(separator: ", "))")
                    }
                    compression = c
                case "timestamp-unit":
                    guard let name = value.stringValue, let unit = TimestampUnit(rawValue: name) else {
                        throw SchemaError("\"x-segment.timestamp-unit\" must be one of \(TimestampUnit.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    timestampUnit = unit
                case "default-offset":
                    guard let text = value.stringValue, let offset = UTCOffset.seconds(text) else {
                        throw SchemaError("\"x-segment.default-offset\" must be an offset from UTC such as \"Z\", \"+02:00\" or \"-0500\"")
                    }
                    defaultOffset = offset
                default:
                    throw SchemaError("unsupported key '\(key)' in \"x-segment\" (supported: timestamp, timestamp-unit, default-offset, codec)")
                }
            }
        }

        var columns: [ColumnDescriptor] = []
        var enums: [Set<[UInt8]>?] = []
        for (name, definition) in properties {
            guard !name.isEmpty, name.utf8.count <= FormatConstants.maxNameBytes else {
                throw SchemaError("property name '\(name)' must be 1 to \(FormatConstants.maxNameBytes) bytes")
            }
            let (column, allowed) = try Self.column(name, definition, required: required.contains(name), isTimestamp: name == timestampName,
                                                    epochNumbers: timestampUnit != nil)
            columns.append(column)
            enums.append(allowed)
        }
        if let timestampName {
            guard let column = columns.first(where: { $0.name == timestampName }) else {
                throw SchemaError("\"x-segment.timestamp\" names '\(timestampName)', which is not in \"properties\"")
            }
            guard column.type == .timestamp else {
                throw SchemaError("timestamp field '\(timestampName)' must be {\"type\": \"string\", \"format\": \"date-time\"}, or an integer or number with \"x-segment.timestamp-unit\"")
            }
            guard column.required, !column.nullable else { throw SchemaError("timestamp field '\(timestampName)' must be required and not nullable") }
        }
        if timestampUnit != nil && timestampName == nil {
            throw SchemaError("\"x-segment.timestamp-unit\" needs \"x-segment.timestamp\": the field it applies to")
        }
        if additionalProperties {
            columns.append(.extra)
            enums.append(nil)
        }
        self.name = id
        self.columns = columns
        self.enumValues = enums
        self.timestampColumn = columns.firstIndex { $0.isTimestamp }
        self.timestampUnit = timestampUnit
        self.defaultOffset = defaultOffset
        self.compression = compression
        self.text = bytes
    }

    /// One property's column. With `epochNumbers` (a timestamp unit), the timestamp field may be
    /// declared an integer or number: its column is a timestamp column all the same.
    private static func column(_ name: String, _ definition: JSONValue, required: Bool, isTimestamp: Bool,
                               epochNumbers: Bool) throws -> (ColumnDescriptor, Set<[UInt8]>?) {
        guard case let .object(members) = definition else { throw SchemaError("property '\(name)' must be an object") }
        for (key, _) in members where !propertyKeywords.contains(key) && !annotations.contains(key) {
            throw SchemaError("unsupported keyword '\(key)' in property '\(name)': it would not be enforced (supported: type, format, enum)")
        }
        var typeNames: [String]
        switch definition["type"] {
        case let .string(t)?: typeNames = [t]
        case let .array(items)?:
            typeNames = try items.map {
                guard let t = $0.stringValue else { throw SchemaError("property '\(name)': \"type\" array must hold type names") }
                return t
            }
        case nil: throw SchemaError("property '\(name)' needs a \"type\"")
        default: throw SchemaError("property '\(name)': \"type\" must be a type name or an array of them")
        }
        let nullable = typeNames.contains("null")
        typeNames.removeAll { $0 == "null" }
        guard typeNames.count == 1 else {
            throw SchemaError("property '\(name)' must have exactly one type besides \"null\", has \(typeNames.isEmpty ? "none" : typeNames.joined(separator: ", "))")
        }
        let format = definition["format"]
        var type: ColumnType
        switch typeNames[0] {
        case "string": type = .string
        case "integer": type = .integer
        case "number": type = .number
        case "boolean": type = .boolean
        case "object", "array": type = .json
        default: throw SchemaError("property '\(name)' has unknown type '\(typeNames[0])'")
        }
        if let format {
            guard type == .string, format == .string("date-time") else {
                throw SchemaError("property '\(name)': only \"format\": \"date-time\" on a string is supported")
            }
            type = .timestamp
        } else if isTimestamp && epochNumbers && (type == .integer || type == .number) {
            type = .timestamp
        }
        var allowed: Set<[UInt8]>?
        if let e = definition["enum"] {
            guard type == .string, case let .array(items) = e, !items.isEmpty else {
                throw SchemaError("property '\(name)': \"enum\" is supported on string properties only, as a non-empty array")
            }
            var set = Set<[UInt8]>()
            for item in items {
                switch item {
                case let .string(s): set.insert(Array(s.utf8))
                case .null where nullable: continue
                default: throw SchemaError("property '\(name)': \"enum\" values must be strings")
                }
            }
            allowed = set
        }
        return (ColumnDescriptor(name: name, type: type, nullable: nullable, required: required, isTimestamp: isTimestamp), allowed)
    }
}

/// A schema document that cannot be used, with a message naming the keyword or property at fault.
public struct SchemaError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
