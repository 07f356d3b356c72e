import Foundation
import Testing
@testable import segd

struct HECEventsTests {
    static let now = TestSupport.ns("2024-05-01T12:00:00Z")

    static func events(_ text: String, defaults: HECEvents.Defaults = .init()) throws(HECError) -> [HECEvents.Batch] {
        var bytes = Array(text.utf8)
        bytes.append(0)
        var result: Result<[HECEvents.Batch], HECError> = .success([])
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(HECError) in
                try HECEvents.transcodeEvents(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 1)]), defaults: defaults, receivedAt: now)
            }
        }
        return try result.get()
    }

    /// Events one after another, with or without whitespace; grouped by index.
    @Test func concatenatedEventsBecomeHECRecordsByIndex() throws {
        let batches = try Self.events("""
        {"time": 1714564800.25, "host": "h1", "source": "s", "sourcetype": "json", "event": {"message": "hi", "n": 1}, "fields": {"f": "v"}}{"event": "plain \\"text\\"", "time": "1714564801"}
          {"event": "other index", "index": "app"}
        """, defaults: .init(host: "default-host", sourcetype: "st"))
        #expect(batches.map(\.index) == [nil, "app"])
        #expect(batches.map(\.events) == [[0, 1], [2]])
        #expect(try TestSupport.checkFits(batches[0].records, stream: "hec") == 2)
        let r = try TestSupport.objects(batches[0].records)
        #expect(r[0]["time"] as? String == "2024-05-01T12:00:00.250Z")
        #expect(r[0]["host"] as? String == "h1" && r[0]["source"] as? String == "s" && r[0]["sourcetype"] as? String == "json")
        #expect(r[0]["event"] as? String == #"{"message": "hi", "n": 1}"#)
        #expect(r[0]["fields"] as? [String: String] == ["f": "v"])
        #expect(r[1]["event"] as? String == "plain \"text\"" && r[1]["time"] as? String == "2024-05-01T12:00:01Z")
        #expect(r[1]["host"] as? String == "default-host" && r[1]["source"] is NSNull && r[1]["sourcetype"] as? String == "st")
        let other = try TestSupport.objects(batches[1].records)
        #expect(other[0]["time"] as? String == "2024-05-01T12:00:00Z" && other[0]["fields"] is NSNull)
    }

    @Test func rawBodyLinesAreEvents() throws {
        let batches = try TestSupport.withBytes("line one\r\n\nline \u{1} two\n") { body throws(HECError) in
            try HECEvents.transcodeRaw(body, defaults: .init(source: "raw", index: "app", time: 1_000_000_000), receivedAt: Self.now)
        }
        #expect(batches.count == 1 && batches[0].index == "app")
        let r = try TestSupport.objects(batches[0].records)
        #expect(r.map { $0["event"] as? String } == ["line one", "line \u{1} two"])
        #expect(r[0]["time"] as? String == "1970-01-01T00:00:01Z" && r[0]["source"] as? String == "raw")
    }

    /// A bad event refuses the request with HEC's code and the event's number.
    @Test(arguments: [
        (#"{"event":"a"}{"time":1}"#, HECError.Code.eventRequired, 1),
        (#"{"event":"a"}{"event":""}"#, .eventBlank, 1),
        (#"{"event":"a"} {"event":"b""#, .invalidDataFormat, 1),
        (#"{"event":"a","time":"noon"}"#, .invalidDataFormat, 0),
        (#"{"event":"a","fields":[1]}"#, .indexedFields, 0),
        (#"["event"]"#, .invalidDataFormat, 0),
        ("  \n", .noData, nil),
    ] as [(String, HECError.Code, Int?)])
    func badEventsAreRefusedWithHECsCode(_ text: String, _ code: HECError.Code, _ number: Int?) {
        #expect { try Self.events(text) } throws: { error in
            let e = error as? HECError
            return e?.code == code && e?.invalidEventNumber == number
        }
    }
}
