@testable import SegmentFormat

/// A small segment of several blocks with every column type, nulls and absent values, built with
/// the column builders directly (no NDJSON), and the values it holds, for round-trip and damage tests.
enum SampleSegment {
    static let columns: [ColumnDescriptor] = [
        ColumnDescriptor(name: "ts", type: .timestamp, required: true, isTimestamp: true),
        ColumnDescriptor(name: "level", type: .string),
        ColumnDescriptor(name: "n", type: .integer, nullable: true),
        ColumnDescriptor(name: "x", type: .number, nullable: true),
        ColumnDescriptor(name: "ok", type: .boolean),
        ColumnDescriptor(name: "ctx", type: .json),
        .extra,
    ]

    /// One row: a value per column, nil for absent; `.null` for null.
    enum Cell: Equatable {
        case absent, null, int(Int64), number(Double), bool(Bool), text(String)
    }

    static func rows(block: Int, count: Int) -> [[Cell]] {
        (0..<count).map { i in
            let r = block * 1000 + i
            return [
                .int(1_700_000_000_000_000_000 + Int64(r) * 1_000_000),
                i % 5 == 0 ? .absent : .text(["info", "warn", "error"][r % 3]),
                i % 4 == 0 ? .null : .int(Int64(r * r) - 500),
                i % 3 == 0 ? .absent : i % 7 == 0 ? .null : .number(Double(r) / 8),
                .bool(r % 2 == 0),
                i % 2 == 0 ? .text("{\"k\":\(r)}") : .absent,
                i % 6 == 0 ? .text("\"extra\":\(r)") : .absent,
            ]
        }
    }

    static func fill(_ block: BlockBuilder, _ rows: [[Cell]]) {
        for row in rows {
            let r = UInt32(block.rowCount)
            for (c, cell) in row.enumerated() {
                let b = block.builders[c]
                switch cell {
                case .absent: b.absentRows.append(r)
                case .null: b.nullRows.append(r)
                case let .int(v): b.integers.append(v)
                case let .number(v): b.numbers.append(v)
                case let .bool(v): b.booleans.append(v ? 1 : 0)
                case let .text(s): b.strings.append(Array(s.utf8))
                }
            }
            block.rowCount += 1
        }
    }

    static let blockSizes = [40, 25, 33]

    /// The segment bytes and, per block, its rows.
    static func make(compression: CompressionSetting = .lz4) -> (bytes: [UInt8], blocks: [[[Cell]]]) {
        let header = SegmentHeader(tenant: "acme", stream: "sample", node: "node-1", segmentID: "0123456789abcdef",
                                   created: 1_700_000_000_000_000_000, blockRows: 40, schemaText: Array("{}".utf8), columns: columns)
        var writer = SegmentWriter(header: header)
        var bytes = writer.headerBytes
        var all: [[[Cell]]] = []
        let encoder = BlockEncoder(compression: compression)
        for (i, size) in blockSizes.enumerated() {
            let block = BlockBuilder(columns: columns)
            let rows = rows(block: i, count: size)
            fill(block, rows)
            bytes += writer.append(encoder.encode(block))
            all.append(rows)
        }
        bytes += writer.footer()
        return (bytes, all)
    }

    /// Decodes block `b` of `reader` back into cells.
    static func cells(_ reader: SegmentReader, block b: Int) throws -> [[Cell]] {
        let count = reader.blocks[b].rowCount
        var rows = [[Cell]](repeating: [], count: count)
        for c in columns.indices {
            let chunk = try reader.chunk(block: b, column: c)
            var next = 0
            for r in 0..<count {
                if chunk.isAbsent(r) { rows[r].append(.absent); continue }
                if chunk.isNull(r) { rows[r].append(.null); continue }
                switch chunk.values {
                case let .integers(v): rows[r].append(.int(v[next]))
                case let .numbers(v): rows[r].append(.number(v[next]))
                case let .booleans(v): rows[r].append(.bool(v[next] != 0))
                case let .strings(v): rows[r].append(.text(String(decoding: v[next], as: UTF8.self)))
                case let .dictionary(e, codes): rows[r].append(.text(String(decoding: e[Int(codes[next])], as: UTF8.self)))
                case .none: rows[r].append(.absent)
                }
                next += 1
            }
        }
        return rows
    }
}
