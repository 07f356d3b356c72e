import Query
import S3
import SegmentFormat

/// Segments in S3 as a command sees them: one client, one footer cache and one set of size hints
/// and statistics shared by every `s3://` path of the command.
public final class S3Archive: Sendable {
    public let client: S3Client
    public let cache: FooterCache?
    public let statistics = ArchiveStatistics(ArchiveCounts())
    let hints = LayoutSizeHints()
    let wholeObjects = ByteBudget(S3SegmentSource.wholeObjectBudget)

    public init(client: S3Client, cache: FooterCache?) {
        self.client = client
        self.cache = cache
    }

    /// The segments under `location` that can hold records in `[since, until)` (`ArchiveListing`),
    /// in key order; `estimate` says what the query will read of each (nil: not known).
    public func sources(_ location: S3Location, since: Int64?, until: Int64?, lookbackHours: Int,
                        estimate: ReadPlan.Estimate? = nil) async throws -> [S3SegmentSource] {
        let listing = ArchiveListing(client: client, since: since, until: until, lookbackHours: lookbackHours)
        return try await listing.entries(location).map { entry in
            S3SegmentSource(location: S3Location(bucket: location.bucket, key: entry.key), size: entry.size, etag: entry.etag,
                            client: client, cache: cache, hints: hints, statistics: statistics,
                            estimate: estimate, budget: wholeObjects)
        }
    }

    /// The whole object at `location`, for a check of every byte (`segcat verify`).
    public func wholeObject(_ location: S3Location) async throws -> SegmentData {
        let answer = try await client.get(bucket: location.bucket, key: location.key, range: .whole)
        statistics.update {
            $0.objects += 1
            $0.objectBytes += answer.objectSize
        }
        return SegmentData(answer.bytes)
    }

    /// A line for `--stats`: the requests, the bytes fetched against the bytes of the objects
    /// considered, cache hits and retries.
    public var summary: String {
        let s3 = client.statistics.snapshot
        let archive = statistics.snapshot
        return "s3: \(s3.listRequests) LIST and \(s3.getRequests) GET requests (\(s3.retries) retried); "
            + "\(s3.bytesFetched) bytes fetched of \(archive.objectBytes) in \(archive.objects) objects, \(archive.bytesNeeded) bytes needed; "
            + "footer cache: \(archive.cacheHits) hits, \(archive.cacheMisses) misses"
    }
}
