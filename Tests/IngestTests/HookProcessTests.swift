import Foundation
@testable import Ingest
import Testing

@Suite struct HookProcessTests {
    let dir: String = {
        let d = NSTemporaryDirectory() + "hook-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    func process(_ script: String, timeout: TimeInterval = 10) -> HookProcess {
        HookProcess(executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"],
                    outputPath: dir + "/out.log", timeout: timeout, killGrace: 1, outputLimit: 1024)
    }

    @Test func onlyTheLastBytesOfTheOutputAreKept() throws {
        let (ending, output) = process("head -c 1000000 /dev/zero | tr '\\0' x; echo; echo last; exit 3").run()
        #expect(ending == .exited(3))
        #expect(output.count == 1024 && String(decoding: output.suffix(5), as: UTF8.self) == "last\n")
        let file = try #require(FileManager.default.contents(atPath: dir + "/out.log"))
        #expect(file.count == 1024)
    }

    @Test func theRunEndsWhenTheHookExitsNotWhenItsChildrenDo() {
        let started = Date()
        let (ending, _) = process("sleep 30 & echo started").run()
        #expect(ending == .exited(0))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func aTimeoutKillsTheWholeGroup() throws {
        let (ending, _) = process("sleep 30 & echo $! > \(dir)/child; sleep 30", timeout: 0.5).run()
        #expect(ending == .timedOut)
        let child = try #require(Int32(String(decoding: FileManager.default.contents(atPath: dir + "/child") ?? Data(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        // The group got SIGTERM: the child is gone (or a zombie of init) within a moment.
        var gone = false
        for _ in 0..<40 where !gone {
            let state = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8))?.split(separator: ")").last?.split(separator: " ").first
            gone = state == nil || state == "Z"
            usleep(50_000)
        }
        #expect(gone)
    }

    @Test func theHookInheritsNoDescriptorOfSegds() throws {
        let fd = open(dir + "/held", O_WRONLY | O_CREAT, 0o644)  // without O_CLOEXEC
        defer { close(fd) }
        let (ending, output) = process("ls /proc/self/fd").run()
        #expect(ending == .exited(0))
        // 0, 1, 2 and the descriptor ls opens to list the directory.
        #expect(String(decoding: output, as: UTF8.self).split(separator: "\n").count <= 4)
    }

    @Test func stdinIsDevNullAndNoSignalIsBlocked() {
        let (ending, output) = process("readlink /proc/self/fd/0; grep SigBlk /proc/self/status").run()
        #expect(ending == .exited(0))
        #expect(String(decoding: output, as: UTF8.self) == "/dev/null\nSigBlk:\t0000000000000000\n")
    }
}
