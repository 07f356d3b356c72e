/// A query that cannot run as asked: an unknown field, a comparison across types, a field whose
/// type differs between segments. The message names the field and the segment.
public struct QueryError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
