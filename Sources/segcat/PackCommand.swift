import ArgumentParser
import Foundation
import NDJSON
import SegmentFormat

/// `segcat pack`: encodes NDJSON into one segment, checking every record against the schema.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Encode NDJSON records into a segment.",
        discussion: """
        Every record is checked against the schema. The first invalid one stops the command with its \
        line number and field on stderr, exit status 1, and no output file. The segment is written \
        under a temporary name and renamed into place once complete.
        """
    )

    @Option(help: "The stream's schema (JSON Schema, see docs/segment-format.md).")
    var schema: String

    @Option(help: "Codec, overriding the schema's x-segment.codec: \(CompressionSetting.names.joined(separator: ", ")).")
    var codec: String?

    @Option(help: "Rows per block (1 to \(FormatConstants.maxBlockRows)).")
    var blockRows: Int = FormatConstants.defaultBlockRows

    @Option(help: "Bound on the columns a block makes from paths inside json fields and fields outside the schema (0 to \(FormatConstants.maxShreddedColumns)); paths past it stay in the JSON text, still queryable, only slower.")
    var maxShreddedColumns: Int = FormatConstants.defaultMaxShreddedColumns

    @Option(help: "Segment format version to write: \(FormatConstants.formatVersion) (default), or \(FormatConstants.oldestFormatVersion) for readers that know no newer one (no zstd, no shredded paths, no log-text or integer dictionaries).")
    var formatVersion: Int = Int(FormatConstants.formatVersion)

    @Option(help: "Encodings tried per column chunk, the smallest before compression first (1 to 16): more is smaller and slower.")
    var encodingCandidates: Int = 3

    @Option(name: .customShort("o"), help: "Output segment (default: the input's name with .seg, or stdout for stdin).")
    var output: String?

    @Option(help: "Tenant id recorded in the segment header.")
    var tenant: String = ""

    @Option(help: "Node id recorded in the segment header (default: the host name).")
    var node: String = ProcessInfo.processInfo.hostName

    @Argument(help: "NDJSON input, or - for stdin.")
    var input: String = "-"

    func validate() throws {
        guard (1...FormatConstants.maxBlockRows).contains(blockRows) else {
            throw ValidationError("--block-rows must be between 1 and \(FormatConstants.maxBlockRows)")
        }
        if let codec, CompressionSetting(name: codec) == nil {
            throw ValidationError("--codec must be one of \(CompressionSetting.names.joined(separator: ", ")) (or zstd-1 to zstd-22)")
        }
        guard (1...16).contains(encodingCandidates) else {
            throw ValidationError("--encoding-candidates must be between 1 and 16")
        }
        guard (0...FormatConstants.maxShreddedColumns).contains(maxShreddedColumns) else {
            throw ValidationError("--max-shredded-columns must be between 0 and \(FormatConstants.maxShreddedColumns)")
        }
        guard (Int(FormatConstants.oldestFormatVersion)...Int(FormatConstants.formatVersion)).contains(formatVersion) else {
            throw ValidationError("--format-version must be \(FormatConstants.oldestFormatVersion) or \(FormatConstants.formatVersion)")
        }
        if formatVersion < 2, let codec, CompressionSetting(name: codec)?.codec == .zstd {
            throw ValidationError("--codec \(codec) needs --format-version 2: version 1 readers know no zstd")
        }
    }

    func run() throws {
        let streamSchema: StreamSchema
        do {
            let text = try SegmentData(contentsOf: schema)
            streamSchema = try StreamSchema(json: Array(text.bytes))
        } catch {
            printError("\(schema): \(error)")
            throw ExitStatus.cannotRun
        }
        let compression = codec.flatMap(CompressionSetting.init(name:)) ?? streamSchema.compression
        let destination = output ?? (input == "-" ? "-" : Self.defaultOutput(for: input))
        if destination == "-" && isatty(1) != 0 {
            printError("refusing to write a binary segment to a terminal: use -o FILE")
            throw ExitStatus.cannotRun
        }

        let file: AtomicFile?
        do {
            file = destination == "-" ? nil : try AtomicFile(path: destination)
        } catch {
            printError("\(error)")
            throw ExitStatus.cannotRun
        }
        let header = SegmentHeader(schema: streamSchema, tenant: tenant, node: node,
                                   created: Int64(Date().timeIntervalSince1970 * 1e9), blockRows: blockRows, version: UInt16(formatVersion))
        ignoreBrokenPipe()
        let stdout = ByteSink(fd: 1)
        do {
            let encoder = BlockEncoder(compression: compression, candidatesTried: encodingCandidates, formatVersion: header.version,
                                       maxShreddedColumns: maxShreddedColumns)
            let packer = try Packer(header: header, encoder: encoder, blockRows: blockRows, schema: streamSchema) { bytes in
                if let file {
                    try file.write(bytes)
                } else {
                    stdout.append(bytes)
                    try stdout.flush()
                }
            }
            if input == "-" {
                try packer.packStandardInput()
            } else {
                let data = try SegmentData(contentsOf: input)
                try packer.pack(data.bytes, firstLine: 1)
            }
            try packer.finish()
            try file?.commit()
        } catch let e as RecordError {
            file?.discard()
            printError("\(input == "-" ? "stdin" : input): \(e)")
            throw ExitStatus.badInput
        } catch {
            file?.discard()
            printError("\(error)")
            throw ExitStatus.cannotRun
        }
    }

    static func defaultOutput(for input: String) -> String {
        let url = URL(fileURLWithPath: input)
        let stem = url.pathExtension == "ndjson" || url.pathExtension == "jsonl" ? url.deletingPathExtension().lastPathComponent : url.lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent(stem + ".seg").path
    }
}

/// Parses records into blocks and hands each encoded block to `emit` as it fills, so memory stays
/// bounded by one block whatever the input size. Where a block ends is the `BlockAssembler`'s
/// decision, the same as in segd.
final class Packer {
    private var writer: SegmentWriter
    private let encoder: BlockEncoder
    private let assembler: BlockAssembler
    private let parser: RecordParser
    private let emit: ([UInt8]) throws -> Void

    init(header: SegmentHeader, encoder: BlockEncoder, blockRows: Int, schema: StreamSchema,
         emit: @escaping ([UInt8]) throws -> Void) throws {
        writer = SegmentWriter(header: header)
        self.encoder = encoder
        assembler = BlockAssembler(columns: schema.columns, maxRows: blockRows)
        parser = RecordParser(schema: schema, block: assembler.block)
        self.emit = emit
        try emit(writer.headerBytes)
    }

    /// Packs the lines of `input`, numbering them from `firstLine`.
    func pack(_ input: UnsafeRawBufferPointer, firstLine: Int) throws {
        var failure: Error?
        NDJSONLines.forEach(input, firstLine: firstLine) { line, number in
            do {
                // A record that would take a block past the assembler's byte bound starts the next
                // block, so that no chunk grows past what a reader accepts (spec: Limits).
                if assembler.block.rowCount > 0 && assembler.block.rawBytes + line.count > assembler.maxRawBytes { try flushBlock() }
                try parser.append(line: line, number: number)
                if assembler.isFull { try flushBlock() }
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
    }

    /// Packs standard input, chunk by chunk, carrying partial lines over.
    func packStandardInput() throws {
        var pending: [UInt8] = []
        var line = 1
        while let chunk = StandardInput.readChunk() {
            pending.append(contentsOf: chunk)
            guard let lastNewline = pending.lastIndex(of: 0x0A) else { continue }
            try pending.withUnsafeBytes { raw in
                try pack(UnsafeRawBufferPointer(rebasing: raw[...lastNewline]), firstLine: line)
            }
            line += pending[...lastNewline].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            pending.removeSubrange(...lastNewline)
        }
        try pending.withUnsafeBytes { try pack($0, firstLine: line) }
    }

    private func flushBlock() throws {
        guard assembler.block.rowCount > 0 else { return }
        try emit(writer.append(encoder.encode(assembler.block)))
        assembler.block.removeAll()
    }

    /// Encodes the last block and emits the footer.
    func finish() throws {
        try flushBlock()
        try emit(writer.footer())
    }
}
