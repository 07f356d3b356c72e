#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only file that knows how much of itself is durable: the primitive under every
/// durable path of the storage (write-ahead log generations, segment appends, the seal).
///
/// `append` writes at the end; on a failed or short write the file is cut back to where the
/// append started, so it always ends on a boundary the owner chose. `sync` makes everything
/// appended durable. After a failed `fsync` the file is **poisoned** for good: Linux may have
/// dropped the dirty pages and a later fsync can succeed without writing them (fsyncgate), so a
/// poisoned file takes no more writes or syncs, and its owner rewrites what must be durable into a
/// new file from memory, or stops. A file whose cut-back fails is poisoned the same way: its end
/// is no longer known.
///
/// Not thread-safe: one owner (an actor or a serial executor) uses it.
public final class DurableFile {
    public let path: String
    private let fileSystem: any FileSystem
    private var fd: Int32
    /// Bytes in the file as far as its owner knows: every append that returned.
    public private(set) var size: Int
    /// Bytes made durable by the last successful `sync`.
    public private(set) var durableSize: Int
    /// Why the file takes no more writes, once it does not.
    public private(set) var poison: FileSystemError?

    /// Creates a new, empty file at `path` (EEXIST if one is there) and makes its directory entry
    /// durable.
    public static func create(_ path: String, fileSystem: any FileSystem) throws(FileSystemError) -> DurableFile {
        let fd = try fileSystem.open(path, .createNew)
        let file = DurableFile(path: path, fd: fd, size: 0, fileSystem: fileSystem)
        do throws(FileSystemError) {
            try fileSystem.syncDirectory(FileSystemPath.parent(of: path))
        } catch {
            file.close()
            try? fileSystem.remove(path)
            throw error
        }
        return file
    }

    /// Opens the existing file at `path`, cuts it to `size` bytes and makes that durable: how
    /// recovery resumes a file a crash left behind.
    public static func resume(_ path: String, at size: Int, fileSystem: any FileSystem) throws(FileSystemError) -> DurableFile {
        let fd = try fileSystem.open(path, .write)
        let file = DurableFile(path: path, fd: fd, size: size, fileSystem: fileSystem)
        do throws(FileSystemError) {
            try fileSystem.truncate(fd, to: size, path: path)
            try fileSystem.sync(fd, path: path)
        } catch {
            file.close()
            throw error
        }
        file.durableSize = size
        return file
    }

    private init(path: String, fd: Int32, size: Int, fileSystem: any FileSystem) {
        self.path = path
        self.fd = fd
        self.size = size
        self.durableSize = 0
        self.fileSystem = fileSystem
    }

    deinit { close() }

    public var isPoisoned: Bool { poison != nil }

    /// Appends `bytes` (not yet durable: call `sync`). On failure the file is cut back to its
    /// size before the call, or poisoned if even that fails; either way the error is thrown.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(FileSystemError) {
        try checkUsable()
        do throws(FileSystemError) {
            try fileSystem.writeAll(fd, bytes, at: size, path: path)
        } catch {
            cutBack(to: size)
            throw error
        }
        size += bytes.count
    }

    public func append(_ bytes: [UInt8]) throws(FileSystemError) {
        try bytes.withFileBytes { (raw) throws(FileSystemError) in try append(raw) }
    }

    /// Makes every appended byte durable; a failure poisons the file.
    public func sync() throws(FileSystemError) {
        try checkUsable()
        do throws(FileSystemError) {
            try fileSystem.sync(fd, path: path)
        } catch {
            poison = error
            throw error
        }
        durableSize = size
    }

    /// Cuts the file back to `newSize` (at most `size`): takes back appends that were never
    /// confirmed. A failure poisons the file.
    public func truncate(to newSize: Int) throws(FileSystemError) {
        try checkUsable()
        precondition(newSize <= size, "a durable file only shrinks")
        do throws(FileSystemError) {
            try fileSystem.truncate(fd, to: newSize, path: path)
        } catch {
            poison = error
            throw error
        }
        size = newSize
        durableSize = min(durableSize, newSize)
    }

    /// Closes the descriptor; later calls throw EBADF.
    public func close() {
        guard fd >= 0 else { return }
        fileSystem.close(fd)
        fd = -1
    }

    private func checkUsable() throws(FileSystemError) {
        if let poison { throw poison }
        guard fd >= 0 else { throw FileSystemError(.write, path: path, code: EBADF) }
    }

    private func cutBack(to target: Int) {
        do throws(FileSystemError) {
            try fileSystem.truncate(fd, to: target, path: path)
        } catch {
            poison = error
        }
    }
}
