/// An `s3://BUCKET/KEY-OR-PREFIX` address, split into its bucket and the rest.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public let bucket: String
    /// A key or a key prefix; empty for the whole bucket.
    public let key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://bucket/key`; nil when `text` is not an `s3://` address with a valid bucket name.
    public init?(_ text: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard Self.isValidBucket(bucket) else { return nil }
        self.bucket = String(bucket)
        key = String(rest.dropFirst(bucket.count + 1))
    }

    public var description: String { "s3://\(bucket)/\(key)" }

    /// S3's bucket naming rules: 3 to 63 lower-case letters, digits, dots and hyphens, starting and
    /// ending with a letter or digit (older buckets may also hold underscores and capitals).
    static func isValidBucket(_ name: Substring) -> Bool {
        guard (3...63).contains(name.count), let first = name.first, let last = name.last,
              first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" || $0 == "_" }
    }
}
