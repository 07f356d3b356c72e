import SegmentFormat

/// A segment in a local file (or read whole from standard input). Its layout comes from a mapping
/// that is dropped at once (only the header's and footer's pages are touched); its blocks are read
/// from a mapping that `OpenSegmentFiles` keeps while they are needed.
public struct LocalSegmentSource: ImmediateSegmentSource {
    public let name: String
    private let files: OpenSegmentFiles
    private let standardInput: SegmentData?

    /// The file at `path`, mapped through `files`.
    public init(path: String, files: OpenSegmentFiles) {
        name = path
        self.files = files
        standardInput = nil
    }

    /// Bytes already in memory (standard input), named `name`.
    public init(name: String, bytes: SegmentData, files: OpenSegmentFiles) {
        self.name = name
        self.files = files
        standardInput = bytes
    }

    public func layout() async throws -> SegmentLayout {
        try layoutNow()
    }

    /// The layout, read at once (a local file needs no waiting worth overlapping).
    public func layoutNow() throws -> SegmentLayout {
        if let standardInput { return SegmentLayout(try SegmentReader(data: standardInput), keepingFile: true) }
        let reader = try SegmentReader(data: SegmentData(contentsOf: name))
        // An unsealed segment's blocks were found by a walk over the whole file: keep it, since the
        // query reads those blocks next. A sealed one is mapped again when its blocks are read.
        return SegmentLayout(reader, keepingFile: !reader.isSealed)
    }

    /// Every byte of the segment (for a check of all of them).
    public func wholeFile() throws -> SegmentData {
        try standardInput ?? SegmentData(contentsOf: name)
    }

    public func readNow(_ ranges: [Range<Int>], of layout: SegmentLayout) throws -> SegmentBytes {
        if let whole = layout.wholeFile { return SegmentBytes(wholeFile: whole) }
        return SegmentBytes(wholeFile: try files.data(name, expectedSize: layout.size))
    }
}
