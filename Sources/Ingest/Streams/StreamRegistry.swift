import Foundation
import Logging
import SegmentFormat

/// Every tenant's streams under the data directory: opens a stream's store on first use (or at
/// startup, for every stream a previous run left data for), and runs the periodic flush and
/// shutdown across all of them. Tenant and stream names reach paths only after
/// `StreamSchema.isValidName` (`[a-z0-9][a-z0-9_-]{0,62}`).
/// Thread-safe.
public final class StreamRegistry: @unchecked Sendable {
    public let dataDirectory: String
    public let schemas: [String: StreamSchema]
    public let options: StreamOptions
    public let hooks: HookRunner
    private let logger: Logger
    /// Guards only the slot tables; opening a store holds just that store's slot, so no lock
    /// shared between tenants is held across I/O.
    private let lock = NSLock()
    private var stores: [String: Slot<StreamStore>] = [:]
    private var idempotency: [String: Slot<IdempotencyStore>] = [:]

    /// Where one store lives once opened; its lock is held while it opens.
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

    private func slot<Value>(_ table: ReferenceWritableKeyPath<StreamRegistry, [String: Slot<Value>]>, _ key: String) -> Slot<Value> {
        lock.lock()
        defer { lock.unlock() }
        if let slot = self[keyPath: table][key] { return slot }
        let slot = Slot<Value>()
        self[keyPath: table][key] = slot
        return slot
    }

    public init(dataDirectory: String, schemas: [String: StreamSchema], options: StreamOptions, hooks: HookRunner, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.schemas = schemas
        self.options = options
        self.hooks = hooks
        self.logger = logger
    }

    /// Recovers every `<tenant>/<stream>` directory with data from a previous run (for `tenants`
    /// that are still configured), so the log is replayed and segments sealed before serving.
    public func recoverAll(tenants: Set<String>) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory)) ?? []
        for tenant in names.sorted() where StreamSchema.isValidName(tenant) {
            let streams = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/" + tenant)) ?? []
            for stream in streams.sorted() where StreamSchema.isValidName(stream) && FileManager.default.isDirectory(dataDirectory + "/\(tenant)/\(stream)/wal") {
                guard tenants.contains(tenant), schemas[stream] != nil else {
                    logger.warning("data left for a tenant or stream no longer configured; not recovered", metadata: ["tenant": "\(tenant)", "stream": "\(stream)"])
                    continue
                }
                _ = try store(tenant: tenant, stream: stream)
            }
        }
    }

    /// The tenant's idempotency keys.
    public func idempotencyStore(tenant: String) throws -> IdempotencyStore? {
        guard StreamSchema.isValidName(tenant) else { return nil }
        return try slot(\.idempotency, tenant).get {
            let directory = dataDirectory + "/" + tenant
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Tenant-level files start with "_", which no stream name can (older builds: idempotency-keys).
            let path = directory + "/_idempotency"
            let old = directory + "/idempotency-keys"
            if !FileManager.default.fileExists(atPath: path) && FileManager.default.fileExists(atPath: old) {
                guard rename(old, path) == 0 else { throw FileError(path: old, errno: errno) }
            }
            return try IdempotencyStore(path: path, retentionNanoseconds: options.idempotencyTTL)
        }
    }

    /// The store of `tenant`'s `stream`, opened (and recovered) on first use; nil when the stream
    /// has no schema or a name is invalid.
    public func store(tenant: String, stream: String) throws -> StreamStore? {
        guard StreamSchema.isValidName(tenant), StreamSchema.isValidName(stream), let schema = schemas[stream],
              let idempotency = try idempotencyStore(tenant: tenant) else { return nil }
        return try slot(\.stores, tenant + "/" + stream).get {
            try StreamStore(directory: dataDirectory + "/\(tenant)/\(stream)", tenant: tenant, stream: stream, schema: schema,
                            options: options, idempotency: idempotency, hooks: hooks, logger: logger)
        }
    }

    /// The store of `tenant`'s `stream` if it is open already; never waits for I/O (nil while it
    /// opens), so request handlers can take this path and leave opening to another thread.
    public func openedStore(tenant: String, stream: String) -> StreamStore? {
        lock.lock()
        let slot = stores[tenant + "/" + stream]
        lock.unlock()
        guard let slot, slot.lock.try() else { return nil }
        defer { slot.lock.unlock() }
        return slot.value
    }

    /// The open stores, for metrics.
    public var allStores: [StreamStore] {
        lock.lock()
        defer { lock.unlock() }
        let slots = Array(stores.values)
        lock.unlock()
        defer { lock.lock() }
        return slots.compactMap { slot in
            slot.lock.lock()
            defer { slot.lock.unlock() }
            return slot.value
        }
    }

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

    /// Flushes and seals every stream, concurrently, and stops the hooks.
    public func shutdown() {
        let stores = allStores
        DispatchQueue.concurrentPerform(iterations: stores.count) { i in stores[i].shutdown() }
        hooks.stop()
    }
}
