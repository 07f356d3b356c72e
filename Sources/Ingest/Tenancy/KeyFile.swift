#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SegmentFormat

/// The idempotency key file on disk: read whole at start, appended to and fsynced, or replaced
/// atomically. After a failed write or fsync the open descriptor is never trusted again: the
/// owner must `replace` (fsyncgate: Linux may drop the dirty pages of a failed fsync and report
/// success on the next one). Not thread-safe: `IdempotencyStore` serializes its I/O.
///
/// Written against `FileWriting`; moves onto the storage layer's durable-file primitive once that
/// exists (the same three operations: load, append-and-sync, replace).
struct KeyFile {
    let path: String
    private var fd: Int32 = -1

    init(path: String) {
        self.path = path
    }

    /// What `load` found.
    struct Loaded {
        /// Complete lines (without their newline).
        var lines: [ArraySlice<UInt8>]
        /// False when the file cannot simply be appended to (a torn tail that could not be cut).
        var appendable: Bool
    }

    /// Reads the file; a missing file is empty, any other error throws. A torn last line (no
    /// newline) is ignored and cut off, so that appends start on a line of their own.
    mutating func load() throws -> Loaded {
        let readFD = open(path, O_RDONLY | O_CLOEXEC)
        if readFD < 0 {
            if errno == ENOENT { return Loaded(lines: [], appendable: true) }
            throw FileError(path: path, errno: errno)
        }
        defer { close(readFD) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        let complete = (bytes.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        var appendable = true
        if complete < bytes.count {
            // Shrinking needs no free space; if even that fails, the owner rewrites the file.
            appendable = truncate(path, off_t(complete)) == 0
        }
        let lines = bytes[0..<complete].split(separator: 0x0A)
        if appendable {
            fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            appendable = fd >= 0
        }
        return Loaded(lines: lines, appendable: appendable)
    }

    /// Appends `bytes` and fsyncs. After a throw, the descriptor is closed: call `replace`.
    mutating func append(_ bytes: [UInt8]) throws {
        if fd < 0 {
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileError(path: path, errno: errno) }
            try FileWriting.syncDirectory(of: path)
        }
        do {
            try FileWriting.writeAll(fd, bytes, path: path)
            try FileWriting.sync(fd, path: path)
        } catch {
            close(fd)
            fd = -1
            throw error
        }
    }

    /// Replaces the file with `bytes` (temporary file, fsync, rename, directory fsync) and opens
    /// the new one for appending. A throw means "not replaced" or "replaced, durability unknown";
    /// either way the owner rewrites again later.
    mutating func replace(with bytes: [UInt8]) throws {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        try FileWriting.replace(path, with: bytes)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
    }
}
