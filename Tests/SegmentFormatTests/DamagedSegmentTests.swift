import Testing
@testable import SegmentFormat

/// Every single-byte change and every truncation of a small segment: `verify` reports it, the
/// reader never crashes, and every block the damage did not touch is recovered intact.
struct DamagedSegmentTests {
    static let sample = SampleSegment.make()

    @Test func everySingleByteFlipIsReportedAndUntouchedBlocksSurvive() throws {
        let (bytes, blocks) = Self.sample
        let sealed = try SegmentReader(data: SegmentData(bytes))
        let blockRanges = sealed.blocks.map { Int($0.offset)..<(Int($0.offset) + Int($0.length)) }
        var headerFailures = 0
        for position in bytes.indices {
            var damaged = bytes
            damaged[position] ^= 0x5A
            let reader: SegmentReader
            do {
                reader = try SegmentReader(data: SegmentData(damaged))
            } catch {
                // Only the header can make the whole file unreadable.
                #expect(position < sealed.headerEnd, "byte \(position): \(error)")
                headerFailures += 1
                continue
            }
            #expect(!reader.verify().isEmpty, "flipping byte \(position) went unnoticed")
            for (b, range) in blockRanges.enumerated() where !range.contains(position) {
                guard let index = reader.blocks.firstIndex(where: { Int($0.offset) == range.lowerBound }) else {
                    // A flip in an earlier frame stops the recovery walk; blocks after it are lost
                    // only when the footer is also unusable, which one flip cannot cause.
                    Issue.record("byte \(position): block \(b) was not found")
                    continue
                }
                #expect(try SampleSegment.cells(reader, block: index) == blocks[b], "byte \(position): block \(b)")
            }
        }
        #expect(headerFailures == sealed.headerEnd)
    }

    @Test func everyTruncationRecoversTheCompleteBlocks() throws {
        let (bytes, blocks) = Self.sample
        let sealed = try SegmentReader(data: SegmentData(bytes))
        let ends = sealed.blocks.map { Int($0.offset) + Int($0.length) }
        for length in 0..<bytes.count {
            let reader: SegmentReader
            do {
                reader = try SegmentReader(data: SegmentData(Array(bytes[..<length])))
            } catch {
                #expect(length < sealed.headerEnd, "length \(length): \(error)")
                continue
            }
            #expect(!reader.isSealed)
            let complete = ends.filter { $0 <= length }.count
            #expect(reader.blocks.count == complete, "length \(length)")
            let recovery = try #require(reader.recovery)
            #expect(recovery.stoppedAt == (complete == 0 ? sealed.headerEnd : ends[complete - 1]))
            #expect(!reader.verify().isEmpty)
            for b in 0..<complete {
                #expect(try SampleSegment.cells(reader, block: b) == blocks[b])
            }
        }
    }

    /// The sample without its footer, as a writer that died before sealing leaves it.
    static func unsealed() throws -> (bytes: [UInt8], blocks: [BlockMeta]) {
        let (bytes, _) = sample
        let sealed = try SegmentReader(data: SegmentData(bytes))
        let end = Int(sealed.blocks.last!.offset) + Int(sealed.blocks.last!.length)
        return (Array(bytes[..<end]), sealed.blocks)
    }

    @Test func walkWithoutFooterResumesAtTheNextIntactBlock() throws {
        let (bytes, blocks) = try Self.unsealed()
        var damaged = bytes
        damaged[Int(blocks[1].offset) + Int(blocks[1].length) / 2] ^= 0xFF
        let reader = try SegmentReader(data: SegmentData(damaged))
        #expect(reader.blocks.map(\.offset) == [blocks[0].offset, blocks[2].offset])
        let recovery = try #require(reader.recovery)
        #expect(recovery.damaged.count == 1)
        #expect(recovery.damaged.first?.offset == Int(blocks[1].offset))
        #expect(recovery.damaged.first?.length == Int(blocks[1].length))
        #expect(recovery.damagedBlocks == 1 && recovery.damagedRows == SampleSegment.blockSizes[1])
        #expect(try SampleSegment.cells(reader, block: 1) == Self.sample.blocks[2])
    }

    @Test func walkResumesAfterAFrameWhoseMagicIsGone() throws {
        let (bytes, blocks) = try Self.unsealed()
        var damaged = bytes
        damaged[Int(blocks[0].offset)] = 0  // block 0's magic
        let reader = try SegmentReader(data: SegmentData(damaged))
        #expect(reader.blocks.map(\.offset) == [blocks[1].offset, blocks[2].offset])
        let range = try #require(reader.recovery?.damaged.first)
        #expect(range.blocks == 1 && range.rows == nil, "the damaged frame's row count cannot be read without its magic")
    }

    @Test func unfinishedLastBlockIsNotDamage() throws {
        let (bytes, blocks) = try Self.unsealed()
        let reader = try SegmentReader(data: SegmentData(Array(bytes[..<(bytes.count - 5)])))
        #expect(reader.blocks.count == 2)
        let recovery = try #require(reader.recovery)
        #expect(recovery.damaged.isEmpty)
        #expect(recovery.stoppedAt == Int(blocks[2].offset))
    }

    @Test func sealedFileWithDamagedFooterAndLastBlockReportsTheLoss() throws {
        let (bytes, _) = Self.sample
        let sealed = try SegmentReader(data: SegmentData(bytes))
        var damaged = bytes
        damaged[bytes.count - 20] ^= 0xFF  // the footer
        let last = sealed.blocks[2]
        damaged[Int(last.offset) + 40] ^= 0xFF  // and the last block
        let reader = try SegmentReader(data: SegmentData(damaged))
        #expect(reader.blocks.count == 2)
        #expect(reader.recovery?.damagedRows == SampleSegment.blockSizes[2])
    }

    @Test func chunkDeclaringMoreThanAWriterProducesIsRefusedUnread() throws {
        let column = ColumnDescriptor(name: "n", type: .integer)
        // 10 values in 10 rows take at most 16 bytes each plus headers; this header declares 1 MiB.
        var w = ByteWriter()
        w.u16(0); w.u8(Encoding.plainInt64.rawValue); w.u8(Codec.zlib.rawValue); w.u8(0); w.u8(0)
        w.u32(10); w.u32(1 << 20); w.u32(4); w.u32(0)
        w.append([0, 0, 0, 0])
        let error = #expect(throws: FormatError.self) {
            try w.bytes.withUnsafeBytes { try ChunkDecoder.decode($0, column: column, columnIndex: 0, rowCount: 10) }
        }
        #expect(error?.reason.contains("a writer produces at most 228 for 10 integer values in 10 rows") == true, "\(String(describing: error))")
    }

    @Test(arguments: ["{\"a\":1}\n{\"b\":2}", "{\"a\":1},\"b\":{", "[1,2", "\"s\"", "{\"a\":1}{}"])
    func jsonValueThatIsNotOneContainerIsRefused(_ text: String) throws {
        let column = ColumnDescriptor(name: "ctx", type: .json)
        let block = BlockBuilder(columns: [column])
        block.builders[0].strings.append(Array(text.utf8))
        block.rowCount = 1
        let encoded = BlockEncoder(compression: .none).encode(block)
        let chunk = encoded.meta.chunks[0]
        let error = #expect(throws: FormatError.self) {
            try encoded.bytes.withUnsafeBytes { raw in
                try ChunkDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[Int(chunk.offset)..<Int(chunk.offset + chunk.length)]),
                                        column: column, columnIndex: 0, rowCount: 1)
            }
        }
        #expect(error?.reason.contains("is not a JSON object or array on one line") == true)
    }

    @Test(arguments: ["\"x\":1}\n{\"y\":2", "\"x\":1},{\"y\":2", "x:1", "\"x\":1,", ""])
    func extraValueThatIsNotMembersIsRefused(_ text: String) throws {
        #expect(!Array(text.utf8).withUnsafeBytes { JSONText.isMembers($0) })
        #expect(Array("\"x\":1,\"y\":[2,{}]".utf8).withUnsafeBytes { JSONText.isMembers($0) })
    }
}
