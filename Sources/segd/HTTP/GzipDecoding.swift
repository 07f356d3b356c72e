import CZlib
import NIOCore

/// Strict gzip decoding of a request body (RFC 1952), on zlib: every member is decoded, each
/// member's CRC-32 and length trailer is checked (zlib checks both in gzip mode), and a stream
/// that ends before its trailer, or has bytes after its last member that are not another member,
/// is refused. The output is bounded, and each step of its growth is reported to `grow` (which
/// may refuse it), so a small body cannot inflate past the node's memory bounds.
///
/// compress-nio's `decompress` stops at the first member's end and does not report a missing
/// trailer, which is how two members of 500 records were answered `{"accepted":500}`; so this
/// drives zlib itself.
enum GzipDecoding {
    enum Failure: Error, Equatable {
        /// The stream ends before a member's trailer.
        case truncated
        /// Not gzip, a damaged member, a CRC-32 or length mismatch, or trailing garbage.
        case corrupt(String)
        /// The decoded body passes `maxSize`.
        case tooLarge
        /// `grow` refused more memory.
        case refused
    }

    /// Decodes `input`; `grow(n)` is called before the output grows by `n` bytes.
    static func decode(_ input: ByteBuffer, maxSize: Int, grow: (Int) -> Bool) throws(Failure) -> ByteBuffer {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt("zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = ByteBufferAllocator().buffer(capacity: 0)
        let result: Failure? = input.withUnsafeReadableBytes { raw -> Failure? in
            guard let base = raw.baseAddress, raw.count > 0 else { return .truncated }
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(raw.count)
            var memberEnded = false
            while true {
                if output.writableBytes == 0 {
                    let step = min(max(output.capacity, 64 << 10), 4 << 20)
                    guard output.capacity + 1 <= maxSize else { return .tooLarge }
                    let added = min(step, maxSize + 1 - output.capacity)
                    guard grow(added) else { return .refused }
                    output.reserveCapacity(output.capacity + added)
                }
                let before = output.writableBytes
                let status = output.withUnsafeMutableWritableBytes { space -> Int32 in
                    stream.next_out = space.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(space.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.moveWriterIndex(forwardBy: before - Int(stream.avail_out))
                if output.readableBytes > maxSize { return .tooLarge }
                switch status {
                case Z_STREAM_END:
                    memberEnded = true
                    if stream.avail_in == 0 { return nil }
                    // Another member follows (or garbage, which the next header check refuses).
                    guard inflateReset(&stream) == Z_OK else { return .corrupt("zlib could not reset") }
                    memberEnded = false
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress: input is used up before the member's end, or output is full.
                    if stream.avail_in == 0 { return memberEnded ? nil : .truncated }
                    if output.writableBytes > 0 { return .corrupt("no progress") }
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    return .corrupt(message)
                }
            }
        }
        if let result { throw result }
        return output
    }
}
