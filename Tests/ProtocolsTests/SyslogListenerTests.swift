import Testing
@testable import segd

struct SyslogListenerTests {
    /// A read that brings more records than a tenant may send at once is stored in batches within
    /// that bound, in order, each line whole.
    @Test func recordsAreStoredInBatchesWithinTheBurst() {
        let text = (1...7).map { "{\"n\":\($0)}\n" }.joined()
        let batches = SyslogConnectionHandler.batches(Array(text.utf8), count: 7, max: 3)
        #expect(batches.map(\.1) == [3, 3, 1])
        #expect(batches.map { String(decoding: $0.0, as: UTF8.self) }.joined() == text)
        #expect(SyslogConnectionHandler.batches(Array(text.utf8), count: 7, max: 7).count == 1)
    }
}
