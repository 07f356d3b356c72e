#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SegmentFormat

/// An append-only log of batches that makes each batch durable before its append returns:
/// the write-ahead log in front of a stream's segment, so that an acknowledged record survives a
/// crash before its block reaches the segment.
///
/// **Group commit**: appends queue up while a write and `fsync` are in flight; the next round
/// writes everything queued with one `write` and one `fsync`, so concurrent requests share the
/// cost of durability. All file I/O runs on the log's own thread, never on the caller's (an
/// event loop's) thread.
///
/// On disk, a log is a sequence of frames: `"WAL1"`, `u32` payload length, `u32` CRC-32 of the
/// payload, the payload. `replay` returns the payloads of the complete frames and cuts a torn
/// last frame (a crash during a write) off the file.
///
/// Thread-safe: `append` may be called from any task.
public final class WriteAheadLog: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var pending: [(frame: [UInt8], done: CheckedContinuation<Void, Error>)] = []
    private var closed = false
    private var failure: FileError?
    /// Guarded by `condition`: bytes durable so far, and rounds of write + fsync done.
    public private(set) var durableBytes: Int
    public private(set) var commits = 0
    private var thread: Thread?

    static let magic: [UInt8] = Array("WAL1".utf8)
    static let frameHeaderSize = 12

    /// Opens (creating if needed) the log at `path` for appending after its last complete frame.
    /// Call `replay` first to read what it holds.
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw FileError(path: path, errno: errno)
        }
        durableBytes = Int(st.st_size)
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "wal"
        self.thread = thread
        thread.start()
    }

    deinit { close(fd) }

    /// Appends `payload` as one frame; returns once it is written and fsynced.
    /// Throws `FileError` when the disk refuses (full, I/O error); the log is then closed.
    public func append(_ payload: [UInt8]) async throws {
        var frame = ByteWriter(capacity: payload.count + Self.frameHeaderSize)
        frame.append(Self.magic)
        frame.u32(UInt32(payload.count))
        frame.u32(Checksum.crc32(payload))
        frame.append(payload)
        let bytes = frame.bytes
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            condition.lock()
            defer { condition.unlock() }
            if let failure {
                done.resume(throwing: failure)
                return
            }
            guard !closed else {
                done.resume(throwing: FileError(path: path, message: "write-ahead log is closed"))
                return
            }
            pending.append((bytes, done))
            condition.signal()
        }
    }

    /// Stops the log thread once everything queued is durable.
    public func shutdown() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }

    /// Truncates the log to empty (its batches are durable elsewhere now).
    public func reset() throws {
        condition.lock()
        defer { condition.unlock() }
        guard ftruncate(fd, 0) == 0, fsync(fd) == 0 else { throw FileError(path: path, errno: errno) }
        durableBytes = 0
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty && closed {
                condition.unlock()
                return
            }
            let batch = pending
            pending.removeAll()
            condition.unlock()

            let result = commit(batch.map(\.frame))
            condition.lock()
            switch result {
            case let .success(bytes):
                durableBytes += bytes
                commits += 1
            case let .failure(error):
                failure = error
                closed = true
            }
            condition.unlock()
            for item in batch {
                switch result {
                case .success: item.done.resume()
                case let .failure(error): item.done.resume(throwing: error)
                }
            }
        }
    }

    /// One write of every frame, then one fsync.
    private func commit(_ frames: [[UInt8]]) -> Result<Int, FileError> {
        var all: [UInt8] = []
        all.reserveCapacity(frames.reduce(0) { $0 + $1.count })
        for f in frames { all.append(contentsOf: f) }
        do {
            try FileWriting.writeAll(fd, all, path: path)
            try FileWriting.sync(fd, path: path)
        } catch let error as FileError {
            // Cut what was half written, so the log ends on a frame boundary.
            _ = ftruncate(fd, off_t(durableBytes))
            return .failure(error)
        } catch {
            _ = ftruncate(fd, off_t(durableBytes))
            return .failure(FileError(path: path, message: "\(error)"))
        }
        return .success(all.count)
    }

    /// The payloads of the complete frames of the log at `path` (none if it does not exist),
    /// cutting a torn or damaged tail off the file so that appends continue after the last good
    /// frame.
    public static func replay(path: String) throws -> [[UInt8]] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data = try SegmentData(contentsOf: path)
        var payloads: [[UInt8]] = []
        var offset = 0
        let bytes = data.bytes
        while offset < bytes.count {
            var r = ByteReader(bytes, position: offset, context: "write-ahead log")
            guard (try? r.expect(magic, "log frame")) != nil,
                  let length = try? r.u32(), let crc = try? r.u32(),
                  let payload = try? r.bytes(Int(length)), Checksum.crc32(payload) == crc
            else { break }
            payloads.append(Array(payload))
            offset = r.position
        }
        if offset < bytes.count {
            guard truncate(path, off_t(offset)) == 0 else { throw FileError(path: path, errno: errno) }
        }
        return payloads
    }
}
