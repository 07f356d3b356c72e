import SegmentFormat

/// One accepted request as the write-ahead log keeps it: when it was accepted, how many records,
/// its idempotency key, and the NDJSON body exactly as received (after content decoding).
///
/// Layout: `u8` version (1), `i64` accepted-at (ns since the epoch), `u32` record count,
/// `str16` idempotency key (empty for none), then the body to the end.
public struct BatchPayload: Sendable {
    public var acceptedAt: Int64
    public var records: Int
    public var idempotencyKey: String?
    /// The whole payload; the body starts at `bodyOffset`.
    public let bytes: [UInt8]
    public let bodyOffset: Int

    /// Lays out a payload around `body`.
    public init(acceptedAt: Int64, records: Int, idempotencyKey: String?, body: UnsafeRawBufferPointer) {
        var w = ByteWriter(capacity: body.count + 32 + (idempotencyKey?.utf8.count ?? 0))
        w.u8(1)
        w.i64(acceptedAt)
        w.u32(UInt32(records))
        w.str16(Array((idempotencyKey ?? "").utf8))
        bodyOffset = w.count
        w.append(body)
        bytes = w.bytes
        self.acceptedAt = acceptedAt
        self.records = records
        self.idempotencyKey = idempotencyKey
    }

    /// Reads a payload back from the log.
    public init(decoding bytes: [UInt8]) throws {
        let (acceptedAt, records, key, offset) = try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, context: "write-ahead log batch")
            guard try r.u8() == 1 else { throw FormatError("unknown write-ahead log batch version") }
            return (try r.i64(), Int(try r.u32()), String(decoding: try r.str16(), as: UTF8.self), r.position)
        }
        self.acceptedAt = acceptedAt
        self.records = records
        self.idempotencyKey = key.isEmpty ? nil : key
        self.bytes = bytes
        self.bodyOffset = offset
    }

    /// The idempotency key of a logged payload and the answer it got, read from the payload's
    /// first bytes without copying its body; nil without a key, or for a layout this build does
    /// not know.
    static func idempotencyAnswer(in raw: UnsafeRawBufferPointer, stream: String) -> (String, IdempotencyStore.Answer)? {
        var r = ByteReader(raw, context: "write-ahead log batch")
        guard (try? r.u8()) == 1, let acceptedAt = try? r.i64(), let records = try? r.u32(), let key = try? r.str16(), !key.isEmpty else {
            return nil
        }
        // The body's fingerprint binds the key to these records, as a live request's claim does.
        let fingerprint = IdempotencyStore.fingerprint(UnsafeRawBufferPointer(rebasing: raw[r.position...]))
        return (String(decoding: key, as: UTF8.self),
                IdempotencyStore.Answer(stream: stream, records: Int(records), acceptedAt: acceptedAt, fingerprint: fingerprint))
    }

    /// Calls `body` with the NDJSON body's bytes.
    public func withBody<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[bodyOffset...])) }
    }
}
