import Foundation
import SegmentFormat

/// The stream schemas segd serves: every `*.schema.json` in the schemas directory that has an
/// `x-segment` section (other JSON Schemas there, such as the config files' own, are skipped).
/// The stream's name is the schema's `$id`.
enum SchemaCatalog {
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// Loads `directory`; when it does not exist and `embeddedIfMissing`, the example stream only.
    static func load(directory: String, embeddedIfMissing: Bool) throws -> [String: StreamSchema] {
        if embeddedIfMissing && !FileManager.default.fileExists(atPath: directory) {
            let schema = try StreamSchema(json: Array(EmbeddedSchemas.weblog.utf8))
            return [schema.name: schema]
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw LoadError(description: "schemas directory \(directory) cannot be read (set --schemas-dir or SEGD_SCHEMAS_DIR)")
        }
        var schemas: [String: StreamSchema] = [:]
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
                if let other = schemas[schema.name] {
                    throw LoadError(description: "\(path): stream '\(schema.name)' is already defined by another file (\(other.name))")
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
