import Archive
import Foundation
import Query
import S3
import SegmentFormat

/// The segments a command reads, from its path arguments: local files, directories and globs
/// (`SegmentPaths`), standard input, and `s3://` paths (`S3Archive`), in argument order.
/// Owns what they share: the pool of mapped files and the S3 client.
final class SegmentInputs {
    let files = OpenSegmentFiles()
    private let options: S3Options
    private let environment: [String: String]
    private var archiveInstance: S3Archive?

    init(options: S3Options, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.options = options
        self.environment = environment
    }

    /// The archive, made on first use (only commands with `s3://` paths need credentials).
    var archive: S3Archive? { archiveInstance }

    private func makeArchive() throws -> S3Archive {
        if let archiveInstance { return archiveInstance }
        let made = try options.archive(environment: environment)
        archiveInstance = made
        return made
    }

    /// The sources of `paths`. `s3://` paths are listed within `[since, until)`; `estimate` says
    /// what a query reads of each segment. A path without a segment is reported through `note`
    /// and adds nothing.
    func sources(_ paths: [String], since: Int64? = nil, until: Int64? = nil, estimate: ReadPlan.Estimate? = nil,
                 note: (String) -> Void = { _ in }) throws -> [any SegmentSource] {
        var sources: [any SegmentSource] = []
        for path in paths {
            if path.hasPrefix("s3://") {
                guard let location = S3Location(path) else { throw S3ConfigurationError("\(path): not an s3://BUCKET/KEY address with a valid bucket name") }
                let archive = try makeArchive()
                let lookback = options.lookback
                let found = try AsyncBridge.wait { try await archive.sources(location, since: since, until: until, lookbackHours: lookback, estimate: estimate) }
                // As for a local directory without segments; with a time range, no segment is an answer.
                if found.isEmpty && since == nil && until == nil { note("\(path): no segment (*.seg object) under this path") }
                sources += found
                continue
            }
            for file in try SegmentPaths.expand([path], note: note) {
                if file == "-" {
                    sources.append(LocalSegmentSource(name: file, bytes: SegmentData(StandardInput.readAll()), files: files))
                } else {
                    sources.append(LocalSegmentSource(path: file, files: files))
                }
            }
        }
        return sources
    }

    /// Opens `sources` (their headers and footers). A damaged segment is reported through `report`
    /// and left out; any other failure (a file or object that cannot be read) is thrown.
    func open(_ sources: [any SegmentSource], report: (String, Error) -> Void) throws -> [QuerySegment] {
        var segments: [QuerySegment] = []
        var fatal: Error?
        for (source, result) in zip(sources, SegmentOpening.open(sources, concurrency: options.concurrency)) {
            switch result {
            case let .success(segment): segments.append(segment)
            case let .failure(error as FormatError): report(source.name, error)
            case let .failure(error) where error is CancellationError: continue
            case let .failure(error): fatal = fatal ?? error
            }
        }
        if let fatal { throw fatal }
        return segments
    }

    /// A reader of the whole of `source`, for a check of every byte.
    func wholeReader(_ source: any SegmentSource) throws -> SegmentReader {
        if let s3 = source as? S3SegmentSource, let archive = archiveInstance {
            return try SegmentReader(data: AsyncBridge.wait { try await archive.wholeObject(s3.location) })
        }
        if let local = source as? LocalSegmentSource { return try SegmentReader(data: local.wholeFile()) }
        return try SegmentPaths.open(source.name)
    }

    /// Stops the S3 client, if one was made.
    func shutdown() {
        guard let archive = archiveInstance else { return }
        try? AsyncBridge.wait { try await archive.client.shutdown() }
    }

    /// Whether `error` means the command could not run (exit 2): a file, object or configuration
    /// that cannot be used, as opposed to damaged data.
    static func isUnusable(_ error: Error) -> Bool {
        error is FileError || error is S3Error || error is CredentialError || error is S3ConfigurationError
    }
}
