/// The `shredded-json` encoding of a json or extra column (spec: Encodings, shredded-json): the
/// skeletons, one skeleton code per value, and the residual texts, from which, with the block's
/// shredded columns, every value is rebuilt byte for byte.
enum ShreddedJSONEncoding {
    static func write(_ parent: Shredder.Parent, into out: inout [UInt8]) {
        var w = ByteWriter(capacity: parent.skeletons.bytes.count + 16 * parent.references.count + 32)
        let s = parent.references.count
        w.uvarint(UInt64(s))
        for k in 0..<s {
            w.uvarint(UInt64(parent.skeletons.length(k)))
            w.uvarint(UInt64(parent.references[k].count))
        }
        w.append(parent.skeletons.bytes)
        for refs in parent.references { for r in refs { w.uvarint(UInt64(r)) } }
        out.append(contentsOf: w.bytes)
        let width = BitPacking.width(of: UInt64(s - 1))
        out.append(UInt8(width))
        parent.codes.withUnsafeBufferPointer { cs in BitPacking.pack(&out, count: cs.count, width: width) { UInt64(cs[$0]) } }
        var r = ByteWriter(capacity: 10)
        r.uvarint(UInt64(parent.residual.count))
        out.append(contentsOf: r.bytes)
        if parent.residual.count > 0 { StringEncoding.writePlain(parent.residual, into: &out) }
    }

    /// Decodes a shredded-json section of `count` values whose column is `column` in a block with
    /// `shredded` columns; references are checked against the block's shredded table.
    static func decode(_ section: UnsafeRawBufferPointer, count: Int, column: Int, shredded: [ShreddedColumn]) throws -> ShreddedValues {
        var r = ByteReader(section, context: "shredded-json")
        let s = try r.count("skeleton count", limit: count)
        guard s >= 1 else { throw FormatError("shredded-json has no skeleton") }
        var lengths: [Int] = []
        var slotCounts: [Int] = []
        var totalText = 0, totalSlots = 0
        for _ in 0..<s {
            let length = try r.count("skeleton length", limit: FormatConstants.maxValueBytes)
            let slots = try r.count("skeleton slot count", limit: length)
            lengths.append(length)
            slotCounts.append(slots)
            totalText += length
            totalSlots += slots
            guard totalText <= r.remaining else { throw FormatError("skeletons run past the end of the section") }
        }
        let text = try r.bytes(totalText)
        guard UTF8Validation.isValid(text) else { throw FormatError("skeletons are not valid UTF-8") }
        var offsets = [UInt32](repeating: 0, count: s + 1)
        for k in 0..<s { offsets[k + 1] = offsets[k] + UInt32(lengths[k]) }
        let skeletons = StringValues(bytes: Array(text), offsets: offsets)
        var references: [[UInt32]] = []
        references.reserveCapacity(s)
        for k in 0..<s {
            var refs: [UInt32] = []
            for _ in 0..<slotCounts[k] {
                let ref = try r.count("skeleton reference", limit: shredded.count)
                if ref > 0 {
                    guard shredded[ref - 1].parent == column else {
                        throw FormatError("skeleton \(k) refers to shredded column \(ref - 1), which belongs to another column")
                    }
                }
                refs.append(UInt32(ref))
            }
            let places = skeletons[k].reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            guard places == refs.count else { throw FormatError("skeleton \(k) has \(places) places for \(refs.count) references") }
            references.append(refs)
        }
        let codes = try BitPacking.readCodes(&r, count: count, limit: s, what: "skeleton code")
        let residualCount = try r.count("residual count", limit: count * max(totalSlots, 1))
        var expected = 0
        for c in codes { expected += references[Int(c)].reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }
        guard expected == residualCount else { throw FormatError("skeletons take \(expected) residual values, the section holds \(residualCount)") }
        let residual = residualCount == 0 ? StringValues() : try StringEncoding.decodePlain(UnsafeRawBufferPointer(rebasing: r.base[r.position...]), count: residualCount, validateUTF8: true)
        return ShreddedValues(skeletons: skeletons, references: references, codes: codes, residual: residual)
    }
}

/// A decoded shredded-json chunk: what the parent keeps of its values. `render` rebuilds them.
public struct ShreddedValues: Sendable {
    public let skeletons: StringValues
    /// Per skeleton, per place: 0 the next residual value, `k + 1` the block's shredded column `k`.
    public let references: [[UInt32]]
    public let codes: [UInt32]
    public let residual: StringValues

    /// Shredded columns (block indexes) the skeletons refer to.
    public var referencedColumns: Set<Int> {
        Set(references.joined().filter { $0 > 0 }.map { Int($0) - 1 })
    }

    /// Rebuilds every value's text, given the rows that have one (`rows`, in order), the block's
    /// shredded table, and the decoded shredded columns the skeletons refer to (by block index).
    /// Throws when they disagree.
    public func render(rows: [Int], children: [Int: DecodedChunk], shredded: [ShreddedColumn]) throws -> StringValues {
        var chunks = [DecodedChunk?](repeating: nil, count: shredded.count)
        for (c, chunk) in children where c < chunks.count { chunks[c] = chunk }
        var cursors = [Int](repeating: 0, count: shredded.count)
        var placed = [Int](repeating: 0, count: shredded.count)
        var out = StringValues()
        out.offsets.reserveCapacity(rows.count + 1)
        var residualNext = 0
        var scratch = [UInt8](repeating: 0, count: 64)
        for (i, row) in rows.enumerated() {
            let k = Int(codes[i])
            let text = skeletons.range(k)
            let refs = references[k]
            var place = 0
            var from = text.lowerBound
            for at in text where skeletons.bytes[at] == 0 {
                out.bytes.append(contentsOf: skeletons.bytes[from..<at])
                from = at + 1
                let ref = Int(refs[place])
                place += 1
                if ref == 0 {
                    out.bytes.append(contentsOf: residual[residualNext])
                    residualNext += 1
                    continue
                }
                let c = ref - 1
                guard let chunk = chunks[c] else { throw FormatError("shredded column \(c) is missing") }
                guard !chunk.isAbsent(row) else { throw FormatError("a skeleton places shredded column \(c) in row \(row), where it is absent") }
                placed[c] += 1
                if chunk.isNull(row) {
                    out.bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
                    continue
                }
                let v = cursors[c]
                cursors[c] = v + 1
                guard v < chunk.values.count else { throw FormatError("shredded column \(c) has fewer values than its rows") }
                Self.appendValue(chunk.values, v, shredded[c].type, to: &out.bytes, scratch: &scratch)
            }
            out.bytes.append(contentsOf: skeletons.bytes[from..<text.upperBound])
            out.closeValue()
            guard out.bytes.count <= FormatConstants.maxChunkRawBytes else {
                throw FormatError("rebuilt values take more than a chunk holds (\(FormatConstants.maxChunkRawBytes) bytes)")
            }
        }
        for c in referencedColumns {
            guard let chunk = chunks[c] else { continue }
            let present = chunk.rowCount - (chunk.absents.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0)
            guard placed[c] == present else {
                throw FormatError("shredded column \(c) has \(present) rows with a value or null, its skeletons place \(placed[c])")
            }
        }
        return out
    }

    /// Appends value `i` of a shredded column of `type` as the JSON text it came from.
    static func appendValue(_ values: ColumnValues, _ i: Int, _ type: ColumnType, to out: inout [UInt8], scratch: inout [UInt8]) {
        switch values {
        case let .integers(v):
            LogTextValues.appendInteger(v[i], to: &out)
        case let .numbers(v):
            out.append(contentsOf: TextWriting.numberText(v[i]).utf8)
        case let .booleans(v):
            out.append(contentsOf: v[i] != 0 ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
        case let .strings(s):
            appendText(s.bytes, s.range(i), type, to: &out, scratch: &scratch)
        case let .dictionary(entries, codes):
            appendText(entries.bytes, entries.range(Int(codes[i])), type, to: &out, scratch: &scratch)
        case .none:
            break
        }
    }

    /// A string value, JSON-escaped; a json value's text as it is.
    private static func appendText(_ bytes: [UInt8], _ range: Range<Int>, _ type: ColumnType, to out: inout [UInt8], scratch: inout [UInt8]) {
        guard type == .string else {
            out.append(contentsOf: bytes[range])
            return
        }
        let need = 6 * range.count + 2
        if scratch.count < need { scratch = [UInt8](repeating: 0, count: need) }
        let written = bytes.withUnsafeBufferPointer { b in
            scratch.withUnsafeMutableBufferPointer { s in
                let dst = s.baseAddress!
                guard let src = b.baseAddress, !range.isEmpty else {
                    dst[0] = 0x22
                    dst[1] = 0x22
                    return 2
                }
                return TextWriting.jsonString(src + range.lowerBound, range.count, to: dst) - dst
            }
        }
        out.append(contentsOf: scratch[0..<written])
    }
}
