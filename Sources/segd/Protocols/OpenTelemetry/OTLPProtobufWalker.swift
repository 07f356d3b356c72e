import NDJSON
import SegmentFormat

/// OTLP/HTTP protobuf logs (`ExportLogsServiceRequest` bytes) straight into the `otel` stream's
/// NDJSON records, walking the wire format without building messages: the same records, field by
/// field, that `OTLPLogs.transcode` writes from swift-protobuf's decoded request.
///
/// Why by hand: decoding with swift-protobuf builds an `Otlp_LogRecord` (with a `String`, a `Data`
/// and an array of `Otlp_KeyValue` each holding an `Otlp_AnyValue`) for every log record, then
/// the conversion reads them back: under `tools/bench/ingest --protocols` that was about half of
/// the OTLP route's time (25% message building, 22% conversion) and held the route at 0.19x the
/// NDJSON route's records/s. Here each string goes from the request's bytes into the NDJSON once,
/// the resource and the scope are rendered once per group rather than once per record, and
/// nothing is allocated per record.
///
/// The walker takes only what it is sure of. Whatever it does not take on this path (malformed
/// wire format, a singular message field given twice (which protobuf merges), a known field with
/// the wrong wire type, groups, text that is not UTF-8, nesting deeper than swift-protobuf's
/// limit) makes it answer nil, and the route decodes with swift-protobuf, which has the final word
/// (and the error message). The generated types stay for that, for the answers, and for the tests
/// that check this walker against swift-protobuf on the same bytes.
enum OTLPProtobufWalker {
    /// The walker declines the request (see the type's comment); nothing it wrote is used.
    struct Declined: Error {}

    /// Nesting (counted in messages from the request) beyond which the walker declines: below
    /// swift-protobuf's default limit of 100, so that it never takes what swift-protobuf refuses,
    /// and the walker's recursion stays bounded.
    static let depthLimit = 90

    static func transcode(_ bytes: UnsafeRawBufferPointer, receivedAt now: Int64) -> OTLPLogs.Transcoded? {
        var walk = Walk(now: now)
        do {
            var reader = WireReader(bytes)
            while let (field, wireType) = try reader.next() {
                if field == 1 {
                    try walk.resourceLogs(try reader.message(wireType))
                } else {
                    try reader.skip(wireType)
                }
            }
        } catch {
            return nil
        }
        return walk.out
    }

    /// One request's walk: the output, and scratch buffers reused for every resource, scope and
    /// structured body.
    private struct Walk {
        let now: Int64
        var out = OTLPLogs.Transcoded(records: NDJSONRecords())
        let resourceJSON = NDJSONRecords()
        let scopeJSON = NDJSONRecords()
        let bodyJSON = NDJSONRecords()

        init(now: Int64) { self.now = now }

        mutating func resourceLogs(_ bytes: UnsafeRawBufferPointer) throws(Declined) {
            // The resource may follow the scopes on the wire: find it first.
            let resource = try WireReader.singularMessage(1, in: bytes)
            resourceJSON.reset()
            var serviceName: UnsafeRawBufferPointer?
            var sawServiceName = false
            resourceJSON.beginObject()
            if let resource {
                var fields = WireReader(resource)
                while let (field, wireType) = try fields.next() {
                    guard field == 1 else {
                        try fields.skip(wireType)
                        continue
                    }
                    let attribute = try keyValue(try fields.message(wireType), into: resourceJSON, depth: 3)
                    if !sawServiceName, equals(attribute.key, "service.name") {
                        sawServiceName = true
                        serviceName = attribute.stringValue
                    }
                }
            }
            resourceJSON.endObject()
            let rendered = resourceJSON.bytes()
            var reader = WireReader(bytes)
            while let (field, wireType) = try reader.next() {
                if field == 2 {
                    try scopeLogs(try reader.message(wireType), resource: rendered, serviceName: serviceName)
                } else {
                    try reader.skip(wireType)
                }
            }
        }

        mutating func scopeLogs(_ bytes: UnsafeRawBufferPointer, resource: [UInt8], serviceName: UnsafeRawBufferPointer?) throws(Declined) {
            let scope = try WireReader.singularMessage(1, in: bytes)
            scopeJSON.reset()
            if let scope {
                var name = UnsafeRawBufferPointer(start: nil, count: 0)
                var version = UnsafeRawBufferPointer(start: nil, count: 0)
                var fields = WireReader(scope)
                while let (field, wireType) = try fields.next() {
                    switch field {
                    case 1: name = try fields.text(wireType)
                    case 2: version = try fields.text(wireType)
                    case 3: _ = try fields.message(wireType)
                    default: try fields.skip(wireType)
                    }
                }
                scopeJSON.beginObject()
                scopeJSON.key("name")
                scopeJSON.text(validUTF8: name)
                scopeJSON.key("version")
                scopeJSON.text(validUTF8: version)
                scopeJSON.key("attributes")
                scopeJSON.beginObject()
                fields = WireReader(scope)
                while let (field, wireType) = try fields.next() {
                    if field == 3 {
                        _ = try keyValue(try fields.message(wireType), into: scopeJSON, depth: 4)
                    } else {
                        try fields.skip(wireType)
                    }
                }
                scopeJSON.endObject()
                scopeJSON.endObject()
            } else {
                scopeJSON.null()
            }
            let renderedScope = scopeJSON.bytes()
            var index = 0
            var reader = WireReader(bytes)
            while let (field, wireType) = try reader.next() {
                if field == 2 {
                    try logRecord(try reader.message(wireType), index: index, resource: resource, scope: renderedScope, serviceName: serviceName)
                    index += 1
                } else {
                    try reader.skip(wireType)
                }
            }
        }

        mutating func logRecord(_ bytes: UnsafeRawBufferPointer, index: Int, resource: [UInt8], scope: [UInt8],
                                serviceName: UnsafeRawBufferPointer?) throws(Declined) {
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            var timeUnixNano: UInt64 = 0
            var observedUnixNano: UInt64 = 0
            var severityNumber: Int32 = 0
            var severityText = empty
            var body: UnsafeRawBufferPointer?
            var flags: UInt32 = 0
            var traceID = empty
            var spanID = empty
            var eventName = empty
            var reader = WireReader(bytes)
            while let (field, wireType) = try reader.next() {
                switch field {
                case 1: timeUnixNano = try reader.fixed64(wireType)
                case 2: severityNumber = Int32(truncatingIfNeeded: try reader.varint(wireType))
                case 3: severityText = try reader.text(wireType)
                case 5:
                    guard body == nil else { throw Declined() }
                    body = try reader.message(wireType)
                case 6: _ = try reader.message(wireType)
                case 8: flags = try reader.fixed32(wireType)
                case 9: traceID = try reader.message(wireType)
                case 10: spanID = try reader.message(wireType)
                case 11: observedUnixNano = try reader.fixed64(wireType)
                case 12: eventName = try reader.text(wireType)
                default: try reader.skip(wireType)
                }
            }
            guard timeUnixNano <= UInt64(Int64.max), observedUnixNano <= UInt64(Int64.max) else {
                // Still walked to the end, so that what swift-protobuf would refuse is declined.
                bodyJSON.reset()
                if let body { try value(try AnyValueKind(body), into: bodyJSON, depth: 4) }
                try attributes(of: bytes, into: bodyJSON)
                out.refused += 1
                if out.firstRefusal == nil {
                    out.firstRefusal = "log record \(index) of a scope: its time is after 2262-04-11, beyond the nanosecond range"
                }
                return
            }
            let time = Int64(timeUnixNano != 0 ? timeUnixNano : observedUnixNano != 0 ? observedUnixNano : UInt64(max(now, 0)))
            let records = out.records
            records.beginRecord()
            records.key("time")
            records.timestamp(time)
            records.key("observed_time")
            if observedUnixNano != 0 { records.timestamp(Int64(observedUnixNano)) } else { records.null() }
            records.key("severity_number")
            if severityNumber != 0 { records.integer(Int64(severityNumber)) } else { records.null() }
            records.key("severity_text")
            optionalText(severityText, records)
            records.key("body")
            if let body {
                let kind = try AnyValueKind(body)
                switch kind {
                case .none: records.null()
                case let .string(text): records.text(validUTF8: text)
                default:
                    bodyJSON.reset()
                    try value(kind, into: bodyJSON, depth: 4)
                    bodyJSON.bytes().withUnsafeBytes { records.text(validUTF8: $0) }
                }
            } else {
                records.null()
            }
            records.key("trace_id")
            identifier(traceID, records)
            records.key("span_id")
            identifier(spanID, records)
            records.key("flags")
            if flags != 0 { records.integer(Int64(flags)) } else { records.null() }
            records.key("event_name")
            optionalText(eventName, records)
            records.key("service_name")
            if let serviceName { records.text(validUTF8: serviceName) } else { records.null() }
            records.key("resource")
            resource.withUnsafeBytes { records.json($0) }
            records.key("scope")
            scope.withUnsafeBytes { records.json($0) }
            records.key("attributes")
            try attributes(of: bytes, into: records)
            records.endRecord()
        }

        /// A log record's attributes (field 6) as one JSON object.
        private func attributes(of logRecord: UnsafeRawBufferPointer, into records: NDJSONRecords) throws(Declined) {
            records.beginObject()
            var reader = WireReader(logRecord)
            while let (field, wireType) = try reader.next() {
                if field == 6 {
                    _ = try keyValue(try reader.message(wireType), into: records, depth: 4)
                } else {
                    try reader.skip(wireType)
                }
            }
            records.endObject()
        }

        /// One attribute as a member of the object being written; returns its key and, when its
        /// value is a string, that string.
        func keyValue(_ bytes: UnsafeRawBufferPointer, into records: NDJSONRecords,
                      depth: Int) throws(Declined) -> (key: UnsafeRawBufferPointer, stringValue: UnsafeRawBufferPointer?) {
            guard depth < OTLPProtobufWalker.depthLimit else { throw Declined() }
            var key = UnsafeRawBufferPointer(start: nil, count: 0)
            var anyValue: UnsafeRawBufferPointer?
            var reader = WireReader(bytes)
            while let (field, wireType) = try reader.next() {
                switch field {
                case 1: key = try reader.text(wireType)
                case 2:
                    guard anyValue == nil else { throw Declined() }
                    anyValue = try reader.message(wireType)
                default: try reader.skip(wireType)
                }
            }
            records.key(validUTF8: key)
            guard let anyValue else {
                records.null()
                return (key, nil)
            }
            let kind = try AnyValueKind(anyValue)
            try value(kind, into: records, depth: depth + 1)
            if case let .string(text) = kind { return (key, text) }
            return (key, nil)
        }

        /// An `AnyValue` as JSON, the way `OTLPLogs.value` writes it.
        func value(_ kind: AnyValueKind, into records: NDJSONRecords, depth: Int) throws(Declined) {
            guard depth < OTLPProtobufWalker.depthLimit else { throw Declined() }
            switch kind {
            case .none: records.null()
            case let .string(text): records.text(validUTF8: text)
            case let .bool(flag): records.bool(flag)
            case let .integer(number): records.integer(number)
            case let .double(number): records.double(number)
            case let .bytes(bytes): Base64.encoded(bytes).withUnsafeBytes { records.text(validUTF8: $0) }
            case let .array(bytes):
                records.beginArray()
                var reader = WireReader(bytes)
                while let (field, wireType) = try reader.next() {
                    if field == 1 {
                        try value(try AnyValueKind(try reader.message(wireType)), into: records, depth: depth + 2)
                    } else {
                        try reader.skip(wireType)
                    }
                }
                records.endArray()
            case let .keyValues(bytes):
                records.beginObject()
                var reader = WireReader(bytes)
                while let (field, wireType) = try reader.next() {
                    if field == 1 {
                        _ = try keyValue(try reader.message(wireType), into: records, depth: depth + 2)
                    } else {
                        try reader.skip(wireType)
                    }
                }
                records.endObject()
            }
        }

        private func optionalText(_ text: UnsafeRawBufferPointer, _ records: NDJSONRecords) {
            if text.isEmpty { records.null() } else { records.text(validUTF8: text) }
        }

        /// A trace or span id as lower-case hex; null when empty or all zero (OTLP's "no id").
        private func identifier(_ id: UnsafeRawBufferPointer, _ records: NDJSONRecords) {
            guard id.contains(where: { $0 != 0 }) else {
                records.null()
                return
            }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: id.count * 2) { hex in
                let digits: StaticString = "0123456789abcdef"
                let table = digits.utf8Start
                for (i, byte) in id.enumerated() {
                    hex[2 * i] = table[Int(byte >> 4)]
                    hex[2 * i + 1] = table[Int(byte & 15)]
                }
                records.text(validUTF8: UnsafeRawBufferPointer(hex))
            }
        }

        private func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
            bytes.count == text.utf8CodeUnitCount && bytes.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
    }

    /// Which value an `AnyValue` holds, with its payload still on the wire. Its oneof given more
    /// than once (which protobuf resolves by merging or replacing) is declined.
    enum AnyValueKind {
        case none
        case string(UnsafeRawBufferPointer)
        case bool(Bool)
        case integer(Int64)
        case double(Double)
        case array(UnsafeRawBufferPointer)
        case keyValues(UnsafeRawBufferPointer)
        case bytes(UnsafeRawBufferPointer)

        init(_ bytes: UnsafeRawBufferPointer) throws(Declined) {
            self = .none
            var reader = WireReader(bytes)
            while let (field, wireType) = try reader.next() {
                guard (1...7).contains(field) else {
                    try reader.skip(wireType)
                    continue
                }
                guard case .none = self else { throw Declined() }
                switch field {
                case 1: self = .string(try reader.text(wireType))
                case 2: self = .bool(try reader.varint(wireType) != 0)
                case 3: self = .integer(Int64(bitPattern: try reader.varint(wireType)))
                case 4: self = .double(Double(bitPattern: try reader.fixed64(wireType)))
                case 5: self = .array(try reader.message(wireType))
                case 6: self = .keyValues(try reader.message(wireType))
                default: self = .bytes(try reader.message(wireType))
                }
            }
        }
    }

    /// Protobuf's wire format over bytes that stay where they are: field keys, varints, fixed
    /// numbers and length-delimited payloads, each bounds-checked.
    struct WireReader {
        private let bytes: UnsafeRawBufferPointer
        private var position = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        /// A singular message field of a message (nil when absent), found before the walk that
        /// writes, since it may come after the repeated fields on the wire. Given twice (which
        /// protobuf merges), declined.
        static func singularMessage(_ number: UInt64, in bytes: UnsafeRawBufferPointer) throws(Declined) -> UnsafeRawBufferPointer? {
            var found: UnsafeRawBufferPointer?
            var reader = WireReader(bytes)
            while let (field, wireType) = try reader.next() {
                guard field == number else {
                    try reader.skip(wireType)
                    continue
                }
                guard found == nil else { throw Declined() }
                found = try reader.message(wireType)
            }
            return found
        }

        /// The next field's number and wire type, or nil at the end.
        mutating func next() throws(Declined) -> (UInt64, UInt8)? {
            guard position < bytes.count else { return nil }
            let key = try rawVarint()
            let field = key >> 3
            let wireType = UInt8(key & 7)
            guard field != 0, field <= 536_870_911 else { throw Declined() }
            return (field, wireType)
        }

        mutating func varint(_ wireType: UInt8) throws(Declined) -> UInt64 {
            guard wireType == 0 else { throw Declined() }
            return try rawVarint()
        }

        mutating func fixed64(_ wireType: UInt8) throws(Declined) -> UInt64 {
            guard wireType == 1, bytes.count - position >= 8 else { throw Declined() }
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
            position += 8
            return value
        }

        mutating func fixed32(_ wireType: UInt8) throws(Declined) -> UInt32 {
            guard wireType == 5, bytes.count - position >= 4 else { throw Declined() }
            var value: UInt32 = 0
            for i in 0..<4 { value |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
            position += 4
            return value
        }

        /// A length-delimited payload (a message, bytes or a string) as a view of the input.
        mutating func message(_ wireType: UInt8) throws(Declined) -> UnsafeRawBufferPointer {
            guard wireType == 2 else { throw Declined() }
            let length = try rawVarint()
            guard length <= UInt64(bytes.count - position) else { throw Declined() }
            let start = position
            position += Int(length)
            return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
        }

        /// A string field: declined unless it is valid UTF-8 (swift-protobuf refuses the request).
        mutating func text(_ wireType: UInt8) throws(Declined) -> UnsafeRawBufferPointer {
            let payload = try message(wireType)
            guard UTF8Validation.isValid(payload) else { throw Declined() }
            return payload
        }

        /// Steps over a field this walker does not read (groups are declined).
        mutating func skip(_ wireType: UInt8) throws(Declined) {
            switch wireType {
            case 0: _ = try rawVarint()
            case 1: _ = try fixed64(1)
            case 2: _ = try message(2)
            case 5: _ = try fixed32(5)
            default: throw Declined()
            }
        }

        private mutating func rawVarint() throws(Declined) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                if shift == 63, byte > 1 { throw Declined() }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
                if shift > 63 { throw Declined() }
            }
            throw Declined()
        }
    }
}

/// Standard base64 with padding (RFC 4648 §4), as proto3's JSON mapping writes bytes.
enum Base64 {
    static func encoded(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let table = alphabet.utf8Start
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            out.append(table[Int(n >> 6 & 63)])
            out.append(table[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            out.append(rest == 2 ? table[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return out
    }
}
