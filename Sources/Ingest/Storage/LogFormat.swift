import SegmentFormat

/// The write-ahead log's bytes on disk: generation files named `<generation>.wal` (ten digits),
/// each a header and then frames.
///
/// **Generation header** (44 bytes, from version 2 on): `"WALG"`, `u16` version (2), `u16` 0,
/// `u64` generation number, `u64` first sequence number (the next one when the file was made),
/// `u64` number of the generation before it (0: none), `u64` that generation's valid length
/// (`u64.max`: not known), `u32` CRC-32 of the bytes before it. The previous generation's length
/// makes replay exact when a generation was abandoned after a failed write or fsync: whatever
/// follows that length in the old file was never acknowledged. A version 1 generation (the first
/// build's) has no header: it starts with a frame.
///
/// **Frame** of a tenant's log (`<tenant>/_wal`, one log for all the tenant's streams): `"WALT"`,
/// `u32` body length, `u32` CRC-32 of the sequence number and the body, `u64` sequence number, and
/// the body: `u8` length of the stream's name, the name, the payload. Sequence numbers are the
/// tenant's: a stream's batches are in increasing order, with other streams' batches between.
///
/// **Frame** of a stream's own log (`<tenant>/<stream>/wal`, written by builds before the tenant
/// log; now only replayed, then removed): `"WAL1"`, `u32` payload length, `u32` CRC-32 of sequence
/// number and payload, `u64` sequence number, the payload.
enum LogFormat {
    static let frameMagic: [UInt8] = Array("WAL1".utf8)
    static let tenantFrameMagic: [UInt8] = Array("WALT".utf8)
    /// The three bytes both frame magics start with, to find a frame after damage.
    static let frameMagicPrefix: [UInt8] = Array("WAL".utf8)
    static let frameHeaderSize = 20
    static let headerMagic: [UInt8] = Array("WALG".utf8)
    static let headerSize = 44
    static let version: UInt16 = 2
    /// A frame longer than this is damage, not a batch: no request body comes near it.
    static let maxPayload = 1 << 30

    /// What a generation's header says.
    struct GenerationHeader: Sendable, Equatable {
        var generation: Int
        var firstSequence: UInt64
        /// The generation before this one, 0 for none.
        var previousGeneration: Int = 0
        /// Valid bytes of the previous generation, nil when not known.
        var previousEnd: Int?
    }

    static func fileName(_ generation: Int) -> String {
        let digits = String(generation)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits + ".wal"
    }

    /// The generation number of a file name, nil for other files.
    static func generation(ofFile name: String) -> Int? {
        guard name.hasSuffix(".wal"), name.count == 14 else { return nil }
        return Int(name.dropLast(4))
    }

    static func encode(_ header: GenerationHeader) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize)
        w.append(headerMagic)
        w.u16(version)
        w.u16(0)
        w.u64(UInt64(header.generation))
        w.u64(header.firstSequence)
        w.u64(UInt64(header.previousGeneration))
        w.u64(header.previousEnd.map { UInt64($0) } ?? .max)
        w.u32(Checksum.crc32(w.bytes))
        return w.bytes
    }

    /// Decodes a header at the start of `bytes` (at least `headerSize` bytes).
    static func decodeHeader(_ bytes: UnsafeRawBufferPointer) throws -> GenerationHeader {
        var r = ByteReader(bytes, context: "write-ahead log header")
        try r.expect(headerMagic, "write-ahead log header")
        let version = try r.u16()
        guard version == Self.version else { throw FormatError("write-ahead log version \(version) is not known to this build") }
        _ = try r.u16()
        let generation = try r.u64()
        let first = try r.u64()
        let previousGeneration = try r.u64()
        let previous = try r.u64()
        let end = r.position
        guard try r.u32() == Checksum.crc32(UnsafeRawBufferPointer(rebasing: bytes[0..<end])) else {
            throw FormatError("write-ahead log header checksum mismatch")
        }
        return GenerationHeader(generation: Int(generation), firstSequence: first, previousGeneration: Int(previousGeneration),
                                previousEnd: previous == .max ? nil : Int(previous))
    }

    /// The frame header and stream prefix for `payload` of `stream` in a tenant's log (the
    /// payload follows them in the file, written as it is).
    static func tenantFrameHead(sequence: UInt64, stream: [UInt8], payload: UnsafeRawBufferPointer) -> [UInt8] {
        var prefix = ByteWriter(capacity: 1 + stream.count)
        prefix.u8(UInt8(stream.count))
        prefix.append(stream)
        let crc = prefix.bytes.withUnsafeBytes { prefix in
            withUnsafeBytes(of: sequence.littleEndian) { Checksum.crc32(payload, continuing: Checksum.crc32(prefix, continuing: Checksum.crc32($0))) }
        }
        var w = ByteWriter(capacity: frameHeaderSize + prefix.count)
        w.append(tenantFrameMagic)
        w.u32(UInt32(prefix.count + payload.count))
        w.u32(crc)
        w.u64(sequence)
        w.append(prefix.bytes)
        return w.bytes
    }

    /// The frame header for `payload` in a stream's own log (the format older builds wrote).
    static func frameHeader(sequence: UInt64, payload: UnsafeRawBufferPointer) -> [UInt8] {
        var w = ByteWriter(capacity: frameHeaderSize)
        w.append(frameMagic)
        w.u32(UInt32(payload.count))
        w.u32(checksum(sequence: sequence, payload: payload))
        w.u64(sequence)
        return w.bytes
    }

    /// The CRC of a frame: of its sequence number and its body (for a tenant frame, the stream
    /// prefix and the payload).
    static func checksum(sequence: UInt64, payload: UnsafeRawBufferPointer) -> UInt32 {
        withUnsafeBytes(of: sequence.littleEndian) { Checksum.crc32(payload, continuing: Checksum.crc32($0)) }
    }

    /// A frame header's fields, before its body is checked.
    struct FrameHeader {
        var length: Int
        var crc: UInt32
        var sequence: UInt64
        /// A tenant frame, whose body starts with the stream's name.
        var tenant: Bool
    }

    /// Decodes a frame header (`frameHeaderSize` bytes); nil when the magic is wrong or the length
    /// is out of bounds.
    static func decodeFrameHeader(_ bytes: UnsafeRawBufferPointer) -> FrameHeader? {
        guard bytes.count >= frameHeaderSize else { return nil }
        let magic = UnsafeRawBufferPointer(rebasing: bytes[0..<4])
        let tenant = magic.elementsEqual(tenantFrameMagic)
        guard tenant || magic.elementsEqual(frameMagic) else { return nil }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[4...]), context: "write-ahead log frame")
        guard let length = try? r.u32(), let crc = try? r.u32(), let sequence = try? r.u64(), Int(length) <= maxPayload else { return nil }
        return FrameHeader(length: Int(length), crc: crc, sequence: sequence, tenant: tenant)
    }

    /// The stream's name at the start of a tenant frame's body, and where its payload starts;
    /// nil when the prefix does not fit in the body or is not a valid stream name.
    static func decodeStreamPrefix(_ body: UnsafeRawBufferPointer) -> (stream: String, payloadOffset: Int)? {
        guard let count = body.first.map(Int.init), count > 0, body.count >= 1 + count else { return nil }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: body[1..<(1 + count)]), as: UTF8.self)
        guard StreamSchema.isValidName(name) else { return nil }
        return (name, 1 + count)
    }
}
