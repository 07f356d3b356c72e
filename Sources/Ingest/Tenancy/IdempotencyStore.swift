#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import SegmentFormat

/// A tenant's idempotency keys and the answers they got, for `retentionNanoseconds` (segd's
/// `--idempotency-ttl`, 24 h by default): a retry with a known key and the same body gets the
/// first answer and stores nothing twice, across restarts too. A key is bound to its stream and
/// to the SHA-256 of the decoded body (its fingerprint), so a different request under a used key
/// can be refused (422), as the IETF Idempotency-Key draft asks.
///
/// A key is recorded when its batch becomes durable in the write-ahead log (the log's frame holds
/// the key too, so a crash before the key file is synced loses nothing: replay records it again,
/// with the fingerprint of the logged body). `sync` makes recorded keys durable before any log
/// generation is reclaimed; an entry is forgotten from the unwritten list only after its fsync
/// succeeded. After any failed write or fsync the file is not trusted again (its pages may be
/// gone): the next `sync` rewrites every live key from memory into a new file and renames it over.
///
/// Keys expire while segd runs (`expire`), and the file is rewritten (compacted) once it holds
/// more expired lines than live ones. Startup only reads the file, so segd starts on a full disk.
///
/// File: one line per key, `<accepted-at ns>\t<records>\t<stream>\t<fingerprint hex>\t<key>\n`
/// (lines of four fields, from older builds, have no fingerprint). A last line without its
/// newline is torn by a crash and ignored.
///
/// Thread-safe. Requests only take the state lock, which is never held across I/O; file I/O is
/// serialized by a lock of its own.
public final class IdempotencyStore: @unchecked Sendable {
    /// The first answer a key got.
    public struct Answer: Sendable, Equatable {
        public let stream: String
        public let records: Int
        public let acceptedAt: Int64
        /// SHA-256 of the decoded body; nil for keys recorded by builds that did not keep it.
        public let fingerprint: [UInt8]?

        public init(stream: String, records: Int, acceptedAt: Int64, fingerprint: [UInt8]? = nil) {
            self.stream = stream
            self.records = records
            self.acceptedAt = acceptedAt
            self.fingerprint = fingerprint
        }
    }

    /// What a request with a key should do.
    public enum Claim: Sendable, Equatable {
        /// Go ahead; the key is recorded once the batch is durable, or call `release` on failure.
        case claimed
        /// Answer with this, store nothing (after checking stream and fingerprint).
        case answered(Answer)
        /// The first request with this key has not finished yet.
        case inProgress
    }

    /// The fingerprint of a decoded request body.
    public static func fingerprint(_ body: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: body))
    }

    public let path: String
    public let retentionNanoseconds: Int64
    private let clock: @Sendable () -> Int64

    private let lock = NSLock()
    // Guarded by `lock`:
    private var answers: [String: Answer] = [:]
    private var expiry = ExpiryHeap()
    private var inFlight: [String: [UInt8]] = [:]
    /// Lines recorded but not yet durable in the file.
    private var unwritten: [UInt8] = []
    /// Lines in the file for keys no longer live (expired or replaced).
    private var deadLines = 0
    /// The file cannot be appended to (a failed write or fsync, a torn tail not cut): rewrite it.
    private var mustRewrite = false

    private let io = NSLock()
    // Guarded by `io`:
    private var file: KeyFile

    /// Loads the live keys at `path`. Throws `FileSystemError` when the file exists but cannot be
    /// read (an unreadable key file is not an empty one); a missing file is.
    public init(path: String, retentionNanoseconds: Int64 = 24 * 3_600_000_000_000, fileSystem: any FileSystem = PosixFileSystem(),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1e9) }) throws {
        self.path = path
        self.retentionNanoseconds = retentionNanoseconds
        self.clock = clock
        file = KeyFile(path: path, fileSystem: fileSystem)
        let now = clock()
        let loaded = try file.load()
        var lines = 0
        for line in loaded.lines {
            lines += 1
            guard let (key, answer) = Self.parse(line), now - answer.acceptedAt < retentionNanoseconds else { continue }
            if let existing = answers[key], existing.acceptedAt >= answer.acceptedAt { continue }
            answers[key] = answer
            expiry.push(answer.acceptedAt, key)
        }
        deadLines = lines - answers.count
        mustRewrite = !loaded.appendable
    }

    /// Claims `key` for a request of `stream` whose decoded body has `fingerprint`. An expired
    /// key is forgotten here and claimed anew.
    public func claim(_ key: String, fingerprint: [UInt8], now: Int64) -> Claim {
        lock.withLock {
            if let answer = answers[key] {
                if now - answer.acceptedAt < retentionNanoseconds { return .answered(answer) }
                answers[key] = nil
                deadLines += 1
            }
            if inFlight[key] != nil { return .inProgress }
            inFlight[key] = fingerprint
            return .claimed
        }
    }

    public func release(_ key: String) {
        lock.withLock { _ = inFlight.removeValue(forKey: key) }
    }

    /// Records the answer of a durable batch (from a request, whose claim gives the fingerprint,
    /// or from log replay, which passes it). A live first answer is kept.
    public func record(_ key: String, _ answer: Answer) {
        let now = clock()
        lock.withLock {
            let fingerprint = inFlight.removeValue(forKey: key) ?? answer.fingerprint
            guard now - answer.acceptedAt < retentionNanoseconds else { return }
            if let existing = answers[key] {
                if now - existing.acceptedAt < retentionNanoseconds { return }
                deadLines += 1
            }
            let kept = Answer(stream: answer.stream, records: answer.records, acceptedAt: answer.acceptedAt, fingerprint: fingerprint)
            answers[key] = kept
            expiry.push(kept.acceptedAt, key)
            unwritten.append(contentsOf: Self.line(key, kept))
        }
    }

    /// Keys held in memory.
    public var count: Int {
        lock.withLock { answers.count }
    }

    /// Forgets every key older than the retention (cheap: a heap by acceptance time).
    public func expire(now: Int64) {
        lock.withLock {
            while let (at, key) = expiry.peek(), now - at >= retentionNanoseconds {
                expiry.pop()
                // The heap may hold a key's older entry after the key was recorded anew.
                if let answer = answers[key], answer.acceptedAt == at {
                    answers[key] = nil
                    deadLines += 1
                }
            }
        }
    }

    /// Makes every recorded key durable: appends the unwritten lines and fsyncs, or rewrites the
    /// file from memory when it cannot be trusted or holds more dead lines than live ones.
    /// Throws (and keeps the unwritten keys for the next try) if the disk refuses.
    public func sync() throws {
        io.lock()
        defer { io.unlock() }
        enum Plan { case append([UInt8]), rewrite([UInt8]) }
        // `covered`: how many bytes at the front of `unwritten` this I/O makes durable.
        let (plan, covered): (Plan?, Int) = lock.withLock {
            // At most twice the live lines (plus a few) stay in the file, and none once no key
            // is live (however slowly the keys expired).
            let compact = (deadLines > 64 && deadLines > answers.count) || (deadLines > 0 && answers.isEmpty)
            if mustRewrite || compact {
                var all: [UInt8] = []
                for (key, answer) in answers { all.append(contentsOf: Self.line(key, answer)) }
                return (.rewrite(all), unwritten.count)
            }
            if unwritten.isEmpty { return (nil, 0) }
            return (.append(unwritten), unwritten.count)
        }
        guard let plan else { return }
        do {
            switch plan {
            case let .append(bytes): try file.append(bytes)
            case let .rewrite(bytes): try file.replace(with: bytes)
            }
        } catch {
            lock.withLock { mustRewrite = true }
            throw error
        }
        lock.withLock {
            // Keys recorded while the I/O ran stay unwritten for the next sync.
            unwritten.removeFirst(covered)
            if case .rewrite = plan {
                deadLines = 0
                mustRewrite = false
            }
        }
    }

    // MARK: Lines

    private static func line(_ key: String, _ answer: Answer) -> [UInt8] {
        let fingerprint = answer.fingerprint.map { $0.map { String(format: "%02x", $0) }.joined() } ?? "-"
        return Array("\(answer.acceptedAt)\t\(answer.records)\t\(answer.stream)\t\(fingerprint)\t\(key)\n".utf8)
    }

    private static func parse(_ line: ArraySlice<UInt8>) -> (String, Answer)? {
        let parts = line.split(separator: 0x09, maxSplits: 4, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 4 || parts.count == 5, let at = Int64(parts[0]), let records = Int(parts[1]) else { return nil }
        let key = parts[parts.count - 1]
        guard !key.isEmpty else { return nil }
        var fingerprint: [UInt8]?
        if parts.count == 5 && parts[3] != "-" {
            fingerprint = Self.hex(parts[3])
            guard fingerprint?.count == 32 else { return nil }
        }
        return (key, Answer(stream: parts[2], records: records, acceptedAt: at, fingerprint: fingerprint))
    }

    private static func hex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }
}

/// Keys by acceptance time, oldest first: a binary min-heap.
private struct ExpiryHeap {
    private var items: [(at: Int64, key: String)] = []

    func peek() -> (Int64, String)? { items.first.map { ($0.at, $0.key) } }

    mutating func push(_ at: Int64, _ key: String) {
        items.append((at, key))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].at < items[parent].at else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && items[left].at < items[smallest].at { smallest = left }
            if right < items.count && items[right].at < items[smallest].at { smallest = right }
            if smallest == parent { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
