#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSpawn
import Foundation

/// One run of one hook executable, contained: its own process group (a timeout kills every
/// process it started), a default signal mask and dispositions (segd blocks SIGTERM for its own
/// signal handling; a hook must not inherit that), no descriptor of segd's but stdin from
/// /dev/null, and stdout and stderr into a pipe whose last `outputLimit` bytes are kept, in memory and in `outputPath` (never the
/// whole output). The run ends when the hook's own process exits: children it leaves behind
/// may keep the pipe open, and are not waited for.
///
/// Foundation's `Process` offers none of the process-group, signal-mask or bounded-output
/// controls, so this uses `posix_spawn` directly.
struct HookProcess {
    /// How a run ended.
    enum Ending: Equatable {
        case exited(Int32)
        case signalled(Int32)
        /// Past the timeout; the process group was sent SIGTERM, then SIGKILL after `killGrace`.
        case timedOut
        case couldNotStart(String)
    }

    let executable: String
    let arguments: [String]
    let environment: [String: String]
    let outputPath: String
    var timeout: TimeInterval
    var killGrace: TimeInterval = 5
    var outputLimit = 64 << 10

    /// Runs the hook to its end; returns how it ended and the last bytes of its output.
    func run() -> (Ending, [UInt8]) {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { return (.couldNotStart("pipe: \(String(cString: strerror(errno)))"), []) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        let spawned = spawn(output: writeEnd)
        close(writeEnd)
        guard case let .success(pid) = spawned else {
            close(readEnd)
            if case let .failure(message) = spawned { return (.couldNotStart(message.text), []) }
            return (.couldNotStart("unknown"), [])
        }
        var output = OutputTail(limit: outputLimit, path: outputPath)
        let ending = supervise(pid: pid, output: readEnd, tail: &output)
        // Whatever the hook's children still write is not ours to wait for.
        close(readEnd)
        output.save()
        return (ending, output.bytes)
    }

    private struct SpawnError: Error {
        let text: String
    }

    private func spawn(output: Int32) -> Result<pid_t, SpawnError> {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        // Nothing else of segd's: not its listening socket, logs or segment files.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { return .failure(SpawnError(text: String(cString: strerror(status)))) }
        return .success(pid)
    }

    /// Reads output and waits for `pid` (polling both), killing its group past the timeout.
    private func supervise(pid: pid_t, output: Int32, tail: inout OutputTail) -> Ending {
        let started = Date()
        var killedAt: Date?
        var pipeOpen = true
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if pipeOpen {
                var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
                _ = poll(&poller, 1, 50)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                    if n > 0 {
                        tail.append(buffer[0..<n])
                        continue
                    }
                    if n == 0 { pipeOpen = false }
                    break
                }
            } else {
                usleep(50_000)
            }
            var status: Int32 = 0
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid {
                if killedAt != nil { return .timedOut }
                // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
                let signal = status & 0x7F
                return signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
            }
            if waited < 0 && errno != EINTR { return .exited(-1) }
            let elapsed = Date().timeIntervalSince(started)
            if let killedAt {
                if Date().timeIntervalSince(killedAt) > killGrace { kill(-pid, SIGKILL) }
            } else if elapsed > timeout {
                kill(-pid, SIGTERM)
                killedAt = Date()
            }
            tail.saveIfDue()
        }
    }
}

/// The last `limit` bytes of a hook's output, also kept in a file (rewritten about once a second
/// while the hook runs), so an operator can look while it runs; memory and file stay bounded.
struct OutputTail {
    let limit: Int
    let path: String
    private(set) var bytes: [UInt8] = []
    private var saved = Date()
    private var dirty = false

    init(limit: Int, path: String) {
        self.limit = limit
        self.path = path
    }

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        bytes.append(contentsOf: chunk.suffix(limit))
        if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
        dirty = true
    }

    mutating func saveIfDue() {
        if dirty && Date().timeIntervalSince(saved) >= 1 { save() }
    }

    mutating func save() {
        saved = Date()
        dirty = false
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
