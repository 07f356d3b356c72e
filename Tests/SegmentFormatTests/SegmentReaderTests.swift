import Testing
@testable import SegmentFormat

struct SegmentReaderTests {
    @Test(arguments: [CompressionSetting.lz4, .zlib, .zlib9, .none])
    func writtenSegmentReadsBackEveryCell(_ compression: CompressionSetting) throws {
        let (bytes, blocks) = SampleSegment.make(compression: compression)
        let reader = try SegmentReader(data: SegmentData(bytes))
        #expect(reader.isSealed)
        #expect(reader.header.tenant == "acme" && reader.header.stream == "sample" && reader.header.node == "node-1")
        #expect(reader.header.columns == SampleSegment.columns)
        #expect(reader.blocks.map(\.rowCount) == SampleSegment.blockSizes)
        for b in blocks.indices {
            #expect(try SampleSegment.cells(reader, block: b) == blocks[b])
        }
        #expect(reader.verify().isEmpty)
    }

    @Test func footerRecordsTimeRangesCountsAndStats() throws {
        let (bytes, _) = SampleSegment.make()
        let reader = try SegmentReader(data: SegmentData(bytes))
        let base: Int64 = 1_700_000_000_000_000_000
        #expect(reader.blocks[0].timeRange == base...(base + 39_000_000))
        #expect(reader.blocks[1].timeRange == (base + 1_000_000_000)...(base + 1_024_000_000))
        #expect(reader.timeRange == base...(base + 2_032_000_000))
        let level = reader.blocks[0].chunks[1]
        #expect(level.absentCount == 8)
        #expect(level.stats == .bytes(min: Array("error".utf8), max: Array("warn".utf8), maxTruncated: false))
        #expect(reader.blocks[0].chunks[2].nullCount == 10)
        // Row 0 is null (every fourth row), so the smallest value is row 1's.
        #expect(reader.blocks[0].chunks[2].stats == .integer(min: 1 - 500, max: 39 * 39 - 500))
        #expect(reader.blocks[0].chunks[5].stats == .integer(min: 0, max: 0), "shredded json: no residual")
    }

    @Test func longStringStatsAreCutAndMarked() throws {
        let columns = [ColumnDescriptor(name: "s", type: .string)]
        let block = BlockBuilder(columns: columns)
        let long = String(repeating: "z", count: 100)
        for s in ["a", long] { block.builders[0].strings.append(Array(s.utf8)) }
        block.rowCount = 2
        let meta = BlockEncoder(compression: .lz4).encode(block).meta
        #expect(meta.chunks[0].stats == .bytes(min: Array("a".utf8), max: Array(long.utf8.prefix(64)), maxTruncated: true))
    }

    @Test func unknownVersionIsAClearError() throws {
        var (bytes, _) = SampleSegment.make()
        bytes[4] = 3
        #expect { try SegmentReader(data: SegmentData(bytes)) } throws: { error in
            "\(error)".contains("unsupported segment format version 3")
        }
    }

    @Test func notASegmentIsAClearError() {
        #expect { try SegmentReader(data: SegmentData(Array("{\"ts\":1}\n".utf8))) } throws: { error in
            "\(error)".contains("not a segment file")
        }
    }

    @Test func unknownEncodingIsAClearError() throws {
        var (bytes, _) = SampleSegment.make(compression: .none)
        let reader = try SegmentReader(data: SegmentData(bytes))
        let chunkStart = Int(reader.blocks[0].offset) + Int(reader.blocks[0].chunks[2].offset)
        bytes[chunkStart + 2] = 99
        // The block crc no longer matches either, but a reader of that one chunk sees the encoding first.
        let damaged = try SegmentReader(data: SegmentData(bytes))
        #expect { try damaged.chunk(block: 0, column: 2) } throws: { error in
            "\(error)".contains("unknown encoding 99") && "\(error)".contains("block 0")
        }
    }

    @Test func resumedWriterContinuesARecoveredSegment() throws {
        let (bytes, blocks) = SampleSegment.make()
        let sealed = try SegmentReader(data: SegmentData(bytes))
        let cut = Int(sealed.blocks[1].offset) + Int(sealed.blocks[1].length)
        let partial = try SegmentReader(data: SegmentData(Array(bytes[..<cut])))
        #expect(!partial.isSealed)
        var writer = SegmentWriter(resuming: partial)
        #expect(writer.size == cut)
        let block = BlockBuilder(columns: SampleSegment.columns)
        SampleSegment.fill(block, blocks[2])
        let resumed = Array(bytes[..<cut]) + writer.append(BlockEncoder(compression: .lz4).encode(block)) + writer.footer()
        let reader = try SegmentReader(data: SegmentData(resumed))
        #expect(reader.isSealed)
        #expect(reader.verify().isEmpty)
        #expect(try SampleSegment.cells(reader, block: 2) == blocks[2])
    }
}
