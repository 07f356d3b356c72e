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
/// survive a crash or restart; it is deleted once the hook succeeds. A hook that fails or passes
/// its timeout (SIGTERM, then SIGKILL) is logged, counted and retried with exponential backoff
/// (1 s doubling to 10 min). Hooks run on the runner's own threads, so they never stall ingest.
/// A hook runs at least once per segment: one cut short by a crash runs again after the restart.
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
    private var running: Set<String> = []
    private var stopped = false
    private var threads: [Thread] = []

    public init(hooksDirectory: String?, journalDirectory: String, timeout: TimeInterval, logger: Logger) throws {
        self.hooksDirectory = hooksDirectory
        self.journalDirectory = journalDirectory
        self.timeout = timeout
        self.logger = logger
        try FileManager.default.createDirectory(atPath: journalDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
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
        for (id, job) in jobs { queue.append((id, job, Date())) }
        condition.broadcast()
        condition.unlock()
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
                queue.append((id, job, Date()))
                condition.unlock()
                restored += 1
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

    /// Stops the workers, waiting up to `grace` seconds for runs in progress; pending runs stay
    /// journaled for the next start (a run cut short runs again: hooks run at least once).
    public func stop(grace: TimeInterval = 5) {
        condition.lock()
        defer { condition.unlock() }
        stopped = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(grace)
        while !running.isEmpty && condition.wait(until: deadline) {}
    }

    /// Runs not yet succeeded (queued or running).
    public var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count + running.count
    }

    private func journalPath(_ id: String) -> String { (journalDirectory as NSString).appendingPathComponent(id + ".job") }

    private func write(_ job: Job, id: String) throws {
        try FileWriting.replace(journalPath(id), with: Array(try JSONEncoder().encode(job)))
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
                if stopped {
                    condition.unlock()
                    return
                }
                let now = Date()
                if let i = queue.firstIndex(where: { $0.due <= now }) {
                    next = queue.remove(at: i)
                } else {
                    let wake = queue.map(\.due).min() ?? now.addingTimeInterval(60)
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

        var label: String {
            switch self {
            case .succeeded: "ok"
            case .segmentGone: "dropped"
            case .failed: "failed"
            case .timedOut: "timeout"
            }
        }
    }

    /// Runs the hook once, waiting at most `timeout`; stdout and stderr go to a file in the
    /// journal's `output/`, whose tail is logged on failure.
    private func run(_ job: Job, id: String) -> Outcome {
        guard let hooksDirectory else { return .segmentGone }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: (hooksDirectory as NSString).appendingPathComponent(job.hook))
        process.arguments = [job.segment]
        var environment = ProcessInfo.processInfo.environment
        environment["SEG_TENANT"] = job.tenant
        environment["SEG_STREAM"] = job.stream
        environment["SEG_PATH"] = job.segment
        environment["SEG_ROWS"] = String(job.rows)
        environment["SEG_MIN_TS"] = job.minTimestamp.map { RFC3339.format($0) } ?? ""
        environment["SEG_MAX_TS"] = job.maxTimestamp.map { RFC3339.format($0) } ?? ""
        process.environment = environment
        let outputPath = (outputDirectory as NSString).appendingPathComponent(id + ".log")
        guard FileManager.default.createFile(atPath: outputPath, contents: nil), let output = FileHandle(forWritingAtPath: outputPath) else { return .failed("cannot open \(outputPath)", "") }
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            return .failed("could not start: \(error.localizedDescription)", "")
        }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if exited.wait(timeout: .now() + 5) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                exited.wait()
            }
            return .timedOut("timed out after \(timeout) s", tail(of: outputPath))
        }
        if process.terminationReason == .exit && process.terminationStatus == 0 { return .succeeded }
        let how = process.terminationReason == .exit ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
        return .failed(how, tail(of: outputPath))
    }

    private func tail(of path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.suffix(2000), as: UTF8.self)
    }
}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}
