import Dispatch
import Foundation
import Logging
import Metrics
import SegmentFormat

/// The write-ahead log in front of one tenant's streams (`<tenant>/_wal`): an append-only,
/// numbered sequence of batches, each tagged with its stream, that makes each batch durable before
/// its append returns, so that an acknowledged record survives a crash before its block reaches a
/// segment. Layout: `LogFormat`.
///
/// **Group commit**: appends queue up while a write and fsync are in flight; the next round
/// writes everything queued, for every stream of the tenant, and makes it durable with one fsync,
/// so concurrent requests share the cost of durability however they spread over streams. The log
/// is an actor on its own serial executor: file I/O never runs on the caller's thread. One log per
/// tenant keeps one tenant's fsyncs from ever delaying another's.
///
/// **Numbering and reclaim**: each batch gets the tenant's next sequence number when it is
/// queued, so the order of the file is the order of the numbers. A new generation file starts
/// past `rollBytes`. Each stream confirms (`confirm`) the batches its segments hold for certain;
/// the oldest generation is deleted once every stream that has batches in it has confirmed them
/// (generations go oldest first: a generation's valid end is recorded in the next one's header).
/// Numbers continue from the largest a previous run left (frames, generation headers, checkpoints).
///
/// **Failures**: a failed write fails its round's batches only (the file is cut back to its last
/// good frame). A failed fsync poisons the generation (`DurableFile`): the round fails, so do the
/// batches queued behind it, and the next round starts a new generation whose header records
/// where the old one's durable frames end, so replay never mistakes the rest for batches.
actor WriteAheadLog {
    /// A generation file other than the current one: its number, the last batch of each stream it
    /// holds, its size.
    struct Generation: Sendable, Equatable {
        var number: Int
        var lastSequences: [String: UInt64]
        var bytes: Int
    }

    private struct Queued {
        let sequence: UInt64
        let stream: String
        let payload: [UInt8]
        let onDurable: @Sendable (UInt64) -> Void
        let done: CheckedContinuation<UInt64, Error>
    }

    /// Why an append was not made durable.
    enum Failure: Error, CustomStringConvertible {
        case closed
        case storage(FileSystemError)

        var description: String {
            switch self {
            case .closed: "the write-ahead log is closed"
            case let .storage(error): "\(error)"
            }
        }
    }

    nonisolated let directory: String
    private nonisolated let executor: SerialQueueExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private let fileSystem: any FileSystem
    private let rollBytes: Int
    private var queue: [Queued] = []
    private var roundScheduled = false
    private var closed = false
    private var nextSequence: UInt64
    private var older: [Generation]
    private var current: DurableFile?
    private var currentNumber: Int
    /// The last batch of each stream in the current generation.
    private var lastInCurrent: [String: UInt64] = [:]
    /// Per stream, the batch up to which its segments hold everything (`confirm`).
    private var confirmed: [String: UInt64] = [:]
    /// The previous generation's valid length, for the header of the next file (a poisoned
    /// current file is abandoned at its durable size).
    private var endOfAbandoned: Int?
    private let sizes: LogSizes
    private let fsyncTimer = Metrics.Timer(label: "segd_wal_fsync_seconds")
    private let logger: Logger

    /// Opens the log in `directory` after recovery: appends go to a new generation numbered
    /// `nextGeneration`, sequence numbers continue at `nextSequence`, and `generations` are the
    /// files a previous run left, deleted once their streams `confirm` them.
    init(directory: String, fileSystem: any FileSystem, nextSequence: UInt64, nextGeneration: Int,
         generations: [Generation], rollBytes: Int, label: String, logger: Logger = Logger(label: "segd")) throws(FileSystemError) {
        self.directory = directory
        self.logger = logger
        self.fileSystem = fileSystem
        self.rollBytes = rollBytes
        self.nextSequence = nextSequence
        older = generations
        currentNumber = nextGeneration
        executor = SerialQueueExecutor(label: "segd.wal.\(label)")
        sizes = LogSizes(older: generations.reduce(0) { $0 + $1.bytes })
        current = try Self.startGeneration(after: generations.last.map { ($0.number, $0.bytes) }, atLeast: nextGeneration,
                                           firstSequence: nextSequence, directory: directory, fileSystem: fileSystem)
        currentNumber = current.map { LogFormat.generation(ofFile: FileSystemPath.name(of: $0.path)) ?? nextGeneration } ?? nextGeneration
        sizes.setCurrent(LogFormat.headerSize)
    }

    /// Creates the next generation file, numbered `atLeast` or the first free number after it,
    /// with its header durable; the header names the previous generation and its valid length.
    /// A file that could not be set up is removed again.
    private static func startGeneration(after previous: (number: Int, end: Int)?, atLeast number: Int, firstSequence: UInt64,
                                        directory: String, fileSystem: any FileSystem) throws(FileSystemError) -> DurableFile {
        var number = number
        while true {
            let path = directory + "/" + LogFormat.fileName(number)
            let file: DurableFile
            do throws(FileSystemError) {
                file = try DurableFile.create(path, fileSystem: fileSystem)
            } catch {
                // A file left by an earlier try that could not be removed: take the next number.
                guard error.code == EEXIST, number < Int(Int32.max) else { throw error }
                number += 1
                continue
            }
            let header = LogFormat.GenerationHeader(generation: number, firstSequence: firstSequence,
                                                    previousGeneration: previous?.number ?? 0, previousEnd: previous?.end)
            do throws(FileSystemError) {
                try file.append(LogFormat.encode(header))
                try file.sync()
            } catch {
                file.close()
                _ = try? fileSystem.removeIfPresent(path)
                throw error
            }
            return file
        }
    }

    /// Bytes in every generation file; readable from any thread (metrics).
    nonisolated var bytes: Int { sizes.total }

    /// Rounds of write + fsync so far.
    nonisolated var commits: Int { sizes.commits }

    /// Appends `payload` as one batch of `stream` and returns its sequence number once it is
    /// written and fsynced. `onDurable` runs on the log's executor right after the fsync, before
    /// any later batch's, so callers can keep durable batches in log order; it must only hand the
    /// batch on.
    func append(_ payload: [UInt8], stream: String, onDurable: @escaping @Sendable (UInt64) -> Void) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<UInt64, Error>) in
            guard !closed else {
                done.resume(throwing: Failure.closed)
                return
            }
            queue.append(Queued(sequence: nextSequence, stream: stream, payload: payload, onDurable: onDurable, done: done))
            nextSequence += 1
            scheduleRound()
        }
    }

    private func scheduleRound() {
        guard !roundScheduled else { return }
        roundScheduled = true
        Task { self.round() }
    }

    /// One group commit: everything queued, one fsync. Appends that arrive meanwhile wait as jobs
    /// on the executor and join the next round.
    private func round() {
        roundScheduled = false
        let batch = queue
        queue.removeAll()
        guard !batch.isEmpty else { return }
        do throws(FileSystemError) {
            try commit(batch)
        } catch {
            logger.error("write-ahead log round failed; its requests get 503", metadata: ["batches": "\(batch.count)", "error": "\(error)"])
            for item in batch { item.done.resume(throwing: Failure.storage(error)) }
            if current?.isPoisoned == true {
                abandonCurrent()
                // The batches behind a poisoned file are failed too, never written after it.
                for item in queue { item.done.resume(throwing: Failure.storage(error)) }
                queue.removeAll()
            }
            return
        }
        for item in batch { item.onDurable(item.sequence) }
        for item in batch { item.done.resume(returning: item.sequence) }
        if !queue.isEmpty { scheduleRound() }
    }

    private func commit(_ batch: [Queued]) throws(FileSystemError) {
        if current == nil || current!.size >= rollBytes { try roll(firstSequence: batch[0].sequence) }
        guard let file = current else { return }
        // A round is all or nothing: a failure cuts the file back to where the round began, so
        // no frame header is left without its payload (or the file is poisoned).
        let start = file.size
        do throws(FileSystemError) {
            try write(batch, to: file)
        } catch {
            if !file.isPoisoned && file.size > start { try? file.truncate(to: start) }
            throw error
        }
        let started = DispatchTime.now().uptimeNanoseconds
        try file.sync()
        fsyncTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        for item in batch { lastInCurrent[item.stream] = item.sequence }
        sizes.setCurrent(file.size)
        sizes.countCommit()
    }

    private func write(_ batch: [Queued], to file: DurableFile) throws(FileSystemError) {
        for item in batch {
            // Header and payload are written as they are: joining them would copy every accepted byte again.
            try item.payload.withFileBytes { (payload) throws(FileSystemError) in
                try file.append(LogFormat.tenantFrameHead(sequence: item.sequence, stream: Array(item.stream.utf8), payload: payload))
                try file.append(payload)
            }
        }
    }

    /// Starts the next generation; the current one (if any) becomes an older one.
    private func roll(firstSequence: UInt64) throws(FileSystemError) {
        let previous = (number: currentNumber, end: endOfAbandoned ?? current?.durableSize ?? 0)
        let next = try Self.startGeneration(after: previous, atLeast: currentNumber + 1, firstSequence: firstSequence,
                                            directory: directory, fileSystem: fileSystem)
        if let file = current {
            older.append(Generation(number: currentNumber, lastSequences: lastInCurrent, bytes: file.durableSize))
            file.close()
        }
        lastInCurrent = [:]
        current = next
        currentNumber = LogFormat.generation(ofFile: FileSystemPath.name(of: next.path)) ?? currentNumber + 1
        endOfAbandoned = nil
        sizes.rolled(olderBytes: older.reduce(0) { $0 + $1.bytes }, current: next.size)
    }

    /// Gives up a poisoned current file: its durable frames stay for replay and reclaim, the rest
    /// is marked as never written by the next generation's header.
    private func abandonCurrent() {
        guard let file = current else { return }
        older.append(Generation(number: currentNumber, lastSequences: lastInCurrent, bytes: file.durableSize))
        lastInCurrent = [:]
        endOfAbandoned = file.durableSize
        file.close()
        current = nil
        sizes.rolled(olderBytes: older.reduce(0) { $0 + $1.bytes }, current: 0)
    }

    /// Records that `stream`'s segments hold every batch of it up to `sequence` for certain, and
    /// deletes the oldest generations whose batches are all confirmed by their streams. The
    /// current generation is kept.
    func confirm(stream: String, through sequence: UInt64) {
        confirmed[stream] = max(confirmed[stream] ?? 0, sequence)
        deleteConfirmed()
    }

    private func deleteConfirmed() {
        var removed = false
        while let first = older.first, first.lastSequences.allSatisfy({ confirmed[$0.key] ?? 0 >= $0.value }) {
            do {
                try fileSystem.removeIfPresent(directory + "/" + LogFormat.fileName(first.number))
            } catch {
                logger.warning("cannot delete a reclaimed write-ahead log generation; will retry", metadata: ["error": "\(error)"])
                break
            }
            older.removeFirst()
            removed = true
        }
        if removed { sizes.rolled(olderBytes: older.reduce(0) { $0 + $1.bytes }, current: current?.size ?? 0) }
    }

    /// Stops taking appends; returns once every batch queued before is durable or failed.
    func close() {
        closed = true
        if !queue.isEmpty { round() }
    }

    /// After `close`, once the streams have confirmed what their segments hold: ends the current
    /// generation (if it holds batches) and deletes every generation whose batches are all
    /// confirmed. Returns whether the log is empty now (one empty generation carries the numbering
    /// on); the generations of a stream that did not confirm are kept for the next start.
    func finish() throws(FileSystemError) -> Bool {
        if let file = current, file.size > LogFormat.headerSize { try roll(firstSequence: nextSequence) }
        if current == nil { try roll(firstSequence: nextSequence) }
        deleteConfirmed()
        return older.isEmpty
    }
}

/// The log's sizes and commit count, readable from any thread without waiting for the log.
final class LogSizes: @unchecked Sendable {
    private let lock = NSLock()
    private var older: Int
    private var current = 0
    private var commitCount = 0

    init(older: Int) {
        self.older = older
    }

    var total: Int { lock.withLock { older + current } }
    var commits: Int { lock.withLock { commitCount } }

    func setCurrent(_ bytes: Int) { lock.withLock { current = bytes } }
    func countCommit() { lock.withLock { commitCount += 1 } }

    func rolled(olderBytes: Int, current bytes: Int) {
        lock.withLock {
            older = olderBytes
            current = bytes
        }
    }
}
