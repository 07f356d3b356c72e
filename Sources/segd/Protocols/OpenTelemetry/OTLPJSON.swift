import Foundation
import NDJSON
import SegmentFormat

/// OTLP/JSON (`Content-Type: application/json` on `/v1/logs`) decoded from the bytes into the
/// same `ExportLogsServiceRequest` as the protobuf body, by the OTLP specification's JSON rules:
/// lowerCamelCase names (proto field names accepted too), trace and span ids in hex (not base64),
/// 64-bit integers as numbers or strings, enums as integers, bytes in base64, unknown fields
/// ignored. Written here rather than with SwiftProtobuf's JSON decoder, which reads ids as base64.
enum OTLPJSON {
    /// A body that is not OTLP/JSON, with what and where (byte offset).
    struct DecodingError: Error, CustomStringConvertible {
        let message: String
        let offset: Int
        var description: String { "\(message) (at byte \(offset) of the body)" }
    }

    static func decode(_ body: UnsafeRawBufferPointer) throws(DecodingError) -> Otlp_ExportLogsServiceRequest {
        guard let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return Otlp_ExportLogsServiceRequest()
        }
        var s = JSONScanner(base, count: body.count)
        var request = Otlp_ExportLogsServiceRequest()
        do throws(JSONScanner.Failure) {
            try s.forEachMember { s, key throws(JSONScanner.Failure) in
                if key.is("resourceLogs") || key.is("resource_logs") {
                    request.resourceLogs = try list(&s, resourceLogs)
                } else {
                    try s.skipValue()
                }
            }
            s.skipSpace()
            guard s.atEnd else { throw s.fail("unexpected text after the request object") }
        } catch {
            throw DecodingError(message: error.message, offset: error.offset)
        }
        return request
    }

    /// The elements of an array (null is an empty list).
    private static func list<T>(_ s: inout JSONScanner, _ element: (inout JSONScanner) throws(JSONScanner.Failure) -> T) throws(JSONScanner.Failure) -> [T] {
        if try s.takeNull() { return [] }
        var items: [T] = []
        try s.forEachElement { s throws(JSONScanner.Failure) in items.append(try element(&s)) }
        return items
    }

    private static func resourceLogs(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Otlp_ResourceLogs {
        var message = Otlp_ResourceLogs()
        if try s.takeNull() { return message }
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            if key.is("resource") {
                if try s.takeNull() { return }
                var resource = Otlp_Resource()
                try s.forEachMember { s, key throws(JSONScanner.Failure) in
                    if key.is("attributes") { resource.attributes = try list(&s, keyValue) } else { try s.skipValue() }
                }
                message.resource = resource
            } else if key.is("scopeLogs") || key.is("scope_logs") {
                message.scopeLogs = try list(&s, scopeLogs)
            } else {
                try s.skipValue()
            }
        }
        return message
    }

    private static func scopeLogs(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Otlp_ScopeLogs {
        var message = Otlp_ScopeLogs()
        if try s.takeNull() { return message }
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            if key.is("scope") {
                if try s.takeNull() { return }
                var scope = Otlp_InstrumentationScope()
                try s.forEachMember { s, key throws(JSONScanner.Failure) in
                    if key.is("name") {
                        scope.name = try text(&s)
                    } else if key.is("version") {
                        scope.version = try text(&s)
                    } else if key.is("attributes") {
                        scope.attributes = try list(&s, keyValue)
                    } else {
                        try s.skipValue()
                    }
                }
                message.scope = scope
            } else if key.is("logRecords") || key.is("log_records") {
                message.logRecords = try list(&s, logRecord)
            } else {
                try s.skipValue()
            }
        }
        return message
    }

    private static func logRecord(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Otlp_LogRecord {
        var record = Otlp_LogRecord()
        if try s.takeNull() { return record }
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            if try s.takeNull() { return }
            if key.is("timeUnixNano") || key.is("time_unix_nano") {
                record.timeUnixNano = try unsigned(&s)
            } else if key.is("observedTimeUnixNano") || key.is("observed_time_unix_nano") {
                record.observedTimeUnixNano = try unsigned(&s)
            } else if key.is("severityNumber") || key.is("severity_number") {
                record.severityNumber = try severity(&s)
            } else if key.is("severityText") || key.is("severity_text") {
                record.severityText = try s.string()
            } else if key.is("body") {
                record.body = try anyValue(&s)
            } else if key.is("attributes") {
                record.attributes = try list(&s, keyValue)
            } else if key.is("flags") {
                let flags = try s.int64()
                guard (0...Int64(UInt32.max)).contains(flags) else { throw s.fail("flags must fit in 32 bits") }
                record.flags = UInt32(flags)
            } else if key.is("traceId") || key.is("trace_id") {
                record.traceID = try hexIdentifier(&s, bytes: 16)
            } else if key.is("spanId") || key.is("span_id") {
                record.spanID = try hexIdentifier(&s, bytes: 8)
            } else if key.is("eventName") || key.is("event_name") {
                record.eventName = try s.string()
            } else {
                try s.skipValue()
            }
        }
        return record
    }

    private static func keyValue(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Otlp_KeyValue {
        var pair = Otlp_KeyValue()
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            if key.is("key") {
                pair.key = try text(&s)
            } else if key.is("value") {
                pair.value = try anyValue(&s)
            } else {
                try s.skipValue()
            }
        }
        return pair
    }

    private static func anyValue(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Otlp_AnyValue {
        var any = Otlp_AnyValue()
        if try s.takeNull() { return any }
        try s.forEachMember { s, key throws(JSONScanner.Failure) in
            if try s.takeNull() { return }
            if key.is("stringValue") || key.is("string_value") {
                any.value = .stringValue(try s.string())
            } else if key.is("boolValue") || key.is("bool_value") {
                any.value = .boolValue(try s.bool())
            } else if key.is("intValue") || key.is("int_value") {
                any.value = .intValue(try s.int64())
            } else if key.is("doubleValue") || key.is("double_value") {
                any.value = .doubleValue(try s.double())
            } else if key.is("bytesValue") || key.is("bytes_value") {
                let start = s.i
                guard let bytes = Data(base64Encoded: try s.string()) else {
                    throw JSONScanner.Failure(message: "bytesValue is not base64", offset: start)
                }
                any.value = .bytesValue(bytes)
            } else if key.is("arrayValue") || key.is("array_value") {
                var array = Otlp_ArrayValue()
                try s.forEachMember { s, key throws(JSONScanner.Failure) in
                    if key.is("values") { array.values = try list(&s, anyValue) } else { try s.skipValue() }
                }
                any.value = .arrayValue(array)
            } else if key.is("kvlistValue") || key.is("kvlist_value") {
                var kvlist = Otlp_KeyValueList()
                try s.forEachMember { s, key throws(JSONScanner.Failure) in
                    if key.is("values") { kvlist.values = try list(&s, keyValue) } else { try s.skipValue() }
                }
                any.value = .kvlistValue(kvlist)
            } else {
                try s.skipValue()
            }
        }
        return any
    }

    private static func text(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String {
        try s.takeNull() ? "" : try s.string()
    }

    /// A fixed64 time: a number or a string of digits.
    private static func unsigned(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> UInt64 {
        let start = s.i
        let quoted = s.current == UInt8(ascii: "\"")
        if quoted { s.i += 1 }
        guard s.current >= 0x30 && s.current <= 0x39 else { throw JSONScanner.Failure(message: "expected an unsigned integer (nanoseconds since the epoch)", offset: start) }
        let n = try s.scanNumber()
        guard n.isInteger, n.digits <= 20, n.exponent == 0, !n.negative else {
            throw JSONScanner.Failure(message: "expected an unsigned 64-bit integer (nanoseconds since the epoch)", offset: start)
        }
        // Twenty digits overflow the 19 the scanner keeps: read them again, checking for overflow.
        var value: UInt64 = 0
        for k in n.start..<n.end {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(s.p[k] - 0x30))
            guard !o1, !o2 else { throw JSONScanner.Failure(message: "the time does not fit in 64 bits", offset: start) }
            value = sum
        }
        if quoted { try s.expect(UInt8(ascii: "\""), "'\"' after the integer") }
        return value
    }

    /// A severity number (an integer; the enum's name is accepted too).
    private static func severity(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Int32 {
        let start = s.i
        if s.current == UInt8(ascii: "\"") {
            let name = try s.string()
            if let number = Int32(name) { return number }
            let names = ["TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4", "INFO", "INFO2", "INFO3", "INFO4",
                         "WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2", "ERROR3", "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4"]
            let suffix = name.hasPrefix("SEVERITY_NUMBER_") ? String(name.dropFirst(16)) : name
            if suffix == "UNSPECIFIED" { return 0 }
            guard let index = names.firstIndex(of: suffix) else {
                throw JSONScanner.Failure(message: "unknown severityNumber '\(name.prefix(40))'", offset: start)
            }
            return Int32(index + 1)
        }
        let value = try s.int64()
        guard (0...24).contains(value) else { throw JSONScanner.Failure(message: "severityNumber must be 0 to 24", offset: start) }
        return Int32(value)
    }

    /// A trace or span id: hex of exactly `bytes` bytes, or empty.
    private static func hexIdentifier(_ s: inout JSONScanner, bytes count: Int) throws(JSONScanner.Failure) -> Data {
        let start = s.i
        let text = try s.stringBytes()
        if text.isEmpty { return Data() }
        guard text.count == 2 * count else {
            throw JSONScanner.Failure(message: "expected \(2 * count) hex digits (OTLP/JSON writes ids in hex), got \(text.count) characters", offset: start)
        }
        var id = Data(count: count)
        for k in 0..<count {
            guard let high = hexDigit(text[2 * k]), let low = hexDigit(text[2 * k + 1]) else {
                throw JSONScanner.Failure(message: "the id is not hex (OTLP/JSON writes ids in hex)", offset: start)
            }
            id[k] = high << 4 | low
        }
        return id
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
