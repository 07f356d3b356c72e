import NDJSON
import NIOCore
import SegmentFormat

/// Records refused one by one (`InvalidRecords.skip`): the line of each, and the errors of the
/// first `listedLimit` in full (an answer lists at most that many, plus the count), so that a
/// body of a million bad lines costs a million integers, not a million messages.
struct RejectedRecords: Sendable, Equatable {
    static let listedLimit = 100
    /// The 1-based line of every refused record, in order.
    var lines: [Int] = []
    /// The first `listedLimit` errors.
    var listed: [RecordError] = []

    var count: Int { lines.count }

    mutating func append(_ error: RecordError) {
        lines.append(error.line)
        if listed.count < Self.listedLimit { listed.append(error) }
    }
}

/// Sets a body's invalid records aside: each line is checked against the schema on its own, the
/// valid ones are copied into a new body (in order) and the others listed with their line,
/// field and error. Runs only once a body has failed the all-or-nothing check, so a valid body
/// is parsed once.
enum RecordScreening {
    /// Rows a scratch parser holds before it is emptied: its block is only a check.
    static let rowsPerReset = 4096

    static func screen(_ body: UnsafeRawBufferPointer, schema: StreamSchema) -> (valid: ByteBuffer, rejected: RejectedRecords) {
        let parser = RecordParser(schema: schema)
        var valid = ByteBufferAllocator().buffer(capacity: body.count)
        var rejected = RejectedRecords()
        NDJSONLines.forEach(body) { line, number in
            do throws(RecordError) {
                try parser.append(line: line, number: number)
                valid.writeBytes(line)
                valid.writeInteger(UInt8(ascii: "\n"))
                if parser.block.rowCount >= rowsPerReset { parser.block.removeAll() }
            } catch {
                rejected.append(error)
            }
            return true
        }
        return (valid, rejected)
    }
}
