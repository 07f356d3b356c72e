@testable import Ingest
import Testing

@Suite struct TailBufferTests {
    func append(_ tail: TailBuffer, _ text: String) {
        Array(text.utf8).withUnsafeBytes { tail.append(body: $0) }
    }

    @Test func onlyRecordLinesAreKept() {
        let tail = TailBuffer(capacity: 10, maxBytes: 1 << 20)
        append(tail, "{\"a\":1}\n\n  \n\r\n{\"a\":2}\r\n" + String(repeating: "\n", count: 100_000))
        #expect(String(decoding: tail.last(10), as: UTF8.self) == "{\"a\":1}\n{\"a\":2}\n")
        #expect(tail.heldBytes == 16)
    }

    @Test func boundedInBytesAndInRecords() {
        let tail = TailBuffer(capacity: 5, maxBytes: 40)
        for i in 0..<20 { append(tail, "{\"n\":\(i)}\n") }  // 9 or 10 bytes a line
        let lines = String(decoding: tail.last(100), as: UTF8.self).split(separator: "\n")
        #expect(lines.count <= 5 && lines.last == "{\"n\":19}")
        #expect(tail.heldBytes <= 40)
        append(tail, String(repeating: "{\"n\":1}\n", count: 1000))
        #expect(tail.heldBytes <= 40)
    }

    @Test func lastNComesOldestFirst() {
        let tail = TailBuffer(capacity: 100, maxBytes: 1 << 20)
        append(tail, "1\n2\n3\n")
        append(tail, "4\n5\n")
        #expect(String(decoding: tail.last(3), as: UTF8.self) == "3\n4\n5\n")
        #expect(String(decoding: tail.last(1), as: UTF8.self) == "5\n")
    }
}
