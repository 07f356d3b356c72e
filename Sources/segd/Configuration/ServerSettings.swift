import ArgumentParser
import Foundation
import Logging

/// Every setting of a running segd, resolved from flags, then `SEGD_*` variables, then defaults,
/// and checked against `SettingBounds` before anything starts.
struct ServerSettings: Sendable {
    var host = "0.0.0.0"
    var port = 3000
    var dataDirectory = "./data"
    var schemasDirectory = "./schemas"
    /// No schemas directory was configured: without `./schemas`, the embedded example stream is served.
    var schemasDirectoryIsDefault = true
    var tenantsFile: String?
    var hooksDirectory: String?
    var node = ProcessInfo.processInfo.hostName
    var maxBody = 16 << 20
    var maxLine = 1 << 20
    var flushInterval: Int64 = 1_000_000_000
    var segmentMaxBytes = 64 << 20
    var rotateInterval: Int64 = 3_600_000_000_000
    var shutdownTimeout: Int64 = 30_000_000_000
    var drainDelay: Int64 = 0
    var hookTimeout: Int64 = 60_000_000_000
    var minFreeBytes = 64 << 20
    var blockRows = 16_384
    var encodingCandidates = 3
    var maxBufferedBytes = 48 << 20
    var admissionWait: Int64 = 2_000_000_000
    var tailBytes = 8 << 20
    var maxInflightBytes = 256 << 20
    var headerTimeout: Int64 = 10_000_000_000
    var bodyTimeout: Int64 = 30_000_000_000
    var idleTimeout: Int64 = 60_000_000_000
    var maxConnections = 10_000
    var idempotencyTTL: Int64 = 86_400_000_000_000
    var metricsToken: String?
    var logLevel = Logger.Level.info
    var logFile: String?
    /// The syslog listener (off without a port), its tenant, and its TLS certificate and key.
    var syslogPort: Int?
    var syslogTenant = "default"
    var syslogTLSCertificate: String?
    var syslogTLSKey: String?

    /// Checks every size, duration and count against its range; the error names the flag and
    /// the range. Zero and values that would overflow later (a 4 GiB buffer bound, a body larger
    /// than the in-flight bound) are refused here, not at the first request.
    func validate() throws {
        try SettingBounds.size("--max-body", maxBody, 1 << 10 ... 1 << 30)
        try SettingBounds.size("--max-line", maxLine, 64 ... 64 << 20)
        try SettingBounds.duration("--flush-interval", flushInterval, 10_000_000 ... 3_600_000_000_000)
        try SettingBounds.size("--segment-max-bytes", segmentMaxBytes, 1 << 10 ... 64 << 30)
        try SettingBounds.duration("--rotate-interval", rotateInterval, 1_000_000_000 ... 7 * 86_400_000_000_000)
        try SettingBounds.duration("--shutdown-timeout", shutdownTimeout, 1_000_000_000 ... 3_600_000_000_000)
        try SettingBounds.duration("--drain-delay", drainDelay, 0 ... 600_000_000_000)
        try SettingBounds.duration("--hook-timeout", hookTimeout, 100_000_000 ... 86_400_000_000_000)
        try SettingBounds.size("--min-free-bytes", minFreeBytes, 0 ... 1 << 40)
        // Block and buffer arithmetic in the storage layer is 32-bit in places.
        try SettingBounds.size("--max-buffered-bytes", maxBufferedBytes, 1 << 20 ... (4 << 30) - 1)
        try SettingBounds.duration("--admission-wait", admissionWait, 0 ... 60_000_000_000)
        try SettingBounds.size("--tail-bytes", tailBytes, 64 << 10 ... 1 << 30)
        try SettingBounds.size("--max-inflight-bytes", maxInflightBytes, maxBody ... 64 << 30, lowerName: "--max-body")
        try SettingBounds.duration("--header-timeout", headerTimeout, 100_000_000 ... 3_600_000_000_000)
        try SettingBounds.duration("--body-timeout", bodyTimeout, 100_000_000 ... 3_600_000_000_000)
        try SettingBounds.duration("--idle-timeout", idleTimeout, 100_000_000 ... 3_600_000_000_000)
        try SettingBounds.duration("--idempotency-ttl", idempotencyTTL, 1_000_000_000 ... 30 * 86_400_000_000_000)
        try SettingBounds.count("--max-connections", maxConnections, 1 ... 1_000_000)
        try SettingBounds.count("--block-rows", blockRows, 1 ... 1_048_576)
        try SettingBounds.count("--encoding-candidates", encodingCandidates, 1 ... 3)
        guard !node.isEmpty else { throw ValidationError("--node-id must not be empty") }
        if (syslogTLSCertificate == nil) != (syslogTLSKey == nil) {
            throw ValidationError("--syslog-tls-cert and --syslog-tls-key go together: give both, or neither for plain TCP")
        }
        if syslogTLSCertificate != nil && syslogPort == nil {
            throw ValidationError("--syslog-tls-cert needs --syslog-port")
        }
        if let metricsToken, metricsToken.isEmpty || !metricsToken.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            throw ValidationError("--metrics-token must be printable ASCII without spaces")
        }
    }
}

/// The ranges of segd's settings, and the messages that name them.
enum SettingBounds {
    static func size(_ flag: String, _ value: Int, _ range: ClosedRange<Int>, lowerName: String? = nil, upperName: String? = nil) throws {
        guard !range.contains(value) else { return }
        let low = Units.describe(bytes: range.lowerBound) + (lowerName.map { " (\($0))" } ?? "")
        let high = Units.describe(bytes: range.upperBound) + (upperName.map { " (\($0))" } ?? "")
        throw ValidationError("\(flag) \(Units.describe(bytes: value)) is out of range: use \(low) to \(high)")
    }

    static func duration(_ flag: String, _ value: Int64, _ range: ClosedRange<Int64>) throws {
        guard !range.contains(value) else { return }
        throw ValidationError("\(flag) \(Units.describe(nanoseconds: value)) is out of range: use \(Units.describe(nanoseconds: range.lowerBound)) to \(Units.describe(nanoseconds: range.upperBound))")
    }

    static func count(_ flag: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard !range.contains(value) else { return }
        throw ValidationError("\(flag) \(value) is out of range: use \(range.lowerBound) to \(range.upperBound)")
    }
}
