import Testing
@testable import SegmentFormat

/// Where blocks end: by the writer's row target and the format's byte bound, splitting a source
/// of rows across blocks without losing, reordering or duplicating a row.
struct BlockAssemblerTests {
    static let columns = [ColumnDescriptor(name: "n", type: .integer, nullable: true), ColumnDescriptor(name: "s", type: .string, nullable: true)]

    /// A block of `count` rows: every 3rd `n` null, every 5th `s` absent, `s` of `width` bytes.
    static func source(_ count: Int, width: Int = 3) -> BlockBuilder {
        let block = BlockBuilder(columns: columns)
        for row in 0..<count {
            if row % 3 == 0 { block.builders[0].nullRows.append(UInt32(row)) } else { block.builders[0].integers.append(Int64(row)) }
            if row % 5 == 0 {
                block.builders[1].absentRows.append(UInt32(row))
            } else {
                block.builders[1].strings.append(Array(String(repeating: Character(UnicodeScalar(UInt8(97 + row % 26))), count: width).utf8))
            }
            block.rowCount += 1
        }
        return block
    }

    /// Each row as text: its `n` (or null) and its `s` (or absent).
    static func rows(_ block: BlockBuilder) -> [String] {
        var n = 0
        var s = 0
        return (0..<block.rowCount).map { row in
            let a = block.builders[0].nullRows.contains(UInt32(row)) ? "null" : { defer { n += 1 }; return "\(block.builders[0].integers[n])" }()
            let b = block.builders[1].absentRows.contains(UInt32(row)) ? "absent" : { defer { s += 1 }; return String(decoding: block.builders[1].strings[s], as: UTF8.self) }()
            return a + "/" + b
        }
    }

    /// Feeds `sources` through an assembler; returns the rows of each block it closed.
    static func assemble(_ sources: [BlockBuilder], maxRows: Int, maxRawBytes: Int) -> [[String]] {
        assembleWithBytes(sources, maxRows: maxRows, maxRawBytes: maxRawBytes).map(\.rows)
    }

    static func assembleWithBytes(_ sources: [BlockBuilder], maxRows: Int, maxRawBytes: Int) -> [(rows: [String], bytes: Int)] {
        let assembler = BlockAssembler(columns: columns, maxRows: maxRows, maxRawBytes: maxRawBytes)
        var blocks: [(rows: [String], bytes: Int)] = []
        for source in sources {
            var row = 0
            while row < source.rowCount {
                row = assembler.take(from: source, startingAt: row)
                if assembler.isFull {
                    blocks.append((rows(assembler.block), assembler.block.rawBytes))
                    assembler.block.removeAll()
                }
            }
        }
        if assembler.block.rowCount > 0 { blocks.append((rows(assembler.block), assembler.block.rawBytes)) }
        return blocks
    }

    @Test func aSourceLargerThanABlockIsSplitByRows() {
        let source = Self.source(25)
        let blocks = Self.assemble([source], maxRows: 10, maxRawBytes: .max)
        #expect(blocks.map(\.count) == [10, 10, 5])
        #expect(blocks.flatMap { $0 } == Self.rows(source))
    }

    @Test func manySourcesJoinIntoBlocksAndSplitAtTheBoundary() {
        let sources = [Self.source(7), Self.source(7), Self.source(7)]
        let blocks = Self.assemble(sources, maxRows: 10, maxRawBytes: .max)
        #expect(blocks.map(\.count) == [10, 10, 1])
        #expect(blocks.flatMap { $0 } == sources.flatMap(Self.rows))
    }

    @Test func blocksEndAtTheByteBound() {
        let source = Self.source(40, width: 1000)
        let blocks = Self.assembleWithBytes([source], maxRows: 1000, maxRawBytes: 4000)
        #expect(blocks.flatMap(\.rows) == Self.rows(source))
        #expect(blocks.count > 10)
        #expect(blocks.allSatisfy { $0.bytes <= 4000 }, "\(blocks.map(\.bytes))")
    }

    @Test func aRowLargerThanTheByteBoundIsABlockOfItsOwn() {
        let source = Self.source(3, width: 10_000)
        let blocks = Self.assemble([source], maxRows: 1000, maxRawBytes: 4000)
        #expect(blocks.flatMap { $0 } == Self.rows(source))
        #expect(blocks.allSatisfy { $0.count <= 2 }, "row 0 has no s: it shares a block with row 1 at most")
    }

    @Test func theRowTargetNeverPassesTheFormatBound() {
        let assembler = BlockAssembler(columns: Self.columns, maxRows: 5_000_000)
        #expect(assembler.maxRows == FormatConstants.maxBlockRows)
    }
}
