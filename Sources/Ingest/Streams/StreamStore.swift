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
    /// Bytes of accepted records held in memory and not yet in a segment, on the whole node,
    /// past which appends wait (`BufferBudget`).
    public var maxBufferedBytes: Int = 48 << 20
    /// The part of `maxBufferedBytes` one tenant may hold.
    public var maxTenantBufferedBytes: Int = 48 << 20
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
/// holds their bytes against the buffer bound, hands durable batches on), the tenant's
/// write-ahead log (shared by the tenant's streams, group commit), and the segment pipeline
/// (blocks, appends, checkpoints, reclaim, sealing), recovered by `StreamRecovery` before the
/// store takes appends. Requests wait for the log's fsync, never for blocks. Thread-safe.
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
    /// left: the active segment is resumed at its checkpoint, the batches of its own log (an older
    /// build's) and then `frames` of the tenant's log are replayed into blocks, and only then does
    /// the store take appends, into `log`. A stream whose recovery refuses, or whose tenant's log
    /// did (`log` is then a refusal), is returned refusing every append (`failure` says why);
    /// other streams are not affected.
    static func open(directory: String, tenant: String, stream: String, schema: StreamSchema, options: StreamOptions,
                     log: Result<WriteAheadLog, StreamRefused>, frames: [StreamRecovery.Frame], idempotency: IdempotencyStore,
                     budget: BufferBudget, hooks: HookRunner, logger: Logger, fileSystem: any FileSystem) async -> StreamStore {
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant)"
        logger[metadataKey: "stream"] = "\(stream)"
        let layout = StreamLayout(tenant: tenant, stream: stream, directory: directory)
        let tail = TailBuffer(capacity: options.tailCapacity, maxBytes: options.tailBytes)
        let admission = StreamAdmission(schema: schema, options: options, tenant: tenant, budget: budget)
        let pipeline = SegmentPipeline(layout: layout, schema: schema, options: options, fileSystem: fileSystem, admission: admission,
                                       idempotency: idempotency, hooks: hooks, logger: logger)
        var wal: WriteAheadLog?
        var refusal: StreamRefused?
        do {
            let log = try log.get()
            try await pipeline.recover(tail: tail, log: log, frames: frames)
            wal = log
        } catch let error as StreamRefused {
            refusal = error
        } catch {
            refusal = StreamRefused(reason: "\(error)", retryable: (error as? FileSystemError)?.isOutOfSpace == true)
        }
        if let refusal {
            logger.critical("stream refuses records: its recovery stopped; see the reason, fix or move the named file, and restart",
                            metadata: ["directory": "\(directory)", "reason": "\(refusal.reason)"])
            Gauge(label: "segd_stream_refused", dimensions: [("tenant", tenant), ("stream", stream)]).record(1)
        }
        admission.onBlockReady { Task { await pipeline.drain() } }
        return StreamStore(layout: layout, schema: schema, options: options, tail: tail, admission: admission, pipeline: pipeline,
                           idempotency: idempotency, wal: wal, refusal: refusal)
    }

    // MARK: Appending

    /// Holds room in the node's buffers for a request body of `bodyBytes`, waiting for it (up to
    /// `--admission-wait`) before the body is parsed, so that a waiting request holds nothing but
    /// its body. Throws `StoreRefusal` (full after the wait, or shut down) or `StreamRefused`.
    public func reserve(bodyBytes: Int) async throws -> BufferReservation {
        guard wal != nil else { throw refusal ?? StreamRefused(reason: "no write-ahead log") }
        return try await admission.reserve(bodyBytes: bodyBytes)
    }

    /// Checks `body` (NDJSON) against the schema and lays it out for the log; all or nothing. The
    /// batch holds `reservation` (from `reserve`) if given; otherwise `commit` takes room.
    public func prepare(_ body: UnsafeRawBufferPointer, idempotencyKey: String?, now: Int64,
                        reservation: BufferReservation? = nil) throws(RecordError) -> PreparedBatch {
        try admission.prepare(body, idempotencyKey: idempotencyKey, now: now, reservation: reservation)
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
        do {
            if batch.reservation == nil {
                batch.reservation = try await admission.reserve(bodyBytes: batch.payload.bytes.count - batch.payload.bodyOffset)
            }
            _ = try await wal.append(batch.payload.bytes, stream: stream) { [admission] sequence in
                admission.delivered(batch, sequence: sequence)
            }
        } catch {
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

    /// Why the stream cannot take records now, if it cannot: its recovery refused, or blocks
    /// cannot be written (disk full).
    public var failure: Error? { refusal ?? admission.storageFailure }

    /// Whether this store's recovery stopped for want of space long enough ago (5 s) that the
    /// registry should open the stream again.
    var shouldRetryRecovery: Bool {
        mayRetryRecovery && ContinuousClock.now - openedAt >= .seconds(5)
    }

    /// Whether this store's recovery stopped for want of space (a later try may succeed).
    var mayRetryRecovery: Bool { refusal?.retryable == true }

    // MARK: Flushing and shutdown

    /// Flushes buffered records into blocks and seals the active segment if its clock interval
    /// is over, on the pipeline's executor, without waiting.
    public func tick(now: Int64) {
        guard wal != nil else { return }
        Task { await pipeline.tick(now: now) }
    }

    /// Stops taking appends (shutdown; the tenant then closes its log).
    func closeAdmission() {
        admission.close()
    }

    /// Once the tenant's log is closed: writes every buffered record into a block and seals the
    /// active segment. Returns whether everything reached a sealed segment; if not, the log keeps
    /// the records for the next start.
    func finishSegments() async -> Bool {
        guard wal != nil else { return refusal == nil }
        return await pipeline.finish()
    }
}
