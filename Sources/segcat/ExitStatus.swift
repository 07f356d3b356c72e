import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// segcat's documented exit statuses (see `segcat --help`).
enum ExitStatus {
    /// The input is bad: an invalid record, a damaged segment.
    static let badInput = ExitCode(1)
    /// A file or schema could not be used.
    static let cannotRun = ExitCode(2)
}

/// Prints `message` on stderr, prefixed with `segcat: `.
func printError(_ message: String) {
    var text = "segcat: " + message + "\n"
    text.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}

/// Makes a closed pipe an `EPIPE` error instead of a fatal signal, so output can end quietly.
func ignoreBrokenPipe() {
    signal(SIGPIPE, SIG_IGN)
}
