import ArgumentParser
import SegmentFormat

/// `segcat verify`: checks every checksum and every structural rule of each segment.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check segments: every checksum, structure, value and footer entry.",
        discussion: "Prints one line per sound segment and one per problem (file, block, reason). Exit status 0 when every segment is sound, 1 otherwise."
    )

    @Argument(help: "Segment files or directories (searched recursively for *.seg), or - for stdin.")
    var paths: [String]

    @Flag(name: .shortAndLong, help: "Print only the problems.")
    var quiet = false

    func run() throws {
        var bad = 0
        let files: [String]
        do {
            files = try SegmentPaths.expand(paths)
        } catch {
            printError("\(error)")
            throw ExitStatus.cannotRun
        }
        for path in files {
            let problems: [String]
            var summary = ""
            do {
                let reader = try SegmentPaths.open(path)
                problems = reader.verify().map(\.description)
                summary = "\(reader.blocks.count) blocks, \(reader.rowCount) rows"
            } catch let e as FileError {
                problems = [e.message]
            } catch {
                problems = ["\(error)"]
            }
            if problems.isEmpty {
                if !quiet { print("\(path): ok (\(summary))") }
            } else {
                bad += 1
                for p in problems { print("\(path): \(p)") }
            }
        }
        if bad > 0 {
            printError("\(bad) of \(files.count) segments are damaged")
            throw ExitStatus.badInput
        }
    }
}
