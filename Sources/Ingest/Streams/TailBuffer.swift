import Foundation

/// The most recent records of one stream, for `GET .../tail`: the last accepted request bodies,
/// kept whole (no copy per record) until they hold more than `capacity` records.
/// Thread-safe.
public final class TailBuffer: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var batches: [BatchPayload] = []
    private var records = 0

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public func append(_ batch: BatchPayload) {
        lock.lock()
        defer { lock.unlock() }
        batches.append(batch)
        records += batch.records
        while let first = batches.first, records - first.records >= capacity {
            records -= first.records
            batches.removeFirst()
        }
    }

    /// The last `n` records (fewer if there are not as many), oldest first, one per line.
    public func last(_ n: Int) -> [UInt8] {
        lock.lock()
        let recent = batches
        lock.unlock()
        var pieces: [[UInt8]] = []
        var wanted = n
        for batch in recent.reversed() where wanted > 0 {
            let lines = batch.withBody { Self.lastLines($0, wanted) }
            wanted -= lines.count
            pieces.append(contentsOf: lines)
        }
        var out: [UInt8] = []
        for line in pieces.reversed() {
            out.append(contentsOf: line)
            out.append(0x0A)
        }
        return out
    }

    /// Up to `n` non-blank lines from the end of `body`, newest first.
    private static func lastLines(_ body: UnsafeRawBufferPointer, _ n: Int) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var end = body.count
        while end > 0 && lines.count < n {
            var start = end
            while start > 0 && body[start - 1] != 0x0A { start -= 1 }
            var stop = end
            if stop > start && body[stop - 1] == 0x0D { stop -= 1 }
            if body[start..<stop].contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                lines.append(Array(body[start..<stop]))
            }
            end = start - 1
        }
        return lines
    }
}
