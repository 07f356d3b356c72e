import NDJSON
import SegmentFormat
import NIOCore

/// A records-route body sent as `application/json`, as clients that only speak JSON send it
/// (winston's Http transport, syslog-ng's `http()` with a JSON template): one object, an array of
/// objects, or NDJSON. An array's elements, or objects that span lines (pretty-printed), become
/// one NDJSON line each; NDJSON passes through untouched. A record's "line" in errors is then its
/// position: the Nth element, or the Nth object.
enum JSONBody {
    static func ndjson(_ body: ByteBuffer) throws -> ByteBuffer {
        try body.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return body }
            var s = JSONScanner(base, count: raw.count)
            s.skipSpace()
            if s.atEnd { return body }
            var out = ByteBufferAllocator().buffer(capacity: raw.count + 16)
            var number = 1
            do throws(JSONScanner.Failure) {
                if s.current == UInt8(ascii: "[") {
                    try s.forEachElement { s throws(JSONScanner.Failure) in
                        writeLine(try s.rawValue(), to: &out)
                        number += 1
                    }
                    s.skipSpace()
                    guard s.atEnd else { throw s.fail("unexpected text after the array") }
                    return out
                }
                // NDJSON, or one object or several, each on one line: as it is.
                let first = try s.rawValue()
                if !first.contains(0x0A) { return body }
                writeLine(first, to: &out)
                number += 1
                while true {
                    s.skipSpace()
                    if s.atEnd { return out }
                    writeLine(try s.rawValue(), to: &out)
                    number += 1
                }
            } catch {
                throw APIError(.badRequest, "invalid", "\(error.message) (JSON body, at byte \(error.offset))", line: number)
            }
        }
    }

    /// A JSON value on one line: outside strings a line break is only whitespace (inside them it
    /// must be escaped), so each CR or LF becomes a space.
    private static func writeLine(_ value: UnsafeRawBufferPointer, to out: inout ByteBuffer) {
        var start = 0
        for (k, c) in value.enumerated() where c == 0x0A || c == 0x0D {
            out.writeBytes(UnsafeRawBufferPointer(rebasing: value[start..<k]))
            out.writeInteger(UInt8(ascii: " "))
            start = k + 1
        }
        out.writeBytes(UnsafeRawBufferPointer(rebasing: value[start...]))
        out.writeInteger(UInt8(ascii: "\n"))
    }
}
