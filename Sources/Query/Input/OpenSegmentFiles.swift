import Foundation
import SegmentFormat

/// The segment files mapped at once, at most `capacity`, the least recently used unmapped first.
///
/// A month of hourly segments from a fleet is tens of thousands of files; mapping them all at
/// start would pin as many mappings (and hit the kernel's limit on them). A query reads its
/// segments in order, so a few open at a time suffice. A file stays mapped while any `SegmentBytes`
/// borrowed from it lives, even after it leaves the pool. Safe to use from several threads.
public final class OpenSegmentFiles: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var open: [(path: String, data: SegmentData)] = []
    /// Files mapped so far (a file evicted and mapped again counts twice).
    public private(set) var mapped = 0

    /// Files in the pool now.
    public var openCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return open.count
    }

    public init(capacity: Int = 64) {
        self.capacity = max(1, capacity)
    }

    /// The file at `path`, mapped; checks that it still has `expectedSize` bytes.
    public func data(_ path: String, expectedSize: Int) throws -> SegmentData {
        lock.lock()
        if let i = open.firstIndex(where: { $0.path == path }) {
            let entry = open.remove(at: i)
            open.append(entry)
            lock.unlock()
            return entry.data
        }
        lock.unlock()
        let data = try SegmentData(contentsOf: path)
        guard data.bytes.count == expectedSize else {
            throw FileError(path: path, message: "changed while it was being read (\(expectedSize) bytes, now \(data.bytes.count))")
        }
        lock.lock()
        mapped += 1
        open.append((path, data))
        if open.count > capacity { open.removeFirst() }
        lock.unlock()
        return data
    }
}
