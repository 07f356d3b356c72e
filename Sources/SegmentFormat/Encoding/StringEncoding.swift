/// Encoders and decoders for string values: plain (lengths, then bytes) and a sorted dictionary
/// with bit-packed codes (spec: Encodings, Strings). Also used for json and extra columns (plain only).
///
/// Hot path for ingest and decode; guarded by `tools/bench/format`.
enum StringEncoding {
    struct Candidate {
        let encoding: Encoding
        let size: Int
        let write: (inout [UInt8]) -> Void
    }

    /// The plain candidate, and for string columns, dictionary candidates when the dictionary is
    /// smaller than plain. Smallest first.
    static func candidates(_ values: StringValues, allowDictionary: Bool) -> [Candidate] {
        let n = values.count
        guard n > 0 else { return [] }
        var plainSize = values.bytes.count
        for i in 0..<n { plainSize += Varint.size(UInt64(values.length(i))) }
        var result = [Candidate(encoding: .plainString, size: plainSize) { out in writePlain(values, into: &out) }]
        guard allowDictionary, let dict = Dictionary(values, maxEntries: n / 2 + 1) else { return result }
        var entriesSize = Varint.size(UInt64(dict.entries.count))
        for e in dict.entries { entriesSize += values.length(e) + Varint.size(UInt64(values.length(e))) }
        let exact = BitPacking.width(of: UInt64(dict.entries.count - 1))
        let aligned = exact <= 8 ? 8 : exact <= 16 ? 16 : 32
        for width in exact == aligned ? [exact] : [exact, aligned] {
            let size = entriesSize + 1 + BitPacking.byteCount(count: n, width: width)
            guard size < plainSize else { continue }
            result.append(Candidate(encoding: .dictString, size: size) { out in
                out.append(contentsOf: varintBytes(UInt64(dict.entries.count)))
                Varint.appendAll(&out, count: dict.entries.count) { UInt64(values.length(dict.entries[$0])) }
                for e in dict.entries { out.append(contentsOf: values[e]) }
                out.append(UInt8(width))
                dict.codes.withUnsafeBufferPointer { codes in
                    BitPacking.pack(&out, count: n, width: width) { UInt64(codes[$0]) }
                }
            })
        }
        return result.sorted { $0.size < $1.size }
    }

    /// Whether values look like free text (long, mostly distinct enough that a template split may
    /// pay): the gate before the log-text candidate, whose split costs a pass over every byte.
    static func looksLikeText(_ values: StringValues) -> Bool {
        let n = values.count
        return n >= 8 && values.bytes.count >= 16 * n
    }

    static func writePlain(_ values: StringValues, into out: inout [UInt8]) {
        Varint.appendAll(&out, count: values.count) { UInt64(values.length($0)) }
        out.append(contentsOf: values.bytes)
    }

    private static func varintBytes(_ v: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 10)
        w.uvarint(v)
        return w.bytes
    }

    /// A sorted dictionary of a column's distinct values: `entries` are indexes of first
    /// occurrences in ascending byte order, `codes[i]` the entry of value `i`.
    struct Dictionary {
        var entries: [Int]
        var codes: [UInt32]

        /// Nil when the column has more than `maxEntries` distinct values (a dictionary would not pay).
        init?(_ values: StringValues, maxEntries: Int) {
            let n = values.count
            var capacity = 64
            var firstOf: [Int32] = []  // slot -> value index, -1 empty
            var hashes: [UInt64] = []
            var slotCode: [UInt32] = []
            var unsortedEntries: [Int] = []
            var codes = [UInt32](repeating: 0, count: n)
            func rebuild(_ cap: Int) {
                capacity = cap
                firstOf = [Int32](repeating: -1, count: cap)
                hashes = [UInt64](repeating: 0, count: cap)
                slotCode = [UInt32](repeating: 0, count: cap)
                for (code, e) in unsortedEntries.enumerated() {
                    let h = values.bytes.withUnsafeBytes { ByteHash.hash(UnsafeRawBufferPointer(rebasing: $0[values.range(e)])) }
                    var slot = Int(truncatingIfNeeded: h) & (cap - 1)
                    while firstOf[slot] >= 0 { slot = (slot + 1) & (cap - 1) }
                    firstOf[slot] = Int32(e)
                    hashes[slot] = h
                    slotCode[slot] = UInt32(code)
                }
            }
            rebuild(capacity)
            let ok: Bool = values.bytes.withUnsafeBytes { bytes -> Bool in
                for i in 0..<n {
                    let value = UnsafeRawBufferPointer(rebasing: bytes[values.range(i)])
                    let h = ByteHash.hash(value)
                    var slot = Int(truncatingIfNeeded: h) & (capacity - 1)
                    while true {
                        let e = firstOf[slot]
                        if e < 0 {
                            if unsortedEntries.count >= maxEntries { return false }
                            let code = UInt32(unsortedEntries.count)
                            unsortedEntries.append(i)
                            codes[i] = code
                            if unsortedEntries.count * 2 > capacity {
                                rebuild(capacity * 4)
                            } else {
                                firstOf[slot] = Int32(i)
                                hashes[slot] = h
                                slotCode[slot] = code
                            }
                            break
                        }
                        if hashes[slot] == h {
                            let other = UnsafeRawBufferPointer(rebasing: bytes[values.range(Int(e))])
                            if other.elementsEqual(value) {
                                codes[i] = slotCode[slot]
                                break
                            }
                        }
                        slot = (slot + 1) & (capacity - 1)
                    }
                }
                return true
            }
            guard ok, !unsortedEntries.isEmpty else { return nil }
            let order = unsortedEntries.indices.sorted { values.compare(unsortedEntries[$0], unsortedEntries[$1]) < 0 }
            var remap = [UInt32](repeating: 0, count: order.count)
            for (sortedCode, oldCode) in order.enumerated() { remap[oldCode] = UInt32(sortedCode) }
            for i in 0..<n { codes[i] = remap[Int(codes[i])] }
            entries = order.map { unsortedEntries[$0] }
            self.codes = codes
        }
    }

    // MARK: Decoding

    /// Decodes a plain-string section of `count` values.
    static func decodePlain(_ section: UnsafeRawBufferPointer, count: Int, validateUTF8: Bool) throws -> StringValues {
        var offsets = [UInt32](repeating: 0, count: count + 1)
        guard let base = section.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw FormatError("empty string section for \(count) values")
        }
        var cursor = VarintCursor(base: base, end: section.count, position: 0)
        var total: UInt64 = 0
        for i in 0..<count {
            total += try cursor.next()
            guard total <= UInt64(section.count) else { throw FormatError("string lengths run past the end of the section") }
            offsets[i + 1] = UInt32(total)
        }
        guard Int(total) == section.count - cursor.position else {
            throw FormatError("string section holds \(section.count - cursor.position) bytes, lengths sum to \(total)")
        }
        let raw = UnsafeRawBufferPointer(rebasing: section[cursor.position...])
        if validateUTF8 && !UTF8Validation.isValid(raw) { throw FormatError("string values are not valid UTF-8") }
        return StringValues(bytes: Array(raw), offsets: offsets)
    }

    /// Reads `count` uvarint lengths, then the strings' bytes (valid UTF-8); `what` names them in errors.
    static func readStrings(_ r: inout ByteReader, count: Int, what: String) throws -> StringValues {
        var offsets = [UInt32](repeating: 0, count: count + 1)
        var total = 0
        for i in 0..<count {
            total += try r.count("\(what) length", limit: FormatConstants.maxValueBytes)
            guard total <= r.remaining else { throw FormatError("\(what)s run past the end of the section") }
            offsets[i + 1] = UInt32(total)
        }
        let bytes = try r.bytes(total)
        guard UTF8Validation.isValid(bytes) else { throw FormatError("\(what)s are not valid UTF-8") }
        return StringValues(bytes: Array(bytes), offsets: offsets)
    }

    /// Decodes a dict-string section: the sorted entries and one code per value.
    static func decodeDictionary(_ section: UnsafeRawBufferPointer, count: Int) throws -> (StringValues, [UInt32]) {
        var r = ByteReader(section, context: "dictionary")
        let d = try r.count("dictionary size", limit: FormatConstants.maxBlockRows)
        guard d >= 1 else { throw FormatError("dictionary is empty") }
        let entries = try readStrings(&r, count: d, what: "dictionary entry")
        for i in 1..<max(d, 1) where entries.compare(i - 1, i) >= 0 {
            throw FormatError("dictionary entries are not in strictly ascending order at entry \(i)")
        }
        let codes = try BitPacking.readCodes(&r, count: count, limit: d, what: "dictionary code")
        guard r.isAtEnd else { throw FormatError("dictionary section has \(r.remaining) bytes left over") }
        return (entries, codes)
    }
}

/// A fast non-cryptographic hash of a byte string, for dictionary building (wyhash-style mixing of
/// 8-byte words). Not stable across versions: never stored.
enum ByteHash {
    @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.high ^ m.low
    }

    @inline(__always)
    static func hash(_ buf: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(buf.count)
        guard let p = buf.baseAddress else { return h }
        var i = 0
        let n = buf.count
        while i + 8 <= n {
            h = mix(h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0xA076_1D64_78BD_642F)
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            for k in 0..<(n - i) { tail |= UInt64(p.load(fromByteOffset: i + k, as: UInt8.self)) << UInt64(8 * k) }
            h = mix(h ^ tail, 0xE703_7ED1_A0B4_28DB)
        }
        return mix(h, 0x8EBC_6AF0_9C88_C6E3)
    }
}
