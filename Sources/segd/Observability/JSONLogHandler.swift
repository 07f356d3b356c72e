#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import SegmentFormat

/// A swift-log handler writing one JSON object per line to stdout (time, level, label, message,
/// metadata), which CloudWatch and Elastic Beanstalk's log collection parse as they are, and to
/// `fileDescriptor` too when `--log-file` names a file (opened with `O_APPEND`, so the platform's
/// copy-and-truncate rotation works). swift-log ships only a plain-text handler, and a JSON line
/// is a few lines of code.
struct JSONLogHandler: LogHandler {
    let label: String
    /// The `--log-file`, or -1.
    let fileDescriptor: Int32
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private static let lock = NSLock()

    init(label: String, fileDescriptor: Int32) {
        self.label = label
        self.fileDescriptor = fileDescriptor
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: Any] = [
            "time": ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC") ?? .current,
                                                formatOptions: [.withInternetDateTime, .withFractionalSeconds]),
            "level": event.level.rawValue,
            "logger": label,
            "message": "\(event.message)",
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        Self.lock.lock()
        defer { Self.lock.unlock() }
        line.withUnsafeBytes { raw in
            for fd in [STDOUT_FILENO, fileDescriptor] where fd >= 0 {
                try? FileWriting.writeAll(fd, raw, path: "log")
            }
        }
    }
}
