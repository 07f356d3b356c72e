import SegmentFormat

/// Opens many segments for a query: reads each one's layout, up to `concurrency` remote ones at
/// once, local ones in turn (mapping a header and footer costs no waiting worth overlapping).
/// A damaged segment (`FormatError`) is one failed result among the others; any other failure
/// (the store refused, the network is gone) stops the opening at once, so a refused credential
/// costs one request, not one per segment.
public enum SegmentOpening {
    /// The opened segments or the errors, in the order of `sources`.
    public static func open(_ sources: [any SegmentSource], concurrency: Int) -> [Result<QuerySegment, Error>] {
        var results = [Result<QuerySegment, Error>?](repeating: nil, count: sources.count)
        var remote: [Int] = []
        for (i, source) in sources.enumerated() {
            if let local = source as? LocalSegmentSource {
                results[i] = Result { QuerySegment(source: local, layout: try local.layoutNow()) }
            } else {
                remote.append(i)
            }
        }
        if !remote.isEmpty {
            let pending = remote.map { sources[$0] }
            let opened = (try? AsyncBridge.wait { await openConcurrently(pending, concurrency: concurrency) }) ?? []
            for (k, i) in remote.enumerated() { results[i] = k < opened.count ? opened[k] : .failure(CancellationError()) }
        }
        return results.map { $0 ?? .failure(CancellationError()) }
    }

    private static func openConcurrently(_ sources: [any SegmentSource], concurrency: Int) async -> [Result<QuerySegment, Error>] {
        await withTaskGroup(of: (Int, Result<QuerySegment, Error>).self) { group in
            var results = [Result<QuerySegment, Error>?](repeating: nil, count: sources.count)
            var started = 0
            func startNext() {
                let i = started
                let source = sources[i]
                group.addTask {
                    do {
                        return (i, .success(QuerySegment(source: source, layout: try await source.layout())))
                    } catch {
                        return (i, .failure(error))
                    }
                }
                started += 1
            }
            while started < min(max(1, concurrency), sources.count) { startNext() }
            for await (i, result) in group {
                results[i] = result
                if case let .failure(error) = result, !(error is FormatError) {
                    group.cancelAll()
                    break
                }
                if started < sources.count { startNext() }
            }
            return results.map { $0 ?? .failure(CancellationError()) }
        }
    }
}
