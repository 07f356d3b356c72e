#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SegmentFormat

/// A growable output buffer that writes itself to a file descriptor in large chunks, or collects
/// the bytes in memory (for tests and callers that want the text).
///
/// Appends never fail; `flushIfFull()` and `flush()` write and throw `OutputClosed` when the reader
/// of a pipe has gone away (the caller then exits quietly, as Unix tools do). Not thread-safe.
public final class ByteSink {
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    public private(set) var count = 0
    private let fd: Int32?
    private let flushThreshold: Int
    /// Bytes flushed so far when collecting in memory.
    public private(set) var collected: [UInt8] = []

    /// The reader of the output went away (EPIPE), or the output could not be written.
    public struct OutputClosed: Error, CustomStringConvertible {
        public let brokenPipe: Bool
        public let message: String
        public var description: String { message }
    }

    /// Writes to `fd`, flushing every `flushThreshold` bytes.
    public init(fd: Int32, flushThreshold: Int = 1 << 20) {
        self.fd = fd
        self.flushThreshold = flushThreshold
        capacity = flushThreshold + 4096
        buffer = .allocate(capacity: capacity)
    }

    /// Collects everything in memory (`bytes()`); with the default threshold, in `collected` every MiB.
    /// A sink that renders a part of the output for another to write uses `.max`: it never copies.
    public init(flushThreshold: Int = 1 << 20) {
        fd = nil
        self.flushThreshold = flushThreshold
        capacity = min(flushThreshold, 1 << 20) + 4096
        buffer = .allocate(capacity: capacity)
    }

    /// Forgets what it holds, keeping its memory for reuse.
    public func reset() {
        count = 0
        collected.removeAll()
    }

    /// Writes what this (in-memory) sink holds to `other`, directly to its file descriptor when it
    /// has one, then empties itself.
    public func transfer(to other: ByteSink) throws(OutputClosed) {
        if !collected.isEmpty {
            other.append(collected)
            collected.removeAll()
        }
        if other.fd == nil || count < 64 << 10 {
            other.append(buffer, count: count)
        } else {
            try other.flush()
            try other.write(buffer, count: count)
        }
        count = 0
        try other.flushIfFull()
    }

    deinit { buffer.deallocate() }

    /// Everything written so far, when collecting in memory.
    public func bytes() -> [UInt8] {
        collected + UnsafeBufferPointer(start: buffer, count: count)
    }

    /// Room for `n` more bytes at the returned pointer; call `advance(by:)` with what was written.
    @inline(__always)
    public func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if count + n > capacity { grow(count + n) }
        return buffer + count
    }

    @inline(__always)
    public func advance(by n: Int) { count += n }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        fresh.update(from: buffer, count: count)
        buffer.deallocate()
        buffer = fresh
        capacity = newCapacity
    }

    @inline(__always)
    public func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        count += 1
    }

    @inline(__always)
    public func append(_ p: UnsafePointer<UInt8>, count n: Int) {
        reserve(n).update(from: p, count: n)
        count += n
    }

    @inline(__always)
    public func append(_ text: StaticString) {
        append(text.utf8Start, count: text.utf8CodeUnitCount)
    }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { append(base, count: b.count) }
        }
    }

    public func append(_ text: String) {
        var t = text
        t.withUTF8 { b in
            if let base = b.baseAddress { append(base, count: b.count) }
        }
    }

    /// Appends the decimal text of `v`.
    @inline(__always)
    public func append(integer v: Int64) {
        let out = reserve(20)
        count += out.distance(to: TextWriting.integer(v, to: out))
    }

    /// Appends `bytes` as a JSON string: quoted, with `"`, `\\` and control characters escaped.
    /// The bytes must be valid UTF-8 (columns are validated when read).
    @inline(__always)
    public func appendJSONString(_ p: UnsafePointer<UInt8>, count n: Int) {
        let out = reserve(6 * n + 2)
        count += out.distance(to: TextWriting.jsonString(p, n, to: out))
    }

    /// Writes the buffer out when it has passed the flush threshold.
    @inline(__always)
    public func flushIfFull() throws(OutputClosed) {
        if count >= flushThreshold { try flush() }
    }

    /// Writes everything buffered.
    public func flush() throws(OutputClosed) {
        guard fd != nil else {
            collected.append(contentsOf: UnsafeBufferPointer(start: buffer, count: count))
            count = 0
            return
        }
        defer { count = 0 }
        try write(buffer, count: count)
    }

    private func write(_ bytes: UnsafePointer<UInt8>, count total: Int) throws(OutputClosed) {
        guard let fd else { return }
        var written = 0
        while written < total {
            let n = Glibc.write(fd, bytes + written, total - written)
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                throw OutputClosed(brokenPipe: e == EPIPE, message: "cannot write output: \(String(cString: strerror(e)))")
            }
            written += n
        }
    }
}
