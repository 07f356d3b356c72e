#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocking writes that either complete or throw `FileError` naming the file: every byte written
/// (retrying short writes and EINTR), `fsync` of a file, and of the directory that holds it (which
/// makes a create or rename durable). Callers keep these off event-loop threads.
public enum FileWriting {
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    public static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws {
        guard let base = raw.baseAddress else { return }
        var done = 0
        while done < raw.count {
            let n = write(fd, base + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, errno: errno)
            }
            done += n
        }
    }

    /// Replaces the file at `path` with `bytes`, atomically and durably: written under a temporary
    /// name, fsynced, renamed over `path`, and the directory fsynced. A failure leaves the old file.
    public static func replace(_ path: String, with bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: temporary, errno: errno) }
        do {
            try writeAll(fd, bytes, path: temporary)
            try sync(fd, path: temporary)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = FileError(path: path, errno: errno)
            unlink(temporary)
            throw error
        }
        try syncDirectory(of: path)
    }

    public static func sync(_ fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw FileError(path: path, errno: errno) }
    }

    /// fsyncs the directory that holds `path`.
    public static func syncDirectory(of path: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: directory, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError(path: directory, errno: errno) }
    }
}
