#if canImport(Glibc)
import Glibc
#endif

/// A set of byte strings for `count(distinct x)` over string columns: every member's bytes in one
/// arena and an open-addressing table of offsets, so adding a dictionary's entries block after
/// block allocates nothing per member (a `Set<Value>` allocates, hashes and later frees an array
/// for each one). Guarded by `tools/bench/query` (Q8, `count(distinct tailnum)`).
struct DistinctStrings: Sendable {
    private var arena: [UInt8] = []
    /// Start of each member in `arena`, and its end.
    private var starts: [Int] = []
    private var ends: [Int] = []
    /// Each member's hash, so that merging sets and growing the table hash nothing again.
    private var memberHashes: [UInt64] = []
    /// Member index + 1 in each slot (0: empty); the capacity is a power of two, at most half full,
    /// and 0 until the first member (every accumulator has a set, most never use it).
    private var slots: [Int32] = []
    private var hashes: [UInt64] = []

    var count: Int { starts.count }

    /// Adds `bytes` unless it is a member.
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>) {
        insert(bytes, hash: Self.hash(bytes))
    }

    private mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64) {
        if slots.isEmpty { grow() }
        var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[slot] != 0 {
            let m = Int(slots[slot]) - 1
            if hashes[slot] == h && ends[m] - starts[m] == bytes.count && arena.withUnsafeBufferPointer({ a in
                bytes.count == 0 || memcmp(a.baseAddress! + starts[m], bytes.baseAddress!, bytes.count) == 0
            }) {
                return
            }
            slot = (slot + 1) & (slots.count - 1)
        }
        starts.append(arena.count)
        arena.append(contentsOf: bytes)
        ends.append(arena.count)
        memberHashes.append(h)
        slots[slot] = Int32(starts.count)
        hashes[slot] = h
        if starts.count * 2 > slots.count { grow() }
    }

    /// Adds every member of `other`.
    mutating func formUnion(_ other: DistinctStrings) {
        if starts.isEmpty {
            self = other
            return
        }
        other.arena.withUnsafeBufferPointer { a in
            for m in 0..<other.count {
                insert(UnsafeBufferPointer(rebasing: a[other.starts[m]..<other.ends[m]]), hash: other.memberHashes[m])
            }
        }
    }

    private mutating func grow() {
        let capacity = max(16, slots.count * 2)
        slots = [Int32](repeating: 0, count: capacity)
        hashes = [UInt64](repeating: 0, count: capacity)
        for m in 0..<starts.count {
            let h = memberHashes[m]
            var slot = Int(truncatingIfNeeded: h) & (capacity - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Int32(m + 1)
            hashes[slot] = h
        }
    }

    /// FNV-1a with a final mix: short keys, no adversary (the data is the user's own).
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h ^= h >> 32
        h &*= 0xd6e8_feb8_6659_fd93
        return h ^ (h >> 32)
    }
}
