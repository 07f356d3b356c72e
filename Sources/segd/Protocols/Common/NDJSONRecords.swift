import NDJSON
import SegmentFormat

/// The NDJSON a protocol adapter writes for one stream: one JSON object per line, named in the
/// stream's fields, ready for the shared ingest path (which parses and checks it like any body of
/// the records route).
///
/// A value after a value gets its comma, a value after a key or an opening bracket does not, so
/// nested objects need no stack. Text from the wire is escaped; text that is not valid UTF-8 is
/// repaired (each byte of an ill-formed sequence becomes U+FFFD) rather than refused. Not thread-safe.
/// Hot path of every adapter: appends into one growing buffer, no allocation per field; guarded
/// by `tools/bench/ingest --protocols` (records/s per protocol beside the NDJSON route).
final class NDJSONRecords {
    let sink = ByteSink(flushThreshold: .max)
    /// Records written so far.
    private(set) var count = 0
    private var needsComma = false

    /// The NDJSON text, one record per line.
    func bytes() -> [UInt8] {
        sink.bytes()
    }

    /// Forgets what was written, keeping the memory.
    func reset() {
        sink.reset()
        needsComma = false
        count = 0
    }

    @inline(__always)
    private func separate() {
        if needsComma { sink.append(UInt8(ascii: ",")) }
    }

    // MARK: Records and containers

    func beginRecord() {
        needsComma = false
        sink.append(UInt8(ascii: "{"))
    }

    func endRecord() {
        sink.append("}\n" as StaticString)
        needsComma = false
        count += 1
    }

    func beginObject() {
        separate()
        sink.append(UInt8(ascii: "{"))
        needsComma = false
    }

    func endObject() {
        sink.append(UInt8(ascii: "}"))
        needsComma = true
    }

    func beginArray() {
        separate()
        sink.append(UInt8(ascii: "["))
        needsComma = false
    }

    func endArray() {
        sink.append(UInt8(ascii: "]"))
        needsComma = true
    }

    // MARK: Keys

    /// A member name known to need no escaping (a stream field's name).
    func key(_ name: StaticString) {
        separate()
        sink.append(UInt8(ascii: "\""))
        sink.append(name)
        sink.append("\":" as StaticString)
        needsComma = false
    }

    /// A member name from the wire (an attribute or label name).
    func key(_ name: UnsafeRawBufferPointer) {
        text(name)
        sink.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A member name already checked to be valid UTF-8.
    func key(validUTF8 name: UnsafeRawBufferPointer) {
        text(validUTF8: name)
        sink.append(UInt8(ascii: ":"))
        needsComma = false
    }

    func key(_ name: String) {
        var name = name
        name.withUTF8 { key(UnsafeRawBufferPointer($0)) }
    }

    // MARK: Values

    /// Text from the wire as a JSON string, repaired if it is not valid UTF-8.
    func text(_ bytes: UnsafeRawBufferPointer) {
        separate()
        needsComma = true
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            sink.append("\"\"" as StaticString)
            return
        }
        if UTF8Validation.isValid(bytes) {
            sink.appendJSONString(base, count: bytes.count)
        } else {
            let repaired = Self.repairedUTF8(bytes)
            repaired.withUnsafeBufferPointer { b in
                if let start = b.baseAddress { sink.appendJSONString(start, count: b.count) }
            }
        }
    }

    /// Text already checked to be valid UTF-8 (a protobuf string the walker validated).
    func text(validUTF8 bytes: UnsafeRawBufferPointer) {
        separate()
        needsComma = true
        if let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            sink.appendJSONString(base, count: bytes.count)
        } else {
            sink.append("\"\"" as StaticString)
        }
    }

    func text(_ value: String) {
        var value = value
        value.withUTF8 { text(UnsafeRawBufferPointer($0)) }
    }

    func text(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { text($0) }
    }

    /// A JSON string whose escaped content (between the quotes) is already valid JSON text, as a
    /// JSON body's string is once scanned: copied as it is.
    func escapedString(_ content: UnsafeRawBufferPointer) {
        separate()
        needsComma = true
        sink.append(UInt8(ascii: "\""))
        if let base = content.baseAddress { sink.append(base.assumingMemoryBound(to: UInt8.self), count: content.count) }
        sink.append(UInt8(ascii: "\""))
    }

    /// A JSON value already checked to be valid JSON, copied as it is.
    func json(_ value: UnsafeRawBufferPointer) {
        separate()
        needsComma = true
        if let base = value.baseAddress { sink.append(base.assumingMemoryBound(to: UInt8.self), count: value.count) }
    }

    func integer(_ value: Int64) {
        separate()
        needsComma = true
        sink.append(integer: value)
    }

    /// A double; JSON has no NaN or infinities, so those are written as the strings proto3's JSON
    /// mapping uses ("NaN", "Infinity", "-Infinity").
    func double(_ value: Double) {
        separate()
        needsComma = true
        if value.isFinite {
            sink.append(value.description)
        } else {
            sink.append(value.isNaN ? "\"NaN\"" as StaticString : value > 0 ? "\"Infinity\"" : "\"-Infinity\"")
        }
    }

    func bool(_ value: Bool) {
        separate()
        needsComma = true
        sink.append(value ? "true" as StaticString : "false")
    }

    func null() {
        separate()
        needsComma = true
        sink.append("null" as StaticString)
    }

    /// An instant as a quoted RFC 3339 date-time in UTC, exact to the nanosecond.
    func timestamp(_ ns: Int64) {
        separate()
        needsComma = true
        sink.append(UInt8(ascii: "\""))
        let out = sink.reserve(32)
        sink.advance(by: RFC3339.format(ns, to: out))
        sink.append(UInt8(ascii: "\""))
    }

    /// Bytes with each byte of an ill-formed UTF-8 sequence replaced by U+FFFD.
    static func repairedUTF8(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        guard let base = bytes.baseAddress else { return out }
        var i = 0
        while i < bytes.count {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            if b < 0x80 {
                out.append(b)
                i += 1
                continue
            }
            let length = UTF8Validation.sequenceLength(base + i, available: bytes.count - i)
            if length > 0 {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + length)]))
                i += length
            } else {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += 1
            }
        }
        return out
    }
}
