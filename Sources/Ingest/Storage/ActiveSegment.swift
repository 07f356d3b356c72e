#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SegmentFormat

/// The segment a stream is appending to. Each encoded block is appended and fsynced; `seal`
/// writes the footer, fsyncs, and renames the file into the stream's `rotated/` directory.
/// After a crash, `recover` reopens the file, keeps every complete block, cuts the torn rest,
/// and appends after it (a file that was already sealed is just moved into `rotated/`).
///
/// Blocking file I/O: callers run it on an I/O thread, never on an event loop. Not thread-safe.
public final class ActiveSegment {
    public let path: String
    private var writer: SegmentWriter
    private var fd: Int32
    /// The writer before the last append, for `undoLastAppend`.
    private var previous: SegmentWriter?

    /// Facts about a sealed segment, for the archival hooks.
    public struct Sealed: Sendable, Equatable {
        public let path: String
        public let rows: Int
        public let timeRange: ClosedRange<Int64>?
    }

    /// Creates a new segment file at `path` with `header` written and fsynced.
    public init(creating path: String, header: SegmentHeader) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
        writer = SegmentWriter(header: header)
        do {
            try FileWriting.writeAll(fd, writer.headerBytes, path: path)
            try FileWriting.sync(fd, path: path)
            try FileWriting.syncDirectory(of: path)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    private init(path: String, fd: Int32, writer: SegmentWriter) {
        self.path = path
        self.fd = fd
        self.writer = writer
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// What `recover` found.
    public enum Recovered {
        /// An unsealed segment, ready for more blocks (its torn tail cut off).
        case active(ActiveSegment)
        /// A segment that was sealed but not yet moved: now moved into `rotated`.
        case sealed(Sealed)
    }

    /// Reopens the segment a crashed writer left at `path`. With `keepingBytes`, blocks that end
    /// past that size are cut too (the checkpoint says they were never confirmed, and the
    /// write-ahead log still holds their records).
    public static func recover(path: String, rotatedDirectory: String, keepingBytes: Int? = nil) throws -> Recovered {
        let reader = try SegmentReader(path: path)
        if reader.isSealed {
            return .sealed(try moveSealed(path, reader: reader, into: rotatedDirectory))
        }
        var writer = SegmentWriter(resuming: reader)
        if let keepingBytes {
            writer.dropBlocks(endingAfter: keepingBytes)
        }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
        guard ftruncate(fd, off_t(writer.size)) == 0, lseek(fd, off_t(writer.size), SEEK_SET) >= 0 else {
            close(fd)
            throw FileError(path: path, errno: errno)
        }
        try FileWriting.sync(fd, path: path)
        let segment = ActiveSegment(path: path, fd: fd, writer: writer)
        // A segment an older version of segd began is sealed as it is: new blocks are encoded for the
        // current format version, which its header does not announce.
        if writer.header.version != FormatConstants.formatVersion {
            return .sealed(try segment.seal(into: rotatedDirectory))
        }
        return .active(segment)
    }

    /// Bytes in the file: the header and every block (the footer comes with `seal`).
    public var size: Int { writer.size }
    public var rowCount: Int { writer.rowCount }
    public var blockCount: Int { writer.blocks.count }
    public var timeRange: ClosedRange<Int64>? { writer.timeRange }
    public var created: Int64 { writer.header.created }

    /// Appends `block` and makes it durable. On failure the file is cut back to its last block.
    public func append(_ block: BlockEncoder.EncodedBlock) throws {
        let before = writer.size
        var next = writer
        let bytes = next.append(block)
        do {
            try FileWriting.writeAll(fd, bytes, path: path)
            try FileWriting.sync(fd, path: path)
        } catch {
            _ = ftruncate(fd, off_t(before))
            _ = lseek(fd, off_t(before), SEEK_SET)
            throw error
        }
        previous = writer
        writer = next
    }

    /// Cuts the block the last `append` wrote (its checkpoint could not be written).
    public func undoLastAppend() throws {
        guard let previous else { return }
        guard ftruncate(fd, off_t(previous.size)) == 0, lseek(fd, off_t(previous.size), SEEK_SET) >= 0 else {
            throw FileError(path: path, errno: errno)
        }
        writer = previous
        self.previous = nil
    }

    /// Writes the footer, fsyncs, and moves the file into `directory` (created if needed).
    /// If the footer cannot be written, the file is cut back and stays active.
    public func seal(into directory: String) throws -> Sealed {
        do {
            try FileWriting.writeAll(fd, writer.footer(), path: path)
            try FileWriting.sync(fd, path: path)
        } catch {
            _ = ftruncate(fd, off_t(writer.size))
            _ = lseek(fd, off_t(writer.size), SEEK_SET)
            throw error
        }
        close(fd)
        fd = -1
        let reader = try SegmentReader(path: path)
        return try Self.moveSealed(path, reader: reader, into: directory)
    }

    private static func moveSealed(_ path: String, reader: SegmentReader, into directory: String) throws -> Sealed {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = (directory as NSString).appendingPathComponent((path as NSString).lastPathComponent)
        guard rename(path, target) == 0 else { throw FileError(path: target, errno: errno) }
        try FileWriting.syncDirectory(of: target)
        try FileWriting.syncDirectory(of: path)
        return Sealed(path: target, rows: reader.rowCount, timeRange: reader.timeRange)
    }
}

