import Foundation
import SegmentFormat
import Testing
@testable import segd

struct BuiltInSchemasTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Each embedded schema is the one shipped in schemas/, and loads.
    @Test(arguments: BuiltInSchemas.texts.map(\.name))
    func embeddedSchemaIsTheShippedOne(_ name: String) throws {
        let shipped = try String(contentsOf: Self.root.appendingPathComponent("schemas/\(name).schema.json"), encoding: .utf8)
        let embedded = try #require(BuiltInSchemas.texts.first { $0.name == name }?.text)
        #expect(embedded == shipped.trimmingCharacters(in: .newlines))
        #expect(try StreamSchema(json: Array(embedded.utf8)).name == name)
    }
}
