/// The distinct values of an integer column in ascending order and one code per value: the
/// `dict-i64` encoding (spec: Encodings, Integers), for low-cardinality columns such as a flight's
/// distance or an HTTP status, where a code of a few bits beats a frame of reference.
///
/// Hot path for ingest; guarded by `tools/bench/format`.
struct IntegerDictionary {
    /// Distinct values, ascending.
    var entries: [Int64]
    /// `codes[i]` is the entry of value `i`.
    var codes: [UInt32]

    /// Nil when the values have more than `maxEntries` distinct values (a dictionary would not pay).
    init?(_ values: [Int64], maxEntries: Int) {
        let n = values.count
        guard n > 0, maxEntries > 0 else { return nil }
        // Open addressing over the values, sized for maxEntries at a load under one half.
        var capacity = 16
        while capacity < 2 * min(maxEntries, n) { capacity <<= 1 }
        var keys = [Int64](repeating: 0, count: capacity)
        var slotCode = [Int32](repeating: -1, count: capacity)
        var unsorted: [Int64] = []
        var codes = [UInt32](repeating: 0, count: n)
        let mask = capacity - 1
        let ok = values.withUnsafeBufferPointer { vs -> Bool in
            for i in 0..<n {
                let v = vs[i]
                var slot = Int(truncatingIfNeeded: ByteHash.mix(UInt64(bitPattern: v), 0x9E37_79B9_7F4A_7C15)) & mask
                while true {
                    let code = slotCode[slot]
                    if code < 0 {
                        if unsorted.count >= maxEntries { return false }
                        slotCode[slot] = Int32(unsorted.count)
                        keys[slot] = v
                        codes[i] = UInt32(unsorted.count)
                        unsorted.append(v)
                        break
                    }
                    if keys[slot] == v {
                        codes[i] = UInt32(code)
                        break
                    }
                    slot = (slot + 1) & mask
                }
            }
            return true
        }
        guard ok else { return nil }
        let order = unsorted.indices.sorted { unsorted[$0] < unsorted[$1] }
        var remap = [UInt32](repeating: 0, count: order.count)
        for (sorted, old) in order.enumerated() { remap[old] = UInt32(sorted) }
        for i in 0..<n { codes[i] = remap[Int(codes[i])] }
        entries = order.map { unsorted[$0] }
        self.codes = codes
    }

    /// The section's size for a code width.
    func size(width: Int) -> Int {
        var size = Varint.size(UInt64(entries.count)) + Varint.size(Varint.zigzag(entries[0])) + 1
        for i in 1..<entries.count { size += Varint.size(UInt64(bitPattern: entries[i] &- entries[i - 1])) }
        return size + BitPacking.byteCount(count: codes.count, width: width)
    }

    func write(width: Int, into out: inout [UInt8]) {
        var w = ByteWriter(capacity: 10 * entries.count + 12)
        w.uvarint(UInt64(entries.count))
        w.svarint(entries[0])
        for i in 1..<entries.count { w.uvarint(UInt64(bitPattern: entries[i] &- entries[i - 1])) }
        w.u8(UInt8(width))
        out.append(contentsOf: w.bytes)
        codes.withUnsafeBufferPointer { cs in BitPacking.pack(&out, count: cs.count, width: width) { UInt64(cs[$0]) } }
    }

    /// Decodes a dict-i64 section of `count` values.
    static func decode(_ r: inout ByteReader, count: Int) throws -> [Int64] {
        let d = try r.count("dictionary size", limit: count)
        guard d >= 1 else { throw FormatError("integer dictionary is empty") }
        var entries = [Int64](repeating: 0, count: d)
        entries[0] = try r.svarint()
        for i in 1..<max(d, 1) {
            let gap = try r.uvarint()
            guard gap >= 1, gap <= UInt64(Int64.max) else { throw FormatError("integer dictionary entries are not in strictly ascending order at entry \(i)") }
            let (next, overflow) = entries[i - 1].addingReportingOverflow(Int64(gap))
            guard !overflow else { throw FormatError("integer dictionary entry \(i) overflows 64 bits") }
            entries[i] = next
        }
        let width = Int(try r.u8())
        guard width <= 32 else { throw FormatError("dictionary code width \(width) is over 32") }
        let packed = try r.bytes(BitPacking.byteCount(count: count, width: width))
        var bad = false
        let values = entries.withUnsafeBufferPointer { es in
            [Int64](unsafeUninitializedCapacity: count) { buf, n in
                BitPacking.unpack(packed, count: count, width: width) { i, code in
                    if code >= UInt64(d) {
                        bad = true
                        buf[i] = 0
                    } else {
                        buf[i] = es[Int(code)]
                    }
                }
                n = count
            }
        }
        if bad { throw FormatError("dictionary code out of range (dictionary has \(d) entries)") }
        return values
    }
}
