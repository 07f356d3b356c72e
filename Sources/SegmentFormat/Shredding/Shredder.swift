/// Turns the values of a json or extra column of one block into shredded columns, one per path
/// seen (spec: Shredded paths), and what the parent chunk keeps to rebuild every value byte for
/// byte: per value a skeleton (the text with each leaf value cut out) and the values no column
/// took (the residual).
///
/// A leaf is a string, number, boolean or null member value, an array, or an empty object; the
/// members of a non-empty object are paths one level down. A leaf goes into its path's column only
/// if the column can give back its exact text (a canonical integer, a number in its shortest
/// spelling, a string in its canonical escaping); a path whose leaves are of several kinds in the
/// block, or not canonical, becomes a json column of raw texts. A value that holds the same path
/// twice, or is not an object, is kept whole in the residual. Columns go to the paths found in
/// most values first, up to the block's bound; the others stay in the residual.
///
/// Runs in the block encoder, off the request path. Guarded by `tools/bench/format`.
struct Shredder {
    /// Path segments deeper than this, or keys longer than `FormatConstants.maxNameBytes`, stay in the residual.
    static let maxDepth = 32

    /// The kinds of leaf, as bits, so a path's kinds in a block are an OR.
    enum Kind: UInt8 {
        case null = 1, integer = 2, number = 4, boolean = 8, string = 16, json = 32
    }

    struct Child {
        var column: ShreddedColumn
        var builder: ColumnBuilder
    }

    /// What the parent chunk holds once its values are shredded.
    struct Parent {
        /// Skeleton text of each skeleton (leaves cut out, a 0x00 byte in each place).
        var skeletons = StringValues()
        /// Per skeleton, what fills each place: 0 the next residual value, `k + 1` shredded column `k` of the block.
        var references: [[UInt32]] = []
        /// Skeleton of each value.
        var codes: [UInt32] = []
        var residual = StringValues()
    }

    private let isExtra: Bool
    private var paths = PathTable()

    // Per value, from the first pass.
    private var skeletonTexts = StringValues()
    private var whole: [Bool] = []
    private var leafEnds: [Int] = [0]
    // Per leaf.
    private var leafNode: [Int32] = []
    private var leafKind: [Kind] = []
    private var leafRange: [Range<Int32>] = []
    private var leafInteger: [Int64] = []
    private var leafNumber: [Double] = []

    init(isExtra: Bool) {
        self.isExtra = isExtra
    }

    /// Shreds `builder`'s values (a block of `rows` rows); `parent` is the column's index and
    /// `firstColumn` the block index the first new column will have. At most `budget` columns.
    /// Nil when no path gets a column (then the values are stored as they are).
    static func shred(_ builder: ColumnBuilder, rows: Int, parent: Int, firstColumn: Int, budget: Int) -> (Parent, [Child])? {
        guard budget > 0, builder.strings.count > 0 else { return nil }
        var shredder = Shredder(isExtra: builder.descriptor.type == .extra)
        shredder.scan(builder.strings)
        return shredder.build(builder, rows: rows, parent: parent, firstColumn: firstColumn, budget: budget)
    }

    // MARK: First pass: skeletons and leaves

    private mutating func scan(_ values: StringValues) {
        let n = values.count
        whole.reserveCapacity(n)
        skeletonTexts.bytes.reserveCapacity(values.bytes.count / 2)
        var seen: [Int32: Int] = [:]
        values.bytes.withUnsafeBufferPointer { all in
            for i in 0..<n {
                let range = values.range(i)
                let leafStart = leafNode.count
                let skeletonStart = skeletonTexts.bytes.count
                var ok = false
                if let base = all.baseAddress, !range.isEmpty {
                    var s = JSONScanner(base + range.lowerBound, count: range.count)
                    var copied = 0
                    ok = (try? scanValue(&s, &copied)) != nil
                    if ok {
                        appendText(s.p, copied, s.end)
                        seen.removeAll(keepingCapacity: true)
                        for l in leafStart..<leafNode.count where leafNode[l] >= 0 {
                            if seen.updateValue(l, forKey: leafNode[l]) != nil { ok = false; break }
                        }
                    }
                }
                if !ok {
                    removeLeaves(from: leafStart)
                    skeletonTexts.bytes.removeSubrange(skeletonStart...)
                }
                skeletonTexts.closeValue()
                whole.append(!ok)
                leafEnds.append(leafNode.count)
            }
        }
    }

    private mutating func removeLeaves(from start: Int) {
        leafNode.removeSubrange(start...)
        leafKind.removeSubrange(start...)
        leafRange.removeSubrange(start...)
        leafInteger.removeSubrange(start...)
        leafNumber.removeSubrange(start...)
    }

    private mutating func appendText(_ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int) {
        if to > from { skeletonTexts.bytes.append(contentsOf: UnsafeBufferPointer(start: p + from, count: to - from)) }
    }

    /// A json value must be an object; an extra value is a list of members.
    private mutating func scanValue(_ s: inout JSONScanner, _ copied: inout Int) throws(JSONScanner.Failure) {
        if isExtra {
            try scanMembers(&s, node: -1, depth: 0, copied: &copied, closing: nil)
        } else {
            s.skipSpace()
            guard s.current == UInt8(ascii: "{") else { throw s.fail("not an object") }
            s.i += 1
            try scanMembers(&s, node: -1, depth: 0, copied: &copied, closing: UInt8(ascii: "}"))
        }
        s.skipSpace()
        guard s.atEnd else { throw s.fail("text after the value") }
    }

    /// Members up to `closing` (consumed), or to the end of the text when `closing` is nil.
    private mutating func scanMembers(_ s: inout JSONScanner, node: Int32, depth: Int, copied: inout Int, closing: UInt8?) throws(JSONScanner.Failure) {
        s.skipSpace()
        if let closing, s.current == closing {
            s.i += 1
            return
        }
        while true {
            s.skipSpace()
            guard s.current == UInt8(ascii: "\"") else { throw s.fail("expected a member name") }
            let key = try s.scanString()
            let child = depth < Self.maxDepth && key.end - key.start <= FormatConstants.maxNameBytes
                ? paths.child(of: node, key: s.p, key.start, key.end, escaped: key.escaped) : -1
            s.skipSpace()
            try s.expect(UInt8(ascii: ":"), "':'")
            s.skipSpace()
            try scanMemberValue(&s, node: child, depth: depth + 1, copied: &copied)
            s.skipSpace()
            if s.current == UInt8(ascii: ",") {
                s.i += 1
                continue
            }
            guard let closing else { return }
            try s.expect(closing, "',' or '}'")
            return
        }
    }

    private mutating func scanMemberValue(_ s: inout JSONScanner, node: Int32, depth: Int, copied: inout Int) throws(JSONScanner.Failure) {
        let start = s.i
        var kind = Kind.json
        var integer: Int64 = 0
        var number: Double = 0
        switch s.current {
        case UInt8(ascii: "{"):
            var look = s
            look.i += 1
            look.skipSpace()
            if node >= 0 && look.current != UInt8(ascii: "}") {
                s.i += 1
                try scanMembers(&s, node: node, depth: depth, copied: &copied, closing: UInt8(ascii: "}"))
                return
            }
            try s.skipValue()
        case UInt8(ascii: "["):
            try s.skipValue()
        case UInt8(ascii: "\""):
            let str = try s.scanString()
            kind = !str.escaped || Self.isCanonicalString(s.p, str.start, str.end) ? .string : .json
        case UInt8(ascii: "t"):
            try s.literal("true")
            kind = .boolean
            integer = 1
        case UInt8(ascii: "f"):
            try s.literal("false")
            kind = .boolean
        case UInt8(ascii: "n"):
            try s.literal("null")
            kind = .null
        default:
            let n = try s.scanNumber()
            if n.isInteger, let v = s.integerValue(n), !(n.negative && v == 0) {
                kind = .integer
                integer = v
            } else {
                number = s.doubleValue(n)
                kind = number.isFinite && Self.isShortest(number, s.p, n.start, n.end) ? .number : .json
            }
        }
        appendText(s.p, copied, start)
        skeletonTexts.bytes.append(0)
        copied = s.i
        leafNode.append(node)
        leafKind.append(kind)
        leafRange.append(Int32(start)..<Int32(s.i))
        leafInteger.append(integer)
        leafNumber.append(number)
    }

    /// Whether an escaped string's raw content is exactly how the NDJSON writer escapes its value.
    static func isCanonicalString(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var unescaped: [UInt8] = []
        JSONScanner.unescape(p, start, end, into: &unescaped)
        var again = [UInt8](repeating: 0, count: 6 * unescaped.count + 2)
        let length = unescaped.withUnsafeBufferPointer { u in
            again.withUnsafeMutableBufferPointer { out in
                guard let src = u.baseAddress, let dst = out.baseAddress else { return 2 }
                return TextWriting.jsonString(src, u.count, to: dst) - dst
            }
        }
        return length - 2 == end - start && again[1..<(length - 1)].elementsEqual(UnsafeBufferPointer(start: p + start, count: end - start))
    }

    /// Whether the number's text is the shortest round-trip spelling the writer gives a double.
    static func isShortest(_ v: Double, _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var text = TextWriting.numberText(v)
        return text.withUTF8 { $0.elementsEqual(UnsafeBufferPointer(start: p + start, count: end - start)) }
    }

    // MARK: Second pass: columns, skeletons, residual

    private func build(_ builder: ColumnBuilder, rows: Int, parent: Int, firstColumn: Int, budget: Int) -> (Parent, [Child])? {
        let nodes = paths.count
        guard nodes > 0 else { return nil }
        var presence = [Int](repeating: 0, count: nodes)
        var kinds = [UInt8](repeating: 0, count: nodes)
        var firstSeen = [Int](repeating: Int.max, count: nodes)
        for l in 0..<leafNode.count where leafNode[l] >= 0 {
            let node = Int(leafNode[l])
            presence[node] += 1
            kinds[node] |= leafKind[l].rawValue
            firstSeen[node] = min(firstSeen[node], l)
        }
        let chosen = (0..<nodes).filter { presence[$0] > 0 }
            .sorted { presence[$0] != presence[$1] ? presence[$0] > presence[$1] : firstSeen[$0] < firstSeen[$1] }
            .prefix(budget)
        guard !chosen.isEmpty else { return nil }
        // Columns in first-seen order, so a block's table reads like its records.
        let ordered = chosen.sorted { firstSeen[$0] < firstSeen[$1] }
        var columnOf = [Int32](repeating: -1, count: nodes)
        var children: [Child] = []
        for (k, node) in ordered.enumerated() {
            columnOf[node] = Int32(k)
            let type = Self.type(of: kinds[node])
            let column = ShreddedColumn(parent: parent, path: paths.path(node), type: type)
            children.append(Child(column: column, builder: ColumnBuilder(ColumnDescriptor(name: column.pathText, type: type, nullable: true))))
        }

        var result = Parent()
        var interner = SkeletonInterner()
        var nextRow = [UInt32](repeating: 0, count: children.count)
        var references: [UInt32] = []
        let values = builder.strings
        let rowOf = Self.rowsWithValues(builder, rows: rows)
        values.bytes.withUnsafeBufferPointer { all in
            for i in 0..<values.count {
                let row = rowOf[i]
                references.removeAll(keepingCapacity: true)
                if whole[i] {
                    // The skeleton of a value kept whole: one place, filled from the residual.
                    references.append(0)
                    result.residual.append(UnsafeBufferPointer(rebasing: all[values.range(i)]))
                    let code = withUnsafeBytes(of: UInt8(0)) { interner.intern($0.bindMemory(to: UInt8.self), references, into: &result) }
                    result.codes.append(code)
                    continue
                }
                let base = values.range(i).lowerBound
                for l in leafEnds[i]..<leafEnds[i + 1] {
                    let node = Int(leafNode[l])
                    let k = node >= 0 ? Int(columnOf[node]) : -1
                    let r = leafRange[l]
                    guard k >= 0 else {
                        references.append(0)
                        result.residual.append(UnsafeBufferPointer(rebasing: all[(base + Int(r.lowerBound))..<(base + Int(r.upperBound))]))
                        continue
                    }
                    references.append(UInt32(firstColumn + k + 1))
                    let b = children[k].builder
                    while nextRow[k] < row {
                        b.absentRows.append(nextRow[k])
                        nextRow[k] += 1
                    }
                    nextRow[k] = row + 1
                    if leafKind[l] == .null {
                        b.nullRows.append(row)
                        continue
                    }
                    switch b.descriptor.type {
                    case .integer, .timestamp: b.integers.append(leafInteger[l])
                    case .number: b.numbers.append(leafNumber[l])
                    case .boolean: b.booleans.append(UInt8(leafInteger[l]))
                    case .string:
                        // The content between the quotes, unescaped.
                        let from = base + Int(r.lowerBound) + 1, to = base + Int(r.upperBound) - 1
                        if let p = all.baseAddress {
                            JSONScanner.unescape(p, from, to, into: &b.strings.bytes)
                        }
                        b.strings.closeValue()
                    case .json, .extra:
                        b.strings.append(UnsafeBufferPointer(rebasing: all[(base + Int(r.lowerBound))..<(base + Int(r.upperBound))]))
                    }
                }
                let code = skeletonTexts.bytes.withUnsafeBufferPointer { sk in
                    interner.intern(UnsafeBufferPointer(rebasing: sk[skeletonTexts.range(i)]), references, into: &result)
                }
                result.codes.append(code)
            }
        }
        for k in children.indices {
            while nextRow[k] < UInt32(rows) {
                children[k].builder.absentRows.append(nextRow[k])
                nextRow[k] += 1
            }
        }
        return (result, children)
    }


    static func type(of kinds: UInt8) -> ColumnType {
        switch kinds & ~Kind.null.rawValue {
        case Kind.integer.rawValue: .integer
        case Kind.number.rawValue: .number
        case Kind.boolean.rawValue: .boolean
        case Kind.string.rawValue: .string
        default: .json
        }
    }

    /// The row of each value: rows that are neither null nor absent, in order.
    static func rowsWithValues(_ builder: ColumnBuilder, rows: Int) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(builder.strings.count)
        var n = 0, a = 0
        for r in 0..<UInt32(rows) {
            if n < builder.nullRows.count && builder.nullRows[n] == r { n += 1; continue }
            if a < builder.absentRows.count && builder.absentRows[a] == r { a += 1; continue }
            out.append(r)
        }
        return out
    }
}

/// Interns (skeleton text, references) pairs, so that each distinct skeleton is stored once.
private struct SkeletonInterner {
    private var table: [Int32] = Array(repeating: -1, count: 64)
    private var hashes: [UInt64] = Array(repeating: 0, count: 64)

    mutating func intern(_ text: UnsafeBufferPointer<UInt8>, _ references: [UInt32], into parent: inout Shredder.Parent) -> UInt32 {
        var h = ByteHash.hash(UnsafeRawBufferPointer(text))
        for r in references { h = ByteHash.mix(h ^ UInt64(r), 0xA076_1D64_78BD_642F) }
        var slot = Int(truncatingIfNeeded: h) & (table.count - 1)
        while table[slot] >= 0 {
            let e = Int(table[slot])
            if hashes[slot] == h && parent.references[e] == references && parent.skeletons[e].elementsEqual(text) {
                return UInt32(e)
            }
            slot = (slot + 1) & (table.count - 1)
        }
        let code = parent.references.count
        parent.skeletons.append(text)
        parent.references.append(references)
        table[slot] = Int32(code)
        hashes[slot] = h
        if parent.references.count * 2 > table.count { grow(parent) }
        return UInt32(code)
    }

    private mutating func grow(_ parent: Shredder.Parent) {
        let capacity = table.count * 4
        var newTable = [Int32](repeating: -1, count: capacity)
        var newHashes = [UInt64](repeating: 0, count: capacity)
        for (slot, e) in table.enumerated() where e >= 0 {
            var s = Int(truncatingIfNeeded: hashes[slot]) & (capacity - 1)
            while newTable[s] >= 0 { s = (s + 1) & (capacity - 1) }
            newTable[s] = e
            newHashes[s] = hashes[slot]
        }
        table = newTable
        hashes = newHashes
    }
}

/// The paths seen in a block's values, as a tree of unescaped keys: node ids are indexes.
struct PathTable {
    private var parents: [Int32] = []
    private var keys = StringValues()
    private var hashes: [UInt64] = []
    private var slots: [Int32] = Array(repeating: -1, count: 256)
    private var scratch: [UInt8] = []

    var count: Int { parents.count }

    /// The node for member `key` (raw text `p[start..<end]`) of node `parent` (-1: the top).
    mutating func child(of parent: Int32, key p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, escaped: Bool) -> Int32 {
        if escaped {
            scratch.removeAll(keepingCapacity: true)
            JSONScanner.unescape(p, start, end, into: &scratch)
            return scratch.withUnsafeBufferPointer { find(parent, UnsafeRawBufferPointer($0)) }
        }
        return find(parent, UnsafeRawBufferPointer(start: p + start, count: end - start))
    }

    private mutating func find(_ parent: Int32, _ key: UnsafeRawBufferPointer) -> Int32 {
        let h = ByteHash.mix(ByteHash.hash(key) ^ UInt64(bitPattern: Int64(parent)), 0x8EBC_6AF0_9C88_C6E3)
        var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[slot] >= 0 {
            let node = Int(slots[slot])
            if hashes[node] == h && parents[node] == parent && keys[node].elementsEqual(key) { return Int32(node) }
            slot = (slot + 1) & (slots.count - 1)
        }
        let node = Int32(parents.count)
        parents.append(parent)
        keys.append(key)
        hashes.append(h)
        slots[slot] = node
        if parents.count * 2 > slots.count { grow() }
        return node
    }

    private mutating func grow() {
        let capacity = slots.count * 4
        var fresh = [Int32](repeating: -1, count: capacity)
        for node in 0..<parents.count {
            var s = Int(truncatingIfNeeded: hashes[node]) & (capacity - 1)
            while fresh[s] >= 0 { s = (s + 1) & (capacity - 1) }
            fresh[s] = Int32(node)
        }
        slots = fresh
    }

    /// The keys from the top down to `node`.
    func path(_ node: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var n = node
        while n >= 0 {
            out.append(Array(keys[n]))
            n = Int(parents[n])
        }
        return out.reversed()
    }
}
