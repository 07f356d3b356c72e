import SegmentFormat

/// Infers a stream schema from NDJSON records, widening types across records: integer and number
/// give number, a null makes a field nullable, a record without it makes it not required, and
/// strings that are all RFC 3339 date-times become timestamps.
///
/// Feed records with `add`, then read `schema(name:)`. A field whose values have types no single
/// schema type covers (say a string and a number) is left out of `properties` and reported in
/// `warnings`; with `additionalProperties` at its default it is still kept, as an unknown field.
public struct SchemaInference {
    private struct Field {
        var name: String
        var present = 0
        var nulls = 0
        var integers = 0
        var numbers = 0
        var strings = 0
        var dateTimes = 0
        var booleans = 0
        var objects = 0
        var arrays = 0
    }

    private var fields: [Field] = []
    private var index: [String: Int] = [:]
    public private(set) var records = 0

    public init() {}

    /// Adds every non-blank line of `input`; throws `RecordError` at the first that is not a JSON object.
    public mutating func add(_ input: UnsafeRawBufferPointer, firstLine: Int = 1) throws(RecordError) {
        var failure: RecordError?
        NDJSONLines.forEach(input, firstLine: firstLine) { line, number in
            do throws(JSONScanner.Failure) {
                try addRecord(line)
                return true
            } catch {
                failure = RecordError(line: number, field: nil, message: error.message)
                return false
            }
        }
        if let failure { throw failure }
    }

    private mutating func addRecord(_ line: UnsafeRawBufferPointer) throws(JSONScanner.Failure) {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var s = JSONScanner(base, count: line.count)
        s.skipSpace()
        guard s.current == UInt8(ascii: "{") else { throw s.fail("expected a JSON object, got \(s.kindHere)") }
        s.i += 1
        s.skipSpace()
        var names = Set<String>()
        if s.current == UInt8(ascii: "}") {
            s.i += 1
        } else {
            while true {
                s.skipSpace()
                guard s.current == UInt8(ascii: "\"") else { throw s.fail("expected a field name in quotes") }
                let key = try s.scanString()
                var nameBytes: [UInt8] = []
                JSONScanner.unescape(s.p, key.start, key.end, into: &nameBytes)
                let name = String(decoding: nameBytes, as: UTF8.self)
                guard names.insert(name).inserted else { throw s.fail("field '\(name)' appears twice in the record") }
                s.skipSpace()
                try s.expect(UInt8(ascii: ":"), "':' after a field name")
                s.skipSpace()
                let f = index[name] ?? {
                    fields.append(Field(name: name))
                    index[name] = fields.count - 1
                    return fields.count - 1
                }()
                fields[f].present += 1
                switch s.current {
                case UInt8(ascii: "\""):
                    let str = try s.scanString()
                    var text: [UInt8] = []
                    JSONScanner.unescape(s.p, str.start, str.end, into: &text)
                    let isDateTime = text.withUnsafeBufferPointer { $0.baseAddress.flatMap { RFC3339.parse($0, count: text.count) } } != nil
                    if isDateTime { fields[f].dateTimes += 1 } else { fields[f].strings += 1 }
                case UInt8(ascii: "n"):
                    try s.literal("null")
                    fields[f].nulls += 1
                case UInt8(ascii: "t"), UInt8(ascii: "f"):
                    try s.skipValue()
                    fields[f].booleans += 1
                case UInt8(ascii: "{"):
                    try s.skipValue()
                    fields[f].objects += 1
                case UInt8(ascii: "["):
                    try s.skipValue()
                    fields[f].arrays += 1
                default:
                    let n = try s.scanNumber()
                    if n.isInteger && s.integerValue(n) != nil { fields[f].integers += 1 } else { fields[f].numbers += 1 }
                }
                s.skipSpace()
                if s.current == UInt8(ascii: ",") {
                    s.i += 1
                    continue
                }
                try s.expect(UInt8(ascii: "}"), "',' or '}' after a field")
                break
            }
        }
        s.skipSpace()
        guard s.atEnd else { throw s.fail("unexpected text after the record") }
        records += 1
    }

    /// Fields left out of the schema, and why.
    public var warnings: [String] {
        fields.compactMap { f in
            let (type, _) = Self.type(of: f)
            guard type == nil else { return nil }
            return f.nulls == f.present
                ? "field '\(f.name)' is always null: its type is unknown, so it is left out of \"properties\" (kept as an unknown field)"
                : "field '\(f.name)' has values of incompatible types: left out of \"properties\" (kept as an unknown field)"
        }
    }

    /// The JSON Schema type name and format of a field, or nil when no single type fits.
    private static func type(of f: Field) -> (String?, String?) {
        let kinds = [f.integers + f.numbers > 0, f.strings + f.dateTimes > 0, f.booleans > 0, f.objects > 0, f.arrays > 0].filter { $0 }.count
        guard kinds == 1 else { return (nil, nil) }
        if f.numbers > 0 { return ("number", nil) }
        if f.integers > 0 { return ("integer", nil) }
        if f.dateTimes > 0 && f.strings == 0 { return ("string", "date-time") }
        if f.strings + f.dateTimes > 0 { return ("string", nil) }
        if f.booleans > 0 { return ("boolean", nil) }
        return (f.objects > 0 ? "object" : "array", nil)
    }

    /// The inferred schema document, pretty-printed, with `$id` `name`.
    public func schema(name: String) -> String {
        var props: [(String, JSONValue)] = []
        var required: [String] = []
        var timestamp: String?
        var firstDateTime: String?
        for f in fields {
            let (type, format) = Self.type(of: f)
            guard let type else { continue }
            let nullable = f.nulls > 0
            var def: [(String, JSONValue)] = [("type", nullable ? .array([.string(type), .string("null")]) : .string(type))]
            if let format { def.append(("format", .string(format))) }
            props.append((f.name, .object(def)))
            let isRequired = f.present == records
            if isRequired { required.append(f.name) }
            if format == "date-time" && isRequired && !nullable {
                if firstDateTime == nil { firstDateTime = f.name }
                if timestamp == nil && ["ts", "time", "timestamp", "@timestamp"].contains(f.name) { timestamp = f.name }
            }
        }
        var doc: [(String, JSONValue)] = [
            ("$schema", .string("https://json-schema.org/draft/2020-12/schema")),
            ("$id", .string(name)),
            ("type", .string("object")),
            ("properties", .object(props)),
        ]
        if !required.isEmpty { doc.append(("required", .array(required.map { .string($0) }))) }
        if let ts = timestamp ?? firstDateTime { doc.append(("x-segment", .object([("timestamp", .string(ts))]))) }
        return Self.pretty(.object(doc), indent: 0) + "\n"
    }

    /// Two-space indented JSON, with small property definitions and name lists on one line.
    private static func pretty(_ v: JSONValue, indent: Int) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        switch v {
        case let .object(members) where indent < 2 && !members.isEmpty:
            let inner = members.map { pad + JSONValue.quote($0.0) + ": " + pretty($0.1, indent: indent + 1) }
            return "{\n" + inner.joined(separator: ",\n") + "\n" + String(repeating: "  ", count: indent) + "}"
        case let .object(members):
            return "{" + members.map { JSONValue.quote($0.0) + ": " + pretty($0.1, indent: indent + 1) }.joined(separator: ", ") + "}"
        case let .array(items):
            return "[" + items.map { pretty($0, indent: indent + 1) }.joined(separator: ", ") + "]"
        default:
            return v.text
        }
    }
}
