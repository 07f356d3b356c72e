/// Why a request body in a content coding (gzip, deflate, zstd, snappy) was refused; the same for
/// every coding, so that the body reader answers each alike.
enum DecodingFailure: Error, Equatable {
    /// The stream ends before its end (a member's trailer, a frame, a chunk).
    case truncated
    /// Not this coding, a damaged stream, a checksum that does not match, or bytes after the end.
    case corrupt(String)
    /// The decoded body passes its bound.
    case tooLarge
    /// `grow` refused more memory (the node's in-flight byte bound).
    case refused
}
