#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One segd per data directory: an exclusive `flock` on `<data-dir>/.lock`, held for the life of
/// the process (the kernel drops it when the process dies, even by SIGKILL), with the holder's pid
/// written in the file so that a second instance can say who holds it.
struct DataDirectoryLock {
    struct Held: Error, CustomStringConvertible {
        let description: String
    }

    private let fd: Int32

    /// Takes the lock, or throws `Held` naming the directory and the holder's pid.
    init(dataDirectory: String) throws {
        let path = dataDirectory + "/.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Held(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var holder = [UInt8](repeating: 0, count: 32)
            let n = holder.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
            let pid = n > 0 ? String(decoding: holder[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
            if reason == EWOULDBLOCK {
                throw Held(description: "the data directory \(dataDirectory) is in use by another segd (pid \(pid)); one node per data directory")
            }
            throw Held(description: "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        // Best effort: the pid is only for the message above.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }
}
