import Foundation
import SegmentFormat

/// What a stream's segments hold for certain: every write-ahead-log batch up to `sequence` is in a
/// block of a segment, and the active segment `segment` is confirmed up to `segmentBytes`.
///
/// Written after every block append (write to a temporary file, fsync, rename, fsync the
/// directory), it is what makes recovery exact: blocks past `segmentBytes` are cut, and batches
/// after `sequence` are replayed from the log, so no acknowledged record is lost or stored twice.
///
/// On disk: `"CKP1"`, `u64` sequence, `u64` segment bytes, `u32` next segment number, `str16`
/// segment file name, `u32` CRC-32 of everything before it.
public struct Checkpoint: Sendable, Equatable {
    public var sequence: UInt64 = 0
    /// The active segment's file name, empty when there is none.
    public var segment: String = ""
    public var segmentBytes: Int = 0
    /// The number the stream's next segment gets in its name.
    public var nextSegmentNumber: Int = 1

    public init() {}

    static let magic: [UInt8] = Array("CKP1".utf8)

    /// Reads the checkpoint at `path`; a missing file is the empty checkpoint.
    public static func load(path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { return Checkpoint() }
        let data = try SegmentData(contentsOf: path)
        var r = ByteReader(data.bytes, context: "checkpoint \(path)")
        var c = Checkpoint()
        try r.expect(magic, "checkpoint")
        c.sequence = try r.u64()
        c.segmentBytes = Int(try r.u64())
        c.nextSegmentNumber = Int(try r.u32())
        c.segment = String(decoding: try r.str16(), as: UTF8.self)
        let end = r.position
        guard try r.u32() == Checksum.crc32(UnsafeRawBufferPointer(rebasing: data.bytes[0..<end])) else {
            throw FileError(path: path, message: "checkpoint checksum mismatch")
        }
        return c
    }

    /// Replaces the checkpoint at `path` atomically and durably.
    public func save(path: String) throws {
        var w = ByteWriter(capacity: 64 + segment.utf8.count)
        w.append(Self.magic)
        w.u64(sequence)
        w.u64(UInt64(segmentBytes))
        w.u32(UInt32(nextSegmentNumber))
        w.str16(Array(segment.utf8))
        w.u32(Checksum.crc32(w.bytes))
        try FileWriting.replace(path, with: w.bytes)
    }
}
