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
}
