import CSnappy
import NIOCore

/// Snappy, strictly and within bounds, on libsnappy: the block format (Loki's protobuf push
/// bodies) and the framing format (`Content-Encoding: snappy`, as Loki reads it). Every chunk's
/// declared size is checked against the bound before memory is taken, every framed chunk's
/// CRC-32C is checked, and a stream cut short is refused. `grow(n)` is asked before the output
/// grows by `n` bytes and may refuse (the node's in-flight byte bound).
enum Snappy {
    typealias Failure = DecodingFailure

    /// A block-format buffer's decoded bytes.
    static func decodeBlock(_ input: UnsafeRawBufferPointer, maxSize: Int, grow: (Int) -> Bool) throws(Failure) -> ByteBuffer {
        guard let base = input.baseAddress?.assumingMemoryBound(to: CChar.self) else { throw .truncated }
        var length = 0
        guard snappy_uncompressed_length(base, input.count, &length) == SNAPPY_OK else { throw .corrupt("the block's length header is not snappy") }
        guard length <= maxSize else { throw .tooLarge }
        guard grow(length) else { throw .refused }
        var output = ByteBufferAllocator().buffer(capacity: length)
        var written = length
        var status = SNAPPY_INVALID_INPUT
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { space -> Int in
            guard let out = space.baseAddress?.assumingMemoryBound(to: CChar.self) else { return 0 }
            status = snappy_uncompress(base, input.count, out, &written)
            // Only a whole, checked block is kept: anything else writes nothing.
            return status == SNAPPY_OK && written == length ? written : 0
        }
        guard status == SNAPPY_OK, written == length else { throw .corrupt("the block is damaged") }
        return output
    }

    /// A framing-format stream's decoded bytes: a stream identifier, then compressed (0x00),
    /// uncompressed (0x01), padding (0xFE) and skippable (0x80-0xFD) chunks. Several streams may
    /// follow one another.
    static func decodeFramed(_ input: UnsafeRawBufferPointer, maxSize: Int, grow: (Int) -> Bool) throws(Failure) -> ByteBuffer {
        var output = ByteBufferAllocator().buffer(capacity: 0)
        var i = 0
        var sawIdentifier = false
        let n = input.count
        guard n > 0 else { throw .truncated }
        while i < n {
            guard i + 4 <= n else { throw .truncated }
            let type = input[i]
            let length = Int(input[i + 1]) | Int(input[i + 2]) << 8 | Int(input[i + 3]) << 16
            i += 4
            guard i + length <= n else { throw .truncated }
            let chunk = UnsafeRawBufferPointer(rebasing: input[i..<(i + length)])
            i += length
            switch type {
            case 0xFF:
                guard length == 6, chunk.elementsEqual("sNaPpY".utf8) else { throw .corrupt("bad stream identifier") }
                sawIdentifier = true
            case 0x00, 0x01:
                guard sawIdentifier else { throw .corrupt("a chunk before the stream identifier") }
                guard length >= 4 else { throw .corrupt("a chunk too short for its checksum") }
                let expected = UInt32(chunk[0]) | UInt32(chunk[1]) << 8 | UInt32(chunk[2]) << 16 | UInt32(chunk[3]) << 24
                let data = UnsafeRawBufferPointer(rebasing: chunk[4...])
                let start = output.writerIndex
                if type == 0x01 {
                    guard data.count <= 65_536 else { throw .corrupt("an uncompressed chunk over 64 KiB") }
                    guard output.readableBytes + data.count <= maxSize else { throw .tooLarge }
                    guard grow(data.count) else { throw .refused }
                    output.writeBytes(data)
                } else {
                    let block = try decodeBlock(data, maxSize: min(65_536, maxSize - output.readableBytes), grow: grow)
                    output.writeImmutableBuffer(block)
                }
                let actual = output.withUnsafeReadableBytes { all in CRC32C.masked(UnsafeRawBufferPointer(rebasing: all[(start - output.readerIndex)...])) }
                guard actual == expected else { throw .corrupt("a chunk's CRC-32C does not match its data") }
            case 0x02...0x7F:
                throw .corrupt("reserved unskippable chunk type \(type)")
            default:
                // Padding (0xFE) and reserved skippable chunks (0x80-0xFD).
                guard sawIdentifier else { throw .corrupt("a chunk before the stream identifier") }
            }
        }
        guard sawIdentifier else { throw .corrupt("no stream identifier") }
        return output
    }
}
