import Foundation
import Logging
import SegmentFormat

/// Every tenant's streams under the data directory: opens a tenant's storage (its write-ahead log
/// and its streams, `TenantStorage`) on first use or at startup, a stream's store on first use,
/// and runs the periodic flush and shutdown across all of them. Every stream of every tenant
/// draws from one node-wide buffer bound (`BufferBudget`). Tenant and stream names reach paths
/// only after `StreamSchema.isValidName` (`[a-z0-9][a-z0-9_-]{0,62}`). Thread-safe.
public final class StreamRegistry: @unchecked Sendable {
    public let dataDirectory: String
    public let schemas: [String: StreamSchema]
    public let options: StreamOptions
    public let hooks: HookRunner
    private let logger: Logger
    private let fileSystem: any FileSystem
    private let budget: BufferBudget
    /// Guards only the tables; no lock is held across I/O.
    private let lock = NSLock()
    /// Each tenant's opening, once started: concurrent first requests wait for the same one.
    private var openings: [String: Task<TenantStorage?, Never>] = [:]
    private var opened: [String: TenantStorage] = [:]
    private var idempotency: [String: Slot<IdempotencyStore>] = [:]

    /// Where one tenant's key store lives once opened; its lock is held while it opens.
    private final class Slot<Value>: @unchecked Sendable {
        let lock = NSLock()
        var value: Value?

        func get(_ open: () throws -> Value) rethrows -> Value {
            lock.lock()
            defer { lock.unlock() }
            if let value { return value }
            let opened = try open()
            value = opened
            return opened
        }
    }

    public init(dataDirectory: String, schemas: [String: StreamSchema], options: StreamOptions, hooks: HookRunner, logger: Logger,
                fileSystem: any FileSystem = PosixFileSystem()) {
        self.dataDirectory = dataDirectory
        self.schemas = schemas
        self.options = options
        self.hooks = hooks
        self.logger = logger
        self.fileSystem = fileSystem
        budget = BufferBudget(limit: options.maxBufferedBytes, tenantLimit: options.maxTenantBufferedBytes, wait: options.admissionWait)
    }

    /// Recovers every tenant directory with data from a previous run (for `tenants` that are
    /// still configured): each tenant's log is replayed into its streams and segments sealed
    /// before serving. A stream (or a tenant) whose recovery refuses keeps refusing; the others
    /// serve. Throws only when the data directory itself cannot be read.
    public func recoverAll(tenants: Set<String>) async throws {
        for tenant in try fileSystem.list(dataDirectory).sorted() where StreamSchema.isValidName(tenant) {
            guard case .directory = try fileSystem.kind(of: dataDirectory + "/" + tenant) else { continue }
            guard tenants.contains(tenant) else {
                logger.warning("data left for a tenant no longer configured; not recovered", metadata: ["tenant": "\(tenant)"])
                continue
            }
            _ = try await storage(tenant: tenant)
        }
    }

    /// The tenant's idempotency keys.
    public func idempotencyStore(tenant: String) throws -> IdempotencyStore? {
        guard StreamSchema.isValidName(tenant) else { return nil }
        let slot = lock.withLock {
            if let slot = idempotency[tenant] { return slot }
            let slot = Slot<IdempotencyStore>()
            idempotency[tenant] = slot
            return slot
        }
        return try slot.get {
            let directory = dataDirectory + "/" + tenant
            try fileSystem.makeDirectories(directory)
            // Tenant-level files start with "_", which no stream name can (older builds: idempotency-keys).
            let path = directory + "/_idempotency"
            let old = directory + "/idempotency-keys"
            if try fileSystem.kind(of: path) == nil, try fileSystem.kind(of: old) != nil {
                try fileSystem.rename(old, to: path, .noReplace)
                try fileSystem.syncDirectory(directory)
            }
            return try IdempotencyStore(path: path, retentionNanoseconds: options.idempotencyTTL, fileSystem: fileSystem)
        }
    }

    /// The tenant's storage, opened (and recovered) on first use; nil for an invalid name.
    func storage(tenant: String) async throws -> TenantStorage? {
        guard StreamSchema.isValidName(tenant), let idempotency = try idempotencyStore(tenant: tenant) else { return nil }
        let opening: Task<TenantStorage?, Never> = lock.withLock {
            if let task = openings[tenant] {
                guard opened[tenant]?.shouldRetryRecovery == true else { return task }
                // Its log stopped recovering for want of space: try again, as a restart would.
                opened[tenant] = nil
            }
            let task = Task { [self] () -> TenantStorage? in
                do {
                    let storage = try await TenantStorage.open(tenant: tenant, directory: dataDirectory + "/" + tenant, schemas: schemas,
                                                               options: options, idempotency: idempotency, budget: budget, hooks: hooks,
                                                               logger: logger, fileSystem: fileSystem)
                    lock.withLock { opened[tenant] = storage }
                    return storage
                } catch {
                    logger.error("cannot open the tenant's directory", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
                    return nil
                }
            }
            openings[tenant] = task
            return task
        }
        guard let storage = await opening.value else {
            // Not opened (its directory could not be read): the next request tries again.
            lock.withLock { openings[tenant] = nil }
            throw StreamRefused(reason: "the tenant's directory cannot be opened; see segd's log")
        }
        return storage
    }

    /// The store of `tenant`'s `stream`, opened (and recovered) on first use; nil when the stream
    /// has no schema or a name is invalid. Recovery runs on the stream's own executor.
    public func store(tenant: String, stream: String) async throws -> StreamStore? {
        guard StreamSchema.isValidName(stream), schemas[stream] != nil, let storage = try await storage(tenant: tenant) else { return nil }
        return await storage.store(stream)
    }

    /// The store of `tenant`'s `stream` if it is open already; never waits (nil while it opens).
    public func openedStore(tenant: String, stream: String) -> StreamStore? {
        lock.withLock { opened[tenant].flatMap { $0.shouldRetryRecovery ? nil : $0 } }?.openedStore(stream)
    }

    private var tenantsOpened: [TenantStorage] {
        lock.withLock { Array(opened.values) }
    }

    /// The open stores, for metrics.
    public var allStores: [StreamStore] {
        tenantsOpened.flatMap(\.opened)
    }

    /// Bytes in each open tenant's write-ahead log, for metrics.
    public var logBytes: [(tenant: String, bytes: Int)] {
        tenantsOpened.map { ($0.tenant, $0.logBytes) }
    }

    /// Bytes of accepted records held in memory on the whole node (`--max-buffered-bytes`).
    public var bufferedBytes: Int { budget.current }

    /// Every tenant's idempotency store opened so far.
    public var openIdempotencyStores: [(tenant: String, store: IdempotencyStore)] {
        lock.withLock { Array(idempotency) }.compactMap { tenant, slot in
            slot.lock.withLock { slot.value.map { (tenant, $0) } }
        }
    }

    /// Forgets expired idempotency keys and syncs (or compacts) every tenant's key file.
    /// Blocking; call it off the event loops.
    public func expireIdempotencyKeys(now: Int64) {
        for (tenant, store) in openIdempotencyStores {
            store.expire(now: now)
            do {
                try store.sync()
            } catch {
                logger.warning("idempotency keys not yet durable", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            }
        }
    }

    /// Flushes every stream and seals the segments whose interval is over (without waiting).
    public func tick(now: Int64) {
        for store in allStores { store.tick(now: now) }
    }

    /// Flushes and seals every stream, concurrently, and stops the hooks, within `timeout`.
    /// Returns whether every stream finished in time; one that did not keeps its records in its
    /// write-ahead log, which the next start replays (nothing acknowledged is lost).
    public func shutdown(within timeout: Duration) async -> Bool {
        let tenants = tenantsOpened
        let race = FirstAnswer<Bool>()
        let finished = await withCheckedContinuation { (done: CheckedContinuation<Bool?, Never>) in
            race.wait(done)
            // Unstructured on purpose: blocked file I/O does not answer cancellation, and the
            // process must be able to exit when the time is up.
            Task {
                let all = await withTaskGroup(of: Bool.self) { each in
                    for tenant in tenants { each.addTask { await tenant.shutdown() } }
                    return await each.reduce(true) { $0 && $1 }
                }
                race.answer(all)
            }
            Task {
                try? await Task.sleep(for: timeout)
                race.answer(nil)
            }
        }
        let hooks = self.hooks
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                hooks.stop()
                done.resume()
            }
        }
        if finished == nil {
            logger.error("shutdown ran out of time while writing blocks; the write-ahead logs keep the rest for the next start",
                         metadata: ["timeout": "\(timeout)"])
        }
        return finished ?? false
    }
}

/// The first of several answers to one question, whoever gives it; later ones are dropped.
private final class FirstAnswer<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var waiter: CheckedContinuation<Value?, Never>?

    func wait(_ continuation: CheckedContinuation<Value?, Never>) {
        lock.withLock { waiter = continuation }
    }

    func answer(_ value: Value?) {
        let waiter = lock.withLock {
            defer { self.waiter = nil }
            return self.waiter
        }
        waiter?.resume(returning: value)
    }
}
