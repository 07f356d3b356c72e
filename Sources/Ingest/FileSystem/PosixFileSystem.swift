#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(CFileSystem)
import CFileSystem
#endif

/// The real file system: each requirement is the system call of the same name, retried on EINTR.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, _ mode: OpenMode) throws(FileSystemError) -> Int32 {
        let flags: Int32 = switch mode {
        case .read: O_RDONLY
        case .write: O_WRONLY
        case .createNew: O_WRONLY | O_CREAT | O_EXCL
        case .createOrTruncate: O_WRONLY | O_CREAT | O_TRUNC
        }
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            if errno != EINTR { throw FileSystemError(.open, path: path, code: errno) }
        }
    }

    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws(FileSystemError) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        while true {
            let n = pwrite(fd, base, bytes.count, off_t(offset))
            if n > 0 { return n }
            if n < 0 && errno == EINTR { continue }
            throw FileSystemError(.write, path: path, code: n == 0 ? EIO : errno)
        }
    }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(FileSystemError) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        while true {
            let n = pread(fd, base, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno != EINTR { throw FileSystemError(.read, path: path, code: errno) }
        }
    }

    public func sync(_ fd: Int32, path: String) throws(FileSystemError) {
        // Not retried on EINTR either: after a failed fsync the dirty pages may be gone.
        guard fsync(fd) == 0 else { throw FileSystemError(.fsync, path: path, code: errno) }
    }

    public func truncate(_ fd: Int32, to size: Int, path: String) throws(FileSystemError) {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno != EINTR { throw FileSystemError(.truncate, path: path, code: errno) }
        }
    }

    public func size(_ fd: Int32, path: String) throws(FileSystemError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystemError(.stat, path: path, code: errno) }
        return Int(st.st_size)
    }

    public func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    public func rename(_ from: String, to: String, _ mode: RenameMode) throws(FileSystemError) {
        let result = switch mode {
        case .replacing: Glibc.rename(from, to)
        case .noReplace: cfs_rename_noreplace(from, to)
        }
        guard result == 0 else { throw FileSystemError(.rename, path: to, code: errno) }
    }

    public func remove(_ path: String) throws(FileSystemError) {
        guard unlink(path) == 0 else { throw FileSystemError(.unlink, path: path, code: errno) }
    }

    public func removeDirectory(_ path: String) throws(FileSystemError) {
        guard rmdir(path) == 0 else { throw FileSystemError(.rmdir, path: path, code: errno) }
    }

    public func makeDirectory(_ path: String) throws(FileSystemError) -> Bool {
        if mkdir(path, 0o755) == 0 { return true }
        let code = errno
        if code == EEXIST, case .directory = try kind(of: path) { return false }
        throw FileSystemError(.mkdir, path: path, code: code)
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError(.syncDirectory, path: path, code: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw FileSystemError(.syncDirectory, path: path, code: errno) }
    }

    public func list(_ path: String) throws(FileSystemError) -> [String] {
        guard let dir = opendir(path) else { throw FileSystemError(.list, path: path, code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw FileSystemError(.list, path: path, code: errno) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    public func kind(of path: String) throws(FileSystemError) -> FileKind? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { return nil }
            throw FileSystemError(.stat, path: path, code: errno)
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file(size: Int(st.st_size))
        case S_IFDIR: return .directory
        default: return .other
        }
    }
}
