import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The syslog listener (`--syslog-port`): RFC 5424 and RFC 3164 messages over TCP, or TLS with
/// `--syslog-tls-cert` and `--syslog-tls-key`, framed by octet counts, LF or NUL, into the
/// `syslog` stream of the tenant named by `--syslog-tenant`, through the shared ingest path.
///
/// Each connection reads, turns what it read into records, and hands them to `store`; it reads
/// again only once they are in the write-ahead log. When the ingest path answers "later" (rate,
/// full buffers, the in-flight bound), the connection waits and retries without reading, so TCP
/// backpressure slows the sender down and nothing is dropped. At shutdown the listener stops
/// accepting, lets batches in flight finish, and closes its connections.
struct SyslogListener: Service {
    /// What the ingest path made of a batch.
    enum Outcome: Sendable {
        case stored
        /// Not now: retry the same batch after this many seconds.
        case retry(after: Int)
        /// Refused for good (a schema that does not fit, a tenant without the stream); the
        /// reason is logged.
        case refused(String)
    }

    /// Stores one batch of NDJSON records (`count` of them) in the syslog stream.
    typealias Store = @Sendable (_ ndjson: [UInt8], _ count: Int) async -> Outcome

    let host: String
    let port: Int
    let tls: NIOSSLContext?
    let maxMessage: Int
    /// Records stored at once: a read that brings more is stored in several batches, in order.
    let maxBatchRecords: Int
    /// RFC 3164's zone: the syslog stream's default offset, in seconds east of UTC.
    let assumedOffset: Int
    let logger: Logger
    let store: Store

    /// Loads the TLS certificate chain and key (PEM files); throws with the file at fault.
    static func tlsContext(certificate: String, key: String) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey)))
    }

    func run() async throws {
        let connections = SyslogConnections()
        let settings = ConnectionSettings(tls: tls, maxMessage: maxMessage, maxBatchRecords: maxBatchRecords, assumedOffset: assumedOffset, store: store,
                                          logger: logger, connections: connections)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = settings.tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(SyslogConnectionHandler(settings))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("syslog listening", metadata: ["host": "\(host)", "port": "\(server.localAddress?.port ?? port)", "tls": "\(tls != nil)"])
        await withGracefulShutdownHandler {
            try? await server.closeFuture.get()
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
        await connections.closeAll()
        logger.info("syslog listener stopped")
    }
}

/// What every connection of one listener shares.
struct ConnectionSettings: Sendable {
    let tls: NIOSSLContext?
    let maxMessage: Int
    let maxBatchRecords: Int
    let assumedOffset: Int
    let store: SyslogListener.Store
    let logger: Logger
    let connections: SyslogConnections
}

/// The listener's open connections and their batches in flight, so that shutdown closes them
/// and returns only once every record read from them is stored (or given up).
final class SyslogConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [ObjectIdentifier: Channel] = [:]
    private var inFlight = 0
    private var closing = false
    private var idle: [CheckedContinuation<Void, Never>] = []

    /// Counts a connection in, under its handler's identity (a channel seen through a context is
    /// not always the same object); false once closing.
    func add(_ channel: Channel, as connection: ObjectIdentifier) -> Bool {
        lock.withLock {
            guard !closing else { return false }
            channels[connection] = channel
            return true
        }
    }

    /// A connection is gone and its last batch stored.
    func remove(_ connection: ObjectIdentifier) {
        let waiters = lock.withLock {
            _ = channels.removeValue(forKey: connection)
            return takeWaitersIfIdle()
        }
        for waiter in waiters { waiter.resume() }
    }

    func batchStarted() {
        lock.withLock { inFlight += 1 }
    }

    func batchEnded() {
        let waiters = lock.withLock {
            inFlight -= 1
            return takeWaitersIfIdle()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Called with the lock held.
    private func takeWaitersIfIdle() -> [CheckedContinuation<Void, Never>] {
        guard closing, inFlight == 0, channels.isEmpty else { return [] }
        defer { idle.removeAll() }
        return idle
    }

    /// Refuses new connections, stops reading, closes every connection, and waits until each has
    /// stored what it read (its last frames included).
    func closeAll() async {
        let open = lock.withLock {
            closing = true
            return Array(channels.values)
        }
        for channel in open { channel.close(promise: nil) }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if inFlight == 0 && channels.isEmpty { return true }
                idle.append(done)
                return false
            }
            if now { done.resume() }
        }
    }

    var isClosing: Bool { lock.withLock { closing } }
}

/// One syslog connection: frames, records, and reads paced by the write-ahead log.
final class SyslogConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private let settings: ConnectionSettings
    private var framing: SyslogFraming
    private let records = NDJSONRecords()
    private var peer: String?
    /// A batch is being stored: reads wait.
    private var storing = false
    private var readWanted = false
    private var ended = false

    init(_ settings: ConnectionSettings) {
        self.settings = settings
        framing = SyslogFraming(maxMessage: settings.maxMessage)
    }

    func channelActive(context: ChannelHandlerContext) {
        guard settings.connections.add(context.channel, as: ObjectIdentifier(self)) else {
            context.close(promise: nil)
            return
        }
        peer = context.remoteAddress.map { address in
            address.ipAddress.map { ip in address.port.map { "\(ip):\($0)" } ?? ip } ?? "\(address)"
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = Self.now()
        buffer.withUnsafeReadableBytes { bytes in
            framing.feed(bytes) { frame in
                SyslogMessage(frame, assumedOffset: settings.assumedOffset, now: now).write(to: records, received: now, peer: peer)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if records.count > 0 && !storing { storeBatch(context: context) }
    }

    func read(context: ChannelHandlerContext) {
        // Backpressure: no read while a batch is on its way to the log.
        if storing || settings.connections.isClosing {
            readWanted = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended = true
        let now = Self.now()
        framing.finish { frame in
            SyslogMessage(frame, assumedOffset: settings.assumedOffset, now: now).write(to: records, received: now, peer: peer)
        }
        if records.count > 0 && !storing { storeBatch(context: context) }
        if !storing { settings.connections.remove(ObjectIdentifier(self)) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        settings.logger.warning("syslog connection error", metadata: ["peer": "\(peer ?? "-")", "error": "\(error)"])
        context.close(promise: nil)
    }

    private func storeBatch(context: ChannelHandlerContext) {
        storing = true
        let bytes = records.bytes()
        let count = records.count
        records.reset()
        settings.connections.batchStarted()
        let settings = self.settings
        let stored = context.eventLoop.makePromise(of: Void.self)
        stored.completeWithTask {
            for (batch, records) in Self.batches(bytes, count: count, max: settings.maxBatchRecords) {
                await Self.store(batch, records, settings)
            }
        }
        stored.futureResult.assumeIsolated().whenComplete { _ in
            self.batchStored(context: context)
            settings.connections.batchEnded()
        }
    }

    /// NDJSON records cut into batches of at most `max` records (lines), in order.
    static func batches(_ bytes: [UInt8], count: Int, max: Int) -> [([UInt8], Int)] {
        guard count > max else { return [(bytes, count)] }
        var batches: [([UInt8], Int)] = []
        var start = 0
        var lines = 0
        for (k, byte) in bytes.enumerated() where byte == 0x0A {
            lines += 1
            if lines == max {
                batches.append((Array(bytes[start...k]), lines))
                start = k + 1
                lines = 0
            }
        }
        if start < bytes.count { batches.append((Array(bytes[start...]), lines)) }
        return batches
    }

    /// Stores a batch, waiting and trying again while the ingest path says "later" (the reads
    /// of the connection wait meanwhile). Once shutdown has begun the tries are bounded, since
    /// storage stops after this listener.
    private static func store(_ bytes: [UInt8], _ count: Int, _ settings: ConnectionSettings) async {
        var tries = 0
        while true {
            switch await settings.store(bytes, count) {
            case .stored:
                return
            case let .refused(reason):
                settings.logger.error("syslog records refused", metadata: ["records": "\(count)", "reason": "\(reason)"])
                return
            case let .retry(after):
                tries += 1
                if settings.connections.isClosing && tries > retriesWhileClosing {
                    settings.logger.error("syslog records refused", metadata: ["records": "\(count)", "reason": "still refused after \(tries) tries at shutdown"])
                    return
                }
                try? await Task.sleep(for: .seconds(max(after, 1)))
            }
        }
    }

    private func batchStored(context: ChannelHandlerContext) {
        storing = false
        // Frames that arrived while storing (the end of the stream) go next.
        if records.count > 0 {
            storeBatch(context: context)
            return
        }
        if ended {
            settings.connections.remove(ObjectIdentifier(self))
            return
        }
        if readWanted {
            readWanted = false
            context.read()
        }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    /// Tries of a batch that is refused for a limit once shutdown has begun.
    static let retriesWhileClosing = 5
}
