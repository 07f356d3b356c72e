import NDJSON
import SegmentFormat

/// Loki's push API (`POST /loki/api/v1/push`) into NDJSON records of the built-in `loki` stream's
/// shape, one per entry: `time`, `labels` (the entry's stream labels, as an object), `line`, and
/// `metadata` (structured metadata, as an object; `{}` when there is none).
///
/// Two bodies: JSON (`{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>", {metadata}]]}]}`,
/// and the older `{"streams": [{"labels": "{a=\"b\"}", "entries": [{"ts": "<RFC 3339>", "line": ...}]}]}`),
/// and protobuf (`PushRequest`, labels in Prometheus' text form), which the route snappy-decodes.
enum LokiPush {
    /// A push body that cannot be read, with what and where.
    struct DecodingError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    // MARK: JSON

    static func transcodeJSON(_ body: UnsafeRawBufferPointer) throws(DecodingError) -> NDJSONRecords {
        let records = NDJSONRecords()
        guard let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return records }
        var s = JSONScanner(base, count: body.count)
        do throws(JSONScanner.Failure) {
            try s.forEachMember { s, key throws(JSONScanner.Failure) in
                guard key.is("streams") else { return try s.skipValue() }
                var index = 0
                try s.forEachElement { s throws(JSONScanner.Failure) in
                    try stream(&s, index: index, records)
                    index += 1
                }
            }
            s.skipSpace()
            guard s.atEnd else { throw s.fail("unexpected text after the push object") }
        } catch {
            throw DecodingError(message: "\(error.message) (at byte \(error.offset) of the body)")
        }
        return records
    }

    /// One element of `streams`: its labels (an object, or the older label text), then its entries.
    private static func stream(_ s: inout JSONScanner, index: Int, _ records: NDJSONRecords) throws(JSONScanner.Failure) {
        // Labels may come after the entries: remember where the entries are and write them after.
        var labels: [UInt8]?
        var values: Int?
        var entries: Int?
        let start = s.i
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            if key.is("stream") {
                let at = s.i
                let labelObject = try s.rawValue()
                guard labelObject.first == UInt8(ascii: "{") else {
                    throw JSONScanner.Failure(message: "streams[\(index)].stream must be an object of labels", offset: at)
                }
                try checkLabelValues(labelObject, at: at)
                labels = Array(labelObject)
            } else if key.is("labels") {
                let at = s.i
                let text = try s.stringBytes()
                do throws(DecodingError) {
                    labels = try labelObject(text)
                } catch {
                    throw JSONScanner.Failure(message: "streams[\(index)].labels: \(error.message)", offset: at)
                }
            } else if key.is("values") {
                values = s.i
                try s.skipValue()
            } else if key.is("entries") {
                entries = s.i
                try s.skipValue()
            } else {
                try s.skipValue()
            }
        }
        guard let labels else { throw JSONScanner.Failure(message: "streams[\(index)] has no \"stream\" labels", offset: start) }
        let end = s.i
        if let values {
            s.i = values
            try s.forEachElement { s throws(JSONScanner.Failure) in try value(&s, labels: labels, records) }
        }
        if let entries {
            s.i = entries
            try s.forEachElement { s throws(JSONScanner.Failure) in try entry(&s, labels: labels, records) }
        }
        s.i = end
    }

    /// Label values must be strings.
    private static func checkLabelValues(_ object: UnsafeRawBufferPointer, at offset: Int) throws(JSONScanner.Failure) {
        guard let base = object.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var s = JSONScanner(base, count: object.count)
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            guard s.current == UInt8(ascii: "\"") else {
                throw JSONScanner.Failure(message: "label '\(key.string)' must have a string value", offset: offset + s.i)
            }
            try s.skipValue()
        }
    }

    /// `["<ns>", "<line>"]` or `["<ns>", "<line>", {metadata}]`.
    private static func value(_ s: inout JSONScanner, labels: [UInt8], _ records: NDJSONRecords) throws(JSONScanner.Failure) {
        let start = s.i
        var field = 0
        try s.forEachElement { s throws(JSONScanner.Failure) in
            switch field {
            case 0:
                beginEntry(records, time: try time(&s), labels: labels)
            case 1:
                records.key("line")
                records.escapedString(try s.rawString().content)
            case 2:
                let at = s.i
                let metadata = try s.rawValue()
                guard metadata.first == UInt8(ascii: "{") else {
                    throw JSONScanner.Failure(message: "structured metadata must be an object", offset: at)
                }
                records.key("metadata")
                records.json(metadata)
            default:
                throw s.fail("an entry has at most three elements: time, line and structured metadata")
            }
            field += 1
        }
        guard field >= 2 else { throw JSONScanner.Failure(message: "an entry needs a time and a line", offset: start) }
        if field == 2 {
            records.key("metadata")
            records.beginObject()
            records.endObject()
        }
        records.endRecord()
    }

    /// The older `{"ts": "<RFC 3339>", "line": "..."}` entry.
    private static func entry(_ s: inout JSONScanner, labels: [UInt8], _ records: NDJSONRecords) throws(JSONScanner.Failure) {
        let start = s.i
        var ns: Int64?
        var line: UnsafeRawBufferPointer?
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            if key.is("ts") || key.is("timestamp") {
                ns = try time(&s)
            } else if key.is("line") {
                line = try s.rawString().content
            } else {
                try s.skipValue()
            }
        }
        guard let ns, let line else { throw JSONScanner.Failure(message: "an entry needs \"ts\" and \"line\"", offset: start) }
        beginEntry(records, time: ns, labels: labels)
        records.key("line")
        records.escapedString(line)
        records.key("metadata")
        records.beginObject()
        records.endObject()
        records.endRecord()
    }

    /// Starts an entry's record: its time, and its stream's labels (a JSON object).
    private static func beginEntry(_ records: NDJSONRecords, time ns: Int64, labels: [UInt8]) {
        records.beginRecord()
        records.key("time")
        records.timestamp(ns)
        records.key("labels")
        labels.withUnsafeBytes { records.json($0) }
    }

    /// An entry's time: nanoseconds since the epoch as a string of digits (Loki's form) or a
    /// number, or an RFC 3339 date-time.
    private static func time(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Int64 {
        let start = s.i
        if s.current != UInt8(ascii: "\"") {
            let n = try s.scanNumber()
            guard let ns = EpochTimestamp.nanoseconds(n, unit: .nanoseconds) else {
                throw JSONScanner.Failure(message: "the entry's time is not nanoseconds since the epoch in range", offset: start)
            }
            return ns
        }
        let text = try s.stringBytes()
        let ns = text.withUnsafeBufferPointer { b -> Int64? in
            guard let p = b.baseAddress else { return nil }
            return EpochTimestamp.nanoseconds(p, count: b.count, unit: .nanoseconds) ?? RFC3339.parse(p, count: b.count)
        }
        guard let ns else {
            throw JSONScanner.Failure(message: "the entry's time must be nanoseconds since the epoch (a string of digits) or an RFC 3339 date-time", offset: start)
        }
        return ns
    }

    // MARK: Protobuf

    static func transcode(_ request: Loki_PushRequest) throws(DecodingError) -> NDJSONRecords {
        let records = NDJSONRecords()
        for (index, stream) in request.streams.enumerated() {
            let labels: [UInt8]
            do throws(DecodingError) {
                labels = try labelObject(Array(stream.labels.utf8))
            } catch {
                throw DecodingError(message: "streams[\(index)].labels: \(error.message)")
            }
            for entry in stream.entries {
                let (seconds, overflow) = entry.timestamp.seconds.multipliedReportingOverflow(by: 1_000_000_000)
                let (ns, overflow2) = seconds.addingReportingOverflow(Int64(entry.timestamp.nanos))
                guard !overflow, !overflow2, (0..<1_000_000_000).contains(entry.timestamp.nanos) else {
                    throw DecodingError(message: "streams[\(index)]: an entry's timestamp is out of range")
                }
                beginEntry(records, time: ns, labels: labels)
                records.key("line")
                records.text(entry.line)
                records.key("metadata")
                records.beginObject()
                for pair in entry.structuredMetadata {
                    records.key(pair.name)
                    records.text(pair.value)
                }
                records.endObject()
                records.endRecord()
            }
        }
        return records
    }

    // MARK: Labels

    /// Prometheus' label text, `{name="value", ...}` (values in Go's quoted-string syntax), as a
    /// JSON object.
    static func labelObject(_ text: [UInt8]) throws(DecodingError) -> [UInt8] {
        let out = NDJSONRecords()
        var i = 0
        func space() { while i < text.count && (text[i] == 0x20 || text[i] == 0x09) { i += 1 } }
        space()
        guard i < text.count, text[i] == UInt8(ascii: "{") else { throw DecodingError(message: "labels must start with '{'") }
        i += 1
        out.beginObject()
        space()
        if i < text.count && text[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                space()
                let nameStart = i
                while i < text.count && isNameByte(text[i], first: i == nameStart) { i += 1 }
                guard i > nameStart else { throw DecodingError(message: "expected a label name at character \(i + 1)") }
                let name = Array(text[nameStart..<i])
                space()
                guard i < text.count, text[i] == UInt8(ascii: "=") else { throw DecodingError(message: "expected '=' after label '\(String(decoding: name, as: UTF8.self))'") }
                i += 1
                space()
                guard i < text.count, text[i] == UInt8(ascii: "\"") else { throw DecodingError(message: "expected a quoted value for label '\(String(decoding: name, as: UTF8.self))'") }
                i += 1
                let value = try unquote(text, &i)
                name.withUnsafeBytes { out.key($0) }
                value.withUnsafeBytes { out.text($0) }
                space()
                if i < text.count && text[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard i < text.count, text[i] == UInt8(ascii: "}") else { throw DecodingError(message: "expected ',' or '}' at character \(i + 1)") }
                i += 1
                break
            }
        }
        space()
        guard i == text.count else { throw DecodingError(message: "unexpected text after '}'") }
        out.endObject()
        return out.bytes()
    }

    private static func isNameByte(_ c: UInt8, first: Bool) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || (!first && c >= 0x30 && c <= 0x39)
    }

    /// A Go quoted string's content after its opening quote, up to and past the closing quote.
    private static func unquote(_ text: [UInt8], _ i: inout Int) throws(DecodingError) -> [UInt8] {
        var out: [UInt8] = []
        while i < text.count {
            let c = text[i]
            i += 1
            if c == UInt8(ascii: "\"") { return out }
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                continue
            }
            guard i < text.count else { break }
            let e = text[i]
            i += 1
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(e)
            case UInt8(ascii: "x"):
                out.append(UInt8(try hex(text, &i, digits: 2)))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let scalar = try hex(text, &i, digits: e == UInt8(ascii: "u") ? 4 : 8)
                guard let u = Unicode.Scalar(scalar) else { throw DecodingError(message: "invalid \\u escape in a label value") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard i + 1 < text.count else { throw DecodingError(message: "truncated octal escape in a label value") }
                var v = UInt32(e - 0x30)
                for _ in 0..<2 {
                    let d = text[i] &- 0x30
                    guard d < 8 else { throw DecodingError(message: "invalid octal escape in a label value") }
                    v = v * 8 + UInt32(d)
                    i += 1
                }
                guard v < 256 else { throw DecodingError(message: "invalid octal escape in a label value") }
                out.append(UInt8(v))
            default:
                throw DecodingError(message: "invalid escape '\\\(Character(Unicode.Scalar(e)))' in a label value")
            }
        }
        throw DecodingError(message: "unterminated label value")
    }

    private static func hex(_ text: [UInt8], _ i: inout Int, digits: Int) throws(DecodingError) -> UInt32 {
        guard i + digits <= text.count else { throw DecodingError(message: "truncated escape in a label value") }
        var v: UInt32 = 0
        for _ in 0..<digits {
            let c = text[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw DecodingError(message: "invalid hex digit in a label value escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}
