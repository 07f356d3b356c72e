/// How to read a segment's header and footer: learned from the segments of the same stream already
/// read (segments of one stream share a schema, so their headers are alike, their footers grow with
/// their block count alone, and a query reads about the same share of each).
///
/// The first segment of a stream is read with defaults while the stream's other segments wait for
/// what it shows, so a query over many small segments fetches close to the bytes it needs instead
/// of a fixed guess for each, and reads whole the segments it needs nearly all of (one request
/// instead of three or more). An actor: shared by all the reads of one command.
actor LayoutSizeHints {
    /// Defaults for a stream not seen yet: most headers (schema and column table) fit in 2 KiB, and
    /// the footers of segments of a block or two in 1 KiB (a one-block daily flights segment, 20
    /// columns: a 1,543-byte header, an 861-byte footer). A larger one costs one more request, once
    /// per stream; a larger default would cost its excess on every stream's first segment (a
    /// one-day query fetched 1.47x the bytes it needed with 2 + 2 KiB, a query over many streams of
    /// small segments 1.5x with 4 + 16 KiB).
    static let defaultHeader = 2 << 10
    static let defaultFooter = 1 << 10

    /// Added to the largest header seen: within a stream only the node's name and the tenant vary.
    static func headerSlack(_ size: Int) -> Int { 32 + size / 32 }
    /// Added to the largest footer seen, so that a slightly larger one (longer string stats,
    /// another block) still fits in one request.
    static func footerSlack(_ size: Int) -> Int { 64 + size / 16 }

    /// What to ask for a segment of a stream.
    struct Hint: Equatable {
        var header: Int
        var footer: Int
        /// The share of the stream's first segment that the query read (header, footer and the
        /// chunks it planned), when the command said what it plans (`ReadPlan.Estimate`).
        var share: Double?
    }

    private var seen: [String: Hint] = [:]
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// What to ask for a segment of `stream`. The first caller for a stream gets the defaults at
    /// once and must call `learned` (or `abandon`) later; the others wait until it has.
    func hint(for stream: String) async -> Hint {
        if let s = seen[stream] {
            return Hint(header: s.header + Self.headerSlack(s.header), footer: s.footer + Self.footerSlack(s.footer), share: s.share)
        }
        if waiting[stream] == nil {
            waiting[stream] = []
            return Hint(header: Self.defaultHeader, footer: Self.defaultFooter, share: nil)
        }
        await withCheckedContinuation { waiting[stream, default: []].append($0) }
        return await hint(for: stream)
    }

    /// Reports the real sizes of a segment of `stream`, and the share of it the query reads.
    func learned(stream: String, header: Int, footer: Int, share: Double?) {
        var s = seen[stream] ?? Hint(header: 0, footer: 0, share: nil)
        s.header = max(s.header, header)
        s.footer = max(s.footer, footer)
        s.share = s.share ?? share
        seen[stream] = s
        release(stream)
    }

    /// The first read of `stream` failed before it learned anything: let the others go on with defaults.
    func abandon(stream: String) {
        if seen[stream] == nil { seen[stream] = Hint(header: Self.defaultHeader, footer: Self.defaultFooter, share: nil) }
        release(stream)
    }

    private func release(_ stream: String) {
        for waiter in waiting[stream] ?? [] { waiter.resume() }
        waiting[stream] = []
    }
}
