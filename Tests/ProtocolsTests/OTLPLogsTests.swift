import Foundation
import SwiftProtobuf
import Testing
@testable import segd

struct OTLPLogsTests {
    static func attribute(_ key: String, _ value: Otlp_AnyValue.OneOf_Value?) -> Otlp_KeyValue {
        var pair = Otlp_KeyValue()
        pair.key = key
        pair.value.value = value
        return pair
    }

    /// A request with every field the `otel` stream stores.
    static func request() -> Otlp_ExportLogsServiceRequest {
        var record = Otlp_LogRecord()
        record.timeUnixNano = 1_714_564_800_123_456_789
        record.observedTimeUnixNano = 1_714_564_801_000_000_000
        record.severityNumber = 9
        record.severityText = "INFO"
        record.body.value = .stringValue("hello \"world\"\n")
        record.attributes = [attribute("http.status", .intValue(200)), attribute("ok", .boolValue(true)),
                             attribute("ratio", .doubleValue(0.5)), attribute("raw", .bytesValue(Data([0, 255]))),
                             attribute("list", .arrayValue(.with { $0.values = [.with { $0.value = .stringValue("a") }, .with { $0.value = .intValue(-1) }] })),
                             attribute("map", .kvlistValue(.with { $0.values = [attribute("k", .stringValue("v"))] })),
                             attribute("empty", nil)]
        record.traceID = Data((1...16).map { UInt8($0) })
        record.spanID = Data([0xAB, 0xCD, 0, 0, 0, 0, 0, 1])
        record.flags = 1
        record.eventName = "login"
        var structured = Otlp_LogRecord()
        structured.observedTimeUnixNano = 1_714_564_802_000_000_000
        structured.body.value = .kvlistValue(.with { $0.values = [attribute("user", .stringValue("ann")), attribute("n", .intValue(3))] })
        structured.traceID = Data(count: 16)
        var bare = Otlp_LogRecord()
        bare.body.value = .intValue(42)
        var scope = Otlp_ScopeLogs()
        scope.scope.name = "my.lib"
        scope.scope.version = "1.2"
        scope.scope.attributes = [attribute("s", .stringValue("x"))]
        scope.logRecords = [record, structured, bare]
        var unscoped = Otlp_ScopeLogs()
        unscoped.logRecords = [Otlp_LogRecord()]
        var resourceLogs = Otlp_ResourceLogs()
        resourceLogs.resource.attributes = [attribute("service.name", .stringValue("checkout")), attribute("host.name", .stringValue("h1"))]
        resourceLogs.scopeLogs = [scope, unscoped]
        var request = Otlp_ExportLogsServiceRequest()
        request.resourceLogs = [resourceLogs, Otlp_ResourceLogs()]
        return request
    }

    static let now: Int64 = 1_714_565_000_000_000_000

    static func check(_ out: OTLPLogs.Transcoded) throws {
        #expect(out.refused == 0)
        #expect(try TestSupport.checkFits(out.records, stream: "otel") == 4)
        let r = try TestSupport.objects(out.records)
        #expect(r[0]["time"] as? String == "2024-05-01T12:00:00.123456789Z")
        #expect(r[0]["observed_time"] as? String == "2024-05-01T12:00:01Z")
        #expect(r[0]["severity_number"] as? Int == 9 && r[0]["severity_text"] as? String == "INFO")
        #expect(r[0]["body"] as? String == "hello \"world\"\n")
        #expect(r[0]["trace_id"] as? String == "0102030405060708090a0b0c0d0e0f10")
        #expect(r[0]["span_id"] as? String == "abcd000000000001")
        #expect(r[0]["flags"] as? Int == 1 && r[0]["event_name"] as? String == "login")
        #expect(r[0]["service_name"] as? String == "checkout")
        #expect(r[0]["resource"] as? [String: String] == ["service.name": "checkout", "host.name": "h1"])
        let scope = try #require(r[0]["scope"] as? [String: Any])
        #expect(scope["name"] as? String == "my.lib" && scope["version"] as? String == "1.2" && scope["attributes"] as? [String: String] == ["s": "x"])
        let attributes = try #require(r[0]["attributes"] as? [String: Any])
        #expect(attributes["http.status"] as? Int == 200 && attributes["ok"] as? Bool == true && attributes["ratio"] as? Double == 0.5)
        #expect(attributes["raw"] as? String == "AP8=" && attributes["empty"] is NSNull)
        #expect((attributes["list"] as? [Any])?.count == 2 && attributes["map"] as? [String: String] == ["k": "v"])
        // No time: the observed time; a structured body as its JSON text; an all-zero id is none.
        #expect(r[1]["time"] as? String == "2024-05-01T12:00:02Z")
        #expect(r[1]["body"] as? String == #"{"user":"ann","n":3}"#)
        #expect(r[1]["trace_id"] is NSNull && r[1]["severity_number"] is NSNull && r[1]["flags"] is NSNull)
        // Neither time: when segd received it.
        #expect(r[2]["time"] as? String == RFC3339Format.string(now) && r[2]["body"] as? String == "42" && r[2]["observed_time"] is NSNull)
        #expect(r[3]["scope"] is NSNull && r[3]["body"] is NSNull && r[3]["attributes"] as? [String: String] == [:])
    }

    @Test func protobufRequestBecomesOtelRecords() throws {
        let bytes: [UInt8] = try Self.request().serializedBytes()
        let decoded = try Otlp_ExportLogsServiceRequest(serializedBytes: bytes)
        try Self.check(OTLPLogs.transcode(decoded, receivedAt: Self.now))
    }

    /// OTLP/JSON as the specification writes it: ids in hex, 64-bit integers as strings.
    @Test func jsonRequestBecomesTheSameRecords() throws {
        let json = """
        {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"host.name","value":{"stringValue":"h1"}}]},
          "scopeLogs":[{"scope":{"name":"my.lib","version":"1.2","attributes":[{"key":"s","value":{"stringValue":"x"}}]},"schemaUrl":"ignored",
            "logRecords":[
              {"timeUnixNano":"1714564800123456789","observedTimeUnixNano":1714564801000000000,"severityNumber":9,"severityText":"INFO",
               "body":{"stringValue":"hello \\"world\\"\\n"},"traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"abcd000000000001","flags":1,"eventName":"login",
               "attributes":[{"key":"http.status","value":{"intValue":"200"}},{"key":"ok","value":{"boolValue":true}},{"key":"ratio","value":{"doubleValue":0.5}},
                 {"key":"raw","value":{"bytesValue":"AP8="}},{"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":-1}]}}},
                 {"key":"map","value":{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}},{"key":"empty","value":{}}]},
              {"observed_time_unix_nano":"1714564802000000000","body":{"kvlistValue":{"values":[{"key":"user","value":{"stringValue":"ann"}},{"key":"n","value":{"intValue":3}}]}},"traceId":""},
              {"body":{"intValue":"42"},"unknownField":[1,2,{"x":null}]}]},
           {"logRecords":[{}]}]},
         {}]}
        """
        let request = try TestSupport.withBytes(json) { try OTLPJSON.decode($0) }
        try Self.check(OTLPLogs.transcode(request, receivedAt: Self.now))
    }

    @Test(arguments: [
        (#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"AQIDBAUGBwgJCgsMDQ4PEA=="}]}]}]}"#, "hex"),
        (#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"zz00000000000000"}]}]}]}"#, "not hex"),
        (#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"-1"}]}]}]}"#, "unsigned"),
        (#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":25}]}]}]}"#, "0 to 24"),
        (#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":1.5}}]}]}]}"#, "64-bit integer"),
        (#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":{"bytesValue":"%%"}}]}]}]}]}"#, "base64"),
        (#"{"resourceLogs":[] } x"#, "unexpected text"),
        (#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"unterminated}]}]}]}"#, "unterminated"),
    ])
    func badJSONIsRefusedWithWhatAndWhere(_ json: String, _ message: String) {
        #expect { try TestSupport.withBytes(json) { try OTLPJSON.decode($0) } } throws: { error in
            let e = error as? OTLPJSON.DecodingError
            return e?.message.contains(message) == true && e!.description.contains("at byte")
        }
    }

    /// A time past the nanosecond range refuses that record only, and says so.
    @Test func aRecordOutOfRangeIsRefusedAlone() throws {
        var request = Self.request()
        request.resourceLogs[0].scopeLogs[0].logRecords[1].timeUnixNano = UInt64.max
        let out = OTLPLogs.transcode(request, receivedAt: Self.now)
        #expect(out.refused == 1 && out.firstRefusal?.contains("2262") == true)
        #expect(try TestSupport.checkFits(out.records, stream: "otel") == 3)
    }
}

/// RFC 3339 text of an instant, for expectations.
enum RFC3339Format {
    static func string(_ ns: Int64) -> String {
        let r = NDJSONRecords()
        r.timestamp(ns)
        return String(decoding: r.bytes().dropFirst().dropLast(), as: UTF8.self)
    }
}
