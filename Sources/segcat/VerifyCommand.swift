import ArgumentParser
import Query
import SegmentFormat

/// `segcat verify`: checks every checksum and every structural rule of each segment.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check segments: every checksum, structure, value and footer entry.",
        discussion: "Prints one line per sound segment and one per problem (file, block, reason). Exit status 0 when every segment is sound, 1 otherwise."
    )

    @Argument(help: "Segment files or directories (searched recursively for *.seg), - for stdin, or s3://BUCKET/PREFIX (each object is fetched whole).")
    var paths: [String]

    @Flag(name: .shortAndLong, help: "Print only the problems.")
    var quiet = false

    @OptionGroup(title: "S3")
    var s3: S3Options

    func run() throws {
        var bad = 0
        let inputs = SegmentInputs(options: s3)
        defer { inputs.shutdown() }
        let files: [any SegmentSource]
        do {
            files = try inputs.sources(paths)
        } catch {
            printError("\(error)")
            throw ExitStatus.cannotRun
        }
        for file in files {
            let path = file.name
            let problems: [String]
            var summary = ""
            do {
                let reader = try inputs.wholeReader(file)
                problems = reader.verify().map(\.description)
                summary = "\(reader.blocks.count) blocks, \(reader.rowCount) rows"
            } catch let e as FileError {
                problems = [e.message]
            } catch let error where SegmentInputs.isUnusable(error) {
                printError("\(error)")
                throw ExitStatus.cannotRun
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
