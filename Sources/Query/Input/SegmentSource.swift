import SegmentFormat

/// Where one segment's bytes come from: a file on disk, standard input, or an object in a store.
///
/// A query reads a segment in two steps: first its layout (header and footer, `layout()`), from
/// which it plans the blocks and column chunks it needs (`ReadPlan`); then the byte ranges of those
/// chunks (`read(_:of:)`). A remote source makes each step a few ranged requests; a local one maps
/// the file only while its blocks are being read (`OpenSegmentFiles`).
///
/// Implementations are safe to call from several tasks at once.
public protocol SegmentSource: Sendable {
    /// The path or URL, for messages.
    var name: String { get }

    /// The segment's header and footer, read without its blocks. A segment without a valid footer
    /// (its writer died) is read whole, and its complete blocks are recovered.
    func layout() async throws -> SegmentLayout

    /// The bytes of `ranges` (file offsets, sorted and not overlapping) of the segment laid out as
    /// `layout`. Throws when they cannot be read; damage inside them is found later, by the checksums.
    func read(_ ranges: [Range<Int>], of layout: SegmentLayout) async throws -> SegmentBytes
}

/// A source whose reads cost no waiting worth overlapping (a mapped file): the query reads it
/// in place instead of ahead of time.
public protocol ImmediateSegmentSource: SegmentSource {
    func readNow(_ ranges: [Range<Int>], of layout: SegmentLayout) throws -> SegmentBytes
}

extension ImmediateSegmentSource {
    public func read(_ ranges: [Range<Int>], of layout: SegmentLayout) async throws -> SegmentBytes {
        try readNow(ranges, of: layout)
    }
}
