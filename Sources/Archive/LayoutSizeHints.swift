/// How many bytes to ask for when reading a segment's header and footer: learned from the
/// segments of the same stream already read (segments of one stream share a schema, so their
/// headers are alike and their footers grow with their block count alone).
///
/// The first segment of a stream is read with defaults while the stream's other segments wait for
/// what it shows, so a query over many small segments fetches close to the bytes it needs instead
/// of a fixed guess for each. An actor: shared by all the reads of one command.
actor LayoutSizeHints {
    /// Defaults for a stream not seen yet: most headers (schema and column table) fit in 2 KiB, and
    /// the footers of segments of a block or two. A larger one costs one more request, once per
    /// stream; a larger default would cost its excess on every stream's first segment (a query over
    /// many streams of small segments fetched 1.5x the bytes it needed with 4 + 16 KiB).
    static let defaultHeader = 2 << 10
    static let defaultFooter = 2 << 10

    /// Added to the largest size seen, so that a slightly larger header or footer (another node's
    /// name, longer string stats, another block) still fits in one request.
    static func slack(_ size: Int) -> Int { 128 + size / 8 }

    private struct Seen {
        var header = 0
        var footer = 0
    }

    private var seen: [String: Seen] = [:]
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Sizes to ask for a segment of `stream`. The first caller for a stream gets the defaults at
    /// once and must call `learned` (or `abandon`) later; the others wait until it has.
    func sizes(for stream: String) async -> (header: Int, footer: Int) {
        if let s = seen[stream] { return (s.header + Self.slack(s.header), s.footer + Self.slack(s.footer)) }
        if waiting[stream] == nil {
            waiting[stream] = []
            return (Self.defaultHeader, Self.defaultFooter)
        }
        await withCheckedContinuation { waiting[stream, default: []].append($0) }
        return await sizes(for: stream)
    }

    /// Reports the real sizes of a segment of `stream`.
    func learned(stream: String, header: Int, footer: Int) {
        var s = seen[stream] ?? Seen()
        s.header = max(s.header, header)
        s.footer = max(s.footer, footer)
        seen[stream] = s
        release(stream)
    }

    /// The first read of `stream` failed before it learned anything: let the others go on with defaults.
    func abandon(stream: String) {
        if seen[stream] == nil { seen[stream] = Seen(header: Self.defaultHeader, footer: Self.defaultFooter) }
        release(stream)
    }

    private func release(_ stream: String) {
        for waiter in waiting[stream] ?? [] { waiter.resume() }
        waiting[stream] = []
    }
}
