import Testing
@testable import SegmentFormat

/// Shredded paths: every json and extra value comes back byte for byte from the block's shredded
/// columns, each path gets the type its values allow, the bound is kept, and crafted skeletons
/// are refused.
struct ShredderTests {
    static let columns = [
        ColumnDescriptor(name: "ts", type: .timestamp, required: true, isTimestamp: true),
        ColumnDescriptor(name: "attributes", type: .json, nullable: true),
        .extra,
    ]

    /// Rows: attributes text (nil: absent, "null": null) and extra members (nil: absent).
    static func block(_ rows: [(String?, String?)]) -> BlockBuilder {
        let block = BlockBuilder(columns: columns)
        for (r, (json, extra)) in rows.enumerated() {
            let row = UInt32(r)
            block.builders[0].integers.append(Int64(r))
            switch json {
            case nil: block.builders[1].absentRows.append(row)
            case "null"?: block.builders[1].nullRows.append(row)
            case let text?: block.builders[1].strings.append(Array(text.utf8))
            }
            if let extra { block.builders[2].strings.append(Array(extra.utf8)) } else { block.builders[2].absentRows.append(row) }
            block.rowCount += 1
        }
        return block
    }

    /// Encodes `block` into a one-block segment and reads it back.
    static func roundTrip(_ block: BlockBuilder, maxShredded: Int = 256, compression: CompressionSetting = .zstd) throws -> SegmentReader {
        let header = SegmentHeader(tenant: "", stream: "s", node: "", segmentID: "0", created: 0, blockRows: 100, schemaText: [], columns: columns)
        var writer = SegmentWriter(header: header)
        let bytes = writer.headerBytes + writer.append(BlockEncoder(compression: compression, maxShreddedColumns: maxShredded).encode(block)) + writer.footer()
        return try SegmentReader(data: SegmentData(bytes))
    }

    static func texts(_ reader: SegmentReader, column: Int) throws -> [String?] {
        let chunk = try reader.chunk(block: 0, column: column)
        var out: [String?] = []
        var next = 0
        for r in 0..<chunk.rowCount {
            if chunk.isAbsent(r) { out.append(nil); continue }
            if chunk.isNull(r) { out.append("null"); continue }
            guard case let .strings(s) = chunk.values else { out.append("?"); continue }
            out.append(String(decoding: s[next], as: UTF8.self))
            next += 1
        }
        return out
    }

    static let tricky: [(String?, String?)] = [
        (#"{"http":{"status":200,"method":"GET"},"dur":1.5,"ok":true}"#, #""trace":"a1","k8s":{"pod":"p1"}"#),
        (#"{ "http" : { "status" : 404 } , "dur" : 2.25 }"#, nil),
        (#"{"http":{"status":-0},"dur":1E5,"s":"caf\u00e9","t":"\/"}"#, #""trace":"b2""#),
        (#"{"a":1,"a":2}"#, #""dup":1"#),
        (#"{"tags":["x",{"y":null}],"empty":{},"n":null,"deep":{"a":{"b":{"c":[]}}}}"#, nil),
        ("null", nil),
        (nil, #""k8s":{"pod":"p2","ns":"prod"},"trace":null"#),
        (#"[1,2,3]"#, nil),
        (#"{"k.dot":{"x y":1},"":{"\"q\"":2},"big":123456789012345678901234567890,"f":0.1}"#, #""only":"extra""#),
        (#"{"http":{"status":"500"}}"#, nil),
    ]

    @Test(arguments: [CompressionSetting.zstd, .lz4, .none])
    func everyValueComesBackByteForByte(_ compression: CompressionSetting) throws {
        let reader = try Self.roundTrip(Self.block(Self.tricky), compression: compression)
        #expect(reader.verify().isEmpty)
        #expect(try Self.texts(reader, column: 1) == Self.tricky.map(\.0))
        #expect(try Self.texts(reader, column: 2) == Self.tricky.map(\.1))
        #expect(reader.blocks[0].chunks[1].encoding == .shreddedJSON && reader.blocks[0].chunks[2].encoding == .shreddedJSON)
    }

    @Test func pathsGetTheTypeTheirValuesAllow() throws {
        let reader = try Self.roundTrip(Self.block(Self.tricky))
        var types: [String: ColumnType] = [:]
        for s in reader.blocks[0].shredded { types[(s.column.parent == 2 ? "+" : "") + s.column.pathText] = s.column.type }
        #expect(types["http.method"] == .string)
        #expect(types["http.status"] == .json, "integers, a non-canonical -0 and a string: mixed")
        #expect(types["dur"] == .json, "1.5 and 2.25 are shortest doubles, 1E5 is not")
        #expect(types["ok"] == .boolean)
        #expect(types["tags"] == .json && types["empty"] == .json)
        #expect(types["n"] == .json, "only nulls")
        #expect(types["deep.a.b.c"] == .json)
        #expect(types["\"k.dot\".\"x y\""] == .integer)
        #expect(types["\"\".\"\"\"q\"\"\""] == .integer)
        #expect(types["f"] == .number && types["big"] == .json)
        #expect(types["+trace"] == .string && types["+k8s.pod"] == .string && types["+k8s.ns"] == .string)
        #expect(types["a"] == nil, "a value with a duplicate key is kept whole")
    }

    @Test func nullsAndAbsentKeysStayApartInTheShreddedColumn() throws {
        let reader = try Self.roundTrip(Self.block([(#"{"n":null}"#, nil), (#"{"m":1}"#, nil), (#"{"n":3}"#, nil), ("null", nil), (nil, nil)]))
        let k = try #require(reader.blocks[0].shredded.firstIndex { $0.column.pathText == "n" })
        let chunk = try reader.shreddedChunk(block: 0, index: k)
        #expect((0..<5).map { chunk.isNull($0) } == [true, false, false, false, false])
        #expect((0..<5).map { chunk.isAbsent($0) } == [false, true, false, true, true])
        guard case let .integers(v) = chunk.values else { Issue.record("n is an integer column"); return }
        #expect(v == [3])
        #expect(reader.blocks[0].shredded[k].chunk.stats == .integer(min: 3, max: 3))
    }

    @Test func pathsPastTheBoundStayInTheResidualMostFrequentFirst() throws {
        let rows: [(String?, String?)] = (0..<30).map { i in
            (#"{"common":\#(i),"rare\#(i % 10)":"x","every":true}"#, nil)
        }
        let reader = try Self.roundTrip(Self.block(rows), maxShredded: 3)
        let paths = reader.blocks[0].shredded.map(\.column.pathText)
        #expect(paths.count == 3)
        #expect(Set(paths).isSuperset(of: ["common", "every"]))
        #expect(reader.blocks[0].chunks[1].stats == .integer(min: 27, max: 27), "the footer counts the 27 leaves left in the residual")
        #expect(try Self.texts(reader, column: 1) == rows.map(\.0))
        let none = try Self.roundTrip(Self.block(rows), maxShredded: 0)
        #expect(none.blocks[0].shredded.isEmpty && none.blocks[0].chunks[1].encoding == .plainString)
        #expect(try Self.texts(none, column: 1) == rows.map(\.0))
    }

    @Test func versionOneWritesNoShreddedColumns() throws {
        let header = SegmentHeader(version: 1, tenant: "", stream: "s", node: "", segmentID: "0", created: 0, blockRows: 100, schemaText: [], columns: Self.columns)
        var writer = SegmentWriter(header: header)
        let bytes = writer.headerBytes + writer.append(BlockEncoder(compression: .zstd, formatVersion: 1).encode(Self.block(Self.tricky))) + writer.footer()
        let reader = try SegmentReader(data: SegmentData(bytes))
        #expect(reader.header.version == 1 && reader.verify().isEmpty)
        #expect(reader.blocks[0].allChunks.allSatisfy { $0.codec.formatVersion == 1 && $0.encoding.formatVersion == 1 })
        #expect(try Self.texts(reader, column: 1) == Self.tricky.map(\.0))
    }

    /// A version 1 reader must refuse what it cannot read: here, a version 2 header is refused by
    /// name, and a version 1 file carrying a version 2 encoding is an error, never a guess.
    @Test func versionTwoCodesInAVersionOneFileAreRefused() throws {
        let header = SegmentHeader(version: 1, tenant: "", stream: "s", node: "", segmentID: "0", created: 0, blockRows: 100, schemaText: [], columns: Self.columns)
        var writer = SegmentWriter(header: SegmentHeader(version: 2, tenant: "", stream: "s", node: "", segmentID: "0", created: 0, blockRows: 100, schemaText: [], columns: Self.columns))
        let v2 = writer.headerBytes + writer.append(BlockEncoder(compression: .zstd).encode(Self.block(Self.tricky))) + writer.footer()
        // Splice a version 1 header onto version 2 blocks: the footer and the walk both refuse them.
        let spliced = header.encoded() + v2[writer.headerBytes.count...]
        let reader = try SegmentReader(data: SegmentData(Array(spliced)))
        #expect(reader.blocks.isEmpty)
        #expect(reader.recovery.map { "\($0)".contains("encoding") || "\($0)".contains("codec") } == true, "\(String(describing: reader.recovery))")
    }

    @Test func aSkeletonPointingAtAnotherColumnsPathIsRefused() throws {
        let reader = try Self.roundTrip(Self.block(Self.tricky))
        var meta = reader.blocks[0]
        // Swap the parents of two shredded columns: the skeletons now refer across columns.
        let a = try #require(meta.shredded.firstIndex { $0.column.parent == 1 })
        let b = try #require(meta.shredded.firstIndex { $0.column.parent == 2 })
        (meta.shredded[a].column.parent, meta.shredded[b].column.parent) = (2, 1)
        let frame = UnsafeRawBufferPointer(rebasing: reader.data.bytes[Int(meta.offset)..<(Int(meta.offset) + Int(meta.length))])
        #expect(throws: FormatError.self) { try SegmentReader.decodeChunk(frame, meta: meta, index: 1, header: reader.header) }
    }
}
