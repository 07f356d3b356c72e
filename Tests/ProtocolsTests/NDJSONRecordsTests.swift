import Foundation
import Testing
@testable import segd

struct NDJSONRecordsTests {
    @Test func nestedValuesGetTheirCommas() throws {
        let r = NDJSONRecords()
        r.beginRecord()
        r.key("a")
        r.integer(-7)
        r.key("b")
        r.beginObject()
        r.key(String("k\"1"))
        r.beginArray()
        r.bool(true)
        r.null()
        r.double(1.5)
        r.double(.nan)
        r.beginObject()
        r.endObject()
        r.endArray()
        r.key("t")
        r.timestamp(1_714_564_800_000_000_001)
        r.endObject()
        r.key("c")
        r.text("x")
        r.endRecord()
        r.beginRecord()
        r.key("d")
        r.text("")
        r.endRecord()
        #expect(String(decoding: r.bytes(), as: UTF8.self) == """
        {"a":-7,"b":{"k\\"1":[true,null,1.5,"NaN",{}],"t":"2024-05-01T12:00:00.000000001Z"},"c":"x"}
        {"d":""}

        """)
        #expect(r.count == 2)
    }

    /// Text from the wire is escaped, and what is not UTF-8 is repaired, never refused.
    @Test func textIsEscapedAndRepaired() throws {
        let r = NDJSONRecords()
        r.beginRecord()
        r.key("m")
        r.text([0x61, 0x0A, 0x22, 0x5C, 0x01, 0xFF, 0xC3, 0xA9, 0xE2, 0x82])
        r.endRecord()
        #expect(String(decoding: r.bytes(), as: UTF8.self) == "{\"m\":\"a\\n\\\"\\\\\\u0001\u{FFFD}\u{E9}\u{FFFD}\u{FFFD}\"}\n")
        let objects = try TestSupport.objects(r)
        #expect(objects[0]["m"] as? String == "a\n\"\\\u{01}\u{FFFD}\u{E9}\u{FFFD}\u{FFFD}")
    }
}
