#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SegmentFormat

/// A tenant's idempotency keys and the answers they got, for 24 hours: a retry with a known key
/// gets the first answer and stores nothing twice, across restarts too.
///
/// A key is recorded when its batch becomes durable in the write-ahead log (the log's frame holds
/// the key too, so a crash before this file is synced loses nothing: replay records it again).
/// The file is fsynced before any log generation is reclaimed. One line per key:
/// `<accepted-at ns>\t<records>\t<stream>\t<key>`. Thread-safe.
public final class IdempotencyStore: @unchecked Sendable {
    /// The first answer a key got.
    public struct Answer: Sendable, Equatable {
        public let stream: String
        public let records: Int
        public let acceptedAt: Int64
    }

    /// What a request with a key should do.
    public enum Claim: Sendable, Equatable {
        /// Go ahead; call `record` once durable, or `release` on failure.
        case claimed
        /// Answer with this, store nothing.
        case answered(Answer)
        /// The first request with this key has not finished yet.
        case inProgress
    }

    public let path: String
    public let retentionNanoseconds: Int64
    private let lock = NSLock()
    private var answers: [String: Answer] = [:]
    private var inFlight: Set<String> = []
    private var fd: Int32
    /// Lines recorded but not yet written to the file.
    private var unwritten: [UInt8] = []
    private var fileSize = 0

    /// One key's line in the file.
    private static func line(_ key: String, _ answer: Answer) -> [UInt8] {
        Array("\(answer.acceptedAt)\t\(answer.records)\t\(answer.stream)\t\(key)\n".utf8)
    }

    /// Keys are 1 to 255 printable ASCII characters.
    public static func isValid(key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 255 && key.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    /// Loads the keys at `path` younger than the retention, and rewrites the file with only those.
    public init(path: String, retentionNanoseconds: Int64 = 24 * 3600 * 1_000_000_000, now: Int64) throws {
        self.path = path
        self.retentionNanoseconds = retentionNanoseconds
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count == 4, let at = Int64(parts[0]), let records = Int(parts[1]),
                      now - at < retentionNanoseconds else { continue }
                answers[String(parts[3])] = Answer(stream: String(parts[2]), records: records, acceptedAt: at)
            }
        }
        try FileWriting.replace(path, with: answers.flatMap { Self.line($0.key, $0.value) })
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, errno: errno) }
        fileSize = Int(lseek(fd, 0, SEEK_END))
    }

    deinit { close(fd) }

    public func claim(_ key: String, now: Int64) -> Claim {
        lock.lock()
        defer { lock.unlock() }
        if let answer = answers[key], now - answer.acceptedAt < retentionNanoseconds { return .answered(answer) }
        if inFlight.contains(key) { return .inProgress }
        inFlight.insert(key)
        return .claimed
    }

    public func release(_ key: String) {
        lock.lock()
        inFlight.remove(key)
        lock.unlock()
    }

    /// Records the answer of a durable batch (from a request, or from log replay).
    public func record(_ key: String, _ answer: Answer) {
        lock.lock()
        defer { lock.unlock() }
        inFlight.remove(key)
        guard answers[key] == nil else { return }
        answers[key] = answer
        // Not written through here: `sync` runs before the log frames holding these keys are reclaimed.
        unwritten.append(contentsOf: Self.line(key, answer))
    }

    /// Makes every recorded key durable; throws (and keeps them for the next try) if the disk refuses.
    public func sync() throws {
        lock.lock()
        defer { lock.unlock() }
        if !unwritten.isEmpty {
            do {
                try FileWriting.writeAll(fd, unwritten, path: path)
            } catch {
                _ = ftruncate(fd, off_t(fileSize))
                throw error
            }
            fileSize += unwritten.count
            unwritten.removeAll(keepingCapacity: true)
        }
        try FileWriting.sync(fd, path: path)
    }
}
