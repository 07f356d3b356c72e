/// The `log-text` encoding of string values (spec: Encodings, log-text): each value split by
/// `LogTemplate` into a template and variables; a sorted template dictionary and one template code
/// per value; a sorted dictionary of the dictionary variables; and the variables stored per
/// template and per variable slot, so that each column holds like values (a port, a size, a pid)
/// that the codec then compresses well. The block encoder keeps it when it comes out smaller.
///
/// Hot path for ingest of text columns; guarded by `tools/bench/format`.
enum LogTextEncoding {
    /// Splits every value; nil when the column is not worth it (no variable anywhere, or as many
    /// templates as values: then a dictionary or plain strings do as well).
    static func candidate(_ values: StringValues) -> (size: Int, write: (inout [UInt8]) -> Void)? {
        let n = values.count
        guard n > 1 else { return nil }
        var templates = StringValues()
        templates.bytes.reserveCapacity(values.bytes.count)
        var variables: [LogTemplate.Variable] = []
        var variableEnds = [Int](repeating: 0, count: n + 1)
        var dictionaryVariables = StringValues()
        var dictionaryOfValue: [Int] = []
        values.bytes.withUnsafeBufferPointer { all in
            for i in 0..<n {
                let range = values.range(i)
                let text = UnsafeBufferPointer(rebasing: all[range])
                let before = variables.count
                LogTemplate.split(text, template: &templates.bytes, variables: &variables)
                templates.closeValue()
                for v in before..<variables.count {
                    if case let .dictionary(r) = variables[v] {
                        dictionaryOfValue.append(v)
                        dictionaryVariables.append(UnsafeBufferPointer(rebasing: all[(range.lowerBound + r.lowerBound)..<(range.lowerBound + r.upperBound)]))
                    }
                }
                variableEnds[i + 1] = variables.count
            }
        }
        guard !variables.isEmpty, let templateDictionary = StringEncoding.Dictionary(templates, maxEntries: n), templateDictionary.entries.count < n else {
            return nil
        }
        let dictionary = dictionaryVariables.count > 0 ? StringEncoding.Dictionary(dictionaryVariables, maxEntries: dictionaryVariables.count) : nil
        var dictionaryCode = [UInt32](repeating: 0, count: variables.count)
        if let dictionary {
            for (k, v) in dictionaryOfValue.enumerated() { dictionaryCode[v] = dictionary.codes[k] }
        }

        // Group the variables by template and slot: column (t, s) holds slot s of every value with template t.
        let t = templateDictionary.entries.count
        var count = [Int](repeating: 0, count: t)
        for code in templateDictionary.codes { count[Int(code)] += 1 }
        var firstValue = [Int](repeating: -1, count: t)
        for i in 0..<n where firstValue[Int(templateDictionary.codes[i])] < 0 { firstValue[Int(templateDictionary.codes[i])] = i }
        var slotColumns: [[[Int64]]] = (0..<t).map { k in
            let slots = variableEnds[firstValue[k] + 1] - variableEnds[firstValue[k]]
            return Array(repeating: { var a: [Int64] = []; a.reserveCapacity(count[k]); return a }(), count: slots)
        }
        for i in 0..<n {
            let k = Int(templateDictionary.codes[i])
            for (s, v) in (variableEnds[i]..<variableEnds[i + 1]).enumerated() {
                switch variables[v] {
                case let .integer(x): slotColumns[k][s].append(x)
                case let .padded(_, x): slotColumns[k][s].append(x)
                case .dictionary: slotColumns[k][s].append(Int64(dictionaryCode[v]))
                }
            }
        }
        let dictionaryWidth = BitPacking.width(of: UInt64(max(dictionary?.entries.count ?? 1, 1) - 1))
        // Each slot's section, chosen now: the template says whether a slot holds integers or codes.
        var slotSections: [[UInt8]] = []
        for k in 0..<t {
            let kinds = slotKinds(templates, entry: templateDictionary.entries[k])
            for (s, kind) in kinds.enumerated() {
                var section: [UInt8] = []
                if kind == LogTemplate.dictionaryMarker {
                    section.append(UInt8(dictionaryWidth))
                    slotColumns[k][s].withUnsafeBufferPointer { cs in
                        BitPacking.pack(&section, count: cs.count, width: dictionaryWidth) { UInt64(cs[$0]) }
                    }
                } else {
                    let best = IntegerEncoding.candidates(slotColumns[k][s])[0]
                    section.append(best.encoding.rawValue)
                    var body: [UInt8] = []
                    best.write(&body)
                    var w = ByteWriter(capacity: 10)
                    w.uvarint(UInt64(body.count))
                    section.append(contentsOf: w.bytes)
                    section.append(contentsOf: body)
                }
                slotSections.append(section)
            }
        }
        var size = Varint.size(UInt64(t)) + 1 + BitPacking.byteCount(count: n, width: BitPacking.width(of: UInt64(t - 1)))
        for e in templateDictionary.entries { size += templates.length(e) + Varint.size(UInt64(templates.length(e))) }
        size += Varint.size(UInt64(dictionary?.entries.count ?? 0))
        if let dictionary {
            for e in dictionary.entries { size += dictionaryVariables.length(e) + Varint.size(UInt64(dictionaryVariables.length(e))) }
        }
        size += slotSections.reduce(0) { $0 + $1.count }
        return (size, { out in
            var w = ByteWriter(capacity: 16)
            w.uvarint(UInt64(t))
            out.append(contentsOf: w.bytes)
            Varint.appendAll(&out, count: t) { UInt64(templates.length(templateDictionary.entries[$0])) }
            for e in templateDictionary.entries { out.append(contentsOf: templates[e]) }
            let width = BitPacking.width(of: UInt64(t - 1))
            out.append(UInt8(width))
            templateDictionary.codes.withUnsafeBufferPointer { cs in BitPacking.pack(&out, count: n, width: width) { UInt64(cs[$0]) } }
            var d = ByteWriter(capacity: 10)
            d.uvarint(UInt64(dictionary?.entries.count ?? 0))
            out.append(contentsOf: d.bytes)
            if let dictionary {
                Varint.appendAll(&out, count: dictionary.entries.count) { UInt64(dictionaryVariables.length(dictionary.entries[$0])) }
                for e in dictionary.entries { out.append(contentsOf: dictionaryVariables[e]) }
            }
            for section in slotSections { out.append(contentsOf: section) }
        })
    }

    /// The marker of each variable slot of template `entry`, in order.
    static func slotKinds(_ templates: StringValues, entry: Int) -> [UInt8] {
        var kinds: [UInt8] = []
        let r = templates.range(entry)
        var k = r.lowerBound
        while k < r.upperBound {
            let c = templates.bytes[k]
            switch c {
            case LogTemplate.escapeMarker: k += 2
            case LogTemplate.paddedMarker: kinds.append(c); k += 2
            case LogTemplate.integerMarker, LogTemplate.dictionaryMarker: kinds.append(c); k += 1
            default: k += 1
            }
        }
        return kinds
    }

    // MARK: Decoding

    /// Decodes a log-text section of `count` values.
    static func decode(_ section: UnsafeRawBufferPointer, count: Int) throws -> LogTextValues {
        var r = ByteReader(section, context: "log-text")
        let t = try r.count("template count", limit: count)
        guard t >= 1 else { throw FormatError("log-text has no template") }
        let templates = try StringEncoding.readStrings(&r, count: t, what: "template")
        let codes = try BitPacking.readCodes(&r, count: count, limit: t, what: "template code")
        let parsed = try (0..<t).map { try LogTextValues.Template(parsing: templates, entry: $0) }
        let totalSlots = parsed.reduce(0) { $0 + $1.slots.count }
        let dictionaryCount = try r.count("dictionary variable count", limit: count * max(totalSlots, 1))
        let dictionary = try StringEncoding.readStrings(&r, count: dictionaryCount, what: "dictionary variable")
        var perTemplate = [Int](repeating: 0, count: t)
        var ordinals = [UInt32](repeating: 0, count: count)
        for i in 0..<count {
            let k = Int(codes[i])
            ordinals[i] = UInt32(perTemplate[k])
            perTemplate[k] += 1
        }
        var slots: [[LogTextValues.Slot]] = []
        slots.reserveCapacity(t)
        for k in 0..<t {
            var columns: [LogTextValues.Slot] = []
            for kind in parsed[k].slots {
                let c = perTemplate[k]
                if kind == .dictionary {
                    columns.append(.dictionary(try BitPacking.readCodes(&r, count: c, limit: dictionaryCount, what: "dictionary variable code")))
                } else {
                    let code = try r.u8()
                    guard let encoding = Encoding(rawValue: code), encoding.isInteger else {
                        throw FormatError("log-text slot has encoding \(code), not an integer encoding")
                    }
                    let length = try r.count("slot section length", limit: r.remaining)
                    let body = try r.bytes(length)
                    let values = c == 0 ? [] : try IntegerEncoding.decode(encoding, body, count: c)
                    columns.append(.integers(values))
                }
            }
            slots.append(columns)
        }
        guard r.isAtEnd else { throw FormatError("log-text section has \(r.remaining) bytes left over") }
        let values = LogTextValues(templates: parsed, codes: codes, ordinals: ordinals, dictionary: dictionary, slots: slots)
        try values.checkMaterializedSize()
        return values
    }
}
