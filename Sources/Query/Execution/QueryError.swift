/// A query that cannot run as asked: an unknown field, a comparison across types, a field whose
/// type differs between segments, a sum too large for its type. The message names the field and
/// the segment; `kind` says whose mistake it is, and `conditionField` which field of `--where`
/// it is about, so that the command line can point at it.
public struct QueryError: Error, CustomStringConvertible, Sendable {
    /// Whether the query as written is wrong (fix the command) or the data cannot answer it.
    public enum Kind: Sendable {
        /// A mistake in the command line: an unknown field, a type mismatch, a bad aggregate.
        case usage
        /// The segments cannot answer it: a field's type differs between them, a result overflows.
        case cannotRun
    }

    public let message: String
    public let kind: Kind
    /// The `--where` field the error is about, when it is about one.
    public let conditionField: String?

    public init(_ message: String, kind: Kind = .usage, conditionField: String? = nil) {
        self.message = message
        self.kind = kind
        self.conditionField = conditionField
    }

    public var description: String { message }
}
