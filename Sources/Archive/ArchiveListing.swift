import S3

/// Turns an `s3://` path into the segment objects under it, listing no more than the query's time
/// range needs.
///
/// A path may stop at any level of `PREFIX/<tenant>/<stream>/dt=YYYY-MM-DD/hour=HH/<file>.seg`:
/// a key ending in `.seg` is one object; a `dt=` or `hour=` partition is listed within the time
/// range; any other prefix is explored with delimiter listings until streams are found (a prefix
/// whose first child is a `dt=` partition), and each stream is listed from the first partition
/// that can hold matching records to the last (`PartitionRange`), page by page: one day prefix at a
/// time for ranges of up to `maxDaysListedApart` days, else in one listing that starts after the
/// first partition and stops at the last. Without a time range, everything under the path is
/// listed in one listing, page by page, with no exploring (a request per thousand keys, instead of
/// two per stream and per level). Objects come back in key order.
public struct ArchiveListing: Sendable {
    /// Bound on how deep exploration goes looking for streams below a path.
    static let maxDepth = 8

    public let client: S3Client
    public let since: Int64?
    public let until: Int64?
    public let lookbackHours: Int

    public init(client: S3Client, since: Int64?, until: Int64?, lookbackHours: Int = 1) {
        self.client = client
        self.since = since
        self.until = until
        self.lookbackHours = lookbackHours
    }

    /// One object found, or named by the path (then its size and ETag are not known yet).
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var size: Int?
        public var etag: String?
    }

    public func entries(_ location: S3Location) async throws -> [Entry] {
        if location.key.hasSuffix(".seg") { return [Entry(key: location.key)] }
        let prefix = location.key.isEmpty || location.key.hasSuffix("/") ? location.key : location.key + "/"
        let components = prefix.split(separator: "/")
        if let last = components.last, last.hasPrefix("hour="), components.count >= 2, components[components.count - 2].hasPrefix("dt=") {
            return try await listRange(location.bucket, prefix, stream: components.dropLast(2).map { $0 + "/" }.joined())
        }
        if let last = components.last, last.hasPrefix("dt=") {
            return try await listRange(location.bucket, prefix, stream: components.dropLast().map { $0 + "/" }.joined())
        }
        if since == nil && until == nil {
            return try await list(location.bucket, prefix, PartitionRange(streamPrefix: prefix, since: nil, until: nil, lookbackHours: 0))
        }
        return try await explore(location.bucket, prefix, depth: 0)
    }

    /// Finds the streams below `prefix` and lists each one within the time range.
    private func explore(_ bucket: String, _ prefix: String, depth: Int) async throws -> [Entry] {
        // The first child tells whether this is a stream (its children are dt= partitions).
        let probe = try await client.list(bucket: bucket, prefix: prefix, delimiter: "/", maxKeys: 1)
        if let first = probe.commonPrefixes.first, first.dropFirst(prefix.count).hasPrefix("dt=") {
            return try await listRange(bucket, prefix, stream: prefix)
        }
        var children: [String] = []
        var entries: [Entry] = []
        var token: String?
        repeat {
            let page = try await client.list(bucket: bucket, prefix: prefix, delimiter: "/", continuationToken: token)
            children += page.commonPrefixes
            entries += page.objects.filter { $0.key.hasSuffix(".seg") }.map { Entry(key: $0.key, size: $0.size, etag: $0.etag) }
            token = page.nextContinuationToken
        } while token != nil
        guard depth < Self.maxDepth else { return entries }
        entries += try await Self.concurrently(children) { try await explore(bucket, $0, depth: depth + 1) }
        return entries.sorted { $0.key < $1.key }
    }

    /// `body` of each of `items` at once (the client bounds the requests in flight), results in
    /// the order of `items`: streams and days are listed side by side, not one round trip after another.
    static func concurrently(_ items: [String], _ body: @escaping @Sendable (String) async throws -> [Entry]) async throws -> [Entry] {
        if items.count == 1 { return try await body(items[0]) }
        return try await withThrowingTaskGroup(of: (Int, [Entry]).self) { group in
            for (i, item) in items.enumerated() { group.addTask { (i, try await body(item)) } }
            var results = [[Entry]](repeating: [], count: items.count)
            for try await (i, entries) in group { results[i] = entries }
            return results.flatMap { $0 }
        }
    }

    /// Ranges of at most this many days are listed one `dt=` day at a time: a listing then returns
    /// only keys of days in the range, not every later key up to a page's end.
    static let maxDaysListedApart = 92

    /// Lists `prefix` (a stream or one of its partitions) from the first partition of the range
    /// to the last, all pages.
    private func listRange(_ bucket: String, _ prefix: String, stream: String) async throws -> [Entry] {
        let range = PartitionRange(streamPrefix: stream, since: since, until: until, lookbackHours: lookbackHours)
        guard range.overlaps(prefix: prefix) else { return [] }
        guard let days = PartitionRange.dayPrefixes(streamPrefix: stream, since: since, until: until, lookbackHours: lookbackHours,
                                                    maxDays: Self.maxDaysListedApart) else {
            return try await list(bucket, prefix, range)
        }
        // The days under `prefix`, or `prefix` itself when it lies inside one of them.
        let listed = days.compactMap { day in day.hasPrefix(prefix) ? day : prefix.hasPrefix(day) ? prefix : nil }
        return try await Self.concurrently(listed) { try await list(bucket, $0, range) }
    }

    /// Every page of `prefix` within `range`.
    private func list(_ bucket: String, _ prefix: String, _ range: PartitionRange) async throws -> [Entry] {
        guard range.overlaps(prefix: prefix) else { return [] }
        var entries: [Entry] = []
        var token: String?
        let startAfter = range.startAfter.flatMap { $0 > prefix ? $0 : nil }
        listing: repeat {
            let page = try await client.list(bucket: bucket, prefix: prefix, startAfter: token == nil ? startAfter : nil,
                                             continuationToken: token)
            for object in page.objects {
                if let stop = range.stop, object.key >= stop { break listing }
                if object.key.hasSuffix(".seg") { entries.append(Entry(key: object.key, size: object.size, etag: object.etag)) }
            }
            token = page.nextContinuationToken
        } while token != nil
        return entries
    }
}
