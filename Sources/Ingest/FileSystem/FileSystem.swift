#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system calls the storage makes, one requirement per system call, so that tests can
/// put a file system underneath that fails any call (ENOSPC, EIO, a short write, a failed fsync,
/// a failure after a rename) and check what the storage does next. `PosixFileSystem` is the real
/// one. Every call is blocking: callers run them on their own executors, never on an event loop.
///
/// Conforming types are thread-safe.
public protocol FileSystem: Sendable {
    /// Opens `path`; the descriptor is closed with `close`.
    func open(_ path: String, _ mode: OpenMode) throws(FileSystemError) -> Int32
    /// Writes up to `bytes.count` bytes at `offset` (pwrite): may write fewer; never returns 0 for
    /// a non-empty buffer without throwing.
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws(FileSystemError) -> Int
    /// Reads up to `buffer.count` bytes at `offset` (pread); 0 at the end of the file.
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(FileSystemError) -> Int
    /// fsync(2).
    func sync(_ fd: Int32, path: String) throws(FileSystemError)
    /// ftruncate(2).
    func truncate(_ fd: Int32, to size: Int, path: String) throws(FileSystemError)
    /// The file's size (fstat).
    func size(_ fd: Int32, path: String) throws(FileSystemError) -> Int
    func close(_ fd: Int32)
    /// rename(2), or renameat2 with RENAME_NOREPLACE (EEXIST when `to` exists).
    func rename(_ from: String, to: String, _ mode: RenameMode) throws(FileSystemError)
    /// unlink(2).
    func remove(_ path: String) throws(FileSystemError)
    /// rmdir(2): removes an empty directory.
    func removeDirectory(_ path: String) throws(FileSystemError)
    /// mkdir(2); false when the directory existed already.
    func makeDirectory(_ path: String) throws(FileSystemError) -> Bool
    /// Opens the directory and fsyncs it, which makes the entries created or renamed in it durable.
    func syncDirectory(_ path: String) throws(FileSystemError)
    /// The names in a directory, without "." and "..".
    func list(_ path: String) throws(FileSystemError) -> [String]
    /// What is at `path`; nil only when nothing is (ENOENT): every other error throws.
    func kind(of path: String) throws(FileSystemError) -> FileKind?
}

/// How `FileSystem.open` opens a file.
public enum OpenMode: Sendable {
    /// Read only.
    case read
    /// Write to an existing file.
    case write
    /// Create a new file for writing; EEXIST if there is one.
    case createNew
    /// Create or empty a file for writing.
    case createOrTruncate
}

/// Whether a rename may replace an existing target.
public enum RenameMode: Sendable {
    case replacing
    case noReplace
}

/// What a path names.
public enum FileKind: Sendable, Equatable {
    case file(size: Int)
    case directory
    case other
}

/// A failed file-system call: which call, on which path, and the system's error number.
public struct FileSystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case open, read, write, fsync, truncate, stat, rename, unlink, rmdir, mkdir, list
        case syncDirectory = "fsync of the directory"
    }

    public let operation: Operation
    public let path: String
    public let code: Int32

    public init(_ operation: Operation, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// Whether the call failed because nothing is at the path, the one error that means absence.
    public var isNotFound: Bool { code == ENOENT }

    /// Whether the call failed for want of space (ENOSPC, EDQUOT), which freeing space ends.
    public var isOutOfSpace: Bool { code == ENOSPC || code == EDQUOT }

    public var description: String { "\(path): \(operation.rawValue) failed: \(String(cString: strerror(code)))" }
}

extension FileSystem {
    /// Writes every byte of `bytes` at `offset`, retrying short writes; throws on the first error
    /// (the bytes before it may have been written).
    public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws(FileSystemError) {
        var done = 0
        while done < bytes.count {
            done += try write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), at: offset + done, path: path)
        }
    }

    /// Reads the whole file at `path`.
    public func readFile(_ path: String) throws(FileSystemError) -> [UInt8] {
        let fd = try open(path, .read)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: try size(fd, path: path))
        var done = 0
        while done < bytes.count {
            let n = try bytes.withMutableFileBytes { (raw) throws(FileSystemError) -> Int in
                try read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), at: done, path: path)
            }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }

    /// Creates `path` and every missing parent, fsyncing each new directory into its parent, so
    /// that a crash never loses a directory that files were then written into.
    public func makeDirectories(_ path: String) throws(FileSystemError) {
        if case .directory = try kind(of: path) { return }
        let parent = FileSystemPath.parent(of: path)
        if parent != path { try makeDirectories(parent) }
        if try makeDirectory(path) { try syncDirectory(parent) }
    }

    /// Removes `path`; true if it was there.
    @discardableResult
    public func removeIfPresent(_ path: String) throws(FileSystemError) -> Bool {
        do throws(FileSystemError) {
            try remove(path)
            return true
        } catch where error.isNotFound {
            return false
        }
    }
}

/// Paths as the storage builds them: plain strings joined with "/".
public enum FileSystemPath {
    /// The directory that holds `path`.
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of `path`.
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws `FileSystemError` (the standard one rethrows untyped).
    func withFileBytes<R>(_ body: (UnsafeRawBufferPointer) throws(FileSystemError) -> R) throws(FileSystemError) -> R {
        let result = withUnsafeBytes { raw in Result { () throws(FileSystemError) -> R in try body(raw) } }
        return try result.get()
    }

    /// `withUnsafeMutableBytes` for a body that throws `FileSystemError`.
    mutating func withMutableFileBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(FileSystemError) -> R) throws(FileSystemError) -> R {
        let result = withUnsafeMutableBytes { raw in Result { () throws(FileSystemError) -> R in try body(raw) } }
        return try result.get()
    }
}
