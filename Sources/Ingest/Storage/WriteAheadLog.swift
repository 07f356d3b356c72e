#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Metrics
import SegmentFormat

/// The write-ahead log in front of a stream's segments: an append-only, numbered sequence of
/// batches that makes each batch durable before its append returns, so that an acknowledged
/// record survives a crash before its block reaches a segment.
///
/// **Group commit**: appends queue up while a write and `fsync` are in flight; the next round
/// writes everything queued with one `write` and one `fsync`, so concurrent requests share the
/// cost of durability. All file I/O runs on the log's own thread, never on the caller's.
///
/// **Numbering and reclaim**: each batch gets the next sequence number when it is queued, so the
/// order of the file is the order of the numbers. The log is a directory of generation files
/// (`<generation>.wal`); a new generation starts once the current one passes `rollBytes`, and
/// `reclaim(through:)` deletes the generations whose batches are all in segments.
///
/// **On disk**: a generation is a sequence of frames: `"WAL1"`, `u32` payload length, `u32` CRC-32
/// of sequence number and payload, `u64` sequence number, the payload. `replay` returns the
/// complete frames and cuts a torn last frame (a crash during a write) off the file.
///
/// A failed write (disk full) fails the batches of that round only: the file is cut back to its
/// last good frame and later rounds try again.
public final class WriteAheadLog: @unchecked Sendable {
    /// One batch read back by `replay`.
    public struct Frame: Sendable {
        public let sequence: UInt64
        public let payload: [UInt8]
    }

    /// A generation file other than the current one: its number, the last batch it holds, its size.
    public struct Generation: Sendable {
        public let number: Int
        public let lastSequence: UInt64
        public let bytes: Int
    }

    private struct Queued {
        let sequence: UInt64
        let payload: [UInt8]
        let onDurable: @Sendable (UInt64) -> Void
        let done: CheckedContinuation<UInt64, Error>
    }

    public let directory: String
    private let rollBytes: Int
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queue: [Queued] = []
    private var nextSequence: UInt64
    private var closed = false
    private var broken: FileError?
    /// Generation files other than the current one, with the last sequence number each holds.
    private var older: [Generation] = []
    private var totalOlderBytes = 0
    private var commitCount = 0
    // Owned by the log thread (and `reclaim`, under `condition`):
    private var generation: Int
    private var fd: Int32
    private var size: Int
    private var lastSequenceInCurrent: UInt64
    private var thread: Thread?
    private let fsyncTimer = Metrics.Timer(label: "segd_wal_fsync_seconds")

    static let magic: [UInt8] = Array("WAL1".utf8)
    static let frameHeaderSize = 20

    /// Opens the log in `directory` (created if needed) after `replay`: appends go to a new
    /// generation, numbered from `nextSequence`. `generations` are the files replay found, with
    /// their last sequence numbers, so that `reclaim` can delete them once they are in segments.
    public init(directory: String, nextSequence: UInt64, replayed generations: [Generation],
                rollBytes: Int = 32 << 20) throws {
        self.directory = directory
        self.rollBytes = rollBytes
        self.nextSequence = nextSequence
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        older = generations
        totalOlderBytes = generations.reduce(0) { $0 + $1.bytes }
        generation = (generations.map(\.number).max() ?? 0) + 1
        lastSequenceInCurrent = nextSequence &- 1
        size = 0
        fd = -1
        fd = try openGeneration(generation)
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "wal"
        self.thread = thread
        thread.start()
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    private func path(of generation: Int) -> String {
        (directory as NSString).appendingPathComponent(String(format: "%010d.wal", generation))
    }

    private func openGeneration(_ generation: Int) throws -> Int32 {
        let path = path(of: generation)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
        do {
            try FileWriting.syncDirectory(of: path)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Rounds of write + fsync so far (each serves every batch queued before it).
    public var commits: Int {
        condition.lock()
        defer { condition.unlock() }
        return commitCount
    }

    /// Bytes in every generation file.
    public var bytes: Int {
        condition.lock()
        defer { condition.unlock() }
        return totalOlderBytes + size
    }

    /// Appends `payload` as one batch and returns its sequence number once it is written and
    /// fsynced. `onDurable` runs on the log thread right after the fsync, before any later batch's,
    /// so callers can keep durable batches in log order. Throws `FileError` when the disk refuses.
    public func append(_ payload: [UInt8], onDurable: @escaping @Sendable (UInt64) -> Void) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<UInt64, Error>) in
            condition.lock()
            defer { condition.unlock() }
            if let broken {
                done.resume(throwing: broken)
                return
            }
            guard !closed else {
                done.resume(throwing: FileError(path: directory, message: "write-ahead log is closed"))
                return
            }
            queue.append(Queued(sequence: nextSequence, payload: payload, onDurable: onDurable, done: done))
            nextSequence += 1
            condition.signal()
        }
    }

    /// Deletes the generation files whose batches all have sequence numbers up to `sequence`
    /// (they are durable in segments now). The current generation is kept.
    public func reclaim(through sequence: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        while let first = older.first, first.lastSequence <= sequence {
            unlink(path(of: first.number))
            totalOlderBytes -= first.bytes
            older.removeFirst()
        }
    }

    /// Stops the log once everything queued is durable; returns when the thread has finished.
    public func shutdown() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }

    /// After `shutdown`, once every batch is durable in a segment: deletes every generation file.
    public func removeAll() {
        condition.lock()
        defer { condition.unlock() }
        for g in older { unlink(path(of: g.number)) }
        older.removeAll()
        totalOlderBytes = 0
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(path(of: generation))
        size = 0
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty && closed {
                condition.unlock()
                return
            }
            let batch = queue
            queue.removeAll()
            condition.unlock()

            let result = commit(batch)
            if case let .failure(error) = result {
                for item in batch { item.done.resume(throwing: error) }
                continue
            }
            for item in batch {
                item.onDurable(item.sequence)
                item.done.resume(returning: item.sequence)
            }
        }
    }

    /// Starts a new generation when the current one is full, then writes every frame of `batch`
    /// with one `write` and makes them durable with one `fsync`.
    private func commit(_ batch: [Queued]) -> Result<Void, FileError> {
        if size >= rollBytes {
            do {
                let next = try openGeneration(generation + 1)
                condition.lock()
                older.append(Generation(number: generation, lastSequence: lastSequenceInCurrent, bytes: size))
                totalOlderBytes += size
                close(fd)
                fd = next
                generation += 1
                size = 0
                condition.unlock()
            } catch let error as FileError {
                return .failure(error)
            } catch {
                return .failure(FileError(path: directory, message: "\(error)"))
            }
        }
        // Each frame's header and payload are written as they are: concatenating the payloads
        // first would copy every accepted byte once more.
        var written = 0
        let path = path(of: generation)
        do {
            for item in batch {
                let header = Self.frameHeader(sequence: item.sequence, payload: item.payload)
                try FileWriting.writeAll(fd, header, path: path)
                try FileWriting.writeAll(fd, item.payload, path: path)
                written += header.count + item.payload.count
            }
            let started = DispatchTime.now().uptimeNanoseconds
            try FileWriting.sync(fd, path: path)
            fsyncTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        } catch {
            // Cut what was half written, so the log ends on a frame boundary; if even that fails,
            // the log cannot be trusted with more frames.
            let failure = error as? FileError ?? FileError(path: path, message: "\(error)")
            if ftruncate(fd, off_t(size)) != 0 {
                condition.lock()
                broken = FileError(path: path, errno: errno)
                condition.unlock()
            }
            return .failure(failure)
        }
        condition.lock()
        size += written
        commitCount += 1
        lastSequenceInCurrent = batch.last?.sequence ?? lastSequenceInCurrent
        condition.unlock()
        return .success(())
    }

    /// `"WAL1"`, payload length, CRC-32 of sequence number and payload, sequence number.
    private static func frameHeader(sequence: UInt64, payload: [UInt8]) -> [UInt8] {
        var number = ByteWriter(capacity: 8)
        number.u64(sequence)
        var header = ByteWriter(capacity: frameHeaderSize)
        header.append(magic)
        header.u32(UInt32(payload.count))
        header.u32(number.bytes.withUnsafeBytes { n in payload.withUnsafeBytes { checksum(sequence: n, payload: $0) } })
        header.append(number.bytes)
        return header.bytes
    }

    private static func checksum(sequence: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> UInt32 {
        Checksum.crc32(payload, continuing: Checksum.crc32(sequence))
    }

    /// What `replay` found: the complete frames in order, and the generation files they came from.
    public struct Replayed: Sendable {
        public var frames: [Frame] = []
        public var generations: [Generation] = []
    }

    /// Reads every generation in `directory` (none if it does not exist), cutting a torn or
    /// damaged tail off each file so that nothing after it is mistaken for a frame.
    public static func replay(directory: String) throws -> Replayed {
        var replayed = Replayed()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let generations = names.compactMap { name -> Int? in
            guard name.hasSuffix(".wal") else { return nil }
            return Int(name.dropLast(4))
        }.sorted()
        for generation in generations {
            let path = (directory as NSString).appendingPathComponent(String(format: "%010d.wal", generation))
            let data = try SegmentData(contentsOf: path)
            let bytes = data.bytes
            var offset = 0
            var last: UInt64 = 0
            while offset < bytes.count {
                var r = ByteReader(bytes, position: offset, context: "write-ahead log")
                guard (try? r.expect(magic, "log frame")) != nil,
                      let length = try? r.u32(), let crc = try? r.u32(),
                      let sequenceBytes = try? r.bytes(8), let payload = try? r.bytes(Int(length)),
                      checksum(sequence: sequenceBytes, payload: payload) == crc
                else { break }
                var s = ByteReader(sequenceBytes, context: "sequence")
                last = (try? s.u64()) ?? 0
                replayed.frames.append(Frame(sequence: last, payload: Array(payload)))
                offset = r.position
            }
            if offset < bytes.count {
                guard truncate(path, off_t(offset)) == 0 else { throw FileError(path: path, errno: errno) }
            }
            replayed.generations.append(Generation(number: generation, lastSequence: last, bytes: offset))
        }
        return replayed
    }
}
