#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SegmentFormat

/// Checks NDJSON records against a stream schema and appends them to a `BlockBuilder`, straight
/// from the bytes: no intermediate JSON tree, no per-record allocation.
///
/// A record is appended whole or not at all: on any error the rows' columns are rolled back and a
/// `RecordError` names the line, the field and the problem. Not thread-safe: one parser per writer.
/// Hot path of `segcat pack` and `segd`; guarded by `tools/bench/format` (pack MB/s).
public final class RecordParser {
    public let schema: StreamSchema
    public let block: BlockBuilder
    private let builders: [ColumnBuilder]
    /// The hot per-column data lives in raw buffers allocated once: reading an element of a Swift
    /// array of arrays or of class references costs a retain and a release per field.
    private let builderRefs: UnsafeMutableBufferPointer<Unmanaged<ColumnBuilder>>
    private let names: UnsafeMutableBufferPointer<UnsafeBufferPointer<UInt8>>
    private let fields: UnsafeMutableBufferPointer<FieldInfo>
    private let enums: [[[UInt8]]?]
    private let extraIndex: Int
    /// Column count without the extra column.
    private let fieldCount: Int
    /// `seen[c] == generation` when the current record set column `c`. A raw buffer: it is read and
    /// written once per field, and an array would pay a uniqueness check each time.
    private let seen: UnsafeMutableBufferPointer<UInt32>
    private var generation: UInt32 = 0
    /// The current record's unknown field names, unescaped one after another, and where each
    /// ends: duplicates are caught however their keys are escaped (`"x"` and `"\u0078"`).
    private var unknownKeyBytes: [UInt8] = []
    private var unknownKeyEnds: [Int] = []
    /// The unknown field being parsed (a range of `unknownKeyBytes`), named in errors.
    private var currentUnknown: Range<Int>?
    /// Date-times without an offset are read at this offset (`x-segment.default-offset`).
    private let defaultOffset: Int?
    private var scratch: [UInt8] = []

    public init(schema: StreamSchema, block: BlockBuilder? = nil) {
        self.schema = schema
        self.block = block ?? BlockBuilder(columns: schema.columns)
        builders = self.block.builders
        extraIndex = schema.extraColumn ?? -1
        defaultOffset = schema.defaultOffset
        fieldCount = schema.columns.count - (schema.extraColumn == nil ? 0 : 1)
        builderRefs = .allocate(capacity: builders.count)
        _ = builderRefs.initialize(from: builders.map { Unmanaged.passUnretained($0) })
        names = .allocate(capacity: schema.columns.count)
        _ = names.initialize(from: schema.columns.map { c in
            let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(c.nameBytes.count, 1))
            _ = bytes.initialize(from: c.nameBytes)
            return UnsafeBufferPointer(rebasing: bytes[0..<c.nameBytes.count])
        })
        fields = .allocate(capacity: schema.columns.count)
        _ = fields.initialize(from: schema.columns.enumerated().map { i, c in
            FieldInfo(type: c.type, nullable: c.nullable, hasEnum: schema.enumValues[i] != nil,
                      plainName: !c.nameBytes.contains { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 },
                      epochExponent: i == schema.timestampColumn ? Int8(schema.timestampUnit?.nanosecondExponent ?? -1) : -1)
        })
        enums = schema.enumValues.map { $0.map { Array($0).sorted { $0.lexicographicallyPrecedes($1) } } }
        seen = .allocate(capacity: schema.columns.count)
        seen.initialize(repeating: 0)
    }

    deinit {
        seen.deallocate()
        builderRefs.deallocate()
        for name in names { UnsafeMutableRawPointer(mutating: name.baseAddress)?.deallocate() }
        names.deallocate()
        fields.deallocate()
    }

    /// Appends every non-blank line of `input` (NDJSON), numbering lines from `firstLine`.
    /// Stops at the first invalid record, leaving the records before it appended.
    public func appendAll(_ input: UnsafeRawBufferPointer, firstLine: Int = 1) throws(RecordError) -> Int {
        var count = 0
        var failure: RecordError?
        NDJSONLines.forEach(input, firstLine: firstLine) { line, number in
            do throws(RecordError) {
                try append(line: line, number: number)
                count += 1
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return count
    }

    /// Appends one record (a line without its newline). Blank lines are the caller's to skip.
    public func append(line: UnsafeRawBufferPointer, number: Int) throws(RecordError) {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw RecordError(line: number, field: nil, message: "empty line")
        }
        guard line.count <= FormatConstants.maxRecordBytes else {
            throw RecordError(line: number, field: nil, message: "record of \(line.count) bytes is longer than the \(FormatConstants.maxRecordBytes >> 20) MiB a segment holds")
        }
        generation &+= 1
        if generation == 0 {
            for c in seen.indices { seen[c] = 0 }
            generation = 1
        }
        let row = UInt32(block.rowCount)
        let extraStart = extraIndex >= 0 ? builders[extraIndex].strings.bytes.count : 0
        var field: Int = -1
        var s = JSONScanner(base, count: line.count)
        do throws(JSONScanner.Failure) {
            try parseRecord(&s, row: row, field: &field)
        } catch {
            rollBack(row: row, extraStart: extraStart)
            let name = field >= 0 ? schema.columns[field].name : currentUnknown.map { String(decoding: unknownKeyBytes[$0], as: UTF8.self) }
            throw RecordError(line: number, field: name, message: error.message)
        }
        // Required fields, then absent marks (nothing can fail after the check).
        for c in 0..<fieldCount where seen[c] != generation && schema.columns[c].required {
            rollBack(row: row, extraStart: extraStart)
            throw RecordError(line: number, field: schema.columns[c].name, message: "required field is missing")
        }
        for c in 0..<fieldCount where seen[c] != generation {
            builders[c].absentRows.append(row)
        }
        if extraIndex >= 0 {
            if unknownKeyEnds.isEmpty {
                builders[extraIndex].absentRows.append(row)
            } else {
                builders[extraIndex].strings.closeValue()
            }
        }
        block.rowCount += 1
    }

    private func rollBack(row: UInt32, extraStart: Int) {
        for c in 0..<fieldCount where seen[c] == generation {
            builders[c].removeLast(row: row)
        }
        if extraIndex >= 0 {
            builders[extraIndex].strings.bytes.removeSubrange(extraStart...)
        }
    }

    private func parseRecord(_ s: inout JSONScanner, row: UInt32, field: inout Int) throws(JSONScanner.Failure) {
        unknownKeyBytes.removeAll(keepingCapacity: true)
        unknownKeyEnds.removeAll(keepingCapacity: true)
        currentUnknown = nil
        s.skipSpace()
        guard s.current == UInt8(ascii: "{") else { throw s.fail("expected a JSON object, got \(s.kindHere)") }
        s.i += 1
        s.skipSpace()
        var predicted = 0
        if s.current == UInt8(ascii: "}") {
            s.i += 1
        } else {
            while true {
                s.skipSpace()
                guard s.current == UInt8(ascii: "\"") else { throw s.fail("expected a field name in quotes") }
                let c: Int
                let keyStart = s.i
                // Records usually list fields in schema order: match the expected name in place first.
                if predicted < fieldCount && fields[predicted].plainName && s.skipKey(names[predicted]) {
                    c = predicted
                } else {
                    let key = try s.scanString()
                    c = column(for: key, in: s.p, predicted: predicted)
                }
                s.skipSpace()
                try s.expect(UInt8(ascii: ":"), "':' after a field name")
                s.skipSpace()
                if c >= 0 {
                    field = c
                    guard seen[c] != generation else { throw s.fail("field appears twice in the record") }
                    try parseValue(&s, column: c, row: row)
                    seen[c] = generation
                    predicted = c + 1 < fieldCount ? c + 1 : 0
                    field = -1
                } else {
                    var rescan = s
                    rescan.i = keyStart
                    let key = try rescan.scanString()
                    try parseUnknown(&s, key: key)
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
    }

    /// Index of the column named by the key at `key` (raw, maybe escaped), or -1.
    @inline(__always)
    private func column(for key: (start: Int, end: Int, escaped: Bool), in p: UnsafePointer<UInt8>, predicted: Int) -> Int {
        if key.escaped {
            scratch.removeAll(keepingCapacity: true)
            JSONScanner.unescape(p, key.start, key.end, into: &scratch)
            return scratch.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return -1 }
                return find(base, b.count, predicted: predicted)
            }
        }
        return find(p + key.start, key.end - key.start, predicted: predicted)
    }

    @inline(__always)
    private func find(_ start: UnsafePointer<UInt8>, _ length: Int, predicted: Int) -> Int {
        // Records usually list fields in schema order: try the one after the previous field first.
        if predicted < fieldCount && matches(names[predicted], start, length) { return predicted }
        for c in 0..<fieldCount where c != predicted && matches(names[c], start, length) { return c }
        return -1
    }

    @inline(__always)
    private func matches(_ name: UnsafeBufferPointer<UInt8>, _ start: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        guard name.count == length else { return false }
        guard let base = name.baseAddress, length > 0 else { return length == 0 }
        return memcmp(base, start, length) == 0
    }

    /// Keeps an unknown field in the extra column as `"name":value`, the name escaped canonically
    /// (so that `"\u0078"` is stored as `"x"`), after checking that no other unknown field of the
    /// record has the same name once unescaped.
    private func parseUnknown(_ s: inout JSONScanner, key: (start: Int, end: Int, escaped: Bool)) throws(JSONScanner.Failure) {
        let nameStart = unknownKeyBytes.count
        if key.escaped {
            JSONScanner.unescape(s.p, key.start, key.end, into: &unknownKeyBytes)
        } else {
            unknownKeyBytes.append(contentsOf: UnsafeBufferPointer(start: s.p + key.start, count: key.end - key.start))
        }
        let name = nameStart..<unknownKeyBytes.count
        currentUnknown = name
        guard extraIndex >= 0 else {
            throw s.fail("unknown field (the schema does not allow additional properties)")
        }
        let duplicate = unknownKeyBytes.withUnsafeBufferPointer { all -> Bool in
            guard let base = all.baseAddress else { return false }
            var start = 0
            for end in unknownKeyEnds {
                if end - start == name.count && memcmp(base + start, base + name.lowerBound, name.count) == 0 { return true }
                start = end
            }
            return false
        }
        guard !duplicate else { throw s.fail("field appears twice in the record") }
        let valueStart = s.i
        try s.skipValue()
        let extra = builders[extraIndex]
        if !unknownKeyEnds.isEmpty { extra.strings.bytes.append(UInt8(ascii: ",")) }
        if key.escaped {
            // At most six bytes of escape per byte of the name, and its quotes.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 6 * name.count + 2) { out in
                unknownKeyBytes.withUnsafeBufferPointer { all in
                    guard let text = all.baseAddress, let start = out.baseAddress else { return }
                    let end = TextWriting.jsonString(text + name.lowerBound, name.count, to: start)
                    extra.strings.bytes.append(contentsOf: UnsafeBufferPointer(start: start, count: start.distance(to: end)))
                }
            }
        } else {
            extra.strings.bytes.append(contentsOf: UnsafeBufferPointer(start: s.p + key.start - 1, count: key.end - key.start + 2))
        }
        extra.strings.bytes.append(UInt8(ascii: ":"))
        extra.strings.bytes.append(contentsOf: UnsafeBufferPointer(start: s.p + valueStart, count: s.i - valueStart))
        unknownKeyEnds.append(name.upperBound)
        currentUnknown = nil
    }

    @inline(__always)
    private func parseValue(_ s: inout JSONScanner, column c: Int, row: UInt32) throws(JSONScanner.Failure) {
        // `builders` outlives this call; skip the retain/release pair a strong local would cost per field.
        unowned(unsafe) let b = builderRefs[c].takeUnretainedValue()
        if s.current == UInt8(ascii: "n") {
            try s.literal("null")
            guard fields[c].nullable else { throw s.fail("null is not allowed (the schema's type has no \"null\")") }
            b.nullRows.append(row)
            return
        }
        switch fields[c].type {
        case .string:
            guard s.current == UInt8(ascii: "\"") else { throw s.fail("expected a string, got \(s.kindHere)") }
            let str = try s.scanString()
            let before = b.strings.bytes.count
            if str.escaped {
                JSONScanner.unescape(s.p, str.start, str.end, into: &b.strings.bytes)
            } else {
                b.strings.bytes.append(contentsOf: UnsafeBufferPointer(start: s.p + str.start, count: str.end - str.start))
            }
            if fields[c].hasEnum, let allowed = enums[c] {
                let ok = b.strings.bytes.withUnsafeBufferPointer { all in
                    let v = UnsafeBufferPointer(rebasing: all[before...])
                    return allowed.contains { $0.elementsEqual(v) }
                }
                guard ok else {
                    b.strings.bytes.removeSubrange(before...)
                    throw s.fail("value is not one of the schema's enum values (\(allowed.prefix(8).map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", "))\(allowed.count > 8 ? ", ..." : ""))")
                }
            }
            b.strings.closeValue()
        case .timestamp:
            if s.current == UInt8(ascii: "\"") {
                let ns = try parseDateTime(&s)
                b.integers.append(ns)
            } else if fields[c].epochExponent >= 0 && (s.current == UInt8(ascii: "-") || (s.current >= 0x30 && s.current <= 0x39)) {
                let n = try s.scanNumber()
                guard let ns = EpochTimestamp.nanoseconds(n, exponent: Int(fields[c].epochExponent)) else {
                    throw JSONScanner.Failure(message: "the time since the epoch is outside 1677-09-22 to 2262-04-11 (x-segment.timestamp-unit is \(schema.timestampUnit?.rawValue ?? ""))", offset: n.start)
                }
                b.integers.append(ns)
            } else if fields[c].epochExponent >= 0 {
                throw s.fail("expected an RFC 3339 date-time string or a number of \(schema.timestampUnit?.rawValue ?? "") since the epoch, got \(s.kindHere)")
            } else {
                throw s.fail("expected an RFC 3339 date-time string, got \(s.kindHere)")
            }
        case .integer:
            if let v = s.scanShortInteger() {
                b.integers.append(v)
                return
            }
            guard s.current == UInt8(ascii: "-") || (s.current >= 0x30 && s.current <= 0x39) else {
                throw s.fail("expected an integer, got \(s.kindHere)")
            }
            let n = try s.scanNumber()
            guard n.isInteger else { throw JSONScanner.Failure(message: "expected an integer, got a number with a fraction or exponent", offset: n.start) }
            guard let v = s.integerValue(n) else { throw JSONScanner.Failure(message: "integer does not fit in 64 bits", offset: n.start) }
            b.integers.append(v)
        case .number:
            guard s.current == UInt8(ascii: "-") || (s.current >= 0x30 && s.current <= 0x39) else {
                throw s.fail("expected a number, got \(s.kindHere)")
            }
            let n = try s.scanNumber()
            let v = s.doubleValue(n)
            guard v.isFinite else { throw JSONScanner.Failure(message: "number is out of the range of a 64-bit float", offset: n.start) }
            b.numbers.append(v)
        case .boolean:
            switch s.current {
            case UInt8(ascii: "t"): try s.literal("true"); b.booleans.append(1)
            case UInt8(ascii: "f"): try s.literal("false"); b.booleans.append(0)
            default: throw s.fail("expected a boolean, got \(s.kindHere)")
            }
        case .json:
            let kind = s.current
            let expected = schema.columns[c].name
            guard kind == UInt8(ascii: "{") || kind == UInt8(ascii: "[") else {
                throw s.fail("expected an object or array for '\(expected)', got \(s.kindHere)")
            }
            let start = s.i
            try s.skipValue()
            b.strings.append(UnsafeRawBufferPointer(start: s.p + start, count: s.i - start))
        case .extra:
            throw s.fail("internal: extra column parsed as a field")
        }
    }
}

extension RecordParser {
    /// The date-time string at the cursor, in nanoseconds since the epoch.
    @inline(__always)
    private func parseDateTime(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Int64 {
        let str = try s.scanString()
        let ns: Int64?
        if str.escaped {
            scratch.removeAll(keepingCapacity: true)
            JSONScanner.unescape(s.p, str.start, str.end, into: &scratch)
            ns = scratch.withUnsafeBufferPointer { b in b.baseAddress.flatMap { RFC3339.parse($0, count: b.count, defaultOffset: defaultOffset) } }
        } else {
            ns = RFC3339.parse(s.p + str.start, count: str.end - str.start, defaultOffset: defaultOffset)
        }
        if let ns { return ns }
        // Only on the error path: say when the one thing missing is the offset.
        let withoutOffset = defaultOffset == nil && RFC3339.parse(s.p + str.start, count: str.end - str.start, defaultOffset: 0) != nil
        throw JSONScanner.Failure(message: withoutOffset
            ? "the date-time has no offset from UTC (add Z or ±HH:MM, or declare x-segment.default-offset in the schema)"
            : "expected an RFC 3339 date-time between 1677-09-22 and 2262-04-11, like 2024-05-01T12:00:00Z", offset: str.start)
    }
}

/// What the field loop needs to know of a column, as a trivially copyable value.
private struct FieldInfo {
    let type: ColumnType
    let nullable: Bool
    let hasEnum: Bool
    /// The name needs no JSON escaping, so a raw key can be compared with it byte for byte.
    let plainName: Bool
    /// For the stream's timestamp field with an `x-segment.timestamp-unit`: the power of ten from
    /// that unit to nanoseconds, so numbers are accepted; -1 otherwise (date-time strings only).
    let epochExponent: Int8
}
