// libFuzzer target: the version 2 encodings on their own. The first byte picks what the rest is:
// a damaged log-text, shredded-json or dict-i64 section (decoding must throw or give valid values,
// never crash), or text to encode and decode again (log-text strings, json values to shred), which
// must come back byte for byte. Built by tools/fuzz with SegmentFormat compiled for testing.

@testable import SegmentFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEncodings(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let count = Int(data[1] % 64) + 1
    let rest = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    switch data[0] % 5 {
    case 0:
        if let values = try? LogTextEncoding.decode(rest, count: count) {
            let texts = values.materialize()
            if texts.count != count || !UTF8Validation.isValid(texts.bytes) { fatalError("log-text decoded to bad strings") }
        }
    case 1:
        let table = [ShreddedColumn(parent: 0, path: [Array("a".utf8)], type: .integer),
                     ShreddedColumn(parent: 0, path: [Array("b".utf8)], type: .json)]
        if let parent = try? ShreddedJSONEncoding.decode(rest, count: count, column: 0, shredded: table) {
            let child = DecodedChunk(rowCount: count, nulls: nil, absents: nil, values: .integers(Array(repeating: 7, count: count)))
            let texts = try? parent.render(rows: Array(0..<count), children: [0: child, 1: child], shredded: table)
            if let texts, texts.count != count { fatalError("rendered \(texts.count) of \(count) values") }
        }
    case 2:
        var r = ByteReader(rest, context: "fuzz")
        if let values = try? IntegerDictionary.decode(&r, count: count), values.count != count { fatalError("dict-i64 count") }
    case 3:
        roundTripLogText(rest)
    default:
        roundTripShredding(rest)
    }
    return 0
}

/// Lines of valid UTF-8 as a string column: log-text, when it applies, gives every one back.
private func roundTripLogText(_ text: UnsafeRawBufferPointer) {
    guard UTF8Validation.isValid(text) else { return }
    var values = StringValues()
    for line in text.split(separator: 0x0A, omittingEmptySubsequences: false) { values.append(line) }
    guard let (size, write) = LogTextEncoding.candidate(values) else { return }
    var out: [UInt8] = []
    write(&out)
    if out.count != size { fatalError("log-text predicted \(size) bytes, wrote \(out.count)") }
    guard let decoded = try? out.withUnsafeBytes({ try LogTextEncoding.decode($0, count: values.count) }) else {
        fatalError("log-text did not decode what it encoded")
    }
    let back = decoded.materialize()
    for i in 0..<values.count where !back[i].elementsEqual(values[i]) { fatalError("log-text value \(i) came back changed") }
}

/// Lines that are JSON objects or arrays as a json column: shredded and rebuilt byte for byte.
private func roundTripShredding(_ text: UnsafeRawBufferPointer) {
    let columns = [ColumnDescriptor(name: "j", type: .json, nullable: true), .extra]
    let block = BlockBuilder(columns: columns)
    for line in text.split(separator: 0x0A) {
        let raw = UnsafeRawBufferPointer(rebasing: line)
        let row = UInt32(block.rowCount)
        if JSONText.isContainer(raw) { block.builders[0].strings.append(raw) } else { block.builders[0].nullRows.append(row) }
        // The same bytes without braces, when they are members, as the extra column.
        if raw.count > 2, raw.first == UInt8(ascii: "{"), raw.last == UInt8(ascii: "}"),
           JSONText.isMembers(UnsafeRawBufferPointer(rebasing: raw[(raw.startIndex + 1)..<(raw.endIndex - 1)])) {
            block.builders[1].strings.append(UnsafeRawBufferPointer(rebasing: raw[(raw.startIndex + 1)..<(raw.endIndex - 1)]))
        } else {
            block.builders[1].absentRows.append(row)
        }
        block.rowCount += 1
    }
    guard block.rowCount > 0 else { return }
    let header = SegmentHeader(tenant: "", stream: "f", node: "", segmentID: "0", created: 0, blockRows: 64, schemaText: [], columns: columns)
    var writer = SegmentWriter(header: header)
    let encoder = BlockEncoder(compression: .zstd, maxShreddedColumns: Int(text.first ?? 0) % 8)
    let bytes = writer.headerBytes + writer.append(encoder.encode(block)) + writer.footer()
    guard let reader = try? SegmentReader(data: SegmentData(bytes)), reader.verify().isEmpty else {
        fatalError("a shredded block did not read back soundly")
    }
    for c in 0..<2 {
        guard let chunk = try? reader.chunk(block: 0, column: c) else { fatalError("column \(c) did not decode") }
        let original = block.builders[c].strings
        guard case let .strings(back) = chunk.values else {
            if original.count > 0 { fatalError("column \(c) lost its values") }
            continue
        }
        if back.count != original.count { fatalError("column \(c): \(back.count) of \(original.count) values") }
        for i in 0..<back.count where !back[i].elementsEqual(original[i]) { fatalError("column \(c) value \(i) came back changed") }
    }
}
