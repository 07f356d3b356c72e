import Ingest
import Logging
import NIOCore
import SegmentFormat

extension SyslogListener {
    /// The listener `settings` ask for (nil without `--syslog-port`), storing through `path` into
    /// the `syslog` stream of `--syslog-tenant`; throws when that tenant does not exist or the TLS
    /// files cannot be loaded.
    static func configured(_ settings: ServerSettings, tenants: TenantDirectory, path: IngestPath,
                           schemas: [String: StreamSchema], logger: Logger) throws -> SyslogListener? {
        guard let port = settings.syslogPort else { return nil }
        guard let tenant = tenants.tenants[settings.syslogTenant] else {
            throw SchemaCatalog.LoadError(description: "--syslog-tenant '\(settings.syslogTenant)' is not a tenant (known: \(tenants.tenants.keys.sorted().joined(separator: ", ")))")
        }
        let tls = try settings.syslogTLSCertificate.map { certificate in
            try tlsContext(certificate: certificate, key: settings.syslogTLSKey ?? "")
        }
        let stream = "syslog"
        // A message's record is its text escaped (at worst six bytes a byte) and its other fields:
        // messages are cut to fit a record line (--max-line), so no record is refused for length.
        let maxMessage = max(64, settings.maxLine / 8)
        // Batches within the tenant's burst, so none is refused for its size.
        let maxBatch = max(1, min(Int(tenant.burst), 10_000))
        return SyslogListener(host: settings.host, port: port, tls: tls, maxMessage: maxMessage, maxBatchRecords: maxBatch,
                              assumedOffset: schemas[stream]?.defaultOffset ?? 0, logger: logger) { ndjson, _ in
            await path.store(listened: ndjson, tenant: tenant, stream: stream, logger: logger)
        }
    }
}

extension IngestPath {
    /// Stores records a listener has read (not a request): the stream's authorization, the
    /// tenant's limits (a refusal for a limit is "later", which the listener meets with
    /// backpressure), parse and check with invalid records logged and set aside, write-ahead log.
    func store(listened ndjson: [UInt8], tenant: Tenant, stream: String, logger: Logger) async -> SyslogListener.Outcome {
        var admission: Admission?
        do {
            let store = try await authorize(tenant, stream, requestID: "syslog")
            let admitted = try admit(tenant: tenant, store: store, declaredLength: ndjson.count, requestID: "syslog", source: .listener)
            admission = admitted
            var options = IngestOptions()
            options.invalidRecords = .skip
            let buffer = ByteBuffer(bytes: ndjson)
            let outcome = try await self.store(buffer, into: store, admission: admitted, options: options, requestID: "syslog")
            let stored = outcome.storedRecords
            if stored > 0 { metrics.accepted(tenant: tenant.name, stream: stream, records: stored, bytes: ndjson.count) }
            admitted.finish(written: stored > 0 ? ndjson.count : 0)
            if case let .partial(_, rejected) = outcome, let first = rejected.listed.first {
                logger.error("syslog records refused by the stream's schema", metadata: [
                    "tenant": "\(tenant.name)", "stream": "\(stream)", "refused": "\(rejected.count)", "first": "\(first)"])
            }
            return .stored
        } catch let error as APIError {
            admission?.finish(written: 0)
            metrics.rejected(tenant: tenant.name, reason: error.reason, requestBytes: ndjson.count)
            if [429, 503].contains(error.status.code) { return .retry(after: error.retryAfter ?? 1) }
            return .refused(error.message)
        } catch {
            admission?.finish(written: 0)
            return .refused("\(error)")
        }
    }
}
