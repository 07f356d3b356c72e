#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one segment file, memory-mapped (or held in memory for stdin and tests).
///
/// Immutable once made, so it is safe to share across threads; the mapping lives as long as the
/// object. Readers borrow `bytes` and must not keep the pointer past the object's lifetime.
public final class SegmentData: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    private let mapped: Bool

    /// Takes a copy of `array`.
    public init(_ array: [UInt8]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(array.count, 1), alignment: 16)
        array.withUnsafeBytes { src in
            if let s = src.baseAddress, let d = buffer.baseAddress { d.copyMemory(from: s, byteCount: src.count) }
        }
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<array.count])
        mapped = false
    }

    /// Maps the file at `path` read-only; throws `FileError` naming the path when it cannot.
    public init(contentsOf path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError(path: path, errno: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw FileError(path: path, message: "not a regular file") }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            mapped = false
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw FileError(path: path, errno: errno)
        }
        _ = madvise(base, size, MADV_SEQUENTIAL)
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        mapped = true
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}

/// A file that could not be opened, read or written, with its path and the system's reason.
public struct FileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public init(path: String, errno code: Int32) {
        self.init(path: path, message: String(cString: strerror(code)))
    }

    public var description: String { "\(path): \(message)" }
}
