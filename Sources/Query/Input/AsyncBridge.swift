import Dispatch

/// Runs asynchronous work from synchronous code (segcat's commands and the query's block loop are
/// synchronous; the sources that read over the network are asynchronous).
///
/// Waits by blocking the calling thread, so call it only from a thread outside Swift's concurrency
/// pool: the main thread, never a task or a `concurrentPerform` worker.
public enum AsyncBridge {
    public static func wait<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        try start(operation).wait()
    }

    /// Starts `operation` now; `wait()` on the result blocks until it is done.
    static func start<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) -> Pending<T> {
        let pending = Pending<T>()
        pending.task = Task.detached {
            do {
                pending.complete(.success(try await operation()))
            } catch {
                pending.complete(.failure(error))
            }
        }
        return pending
    }

    /// The outcome of started work, once it is there.
    final class Pending<T: Sendable>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var result: Result<T, Error>?
        var task: Task<Void, Never>?

        func complete(_ outcome: Result<T, Error>) {
            result = outcome
            done.signal()
        }

        func wait() throws -> T {
            done.wait()
            done.signal()
            // The semaphore orders the write in `complete` before this read.
            return try result!.get()
        }

        func cancel() { task?.cancel() }
    }
}
