/// A record that does not fit its stream's schema or is not valid JSON: the 1-based line, the
/// field (when one is at fault) and what was wrong, as a person needs to fix the input.
public struct RecordError: Error, CustomStringConvertible, Sendable, Equatable {
    public let line: Int
    public let field: String?
    public let message: String

    public init(line: Int, field: String?, message: String) {
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "line \(line), field '\(field)': \(message)" }
        return "line \(line): \(message)"
    }
}
