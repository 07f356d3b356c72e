import CZstd
import NIOCore

/// `Content-Encoding: zstd` (RFC 8878), strictly and within bounds, on libzstd's streaming
/// decoder: one or more frames (skippable frames allowed), each complete; a stream that ends
/// inside a frame, or bytes that are not a frame, are refused. The window is limited to 8 MiB as
/// RFC 9659 asks of HTTP decoders. `grow(n)` is asked before the output grows by `n` bytes.
enum Zstd {
    typealias Failure = DecodingFailure

    static func decode(_ input: UnsafeRawBufferPointer, maxSize: Int, grow: (Int) -> Bool) throws(Failure) -> ByteBuffer {
        guard let base = input.baseAddress, input.count > 0 else { throw .truncated }
        guard let stream = ZSTD_createDStream() else { throw .corrupt("zstd could not start") }
        defer { ZSTD_freeDStream(stream) }
        // 2^23: the largest window RFC 9659 lets an HTTP sender use.
        _ = ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, 23)
        var output = ByteBufferAllocator().buffer(capacity: 0)
        var source = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
        while true {
            if output.writableBytes == 0 {
                guard output.readableBytes < maxSize + 1 else { throw .tooLarge }
                let added = min(max(output.capacity, 64 << 10), 4 << 20, maxSize + 1 - output.capacity)
                guard added > 0 else { throw .tooLarge }
                guard grow(added) else { throw .refused }
                output.reserveCapacity(output.capacity + added)
            }
            let before = output.writableBytes
            var result = 0
            var written = 0
            output.withUnsafeMutableWritableBytes { space in
                var target = ZSTD_outBuffer(dst: space.baseAddress, size: space.count, pos: 0)
                result = ZSTD_decompressStream(stream, &target, &source)
                written = target.pos
            }
            output.moveWriterIndex(forwardBy: min(written, before))
            if ZSTD_isError(result) != 0 {
                throw .corrupt(String(cString: ZSTD_getErrorName(result)))
            }
            if output.readableBytes > maxSize { throw .tooLarge }
            let frameOpen = result != 0
            if source.pos == source.size && !frameOpen {
                // Everything read and the last frame complete (and flushed, or result would be > 0).
                return output
            }
            if source.pos == source.size && written < before {
                // Input exhausted inside a frame, and the decoder had room to write: the stream is cut.
                throw .truncated
            }
        }
    }
}
