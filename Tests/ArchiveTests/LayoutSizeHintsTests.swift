import Testing
@testable import Archive

struct LayoutSizeHintsTests {
    @Test func aStreamsLaterSegmentsWaitForWhatItsFirstShowed() async {
        let hints = LayoutSizeHints()
        let first = await hints.hint(for: "acme/flights")
        #expect(first == .init(header: LayoutSizeHints.defaultHeader, footer: LayoutSizeHints.defaultFooter, share: nil))
        async let later = hints.hint(for: "acme/flights")
        // Another stream is not held up by this one.
        #expect(await hints.hint(for: "loghub/hdfs").share == nil)
        await hints.learned(stream: "acme/flights", header: 1543, footer: 861, share: 0.97)
        let hint = await later
        #expect(hint.header >= 1543 && hint.header <= 1543 + 100)
        #expect(hint.footer >= 861 && hint.footer <= 861 + 150)
        #expect(hint.share == 0.97)
    }

    @Test func theLargestSizesAndTheFirstShareAreKept() async {
        let hints = LayoutSizeHints()
        _ = await hints.hint(for: "s")
        await hints.learned(stream: "s", header: 1000, footer: 3000, share: 0.2)
        await hints.learned(stream: "s", header: 900, footer: 5000, share: 0.9)
        let hint = await hints.hint(for: "s")
        #expect(hint.header == 1000 + LayoutSizeHints.headerSlack(1000))
        #expect(hint.footer == 5000 + LayoutSizeHints.footerSlack(5000))
        #expect(hint.share == 0.2)
    }
}
