/// The distinct values of an integer column, most frequent first, and one code per value: the
/// `dict-i64` encoding (spec: Encodings, Integers), for low-cardinality columns such as a flight's
/// distance or delay, or an HTTP status, where a small code beats a frame of reference. Codes are
/// bit-packed, or split into byte planes (every code's low byte, then every code's next byte):
/// with the most frequent values on the smallest codes, the high planes are nearly constant and the
/// low plane is what a byte-oriented codec's entropy coder sees, which comes close to the column's
/// entropy.
///
/// Hot path for ingest; guarded by `tools/bench/format`.
struct IntegerDictionary {
    /// Distinct values, most frequent first.
    var entries: [Int64]
    /// `codes[i]` is the entry of value `i`.
    var codes: [UInt32]

    /// How the codes are laid out.
    enum Layout: UInt8 {
        /// Bit-packed at the given width.
        case packed = 0
        /// `ceil(width / 8)` planes of one byte per code.
        case planes = 1
    }

    /// Nil when the values have more than `maxEntries` distinct values (a dictionary would not pay).
    init?(_ values: [Int64], maxEntries: Int) {
        let n = values.count
        guard n > 0, maxEntries > 0 else { return nil }
        // Open addressing over the values, sized for maxEntries at a load under one half; Fibonacci
        // hashing (a multiply and the top bits) spreads clustered integers well enough.
        var bits = 4
        while 1 << bits < 2 * min(maxEntries, n) { bits += 1 }
        let capacity = 1 << bits
        let shift = UInt64(64 - bits)
        var keys = [Int64](repeating: 0, count: capacity)
        var slotCode = [Int32](repeating: -1, count: capacity)
        var unsorted: [Int64] = []
        var codes = [UInt32](repeating: 0, count: n)
        let mask = capacity - 1
        let ok = values.withUnsafeBufferPointer { vs -> Bool in
            keys.withUnsafeMutableBufferPointer { keys in
                slotCode.withUnsafeMutableBufferPointer { slotCode in
                    codes.withUnsafeMutableBufferPointer { codes in
                        for i in 0..<n {
                            let v = vs[i]
                            var slot = Int(truncatingIfNeeded: (UInt64(bitPattern: v) &* 0x9E37_79B9_7F4A_7C15) >> shift)
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
                }
            }
        }
        guard ok else { return nil }
        var frequency = [Int](repeating: 0, count: unsorted.count)
        for c in codes { frequency[Int(c)] += 1 }
        let order = unsorted.indices.sorted { frequency[$0] != frequency[$1] ? frequency[$0] > frequency[$1] : unsorted[$0] < unsorted[$1] }
        var remap = [UInt32](repeating: 0, count: order.count)
        for (rank, old) in order.enumerated() { remap[old] = UInt32(rank) }
        for i in 0..<n { codes[i] = remap[Int(codes[i])] }
        entries = order.map { unsorted[$0] }
        self.codes = codes
    }

    var width: Int { BitPacking.width(of: UInt64(entries.count - 1)) }
    var planeCount: Int { max(1, (width + 7) / 8) }

    /// The section's size with `layout`.
    func size(_ layout: Layout) -> Int {
        var size = Varint.size(UInt64(entries.count)) + 2
        for e in entries { size += Varint.size(Varint.zigzag(e)) }
        return size + (layout == .packed ? BitPacking.byteCount(count: codes.count, width: width) : planeCount * codes.count)
    }

    func write(_ layout: Layout, into out: inout [UInt8]) {
        var w = ByteWriter(capacity: 10 * entries.count + 12)
        w.uvarint(UInt64(entries.count))
        for e in entries { w.svarint(e) }
        w.u8(layout.rawValue)
        w.u8(UInt8(width))
        out.append(contentsOf: w.bytes)
        codes.withUnsafeBufferPointer { cs in
            switch layout {
            case .packed:
                BitPacking.pack(&out, count: cs.count, width: width) { UInt64(cs[$0]) }
            case .planes:
                let n = cs.count
                let start = out.count
                out.append(contentsOf: repeatElement(0, count: planeCount * n))
                out.withUnsafeMutableBufferPointer { o in
                    for plane in 0..<planeCount {
                        let shift = UInt32(8 * plane)
                        let base = start + plane * n
                        for i in 0..<n { o[base + i] = UInt8(truncatingIfNeeded: cs[i] >> shift) }
                    }
                }
            }
        }
    }

    /// Decodes a dict-i64 section of `count` values.
    static func decode(_ r: inout ByteReader, count: Int) throws -> [Int64] {
        let d = try r.count("dictionary size", limit: count)
        guard d >= 1 else { throw FormatError("integer dictionary is empty") }
        var entries = [Int64](repeating: 0, count: d)
        for i in 0..<d { entries[i] = try r.svarint() }
        guard let layout = Layout(rawValue: try r.u8()) else { throw FormatError("unknown integer dictionary code layout") }
        let width = Int(try r.u8())
        guard width <= 32 else { throw FormatError("dictionary code width \(width) is over 32") }
        var bad = false
        let values: [Int64]
        switch layout {
        case .packed:
            let packed = try r.bytes(BitPacking.byteCount(count: count, width: width))
            values = entries.withUnsafeBufferPointer { es in
                [Int64](unsafeUninitializedCapacity: count) { buf, n in
                    BitPacking.unpack(packed, count: count, width: width) { i, code in
                        if code >= UInt64(d) { bad = true } else { buf[i] = es[Int(code)] }
                    }
                    n = count
                }
            }
        case .planes:
            let planes = max(1, (width + 7) / 8)
            let bytes = try r.bytes(planes * count)
            values = entries.withUnsafeBufferPointer { es in
                [Int64](unsafeUninitializedCapacity: count) { buf, n in
                    for i in 0..<count {
                        var code = 0
                        for p in 0..<planes { code |= Int(bytes[p * count + i]) << (8 * p) }
                        if code >= d { bad = true } else { buf[i] = es[code] }
                    }
                    n = count
                }
            }
        }
        if bad { throw FormatError("dictionary code out of range (dictionary has \(d) entries)") }
        return values
    }
}
