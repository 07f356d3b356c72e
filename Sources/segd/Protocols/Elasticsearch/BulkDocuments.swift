import NDJSON
import SegmentFormat

/// The documents of a bulk request's `index` and `create` items for one stream, as NDJSON: each
/// document as it came, with the stream's timestamp field added (the time segd received it) when
/// the document lacks it, as Elasticsearch's ingest timestamp would. The NDJSON's line `k`
/// (1-based) is item `items[k - 1]` of the request.
struct BulkDocuments {
    let records = NDJSONRecords()
    private(set) var items: [Int] = []

    /// Appends item `item`'s document (`bytes`); a document that is not a JSON object is passed on
    /// as it is, for the schema check to refuse with its reason.
    mutating func append(item: Int, document bytes: UnsafeRawBufferPointer, timestampField: [UInt8]?, now: Int64) {
        items.append(item)
        let sink = records.sink
        guard let timestampField, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let open = Self.objectStart(base, bytes.count), !Self.hasTopLevelKey(base, bytes.count, timestampField) else {
            if let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) { sink.append(base, count: bytes.count) }
            sink.append(UInt8(ascii: "\n"))
            return
        }
        // `{` + `"<field>":"<now>"` + (`,` unless the object is empty) + the rest of the document.
        sink.append(base, count: open)
        records.beginRecord()
        timestampField.withUnsafeBytes { records.key($0) }
        records.timestamp(now)
        var rest = open + 1
        while rest < bytes.count, base[rest] == 0x20 || base[rest] == 0x09 { rest += 1 }
        if rest < bytes.count, base[rest] != UInt8(ascii: "}") { sink.append(UInt8(ascii: ",")) }
        sink.append(base + open + 1, count: bytes.count - open - 1)
        sink.append(UInt8(ascii: "\n"))
    }

    /// The offset of the opening brace when the text starts (after spaces) with an object.
    private static func objectStart(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        var k = 0
        while k < n, p[k] == 0x20 || p[k] == 0x09 { k += 1 }
        return k < n && p[k] == UInt8(ascii: "{") ? k : nil
    }

    /// Whether the object has the member `name` at its top level (false when it does not scan:
    /// the schema check reports that).
    private static func hasTopLevelKey(_ p: UnsafePointer<UInt8>, _ n: Int, _ name: [UInt8]) -> Bool {
        var s = JSONScanner(p, count: n)
        var found = false
        try? s.forEachMember { s, key throws(JSONScanner.Failure) in
            if !found {
                let bytes = key.escaped ? key.bytes : Array(UnsafeBufferPointer(start: key.p + key.start, count: key.end - key.start))
                found = bytes == name
            }
            try s.skipValue()
        }
        return found
    }
}
