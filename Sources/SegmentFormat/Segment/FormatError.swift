/// A segment, block or chunk that cannot be read: damaged, truncated, or of a version or encoding
/// this reader does not know. `description` is a sentence a person can act on; `block` and
/// `column` say where, when known.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    public var block: Int?
    public var column: String?

    public init(_ reason: String, block: Int? = nil, column: String? = nil) {
        self.reason = reason
        self.block = block
        self.column = column
    }

    /// The same error, placed in a block and (optionally) a column, keeping a more precise place.
    public func located(block: Int, column: String? = nil) -> FormatError {
        FormatError(reason, block: self.block ?? block, column: self.column ?? column)
    }

    public var description: String {
        var parts: [String] = []
        if let block { parts.append("block \(block)") }
        if let column { parts.append("column \(column.isEmpty ? "(extra)" : "'\(column)'")") }
        return parts.isEmpty ? reason : parts.joined(separator: ", ") + ": " + reason
    }
}
