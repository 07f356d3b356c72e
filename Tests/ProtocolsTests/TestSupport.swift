import Foundation
import NDJSON
import SegmentFormat
import Testing
@testable import segd

/// Helpers shared by the adapters' tests: the NDJSON an adapter wrote, as objects, and checked
/// against a built-in stream's schema with the parser the ingest path uses.
enum TestSupport {
    /// Each line of `records` as a JSON object.
    static func objects(_ records: NDJSONRecords) throws -> [[String: Any]] {
        try objects(records.bytes())
    }

    static func objects(_ bytes: [UInt8]) throws -> [[String: Any]] {
        try bytes.split(separator: UInt8(ascii: "\n")).map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], "\(String(decoding: line, as: UTF8.self))")
        }
    }

    /// Parses `records` with the built-in schema `stream`: every record must fit it.
    @discardableResult
    static func checkFits(_ records: NDJSONRecords, stream: String) throws -> Int {
        let text = try #require(BuiltInSchemas.texts.first { $0.name == stream }?.text)
        let parser = RecordParser(schema: try StreamSchema(json: Array(text.utf8)))
        var bytes = records.bytes()
        bytes.append(0)
        return try bytes.withUnsafeBytes { raw in
            try parser.appendAll(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 1)]))
        }
    }

    /// Runs `body` over the bytes of `text`.
    static func withBytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var bytes = Array(text.utf8)
        bytes.append(0)
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<($0.count - 1)])) }
    }

    static func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var bytes = bytes
        bytes.append(0)
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<($0.count - 1)])) }
    }

    static func ns(_ text: String) -> Int64 { RFC3339.parse(text)! }
}
