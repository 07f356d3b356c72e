import ArgumentParser
import NDJSON
import SegmentFormat

/// `segcat cat`: decodes segments to NDJSON on stdout.
struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Decode segments to NDJSON on stdout.",
        discussion: """
        Every record comes back with the keys and values it was packed with: timestamps as RFC 3339 \
        UTC, unknown fields back in the record, absent fields absent and nulls null. A damaged block is \
        reported on stderr (file, block, reason) and skipped, and the exit status is then 1. A segment \
        whose writer died before its footer is read up to its last complete block, with a note on stderr.
        """
    )

    @Argument(help: "Segment files, directories (searched recursively for *.seg, in path order), or - for stdin.")
    var paths: [String]

    func run() throws {
        ignoreBrokenPipe()
        let sink = ByteSink(fd: 1)
        var damaged = false
        do {
            for path in try SegmentPaths.expand(paths) {
                let reader: SegmentReader
                do {
                    reader = try SegmentPaths.open(path)
                } catch {
                    printError("\(path): \(error)")
                    damaged = true
                    continue
                }
                if let recovery = reader.recovery { printError("\(path): \(recovery)") }
                let writer = RecordWriter(columns: reader.header.columns)
                for block in reader.blocks.indices {
                    let chunks: [DecodedChunk]
                    do {
                        chunks = try reader.header.columns.indices.map { try reader.chunk(block: block, column: $0) }
                    } catch {
                        printError("\(path): \(error)")
                        damaged = true
                        continue
                    }
                    try writer.write(chunks, rows: 0..<reader.blocks[block].rowCount, to: sink)
                }
            }
            try sink.flush()
        } catch let closed as ByteSink.OutputClosed where closed.brokenPipe {
            return
        } catch let e as FileError {
            try? sink.flush()
            printError("\(e)")
            throw ExitStatus.cannotRun
        }
        if damaged { throw ExitStatus.badInput }
    }
}
