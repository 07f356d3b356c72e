#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import Metrics
import NDJSON
import SegmentFormat

/// Runs the archival hooks: after a segment is sealed, every executable in the hooks directory
/// runs once with the segment's path as its argument and `SEG_TENANT`, `SEG_STREAM`, `SEG_PATH`,
/// `SEG_ROWS`, `SEG_MIN_TS`, `SEG_MAX_TS` added to segd's environment (no shell in between),
/// like Elastic Beanstalk's `publishlogs.d`.
///
/// Each run is a journal file written (and fsynced) before the segment is sealed, so pending runs
/// survive a crash or restart; it is deleted once the hook succeeds. A journaled run is queued
/// once, by its id, however it is found (sealed now, or in the journal at start), so no two
/// workers ever run it at once. A hook that fails or passes its timeout (its whole process group
/// gets SIGTERM, then SIGKILL) is logged with the tail of its output, counted and retried with
/// exponential backoff (1 s doubling to 10 min). Hooks run contained (`HookProcess`) on the
/// runner's own threads, so they never stall ingest. A hook runs at least once per segment: one
/// cut short by a crash runs again after the restart.
public final class HookRunner: @unchecked Sendable {
    /// One pending run of one hook for one segment, as journaled.
    public struct Job: Codable, Sendable, Equatable {
        public var hook: String
        public var segment: String
        public var tenant: String
        public var stream: String
        public var rows: Int
        public var minTimestamp: Int64?
        public var maxTimestamp: Int64?
        public var attempts: Int = 0
    }

    public let hooksDirectory: String?
    public let journalDirectory: String
    public let timeout: TimeInterval
    private let logger: Logger
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queue: [(id: String, job: Job, due: Date)] = []
    /// Ids queued or running: a run is never queued twice.
    private var known: Set<String> = []
    private var running: Set<String> = []
    private var stopped = false
    /// At shutdown: runs that are due may still start until then.
    private var startDeadline: Date?
    private var threads: [Thread] = []

    private let fileSystem: any FileSystem

    public init(hooksDirectory: String?, journalDirectory: String, timeout: TimeInterval, logger: Logger,
                fileSystem: any FileSystem = PosixFileSystem()) throws {
        self.hooksDirectory = hooksDirectory
        self.journalDirectory = journalDirectory
        self.timeout = timeout
        self.logger = logger
        self.fileSystem = fileSystem
        try fileSystem.makeDirectories(outputDirectory)
    }

    private var outputDirectory: String { (journalDirectory as NSString).appendingPathComponent("output") }

    /// The executables in the hooks directory, by name, sorted.
    public func hooks() -> [String] {
        guard let hooksDirectory, let names = try? FileManager.default.contentsOfDirectory(atPath: hooksDirectory) else { return [] }
        return names.filter { name in
            !name.hasPrefix(".") && access((hooksDirectory as NSString).appendingPathComponent(name), X_OK) == 0
                && !FileManager.default.isDirectory((hooksDirectory as NSString).appendingPathComponent(name))
        }.sorted()
    }

    /// Journals one run per hook for the segment about to be sealed at `segment`; returns the
    /// journal ids to `submit` once the seal succeeds.
    public func prepare(segment: String, tenant: String, stream: String, rows: Int, timeRange: ClosedRange<Int64>?) throws -> [String] {
        var ids: [String] = []
        for hook in hooks() {
            let job = Job(hook: hook, segment: segment, tenant: tenant, stream: stream, rows: rows,
                          minTimestamp: timeRange?.lowerBound, maxTimestamp: timeRange?.upperBound)
            let id = "\(tenant).\(stream).\((segment as NSString).lastPathComponent).\(hook)"
            try write(job, id: id)
            ids.append(id)
        }
        return ids
    }

    /// Queues the journaled runs `ids` (their segment is sealed now).
    public func submit(_ ids: [String]) {
        let jobs = ids.compactMap { id in read(id).map { (id, $0) } }
        condition.lock()
        for (id, job) in jobs { enqueue(id, job, due: Date()) }
        condition.broadcast()
        condition.unlock()
    }

    /// Queues a run unless it is queued or running already. Call with `condition` locked.
    @discardableResult
    private func enqueue(_ id: String, _ job: Job, due: Date) -> Bool {
        guard known.insert(id).inserted else { return false }
        queue.append((id, job, due))
        return true
    }

    /// Queues every journaled run whose segment still exists (after a restart), and starts
    /// `workers` threads.
    public func start(workers: Int = 2) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: journalDirectory)) ?? []
        var restored = 0
        for name in names where name.hasSuffix(".job") {
            let id = String(name.dropLast(4))
            guard let job = read(id) else { continue }
            if FileManager.default.fileExists(atPath: job.segment) {
                condition.lock()
                if enqueue(id, job, due: Date()) { restored += 1 }
                condition.unlock()
            } else {
                logger.warning("hook run dropped: its segment is gone", metadata: ["hook": "\(job.hook)", "segment": "\(job.segment)"])
                unlink(journalPath(id))
            }
        }
        if restored > 0 { logger.info("hook runs restored from the journal", metadata: ["count": "\(restored)"]) }
        for i in 0..<workers {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "hooks-\(i)"
            threads.append(thread)
            thread.start()
        }
    }

    /// Stops the workers. Until `grace` seconds from now, runs that are due still start (the
    /// segments sealed at shutdown get their hooks) and runs in progress may finish; what is left
    /// stays journaled for the next start (a run cut short runs again: hooks run at least once).
    public func stop(grace: TimeInterval = 5) {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(grace)
        startDeadline = deadline
        condition.broadcast()
        while (!running.isEmpty || queue.contains { $0.due <= Date() }) && !threads.isEmpty && condition.wait(until: deadline) {}
        stopped = true
        condition.broadcast()
    }

    /// Runs not yet succeeded (queued or running).
    public var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count + running.count
    }

    private func journalPath(_ id: String) -> String { (journalDirectory as NSString).appendingPathComponent(id + ".job") }

    /// Journals `job` durably (`FileSystem.replace`). A replace whose directory fsync failed
    /// throws too: its run is not known to survive a crash, so the segment is not sealed yet.
    private func write(_ job: Job, id: String) throws {
        if case let .replacedDurabilityUnknown(error) = try fileSystem.replace(journalPath(id), with: Array(try JSONEncoder().encode(job))) {
            throw error
        }
    }

    private func read(_ id: String) -> Job? {
        guard let data = FileManager.default.contents(atPath: journalPath(id)) else { return nil }
        return try? JSONDecoder().decode(Job.self, from: data)
    }

    private func work() {
        while true {
            condition.lock()
            var next: (id: String, job: Job, due: Date)?
            while next == nil {
                let now = Date()
                if stopped || startDeadline.map({ now >= $0 }) == true {
                    condition.unlock()
                    return
                }
                if let i = queue.firstIndex(where: { $0.due <= now }) {
                    next = queue.remove(at: i)
                } else {
                    let wake = min(queue.map(\.due).min() ?? now.addingTimeInterval(60), startDeadline ?? .distantFuture)
                    _ = condition.wait(until: wake)
                }
            }
            guard let (id, first, _) = next else { continue }
            var job = first
            running.insert(id)
            condition.unlock()

            let outcome = FileManager.default.fileExists(atPath: job.segment) ? run(job, id: id) : .segmentGone
            condition.lock()
            running.remove(id)
            if !outcome.isRetried { known.remove(id) }
            condition.broadcast()
            condition.unlock()
            Counter(label: "segd_hook_runs_total", dimensions: [("hook", job.hook), ("result", outcome.label)]).increment()
            switch outcome {
            case .succeeded:
                logger.info("hook succeeded", metadata: ["hook": "\(job.hook)", "segment": "\(job.segment)"])
                unlink(journalPath(id))
            case .segmentGone:
                logger.warning("hook run dropped: its segment is gone", metadata: ["hook": "\(job.hook)", "segment": "\(job.segment)"])
                unlink(journalPath(id))
            case let .failed(reason, output), let .timedOut(reason, output):
                job.attempts += 1
                let delay = min(pow(2, Double(job.attempts - 1)), 600)
                Counter(label: "segd_hook_failures_total", dimensions: [("hook", job.hook)]).increment()
                logger.error("hook failed; retrying", metadata: [
                    "hook": "\(job.hook)", "segment": "\(job.segment)", "reason": "\(reason)",
                    "attempt": "\(job.attempts)", "retry_in_s": "\(delay)", "output": "\(output)",
                ])
                try? write(job, id: id)
                condition.lock()
                // Still in `known`: it goes back in the queue under the same id.
                queue.append((id, job, Date().addingTimeInterval(delay)))
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    private enum Outcome {
        case succeeded
        case segmentGone
        case failed(String, String)
        case timedOut(String, String)

        var isRetried: Bool {
            switch self {
            case .failed, .timedOut: true
            case .succeeded, .segmentGone: false
            }
        }

        var label: String {
            switch self {
            case .succeeded: "ok"
            case .segmentGone: "dropped"
            case .failed: "failed"
            case .timedOut: "timeout"
            }
        }
    }

    /// Runs the hook once, contained (`HookProcess`), waiting at most `timeout`. Its output's
    /// tail is kept in the journal's `output/` while it runs, logged, and the file deleted.
    private func run(_ job: Job, id: String) -> Outcome {
        guard let hooksDirectory else { return .segmentGone }
        var environment = ProcessInfo.processInfo.environment
        environment["SEG_TENANT"] = job.tenant
        environment["SEG_STREAM"] = job.stream
        environment["SEG_PATH"] = job.segment
        environment["SEG_ROWS"] = String(job.rows)
        environment["SEG_MIN_TS"] = job.minTimestamp.map { RFC3339.format($0) } ?? ""
        environment["SEG_MAX_TS"] = job.maxTimestamp.map { RFC3339.format($0) } ?? ""
        let outputPath = (outputDirectory as NSString).appendingPathComponent(id + ".log")
        let process = HookProcess(executable: (hooksDirectory as NSString).appendingPathComponent(job.hook), arguments: [job.segment],
                                  environment: environment, outputPath: outputPath, timeout: timeout)
        let (ending, output) = process.run()
        unlink(outputPath)
        let tail = String(decoding: output.suffix(2000), as: UTF8.self)
        switch ending {
        case .exited(0): return .succeeded
        case let .exited(status): return .failed("exit status \(status)", tail)
        case let .signalled(signal): return .failed("signal \(signal)", tail)
        case .timedOut: return .timedOut("timed out after \(timeout) s; its process group was killed", tail)
        case let .couldNotStart(reason): return .failed("could not start: \(reason)", "")
        }
    }
}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}
