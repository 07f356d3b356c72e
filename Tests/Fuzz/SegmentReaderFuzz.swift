// libFuzzer target: any bytes as a segment file. The reader, verify and the NDJSON writer must
// never crash; errors are the expected answer for most inputs. Built by tools/fuzz against
// static SegmentFormat and NDJSON libraries instrumented the same way.

import NDJSON
import SegmentFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegmentReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let reader = try? SegmentReader(data: SegmentData(bytes)) else { return 0 }
    _ = reader.verify()
    let writer = RecordWriter(columns: reader.header.columns)
    let sink = ByteSink()
    for block in reader.blocks.indices {
        guard let chunks = try? reader.header.columns.indices.map({ try reader.chunk(block: block, column: $0) }) else { continue }
        try? writer.write(chunks, rows: 0..<reader.blocks[block].rowCount, to: sink)
    }
    return 0
}
