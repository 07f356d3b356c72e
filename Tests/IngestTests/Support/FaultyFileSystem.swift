import Foundation
@testable import Ingest

/// The real file system with faults on demand: a chosen call on a path that contains a given text
/// fails with a chosen errno (once, or every time), a write comes back short, or a rename happens
/// and still reports an error. Every call is counted, so tests can also fail "the n-th call".
final class FaultyFileSystem: FileSystem, @unchecked Sendable {
    typealias Operation = FileSystemError.Operation

    struct Fault {
        var operation: Operation
        var path: String
        var code: Int32
        /// Matching calls let through before this fault fires.
        var skip: Int
        /// How many matching calls fail (Int.max: all of them).
        var times: Int
        /// For writes: write this many bytes and return, instead of failing.
        var shortWrite: Int?
        /// For renames: rename, then report the error.
        var afterEffect: Bool
        /// Match only paths that end with `path`.
        var suffix = false

        func matches(_ operation: Operation, _ candidate: String) -> Bool {
            guard self.operation == operation else { return false }
            return path.isEmpty || (suffix ? candidate.hasSuffix(path) : candidate.contains(path))
        }
    }

    private let real = PosixFileSystem()
    private let lock = NSLock()
    private var faults: [Fault] = []
    private var counts: [Operation: Int] = [:]
    private(set) var fired: [String] = []

    /// Fails the calls of `operation` on paths containing `path` (ending with it, with `suffix`)
    /// with `code`, after `skip` good ones.
    func fail(_ operation: Operation, path: String = "", suffix: Bool = false, code: Int32 = EIO, skip: Int = 0, times: Int = 1, afterEffect: Bool = false) {
        lock.withLock { faults.append(Fault(operation: operation, path: path, code: code, skip: skip, times: times, shortWrite: nil, afterEffect: afterEffect, suffix: suffix)) }
    }

    /// The next write on a path containing `path` writes only `bytes` bytes.
    func shortWrite(path: String, bytes: Int, skip: Int = 0) {
        lock.withLock { faults.append(Fault(operation: .write, path: path, code: 0, skip: skip, times: 1, shortWrite: bytes, afterEffect: false)) }
    }

    func heal() {
        lock.withLock { faults.removeAll() }
    }

    func count(_ operation: Operation) -> Int {
        lock.withLock { counts[operation] ?? 0 }
    }

    /// The fault for this call, if one fires.
    private func fault(_ operation: Operation, _ path: String) -> Fault? {
        lock.withLock {
            counts[operation, default: 0] += 1
            guard let i = faults.firstIndex(where: { $0.matches(operation, path) }) else { return nil }
            if faults[i].skip > 0 {
                faults[i].skip -= 1
                return nil
            }
            let f = faults[i]
            faults[i].times -= 1
            if faults[i].times <= 0 { faults.remove(at: i) }
            fired.append("\(operation.rawValue) \(path)")
            return f
        }
    }

    private func check(_ operation: Operation, _ path: String) throws(FileSystemError) {
        if let f = fault(operation, path) { throw FileSystemError(operation, path: path, code: f.code) }
    }

    func open(_ path: String, _ mode: OpenMode) throws(FileSystemError) -> Int32 {
        try check(.open, path)
        return try real.open(path, mode)
    }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws(FileSystemError) -> Int {
        if let f = fault(.write, path) {
            guard let short = f.shortWrite else { throw FileSystemError(.write, path: path, code: f.code) }
            return try real.write(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<min(short, bytes.count)]), at: offset, path: path)
        }
        return try real.write(fd, bytes, at: offset, path: path)
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(FileSystemError) -> Int {
        try check(.read, path)
        return try real.read(fd, into: buffer, at: offset, path: path)
    }

    func sync(_ fd: Int32, path: String) throws(FileSystemError) {
        try check(.fsync, path)
        try real.sync(fd, path: path)
    }

    func truncate(_ fd: Int32, to size: Int, path: String) throws(FileSystemError) {
        try check(.truncate, path)
        try real.truncate(fd, to: size, path: path)
    }

    func size(_ fd: Int32, path: String) throws(FileSystemError) -> Int {
        try check(.stat, path)
        return try real.size(fd, path: path)
    }

    func close(_ fd: Int32) {
        real.close(fd)
    }

    func rename(_ from: String, to: String, _ mode: RenameMode) throws(FileSystemError) {
        if let f = fault(.rename, to) {
            if f.afterEffect { try real.rename(from, to: to, mode) }
            throw FileSystemError(.rename, path: to, code: f.code)
        }
        try real.rename(from, to: to, mode)
    }

    func remove(_ path: String) throws(FileSystemError) {
        try check(.unlink, path)
        try real.remove(path)
    }

    func removeDirectory(_ path: String) throws(FileSystemError) {
        try check(.rmdir, path)
        try real.removeDirectory(path)
    }

    func makeDirectory(_ path: String) throws(FileSystemError) -> Bool {
        try check(.mkdir, path)
        return try real.makeDirectory(path)
    }

    func syncDirectory(_ path: String) throws(FileSystemError) {
        try check(.syncDirectory, path)
        try real.syncDirectory(path)
    }

    func list(_ path: String) throws(FileSystemError) -> [String] {
        try check(.list, path)
        return try real.list(path)
    }

    func kind(of path: String) throws(FileSystemError) -> FileKind? {
        try check(.stat, path)
        return try real.kind(of: path)
    }
}
