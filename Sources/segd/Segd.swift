import ArgumentParser
import CMalloc
import Foundation
import Hummingbird
import Ingest
import Logging
import Metrics
import Prometheus
import SegmentFormat
import ServiceLifecycle

@main
struct Segd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segd",
        abstract: "The ingest server: NDJSON over HTTP into compressed columnar segments.",
        discussion: """
        Every flag also reads an environment variable named after it (--data-dir: SEGD_DATA_DIR); \
        a flag wins over the variable. With no configuration at all, segd listens on port 3000, \
        keeps data in ./data and reads stream schemas from ./schemas (or, when there is no ./schemas, \
        serves the built-in example stream 'weblog').

        API:
          POST /v1/streams/{stream}/records   NDJSON or JSON body (gzip, deflate, zstd, snappy optional);
                                              200 {"accepted": N} once durable; Idempotency-Key honoured;
                                              ?invalid=skip stores the valid records and lists the others
          POST /_bulk, /{index}/_bulk         Elasticsearch bulk (GET / and HEAD / answer as Elasticsearch)
          POST /v1/logs                       OpenTelemetry logs, OTLP/HTTP protobuf or JSON
          POST /loki/api/v1/push              Loki push, JSON or snappy protobuf
          POST /services/collector[/raw]      Splunk HTTP Event Collector
          --syslog-port                       syslog (RFC 5424, RFC 3164) over TCP or TLS
          Tokens: Bearer, Basic (the token as the password), ApiKey, Splunk. See docs/ingest.md.
          GET  /v1/streams/{stream}/tail?n=N  the tenant's last N records
          GET  /health (or HEAD)              200 while accepting, 503 while draining
          GET  /metrics                       Prometheus text (loopback clients, or --metrics-token)

        Without --tenants, one tenant 'default' takes the token in SEGD_TOKEN, or a random token \
        printed once at startup. Durations: 500ms, 1s, 5m, 1h. Sizes: 65536, 64KiB, 16MiB, 1GiB.
        Signals: SIGTERM or SIGINT drains (health 503; after --drain-delay the listener closes, and \
        uploads still arriving 5 s later are answered 503), flushes, seals every segment, starts \
        its hooks and exits 0.
        """
    )

    @Option(help: "Interface to listen on (SEGD_HOST; default 0.0.0.0).") var host: String?
    @Option(help: "Port (SEGD_PORT; default 3000).") var port: Int?
    @Option(help: "Where tenants' data lives (SEGD_DATA_DIR; default ./data).") var dataDir: String?
    @Option(help: "Directory of stream schemas, <stream>.schema.json (SEGD_SCHEMAS_DIR; default ./schemas).") var schemasDir: String?
    @Option(help: "Tenants file, see schemas/tenants.schema.json (SEGD_TENANTS; default: one tenant 'default').") var tenants: String?
    @Option(help: "Directory of archival hooks run after each sealed segment (SEGD_HOOKS_DIR; default none).") var hooksDir: String?
    @Option(help: "This node's name in segment names (SEGD_NODE_ID; default the hostname).") var nodeId: String?
    @Option(help: "Largest request body, before and after gzip (SEGD_MAX_BODY; default 16MiB).") var maxBody: String?
    @Option(help: "Longest record line (SEGD_MAX_LINE; default 1MiB).") var maxLine: String?
    @Option(help: "Buffered records become a block at least this often (SEGD_FLUSH_INTERVAL; default 1s).") var flushInterval: String?
    @Option(help: "Seal the active segment past this size (SEGD_SEGMENT_MAX_BYTES; default 64MiB).") var segmentMaxBytes: String?
    @Option(help: "Seal segments at each multiple of this interval, aligned to the clock (SEGD_ROTATE_INTERVAL; default 1h).") var rotateInterval: String?
    @Option(help: "Longest graceful shutdown before segd gives up (SEGD_SHUTDOWN_TIMEOUT; default 30s).") var shutdownTimeout: String?
    @Option(help: "After SIGTERM, answer 503 this long before closing the listener, so the load balancer sees the node drain (SEGD_DRAIN_DELAY; default 0s).") var drainDelay: String?
    @Option(help: "A hook run longer than this is killed and retried (SEGD_HOOK_TIMEOUT; default 60s).") var hookTimeout: String?
    @Option(help: "Refuse records (503) when the data directory's file system has less free space (SEGD_MIN_FREE_BYTES; default 64MiB).") var minFreeBytes: String?
    @Option(help: "Rows per block: larger blocks compress repetitive logs better and buffer more memory per stream (SEGD_BLOCK_ROWS; default 16384).") var blockRows: Int?
    @Option(help: "Encodings tried per column chunk, 1 to 3: more is smaller, fewer is faster (SEGD_ENCODING_CANDIDATES; default 3).") var encodingCandidates: Int?
    @Option(help: "Bytes of accepted records the node holds in memory, not yet in segments, before requests wait for room; with several tenants, one may hold half (SEGD_MAX_BUFFERED_BYTES; default 48MiB).") var maxBufferedBytes: String?
    @Option(help: "How long a request that was read waits for room in a stream's full buffers before it gets 503, 0s to 60s (SEGD_ADMISSION_WAIT; default 2s).") var admissionWait: String?
    @Option(help: "Bytes of recent records kept per stream for tail (SEGD_TAIL_BYTES; default 8MiB).") var tailBytes: String?
    @Option(help: "Request bytes held in memory at once, node-wide; past it requests get 503 (SEGD_MAX_INFLIGHT_BYTES; default 256MiB).") var maxInflightBytes: String?
    @Option(help: "A request's headers must arrive within this (SEGD_HEADER_TIMEOUT; default 10s).") var headerTimeout: String?
    @Option(help: "A request body with no progress for this long is answered 408 (SEGD_BODY_TIMEOUT; default 30s).") var bodyTimeout: String?
    @Option(help: "An idle keep-alive connection closes after this (SEGD_IDLE_TIMEOUT; default 60s).") var idleTimeout: String?
    @Option(help: "Connections served at once; past it a connection may only ask /health (SEGD_MAX_CONNECTIONS; default 10000).") var maxConnections: Int?
    @Option(help: "How long an Idempotency-Key is remembered (SEGD_IDEMPOTENCY_TTL; default 24h).") var idempotencyTtl: String?
    @Option(help: "Bearer token /metrics asks for; without one, /metrics answers loopback clients only (SEGD_METRICS_TOKEN).") var metricsToken: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical (SEGD_LOG_LEVEL; default info).") var logLevel: String?
    @Option(help: "Also append the log lines to this file, e.g. in Elastic Beanstalk's Logging directory (SEGD_LOG_FILE; default stdout only).") var logFile: String?
    @Option(help: "Accept syslog (RFC 5424 and RFC 3164; octet-counted, LF or NUL framing) over TCP on this port into the 'syslog' stream (SEGD_SYSLOG_PORT; default off).") var syslogPort: Int?
    @Option(help: "The tenant whose 'syslog' stream the syslog listener fills (SEGD_SYSLOG_TENANT; default 'default').") var syslogTenant: String?
    @Option(help: "PEM certificate chain for syslog over TLS, with --syslog-tls-key (SEGD_SYSLOG_TLS_CERT; default plain TCP).") var syslogTlsCert: String?
    @Option(help: "PEM private key for syslog over TLS (SEGD_SYSLOG_TLS_KEY).") var syslogTlsKey: String?

    /// The time uploads get after the drain delay before they are cut off.
    static let uploadGrace: Int64 = 5_000_000_000

    func run() async throws {
        // Fewer glibc arenas: the cooperative pool's threads would otherwise each keep their own.
        mallopt(M_ARENA_MAX, 2)
        // A fixed mmap threshold: blocks of 256 KiB or more (request bodies, column buffers) are
        // mapped, and unmapped when freed. By default glibc raises the threshold each time such a
        // block is freed (up to 32 MiB) and then keeps freed bodies in its heap: peak RSS with
        // 1,000-record flights bodies at 64 connections was 152-155 MiB, 121-131 with this.
        mallopt(M_MMAP_THRESHOLD, 256 << 10)
        let settings = try resolve(environment: ProcessInfo.processInfo.environment)
        var logFile: Int32 = -1
        if let path = settings.logFile {
            logFile = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard logFile >= 0 else {
                throw ValidationError("--log-file \(path): \(String(cString: strerror(errno)))")
            }
        }
        let logDescriptor = logFile
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label, fileDescriptor: logDescriptor)
            handler.logLevel = settings.logLevel
            return handler
        }
        let logger = Logger(label: "segd")
        let prometheus = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(ServerMetrics.factory(registry: prometheus))

        let tenants: TenantDirectory
        let schemas: [String: StreamSchema]
        let lock: DataDirectoryLock
        do {
            tenants = try loadTenants(settings, logger: logger)
            schemas = try SchemaCatalog.load(directory: settings.schemasDirectory, embeddedIfMissing: settings.schemasDirectoryIsDefault)
            try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
            lock = try DataDirectoryLock(dataDirectory: settings.dataDirectory)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
        if schemas.isEmpty {
            logger.warning("no stream schemas found; every POST will answer 404", metadata: ["schemas_dir": "\(settings.schemasDirectory)"])
        }

        var policy = ConnectionPolicy()
        policy.headerTimeout = .nanoseconds(settings.headerTimeout)
        policy.bodyTimeout = .nanoseconds(settings.bodyTimeout)
        policy.idleTimeout = .nanoseconds(settings.idleTimeout)
        let openFiles = OpenFileLimit.raiseToHardLimit()
        let usable = max(1, openFiles - OpenFileLimit.reserve(forLimit: openFiles) - policy.healthOnlyConnections)
        policy.maxConnections = min(settings.maxConnections, usable)
        if policy.maxConnections < settings.maxConnections {
            logger.warning("--max-connections lowered to fit the open-files limit", metadata: [
                "max_connections": "\(policy.maxConnections)", "open_files_limit": "\(openFiles)"])
        }
        let connections = ConnectionRegistry(policy: policy)

        var options = StreamOptions(node: settings.node)
        options.blockRows = settings.blockRows
        options.encodingCandidates = settings.encodingCandidates
        options.segmentMaxBytes = settings.segmentMaxBytes
        options.rotateInterval = settings.rotateInterval
        options.maxBufferedBytes = settings.maxBufferedBytes
        // With several tenants, none may take all the room: half of it at most.
        options.maxTenantBufferedBytes = tenants.tenants.count > 1 ? settings.maxBufferedBytes / 2 : settings.maxBufferedBytes
        options.admissionWait = settings.admissionWait
        options.tailBytes = settings.tailBytes
        options.idempotencyTTL = settings.idempotencyTTL
        let registry: StreamRegistry
        let disk = DiskUsage(dataDirectory: settings.dataDirectory)
        do {
            let hooks = try HookRunner(hooksDirectory: settings.hooksDirectory, journalDirectory: settings.dataDirectory + "/.hooks",
                                       timeout: TimeInterval(settings.hookTimeout) / 1e9, logger: logger)
            registry = StreamRegistry(dataDirectory: settings.dataDirectory, schemas: schemas, options: options, hooks: hooks, logger: logger)
            // Recovery before serving: replay every log, cut and resume active segments.
            try await registry.recoverAll(tenants: Set(tenants.tenants.keys))
            hooks.start()
            disk.refresh()
        } catch {
            logger.critical("cannot recover the data directory: \(error)", metadata: ["data_dir": "\(settings.dataDirectory)"])
            throw ExitCode(2)
        }

        let state = ServerState()
        let metrics = ServerMetrics(registry: prometheus)
        let path = IngestPath(registry: registry, limits: tenants.tenants.mapValues(TenantLimits.init), disk: disk,
                              inflight: InflightBytes(limit: settings.maxInflightBytes), state: state, settings: settings,
                              metrics: metrics, logger: logger)
        let api = IngestAPI(path: path, authentication: Authentication(tenants: tenants), registry: registry, state: state,
                            metrics: metrics, metricsToken: settings.metricsToken, logger: logger)
        let router = Router(context: SegdRequestContext.self)
        api.addRoutes(to: router)
        let app = Application(
            router: router,
            server: .guardedHTTP1(registry: connections),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "segd",
                                 availableConnectionsDelegate: ConnectionAvailability(registry: connections)),
            onServerRunning: { _ in
                logger.info("segd listening", metadata: [
                    "host": "\(settings.host)", "port": "\(settings.port)", "data_dir": "\(settings.dataDirectory)",
                    "streams": "\(schemas.keys.sorted().joined(separator: ","))", "node": "\(settings.node)",
                    "max_connections": "\(connections.policy.maxConnections)", "open_files_limit": "\(openFiles)",
                ])
            },
            logger: logger
        )
        let storage = StorageService(registry: registry, state: state, disk: disk, flushInterval: settings.flushInterval,
                                     shutdownTimeout: settings.shutdownTimeout, logger: logger)
        let syslog: [any Service]
        do {
            syslog = try SyslogListener.configured(settings, tenants: tenants, path: path, schemas: schemas, logger: logger).map { [$0] } ?? []
        } catch {
            logger.critical("cannot start the syslog listener: \(error)")
            throw ExitCode(2)
        }
        let drain = DrainService(state: state, connections: connections, delay: settings.drainDelay, uploadGrace: Self.uploadGrace, logger: logger)
        // Shutdown runs in reverse: drain first, then the HTTP server (requests finish; uploads
        // still arriving are cut off), then the syslog listener (what it read is stored), then
        // storage (flush, seal, hooks, delete the logs).
        var configuration = ServiceGroupConfiguration(services: [storage] + syslog + [app, drain], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .nanoseconds(settings.shutdownTimeout)
        try await ServiceGroup(configuration: configuration).run()
        withExtendedLifetime(lock) {}
        logger.info("segd stopped cleanly")
    }

    /// Flags, then `SEGD_*` environment variables, then defaults.
    func resolve(environment: [String: String]) throws -> ServerSettings {
        var s = ServerSettings()
        func value(_ flag: String?, _ variable: String) -> String? {
            flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        func duration(_ flag: String?, _ variable: String, _ name: String, _ into: inout Int64) throws {
            guard let text = value(flag, variable) else { return }
            guard let ns = Units.duration(text) else { throw ValidationError("\(name) '\(text)' (or \(variable)) is not a duration such as 500ms, 1s, 5m, 1h") }
            into = ns
        }
        func size(_ flag: String?, _ variable: String, _ name: String, _ into: inout Int) throws {
            guard let text = value(flag, variable) else { return }
            guard let n = Units.bytes(text) else { throw ValidationError("\(name) '\(text)' (or \(variable)) is not a size such as 65536, 64KiB, 16MiB") }
            into = n
        }
        s.host = value(host, "SEGD_HOST") ?? s.host
        if let text = port.map(String.init) ?? value(nil, "SEGD_PORT") {
            guard let p = Int(text), (0...65535).contains(p) else { throw ValidationError("--port '\(text)' (or SEGD_PORT) is not a port number") }
            s.port = p
        }
        s.dataDirectory = value(dataDir, "SEGD_DATA_DIR") ?? s.dataDirectory
        if let directory = value(schemasDir, "SEGD_SCHEMAS_DIR") {
            s.schemasDirectory = directory
            s.schemasDirectoryIsDefault = false
        }
        s.tenantsFile = value(tenants, "SEGD_TENANTS")
        s.hooksDirectory = value(hooksDir, "SEGD_HOOKS_DIR")
        s.logFile = value(logFile, "SEGD_LOG_FILE")
        s.node = value(nodeId, "SEGD_NODE_ID") ?? s.node
        try size(maxBody, "SEGD_MAX_BODY", "--max-body", &s.maxBody)
        try size(maxLine, "SEGD_MAX_LINE", "--max-line", &s.maxLine)
        try duration(flushInterval, "SEGD_FLUSH_INTERVAL", "--flush-interval", &s.flushInterval)
        try size(segmentMaxBytes, "SEGD_SEGMENT_MAX_BYTES", "--segment-max-bytes", &s.segmentMaxBytes)
        try duration(rotateInterval, "SEGD_ROTATE_INTERVAL", "--rotate-interval", &s.rotateInterval)
        try duration(shutdownTimeout, "SEGD_SHUTDOWN_TIMEOUT", "--shutdown-timeout", &s.shutdownTimeout)
        try duration(drainDelay, "SEGD_DRAIN_DELAY", "--drain-delay", &s.drainDelay)
        try duration(hookTimeout, "SEGD_HOOK_TIMEOUT", "--hook-timeout", &s.hookTimeout)
        try size(minFreeBytes, "SEGD_MIN_FREE_BYTES", "--min-free-bytes", &s.minFreeBytes)
        try size(maxBufferedBytes, "SEGD_MAX_BUFFERED_BYTES", "--max-buffered-bytes", &s.maxBufferedBytes)
        try duration(admissionWait, "SEGD_ADMISSION_WAIT", "--admission-wait", &s.admissionWait)
        try size(tailBytes, "SEGD_TAIL_BYTES", "--tail-bytes", &s.tailBytes)
        try size(maxInflightBytes, "SEGD_MAX_INFLIGHT_BYTES", "--max-inflight-bytes", &s.maxInflightBytes)
        try duration(headerTimeout, "SEGD_HEADER_TIMEOUT", "--header-timeout", &s.headerTimeout)
        try duration(bodyTimeout, "SEGD_BODY_TIMEOUT", "--body-timeout", &s.bodyTimeout)
        try duration(idleTimeout, "SEGD_IDLE_TIMEOUT", "--idle-timeout", &s.idleTimeout)
        try duration(idempotencyTtl, "SEGD_IDEMPOTENCY_TTL", "--idempotency-ttl", &s.idempotencyTTL)
        s.metricsToken = value(metricsToken, "SEGD_METRICS_TOKEN")
        if let text = syslogPort.map(String.init) ?? value(nil, "SEGD_SYSLOG_PORT") {
            guard let p = Int(text), (0...65535).contains(p) else { throw ValidationError("--syslog-port '\(text)' (or SEGD_SYSLOG_PORT) is not a port number") }
            s.syslogPort = p
        }
        s.syslogTenant = value(syslogTenant, "SEGD_SYSLOG_TENANT") ?? s.syslogTenant
        s.syslogTLSCertificate = value(syslogTlsCert, "SEGD_SYSLOG_TLS_CERT")
        s.syslogTLSKey = value(syslogTlsKey, "SEGD_SYSLOG_TLS_KEY")
        if let text = maxConnections.map(String.init) ?? value(nil, "SEGD_MAX_CONNECTIONS") {
            guard let n = Int(text) else { throw ValidationError("--max-connections '\(text)' (or SEGD_MAX_CONNECTIONS) is not a whole number") }
            s.maxConnections = n
        }
        if let text = blockRows.map(String.init) ?? value(nil, "SEGD_BLOCK_ROWS") {
            guard let n = Int(text) else { throw ValidationError("--block-rows '\(text)' (or SEGD_BLOCK_ROWS) is not a whole number") }
            s.blockRows = n
        }
        if let text = encodingCandidates.map(String.init) ?? value(nil, "SEGD_ENCODING_CANDIDATES") {
            guard let n = Int(text) else { throw ValidationError("--encoding-candidates '\(text)' (or SEGD_ENCODING_CANDIDATES) is not a whole number") }
            s.encodingCandidates = n
        }
        if let text = value(logLevel, "SEGD_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text) else { throw ValidationError("--log-level '\(text)' is not one of trace, debug, info, notice, warning, error, critical") }
            s.logLevel = level
        }
        try s.validate()
        return s
    }

    private func loadTenants(_ settings: ServerSettings, logger: Logger) throws -> TenantDirectory {
        if let file = settings.tenantsFile {
            let directory = try TenantDirectory(path: file)
            logger.info("tenants loaded", metadata: ["file": "\(file)", "tenants": "\(directory.tenants.keys.sorted().joined(separator: ","))"])
            return directory
        }
        if let token = ProcessInfo.processInfo.environment["SEGD_TOKEN"], !token.isEmpty {
            logger.info("single tenant 'default', token from SEGD_TOKEN")
            return TenantDirectory(defaultToken: token)
        }
        let token = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        logger.notice("single tenant 'default' with a generated token (set SEGD_TOKEN or --tenants to choose)", metadata: ["token": "\(token)"])
        return TenantDirectory(defaultToken: token)
    }
}
