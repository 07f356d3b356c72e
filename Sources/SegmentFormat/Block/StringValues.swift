#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run of byte strings stored end to end: value `i` is `bytes[offsets[i]..<offsets[i+1]]`.
/// Used by column builders (what was ingested) and by decoded chunks (what was read).
public struct StringValues: Sendable {
    public var bytes: [UInt8]
    /// `count + 1` offsets, the first 0.
    public var offsets: [UInt32]

    public init() {
        bytes = []
        offsets = [0]
    }

    public init(bytes: [UInt8], offsets: [UInt32]) {
        self.bytes = bytes
        self.offsets = offsets
    }

    public var count: Int { offsets.count - 1 }

    @inline(__always)
    public func range(_ i: Int) -> Range<Int> { Int(offsets[i])..<Int(offsets[i + 1]) }

    @inline(__always)
    public func length(_ i: Int) -> Int { Int(offsets[i + 1] &- offsets[i]) }

    public subscript(i: Int) -> ArraySlice<UInt8> { bytes[range(i)] }

    public mutating func append<C: Collection>(_ value: C) where C.Element == UInt8 {
        bytes.append(contentsOf: value)
        offsets.append(UInt32(truncatingIfNeeded: bytes.count))
    }

    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
        offsets.append(UInt32(truncatingIfNeeded: bytes.count))
    }

    /// Ends the value whose bytes were appended to `bytes` directly.
    @inline(__always)
    public mutating func closeValue() { offsets.append(UInt32(truncatingIfNeeded: bytes.count)) }

    public mutating func removeLast() {
        offsets.removeLast()
        bytes.removeSubrange(Int(offsets[offsets.count - 1])...)
    }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
    }

    /// Compares values `i` and `j` as unsigned bytes.
    @inline(__always)
    func compare(_ i: Int, _ j: Int) -> Int {
        bytes.withUnsafeBufferPointer { b in
            ByteCompare.compare(UnsafeBufferPointer(rebasing: b[range(i)]), UnsafeBufferPointer(rebasing: b[range(j)]))
        }
    }
}

/// Unsigned lexicographic byte comparison (the order of string stats and dictionaries).
public enum ByteCompare {
    @inline(__always)
    public static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let n = min(a.count, b.count)
        if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let c = memcmp(pa, pb, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    public static func compare(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count - b.count
    }
}
