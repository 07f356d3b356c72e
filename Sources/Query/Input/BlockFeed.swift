/// Hands the query, in order, the bytes of each block it will decode, reading remote blocks ahead
/// so that later ranges arrive while earlier blocks are decoded.
///
/// Consecutive blocks of one segment are read together (one `read` call, which a remote source
/// may coalesce into fewer requests). Reading ahead stops at `budget` bytes not yet handed out, so
/// memory stays bounded whatever the archive's size; with a `lookahead` of 1 (a `--limit` query) it
/// reads only the block asked for. Blocks of immediate sources (mapped files) are read when asked.
/// Used from one thread; `next()` blocks, so that thread must be outside Swift's concurrency pool.
public final class BlockFeed {
    /// One block to read: its segment and the byte ranges of its needed chunks.
    public struct Item {
        public let segment: QuerySegment
        public let ranges: [Range<Int>]

        public init(segment: QuerySegment, ranges: [Range<Int>]) {
            self.segment = segment
            self.ranges = ranges
        }

        var byteCount: Int { ranges.reduce(0) { $0 + $1.count } }
    }

    /// A read of consecutive items of one segment.
    private final class Group {
        let end: Int
        let bytes: Int
        let pending: AsyncBridge.Pending<SegmentBytes>

        init(end: Int, bytes: Int, pending: AsyncBridge.Pending<SegmentBytes>) {
            self.end = end
            self.bytes = bytes
            self.pending = pending
        }
    }

    /// Bytes one read call may ask for: big enough to coalesce a segment's blocks, small enough
    /// that reads of different segments overlap.
    static let groupBytes = 8 << 20

    private let items: [Item]
    private let budget: Int
    private let lookahead: Int
    private var position = 0
    private var planned = 0
    private var inFlight = 0
    private var groups: [Int: Group] = [:]

    public init(_ items: [Item], budget: Int = 64 << 20, lookahead: Int = 4096) {
        self.items = items
        self.budget = max(1, budget)
        self.lookahead = max(1, lookahead)
    }

    deinit {
        for group in groups.values { group.pending.cancel() }
    }

    /// The bytes of the next item. Throws what its source threw.
    public func next() throws -> SegmentBytes {
        precondition(position < items.count, "BlockFeed asked for more items than it was given")
        let index = position
        position += 1
        let item = items[index]
        if let immediate = item.segment.source as? any ImmediateSegmentSource {
            planned = max(planned, position)
            fill()
            return try immediate.readNow(item.ranges, of: item.segment.layout)
        }
        fill()
        guard let group = groups.removeValue(forKey: index) else {
            preconditionFailure("BlockFeed lost the read of item \(index)")
        }
        if group.end == index + 1 { inFlight -= group.bytes }
        return try group.pending.wait()
    }

    /// Starts reads from `planned` on, while the budget and the lookahead allow.
    private func fill() {
        while planned < items.count && planned - position < lookahead && (inFlight < budget || planned == position) {
            let first = planned
            let segment = items[first].segment
            if segment.source is any ImmediateSegmentSource {
                planned += 1
                continue
            }
            var end = first + 1
            var bytes = items[first].byteCount
            while end < items.count && end - position < lookahead && items[end].segment === segment
                    && bytes + items[end].byteCount <= Self.groupBytes {
                bytes += items[end].byteCount
                end += 1
            }
            let ranges = ReadPlan.merge(items[first..<end].flatMap(\.ranges), gap: 0)
            let layout = segment.layout
            let source = segment.source
            let group = Group(end: end, bytes: bytes, pending: AsyncBridge.start { try await source.read(ranges, of: layout) })
            for i in first..<end { groups[i] = group }
            inFlight += bytes
            planned = end
        }
    }
}
