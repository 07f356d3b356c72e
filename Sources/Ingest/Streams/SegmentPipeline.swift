import Dispatch
import Foundation
import Logging
import Metrics
import NDJSON
import SegmentFormat

/// The single owner of a stream's segments: it takes durable batches from the admission's inbox
/// in log order, assembles blocks (`BlockAssembler`: split by the format's row and byte limits),
/// encodes and appends them to the active segment, writes the checkpoint, lets the log reclaim
/// what segments hold, and seals segments into `rotated/` by size, by clock interval and at
/// shutdown. An actor on its own serial executor: its blocking I/O never takes a thread from the
/// cooperative pool, and nothing else touches its files.
///
/// Durability rules it keeps: a block's rows are released from memory once the block is appended
/// and fsynced; the log is reclaimed only up to the last checkpoint known durable; a segment is
/// sealed only once a durable checkpoint covers all of its blocks; nothing a rename made visible
/// is undone. A block that cannot be written stays assembled and is retried; meanwhile the
/// admission reports the error (requests get 503).
/// A block on its way from the assembler to an encoding task and back: the pipeline gives it up
/// while it is encoded, and the task gives it back with the result.
struct BlockHandoff: @unchecked Sendable {
    let block: BlockBuilder

    struct Encoded: Sendable {
        let block: BlockEncoder.EncodedBlock
    }
}

/// One block being encoded, with what its append may put in the checkpoint and the buffer bytes
/// of the batches whose last rows it holds (released once it is appended).
struct EncodingJob {
    let rows: BlockHandoff?
    let result: Task<BlockHandoff.Encoded?, Never>
    let progress: (sequence: UInt64, partialSequence: UInt64, partialRows: Int)
    let bytes: Int
}

actor SegmentPipeline {
    nonisolated let unownedExecutor: UnownedSerialExecutor
    private nonisolated let executor: SerialQueueExecutor
    let layout: StreamLayout
    let schema: StreamSchema
    let options: StreamOptions
    private let fileSystem: any FileSystem
    private let admission: StreamAdmission
    private let idempotency: IdempotencyStore
    private let hooks: HookRunner
    private let logger: Logger
    private let encoder: BlockEncoder
    private let assembler: BlockAssembler
    private var wal: WriteAheadLog?

    /// Durable batches not yet wholly in a block, in log order; the first one's rows from
    /// `cursor` on are still to be assembled.
    private var pending: [DurableBatch] = []
    private var pendingHead = 0
    private var cursor = 0
    /// Buffer bytes of the batches whose last rows are in the assembled block (released once it
    /// is written), and whether there are any such batches.
    private var assembledBytes = 0
    private var assembledAny = false
    /// Blocks being encoded, in log order: appended first come, first served.
    private var encoding: [EncodingJob] = []
    /// Blocks at most encoded at once: one per core keeps every core busy, and memory bounded.
    private let maxEncoding = max(2, ProcessInfo.processInfo.activeProcessorCount)
    /// An emptied block, for the assembler to fill again (one: each holds a block's capacity).
    private var spareBlocks: [BlockBuilder] = []
    private var writing = false
    private var writerQueue: [CheckedContinuation<Void, Never>] = []
    /// What the checkpoint may say once every assembled row is in a segment.
    private var progress: (sequence: UInt64, partialSequence: UInt64, partialRows: Int) = (0, 0, 0)

    private var active: ActiveSegment?
    /// The checkpoint the segments hold now (what the next checkpoint write must say).
    private var checkpoint = Checkpoint()
    /// The last checkpoint known durable on disk.
    private var durableCheckpoint = Checkpoint()
    private var nextSegmentNumber = 1

    private let sealedCounter: Counter
    private let flushTimer: Metrics.Timer
    private let failureCounter: Counter

    init(layout: StreamLayout, schema: StreamSchema, options: StreamOptions, fileSystem: any FileSystem, admission: StreamAdmission,
         idempotency: IdempotencyStore, hooks: HookRunner, logger: Logger) {
        executor = SerialQueueExecutor(label: "segd.stream.\(layout.tenant).\(layout.stream)")
        unownedExecutor = executor.asUnownedSerialExecutor()
        self.layout = layout
        self.schema = schema
        self.options = options
        self.fileSystem = fileSystem
        self.admission = admission
        self.idempotency = idempotency
        self.hooks = hooks
        self.logger = logger
        encoder = BlockEncoder(compression: schema.compression, candidatesTried: options.encodingCandidates,
                               formatVersion: options.formatVersion, maxShreddedColumns: options.maxShreddedColumns)
        assembler = BlockAssembler(columns: schema.columns, maxRows: options.blockRows)
        let dimensions = [("tenant", layout.tenant), ("stream", layout.stream)]
        sealedCounter = Counter(label: "segd_segments_sealed_total", dimensions: dimensions)
        flushTimer = Metrics.Timer(label: "segd_block_flush_seconds", dimensions: dimensions)
        failureCounter = Counter(label: "segd_storage_failures_total", dimensions: dimensions)
    }

    // MARK: Recovery

    /// Recovers what a previous run left (see `StreamRecovery`), replays the batches of the
    /// stream's own log (an older build's) and moves the checkpoint to the tenant's numbers, then
    /// replays `frames` (the tenant log's batches of this stream after its checkpoint) into
    /// blocks; from then on `log` takes the stream's batches. Throws `RecoveryPlanner.Refusal`
    /// when the stream must not take records.
    func recover(tail: TailBuffer, log: WriteAheadLog, frames: [StreamRecovery.Frame]) async throws {
        let recovery = StreamRecovery(layout: layout, fileSystem: fileSystem, logger: logger)
        let recovered = try recovery.run()
        checkpoint = recovered.plan.checkpoint
        durableCheckpoint = checkpoint
        nextSegmentNumber = recovered.plan.nextSegmentNumber
        progress = (checkpoint.sequence, checkpoint.partialSequence, checkpoint.partialRows)
        active = recovered.active
        for sealed in recovered.movedSealed { logger.info("sealed segment moved into rotated", metadata: ["path": "\(sealed)"]) }
        for (key, answer) in recovered.keys { idempotency.record(key, answer) }
        recovery.seedTail(tail, activePath: active?.path)
        wal = log

        try await replay(recovered.legacyFrames, recovery: recovery, tail: tail)
        if !checkpoint.tenantLog {
            try moveToTenantNumbers()
        } else if recovered.plan.checkpoint != recovered.loadedCheckpoint {
            try writeCheckpoint()
        }
        if recovered.legacyLog { try recovery.removeLegacyLog() }
        try await replay(frames, recovery: recovery, tail: tail)
        reclaim()
    }

    /// After the stream's own log is replayed into segments (and only then: nothing of it may
    /// wait in memory), writes a durable checkpoint in the tenant's numbers, which says that the
    /// old log is wholly in segments; throws if it is not known durable (the old log stays).
    private func moveToTenantNumbers() throws {
        guard pendingHead == pending.count && assembler.block.rowCount == 0 && encoding.isEmpty else {
            throw RecoveryPlanner.Refusal(reason: "the stream's own log did not reach segments whole; it is kept for the next start")
        }
        checkpoint.tenantLog = true
        checkpoint.sequence = 0
        checkpoint.partialSequence = 0
        checkpoint.partialRows = 0
        progress = (0, 0, 0)
        try writeCheckpoint()
        guard durableCheckpoint == checkpoint else {
            throw RecoveryPlanner.Refusal(reason: "the checkpoint in the tenant log's numbers is not known durable; the stream's own log is kept for the next start")
        }
    }

    /// Buffers logged batches again and writes them into blocks as they fill (memory stays
    /// bounded by a block), then the rest, before the store takes appends.
    private func replay(_ frames: [StreamRecovery.Frame], recovery: StreamRecovery, tail: TailBuffer) async throws {
        guard !frames.isEmpty else { return }
        await lockWriter()
        defer { unlockWriter() }
        var replayed = 0
        // Frames at or below the checkpoint are in segments already (whoever located them).
        for frame in frames where frame.location.sequence > checkpoint.sequence {
            let bytes = try recovery.payload(frame)
            let payload: BatchPayload
            do {
                payload = try BatchPayload(decoding: bytes)
            } catch {
                try recovery.keepUnreplayable(bytes, sequence: frame.location.sequence, suffix: "batch",
                                              why: "the batch's layout is not known to this build (\(error)); kept as it was logged")
                pending.append(DurableBatch(sequence: frame.location.sequence, parser: RecordParser(schema: schema), bytes: 0))
                continue
            }
            tail.append(payload)
            let parser = RecordParser(schema: schema)
            let parsed: Result<Int, RecordError> = payload.withBody { body in
                do throws(RecordError) {
                    return .success(try parser.appendAll(body))
                } catch {
                    return .failure(error)
                }
            }
            if case let .failure(error) = parsed {
                try payload.withBody { try recovery.keepUnreplayable(Array($0), sequence: frame.location.sequence, suffix: "ndjson",
                                                                       why: "a logged batch no longer fits the schema: \(error)") }
                pending.append(DurableBatch(sequence: frame.location.sequence, parser: RecordParser(schema: schema), bytes: 0))
                continue
            }
            var batch = DurableBatch(sequence: frame.location.sequence, parser: parser, bytes: 0)
            batch.skipRows = checkpoint.rowsInSegments(ofBatch: batch.sequence)
            pending.append(batch)
            replayed += payload.records - batch.skipRows
            try await writeBlocks(includingPartial: false)
        }
        try await writeBlocks(includingPartial: true)
        if replayed > 0 { logger.info("write-ahead log replayed", metadata: ["records": "\(replayed)"]) }
    }

    // MARK: Flushing

    /// Takes the inbox and writes every full block.
    func drain() async {
        await lockWriter()
        defer { unlockWriter() }
        pending.append(contentsOf: admission.takeInbox())
        await flush(includingPartial: false)
    }

    /// Writes everything buffered into blocks, and seals the active segment if its clock
    /// interval is over.
    func tick(now: Int64) async {
        await lockWriter()
        defer { unlockWriter() }
        pending.append(contentsOf: admission.takeInbox())
        await flush(includingPartial: true)
        if let active, Self.interval(active.created, options.rotateInterval) != Self.interval(now, options.rotateInterval) {
            seal()
        }
        reclaim()
    }

    /// Writes and seals everything (the log is closed: the inbox is complete). Returns whether
    /// every batch is now in a sealed segment (then the tenant's log may start clean).
    func finish() async -> Bool {
        await lockWriter()
        defer { unlockWriter() }
        pending.append(contentsOf: admission.takeInbox())
        await flush(includingPartial: true)
        seal()
        let everything = pendingHead == pending.count && assembler.block.rowCount == 0 && encoding.isEmpty && active == nil
            && checkpoint == durableCheckpoint
        guard everything, let (log, stream, through) = confirmable() else { return false }
        await log.confirm(stream: stream, through: through)
        return true
    }

    /// Only one writer at a time: the pipeline awaits encodings, and calls that arrive meanwhile
    /// (actor reentrancy) wait their turn here instead of interleaving with it.
    private func lockWriter() async {
        guard writing else {
            writing = true
            return
        }
        await withCheckedContinuation { writerQueue.append($0) }
    }

    /// Hands the writer's turn to the next caller, or frees it.
    private func unlockWriter() {
        if writerQueue.isEmpty {
            writing = false
        } else {
            writerQueue.removeFirst().resume()
        }
    }

    private func flush(includingPartial: Bool) async {
        do {
            try await writeBlocks(includingPartial: includingPartial)
            admission.setStorageFailure(nil)
        } catch {
            if admission.storageFailure == nil {
                logger.error("cannot write blocks; records stay in the write-ahead log and memory", metadata: ["error": "\(error)"])
            }
            failureCounter.increment()
            admission.setStorageFailure(error)
        }
    }

    /// Assembles blocks while a full one can be made (and the last, partial one too with
    /// `includingPartial`), encodes up to `maxEncoding` of them at once on every core, and appends
    /// them in order. A block that cannot be appended stays first in line, encoded, for the next try.
    private func writeBlocks(includingPartial: Bool) async throws {
        if checkpoint != durableCheckpoint { try? writeCheckpoint() }
        while true {
            while encoding.count < maxEncoding {
                fill()
                guard assembler.isFull || (includingPartial && (assembler.block.rowCount > 0 || assembledAny)) else { break }
                startEncoding()
            }
            guard let job = encoding.first else { return }
            let block = await job.result.value
            try writeEncoded(block, job: job)
            encoding.removeFirst()
            if let active, active.size >= options.segmentMaxBytes { seal() }
        }
    }

    /// Hands the assembled block to an encoding task (off this executor, on every core) with what
    /// the checkpoint may say once it is in a segment.
    private func startEncoding() {
        let rows = assembler.block.rowCount > 0 ? BlockHandoff(block: assembler.takeBlock(replacement: spareBlocks.popLast())) : nil
        let encoder = self.encoder
        // Off the cooperative pool, at a lower priority than requests: `EncodingExecutor`.
        let result = Task.detached(executorPreference: EncodingExecutor.shared) { () -> BlockHandoff.Encoded? in
            guard let rows else { return nil }
            return BlockHandoff.Encoded(block: encoder.encode(rows.block))
        }
        encoding.append(EncodingJob(rows: rows, result: result, progress: progress, bytes: assembledBytes))
        assembledBytes = 0
        assembledAny = false
    }

    /// Appends an encoded block (or, for a job of empty batches only, moves the checkpoint on),
    /// then releases its batches' memory.
    private func writeEncoded(_ encoded: BlockHandoff.Encoded?, job: EncodingJob) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        if let encoded {
            try append(encoded.block, progress: job.progress)
        } else {
            checkpoint.sequence = job.progress.sequence
            try? writeCheckpoint()
        }
        admission.release(job.bytes)
        if let rows = job.rows, spareBlocks.isEmpty {
            rows.block.removeAll()
            spareBlocks.append(rows.block)
        }
        flushTimer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
    }

    /// Copies rows from the pending batches into the assembler until it is full.
    private func fill() {
        while pendingHead < pending.count, !assembler.isFull {
            let head = pending[pendingHead]
            cursor = max(cursor, head.skipRows)
            cursor = assembler.take(from: head.parser.block, startingAt: cursor)
            if cursor >= head.rows {
                progress = (head.sequence, 0, 0)
                // Its rows are in the block now: its parsed columns go back to the pool at once
                // (its bytes stay held against the bound until the block is in a segment).
                assembledBytes += head.bytes
                assembledAny = true
                admission.returnParser(head.parser)
                pendingHead += 1
                cursor = 0
            } else {
                progress = (progress.sequence, head.sequence, cursor)
                break
            }
        }
        if pendingHead > 64 && pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    /// Appends one block to the active segment (opening one if needed), then writes the
    /// checkpoint that covers it. A checkpoint that cannot be written does not undo the block:
    /// the block is durable, and the next checkpoint covers it (until then, a crash cuts it and
    /// the log replays its rows).
    private func append(_ block: BlockEncoder.EncodedBlock, progress: (sequence: UInt64, partialSequence: UInt64, partialRows: Int)) throws {
        // A segment whose header announces another format version (one an older segd began) is
        // sealed as it is: the block is encoded for this version.
        if let current = active, current.state != .open || current.formatVersion != block.formatVersion {
            seal()
            guard active == nil else { throw FileSystemError(.write, path: current.path, code: EIO) }
        }
        let segment: ActiveSegment
        if let active {
            segment = active
        } else {
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            let name = SegmentName.make(stream: layout.stream, created: now, node: options.node, sequence: nextSegmentNumber)
            // The number is taken when the segment is created, whatever happens to it later.
            nextSegmentNumber += 1
            let header = SegmentHeader(schema: schema, tenant: layout.tenant, node: options.node, created: now, blockRows: options.blockRows,
                                       version: options.formatVersion)
            segment = try ActiveSegment.create(name, in: layout.active, header: header, fileSystem: fileSystem)
            active = segment
        }
        try segment.append(block)
        checkpoint.sequence = progress.sequence
        checkpoint.partialSequence = progress.partialSequence
        checkpoint.partialRows = progress.partialRows
        checkpoint.segment = segment.name
        checkpoint.segmentBytes = segment.size
        do {
            try writeCheckpoint()
        } catch {
            logger.warning("checkpoint not written; the next one will cover the block", metadata: ["error": "\(error)"])
        }
    }

    /// Writes `checkpoint`; it becomes the durable one only when the replace is known durable.
    private func writeCheckpoint() throws {
        checkpoint.nextSegmentNumber = nextSegmentNumber
        switch try fileSystem.replace(layout.checkpoint, with: checkpoint.encoded()) {
        case .replaced:
            durableCheckpoint = checkpoint
        case let .replacedDurabilityUnknown(error):
            logger.warning("checkpoint replaced, but its directory fsync failed; the log is kept until a later one is durable",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Confirms to the tenant's log what segments hold for certain (it deletes a generation once
    /// every stream with batches in it has), without waiting.
    private func reclaim() {
        guard let (log, stream, through) = confirmable() else { return }
        Task { await log.confirm(stream: stream, through: through) }
    }

    /// What the log may be told the segments hold: the durable checkpoint's batches, once the
    /// idempotency keys of those batches are durable too. Nil when nothing is to be confirmed.
    private func confirmable() -> (WriteAheadLog, String, UInt64)? {
        guard let wal, durableCheckpoint.tenantLog else { return nil }
        do {
            try idempotency.sync()
        } catch {
            logger.warning("idempotency keys not yet durable; keeping the write-ahead log", metadata: ["error": "\(error)"])
            return nil
        }
        return (wal, layout.stream, durableCheckpoint.sequence)
    }

    // MARK: Sealing

    /// Seals the active segment into `rotated/` and hands it to the hooks; a step that fails is
    /// retried at the next tick, from where it stopped.
    private func seal() {
        guard let segment = active else { return }
        do {
            try sealSteps(segment)
        } catch {
            logger.error("cannot seal the active segment; will retry", metadata: ["path": "\(segment.path)", "error": "\(error)"])
            failureCounter.increment()
        }
    }

    private func sealSteps(_ segment: ActiveSegment) throws {
        if segment.blockCount == 0 {
            try segment.discard()
            active = nil
            return
        }
        // Sealed blocks are final: a durable checkpoint must confirm all of them first.
        if durableCheckpoint.segment != segment.name || durableCheckpoint.segmentBytes != segment.size {
            checkpoint.segment = segment.name
            checkpoint.segmentBytes = segment.size
            try writeCheckpoint()
            guard durableCheckpoint == checkpoint else { throw FileSystemError(.syncDirectory, path: layout.checkpoint, code: EIO) }
        }
        var target = segment.name
        var jobs = try hooks.prepare(segment: layout.rotated + "/" + target, tenant: layout.tenant, stream: layout.stream,
                                     rows: segment.rowCount, timeRange: segment.timeRange)
        if segment.state == .open {
            do {
                try segment.writeFooter()
            } catch {
                guard segment.state == .poisoned else { throw error }
                logger.error("segment poisoned by a failed fsync; sealing a copy of its confirmed blocks", metadata: ["path": "\(segment.path)"])
            }
        }
        var moved: (ActiveSegment.Sealed, ReplaceOutcome)?
        while moved == nil {
            do {
                moved = try move(segment, as: target)
            } catch {
                guard error.code == EEXIST else { throw error }
                // Another segment has the name: this one takes the next number instead.
                target = SegmentName.make(stream: layout.stream, created: segment.created, node: options.node, sequence: nextSegmentNumber)
                nextSegmentNumber += 1
                logger.warning("a sealed segment has this name already; sealing under a new one", metadata: ["path": "\(segment.path)", "name": "\(target)"])
                jobs = try hooks.prepare(segment: layout.rotated + "/" + target, tenant: layout.tenant, stream: layout.stream,
                                         rows: segment.rowCount, timeRange: segment.timeRange)
            }
        }
        guard let (sealed, outcome) = moved else { return }
        active = nil
        if case let .replacedDurabilityUnknown(error) = outcome {
            logger.warning("segment moved, but a directory fsync failed", metadata: ["path": "\(sealed.path)", "error": "\(error)"])
        }
        checkpoint.segment = ""
        checkpoint.segmentBytes = 0
        try? writeCheckpoint()
        sealedCounter.increment()
        logger.info("segment sealed", metadata: ["path": "\(sealed.path)", "rows": "\(sealed.rows)"])
        hooks.submit(jobs)
    }

    /// Moves a segment with a durable footer into `rotated/`, or seals a copy of a poisoned one.
    private func move(_ segment: ActiveSegment, as target: String) throws(FileSystemError) -> (ActiveSegment.Sealed, ReplaceOutcome) {
        segment.state == .poisoned
            ? try segment.copySealed(into: layout.rotated, as: target, confirmedBytes: segment.size)
            : try segment.move(into: layout.rotated, as: target)
    }

    private static func interval(_ ns: Int64, _ length: Int64) -> Int64 {
        length > 0 ? (ns >= 0 ? ns / length : (ns + 1) / length - 1) : 0
    }
}
