import Foundation
import Logging
import SegmentFormat

/// One tenant's storage under `<data>/<tenant>/`: its write-ahead log (`_wal`, one for all its
/// streams, so that their requests share fsyncs) and its streams' stores. Opening recovers the
/// log first (`TenantLogRecovery`), then every stream that has a directory or batches in the log,
/// each replaying its own batches; a stream first used later opens with nothing to replay.
/// Damage in the log refuses every stream of the tenant (none can tell whether the damaged
/// batches were its own); other tenants are not affected. Thread-safe.
final class TenantStorage: @unchecked Sendable {
    let tenant: String
    let directory: String
    private let schemas: [String: StreamSchema]
    private let options: StreamOptions
    private let idempotency: IdempotencyStore
    private let budget: BufferBudget
    private let hooks: HookRunner
    private let logger: Logger
    private let fileSystem: any FileSystem
    private let log: Result<WriteAheadLog, StreamRefused>
    /// Guards `stores` only; no lock is held across I/O.
    private let lock = NSLock()
    private var stores: [String: Task<StreamStore, Never>] = [:]
    private var openedStores: [String: StreamStore] = [:]
    /// The log's batches of a stream whose recovery stopped for want of space, for the next try.
    private var framesToRetry: [String: [StreamRecovery.Frame]] = [:]

    /// The log's directory in a tenant's directory (`_`: never a stream's name).
    static let logDirectory = "_wal"

    private init(tenant: String, directory: String, schemas: [String: StreamSchema], options: StreamOptions, idempotency: IdempotencyStore,
                 budget: BufferBudget, hooks: HookRunner, logger: Logger, fileSystem: any FileSystem, log: Result<WriteAheadLog, StreamRefused>) {
        self.tenant = tenant
        self.directory = directory
        self.schemas = schemas
        self.options = options
        self.idempotency = idempotency
        self.budget = budget
        self.hooks = hooks
        self.logger = logger
        self.fileSystem = fileSystem
        self.log = log
    }

    /// Opens (and recovers) the tenant's log and every stream it has data for. Throws only when
    /// the tenant's directory itself cannot be read or made.
    static func open(tenant: String, directory: String, schemas: [String: StreamSchema], options: StreamOptions, idempotency: IdempotencyStore,
                     budget: BufferBudget, hooks: HookRunner, logger: Logger, fileSystem: any FileSystem) async throws -> TenantStorage {
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant)"
        try fileSystem.makeDirectories(directory)
        var streams: [String] = []
        var checkpoints: [String: Checkpoint] = [:]
        for name in try fileSystem.list(directory).sorted() where StreamSchema.isValidName(name) {
            guard case .directory = try fileSystem.kind(of: directory + "/" + name) else { continue }
            streams.append(name)
            // A checkpoint that cannot be read refuses its stream later; here it only filters frames.
            if let checkpoint = try? Checkpoint.load(directory + "/\(name)/checkpoint", fileSystem: fileSystem), checkpoint.tenantLog {
                checkpoints[name] = checkpoint
            }
        }
        let logPath = directory + "/" + logDirectory
        var recovered = TenantLogRecovery.Recovered()
        let log: Result<WriteAheadLog, StreamRefused>
        do {
            recovered = try TenantLogRecovery(directory: logPath, fileSystem: fileSystem, logger: logger).run(checkpoints: checkpoints)
            for (key, answer) in recovered.keys { idempotency.record(key, answer) }
            log = .success(try WriteAheadLog(directory: logPath, fileSystem: fileSystem, nextSequence: recovered.nextSequence,
                                             nextGeneration: recovered.nextGeneration, generations: recovered.generations,
                                             rollBytes: options.walRollBytes, label: tenant, logger: logger))
        } catch {
            logger.critical("the tenant's write-ahead log did not recover; every stream of the tenant refuses records until it is fixed",
                            metadata: ["directory": "\(logPath)", "reason": "\(error)"])
            log = .failure(StreamRefused(reason: "the tenant's write-ahead log: \(error)",
                                         retryable: (error as? FileSystemError)?.isOutOfSpace == true))
        }
        let storage = TenantStorage(tenant: tenant, directory: directory, schemas: schemas, options: options, idempotency: idempotency,
                                    budget: budget, hooks: hooks, logger: logger, fileSystem: fileSystem, log: log)
        for stream in Set(streams).union(recovered.frames.keys).sorted() {
            guard schemas[stream] != nil else {
                logger.warning("data left for a stream no longer configured; not recovered (its batches stay in the tenant's log)",
                               metadata: ["stream": "\(stream)"])
                continue
            }
            _ = await storage.open(stream: stream, frames: recovered.frames[stream] ?? [])
        }
        return storage
    }

    /// The store of `stream`, opened on first use; nil when the stream has no schema.
    func store(_ stream: String) async -> StreamStore? {
        guard schemas[stream] != nil else { return nil }
        return await open(stream: stream, frames: [])
    }

    /// The store of `stream` if it is open already; never waits. Nil for one whose recovery
    /// should be tried again (`store` does that).
    func openedStore(_ stream: String) -> StreamStore? {
        lock.withLock { openedStores[stream].flatMap { $0.shouldRetryRecovery ? nil : $0 } }
    }

    /// The open stores.
    var opened: [StreamStore] { lock.withLock { Array(openedStores.values) } }

    private func open(stream: String, frames: [StreamRecovery.Frame]) async -> StreamStore? {
        guard let schema = schemas[stream] else { return nil }
        let opening: Task<StreamStore, Never> = lock.withLock {
            var frames = frames
            if let task = stores[stream] {
                guard openedStores[stream]?.shouldRetryRecovery == true else { return task }
                // Its recovery stopped for want of space: try again, as a restart would, with the
                // log's batches it had to replay.
                openedStores[stream] = nil
                frames = framesToRetry[stream] ?? []
            }
            let task = Task { [self] in
                let store = await StreamStore.open(directory: directory + "/" + stream, tenant: tenant, stream: stream, schema: schema,
                                                   options: options, log: log, frames: frames, idempotency: idempotency, budget: budget,
                                                   hooks: hooks, logger: logger, fileSystem: fileSystem)
                lock.withLock {
                    openedStores[stream] = store
                    framesToRetry[stream] = store.mayRetryRecovery ? frames : nil
                }
                return store
            }
            stores[stream] = task
            return task
        }
        return await opening.value
    }

    private let openedAt = ContinuousClock.now

    /// Whether the tenant's log stopped recovering for want of space long enough ago (5 s) that
    /// the registry should open the tenant again (no stream of it touched the disk meanwhile).
    var shouldRetryRecovery: Bool {
        guard case let .failure(refusal) = log else { return false }
        return refusal.retryable && ContinuousClock.now - openedAt >= .seconds(5)
    }

    /// Bytes in the tenant's log files.
    var logBytes: Int { (try? log.get().bytes) ?? 0 }

    /// Stops every stream taking appends, closes the log once the requests already in it are
    /// durable, writes and seals every stream's blocks, and lets the log start clean. Returns
    /// whether everything reached a sealed segment; what did not stays in the log for the next
    /// start.
    func shutdown() async -> Bool {
        let stores = opened
        for store in stores { store.closeAdmission() }
        guard case let .success(log) = log else { return false }
        await log.close()
        let finished = await withTaskGroup(of: Bool.self) { each in
            for store in stores { each.addTask { await store.finishSegments() } }
            return await each.reduce(true) { $0 && $1 }
        }
        do {
            let empty = try await log.finish()
            return finished && empty
        } catch {
            logger.warning("the write-ahead log was kept at shutdown", metadata: ["error": "\(error)"])
            return false
        }
    }
}
