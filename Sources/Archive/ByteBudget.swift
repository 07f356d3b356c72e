import Foundation

/// Bytes a command may hold of whole objects read ahead of the query (`S3SegmentSource`), shared
/// by all its reads: a reservation that does not fit is refused, and the object is read in ranges.
/// Safe to use from any thread.
final class ByteBudget: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int

    init(_ bytes: Int) {
        left = bytes
    }

    /// Takes `bytes` from the budget; false (taking nothing) when fewer are left.
    func reserve(_ bytes: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard bytes <= left else { return false }
        left -= bytes
        return true
    }
}
