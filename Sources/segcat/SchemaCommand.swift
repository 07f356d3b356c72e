import ArgumentParser
import Foundation
import NDJSON
import SegmentFormat

/// `segcat schema`: works with stream schemas.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Work with stream schemas.",
        subcommands: [InferCommand.self]
    )
}

/// `segcat schema infer`: prints a schema that the given NDJSON records satisfy.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Print a stream schema inferred from NDJSON records.",
        discussion: """
        Types are widened across records (integer and number give number); a field that is null in \
        some record is nullable, one missing from some record is not required; strings that are all \
        RFC 3339 date-times become date-time. The timestamp is the first required date-time field \
        named ts, time, timestamp or @timestamp, else the first required date-time field.
        """
    )

    @Argument(help: "NDJSON input, or - for stdin.")
    var input: String = "-"

    @Option(help: "Stream name for $id (default: from the file name, else 'stream').")
    var name: String?

    func run() throws {
        var inference = SchemaInference()
        do {
            if input == "-" {
                try StandardInput.readAll().withUnsafeBytes { try inference.add($0) }
            } else {
                let data = try SegmentData(contentsOf: input)
                try inference.add(data.bytes)
            }
        } catch let e as RecordError {
            printError("\(input == "-" ? "stdin" : input): \(e)")
            throw ExitStatus.badInput
        } catch {
            printError("\(error)")
            throw ExitStatus.cannotRun
        }
        for warning in inference.warnings { printError(warning) }
        print(inference.schema(name: name ?? Self.streamName(from: input)), terminator: "")
    }

    /// A valid stream name from a file name: lower-cased, other characters as '-'.
    static func streamName(from input: String) -> String {
        guard input != "-" else { return "stream" }
        let stem = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent.lowercased()
        var name = String(stem.unicodeScalars.map { c -> Character in
            (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_" || c == "-" ? Character(c) : "-"
        }.prefix(63))
        while name.first == "-" || name.first == "_" { name.removeFirst() }
        return StreamSchema.isValidName(name) ? name : "stream"
    }
}
