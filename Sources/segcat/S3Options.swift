import ArgumentParser
import Archive
import Foundation
import S3

/// Options for `s3://` paths, shared by `cat`, `info` and `verify`. Credentials, region and endpoint
/// come from the environment and `~/.aws`, as the AWS CLI reads them (docs/operations.md).
struct S3Options: ParsableArguments {
    @Option(name: .customLong("s3-concurrency"), help: "S3 requests in flight at once.")
    var concurrency: Int = 32

    @Option(name: .customLong("s3-timeout"), help: "Seconds to wait for an S3 answer, and for each pause within one, before retrying.")
    var timeout: Double = 30

    @Option(name: .customLong("s3-attempts"), help: "Attempts per S3 request, the first included, on errors worth retrying (5xx, SlowDown, timeouts, resets).")
    var attempts: Int = 8

    @Option(name: .customLong("s3-lookback"), help: "Hours of partitions before --since to list: segments are filed under their earliest record's hour.")
    var lookback: Int = 1

    @Flag(name: .customLong("no-sign-request"), help: "Send S3 requests unsigned (public buckets).")
    var noSignRequest = false

    @Option(help: "Directory of the footer cache (default: $XDG_CACHE_HOME/segcat, else ~/.cache/segcat).")
    var cacheDir: String?

    @Option(help: "Bound on the footer cache, in bytes, or with K, M or G.")
    var cacheSize: String = "256M"

    @Flag(help: "Neither read nor write the footer cache.")
    var noCache = false

    func validate() throws {
        guard (1...1024).contains(concurrency) else { throw ValidationError("--s3-concurrency must be between 1 and 1024") }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--s3-timeout must be between 0 and 3600 seconds") }
        guard (1...100).contains(attempts) else { throw ValidationError("--s3-attempts must be between 1 and 100") }
        guard (0...24 * 31).contains(lookback) else { throw ValidationError("--s3-lookback must be between 0 and 744 hours") }
        guard Self.bytes(cacheSize) != nil else { throw ValidationError("--cache-size must be a number of bytes, optionally with K, M or G (256M)") }
    }

    /// The archive for this command's `s3://` paths. Throws when the configuration is unusable.
    func archive(environment: [String: String]) throws -> S3Archive {
        let profiles = try SharedProfiles(environment: environment)
        let configuration = try S3Configuration(environment: environment, profiles: profiles)
        let client = S3Client(configuration: configuration, environment: environment, concurrency: concurrency,
                              timeout: .milliseconds(Int64(timeout * 1000)), retry: RetryPolicy(maxAttempts: attempts),
                              signRequests: !noSignRequest)
        let cache = noCache ? nil : FooterCache(directory: cacheDir ?? FooterCache.defaultDirectory(environment: environment),
                                               limit: Self.bytes(cacheSize) ?? 0)
        return S3Archive(client: client, cache: cache)
    }

    /// `123`, `64K`, `256M`, `1G` in bytes.
    static func bytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let unit = text.last.flatMap({ units[Character($0.uppercased())] }), let n = Int(text.dropLast()), n >= 0, n <= Int.max / unit {
            return n * unit
        }
        return Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }
}
