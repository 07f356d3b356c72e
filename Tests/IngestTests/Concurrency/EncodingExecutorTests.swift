#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Ingest

/// Block encoding runs below the request path's priority (issue 13's latency).
struct EncodingExecutorTests {
    @Test func encodingTasksRunOnThreadsOfLowerPriority() async {
        let executor = EncodingExecutor(threads: 2, nice: 10)
        let niceThere = await Task.detached(executorPreference: executor) { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }.value
        let niceHere = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #expect(niceThere == niceHere + 10 || niceThere == 19, "nice \(niceThere) there, \(niceHere) here")
    }

    @Test func manyTasksAllRun() async {
        let executor = EncodingExecutor(threads: 2, nice: 10)
        let sum = await withTaskGroup(of: Int.self) { group in
            for i in 0..<2_000 { group.addTask(executorPreference: executor) { i } }
            return await group.reduce(0, +)
        }
        #expect(sum == (0..<2_000).reduce(0, +))
    }
}
