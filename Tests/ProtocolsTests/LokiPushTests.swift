import Foundation
import SwiftProtobuf
import Testing
@testable import segd

struct LokiPushTests {
    static func json(_ text: String) throws -> NDJSONRecords {
        try TestSupport.withBytes(text) { try LokiPush.transcodeJSON($0) }
    }

    @Test func jsonPushBecomesLokiRecords() throws {
        let records = try Self.json("""
        {"streams": [
          {"stream": {"job": "app", "env": "prod"}, "values": [["1714564800000000001", "first \\"line\\""], ["1714564800000000002", "second", {"trace_id": "abc"}]]},
          {"values": [[1714564801000000000, "third"]], "stream": {}}
        ]}
        """)
        #expect(try TestSupport.checkFits(records, stream: "loki") == 3)
        let r = try TestSupport.objects(records)
        #expect(r[0]["time"] as? String == "2024-05-01T12:00:00.000000001Z")
        #expect(r[0]["labels"] as? [String: String] == ["job": "app", "env": "prod"])
        #expect(r[0]["line"] as? String == "first \"line\"" && r[0]["metadata"] as? [String: String] == [:])
        #expect(r[1]["metadata"] as? [String: String] == ["trace_id": "abc"])
        #expect(r[2]["time"] as? String == "2024-05-01T12:00:01Z" && r[2]["labels"] as? [String: String] == [:])
    }

    /// Loki's older JSON: labels in Prometheus' text form, entries with RFC 3339 times.
    @Test func olderJSONWithLabelTextAndEntries() throws {
        let records = try Self.json(#"{"streams":[{"labels":"{job=\"app\", msg=\"a\\\"b\\\\c\\n\"}","entries":[{"ts":"2024-05-01T14:00:00+02:00","line":"x"}]}]}"#)
        #expect(try TestSupport.checkFits(records, stream: "loki") == 1)
        let r = try TestSupport.objects(records)
        #expect(r[0]["labels"] as? [String: String] == ["job": "app", "msg": "a\"b\\c\n"])
        #expect(r[0]["time"] as? String == "2024-05-01T12:00:00Z")
    }

    @Test func protobufPushBecomesTheSameRecords() throws {
        var request = Loki_PushRequest()
        var stream = Loki_StreamAdapter()
        stream.labels = #"{env="prod", job="app"}"#
        var entry = Loki_EntryAdapter()
        entry.timestamp.seconds = 1_714_564_800
        entry.timestamp.nanos = 5
        entry.line = "hello"
        entry.structuredMetadata = [.with { $0.name = "trace_id"; $0.value = "abc" }]
        stream.entries = [entry, entry]
        request.streams = [stream]
        let bytes: [UInt8] = try request.serializedBytes()
        let records = try LokiPush.transcode(try Loki_PushRequest(serializedBytes: bytes))
        #expect(try TestSupport.checkFits(records, stream: "loki") == 2)
        let r = try TestSupport.objects(records)
        #expect(r[0]["time"] as? String == "2024-05-01T12:00:00.000000005Z")
        #expect(r[0]["labels"] as? [String: String] == ["job": "app", "env": "prod"])
        #expect(r[0]["metadata"] as? [String: String] == ["trace_id": "abc"])
    }

    @Test(arguments: [
        (#"{env="a"}"#, ["env": "a"]),
        (#"{}"#, [:]),
        (#" { a = "1" , b="\x41\u00e9\101\t" } "#, ["a": "1", "b": "A\u{e9}A\t"]),
    ] as [(String, [String: String])])
    func labelTextParses(_ text: String, _ expected: [String: String]) throws {
        let object = try LokiPush.labelObject(Array(text.utf8))
        #expect(try JSONSerialization.jsonObject(with: Data(object)) as? [String: String] == expected)
    }

    @Test(arguments: [#"env="a""#, #"{env="a""#, #"{env=a}"#, #"{1x="a"}"#, #"{a="\q"}"#, #"{a="b"} x"#, #"{a="b",}"#])
    func badLabelTextIsRefused(_ text: String) {
        #expect(throws: LokiPush.DecodingError.self) { try LokiPush.labelObject(Array(text.utf8)) }
    }

    @Test(arguments: [
        (#"{"streams":[{"values":[["1","x"]]}]}"#, "no \"stream\" labels"),
        (#"{"streams":[{"stream":{"a":1},"values":[]}]}"#, "string value"),
        (#"{"streams":[{"stream":{},"values":[["yesterday","x"]]}]}"#, "nanoseconds since the epoch"),
        (#"{"streams":[{"stream":{},"values":[["1"]]}]}"#, "a time and a line"),
        (#"{"streams":[{"stream":{},"values":[["1","x",{},4]]}]}"#, "at most three"),
        (#"{"streams":[{"stream":{},"values":[["1","x","meta"]]}]}"#, "must be an object"),
        (#"{"streams":[{"stream":{},"values":[["1",7]]}]}"#, "expected a string"),
        (#"{"streams":[] "#, "'}'"),
    ])
    func badJSONIsRefusedWithWhatAndWhere(_ text: String, _ message: String) {
        #expect { try Self.json(text) } throws: { error in
            let e = error as? LokiPush.DecodingError
            return e?.message.contains(message) == true && e?.message.contains("at byte") == true
        }
    }
}
