import Foundation
@testable import Ingest
import Logging
import Testing

/// The hook journal on the durable-file primitive: a run is journaled only when its file is
/// known durable, so a segment is never sealed with a run that a crash could forget.
@Suite struct HookRunnerTests {
    let root: String = {
        let d = NSTemporaryDirectory() + "hooks-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d + "/hooks", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: d + "/hooks/ship", contents: Data("#!/bin/sh\nexit 0\n".utf8), attributes: [.posixPermissions: 0o755])
        return d
    }()

    func runner(_ fileSystem: FaultyFileSystem) throws -> HookRunner {
        try HookRunner(hooksDirectory: root + "/hooks", journalDirectory: root + "/.hooks", timeout: 5, logger: Logger(label: "test"),
                       fileSystem: fileSystem)
    }

    func journaled() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root + "/.hooks").filter { $0 != "output" }.sorted()
    }

    func prepare(_ hooks: HookRunner) throws -> [String] {
        try hooks.prepare(segment: root + "/rotated/app-1.seg", tenant: "t", stream: "app", rows: 1, timeRange: nil)
    }

    @Test(arguments: [FileSystemError.Operation.write, .fsync])
    func aJournalThatCouldNotBeMadeDurableRefusesTheSealAndLeavesNothing(operation: FileSystemError.Operation) throws {
        let fileSystem = FaultyFileSystem()
        let hooks = try runner(fileSystem)
        fileSystem.fail(operation, path: ".job.tmp", suffix: true, code: operation == .write ? ENOSPC : EIO)
        #expect(throws: NotReplaced.self) { try prepare(hooks) }
        #expect(try journaled().isEmpty)
        #expect(try prepare(hooks) == ["t.app.app-1.seg.ship"])
        #expect(try journaled() == ["t.app.app-1.seg.ship.job"])
    }

    @Test func aJournalWhoseDirectoryFsyncFailedIsNotCountedDurable() throws {
        let fileSystem = FaultyFileSystem()
        let hooks = try runner(fileSystem)
        fileSystem.fail(.syncDirectory, path: "/.hooks", suffix: true)
        #expect(throws: FileSystemError.self, "replaced, durability unknown: the seal waits") { try prepare(hooks) }
        #expect(try prepare(hooks) == ["t.app.app-1.seg.ship"], "journaled again, under the same id")
        #expect(try journaled() == ["t.app.app-1.seg.ship.job"], "one run, journaled once")
    }
}
