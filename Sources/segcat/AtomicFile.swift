import Foundation
import SegmentFormat

/// A file written under a temporary name beside its destination and renamed into place only when
/// complete and fsynced, so a failed or interrupted write leaves nothing behind under the real name.
final class AtomicFile {
    let path: String
    let temporaryPath: String
    private var fd: Int32

    init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial").path
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
    }

    func write(_ bytes: [UInt8]) throws {
        try FileWriting.writeAll(fd, bytes, path: path)
    }

    /// Flushes to disk and moves the file into place.
    func commit() throws {
        try FileWriting.sync(fd, path: path)
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else { throw FileError(path: path, errno: errno) }
    }

    /// Removes the temporary file (after a failure).
    func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(temporaryPath)
    }

    deinit {
        if fd >= 0 { discard() }
    }
}
