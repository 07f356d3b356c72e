import Foundation
import NDJSON

/// OTLP logs (an `ExportLogsServiceRequest`, decoded from protobuf or JSON) into NDJSON records
/// of the built-in `otel` stream's shape, one per log record:
///
/// `time` (the record's time, else its observed time, else when segd received it),
/// `observed_time`, `severity_number`, `severity_text`, `body` (a string body as it is, any other
/// body as its JSON text), `trace_id` and `span_id` (lower-case hex), `flags`, `event_name`,
/// `service_name` (the resource's `service.name`), and `resource`, `scope` and `attributes` as
/// JSON objects. Absent values are null. A record whose time does not fit the nanosecond range
/// (after 2262-04-11) is refused and counted, the others go on.
enum OTLPLogs {
    /// What a request became: the records, and how many log records were refused here, with the
    /// first reason.
    struct Transcoded {
        let records: NDJSONRecords
        var refused = 0
        var firstRefusal: String?
    }

    static func transcode(_ request: Otlp_ExportLogsServiceRequest, receivedAt now: Int64) -> Transcoded {
        var out = Transcoded(records: NDJSONRecords())
        let records = out.records
        // Structured bodies are rendered here first, then written as one string.
        let scratch = NDJSONRecords()
        for resourceLogs in request.resourceLogs {
            let resource = resourceLogs.resource.attributes
            let serviceName = resource.first { $0.key == "service.name" }.flatMap { attribute -> String? in
                if case let .stringValue(name)? = attribute.value.value { return name }
                return nil
            }
            for scopeLogs in resourceLogs.scopeLogs {
                for (index, log) in scopeLogs.logRecords.enumerated() {
                    guard log.timeUnixNano <= UInt64(Int64.max), log.observedTimeUnixNano <= UInt64(Int64.max) else {
                        out.refused += 1
                        if out.firstRefusal == nil {
                            out.firstRefusal = "log record \(index) of a scope: its time is after 2262-04-11, beyond the nanosecond range"
                        }
                        continue
                    }
                    let time = Int64(log.timeUnixNano != 0 ? log.timeUnixNano : log.observedTimeUnixNano != 0 ? log.observedTimeUnixNano : UInt64(max(now, 0)))
                    records.beginRecord()
                    records.key("time")
                    records.timestamp(time)
                    records.key("observed_time")
                    if log.observedTimeUnixNano != 0 { records.timestamp(Int64(log.observedTimeUnixNano)) } else { records.null() }
                    records.key("severity_number")
                    if log.severityNumber != 0 { records.integer(Int64(log.severityNumber)) } else { records.null() }
                    records.key("severity_text")
                    optionalText(log.severityText, records)
                    records.key("body")
                    body(log, records, scratch)
                    records.key("trace_id")
                    identifier(log.traceID, records)
                    records.key("span_id")
                    identifier(log.spanID, records)
                    records.key("flags")
                    if log.flags != 0 { records.integer(Int64(log.flags)) } else { records.null() }
                    records.key("event_name")
                    optionalText(log.eventName, records)
                    records.key("service_name")
                    if let serviceName { records.text(serviceName) } else { records.null() }
                    records.key("resource")
                    attributes(resource, records)
                    records.key("scope")
                    if scopeLogs.hasScope {
                        records.beginObject()
                        records.key("name")
                        records.text(scopeLogs.scope.name)
                        records.key("version")
                        records.text(scopeLogs.scope.version)
                        records.key("attributes")
                        attributes(scopeLogs.scope.attributes, records)
                        records.endObject()
                    } else {
                        records.null()
                    }
                    records.key("attributes")
                    attributes(log.attributes, records)
                    records.endRecord()
                }
            }
        }
        return out
    }

    private static func optionalText(_ text: String, _ records: NDJSONRecords) {
        if text.isEmpty { records.null() } else { records.text(text) }
    }

    /// A trace or span id as lower-case hex; null when empty or all zero (OTLP's "no id").
    private static func identifier(_ id: Data, _ records: NDJSONRecords) {
        guard id.contains(where: { $0 != 0 }) else {
            records.null()
            return
        }
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(id.count * 2)
        for byte in id {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 15)])
        }
        records.text(hex)
    }

    private static func body(_ log: Otlp_LogRecord, _ records: NDJSONRecords, _ scratch: NDJSONRecords) {
        switch log.body.value {
        case nil:
            records.null()
        case let .stringValue(text)?:
            records.text(text)
        case .some:
            scratch.reset()
            value(log.body, scratch)
            records.text(scratch.bytes())
        }
    }

    /// Attributes as one JSON object (an empty list is `{}`).
    static func attributes(_ list: [Otlp_KeyValue], _ records: NDJSONRecords) {
        records.beginObject()
        for attribute in list {
            records.key(attribute.key)
            value(attribute.value, records)
        }
        records.endObject()
    }

    /// An attribute value as JSON: strings, booleans, integers and doubles as such, arrays and
    /// key-value lists as arrays and objects, bytes as base64, an empty value as null.
    static func value(_ any: Otlp_AnyValue, _ records: NDJSONRecords) {
        switch any.value {
        case nil: records.null()
        case let .stringValue(text)?: records.text(text)
        case let .boolValue(flag)?: records.bool(flag)
        case let .intValue(number)?: records.integer(number)
        case let .doubleValue(number)?: records.double(number)
        case let .bytesValue(bytes)?: records.text(bytes.base64EncodedString())
        case let .arrayValue(array)?:
            records.beginArray()
            for element in array.values { value(element, records) }
            records.endArray()
        case let .kvlistValue(list)?:
            attributes(list.values, records)
        }
    }
}
