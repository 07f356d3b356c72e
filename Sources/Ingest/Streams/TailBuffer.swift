import Foundation

/// The most recent records of one stream, for `GET .../tail`: only record lines (blank lines
/// dropped), copied out of each accepted body, and bounded twice: at most `capacity` records and
/// at most `maxBytes` bytes of them (`--tail-bytes`), whatever the bodies looked like. A body
/// larger than the bound costs one scan from its end and a copy of at most `maxBytes`.
/// Thread-safe.
public final class TailBuffer: @unchecked Sendable {
    public let capacity: Int
    public let maxBytes: Int
    private let lock = NSLock()
    /// Oldest first: runs of whole lines, each ending in a newline.
    private var chunks: [Chunk] = []
    private var records = 0
    private var bytes = 0

    private struct Chunk {
        var text: [UInt8]
        var lines: Int
    }

    public init(capacity: Int, maxBytes: Int = 8 << 20) {
        self.capacity = capacity
        self.maxBytes = maxBytes
    }

    /// Bytes held, for tests and metrics.
    public var heldBytes: Int { lock.withLock { bytes } }

    public func append(_ batch: BatchPayload) {
        batch.withBody { append(body: $0) }
    }

    /// Keeps the record lines of an NDJSON body (the newest that fit the bounds).
    public func append(body: UnsafeRawBufferPointer) {
        let chunk = Self.lastLines(body, lines: capacity, bytes: maxBytes)
        guard chunk.lines > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        chunks.append(chunk)
        records += chunk.lines
        bytes += chunk.text.count
        trim()
    }

    /// Drops the oldest lines until both bounds hold.
    private func trim() {
        while records > capacity || bytes > maxBytes, !chunks.isEmpty {
            var first = chunks[0]
            let extraLines = records - capacity
            let extraBytes = bytes - maxBytes
            // Whole chunk, or the fewest leading lines that satisfy both bounds.
            var cut = 0
            var lines = 0
            while cut < first.text.count && (lines < extraLines || cut < extraBytes) {
                cut = (first.text[cut...].firstIndex(of: 0x0A) ?? first.text.count - 1) + 1
                lines += 1
            }
            if cut >= first.text.count {
                chunks.removeFirst()
                records -= first.lines
                bytes -= first.text.count
                continue
            }
            first.text.removeFirst(cut)
            first.lines -= lines
            chunks[0] = first
            records -= lines
            bytes -= cut
        }
    }

    /// The last `n` records (fewer if there are not as many), oldest first, one per line.
    public func last(_ n: Int) -> [UInt8] {
        lock.lock()
        let recent = chunks
        lock.unlock()
        var pieces: [ArraySlice<UInt8>] = []
        var wanted = n
        for chunk in recent.reversed() where wanted > 0 {
            if chunk.lines <= wanted {
                pieces.append(chunk.text[...])
                wanted -= chunk.lines
                continue
            }
            // The chunk's last `wanted` lines.
            var start = chunk.text.count - 1
            var found = 0
            while start > 0 {
                if chunk.text[start - 1] == 0x0A {
                    found += 1
                    if found == wanted { break }
                }
                start -= 1
            }
            pieces.append(chunk.text[start...])
            wanted = 0
        }
        var out: [UInt8] = []
        out.reserveCapacity(pieces.reduce(0) { $0 + $1.count })
        for piece in pieces.reversed() { out.append(contentsOf: piece) }
        return out
    }

    /// The newest non-blank lines of `body` within `lines` and `bytes`, each newline-terminated
    /// (a `\r` before a newline dropped), oldest first.
    private static func lastLines(_ body: UnsafeRawBufferPointer, lines limit: Int, bytes budget: Int) -> Chunk {
        var spans: [Range<Int>] = []
        var size = 0
        var end = body.count
        let bytes = body.bindMemory(to: UInt8.self)
        while end > 0 && spans.count < limit {
            var start = end
            while start > 0 && bytes[start - 1] != 0x0A { start -= 1 }
            var stop = end
            if stop > start && body[stop - 1] == 0x0D { stop -= 1 }
            if stop > start && body[start..<stop].contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                guard size + (stop - start) + 1 <= budget else { break }
                spans.append(start..<stop)
                size += stop - start + 1
            }
            end = start - 1
        }
        var text: [UInt8] = []
        text.reserveCapacity(size)
        for span in spans.reversed() {
            text.append(contentsOf: body[span])
            text.append(0x0A)
        }
        return Chunk(text: text, lines: spans.count)
    }
}
