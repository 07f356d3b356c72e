#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The task executor that block encoding runs on: one thread per core, at a lower scheduling
/// priority (nice 10) than the threads that serve requests. Encoding a block takes tens of
/// milliseconds of CPU; on Swift's cooperative pool (one thread per core, shared with the request
/// handlers) it held a thread that long, and requests queued behind it. On threads of their own
/// at a lower priority, the kernel lets a request's parse and answer run first and gives encoding
/// the CPU that is left, so encoding slows down under load (the buffer bound then makes requests
/// wait) instead of delaying every request. Node-wide: `shared`.
///
/// Written by hand because neither the standard library nor Dispatch offers threads whose
/// priority is lowered for good (a thread cannot take back a lowered priority without
/// CAP_SYS_NICE, so borrowed pool threads cannot be used). Thread-safe.
final class EncodingExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = EncodingExecutor(threads: ProcessInfo.processInfo.activeProcessorCount, nice: 10)

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var jobs: [UnownedJob] = []
    private var head = 0

    init(threads: Int, nice: Int32) {
        for i in 0..<max(1, threads) {
            let thread = Thread { [self] in
                // On Linux a nice value is per thread: `who` 0 is the calling thread.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
                run()
            }
            thread.name = "segd-encode-\(i)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
