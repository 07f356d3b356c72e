import Testing
@testable import Query

/// `count(distinct)`'s set of byte strings against Swift's `Set`: growth past its first table,
/// the empty string, and unions that reuse each member's stored hash.
struct DistinctStringsTests {
    static func strings(_ range: Range<Int>) -> [[UInt8]] {
        range.map { Array("v\($0 % 700)-é".utf8) } + [[], Array("v1-é".utf8)]
    }

    static func set(_ values: [[UInt8]]) -> DistinctStrings {
        var s = DistinctStrings()
        for v in values { v.withUnsafeBufferPointer { s.insert($0) } }
        return s
    }

    @Test func countsEachStringOnce() {
        let values = Self.strings(0..<2_000)
        #expect(Self.set(values).count == Set(values).count)
        #expect(DistinctStrings().count == 0)
    }

    @Test func unionsCountTheMembersOfEither() {
        let a = Self.strings(0..<500), b = Self.strings(300..<1_500)
        var union = Self.set(a)
        union.formUnion(Self.set(b))
        #expect(union.count == Set(a + b).count)
        // Into an empty set, and then again with the same members: nothing new.
        var fromEmpty = DistinctStrings()
        fromEmpty.formUnion(Self.set(b))
        fromEmpty.formUnion(Self.set(b))
        #expect(fromEmpty.count == Set(b).count)
        // Inserting after a union still finds the members it took over.
        for v in a { v.withUnsafeBufferPointer { fromEmpty.insert($0) } }
        #expect(fromEmpty.count == Set(a + b).count)
    }
}
