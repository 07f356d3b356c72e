import Dispatch

/// A serial executor on a Dispatch queue of its own: the actors that own files (the write-ahead
/// log, a stream's segment pipeline) run on one, so their blocking writes and fsyncs never take a
/// thread of Swift's cooperative pool, which the HTTP handlers need (there are as many of those
/// threads as cores). Jobs run one at a time, in the order they were enqueued.
final class SerialQueueExecutor: SerialExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
