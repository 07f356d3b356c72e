import Foundation
import SegmentFormat

/// The stream schemas segd serves: the built-in ones (`BuiltInSchemas`), then every
/// `*.schema.json` in the schemas directory that has an `x-segment` section (other JSON Schemas
/// there, such as the config files' own, are skipped), which overrides a built-in one of the same
/// name. The stream's name is the schema's `$id`.
enum SchemaCatalog {
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// Loads `directory`; when it does not exist and `embeddedIfMissing`, the example stream only.
    static func load(directory: String, embeddedIfMissing: Bool) throws -> [String: StreamSchema] {
        var schemas: [String: StreamSchema] = [:]
        for builtIn in BuiltInSchemas.texts {
            schemas[builtIn.name] = try StreamSchema(json: Array(builtIn.text.utf8))
        }
        if embeddedIfMissing && !FileManager.default.fileExists(atPath: directory) {
            let schema = try StreamSchema(json: Array(EmbeddedSchemas.weblog.utf8))
            schemas[schema.name] = schema
            return schemas
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw LoadError(description: "schemas directory \(directory) cannot be read (set --schemas-dir or SEGD_SCHEMAS_DIR)")
        }
        var fromDirectory: Set<String> = []
        for name in names.sorted() where name.hasSuffix(".schema.json") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw LoadError(description: "\(path): cannot be read")
            }
            let bytes = Array(data)
            guard case let .object(members)? = try? JSONValue.parse(bytes), members.contains(where: { $0.0 == "x-segment" }) else {
                continue
            }
            do {
                let schema = try StreamSchema(json: bytes)
                guard fromDirectory.insert(schema.name).inserted else {
                    throw LoadError(description: "\(path): stream '\(schema.name)' is already defined by another file in \(directory)")
                }
                schemas[schema.name] = schema
            } catch let error as LoadError {
                throw error
            } catch {
                throw LoadError(description: "\(path): \(error)")
            }
        }
        return schemas
    }
}
