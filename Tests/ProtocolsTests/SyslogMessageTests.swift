import Foundation
import Testing
@testable import segd

struct SyslogMessageTests {
    static let now = TestSupport.ns("2024-10-12T08:00:00Z")

    /// The record of one message, checked against the built-in `syslog` schema.
    static func record(_ frame: String, offset: Int = 0, now: Int64 = now) throws -> [String: Any] {
        try record(Array(frame.utf8), offset: offset, now: now)
    }

    static func record(_ frame: [UInt8], offset: Int = 0, now: Int64 = now) throws -> [String: Any] {
        let records = NDJSONRecords()
        TestSupport.withBytes(frame) { bytes in
            SyslogMessage(bytes, assumedOffset: offset, now: now).write(to: records, received: now, peer: "192.0.2.1:514")
        }
        #expect(try TestSupport.checkFits(records, stream: "syslog") == 1)
        return try TestSupport.objects(records)[0]
    }

    @Test func rfc5424WithStructuredDataAndABOM() throws {
        let r = try Self.record("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \u{FEFF}An application event")
        #expect(r["format"] as? String == "rfc5424")
        #expect(r["facility"] as? Int == 20 && r["severity"] as? Int == 5)
        #expect(r["time"] as? String == "2003-10-11T22:14:15.003Z")
        #expect(r["received"] as? String == "2024-10-12T08:00:00Z")
        #expect(r["hostname"] as? String == "mymachine.example.com")
        #expect(r["app_name"] as? String == "evntslog")
        #expect(r["proc_id"] is NSNull && r["msg_id"] as? String == "ID47")
        #expect(r["structured_data"] as? [String: [String: String]] == ["exampleSDID@32473": ["iut": "3", "eventSource": "Application", "eventID": "1011"]])
        #expect(r["message"] as? String == "An application event")
        #expect(r["peer"] as? String == "192.0.2.1:514")
    }

    @Test func rfc5424NilValuesAndNoMessage() throws {
        let r = try Self.record("<34>1 - - - - - -")
        #expect(r["format"] as? String == "rfc5424")
        #expect(r["time"] as? String == "2024-10-12T08:00:00Z")
        for field in ["hostname", "app_name", "proc_id", "msg_id", "structured_data", "message"] {
            #expect(r[field] is NSNull, "\(field)")
        }
    }

    /// Escapes in parameter values; a parameter or an SD-ID given twice is merged.
    @Test func structuredDataEscapesAndRepeats() throws {
        let r = try Self.record(#"<13>1 2024-05-01T12:00:00+02:00 h a 1 m [x@1 p="a\"b\\c\]d" p="2" q="\n"][x@1 r="3"][y s=""] text"#)
        let sd = try #require(r["structured_data"] as? [String: [String: Any]])
        #expect(sd["x@1"]?["p"] as? [String] == ["a\"b\\c]d", "2"])
        #expect(sd["x@1"]?["q"] as? String == "\\n")
        #expect(sd["x@1"]?["r"] as? String == "3")
        #expect(sd["y"]?["s"] as? String == "")
        #expect(r["time"] as? String == "2024-05-01T10:00:00Z")
        #expect(r["message"] as? String == "text")
    }

    @Test func rfc3164() throws {
        let r = try Self.record("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
        #expect(r["format"] as? String == "rfc3164")
        #expect(r["facility"] as? Int == 4 && r["severity"] as? Int == 2)
        #expect(r["time"] as? String == "2024-10-11T22:14:15Z")
        #expect(r["hostname"] as? String == "mymachine")
        #expect(r["app_name"] as? String == "su")
        #expect(r["message"] as? String == "'su root' failed for lonvick on /dev/pts/8")
        let p = try Self.record("<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: hello")
        #expect(p["time"] as? String == "2024-02-05T17:32:18Z")
        #expect(p["app_name"] as? String == "myapp" && p["proc_id"] as? String == "123" && p["hostname"] as? String == "10.0.0.99")
        // No hostname: the word after the time is the tag.
        let t = try Self.record("<13>Feb  5 17:32:18 myapp[9]: no host")
        #expect(t["hostname"] is NSNull && t["app_name"] as? String == "myapp" && t["message"] as? String == "no host")
    }

    /// RFC 3164 has no year: the one that puts the time closest before the receiving time.
    @Test func rfc3164YearIsTheLatestNotInTheFuture() throws {
        let newYear = TestSupport.ns("2025-01-01T00:00:10Z")
        #expect(try Self.record("<13>Dec 31 23:59:59 h t: x", now: newYear)["time"] as? String == "2024-12-31T23:59:59Z")
        #expect(try Self.record("<13>Jan  1 00:00:05 h t: x", now: newYear)["time"] as? String == "2025-01-01T00:00:05Z")
        // A few hours ahead (a sender's clock or zone off) is still this year.
        #expect(try Self.record("<13>Jan  1 05:00:00 h t: x", now: newYear)["time"] as? String == "2025-01-01T05:00:00Z")
    }

    /// RFC 3164 has no zone: the stream's default offset.
    @Test func rfc3164ZoneIsTheAssumedOffset() throws {
        #expect(try Self.record("<13>Oct 11 14:00:00 h t: x", offset: 7200)["time"] as? String == "2024-10-11T12:00:00Z")
    }

    /// What Python's SysLogHandler sends (no time, no host), and rsyslog's forwarding format.
    @Test func rfc3164Variants() throws {
        let python = try Self.record("<14>hello world")
        #expect(python["format"] as? String == "rfc3164" && python["message"] as? String == "hello world")
        #expect(python["time"] as? String == "2024-10-12T08:00:00Z" && python["hostname"] is NSNull && python["app_name"] is NSNull)
        let tagged = try Self.record("<14>app: hello")
        #expect(tagged["app_name"] as? String == "app" && tagged["message"] as? String == "hello")
        let forwarded = try Self.record("<13>2024-05-01T12:00:00.123456+02:00 host tag[1]: msg")
        #expect(forwarded["time"] as? String == "2024-05-01T10:00:00.123456Z")
        #expect(forwarded["hostname"] as? String == "host" && forwarded["app_name"] as? String == "tag" && forwarded["message"] as? String == "msg")
    }

    /// What is neither format is stored whole, never dropped; bad UTF-8 is repaired.
    @Test(arguments: ["garbage without a priority", "<192>1 too high", "<01>leading zero", "<13", ""])
    func unparsedMessagesAreKeptWhole(_ text: String) throws {
        let r = try Self.record(text)
        #expect(r["format"] as? String == "unparsed")
        #expect(r["message"] as? String == text)
        #expect(r["facility"] is NSNull && r["time"] as? String == "2024-10-12T08:00:00Z")
    }

    @Test func invalidUTF8IsRepaired() throws {
        let r = try Self.record(Array("<13>1 - h a - - - caf".utf8) + [0xE9, 0x21])
        #expect(r["message"] as? String == "caf\u{FFFD}!")
    }
}
