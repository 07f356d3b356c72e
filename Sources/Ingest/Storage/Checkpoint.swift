import SegmentFormat

/// What a stream's segments hold for certain: every write-ahead-log batch of the stream up to
/// `sequence` is in a block of a segment, the first `partialRows` rows of batch `partialSequence`
/// too (a request larger than a block is split across blocks), and the active segment `segment`
/// is confirmed up to `segmentBytes`.
///
/// Written after every block append (`FileSystem.replace`), it is what makes recovery exact:
/// blocks past `segmentBytes` are cut, and batches after `sequence` are replayed from the log
/// (without the rows already in a block), so no acknowledged record is lost or stored twice.
///
/// Sequence numbers are the tenant's (its log, `<tenant>/_wal`, numbers the batches of all its
/// streams). A checkpoint of an older build counts in the stream's own log (`<stream>/wal`):
/// `tenantLog` is false then, and recovery replays that log into segments before it writes a
/// checkpoint in the tenant's numbers (which says that the old log is wholly in segments).
///
/// On disk (version 3): `"CKP3"`, `u8` log (1: the tenant's), `u64` sequence, `u64` partial
/// sequence (0: none), `u32` partial rows, `u64` segment bytes, `u32` next segment number, `str16`
/// segment file name, `u32` CRC-32 of everything before it. Version 2 (`"CKP2"`, without the log
/// byte) and version 1 (`"CKP1"`, without the partial batch either) are read as the stream's own log's.
public struct Checkpoint: Sendable, Equatable {
    /// Whether `sequence` and `partialSequence` are in the tenant log's numbers.
    public var tenantLog = true
    public var sequence: UInt64 = 0
    /// The batch after `sequence` whose first `partialRows` rows are in a block; 0 for none.
    public var partialSequence: UInt64 = 0
    public var partialRows: Int = 0
    /// The active segment's file name, empty when there is none.
    public var segment: String = ""
    public var segmentBytes: Int = 0
    /// The number the stream's next segment gets in its name.
    public var nextSegmentNumber: Int = 1

    public init() {}

    static let magicV1: [UInt8] = Array("CKP1".utf8)
    static let magicV2: [UInt8] = Array("CKP2".utf8)
    static let magic: [UInt8] = Array("CKP3".utf8)

    /// Rows of batch `sequence` already in a block, which its replay skips.
    public func rowsInSegments(ofBatch sequence: UInt64) -> Int {
        sequence == partialSequence ? partialRows : 0
    }

    /// Decodes a checkpoint file's bytes; throws `FormatError` naming what is wrong.
    public init(decoding bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, context: "checkpoint")
            var c = Checkpoint()
            let magic = Array(try r.bytes(4))
            guard magic == Self.magic || magic == Self.magicV2 || magic == Self.magicV1 else { throw FormatError("not a checkpoint") }
            c.tenantLog = false
            if magic == Self.magic {
                let log = try r.u8()
                guard log <= 1 else { throw FormatError("checkpoint names an unknown log (\(log))") }
                c.tenantLog = log == 1
            }
            c.sequence = try r.u64()
            if magic != Self.magicV1 {
                c.partialSequence = try r.u64()
                c.partialRows = Int(try r.u32())
            }
            c.segmentBytes = Int(try r.u64())
            c.nextSegmentNumber = Int(try r.u32())
            c.segment = String(decoding: try r.str16(), as: UTF8.self)
            let end = r.position
            guard try r.u32() == Checksum.crc32(UnsafeRawBufferPointer(rebasing: raw[0..<end])), r.isAtEnd else {
                throw FormatError("checkpoint checksum mismatch")
            }
            return c
        }
    }

    /// The checkpoint's bytes on disk.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + segment.utf8.count)
        w.append(Self.magic)
        w.u8(tenantLog ? 1 : 0)
        w.u64(sequence)
        w.u64(partialSequence)
        w.u32(UInt32(partialRows))
        w.u64(UInt64(segmentBytes))
        w.u32(UInt32(nextSegmentNumber))
        w.str16(Array(segment.utf8))
        w.u32(Checksum.crc32(w.bytes))
        return w.bytes
    }

    /// Reads the checkpoint at `path`: nil when there is none (ENOENT); any other error throws,
    /// so that an unreadable checkpoint is never mistaken for an empty one.
    public static func load(_ path: String, fileSystem: any FileSystem) throws -> Checkpoint? {
        let bytes: [UInt8]
        do {
            bytes = try fileSystem.readFile(path)
        } catch where error.isNotFound {
            return nil
        }
        return try Checkpoint(decoding: bytes)
    }
}
