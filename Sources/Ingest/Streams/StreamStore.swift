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
    /// Accepted records buffered in memory and not yet in a block, past which appends wait.
    public var maxBufferedBytes: Int = 128 << 20
    /// How long an append waits for room in full buffers before it is refused (ns).
    public var admissionWait: Int64 = 2_000_000_000
    /// Records kept for `tail`.
    public var tailCapacity: Int = 10_000
    /// Bytes of records kept for `tail` (`--tail-bytes`).
    public var tailBytes: Int = 8 << 20
    /// How long an idempotency key is remembered (`--idempotency-ttl`, ns).
    public var idempotencyTTL: Int64 = 24 * 3_600_000_000_000
    /// Encodings compressed per column before the smallest is kept (see `BlockEncoder`).
    public var encodingCandidates: Int = 3
    /// A new write-ahead log generation starts past this size.
    public var walRollBytes: Int = 32 << 20
    /// Segment format version to write (version 1 for readers that know no newer one).
    public var formatVersion: UInt16 = FormatConstants.formatVersion
    /// Bound on the columns a block makes from paths inside json fields and fields outside the schema.
    public var maxShreddedColumns: Int = FormatConstants.defaultMaxShreddedColumns

    public init(node: String) {
        self.node = node
    }
}

/// Why a stream takes no records: its recovery refused (damage it will not guess about), or
/// could not read or write what it needed. The stream answers 503 until an operator has looked,
/// or, when recovery stopped only for want of disk space, until a later attempt succeeds.
public struct StreamRefused: Error, Sendable, CustomStringConvertible {
    public let reason: String
    /// Recovery stopped for want of space (ENOSPC, EDQUOT): trying again once space is freed is
    /// exactly what a restart would do for this stream.
    public var retryable = false
    public var description: String { "the stream did not recover: \(reason)" }
}

/// One tenant's stream on disk (`StreamLayout`), in three parts: the admission (checks requests,
/// holds their bytes against the buffer bound, hands durable batches on), the write-ahead log
/// (group commit), and the segment pipeline (blocks, appends, checkpoints, reclaim, sealing),
/// recovered by `StreamRecovery` before the store takes appends. Requests wait for the log's
/// fsync, never for blocks. Thread-safe.
public final class StreamStore: Sendable {
    public let tenant: String
    public let stream: String
    public let directory: String
    public let schema: StreamSchema
    public let options: StreamOptions
    public let tail: TailBuffer
    private let admission: StreamAdmission
    private let pipeline: SegmentPipeline
    private let idempotency: IdempotencyStore
    private let wal: WriteAheadLog?
    private let refusal: StreamRefused?
    private let openedAt = ContinuousClock.now

    private init(layout: StreamLayout, schema: StreamSchema, options: StreamOptions, tail: TailBuffer, admission: StreamAdmission,
                 pipeline: SegmentPipeline, idempotency: IdempotencyStore, wal: WriteAheadLog?, refusal: StreamRefused?) {
        tenant = layout.tenant
        stream = layout.stream
        directory = layout.directory
        self.schema = schema
        self.options = options
        self.tail = tail
        self.admission = admission
        self.pipeline = pipeline
        self.idempotency = idempotency
        self.wal = wal
        self.refusal = refusal
    }

    /// Opens the stream's directory, creating it if needed, and recovers what a previous run
    /// left: the active segment is resumed at its checkpoint, the log's later batches are
    /// replayed into blocks, and only then does the store take appends. A stream whose recovery
    /// refuses is returned refusing every append (`failure` says why); other streams are not
    /// affected.
    public static func open(directory: String, tenant: String, stream: String, schema: StreamSchema, options: StreamOptions,
                            idempotency: IdempotencyStore, hooks: HookRunner, logger: Logger,
                            fileSystem: any FileSystem = PosixFileSystem()) async -> StreamStore {
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant)"
        logger[metadataKey: "stream"] = "\(stream)"
        let layout = StreamLayout(tenant: tenant, stream: stream, directory: directory)
        let tail = TailBuffer(capacity: options.tailCapacity, maxBytes: options.tailBytes)
        let admission = StreamAdmission(schema: schema, options: options)
        let pipeline = SegmentPipeline(layout: layout, schema: schema, options: options, fileSystem: fileSystem, admission: admission,
                                       idempotency: idempotency, hooks: hooks, logger: logger)
        var wal: WriteAheadLog?
        var refusal: StreamRefused?
        do {
            wal = try await pipeline.recover(tail: tail)
        } catch {
            refusal = StreamRefused(reason: "\(error)", retryable: (error as? FileSystemError)?.isOutOfSpace == true)
            logger.critical("stream refuses records: its recovery stopped; see the reason, fix or move the named file, and restart",
                            metadata: ["directory": "\(directory)", "reason": "\(error)"])
            Gauge(label: "segd_stream_refused", dimensions: [("tenant", tenant), ("stream", stream)]).record(1)
        }
        admission.onBlockReady { Task { await pipeline.drain() } }
        return StreamStore(layout: layout, schema: schema, options: options, tail: tail, admission: admission, pipeline: pipeline,
                           idempotency: idempotency, wal: wal, refusal: refusal)
    }

    // MARK: Appending

    /// Checks `body` (NDJSON) against the schema and lays it out for the log; all or nothing.
    public func prepare(_ body: UnsafeRawBufferPointer, idempotencyKey: String?, now: Int64) throws(RecordError) -> PreparedBatch {
        try admission.prepare(body, idempotencyKey: idempotencyKey, now: now)
    }

    /// Gives back a prepared batch that will not be committed.
    public func discard(_ batch: PreparedBatch) {
        admission.discard(batch)
    }

    /// Makes `batch` durable (write-ahead log, fsync shared with concurrent requests) and hands
    /// its records to the pipeline. Returns once durable; records the idempotency key and the
    /// tail then. Throws `StoreRefusal`, `StreamRefused`, or the log's storage error.
    public func commit(_ batch: PreparedBatch) async throws {
        guard let wal else {
            discard(batch)
            throw refusal ?? StreamRefused(reason: "no write-ahead log")
        }
        let bytes = batch.payload.bytes.count
        if let refused = await admission.reserve(bytes) {
            discard(batch)
            throw refused
        }
        do {
            _ = try await wal.append(batch.payload.bytes) { [admission] sequence in
                admission.delivered(batch, sequence: sequence)
            }
        } catch {
            admission.release(bytes)
            discard(batch)
            throw error
        }
        if let key = batch.payload.idempotencyKey {
            idempotency.record(key, .init(stream: stream, records: batch.records, acceptedAt: batch.payload.acceptedAt))
        }
        tail.append(batch.payload)
    }

    // MARK: State

    /// Bytes accepted and not yet in a segment.
    public var buffered: Int { admission.buffered }

    public var walBytes: Int { wal?.bytes ?? 0 }

    /// Why the stream cannot take records now, if it cannot: its recovery refused, or blocks
    /// cannot be written (disk full).
    public var failure: Error? { refusal ?? admission.storageFailure }

    /// Whether this store's recovery stopped for want of space long enough ago (5 s) that the
    /// registry should open the stream again.
    var shouldRetryRecovery: Bool {
        refusal?.retryable == true && ContinuousClock.now - openedAt >= .seconds(5)
    }

    // MARK: Flushing and shutdown

    /// Flushes buffered records into blocks and seals the active segment if its clock interval
    /// is over, on the pipeline's executor, without waiting.
    public func tick(now: Int64) {
        guard wal != nil else { return }
        Task { await pipeline.tick(now: now) }
    }

    /// Stops taking appends, waits for the log, writes every buffered record into a block, seals
    /// the active segment and, if everything reached a segment, starts the log clean. Returns
    /// whether it did; if not, the log keeps the records for the next start.
    @discardableResult
    public func shutdown() async -> Bool {
        admission.close()
        guard let wal else { return true }
        await wal.close()
        return await pipeline.finish()
    }
}
