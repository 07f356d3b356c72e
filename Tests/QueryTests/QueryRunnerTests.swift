import Testing
import NDJSON
import SegmentFormat
@testable import Query

/// Queries over real segments built in memory from NDJSON.
struct QueryRunnerTests {
    static let schema = """
    {"$id": "app", "type": "object", "properties": {
      "ts": {"type": "string", "format": "date-time"}, "level": {"type": "string"},
      "n": {"type": ["integer", "null"]}, "x": {"type": ["number", "null"]}, "ok": {"type": "boolean"},
      "msg": {"type": "string"}
    }, "required": ["ts"], "x-segment": {"timestamp": "ts"}}
    """

    /// n: 1, 2, null, absent, 5; level: a, b, a, (absent), b.
    static let rows = """
    {"ts":"2024-05-01T00:00:00Z","level":"a","n":1,"x":0.5,"ok":true,"msg":"has, comma"}
    {"ts":"2024-05-01T01:00:00Z","level":"b","n":2,"x":null,"ok":false,"msg":"tab\\there"}
    {"ts":"2024-05-01T02:00:00Z","level":"a","n":null,"x":1.5,"ok":true,"msg":"quote \\" here"}
    {"ts":"2024-05-01T03:00:00Z","ok":false,"msg":"line\\nbreak"}
    {"ts":"2024-05-01T04:00:00Z","level":"b","n":5,"x":2,"ok":true,"msg":"plain"}
    """

    static func segment(_ ndjson: String, schema: String = schema, blockRows: Int = 2) throws -> SegmentReader {
        let s = try StreamSchema(json: Array(schema.utf8))
        let assembler = BlockAssembler(columns: s.columns, maxRows: blockRows)
        let parser = RecordParser(schema: s, block: assembler.block)
        var writer = SegmentWriter(header: SegmentHeader(schema: s, created: 0, blockRows: blockRows))
        var bytes = writer.headerBytes
        let encoder = BlockEncoder(compression: .lz4)
        for (i, line) in ndjson.split(separator: "\n").enumerated() {
            try Array(line.utf8).withUnsafeBytes { try parser.append(line: $0, number: i + 1) }
            if assembler.isFull {
                bytes += writer.append(encoder.encode(parser.block))
                parser.block.removeAll()
            }
        }
        if parser.block.rowCount > 0 { bytes += writer.append(encoder.encode(parser.block)) }
        return try SegmentReader(data: SegmentData(bytes + writer.footer()))
    }

    static func run(_ configure: (inout Query) throws -> Void, _ readers: [SegmentReader]? = nil) throws -> (String, QueryStatistics, [String]) {
        var query = Query()
        try configure(&query)
        let sink = ByteSink()
        var reports: [String] = []
        let runner = QueryRunner(query: query, sink: sink) { reports.append($0) }
        let inputs = try readers ?? [segment(rows)]
        try runner.run(inputs.enumerated().map { ("seg\($0.offset)", $0.element) })
        return (String(decoding: sink.bytes(), as: UTF8.self), runner.statistics, reports)
    }

    static func field(_ output: String, _ name: String) -> [String] {
        output.split(separator: "\n").map { line in
            guard let r = line.range(of: "\"\(name)\":") else { return "-" }
            return String(line[r.upperBound...].prefix { $0 != "," && $0 != "}" })
        }
    }

    static func whereN(_ condition: String) throws -> [String] {
        let (out, _, _) = try run { $0.filter = try ExpressionParser.parse(condition); $0.select = ["n"] }
        return out.split(separator: "\n").map(String.init)
    }

    @Test func nullsAndAbsentValuesCompareAsUnknown() throws {
        #expect(try Self.whereN("n != 1") == [#"{"n":2}"#, #"{"n":5}"#])
        #expect(try Self.whereN("NOT (n = 1)") == [#"{"n":2}"#, #"{"n":5}"#])
        #expect(try Self.whereN("n = NULL") == [])
        #expect(try Self.whereN("n IS NULL") == [#"{"n":null}"#, "{}"])
        #expect(try Self.whereN("n IS NOT NULL AND n >= 2") == [#"{"n":2}"#, #"{"n":5}"#])
        #expect(try Self.whereN("n IN (1, NULL)") == [#"{"n":1}"#])
        #expect(try Self.whereN("n NOT IN (1, NULL)") == [])
        #expect(try Self.whereN("n NOT IN (1)") == [#"{"n":2}"#, #"{"n":5}"#])
        #expect(try Self.whereN("n < 2 OR n IS NULL") == [#"{"n":1}"#, #"{"n":null}"#, "{}"])
        #expect(try Self.whereN("n > 1.5") == [#"{"n":2}"#, #"{"n":5}"#])
        #expect(try Self.whereN("x <= 1.5 AND ok = TRUE") == [#"{"n":1}"#, #"{"n":null}"#])
        #expect(try Self.whereN("level IN ('b') OR msg LIKE '%comma'") == [#"{"n":1}"#, #"{"n":2}"#, #"{"n":5}"#])
        #expect(try Self.whereN("msg ILIKE 'PLAIN'") == [#"{"n":5}"#])
        #expect(try Self.whereN("ts >= '2024-05-01T03:00:00Z'") == ["{}", #"{"n":5}"#])
        #expect(try Self.whereN("level > 'a'") == [#"{"n":2}"#, #"{"n":5}"#])
    }

    @Test func aggregatesSkipNullsButCountStarDoesNot() throws {
        let (out, _, _) = try Self.run {
            $0.aggregates = try AggregateSpec.parseList("count(*), count(n),count(distinct level), sum(n), avg(n), min(n), max(x), min(level), max(ts), sum(x)")
            $0.format = .csv
        }
        #expect(out == """
        count(*),count(n),count(distinct level),sum(n),avg(n),min(n),max(x),min(level),max(ts),sum(x)
        5,3,2,8,2.6666666666666665,1,2.0,a,2024-05-01T04:00:00Z,4.0

        """)
    }

    @Test func groupByPutsGroupFieldsFirstSortedWithNullsLast() throws {
        let (out, _, _) = try Self.run {
            $0.groupBy = ["level"]
            $0.aggregates = try AggregateSpec.parseList("count(*),sum(n)")
            $0.format = .csv
        }
        #expect(out == "level,count(*),sum(n)\na,2,1\nb,2,7\n,1,\n")
    }

    @Test func aggregateOverNoRowsStillAnswers() throws {
        let (out, _, _) = try Self.run {
            $0.filter = try ExpressionParser.parse("n > 100")
            $0.aggregates = try AggregateSpec.parseList("count(*),avg(n)")
        }
        #expect(out == "{\"count(*)\":0,\"avg(n)\":null}\n")
        let (count, _, _) = try Self.run { $0.filter = try ExpressionParser.parse("n > 100"); $0.count = true }
        #expect(count == "{\"count\":0}\n")
    }

    @Test func csvQuotesAndTsvEscapes() throws {
        let (csv, _, _) = try Self.run { $0.select = ["msg", "n"]; $0.format = .csv }
        #expect(csv == "msg,n\n\"has, comma\",1\ntab\there,2\n\"quote \"\" here\",\n\"line\nbreak\",\nplain,5\n")
        let (tsv, _, _) = try Self.run { $0.select = ["msg", "n"]; $0.format = .tsv }
        #expect(tsv == "msg\tn\nhas, comma\t1\ntab\\there\t2\nquote \" here\t\nline\\nbreak\t\nplain\t5\n")
    }

    @Test func tableAlignsColumnsAndRightAlignsNumbers() throws {
        let (out, _, _) = try Self.run { $0.select = ["level", "n"]; $0.format = .table; $0.limit = 3 }
        #expect(out == "level  n\n-----  -\na      1\nb      2\na\n")
    }

    @Test func prunedBlocksAreNeverRead() throws {
        // Blocks of two rows: n in {1,2}, {null,absent}, {5}.
        let (_, none, _) = try Self.run { $0.filter = try ExpressionParser.parse("n > 100"); $0.count = true }
        #expect(none.blocks == 3 && none.blocksPruned == 3 && none.blocksRead == 0 && none.chunksDecoded == 0)
        let (_, one, _) = try Self.run { $0.filter = try ExpressionParser.parse("n = 5"); $0.count = true }
        #expect(one.blocksRead == 1 && one.chunksDecoded == 1)
        let (_, time, _) = try Self.run {
            $0.since = RFC3339.parse("2024-05-01T05:00:00Z")
            $0.count = true
        }
        #expect(time.segmentsPruned == 1 && time.blocksRead == 0)
        let (_, footer, _) = try Self.run { $0.count = true }
        #expect(footer.blocksCountedFromFooter == 3 && footer.blocksRead == 0)
        let (out, partial, _) = try Self.run {
            $0.since = RFC3339.parse("2024-05-01T01:00:00Z")
            $0.until = RFC3339.parse("2024-05-01T04:00:00Z")
            $0.count = true
        }
        #expect(out == "{\"count\":3}\n")
        #expect(partial.blocksCountedFromFooter == 1 && partial.blocksRead == 1 && partial.blocksPruned == 1)
    }

    @Test func limitStopsReadingEarly() throws {
        let (out, stats, _) = try Self.run { $0.limit = 1; $0.select = ["n"] }
        #expect(out == "{\"n\":1}\n")
        #expect(stats.blocksRead == 1)
    }

    @Test func segmentsUnderOlderSchemasAreMatchedByName() throws {
        let older = """
        {"$id": "app", "type": "object", "properties": {"ts": {"type": "string", "format": "date-time"}, "level": {"type": "string"}},
         "required": ["ts"], "x-segment": {"timestamp": "ts"}}
        """
        let old = try Self.segment(#"{"ts":"2024-04-01T00:00:00Z","level":"a"}"#, schema: older)
        let (out, _, _) = try Self.run({ $0.filter = try ExpressionParser.parse("level = 'a' AND n IS NULL"); $0.select = ["ts", "n"] },
                                       [old, try Self.segment(Self.rows)])
        #expect(out == "{\"ts\":\"2024-04-01T00:00:00Z\"}\n{\"ts\":\"2024-05-01T02:00:00Z\",\"n\":null}\n")
        // A field a segment lacks is absent in every row: count(n) skips them, count(*) does not.
        let (counts, _, _) = try Self.run({ $0.aggregates = try AggregateSpec.parseList("count(*),count(n),sum(n)"); $0.format = .csv },
                                          [old, try Self.segment(Self.rows)])
        #expect(counts == "count(*),count(n),sum(n)\n6,3,8\n")
    }

    @Test func aFieldWhoseTypeChangedIsReportedNotGuessed() throws {
        let changed = """
        {"$id": "app", "type": "object", "properties": {"ts": {"type": "string", "format": "date-time"}, "n": {"type": "string"}},
         "required": ["ts"], "x-segment": {"timestamp": "ts"}}
        """
        let other = try Self.segment(#"{"ts":"2024-04-01T00:00:00Z","n":"seven"}"#, schema: changed)
        #expect { try Self.run({ $0.filter = try ExpressionParser.parse("n > 1") }, [try Self.segment(Self.rows), other]) } throws: {
            "\($0)".contains("field 'n' is an integer in seg0 but a string in seg1")
        }
        #expect { try Self.run({ $0.filter = try ExpressionParser.parse("level = 3") }) } throws: {
            "\($0)".contains("field 'level' is a string in seg0: it cannot be compared with a number")
        }
        #expect { try Self.run({ $0.select = ["nope"] }) } throws: { "\($0)".contains("no segment has a field 'nope'") }
    }

    @Test func damagedBlockIsReportedAndSkipped() throws {
        let reader = try Self.segment(Self.rows)
        var bytes = Array(reader.data.bytes)
        let block0 = reader.blocks[0]
        bytes[Int(block0.offset) + Int(block0.chunks[2].offset) + FormatConstants.chunkHeaderSize] ^= 0xFF
        let damaged = try SegmentReader(data: SegmentData(bytes))
        let (out, stats, reports) = try Self.run({ $0.select = ["n"] }, [damaged])
        #expect(out == "{\"n\":null}\n{}\n{\"n\":5}\n")
        #expect(stats.damaged == 1)
        #expect(reports == ["seg0: block 0, column 'n': chunk checksum mismatch"])
        #expect(throws: FormatError.self) { try Self.run({ $0.select = ["n"]; $0.strict = true }, [damaged]) }
    }

    static let int64Schema = """
    {"$id": "big", "type": "object", "properties": {"ts": {"type": "string", "format": "date-time"}, "n": {"type": ["integer", "null"]}},
     "required": ["ts"], "x-segment": {"timestamp": "ts"}}
    """

    /// Integer sums run in 128 bits (DuckDB's HUGEINT), so a running sum past Int64 is no loss.
    @Test func integerSumsAndMeansAreExactPastInt64() throws {
        let values = [Int64.max, 1, -Int64.max, -43]
        let ndjson = values.enumerated().map { #"{"ts":"2024-05-01T00:00:0\#($0.offset)Z","n":\#($0.element)}"# }.joined(separator: "\n")
        let (out, _, _) = try Self.run({ $0.aggregates = try AggregateSpec.parseList("sum(n),avg(n)"); $0.format = .csv },
                                       [try Self.segment(ndjson, schema: Self.int64Schema)])
        #expect(out == "sum(n),avg(n)\n-42,-10.5\n")
    }

    @Test func groupByWithCountCountsEachGroup() throws {
        let (out, _, _) = try Self.run { $0.groupBy = ["level"]; $0.count = true; $0.format = .csv }
        #expect(out == "level,count\na,2\nb,2\n,1\n")
    }
}
