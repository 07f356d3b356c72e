import ArgumentParser
import NDJSON
import Query
import SegmentFormat

/// `segcat info`: what a segment holds and how well each column compressed.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a segment's schema, rows, blocks, time range and per-column encodings and sizes."
    )

    @Argument(help: "A segment file, - for stdin, or one s3://BUCKET/KEY object (only its header and footer are read).")
    var path: String

    @Flag(help: "Leave out the schema document.")
    var noSchema = false

    @OptionGroup(title: "S3")
    var s3: S3Options

    func run() throws {
        let reader: SegmentLayout
        let inputs = SegmentInputs(options: s3)
        defer { inputs.shutdown() }
        do {
            let sources = try inputs.sources([path])
            guard sources.count == 1 else {
                throw FileError(path: path, message: sources.isEmpty ? "no segment here" : "holds \(sources.count) segments; info shows one")
            }
            var failure: Error?
            let segments = try inputs.open(sources) { _, error in failure = error }
            if let failure { throw failure }
            reader = segments[0].layout
        } catch {
            printError(error is FormatError ? "\(path): \(error)" : "\(error)")
            throw error is FormatError ? ExitStatus.badInput : ExitStatus.cannotRun
        }
        print(Self.describe(reader, path: path, showSchema: !noSchema), terminator: "")
        if let recovery = reader.recovery { printError("\(path): \(recovery)") }
    }

    static func describe(_ reader: SegmentLayout, path: String, showSchema: Bool) -> String {
        let h = reader.header
        var out = ""
        out += "segment:   \(path)\n"
        out += "stream:    \(h.stream)\(h.tenant.isEmpty ? "" : "  tenant: \(h.tenant)")  node: \(h.node.isEmpty ? "-" : h.node)\n"
        out += "id:        \(h.segmentID)  created: \(RFC3339.format(h.created))\n"
        out += "state:     \(reader.isSealed ? "sealed" : "not sealed (recovered \(reader.blocks.count) blocks)")\n"
        out += "rows:      \(reader.rowCount) in \(reader.blocks.count) blocks (up to \(h.blockRows) rows each)\n"
        if let range = reader.timeRange {
            out += "time:      \(RFC3339.format(range.lowerBound)) .. \(RFC3339.format(range.upperBound))\n"
        } else {
            out += "time:      -\n"
        }
        out += "size:      \(reader.size) bytes (format version \(h.version))\n\n"

        var rows: [[String]] = [["column", "type", "encoding", "codec", "nulls", "absent", "raw", "stored", "ratio"]]
        var totalRaw = 0, totalStored = 0
        for (i, c) in h.columns.enumerated() {
            let chunks = reader.blocks.map { $0.chunks[i] }
            let raw = chunks.reduce(0) { $0 + Int($1.rawLength) }
            let stored = chunks.reduce(0) { $0 + $1.storedLength }
            totalRaw += raw
            totalStored += stored
            let encodings = Self.tally(chunks.map(\.encoding.name))
            let codecs = Self.tally(chunks.map(\.codec.name))
            var type = c.type.name
            if c.nullable { type += "?" }
            if c.isTimestamp { type += " (ts)" }
            rows.append([c.type == .extra ? "(extra)" : c.name, type, encodings, codecs,
                         String(chunks.reduce(0) { $0 + $1.nullCount }), String(chunks.reduce(0) { $0 + $1.absentCount }),
                         String(raw), String(stored), ratio(raw, stored)])
        }
        // Shredded paths, under their column (`attributes.http.status_code`, or the field name for the
        // extra column), summed over the blocks that have them; the type is each block's, tallied.
        var order: [String] = []
        var paths: [String: [ShreddedChunk]] = [:]
        for block in reader.blocks {
            for s in block.shredded {
                let parent = h.columns[s.column.parent]
                let name = (parent.type == .extra ? "" : ShreddedColumn.quoted(parent.name) + ".") + s.column.pathText
                if paths[name] == nil { order.append(name) }
                paths[name, default: []].append(s)
            }
        }
        for name in order {
            let shredded = paths[name] ?? []
            let chunks = shredded.map(\.chunk)
            let raw = chunks.reduce(0) { $0 + Int($1.rawLength) }
            let stored = chunks.reduce(0) { $0 + $1.storedLength }
            totalRaw += raw
            totalStored += stored
            rows.append(["  " + name, Self.tally(shredded.map(\.column.type.name)), Self.tally(chunks.map(\.encoding.name)),
                         Self.tally(chunks.map(\.codec.name)), String(chunks.reduce(0) { $0 + $1.nullCount }),
                         String(chunks.reduce(0) { $0 + $1.absentCount }), String(raw), String(stored), ratio(raw, stored)])
        }
        rows.append(["total", "", "", "", "", "", String(totalRaw), String(totalStored), ratio(totalRaw, totalStored)])
        out += table(rows)
        if showSchema {
            out += "\nschema:\n" + String(decoding: h.schemaText, as: UTF8.self)
            if h.schemaText.last != 0x0A { out += "\n" }
        }
        return out
    }

    /// "a" or "a 3, b 1" (most used first) for the values of a column across blocks.
    static func tally(_ names: [String]) -> String {
        var counts: [String: Int] = [:]
        for n in names { counts[n, default: 0] += 1 }
        if counts.count <= 1 { return counts.keys.first ?? "-" }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    static func ratio(_ raw: Int, _ stored: Int) -> String {
        guard stored > 0 else { return "-" }
        let r = Double(raw) / Double(stored)
        return String(Double(Int(r * 100 + 0.5)) / 100) + "x"
    }

    /// Columns aligned: text left, numbers right.
    static func table(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c >= 4 ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
