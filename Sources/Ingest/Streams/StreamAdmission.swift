import Foundation
import NDJSON
import SegmentFormat

/// Why an append was refused before reaching the log.
public enum StoreRefusal: Error, Sendable {
    /// Buffers are at their bound; try again shortly.
    case buffersFull
    /// The store is shut down.
    case closed
}

/// Room in the node's buffers (`BufferBudget`) held for one request: taken before its body is
/// parsed (`StreamStore.reserve`), so that a request waiting for room holds only its body, never
/// its parsed copy; handed on with its records when they are durable, and given back when they
/// are in a segment. Given back when dropped otherwise, so every failure returns it. Owned by
/// one request at a time.
public final class BufferReservation: @unchecked Sendable {
    /// What a request of `bodyBytes` holds until its rows are in a segment, as the bound counts
    /// it: the logged payload (until durable) and the parsed columns, each about the body's size.
    static func bytes(forBody bodyBytes: Int) -> Int { 2 * bodyBytes + 64 }

    let bytes: Int
    private let admission: StreamAdmission
    private var held = true

    init(bytes: Int, admission: StreamAdmission) {
        self.bytes = bytes
        self.admission = admission
    }

    deinit { release() }

    /// Passes the bytes on to the durable batch (the pipeline gives them back).
    func handOn() -> Int {
        held = false
        return bytes
    }

    /// Gives the bytes back now, if they are still held here.
    func release() {
        guard held else { return }
        held = false
        admission.release(bytes)
    }
}

/// A request's records, checked and laid out for the log, not yet durable. Owned by the request
/// until `commit` or `discard`.
public final class PreparedBatch: @unchecked Sendable {
    let parser: RecordParser
    public let payload: BatchPayload
    public var records: Int { payload.records }
    /// The room it holds in the buffers; nil until `commit` takes it (if not taken before parsing).
    var reservation: BufferReservation?

    init(parser: RecordParser, payload: BatchPayload, reservation: BufferReservation?) {
        self.parser = parser
        self.payload = payload
        self.reservation = reservation
    }
}

/// A batch the log has made durable, on its way to a block: its number, its parsed rows (not its
/// body: the log has that), and the bytes it holds against the buffer bound. Ownership of the
/// parser passes from the request to the log's executor to the pipeline, one owner at a time.
struct DurableBatch: @unchecked Sendable {
    let sequence: UInt64
    let parser: RecordParser
    let bytes: Int
    /// Rows already in a block before a crash (the checkpoint's partial batch), skipped.
    var skipRows = 0

    var rows: Int { parser.block.rowCount }
}

/// The admission half of a stream: checks and lays out requests (`prepare`), holds their bytes
/// against the node-wide buffer bound (`BufferBudget`) while they are in memory, and passes each
/// durable batch to the segment pipeline through an inbox in log order. When the buffers are
/// full, a request waits for room up to `StreamOptions.admissionWait` (see `BufferBudget`), so
/// that a closed-loop client slows down instead of failing; only then is it refused. It never
/// does I/O: its lock guards a few fields and the inbox. Thread-safe.
final class StreamAdmission: @unchecked Sendable {
    let schema: StreamSchema
    let options: StreamOptions
    let tenant: String
    private let budget: BufferBudget
    private let lock = NSLock()
    // Guarded by `lock`:
    private var bufferedBytes = 0
    private var closed = false
    private var parsers: [RecordParser] = []
    private var inbox: [DurableBatch] = []
    private var inboxRows = 0
    private var wakeQueued = false
    private var failure: Error?
    private var wake: (@Sendable () -> Void)?

    init(schema: StreamSchema, options: StreamOptions, tenant: String, budget: BufferBudget) {
        self.schema = schema
        self.options = options
        self.tenant = tenant
        self.budget = budget
    }

    /// Sets what to call when the inbox holds a block's worth of rows (the pipeline's drain).
    func onBlockReady(_ wake: @escaping @Sendable () -> Void) {
        lock.withLock { self.wake = wake }
    }

    /// Checks `body` (NDJSON) against the schema and lays it out for the log; all or nothing. A
    /// body refused gives `reservation`'s room back at once.
    func prepare(_ body: UnsafeRawBufferPointer, idempotencyKey: String?, now: Int64, reservation: BufferReservation?) throws(RecordError) -> PreparedBatch {
        let parser = takeParser()
        let count: Int
        do {
            count = try parser.appendAll(body)
        } catch {
            reservation?.release()
            returnParser(parser)
            throw error
        }
        guard count > 0 else {
            reservation?.release()
            returnParser(parser)
            throw RecordError(line: 1, field: nil, message: "the body holds no records")
        }
        return PreparedBatch(parser: parser, payload: BatchPayload(acceptedAt: now, records: count, idempotencyKey: idempotencyKey, body: body),
                             reservation: reservation)
    }

    func discard(_ batch: PreparedBatch) {
        batch.reservation?.release()
        returnParser(batch.parser)
    }

    /// Holds room for a request body of `bodyBytes` against the node's buffer bound, waiting up
    /// to `admissionWait` for it (behind the requests that waited first); throws `StoreRefusal`.
    func reserve(bodyBytes: Int) async throws(StoreRefusal) -> BufferReservation {
        guard !lock.withLock({ closed }) else { throw .closed }
        // A request larger than its tenant's share is charged the whole share: it waits until its
        // tenant holds nothing, then goes alone (a body under --max-body is never refused for size).
        let bytes = min(BufferReservation.bytes(forBody: bodyBytes), budget.tenantLimit)
        if let refused = await budget.reserve(bytes, tenant: tenant) { throw refused }
        lock.withLock { bufferedBytes += bytes }
        return BufferReservation(bytes: bytes, admission: self)
    }

    /// Gives back bytes: a batch that did not become durable, or batches now in a segment; lets
    /// waiting requests in.
    func release(_ bytes: Int) {
        lock.withLock { bufferedBytes -= bytes }
        budget.release(bytes, tenant: tenant)
    }

    /// Called on the log's executor, in log order, once a batch is durable.
    func delivered(_ batch: PreparedBatch, sequence: UInt64) {
        let wake: (@Sendable () -> Void)? = lock.withLock {
            inbox.append(DurableBatch(sequence: sequence, parser: batch.parser, bytes: batch.reservation?.handOn() ?? 0))
            inboxRows += batch.records
            guard inboxRows >= options.blockRows, !wakeQueued else { return nil }
            wakeQueued = true
            return self.wake
        }
        wake?()
    }

    /// The durable batches not yet taken, in log order (the pipeline's side of the inbox).
    func takeInbox() -> [DurableBatch] {
        lock.withLock {
            defer {
                inbox.removeAll(keepingCapacity: true)
                inboxRows = 0
                wakeQueued = false
            }
            return inbox
        }
    }

    /// Stops taking new batches (shutdown).
    func close() {
        lock.withLock { closed = true }
    }

    var buffered: Int { lock.withLock { bufferedBytes } }

    /// The error that keeps blocks from reaching segments, if any.
    var storageFailure: Error? { lock.withLock { failure } }

    func setStorageFailure(_ error: Error?) {
        lock.withLock { failure = error }
    }

    /// Takes a parser back for reuse (its buffers keep their capacity), unless it grew past
    /// `pooledParserBytes`: a parser kept in the pool holds its largest request's memory.
    func returnParser(_ parser: RecordParser) {
        guard parser.block.rawBytes <= Self.pooledParserBytes else { return }
        parser.block.removeAll()
        lock.withLock {
            if parsers.count < 8 { parsers.append(parser) }
        }
    }

    /// The largest parsed request whose parser is reused: 1 MiB covers a few thousand log lines.
    static let pooledParserBytes = 1 << 20

    private func takeParser() -> RecordParser {
        lock.withLock { parsers.popLast() } ?? RecordParser(schema: schema)
    }
}
