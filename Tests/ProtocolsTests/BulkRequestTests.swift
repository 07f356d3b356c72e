import Foundation
import Testing
@testable import segd

struct BulkRequestTests {
    static func request(_ text: String, index: String? = nil) throws -> (BulkRequest, [UInt8]) {
        let bytes = Array(text.utf8)
        let request = try TestSupport.withBytes(bytes) { try BulkRequest($0, defaultIndex: index) }
        return (request, bytes)
    }

    @Test func actionsAndDocuments() throws {
        let (request, bytes) = try Self.request("""
        {"index":{"_index":"logs","_id":"1"}}
        {"message":"a"}

        {"create":{}}\r
        {"message":"b"}\r
        {"delete":{"_index":"logs","_id":7}}
        {"update":{"_id":"2","routing":"r"}}
        {"doc":{"x":1}}
        """, index: "default")
        #expect(request.items.map(\.action) == [.index, .create, .delete, .update])
        #expect(request.items.map(\.index) == ["logs", "default", "logs", "default"])
        #expect(request.items.map(\.id) == ["1", nil, "7", "2"])
        #expect(request.items.map(\.line) == [1, 4, 6, 7])
        let documents = request.items.map { item in item.document.map { String(decoding: bytes[$0], as: UTF8.self) } }
        #expect(documents == [#"{"message":"a"}"#, #"{"message":"b"}"#, nil, #"{"doc":{"x":1}}"#])
    }

    @Test(arguments: [
        (#"{"index":{}}"#, "no source line"),
        (#"{"upsert":{}}"# + "\n{}", "expected one of [create, delete, index, update] but found [upsert]"),
        (#"{"index":{},"create":{}}"# + "\n{}", "expected END_OBJECT"),
        ("[1]\n{}", "expected START_OBJECT"),
        (#"{"index":{"_index":}}"# + "\n{}", "Malformed"),
        (#"{}"# + "\n{}", "expected FIELD_NAME"),
        ("\n\n", "no requests added"),
    ])
    func malformedBodiesAreRefusedWhole(_ text: String, _ reason: String) {
        #expect { try Self.request(text) } throws: { error in
            (error as? BulkRequest.Malformed)?.reason.contains(reason) == true
        }
    }

    /// A document without the stream's timestamp field gets the receiving time; others pass as
    /// they are, for the schema check to judge.
    @Test func documentsGetTheTimestampFieldWhenTheyLackIt() throws {
        var documents = BulkDocuments()
        let field = Array("@timestamp".utf8)
        for (k, text) in [#"{"message":"a"}"#, #" { }"#, #"{"@timestamp":"2020-01-01T00:00:00Z"}"#, #"{"\u0040timestamp":1}"#, #"not json"#].enumerated() {
            TestSupport.withBytes(text) { documents.append(item: k, document: $0, timestampField: field, now: 1_714_564_800_000_000_000) }
        }
        #expect(documents.items == [0, 1, 2, 3, 4])
        #expect(String(decoding: documents.records.bytes(), as: UTF8.self) == """
        {"@timestamp":"2024-05-01T12:00:00Z","message":"a"}
         {"@timestamp":"2024-05-01T12:00:00Z" }
        {"@timestamp":"2020-01-01T00:00:00Z"}
        {"\\u0040timestamp":1}
        not json

        """)
    }

    @Test func responseHasAnItemPerOperationInOrder() throws {
        let (request, _) = try Self.request("{\"index\":{\"_index\":\"a\",\"_id\":\"x\"}}\n{}\n{\"delete\":{\"_index\":\"a\"}}\n")
        let body = BulkResponse.render(request, outcomes: [.created, .failed(status: 400, type: "illegal_argument_exception", reason: "no")], tookMilliseconds: 3)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["took"] as? Int == 3 && object["errors"] as? Bool == true)
        let items = try #require(object["items"] as? [[String: [String: Any]]])
        #expect(items[0]["index"]?["status"] as? Int == 201 && items[0]["index"]?["_id"] as? String == "x" && items[0]["index"]?["result"] as? String == "created")
        #expect(items[1]["delete"]?["status"] as? Int == 400 && (items[1]["delete"]?["_id"] as? String)?.count == 20)
        #expect((items[1]["delete"]?["error"] as? [String: String])?["type"] == "illegal_argument_exception")
    }

    /// Items without an `_id` get distinct 20-character URL-safe ids, within a request and across
    /// requests.
    @Test func generatedIDsAreDistinct() {
        var first = BulkResponse.GeneratedIDs(), second = BulkResponse.GeneratedIDs()
        let ids = (0..<5000).map { _ in first.next() } + (0..<5000).map { _ in second.next() }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 20 && $0.allSatisfy(alphabet.contains) })
    }
}
