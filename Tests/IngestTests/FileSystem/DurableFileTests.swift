import Foundation
import Testing
@testable import Ingest

/// The durable-file primitive under injected faults: a failed write leaves the file where it was,
/// a failed fsync poisons it for good, and an atomic replace tells "not replaced" apart from
/// "replaced, durability unknown".
struct DurableFileTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("durable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func contents(_ path: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: path) ?? Data())
    }

    @Test func appendsAndSyncsTrackTheDurableSize() throws {
        let path = try Self.directory() + "/f"
        let file = try DurableFile.create(path, fileSystem: PosixFileSystem())
        try file.append(Array("abc".utf8))
        #expect(file.size == 3 && file.durableSize == 0)
        try file.sync()
        #expect(file.durableSize == 3)
        #expect(Self.contents(path) == Array("abc".utf8))
    }

    @Test(arguments: [ENOSPC, EIO])
    func aFailedWriteCutsTheFileBackAndTheFileStaysUsable(code: Int32) throws {
        let fs = FaultyFileSystem()
        let path = try Self.directory() + "/f"
        let file = try DurableFile.create(path, fileSystem: fs)
        try file.append(Array("kept".utf8))
        fs.shortWrite(path: "/f", bytes: 3)
        fs.fail(.write, path: "/f", code: code)
        #expect(throws: FileSystemError.self) { try file.append(Array("lost!".utf8)) }
        #expect(Self.contents(path) == Array("kept".utf8), "the 3 bytes of the short write are cut again")
        #expect(!file.isPoisoned)
        try file.append(Array("+more".utf8))
        try file.sync()
        #expect(Self.contents(path) == Array("kept+more".utf8))
    }

    @Test func aFailedCutBackPoisonsTheFile() throws {
        let fs = FaultyFileSystem()
        let path = try Self.directory() + "/f"
        let file = try DurableFile.create(path, fileSystem: fs)
        fs.shortWrite(path: "/f", bytes: 2)
        fs.fail(.write, path: "/f", code: ENOSPC)
        fs.fail(.truncate, path: "/f")
        #expect(throws: FileSystemError.self) { try file.append(Array("garbage".utf8)) }
        #expect(file.isPoisoned)
        #expect(throws: FileSystemError.self) { try file.append(Array("x".utf8)) }
        #expect(Self.contents(path) == Array("ga".utf8), "nothing more is written after the poison")
    }

    @Test func aFailedFsyncPoisonsTheFileAndItIsNeverSyncedAgain() throws {
        let fs = FaultyFileSystem()
        let path = try Self.directory() + "/f"
        let file = try DurableFile.create(path, fileSystem: fs)
        try file.append(Array("a".utf8))
        fs.fail(.fsync, path: "/f")
        #expect(throws: FileSystemError.self) { try file.sync() }
        let syncs = fs.count(.fsync)
        #expect(throws: FileSystemError.self) { try file.sync() }
        #expect(throws: FileSystemError.self) { try file.append(Array("b".utf8)) }
        #expect(fs.count(.fsync) == syncs, "a poisoned file is never fsynced again (fsyncgate)")
        #expect(file.durableSize == 0)
    }

    @Test func aFailedReplaceBeforeTheRenameLeavesTheOldFile() throws {
        let fs = FaultyFileSystem()
        let path = try Self.directory() + "/checkpoint"
        #expect(try fs.replace(path, with: Array("old".utf8)) == .replaced)
        for operation in [FileSystemError.Operation.write, .fsync, .rename] {
            fs.fail(operation, path: "checkpoint")
            #expect(throws: NotReplaced.self) { try fs.replace(path, with: Array("new".utf8)) }
            #expect(Self.contents(path) == Array("old".utf8), "\(operation)")
            #expect(!FileManager.default.fileExists(atPath: path + ".tmp"), "\(operation)")
        }
    }

    @Test func aFailureAfterTheRenameReportsReplacedWithUnknownDurability() throws {
        let fs = FaultyFileSystem()
        let path = try Self.directory() + "/checkpoint"
        _ = try fs.replace(path, with: Array("old".utf8))
        fs.fail(.syncDirectory)
        guard case .replacedDurabilityUnknown = try fs.replace(path, with: Array("new".utf8)) else {
            Issue.record("a failed directory fsync after the rename is not 'replaced'")
            return
        }
        #expect(Self.contents(path) == Array("new".utf8), "what the rename made visible stays")
    }

    @Test func newDirectoriesAreFsyncedIntoTheirParents() throws {
        let fs = FaultyFileSystem()
        let root = try Self.directory()
        let before = fs.count(.syncDirectory)
        try fs.makeDirectories(root + "/a/b/c")
        #expect(fs.count(.syncDirectory) - before == 3)
        try fs.makeDirectories(root + "/a/b/c")
        #expect(fs.count(.syncDirectory) - before == 3, "existing directories are left alone")
    }

    @Test func onlyAMissingPathIsAnAbsence() throws {
        let fs = FaultyFileSystem()
        let root = try Self.directory()
        #expect(try fs.kind(of: root + "/missing") == nil)
        fs.fail(.stat, path: "missing", code: EACCES)
        #expect(throws: FileSystemError.self) { try fs.kind(of: root + "/missing") }
    }
}
