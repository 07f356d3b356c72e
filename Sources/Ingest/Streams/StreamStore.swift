#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Metrics
import NDJSON
import SegmentFormat

/// Settings every stream store shares.
public struct StreamOptions: Sendable {
    /// Names segments, so that segments from a fleet never collide.
    public var node: String
    /// A block is encoded once this many records are buffered (or at the next flush tick).
    public var blockRows: Int = 65_536
    /// The active segment is sealed once it passes this size.
    public var segmentMaxBytes: Int = 64 << 20
    /// Segments are sealed at each multiple of this interval since the epoch (ns).
    public var rotateInterval: Int64 = 3_600_000_000_000
    /// Accepted records buffered in memory and not yet in a block, past which appends are refused.
    public var maxBufferedBytes: Int = 128 << 20
    /// Records kept for `tail`.
    public var tailCapacity: Int = 10_000
    /// Encodings compressed per column before the smallest is kept (see `BlockEncoder`).
    public var encodingCandidates: Int = 3
    /// A new write-ahead log generation starts past this size.
    public var walRollBytes: Int = 32 << 20

    public init(node: String) {
        self.node = node
    }
}

/// Why an append was refused before reaching the log.
public enum StoreRefusal: Error, Sendable {
    /// Buffers are at their bound; try again shortly.
    case buffersFull
    /// The store is shut down.
    case closed
}

/// A durable batch waiting for its block.
private struct Pending {
    let sequence: UInt64
    let parser: RecordParser
    let records: Int
    let bytes: Int
}

/// A request's records, checked and laid out for the log, not yet durable.
public final class PreparedBatch: @unchecked Sendable {
    fileprivate let parser: RecordParser
    public let payload: BatchPayload
    public var records: Int { payload.records }

    fileprivate init(parser: RecordParser, payload: BatchPayload) {
        self.parser = parser
        self.payload = payload
    }
}

/// One tenant's stream on disk: `<data>/<tenant>/<stream>/` with `wal/`, `active/`, `rotated/`
/// and `checkpoint`.
///
/// Accepted batches are made durable by the write-ahead log (group commit), then buffered as
/// parsed columns; the store's own serial queue merges them into blocks, encodes and compresses
/// them, appends them to the active segment, writes the checkpoint, reclaims the log, and seals
/// the segment into `rotated/` by size, by clock interval, and at shutdown. Requests never wait
/// for any of that. Thread-safe.
public final class StreamStore: @unchecked Sendable {
    public let tenant: String
    public let stream: String
    public let directory: String
    public let schema: StreamSchema
    public let options: StreamOptions
    public let tail: TailBuffer
    private let idempotency: IdempotencyStore
    private let hooks: HookRunner
    private let logger: Logger
    private let encoder: BlockEncoder
    private let io: DispatchQueue
    private var wal: WriteAheadLog

    private let lock = NSLock()
    // Guarded by `lock`:
    /// Durable batches not yet in a block: their parsed columns, without the request body (the
    /// log has it, and the tail keeps the recent ones).
    private var pending: [Pending] = []
    private var pendingRows = 0
    private var bufferedBytes = 0
    private var parsers: [RecordParser] = []
    private var flushQueued = false
    private var closed = false
    /// Set while blocks cannot be written (disk full), cleared by the next success.
    private var storageFailure: Error?

    // Owned by `io`:
    private var active: ActiveSegment?
    private var checkpoint: Checkpoint
    private let merged: BlockBuilder

    private let sealedCounter: Counter
    private let flushTimer: Metrics.Timer

    private var activeDirectory: String { directory + "/active" }
    public var rotatedDirectory: String { directory + "/rotated" }
    private var checkpointPath: String { directory + "/checkpoint" }

    /// Opens the stream's directory, creating it if needed, and recovers what a previous run left:
    /// the active segment is cut back to its checkpoint, the log's later batches are replayed into
    /// blocks, and only then does the store take appends.
    public init(directory: String, tenant: String, stream: String, schema: StreamSchema, options: StreamOptions,
                idempotency: IdempotencyStore, hooks: HookRunner, logger: Logger) throws {
        self.directory = directory
        self.tenant = tenant
        self.stream = stream
        self.schema = schema
        self.options = options
        self.idempotency = idempotency
        self.hooks = hooks
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant)"
        logger[metadataKey: "stream"] = "\(stream)"
        self.logger = logger
        tail = TailBuffer(capacity: options.tailCapacity)
        encoder = BlockEncoder(compression: schema.compression, candidatesTried: options.encodingCandidates)
        io = DispatchQueue(label: "segd.stream.\(tenant).\(stream)", qos: .utility)
        merged = BlockBuilder(columns: schema.columns)
        let dimensions = [("tenant", tenant), ("stream", stream)]
        sealedCounter = Counter(label: "segd_segments_sealed_total", dimensions: dimensions)
        flushTimer = Metrics.Timer(label: "segd_block_flush_seconds", dimensions: dimensions)

        for d in [directory, directory + "/active", directory + "/rotated", directory + "/wal"] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        checkpoint = try Checkpoint.load(path: directory + "/checkpoint")
        let replayed = try WriteAheadLog.replay(directory: directory + "/wal")
        let lastSequence = max(checkpoint.sequence, replayed.frames.last?.sequence ?? 0)
        wal = try WriteAheadLog(directory: directory + "/wal", nextSequence: lastSequence + 1,
                                replayed: replayed.generations, rollBytes: options.walRollBytes)
        try recoverActiveSegment()
        seedTail()
        try replay(replayed.frames)
    }

    /// Fills the tail with the last records of the newest segment, so that `tail` shows the latest
    /// records after a restart too (the log's batches follow in `replay`). Best effort.
    private func seedTail() {
        let rotated = ((try? FileManager.default.contentsOfDirectory(atPath: rotatedDirectory)) ?? [])
            .filter { $0.hasSuffix(".seg") }.sorted { Self.segmentOrder($0) < Self.segmentOrder($1) }
        guard let path = active?.path ?? rotated.last.map({ rotatedDirectory + "/" + $0 }),
              let reader = try? SegmentReader(path: path), let last = reader.blocks.indices.last else { return }
        let rows = reader.blocks[last].rowCount
        guard rows > 0, let chunks = try? reader.header.columns.indices.map({ try reader.chunk(block: last, column: $0) }) else { return }
        let sink = ByteSink(flushThreshold: .max)
        let kept = max(0, rows - options.tailCapacity)..<rows
        guard (try? RecordWriter(columns: reader.header.columns).write(chunks, rows: kept, to: sink)) != nil else { return }
        let text = sink.bytes()
        text.withUnsafeBytes { tail.append(BatchPayload(acceptedAt: 0, records: kept.count, idempotencyKey: nil, body: $0)) }
    }

    /// Segment names sort by their number (the last dash-separated part), then by name.
    private static func segmentOrder(_ name: String) -> (Int, String) {
        (Int(name.dropLast(4).split(separator: "-").last ?? "") ?? 0, name)
    }

    // MARK: Appending

    /// Checks `body` (NDJSON) against the schema and lays it out for the log; all or nothing.
    /// `firstLine` numbers the body's lines in errors.
    public func prepare(_ body: UnsafeRawBufferPointer, idempotencyKey: String?, now: Int64) throws(RecordError) -> PreparedBatch {
        let parser = takeParser()
        let count: Int
        do {
            count = try parser.appendAll(body)
        } catch {
            returnParser(parser)
            throw error
        }
        guard count > 0 else {
            returnParser(parser)
            throw RecordError(line: 1, field: nil, message: "the body holds no records")
        }
        return PreparedBatch(parser: parser, payload: BatchPayload(acceptedAt: now, records: count, idempotencyKey: idempotencyKey, body: body))
    }

    /// Gives back a prepared batch that will not be committed.
    public func discard(_ batch: PreparedBatch) {
        returnParser(batch.parser)
    }

    /// Makes `batch` durable (write-ahead log, fsync shared with concurrent requests) and buffers
    /// its records for the next block. Returns once durable. Throws `StoreRefusal` or `FileError`.
    public func commit(_ batch: PreparedBatch) async throws {
        if let refusal = reserve(batch) {
            discard(batch)
            throw refusal
        }
        do {
            _ = try await wal.append(batch.payload.bytes) { [self] sequence in
                self.buffer(batch, sequence: sequence)
            }
        } catch {
            unreserve(batch)
            discard(batch)
            throw error
        }
    }

    private func reserve(_ batch: PreparedBatch) -> StoreRefusal? {
        lock.withLock {
            if closed { return .closed }
            if bufferedBytes + batch.payload.bytes.count > options.maxBufferedBytes { return .buffersFull }
            bufferedBytes += batch.payload.bytes.count
            return nil
        }
    }

    private func unreserve(_ batch: PreparedBatch) {
        lock.withLock { bufferedBytes -= batch.payload.bytes.count }
    }

    /// Called on the log thread, in log order, once `batch` is durable.
    private func buffer(_ batch: PreparedBatch, sequence: UInt64) {
        if let key = batch.payload.idempotencyKey {
            idempotency.record(key, .init(stream: stream, records: batch.records, acceptedAt: batch.payload.acceptedAt))
        }
        tail.append(batch.payload)
        lock.lock()
        pending.append(Pending(sequence: sequence, parser: batch.parser, records: batch.records, bytes: batch.payload.bytes.count))
        pendingRows += batch.records
        let full = pendingRows >= options.blockRows && !flushQueued
        if full { flushQueued = true }
        lock.unlock()
        if full { io.async { self.flush(sealing: false) } }
    }

    private func takeParser() -> RecordParser {
        lock.lock()
        defer { lock.unlock() }
        return parsers.popLast() ?? RecordParser(schema: schema)
    }

    private func returnParser(_ parser: RecordParser) {
        parser.block.removeAll()
        lock.lock()
        if parsers.count < 8 { parsers.append(parser) }
        lock.unlock()
    }

    // MARK: State

    /// Bytes accepted and not yet in a segment.
    public var buffered: Int {
        lock.lock()
        defer { lock.unlock() }
        return bufferedBytes
    }

    public var walBytes: Int { wal.bytes }

    /// The error that stops blocks from reaching the segment, if any (disk full).
    public var failure: Error? {
        lock.lock()
        defer { lock.unlock() }
        return storageFailure
    }

    // MARK: Flushing and rotation

    /// Flushes buffered records into blocks and seals the active segment if its clock interval
    /// is over; runs on the store's queue, without blocking the caller.
    public func tick(now: Int64) {
        io.async {
            self.flush(sealing: false)
            if let active = self.active, Self.interval(active.created, self.options.rotateInterval) != Self.interval(now, self.options.rotateInterval) {
                self.seal()
            }
        }
    }

    /// Stops taking appends, waits for the log, flushes every buffered record, seals the active
    /// segment and, if everything reached a segment, deletes the log. Blocks the caller.
    public func shutdown() {
        lock.lock()
        closed = true
        lock.unlock()
        wal.shutdown()
        io.sync {
            flush(sealing: true)
            lock.lock()
            let everything = pending.isEmpty
            lock.unlock()
            if everything && active == nil {
                wal.removeAll()
            } else {
                logger.error("shutdown left records in the write-ahead log; they will be replayed at the next start")
            }
        }
    }

    private static func interval(_ ns: Int64, _ length: Int64) -> Int64 {
        length > 0 ? (ns >= 0 ? ns / length : (ns + 1) / length - 1) : 0
    }

    /// Encodes the buffered batches into blocks of about `blockRows` rows and appends them. On a
    /// storage error the unwritten batches go back to the front of the buffer for the next try.
    private func flush(sealing: Bool) {
        lock.lock()
        let batches = pending
        pending.removeAll(keepingCapacity: true)
        pendingRows = 0
        flushQueued = false
        lock.unlock()

        var index = 0
        while index < batches.count {
            let started = DispatchTime.now().uptimeNanoseconds
            merged.removeAll()
            var end = index
            while end < batches.count && (merged.rowCount == 0 || (merged.rowCount + batches[end].records <= options.blockRows
                    && merged.inputBytes + batches[end].parser.block.inputBytes < FormatConstants.maxBlockInputBytes)) {
                merged.append(contentsOf: batches[end].parser.block)
                end += 1
            }
            do {
                try append(encoder.encode(merged), through: batches[end - 1].sequence)
            } catch {
                requeue(Array(batches[index...]), error: error)
                return
            }
            var bytes = 0
            for item in batches[index..<end] {
                bytes += item.bytes
                returnParser(item.parser)
            }
            lock.lock()
            bufferedBytes -= bytes
            storageFailure = nil
            lock.unlock()
            flushTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            index = end
            if let active, active.size >= options.segmentMaxBytes { seal() }
        }
        if sealing { seal() }
        do {
            try idempotency.sync()
            wal.reclaim(through: checkpoint.sequence)
        } catch {
            logger.warning("idempotency keys not yet durable; keeping the write-ahead log", metadata: ["error": "\(error)"])
        }
    }

    private func requeue(_ batches: [Pending], error: Error) {
        lock.lock()
        pending.insert(contentsOf: batches, at: 0)
        pendingRows += batches.reduce(0) { $0 + $1.records }
        let first = storageFailure == nil
        storageFailure = error
        lock.unlock()
        if first {
            logger.error("cannot write blocks; records stay in the write-ahead log and memory", metadata: ["error": "\(error)"])
        }
    }

    /// Appends one block to the active segment (opening one if needed) and confirms it in the
    /// checkpoint; if the checkpoint cannot be written, the block is cut again.
    private func append(_ block: BlockEncoder.EncodedBlock, through sequence: UInt64) throws {
        let segment: ActiveSegment
        var next = checkpoint
        if let active {
            segment = active
        } else {
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            let name = SegmentName.make(stream: stream, created: now, node: options.node, sequence: checkpoint.nextSegmentNumber)
            let header = SegmentHeader(schema: schema, tenant: tenant, node: options.node, created: now, blockRows: options.blockRows)
            segment = try ActiveSegment(creating: activeDirectory + "/" + name, header: header)
            active = segment
            next.nextSegmentNumber += 1
        }
        try segment.append(block)
        next.sequence = sequence
        next.segment = (segment.path as NSString).lastPathComponent
        next.segmentBytes = segment.size
        do {
            try next.save(path: checkpointPath)
        } catch {
            try? segment.undoLastAppend()
            throw error
        }
        checkpoint = next
    }

    /// Seals the active segment into `rotated/` and hands it to the hooks. A segment with no
    /// blocks is just removed.
    private func seal() {
        guard let segment = active else { return }
        guard segment.blockCount > 0 else {
            unlink(segment.path)
            active = nil
            return
        }
        let target = rotatedDirectory + "/" + (segment.path as NSString).lastPathComponent
        do {
            let jobs = try hooks.prepare(segment: target, tenant: tenant, stream: stream, rows: segment.rowCount, timeRange: segment.timeRange)
            let sealed = try segment.seal(into: rotatedDirectory)
            active = nil
            sealedCounter.increment()
            logger.info("segment sealed", metadata: ["path": "\(sealed.path)", "rows": "\(sealed.rows)", "bytes": "\(segment.size)"])
            hooks.submit(jobs)
        } catch {
            logger.error("cannot seal the active segment; will retry", metadata: ["path": "\(segment.path)", "error": "\(error)"])
        }
    }

    // MARK: Recovery

    /// Keeps the checkpoint's active segment up to its confirmed size; removes any other file in
    /// `active/` (it holds only blocks the log will replay).
    private func recoverActiveSegment() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: activeDirectory)) ?? []
        for name in names.sorted() {
            let path = activeDirectory + "/" + name
            guard name == checkpoint.segment, name.hasSuffix(".seg") else {
                logger.warning("removing an unconfirmed active segment (the write-ahead log holds its records)", metadata: ["path": "\(path)"])
                unlink(path)
                continue
            }
            switch try ActiveSegment.recover(path: path, rotatedDirectory: rotatedDirectory, keepingBytes: checkpoint.segmentBytes) {
            case let .active(segment):
                active = segment
                logger.info("active segment recovered", metadata: ["path": "\(path)", "rows": "\(segment.rowCount)"])
            case let .sealed(sealed):
                logger.info("sealed segment moved into rotated", metadata: ["path": "\(sealed.path)"])
            }
        }
    }

    /// Buffers the log's batches after the checkpoint again, records every batch's idempotency
    /// key, and writes them all into blocks before the store takes appends. A batch the current
    /// schema refuses (the schema changed) is kept in `unreplayable/` for an operator.
    private func replay(_ frames: [WriteAheadLog.Frame]) throws {
        var replayed = 0
        for frame in frames {
            let payload: BatchPayload
            do {
                payload = try BatchPayload(decoding: frame.payload)
            } catch {
                logger.error("skipping an unreadable write-ahead log batch", metadata: ["sequence": "\(frame.sequence)", "error": "\(error)"])
                continue
            }
            if let key = payload.idempotencyKey {
                idempotency.record(key, .init(stream: stream, records: payload.records, acceptedAt: payload.acceptedAt))
            }
            // Batches up to the checkpoint are in segments (and in the tail seeded from them).
            guard frame.sequence > checkpoint.sequence else { continue }
            tail.append(payload)
            let parser = takeParser()
            let parsed: Result<Int, RecordError> = payload.bytes.withUnsafeBytes { raw in
                do throws(RecordError) {
                    return .success(try parser.appendAll(UnsafeRawBufferPointer(rebasing: raw[payload.bodyOffset...])))
                } catch {
                    return .failure(error)
                }
            }
            if case let .failure(error) = parsed {
                returnParser(parser)
                try keepUnreplayable(payload, sequence: frame.sequence, error: error)
                continue
            }
            pending.append(Pending(sequence: frame.sequence, parser: parser, records: payload.records, bytes: payload.bytes.count))
            bufferedBytes += payload.bytes.count
            replayed += payload.records
        }
        if replayed > 0 { logger.info("write-ahead log replayed", metadata: ["records": "\(replayed)"]) }
        io.sync { flush(sealing: false) }
    }

    private func keepUnreplayable(_ payload: BatchPayload, sequence: UInt64, error: RecordError) throws {
        let directory = self.directory + "/unreplayable"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/\(sequence).ndjson"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
        defer { close(fd) }
        try FileWriting.writeAll(fd, Array(payload.bytes[payload.bodyOffset...]), path: path)
        try FileWriting.sync(fd, path: path)
        logger.error("a logged batch no longer fits the schema; kept for an operator", metadata: ["path": "\(path)", "error": "\(error)"])
    }
}
